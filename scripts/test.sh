#!/usr/bin/env bash
# Sets up a fresh machine, builds Kite and its unit tests, and runs every test:
# GoogleTest unit tests (ctest) then the end-to-end pytest suite that drives the
# real binary through pymilvus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo "== unit tests (ctest)"
ctest --test-dir build --output-on-failure -j2
echo "== end-to-end tests (pytest + pymilvus)"
KITE_BIN="$PWD/build/kite" .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider
# Fuzzers (libFuzzer + ASan/UBSan, clang, ./build-fuzz) and unit tests under
# ASan + UBSan (./build-asan): set KITE_TEST_FUZZ=1 to run them here too
# (scripts/fuzz.sh SECONDS, scripts/sanitize.sh [TARGETS]). Not yet in the
# default CI run: time-bounded fuzzing explores differently on every run, so a
# finding would turn an unrelated submission red; a fixed-run, fixed-seed CI
# slice is the next step (issue 20).
if [ "${KITE_TEST_FUZZ:-0}" = 1 ]; then
  echo "== fuzzers (${KITE_FUZZ_SECONDS:-20} s each)"
  bash scripts/fuzz.sh "${KITE_FUZZ_SECONDS:-20}"
  echo "== unit tests under ASan + UBSan"
  bash scripts/sanitize.sh kite_expr_tests kite_storage_tests kite_flat_tests kite_hnsw_tests
fi
