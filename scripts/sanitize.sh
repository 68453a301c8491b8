#!/usr/bin/env bash
# Builds unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (gcc)
# into ./build-asan and runs them with ctest. Any sanitizer report fails the
# test that triggered it (halt_on_error).
#
#   bash scripts/sanitize.sh [TEST_TARGET ...]
#
# Default targets: every unit-test executable. CI (scripts/test.sh) runs the
# ones whose code has no heavy dependencies (expression language, storage,
# flat kernels, HNSW, scalar indexes); kite_unit_tests links the whole server
# (gRPC, protobuf, RocksDB), which doubles the CI build time: run it here.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then TARGETS=("$@"); else
  TARGETS=(kite_expr_tests kite_storage_tests kite_flat_tests kite_hnsw_tests kite_scalar_index_tests
           kite_index_tests kite_unit_tests)
fi
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=true
if [ ! -f build-asan/build.ninja ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
fi
ninja -C build-asan -j"${KITE_BUILD_JOBS:-2}" "${TARGETS[@]}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for t in "${TARGETS[@]}"; do
  exe=$(find "$PWD/build-asan" -type f -name "$t" -perm -u+x | head -1)
  echo "== $t (ASan + UBSan)"
  if ! (cd build-asan && "$exe" --gtest_brief=1); then status=1; fi
done
exit $status
