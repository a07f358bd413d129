#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds llmc,
# compiles a model for the CPU and completes a prompt.
#   scripts/demo.sh
# Until the bundled trained model lands, the model is a generated random one
# (tools/gen-model), so the text is noise; the pipeline is the real one.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LLMC_BUILD_DIR:-$PWD/build}
WORK=${LLMC_DEMO_DIR:-$PWD/build/demo}

scripts/setup.sh
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -G Ninja -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
ninja -C "$BUILD" -j"${LLMC_JOBS:-2}" llmc

mkdir -p "$WORK"
MODEL=$WORK/small-hf
if [[ ! -f $MODEL/config.json ]]; then
  /usr/bin/python3 tools/gen-model/gen_model.py --preset small --seed 1 --format hf \
    --dtype f16 --out "$MODEL"
fi
"$BUILD/bin/llmc" compile "$MODEL" --target cpu --quant f16 -o "$WORK/small-cpu"
"$BUILD/bin/llmc" run "$WORK/small-cpu" -p "def fibonacci(n):" -n 48
