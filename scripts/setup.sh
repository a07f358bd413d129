#!/usr/bin/env bash
# Installs everything llmc needs from Debian's packages (and llama.cpp's npm
# package, the test oracle), idempotently: when all is there it takes seconds.
#   scripts/setup.sh            # install what is missing
#   scripts/setup.sh --check    # only report what is missing (exit 1 if any)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # compiler: LLVM/MLIR 19, the linker for model.so, the build
  llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools clang-19 lld-19
  libclang-rt-19-dev cmake ninja-build ccache pkg-config
  # libraries llmc links
  libflatbuffers-dev flatbuffers-compiler libcli11-dev nlohmann-json3-dev
  libxxhash-dev libpcre2-dev libvulkan-dev spirv-tools
  # tests and benchmarks
  libgtest-dev libbenchmark-dev mesa-vulkan-drivers vulkan-tools
  python3-numpy python3-jinja2 python3-sentencepiece nodejs
)
# Only needed to retrain the bundled model (tools/train-model).
OPTIONAL_PACKAGES=(python3-torch python3-matplotlib)

check_only=0
[[ "${1:-}" == "--check" ]] && check_only=1

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if ((check_only)); then
    echo "setup: missing packages: ${missing[*]}"
    exit 1
  fi
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v npm >/dev/null || { echo "setup: npm not found (Debian: apt-get install npm)"; exit 1; }

# llama.cpp, prebuilt, from npm: the independent reference for GGUF import,
# tokenization and logits, and the side-by-side speed baseline.
if [[ ! -d bench/llamacpp/node_modules/node-llama-cpp ]]; then
  if ((check_only)); then
    echo "setup: node-llama-cpp is not installed (bench/llamacpp)"
    exit 1
  fi
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

# The tests run numpy references and jinja2 renderings with Debian's python.
/usr/bin/python3 - <<'PY'
import importlib, sys
missing = [m for m in ("numpy", "jinja2", "sentencepiece") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit("setup: /usr/bin/python3 cannot import: " + ", ".join(missing))
PY
echo "setup: all dependencies present"
