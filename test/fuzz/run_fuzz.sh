#!/usr/bin/env bash
# run_fuzz.sh [SECONDS | --runs N]: builds fuzz_import and fuzz_tokenizer with clang-19 (libFuzzer + ASan +
# UBSan), replays the saved regressions under the sanitizers, then fuzzes import -> simplify -> lift from seeds
# made of the repository's own models, and the tokenizers from test/fuzz/tokenizer_seeds: each for SECONDS
# (default 60; exploratory, differs from run to run), or for exactly N inputs from a fixed seed in one process
# (--runs N: what the test command runs; repeatable on one machine, though libFuzzer's order of equal-size
# seeds follows the directory listing, so another machine can take another path). Exits 1 if a crash was found that is not a known open bug
# (test/fuzz/regressions/open_bugs.txt); each new input is kept in $BUILD/fuzz-artifacts with its repro line.
# Environment: TSC_FUZZ_BUILD (default build-fuzz), TSC_FUZZ_JOBS (parallel fuzzing processes for SECONDS,
# default 1), CC/CXX (default clang-19/clang++-19).
set -euo pipefail
SECS=60 RUNS=
if [ "${1:-}" = "--runs" ]; then RUNS=${2:?--runs needs a count}; else SECS=${1:-60}; fi
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${TSC_FUZZ_BUILD:-$ROOT/build-fuzz}
JOBS=${TSC_FUZZ_JOBS:-1}
export CC=${CC:-clang-19} CXX=${CXX:-clang++-19}
PY=${PYTHON:-python3}

# runtime/ asks for OpenMP; the fuzz target does not use it. Where clang has no OpenMP runtime (libomp),
# tell FindOpenMP its flags instead of failing the configure.
omp=()
if ! echo 'int main(){}' | "$CXX" -fopenmp -x c++ - -o /dev/null 2>/dev/null; then
  omp=(-DOpenMP_C_FLAGS=-fopenmp -DOpenMP_CXX_FLAGS=-fopenmp -DOpenMP_C_LIB_NAMES=omp -DOpenMP_CXX_LIB_NAMES=omp
       -DOpenMP_omp_LIBRARY=omp)
fi
echo "==> configure $BUILD ($CXX)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSC_FUZZ=ON "${omp[@]}" > "$BUILD.configure.log" 2>&1 ||
  { cat "$BUILD.configure.log"; exit 1; }
echo "==> build fuzz_import, fuzz_tokenizer"
cmake --build "$BUILD" --target fuzz_import fuzz_tokenizer
FUZZER="$BUILD/bin/fuzz_import"

echo "==> replay test/fuzz/regressions under the sanitizers"
KNOWN="$BUILD/fuzz-known-signatures.txt"
"$PY" "$HERE/replay.py" --fuzzer "$FUZZER" "$HERE/regressions" --signatures "$KNOWN"

echo "==> seeds"
"$PY" "$HERE/make_seeds.py" "$BUILD/fuzz-seeds"
mkdir -p "$BUILD/fuzz-corpus" "$BUILD/fuzz-artifacts"
STAMP="$BUILD/fuzz-artifacts/.start"
touch "$STAMP"

# Large seeds (fixtures) need max_len.
common=(-timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=4096 -max_len=1048576 -dict="$HERE/onnx.dict"
        -artifact_prefix="$BUILD/fuzz-artifacts/")
if [ -n "$RUNS" ]; then
  # Deterministic: a fresh corpus, seed 1, one process; the first crash stops the run.
  echo "==> fuzz $RUNS inputs from seed 1; log: $BUILD/fuzz.log"
  rm -rf "$BUILD/fuzz-corpus-det" && mkdir -p "$BUILD/fuzz-corpus-det"
  "$FUZZER" -seed=1 -runs="$RUNS" "${common[@]}" "$BUILD/fuzz-corpus-det" "$BUILD/fuzz-seeds" > "$BUILD/fuzz.log" 2>&1 || true
else
  echo "==> fuzz for ${SECS}s ($JOBS process(es)); log: $BUILD/fuzz.log"
  # Crashes do not stop the run (each is saved); the verdict comes after.
  "$FUZZER" -fork="$JOBS" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$SECS" "${common[@]}" \
    "$BUILD/fuzz-corpus" "$BUILD/fuzz-seeds" > "$BUILD/fuzz.log" 2>&1 || true
fi
tail -n 3 "$BUILD/fuzz.log"

# The tokenizers: text as users send it and ids as models emit them (fuzz_tokenizer.cpp), over the unit tests'
# tokenizer files. Any saved input is a bug (there are no known open ones).
tok_status=0
if [ -d "${TSC_SHARED_DATA_DIR:-$ROOT/../shared/data}/gpt2-bpe" ]; then
  TOK_ART="$BUILD/fuzz-tokenizer-artifacts"
  rm -rf "$TOK_ART" "$BUILD/fuzz-tokenizer-corpus" && mkdir -p "$TOK_ART" "$BUILD/fuzz-tokenizer-corpus"
  tok=(-timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=4096 -artifact_prefix="$TOK_ART/" "$BUILD/fuzz-tokenizer-corpus" "$HERE/tokenizer_seeds")
  if [ -n "$RUNS" ]; then
    # Ten times the importer's count: a tokenizer input runs in well under a millisecond.
    echo "==> fuzz the tokenizers: $((RUNS * 10)) inputs from seed 1; log: $BUILD/fuzz-tokenizer.log"
    "$BUILD/bin/fuzz_tokenizer" -seed=1 -runs="$((RUNS * 10))" "${tok[@]}" > "$BUILD/fuzz-tokenizer.log" 2>&1 || true
  else
    echo "==> fuzz the tokenizers for ${SECS}s; log: $BUILD/fuzz-tokenizer.log"
    "$BUILD/bin/fuzz_tokenizer" -max_total_time="$SECS" "${tok[@]}" > "$BUILD/fuzz-tokenizer.log" 2>&1 || true
  fi
  tail -n 2 "$BUILD/fuzz-tokenizer.log"
  for f in "$TOK_ART"/*; do
    [ -e "$f" ] || continue
    echo "NEW (tokenizer): $f: $(grep -m1 -E 'fuzz_tokenizer:|SUMMARY' "$BUILD/fuzz-tokenizer.log")"
    echo "     reproduce: $BUILD/bin/fuzz_tokenizer $f"
    tok_status=1
  done
else
  echo "==> no tokenizer test data (../shared/data): the tokenizer fuzz run is skipped"
fi

new=$(find "$BUILD/fuzz-artifacts" -type f -newer "$STAMP" ! -name '.*' | sort)
if [ -z "$new" ]; then
  [ "$tok_status" = 0 ] && echo "==> no crashes"
  exit $tok_status
fi
status=$tok_status
while IFS= read -r f; do
  sig=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import replay; print(replay.verdict_fuzzer(sys.argv[2], sys.argv[3]) or "")' \
        "$HERE" "$FUZZER" "$f")
  if [ -z "$sig" ]; then
    echo "flaky (does not reproduce alone): $f"
  elif grep -qxF "$sig" "$KNOWN"; then
    echo "known open bug: $f: $sig"
  else
    echo "NEW: $f: $sig"
    echo "     reproduce: $FUZZER $f   (and: $ROOT/build/bin/tsc $f --emit=spec)"
    status=1
  fi
done <<< "$new"
exit $status
