#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds llmc, and
# runs the furthest stage of the pipeline that works today.
#   scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${LLMC_BUILD_DIR:-$PWD/build}

scripts/setup.sh
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -G Ninja -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
ninja -C "$BUILD" -j"${LLMC_JOBS:-2}"

"$BUILD/bin/llmc" --version
"$BUILD/bin/llmc-opt" --show-dialects
