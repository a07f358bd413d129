#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs CTest (unit
# tests) and lit (FileCheck and end-to-end tests), printing both summaries and
# the time of each phase. Under CI=true a missing tool fails instead of
# skipping tests.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${LLMC_BUILD_DIR:-$ROOT/build}
JOBS=${LLMC_JOBS:-2}

declare -a PHASES=()
phase() { # phase NAME COMMAND...
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  local rc=$?
  PHASES+=("$(printf '%-22s %5ds' "$name" $((SECONDS - start)))")
  return $rc
}
report() {
  echo
  echo "==> phase times"
  printf '  %s\n' "${PHASES[@]}"
}
trap report EXIT

phase setup scripts/setup.sh

# Always configured, with the tests on: scripts/demo.sh may have configured
# the same folder without them. Seconds when nothing changed.
configure() {
  local launcher=()
  [[ -f $BUILD/build.ninja ]] ||
    launcher=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -G Ninja -S "$ROOT" -B "$BUILD" -DLLMC_ENABLE_TESTS=ON "${launcher[@]}" >/dev/null
}
phase configure configure
phase build ninja -C "$BUILD" -j"$JOBS"

unit_tests() {
  (cd "$BUILD" && ctest --output-on-failure -j"$JOBS" | tail -n 25)
  # ctest's summary line is the last line printed above.
}
phase "unit tests (ctest)" unit_tests

lit_tests() {
  /usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv -j"$JOBS" "$BUILD/test"
}
phase "lit tests" lit_tests

# Embedding: install the runtime (library, header, CMake package, pkg-config
# file), build examples/embed against the installed copy with CMake and with
# pkg-config, and stream a completion from a freshly compiled model.
embed_example() {
  local prefix=$BUILD/install work=$BUILD/embed-example
  rm -rf "$prefix" "$work" && mkdir -p "$work"
  cmake --install "$BUILD" --prefix "$prefix" >/dev/null
  cmake -S examples/embed -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  ninja -C "$work/cmake" >/dev/null
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc examples/embed/embed.c -o "$work/embed-pc" \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs llmc)
  /usr/bin/python3 tools/gen-model/gen_model.py --preset tiny --seed 1 --format hf \
    --out "$work/model" --quiet
  "$BUILD/bin/llmc" compile "$work/model" --quant q8 -o "$work/out" >/dev/null
  LD_LIBRARY_PATH="$prefix/lib" "$work/cmake/embed" "$work/out" "def add(a, b):" 16
  LD_LIBRARY_PATH="$prefix/lib" "$work/embed-pc" "$work/out" "import os" 8
}
phase "embed example" embed_example

# The MLIR-free parts (parsers, tokenizer, runtime) again under ASan and UBSan:
# a runtime-only build, its unit tests, and the lit tests that need no compiler
# (hostile model files, tokenizers, the CLI).
ASAN_BUILD=${LLMC_ASAN_BUILD_DIR:-$ROOT/build-asan}
sanitizers() {
  if [[ ! -f $ASAN_BUILD/build.ninja ]]; then
    cmake -G Ninja -S "$ROOT" -B "$ASAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DLLMC_ENABLE_COMPILER=OFF -DLLMC_SANITIZE=ON \
      -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
  fi
  ninja -C "$ASAN_BUILD" -j"$JOBS"
  (cd "$ASAN_BUILD" && ctest --output-on-failure -j"$JOBS" | tail -n 3)
  /usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv -j"$JOBS" \
    "$ASAN_BUILD/test/formats" "$ASAN_BUILD/test/tokenizer" "$ASAN_BUILD/test/tools"
}
phase "asan+ubsan (runtime)" sanitizers
