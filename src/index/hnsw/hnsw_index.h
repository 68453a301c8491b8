// HNSW: Kite's graph index for dense float vectors, the algorithm of Malkov &
// Yashunin, "Efficient and robust approximate nearest neighbor search using
// Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), 2018
// (arXiv:1603.09320). Implements index::VectorIndex (vector_index.h); read
// that contract first.
//
// What it stores: only the graph (a flat level-0 link array, sparse upper
// levels; hnsw_graph.h). Vectors are read from `base`, the segment's own
// column, which Search receives; it must be the column the index was built
// from (same type, dim and rows), or results are meaningless.
//
// Columns: FloatVector, Float16Vector, BFloat16Vector, Int8Vector (rows are
// converted to float32 as they are loaded). Metrics L2, IP, COSINE, with the
// distances flat::Search reports. Null rows are not in the graph.
//
// Build params (Milvus's names, resolved params from index_params.h):
//   metric_type      required: L2 | IP | COSINE
//   M                [2, 2048], default 30 (Knowhere's default); level-0
//                    degree 2M, level multiplier 1/ln(M)
//   efConstruction   [1, 2^31-1], default 360 (Knowhere's default)
// Search params:
//   ef               [1, 2^31-1], default max(k, 16) as in Knowhere; an ef
//                    below k is raised to k (Knowhere rejects it).
// Bad values are InvalidArgument naming the key and the value.
//
// Filtered search: rows the filter rejects are walked through but never
// returned; the walk goes on until ef rows pass or every reachable node is
// seen, so it returns min(k, passing rows) unless the passing rows are
// unreachable. Its cost grows like ef / (fraction passing), an exact scan of
// the passing rows like their number: when passing^2 < brute_force_cost_ratio
// * ef * rows (Tuning) the passing rows are scored exactly with flat::Search
// instead (measured at 100k x 128: ~0.9 us * ef / fraction for the walk,
// ~0.035 us per passing row for the scan).
// Threads: BuildHnsw uses `threads` threads (the caller's included); Search
// runs on the calling thread only and may be called concurrently (scratch
// buffers come from a pool inside the index).
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "index/vector_index.h"
#include "schema/column_batch.h"

namespace kite::index {

Result<std::unique_ptr<VectorIndex>> BuildHnsw(const Params& params, const Column& column, int threads);
// `params`: the ones the index was built with; metric_type and M, when
// present, must match the bytes.
Result<std::unique_ptr<VectorIndex>> LoadHnsw(const Params& params, std::string_view bytes);
// The same, reading the serialized form from `in` through a buffer of
// `read_buffer` bytes (at least kMinReadBuffer): the graph is built as the
// bytes arrive, never held twice.
constexpr size_t kMinReadBuffer = 4 * (1 + 2 * 2048);  // the longest list
Result<std::unique_ptr<VectorIndex>> LoadHnswFrom(const Params& params, ByteSource* in,
                                                  size_t read_buffer = size_t{1} << 20);

namespace hnsw {

// Test/benchmark hook, like flat::internal::Tuning: must not race with searches.
struct Tuning {
  // Filtered searches with passing^2 < ratio * ef * rows scan the passing
  // rows exactly (0: always walk the graph).
  double brute_force_cost_ratio = 25.0;
};
Tuning& MutableTuning();

}  // namespace hnsw
}  // namespace kite::index
