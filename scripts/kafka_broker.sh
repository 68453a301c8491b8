#!/usr/bin/env bash
# Runs one Apache Kafka 4.1.1 broker in KRaft mode (broker + controller in one
# JVM) in the foreground, for tests: scripts/kafka_broker.sh DIR PORT CONTROLLER_PORT
# DIR holds server.properties and the log dirs; it is formatted on first use
# and reused as is on a restart (same cluster id, same data). Listens on
# 127.0.0.1 only. The jars come from scripts/setup.sh (.cache/kafka/libs).
# Logs warnings and "Kafka Server started" (what the test helpers wait for,
# besides a working connection). Every record is fsync'd
# (log.flush.interval.messages=1): one broker, so an acknowledged record must
# survive the broker's SIGKILL in the outage tests.
#
# Secured listeners, for the SASL / TLS tests (all optional, by environment):
#   KITE_KAFKA_SASL_PORT       a SASL_PLAINTEXT listener (SASL/PLAIN)
#   KITE_KAFKA_SSL_PORT        an SSL listener        } both need KITE_KAFKA_KEYSTORE
#   KITE_KAFKA_SASL_SSL_PORT   a SASL_SSL listener    } (PKCS12) and _KEYSTORE_PASSWORD
#   KITE_KAFKA_SASL_USER / KITE_KAFKA_SASL_PASSWORD   the one SASL/PLAIN user (in
#                              the listeners' JAAS config)
#   KITE_KAFKA_SCRAM_USER / KITE_KAFKA_SCRAM_PASSWORD   a SASL/SCRAM-SHA-256 and
#                              SCRAM-SHA-512 user on the same SASL listeners, created
#                              in the KRaft metadata when the directory is formatted
#                              (StorageTool format --add-scram, KIP-900)
# The broker's own traffic stays on PLAINTEXT.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
libs="${KITE_KAFKA_LIBS:-$root/.cache/kafka/libs}"
if [ ! -f "$libs/kafka_2.13-4.1.1.jar" ]; then
  echo "Kafka jars missing in $libs: run scripts/setup.sh" >&2
  exit 2
fi
dir="$1"; port="$2"; cport="$3"
mkdir -p "$dir"
extra_listeners=""
secure_props=""
user="${KITE_KAFKA_SASL_USER:-kite}"
pass="${KITE_KAFKA_SASL_PASSWORD:-kite-secret}"
if [ -n "${KITE_KAFKA_SASL_PORT:-}" ]; then
  extra_listeners+=",SASL_PLAINTEXT://127.0.0.1:$KITE_KAFKA_SASL_PORT"
fi
if [ -n "${KITE_KAFKA_SSL_PORT:-}" ]; then
  extra_listeners+=",SSL://127.0.0.1:$KITE_KAFKA_SSL_PORT"
fi
if [ -n "${KITE_KAFKA_SASL_SSL_PORT:-}" ]; then
  extra_listeners+=",SASL_SSL://127.0.0.1:$KITE_KAFKA_SASL_SSL_PORT"
fi
if [ -n "$extra_listeners" ]; then
  plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$user=\"$pass\";"
  secure_props="sasl.enabled.mechanisms=PLAIN"
  if [ -n "${KITE_KAFKA_SCRAM_USER:-}" ]; then
    secure_props+=",SCRAM-SHA-256,SCRAM-SHA-512"
  fi
  scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  for l in sasl_plaintext sasl_ssl; do
    secure_props+=$'\n'"listener.name.$l.plain.sasl.jaas.config=$plain"
    if [ -n "${KITE_KAFKA_SCRAM_USER:-}" ]; then
      secure_props+=$'\n'"listener.name.$l.scram-sha-256.sasl.jaas.config=$scram"
      secure_props+=$'\n'"listener.name.$l.scram-sha-512.sasl.jaas.config=$scram"
    fi
  done
  if [ -n "${KITE_KAFKA_KEYSTORE:-}" ]; then
    secure_props+=$'\n'"ssl.keystore.type=PKCS12"
    secure_props+=$'\n'"ssl.keystore.location=$KITE_KAFKA_KEYSTORE"
    secure_props+=$'\n'"ssl.keystore.password=$KITE_KAFKA_KEYSTORE_PASSWORD"
    secure_props+=$'\n'"ssl.key.password=$KITE_KAFKA_KEYSTORE_PASSWORD"
  fi
fi
cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport${extra_listeners}
advertised.listeners=PLAINTEXT://127.0.0.1:$port${extra_listeners}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.flush.interval.messages=1
$secure_props
PROPS
cat > "$dir/log4j2.properties" <<PROPS
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
logger.raft.name=kafka.server.KafkaRaftServer
logger.raft.level=INFO
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
PROPS
cat > "$dir/log4j.properties" <<PROPS
log4j.rootLogger=WARN, stdout
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
cp="$libs/*"
jvm=(java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
     -Dlog4j2.configurationFile="$dir/log4j2.properties"
     -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$cp")
if [ ! -f "$dir/logs/meta.properties" ]; then
  scram_args=()
  if [ -n "${KITE_KAFKA_SCRAM_USER:-}" ]; then
    for m in SCRAM-SHA-256 SCRAM-SHA-512; do
      scram_args+=(--add-scram "$m=[name=$KITE_KAFKA_SCRAM_USER,password=$KITE_KAFKA_SCRAM_PASSWORD]")
    done
  fi
  "${jvm[@]}" kafka.tools.StorageTool format -t kite-test-cluster-000001 \
    -c "$dir/server.properties" "${scram_args[@]}" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; exit 3; }
fi
# With KITE_KAFKA_PARENT_PID set (the test helpers set it), the broker dies
# with that process, so a crashed test run never leaves a broker behind.
if [ -z "${KITE_KAFKA_PARENT_PID:-}" ]; then
  exec "${jvm[@]}" kafka.Kafka "$dir/server.properties"
fi
"${jvm[@]}" kafka.Kafka "$dir/server.properties" &
java_pid=$!
( while kill -0 "$KITE_KAFKA_PARENT_PID" 2>/dev/null && kill -0 "$java_pid" 2>/dev/null; do sleep 1; done
  kill -9 "$java_pid" 2>/dev/null ) &
wait "$java_pid"
