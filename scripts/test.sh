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
