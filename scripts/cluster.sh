#!/usr/bin/env bash
# A local Kite cluster on loopback, as far as the roles run as processes today
# (issue 16): an etcd, an object store (the data dir's objects/, or an S3
# server with --s3), a Kafka broker (the WAL the streaming nodes share), one
# `kite standalone` with kite.queryNodes, kite.streamingNodes and
# kite.dataNodes: remote (coordinator and proxy roles; with --coordinators C
# > 1, C of them with mixCoord.enableActiveStandby, one active), then N
# `kite streamingnode` processes leading the WAL channels, M `kite querynode`
# processes serving the sealed segments and D `kite datanode` processes
# building the indexes, and P `kite proxy` processes in front (clients connect
# to any of them; the standalone's own port serves too).
#
#   scripts/cluster.sh up [--dir DIR] [--query-nodes M] [--streaming-nodes N] [--data-nodes D]
#                         [--proxies P] [--coordinators C] [--s3]
#                                          start (M=2, N=2, D=1, P=2, C=1; N=0: the standalone's own
#                                          streaming node and local WAL, no Kafka; D=0: builds in
#                                          the standalone; P=0: connect to the standalone; C>1
#                                          needs --s3 and N>0); prints the address
#   scripts/cluster.sh status [--dir DIR]  processes, the active coordinator, the query view and
#                                          the channel bindings
#   scripts/cluster.sh kill ROLE [I] [--dir DIR]
#                                          kill -9 one process: querynode I, streamingnode I,
#                                          datanode I, proxy I, coordinator I (0-based), standalone
#                                          (the first coordinator), etcd, s3 or kafka
#   scripts/cluster.sh down [--dir DIR]    stop everything
#
# Needs the built binary (scripts/build.sh) and what scripts/setup.sh installs
# (etcd, the Kafka jars; versitygw for --s3). Logs and pid files are under DIR
# (default .cache/cluster). Nothing listens beyond 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
KITE="${KITE_BIN:-$REPO/build/kite}"
DIR="$REPO/.cache/cluster"
QN=2
SN=2
DN=1
PROXIES=2
COORDS=1
S3=0
CMD="${1:-}"
[ $# -gt 0 ] && shift
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$(realpath -m "$2")"; shift 2 ;;
    --query-nodes) QN="$2"; shift 2 ;;
    --streaming-nodes) SN="$2"; shift 2 ;;
    --data-nodes) DN="$2"; shift 2 ;;
    --proxies) PROXIES="$2"; shift 2 ;;
    --coordinators) COORDS="$2"; shift 2 ;;
    --s3) S3=1; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Running, not a zombie (a killed process whose parent has not reaped it yet).
alive() {
  [ -f "$1" ] || return 1
  local pid state
  pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)"
  [ "$state" != Z ]
}
wait_for_log() {  # file text seconds
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for '$2' in $1" >&2; tail -20 "$1" >&2; exit 1; }
    sleep 0.1
  done
}

# start_nodes ROLE COUNT SECONDS: COUNT `kite ROLE` processes on free ports
# sharing the cluster's config and data dir (a proxy stores nothing), each
# waited for; the port of each is in ports-ROLE-I.
start_nodes() {
  local role="$1" count="$2" secs="$3" i p data
  for i in $(seq 0 $((count - 1))); do
    p=$(free_port)
    data=(--data-dir "$DIR/data")
    [ "$role" = proxy ] && data=()
    setsid "$KITE" "$role" --config "$DIR/kite.yaml" "${data[@]}" --port "$p" \
      >"$DIR/logs/$role-$i.log" 2>&1 &
    echo $! >"$DIR/pids/$role-$i"
    echo "$p" >"$DIR/ports-$role-$i"
    wait_for_log "$DIR/logs/$role-$i.log" "serving on" "$secs"
  done
}

