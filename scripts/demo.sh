#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds llmc,
# compiles the bundled trained model (models/tinypy, a 3.4M-parameter Llama
# trained on the Python standard library) for this CPU with 4-bit weights and
# completes a prompt, printing the decode speed.
#   scripts/demo.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LLMC_BUILD_DIR:-$PWD/build}
WORK=${LLMC_DEMO_DIR:-$BUILD/demo}
PROMPT=${1:-def fibonacci(n):}

scripts/setup.sh --main
# The main job needs no test tools (GoogleTest, lit); scripts/test.sh turns
# them on in the same build folder.
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -G Ninja -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLLMC_ENABLE_TESTS=OFF \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
ninja -C "$BUILD" -j"${LLMC_JOBS:-2}" llmc

mkdir -p "$WORK"
echo "==> llmc compile models/tinypy --target cpu --quant q4 -o $WORK/tinypy-q4"
"$BUILD/bin/llmc" compile models/tinypy --target cpu --quant q4 -o "$WORK/tinypy-q4"
echo "==> llmc run $WORK/tinypy-q4 -p '$PROMPT' -n 64 --repeat-penalty 1.15"
"$BUILD/bin/llmc" run "$WORK/tinypy-q4" -p "$PROMPT" -n 64 --repeat-penalty 1.15
