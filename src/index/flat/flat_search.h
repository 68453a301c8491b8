// Exact (brute-force) vector search: every query is compared with every base
// row that the filter lets through, and the k best rows are returned.
//
// Contract
//   Search(queries, base, params, &hits) fills `hits` with, per query, up to
//   params.k (row, distance) pairs, best first; rows are row numbers in `base`.
//   Equal distances are ordered by row number, ascending. Distances are the
//   values Milvus reports:
//     L2      squared Euclidean distance                  smaller is better
//     IP      inner product                               larger is better
//     COSINE  cosine similarity, both sides normalised;   larger is better
//             a zero vector has similarity 0 with everything
//     HAMMING number of differing bits                    smaller is better
//     JACCARD 1 - |a & b| / |a | b|, 0 when both are zero smaller is better
//   Float32 / Float16 / BFloat16 / Int8 take L2, IP and COSINE; Binary takes
//   HAMMING and JACCARD. Queries and base must have the same type and dim.
//   Any other combination, or a malformed Matrix, is InvalidArgument.
//
//   Range search (Milvus semantics): with `radius` set only results inside the
//   range are returned, then at most k of them, best first:
//     L2 / HAMMING / JACCARD   range_filter <= d <  radius
//     IP / COSINE              radius       <  d <= range_filter
//   range_filter is optional and, as in Milvus, ignored without radius. Both
//   bounds must be finite, and range_filter on the right side of radius, else
//   InvalidArgument. Rows whose distance is NaN are never returned.
//
// Ownership: Matrix and the filter are borrowed for the duration of the call;
//   Search keeps no pointer to them afterwards. `out` is overwritten.
//
// Thread-safety: Search is a pure function of its arguments (plus the kernel
//   level chosen once per process, see kernels.h) and may be called
//   concurrently from any number of threads.
//
// Threads used: a call runs on the calling thread. Batches of float queries
//   (16 or more by default, see Tuning in kernels.h) compute distances with
//   OpenBLAS cblas_sgemm, which may also use OpenBLAS's own thread pool (sized
//   by OPENBLAS_NUM_THREADS / openblas_set_num_threads; Kite does not change
//   it). The top-k selection runs on the calling thread. No other thread is
//   created.
//
// How it works (details in flat_search.cc): nq small -> one pass over the base
//   in cache-sized blocks, each block scored against every query with SIMD
//   kernels (AVX-512F / AVX2+FMA / scalar, picked at run time) and folded into
//   a per-query top-k heap; nq large -> blocks of base rows times all queries
//   as a matrix product, norms folded in, then the same top-k fold.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.h"

namespace kite::flat {

// kBM25: Okapi BM25 over sparse term-frequency rows (full-text search); only
// the sparse paths (query/search.cc, the sparse inverted index) score it.
enum class Metric { kL2, kIP, kCosine, kHamming, kJaccard, kBM25 };
enum class ElemType { kFloat32, kFloat16, kBFloat16, kInt8, kBinary };

// `rows` vectors of `dim` elements each, row-major and contiguous, borrowed.
// Float16 / BFloat16 rows are IEEE half / bfloat16 bit patterns (uint16_t).
// Binary: `dim` is in bits (a multiple of 8) and each row holds dim / 8 bytes,
// bit i of the vector being bit (i % 8) of byte i / 8 (any fixed order works:
// both metrics are order-independent).
struct Matrix {
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t dim = 0;
  ElemType type = ElemType::kFloat32;
};

struct SearchParams {
  Metric metric = Metric::kL2;
  int64_t k = 10;  // >= 0; more than the rows that qualify just returns them all
  // Optional: one byte per base row; nonzero = the row may be returned.
  const uint8_t* filter = nullptr;
  // Range search, see the contract above.
  std::optional<float> radius;
  std::optional<float> range_filter;
};

// Results in CSR form: query q's hits are [offsets[q], offsets[q + 1]) of
// `ids` and `distances`; offsets has nq + 1 entries.
struct Hits {
  std::vector<int64_t> ids;
  std::vector<float> distances;
  std::vector<int64_t> offsets;
};

Status Search(const Matrix& queries, const Matrix& base, const SearchParams& params, Hits* out);

// True for IP and COSINE (larger distance = more similar).
bool HigherIsBetter(Metric m);

}  // namespace kite::flat
