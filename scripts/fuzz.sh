#!/usr/bin/env bash
# Runs each libFuzzer target (GGUF, safetensors, tokenizer.json) for a bounded
# time on a seed corpus of generated files, under ASan and UBSan, and prints
# what each found.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-60}
BUILD=${LLMC_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
WORK=${LLMC_FUZZ_WORK_DIR:-$BUILD/fuzz-work}

scripts/setup.sh >/dev/null
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang-19 CXX=clang++-19 cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMC_ENABLE_COMPILER=OFF \
    -DLLMC_ENABLE_FUZZERS=ON -DLLMC_SANITIZE=ON -DLLMC_ENABLE_TESTS=OFF
fi
ninja -C "$BUILD" -j"${LLMC_JOBS:-2}" fuzz-gguf fuzz-safetensors fuzz-tokenizer_json

# Seeds: small generated models of both tokenizer kinds.
mkdir -p "$WORK"/{seeds,corpus,crashes}/{gguf,safetensors,tokenizer_json}
GEN="/usr/bin/python3 tools/gen-model/gen_model.py --preset tiny --quiet --vocab 320 --tokenizer-vocab 320"
for tok in spm bpe; do
  $GEN --seed 1 --format gguf --gguf-type q8_0 --tokenizer $tok --out "$WORK/seeds/gguf/$tok.gguf"
  $GEN --seed 1 --format hf --tokenizer $tok --out "$WORK/hf-$tok"
  cp "$WORK/hf-$tok/model.safetensors" "$WORK/seeds/safetensors/$tok.safetensors"
  cp "$WORK/hf-$tok/tokenizer.json" "$WORK/seeds/tokenizer_json/$tok.json"
done

status=0
for target in gguf safetensors tokenizer_json; do
  log="$WORK/$target.log"
  echo "==> fuzz-$target for ${SECONDS_PER_TARGET}s"
  set +e
  "$BUILD/bin/fuzz-$target" "$WORK/corpus/$target" "$WORK/seeds/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=1048576 -rss_limit_mb=2048 \
    -artifact_prefix="$WORK/crashes/$target/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|cov:|ERROR|SUMMARY" "$log" | tail -n 4
  crashes=$(ls "$WORK/crashes/$target" | wc -l)
  echo "    exit $rc, $crashes crashing inputs in $WORK/crashes/$target"
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then status=1; fi
done
exit $status
