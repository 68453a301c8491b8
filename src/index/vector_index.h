// VectorIndex: an approximate (or exact) vector index over the rows of one
// sealed segment's vector column, built by the data node, persisted in the
// object store (index_file.h) and searched by the query node.
//
// Contract
//   * Row ids are row numbers in the segment column the index was built from
//     (0 .. rows()-1). Null rows (Column::valid) are never returned.
//   * Distances are the values Milvus reports, exactly as flat::Search
//     computes them (index/flat/flat_search.h): L2 squared, IP, COSINE
//     similarity (both sides normalised), HAMMING, JACCARD; sparse IP.
//     Quantised indexes (IVF_SQ8, IVF_PQ, SCANN) may return approximate
//     distances unless they refine.
//   * Search returns, per query, up to k hits best first, each a row that the
//     filter lets through (filter == nullptr: every row). An index that cannot
//     reach k filtered rows returns fewer; it never returns a filtered-out row.
//     Under a selective filter the index itself decides to score the passing
//     rows exactly (filter_passing tells it how many there are).
//   * Search params are Milvus's names (ef, nprobe, reorder_k / refine_k,
//     drop_ratio_search, ...) as strings; unknown keys are ignored, bad values
//     are InvalidArgument naming the key and value.
//
// Thread-safety: an index is immutable once built or loaded; Search may run
// concurrently from any number of threads and uses only the calling thread.
// Build may use `threads` threads.
//
// Raw vectors: an index does not have to keep its own copy of the vectors.
// Search receives `base`, the very column the index was built from (the
// sealed segment keeps it in memory, immutable); graph indexes (HNSW) read
// neighbours' vectors from it instead of storing them twice. Indexes with
// their own codes (IVF_*, PQ) may ignore it.
//
// Ownership: Columns passed to Build / Search are borrowed for the call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "index/flat/flat_search.h"
#include "schema/column_batch.h"

namespace kite::index {

using Params = std::map<std::string, std::string>;

struct SearchArgs {
  int64_t k = 10;
  const uint8_t* filter = nullptr;  // one byte per row, nonzero = may be returned
  int64_t filter_passing = -1;      // rows passing the filter, -1 = unknown
  Params params;                    // search params from the request
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  // "HNSW", "IVF_FLAT", ... (the resolved index_type).
  virtual std::string type() const = 0;
  virtual flat::Metric metric() const = 0;
  virtual int64_t rows() const = 0;
  virtual size_t MemoryBytes() const = 0;
  // `base`: the column the index was built from. `queries`: nq rows laid out
  // like it (same type and dim). Hits are in flat::Hits CSR form.
  virtual Status Search(const Column& base, const Column& queries, const SearchArgs& args,
                        flat::Hits* out) const = 0;
  // The index's own bytes (framing and checksum are added by index_file.h).
  virtual Status Serialize(std::string* out) const = 0;
};

// Builds the index `params` describe (resolved params: index_type,
// metric_type and the type's build params) over `column`.
Result<std::unique_ptr<VectorIndex>> BuildVectorIndex(const Params& params, const Column& column, int threads);
// Loads an index from Serialize's bytes; `params` are the ones it was built with.
Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(const Params& params, std::string_view bytes);
// The same from a stream holding exactly those bytes: HNSW is built as they are
// read (LoadHnswFrom); the other types read them into memory first.
Result<std::unique_ptr<VectorIndex>> LoadVectorIndexFrom(const Params& params, ByteSource* in);

}  // namespace kite::index
