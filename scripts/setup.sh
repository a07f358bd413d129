#!/usr/bin/env bash
# Installs what llmc needs from Debian's packages, idempotently: when all is
# there it takes seconds. Two sets:
#   scripts/setup.sh --main     what the main job needs (scripts/demo.sh): the
#                               toolchain, LLVM/MLIR 19 and the libraries llmc
#                               links; enough to build llmc, compile and run
#   scripts/setup.sh [--tests]  (default; scripts/test.sh) that, plus the test
#                               tools and the oracles: numpy, jinja2 and
#                               sentencepiece for /usr/bin/python3, lavapipe,
#                               llama.cpp from npm (node-llama-cpp, Node 20 or
#                               newer) and llama.cpp built natively from
#                               ../shared/anchor (llama-quantize, gguf-py)
#   ... --check                 only report what is missing (exit 1 if any)
# Nothing is assumed to be there already: not sudo (used only when not root),
# not git, not a C compiler, not python3. Under CI=true an oracle that cannot
# be had (Node too old, no anchor) is an error instead of a named skip.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MAIN_PACKAGES=(
  # the build: C/C++ toolchain (cc, c++), CMake, Ninja, ccache, pkg-config
  g++ cmake ninja-build ccache pkg-config
  # the compiler: LLVM/MLIR 19 (mlir-tblgen), lld links model.so
  llvm-19-dev libmlir-19-dev mlir-19-tools lld-19
  # libraries llmc links
  libflatbuffers-dev flatbuffers-compiler libcli11-dev nlohmann-json3-dev
  libxxhash-dev libpcre2-dev libvulkan-dev spirv-tools
)
TEST_PACKAGES=(
  # lit, FileCheck, not; clang for the fuzzers
  llvm-19-tools clang-19 libclang-rt-19-dev
  libgtest-dev libbenchmark-dev
  # Vulkan for real on the CPU (lavapipe), vulkaninfo
  mesa-vulkan-drivers vulkan-tools
  # the numpy reference, jinja2 renderings, SentencePiece, gguf-py (yaml)
  python3 python3-numpy python3-jinja2 python3-sentencepiece python3-yaml
  # node-llama-cpp's runtime (its npm is installed below when Node is new enough)
  nodejs
  # llama.cpp's CMake (the anchor build below) calls git for its version
  git
)
# Only needed to retrain the bundled model (tools/train-model); not installed.
OPTIONAL_PACKAGES=(python3-torch python3-matplotlib)

mode=tests check_only=0
for arg in "$@"; do
  case "$arg" in
    --main) mode=main ;;
    --tests) mode=tests ;;
    --check) check_only=1 ;;
    *) echo "setup: unknown argument '$arg' (use --main, --tests, --check)" >&2; exit 2 ;;
  esac
done
CI_MODE=0
[[ "${CI:-}" == "true" ]] && CI_MODE=1

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo: run as root, or install sudo" >&2; exit 1; }
  SUDO=(sudo)
fi

APT_UPDATED=0
install_packages() { # install_packages PKG...: the ones not installed yet
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  if ((check_only)); then
    echo "setup: missing packages: ${missing[*]}"
    return 1
  fi
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ((!APT_UPDATED)); then
    "${SUDO[@]}" apt-get update -qq
    APT_UPDATED=1
  fi
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

status=0
install_packages "${MAIN_PACKAGES[@]}" || status=1
if [[ $mode == main ]]; then
  ((status == 0)) && echo "setup: everything the main job needs is present"
  exit $status
fi
install_packages "${TEST_PACKAGES[@]}" || status=1
((status == 0)) || exit 1

skips=()
oracle_missing() { # oracle_missing MESSAGE: fatal under CI, a named skip otherwise
  if ((CI_MODE)); then
    echo "setup: CI=true requires it: $1" >&2
    exit 1
  fi
  skips+=("$1")
}

# The tests run numpy references, jinja2 renderings and gguf-py with Debian's
# python. The check runs in an isolated interpreter (python3 -I) so that it
# sees what a fresh machine sees (test/tools/setup-python-check.test).
/usr/bin/python3 -I scripts/check-python-modules.py numpy jinja2 sentencepiece yaml

# llama.cpp, prebuilt, from npm: the independent reference for GGUF import,
# tokenization and logits, and a speed peer. node-llama-cpp needs Node 20.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  oracle_missing "node-llama-cpp needs Node 20 or newer and this machine has $(node --version 2>/dev/null || echo no node) (Debian 12 ships 18): the tests that need llama.cpp through npm (lit feature 'llamacpp') are skipped"
elif [[ ! -d bench/llamacpp/node_modules/node-llama-cpp ]]; then
  if ((check_only)); then
    echo "setup: node-llama-cpp is not installed (bench/llamacpp)"
    exit 1
  fi
  # Debian's nodejs comes without npm; NodeSource's nodejs includes it.
  command -v npm >/dev/null || install_packages npm
  echo "setup: installing node-llama-cpp into bench/llamacpp"
  # Not `npm ci`: the registry mirror serves only the Linux builds of
  # node-llama-cpp's optional platform packages, so the lock file cannot list
  # the others, and npm 11's `ci` rejects such a lock. `install --no-save`
  # follows the lock (exact versions) without rewriting it.
  (cd bench/llamacpp && npm install --no-save --omit=optional --no-audit --no-fund --loglevel=error)
  node -e 'const want = require("./bench/llamacpp/package.json").dependencies["node-llama-cpp"];
           const got = require("./bench/llamacpp/node_modules/node-llama-cpp/package.json").version;
           if (got !== want) { console.error(`setup: node-llama-cpp ${got} installed, ${want} expected`); process.exit(1); }'
fi

# llama.cpp built natively from the anchor beside the checkout: llama-quantize
# writes the test models in llama.cpp's own formats (K-quants included) and
# gguf-py dequantizes them for the reference; llama-bench is the speed peer.
# Built once per CPU model into ~/.cache (about 6 minutes on 2 cores).
ANCHOR=${LLMC_ANCHOR_DIR:-$ROOT/../shared/anchor}
mkdir -p .cache
rm -f .cache/llamacpp-native.env
if [[ ! -x $ANCHOR/build-llamacpp.sh ]]; then
  oracle_missing "no llama.cpp anchor at $ANCHOR (set LLMC_ANCHOR_DIR): the tests that need llama-quantize and gguf-py (lit feature 'llamacpp-native') are skipped"
elif ((!check_only)); then
  echo "setup: llama.cpp (native) from $ANCHOR"
  bin=$(LLMC_JOBS=${LLMC_JOBS:-2} "$ANCHOR/build-llamacpp.sh" 2> .cache/llamacpp-build.log) ||
    { tail -n 20 .cache/llamacpp-build.log >&2; echo "setup: building llama.cpp from $ANCHOR failed" >&2; exit 1; }
  {
    echo "LLAMACPP_BIN=$bin"
    echo "LLAMACPP_GGUF_PY=$(cd "$bin/../.." && pwd)/gguf-py"
  } > .cache/llamacpp-native.env
fi

for s in "${skips[@]}"; do echo "setup: SKIP: $s"; done
echo "setup: all dependencies present${skips:+ (with the skips above)}"
