#!/usr/bin/env bash
# Instructions per search in the server, load-independent (valgrind callgrind), for comparing two
# builds on a busy machine: bash bench/profile/callgrind_search.sh KITE_BIN OUT [NQ]
# Loads gauss-20k-128 (bench/run.sh --quick generates it), restarts the server under callgrind with
# instrumentation off, warms up, then counts 10 s of kite_loadgen searches (ef=32, top 10, 1 client).
# Read: callgrind_annotate --inclusive=yes OUT.1 | grep -E 'CallbackCallTag::StaticRun|Proxy::RunSearch|SearchSegment\('
# and divide by the "requests" printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$1; OUT=$2; NQ=${3:-1}
LG=$ROOT/build/bench/kite_loadgen
PY=$ROOT/.venv/bin/python
DIR=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
"$BIN" standalone --data-dir "$DIR" --port $PORT --metrics-port $((PORT + 1)) > "$DIR/log" 2>&1 &
PID=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
"$PY" "$ROOT/bench/profile/setup_gauss.py" 127.0.0.1:$PORT
kill $PID; wait $PID || true
OMP_WAIT_POLICY=PASSIVE valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT" \
  "$BIN" standalone --data-dir "$DIR" --port $PORT --metrics-port $((PORT + 1)) > "$DIR/log2" 2>&1 &
VPID=$!
for _ in $(seq 900); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
Q=$ROOT/bench/.cache/datasets/gauss-20k-128-s42/queries.npy
ARGS=(--address 127.0.0.1:$PORT --collection g --field v --metric L2 --params '{"ef":32}' --queries "$Q" --topk 10
      --concurrency 1 --warmup 0 --batch "$NQ")
"$LG" "${ARGS[@]}" --duration 5 > /dev/null
callgrind_control -i on $VPID > /dev/null
"$LG" "${ARGS[@]}" --duration 10
callgrind_control -d $VPID > /dev/null
kill $VPID; wait $VPID || true
rm -rf "$DIR"
