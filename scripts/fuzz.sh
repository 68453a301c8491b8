#!/usr/bin/env bash
# Builds Kite's libFuzzer targets (tests/fuzz, clang + ASan + UBSan) into
# ./build-fuzz and runs each for SECONDS (default 60).
#
#   bash scripts/fuzz.sh [SECONDS] [FUZZER ...]     e.g. scripts/fuzz.sh 3600   (a nightly run)
#   bash scripts/fuzz.sh --runs N [FUZZER ...]      the CI slice: exactly N inputs per fuzzer,
#                                                   seed 1, from the committed seeds only
#
# The CI slice is repeatable: the same binary, seed, input count and starting
# corpus explore the same inputs on every run, so it turns a submission red
# only for a bug that submission can reproduce (time-bounded runs explore
# differently each time and keep their finds in build-fuzz/corpus).
# Each fuzzer starts from its committed seed corpus (tests/fuzz/corpus/<name>,
# plus tests/logic/expr for expr_fuzzer) and keeps what it finds in
# build-fuzz/corpus/<name> across runs. A crash, sanitizer report, timeout
# (10 s per input) or RSS over 2 GiB fails the run; the input that caused it
# is left in build-fuzz/artifacts/ (reproduce: build-fuzz/<name> <file>;
# add it to the seed corpus once fixed). Exit status: 0 when every fuzzer
# ran clean. Prints the executions and CPU seconds of each.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=""
if [ "${1:-}" = "--runs" ]; then RUNS="$2"; shift 2; SECONDS_EACH=0; else
  SECONDS_EACH="${1:-60}"
  shift || true
fi
ALL=(http1_fuzzer rest_rows_fuzzer field_data_fuzzer expr_fuzzer file_readers_fuzzer)
if [ "$#" -gt 0 ]; then FUZZERS=("$@"); else FUZZERS=("${ALL[@]}"); fi
CXX="${KITE_FUZZ_CXX:-clang++-14}"
CC="${KITE_FUZZ_CC:-clang-14}"
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=true
if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_C_COMPILER="$CC" \
    -DKITE_PYTHON="$PWD/.venv/bin/python"
fi
ninja -C build-fuzz -j"${KITE_BUILD_JOBS:-2}" "${FUZZERS[@]}"
mkdir -p build-fuzz/artifacts
status=0
for f in "${FUZZERS[@]}"; do
  mkdir -p "build-fuzz/corpus/$f" "tests/fuzz/corpus/$f"
  seeds=("tests/fuzz/corpus/$f")
  if [ "$f" = expr_fuzzer ]; then seeds+=(tests/logic/expr); fi
  log="build-fuzz/$f.log"
  start=$(date +%s)
  if [ -n "$RUNS" ]; then
    # A fresh output corpus each time: only the committed seeds start the run.
    out_corpus="$(mktemp -d)"
    budget=(-runs="$RUNS" -seed=1)
  else
    out_corpus="build-fuzz/corpus/$f"
    budget=(-max_total_time="$SECONDS_EACH")
  fi
  if ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}" \
     UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
     "build-fuzz/$f" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$f-" \
       "$out_corpus" "${seeds[@]}" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $f ok: $runs inputs in $(( $(date +%s) - start )) s (corpus $(ls "$out_corpus" | wc -l) files)"
  else
    echo "fuzz: $f FAILED (log $log, inputs in build-fuzz/artifacts/):"
    grep -m1 -B2 -A40 -E 'ERROR: |runtime error|invariant violated|==ERROR' "$log" || tail -60 "$log"
    status=1
  fi
  if [ -n "$RUNS" ]; then rm -rf "$out_corpus"; fi
done
exit $status
