#!/usr/bin/env bash
# Configures (once) and builds Kite with Ninja into ./build. Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${KITE_BUILD_JOBS:-2}"
# ccache keys on paths relative to the checkout and not on the build folder,
# so a fresh clone elsewhere (CI) reuses what any checkout compiled here.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${KITE_BUILD_TYPE:-RelWithDebInfo}"
fi
ninja -C build -j"$JOBS" "$@"
