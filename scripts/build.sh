#!/usr/bin/env bash
# Configures (once) and builds Kite with Ninja into ./build. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${KITE_BUILD_JOBS:-2}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${KITE_BUILD_TYPE:-RelWithDebInfo}"
fi
ninja -C build -j"$JOBS" "$@"
