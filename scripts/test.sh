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
# Fuzzers (libFuzzer + ASan/UBSan, clang, ./build-fuzz): each runs a short,
# bounded time from its committed corpus; scripts/fuzz.sh SECONDS for longer.
echo "== fuzzers (${KITE_FUZZ_SECONDS:-20} s each)"
bash scripts/fuzz.sh "${KITE_FUZZ_SECONDS:-20}"
# Unit tests under ASan + UBSan (./build-asan). CI runs the tests whose code
# builds without the server's heavy dependencies; kite_unit_tests (the whole
# server) under sanitizers is `bash scripts/sanitize.sh` (doubles the build).
echo "== unit tests under ASan + UBSan"
bash scripts/sanitize.sh kite_expr_tests kite_storage_tests kite_flat_tests kite_hnsw_tests
