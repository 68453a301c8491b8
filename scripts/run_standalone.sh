#!/usr/bin/env bash
# Sets up a fresh machine, builds Kite and starts `kite standalone` on port 19530
# (Milvus gRPC) and 9091 (health), with its data in ./data. Extra arguments are
# passed to the server (e.g. --port 19531).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh kite
exec ./build/kite standalone --data-dir ./data --port 19530 --metrics-port 9091 "$@"
