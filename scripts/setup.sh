#!/usr/bin/env bash
# Installs everything Kite needs on a fresh Debian 12 machine: system packages
# (apt-get) and the Python test/bench dependencies into ./.venv. Idempotent.
# chromium is only for the web UI test (tests/e2e/test_observability.py loads
# /webui headless); that test skips when it is missing.
# Apache Kafka 4.1.1 (for the Kafka WAL tests; scripts/kafka_broker.sh runs it)
# comes from Maven Central into .cache/kafka/libs (git-ignored), once.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  librocksdb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev
  libroaring-dev libsimdjson-dev libfaiss-dev libhnswlib-dev libopenblas-dev
  libbenchmark-dev libssl-dev libicu-dev libstemmer-dev
  clang-14 libfuzzer-14-dev
  chromium
  librdkafka-dev default-jre-headless maven
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import pymilvus, pytest, numpy" 2>/dev/null || \
   ! cmp -s requirements.txt .venv/.requirements.installed; then
  echo "[setup] installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  cp requirements.txt .venv/.requirements.installed
fi

KAFKA_LIBS=.cache/kafka/libs
if [ ! -f "$KAFKA_LIBS/kafka_2.13-4.1.1.jar" ] || [ ! -f "$KAFKA_LIBS/kafka-tools-4.1.1.jar" ] || \
   [ ! -f "$KAFKA_LIBS/slf4j-reload4j-1.7.36.jar" ]; then
  echo "[setup] fetching Apache Kafka 4.1.1 jars into $KAFKA_LIBS"
  mvn -q -B -f tools/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$KAFKA_LIBS" -DincludeScope=runtime
fi