up() {
  [ -x "$KITE" ] || { echo "no $KITE: run scripts/build.sh" >&2; exit 1; }
  command -v etcd >/dev/null || { echo "no etcd: run scripts/setup.sh" >&2; exit 1; }
  if alive "$DIR/pids/standalone"; then echo "already up (scripts/cluster.sh down first)" >&2; exit 1; fi
  if [ "$COORDS" -gt 1 ] && { [ "$S3" != 1 ] || [ "$SN" -lt 1 ]; }; then
    echo "--coordinators $COORDS needs --s3 and streaming nodes: every coordinator must share the storage" >&2
    exit 2
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/data"
  local ecl epe
  ecl=$(free_port); epe=$(free_port)
  setsid etcd --name kite-cluster --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ecl" --advertise-client-urls "http://127.0.0.1:$ecl" \
    --listen-peer-urls "http://127.0.0.1:$epe" --initial-advertise-peer-urls "http://127.0.0.1:$epe" \
    --initial-cluster "kite-cluster=http://127.0.0.1:$epe" >"$DIR/logs/etcd.log" 2>&1 &
  echo $! >"$DIR/pids/etcd"
  wait_for_log "$DIR/logs/etcd.log" "ready to serve client requests" 30
  local cport
  cport=$(free_port)
  {
    echo "etcd:"
    echo "  endpoints: 127.0.0.1:$ecl"
    echo "  rootPath: kite-cluster"
    echo "rootCoord:"
    echo "  port: $cport"
    echo "kite:"
    echo "  queryNodes: remote"
    [ "$SN" -gt 0 ] && echo "  streamingNodes: remote"
    [ "$DN" -gt 0 ] && echo "  dataNodes: remote"
    if [ "$COORDS" -gt 1 ]; then echo "mixCoord:"; echo "  enableActiveStandby: true"; fi
    # A dead process is noticed within the session TTL: 5 s on loopback
    # (Milvus's default is 30 s).
    echo "common:"
    echo "  session:"
    echo "    ttl: 5"
    [ "$S3" = 1 ] && echo "  storageType: remote"
  } >"$DIR/kite.yaml"
  if [ "$SN" -gt 0 ]; then
    local kp kcp
    kp=$(free_port); kcp=$(free_port)
    env -u KITE_KAFKA_PARENT_PID setsid bash "$REPO/scripts/kafka_broker.sh" "$DIR/kafka" "$kp" "$kcp" >"$DIR/logs/kafka.log" 2>&1 &
    echo $! >"$DIR/pids/kafka"
    wait_for_log "$DIR/logs/kafka.log" "Kafka Server started" 120
    printf 'mq:\n  type: kafka\nkafka:\n  brokerList: 127.0.0.1:%s\n' "$kp" >>"$DIR/kite.yaml"
  fi
  if [ "$S3" = 1 ]; then
    local gw="${KITE_VERSITYGW:-$REPO/.cache/go-bin/versitygw}" s3p
    [ -x "$gw" ] || { echo "no $gw: run scripts/setup.sh" >&2; exit 1; }
    s3p=$(free_port)
    mkdir -p "$DIR/s3"
    setsid "$gw" --access kiteadmin --secret kiteadmin-secret --port "127.0.0.1:$s3p" posix "$DIR/s3" \
      >"$DIR/logs/s3.log" 2>&1 &
    echo $! >"$DIR/pids/s3"
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3p), 0.5)" 2>/dev/null; do sleep 0.1; done
    cat >>"$DIR/kite.yaml" <<EOF
minio:
  address: 127.0.0.1
  port: $s3p
  accessKeyID: kiteadmin
  secretAccessKey: kiteadmin-secret
  useSSL: false
  bucketName: kite-cluster
  rootPath: files
EOF
  fi
  start_nodes querynode "$QN" 30
  start_nodes datanode "$DN" 30
  local port mport
  port=$(free_port); mport=$(free_port)
  setsid "$KITE" standalone --config "$DIR/kite.yaml" --data-dir "$DIR/data" --port "$port" \
    --metrics-port "$mport" >"$DIR/logs/standalone.log" 2>&1 &
  echo $! >"$DIR/pids/standalone"
  echo "$port $mport" >"$DIR/ports"
  wait_for_log "$DIR/logs/standalone.log" "serving Milvus gRPC and REST" 60
  # Stand-by coordinators: each its own data dir and coordinator port (the
  # storage is shared); they serve once the active one is gone.
  for i in $(seq 1 $((COORDS - 1))); do
    local p mp
    p=$(free_port); mp=$(free_port)
    sed "s/^  port: $cport\$/  port: $(free_port)/" "$DIR/kite.yaml" >"$DIR/coordinator-$i.yaml"
    mkdir -p "$DIR/coordinator-$i"
    setsid "$KITE" standalone --config "$DIR/coordinator-$i.yaml" --data-dir "$DIR/coordinator-$i" --port "$p" \
      --metrics-port "$mp" >"$DIR/logs/coordinator-$i.log" 2>&1 &
    echo $! >"$DIR/pids/coordinator-$i"
    echo "$p $mp" >"$DIR/ports-coordinator-$i"
    wait_for_log "$DIR/logs/coordinator-$i.log" "standing by as coordinator" 60
  done
  start_nodes streamingnode "$SN" 60
  start_nodes proxy "$PROXIES" 60
  echo "Kite cluster up: $COORDS coordinator(s), $PROXIES proxy, $SN streaming node, $QN query node and $DN data node process(es), etcd 127.0.0.1:$ecl$([ "$SN" -gt 0 ] && echo ", Kafka")$([ "$S3" = 1 ] && echo ", S3")"
  local connect="$port"
  if [ "$PROXIES" -gt 0 ]; then connect="$(cat "$DIR/ports-proxy-0")"; fi
  echo "connect: http://127.0.0.1:$connect   (web UI http://127.0.0.1:$mport/webui, logs $DIR/logs)"
  for i in $(seq 1 $((PROXIES - 1))); do
    echo "proxy $i: http://127.0.0.1:$(cat "$DIR/ports-proxy-$i")"
  done
  if [ "$PROXIES" -gt 0 ]; then echo "coordinator's own port: http://127.0.0.1:$port"; fi
  for i in $(seq 1 $((COORDS - 1))); do
    echo "stand-by coordinator $i: http://127.0.0.1:$(cut -d' ' -f1 "$DIR/ports-coordinator-$i") (serves once the active one is gone)"
  done
}

status() {
  for f in "$DIR"/pids/*; do
    [ -e "$f" ] || { echo "not up"; return; }
    if alive "$f"; then echo "$(basename "$f"): running (pid $(cat "$f"))"; else echo "$(basename "$f"): dead"; fi
  done
  # The active coordinator: the first whose Milvus port answers.
  local mport="" pf pidf
  for pf in "$DIR/ports" "$DIR"/ports-coordinator-*; do
    [ -f "$pf" ] || continue
    pidf="$DIR/pids/standalone"
    [ "$pf" = "$DIR/ports" ] || pidf="$DIR/pids/coordinator-${pf##*-}"
    alive "$pidf" || continue
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $(cut -d' ' -f1 "$pf")), 0.5)" 2>/dev/null; then
      mport=$(cut -d' ' -f2 "$pf")
      echo "active coordinator: $(basename "$pidf") at http://127.0.0.1:$(cut -d' ' -f1 "$pf")"
      break
    fi
  done
  if [ -n "$mport" ]; then
    echo "query view: $(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$mport/webui/api/query_nodes', timeout=5).read().decode())")"
    echo "streaming view: $(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$mport/webui/api/streaming_nodes', timeout=5).read().decode())")"
  fi
}

kill_role() {
  local role="${ARGS[0]:-}" i="${ARGS[1]:-0}" f
  case "$role" in
    querynode|streamingnode|datanode|proxy) f="$DIR/pids/$role-$i" ;;
    coordinator) if [ "$i" = 0 ]; then f="$DIR/pids/standalone"; else f="$DIR/pids/coordinator-$i"; fi ;;
    standalone|etcd|s3|kafka) f="$DIR/pids/$role" ;;
    *) echo "kill ROLE: querynode [I], streamingnode [I], datanode [I], proxy [I], coordinator [I], standalone, etcd, s3 or kafka" >&2; exit 2 ;;
  esac
  alive "$f" || { echo "$role $i is not running" >&2; exit 1; }
  kill -9 "$(cat "$f")"
  echo "killed $(basename "$f") (pid $(cat "$f"))"
}

down() {
  for f in "$DIR"/pids/proxy-* "$DIR"/pids/coordinator-* "$DIR"/pids/standalone "$DIR"/pids/streamingnode-* "$DIR"/pids/querynode-* \
    "$DIR"/pids/datanode-* "$DIR"/pids/s3 \
    "$DIR"/pids/kafka "$DIR"/pids/etcd; do
    alive "$f" && kill -TERM "$(cat "$f")" || true
  done
  local deadline=$((SECONDS + 20))
  for f in "$DIR"/pids/*; do
    while alive "$f" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    alive "$f" && kill -9 "$(cat "$f")" || true
  done
  echo "Kite cluster down (logs kept in $DIR/logs)"
}

case "$CMD" in
  up) up ;;
  status) status ;;
  kill) kill_role ;;
  down) down ;;
  *) sed -n '2,31p' "$0"; exit 2 ;;
esac
