// Vector indexes: the searcher / builder split (CONVENTIONS.md "Readers and
// writers are separate interfaces"). A sealed segment's vector column gets an
// index built offline by a data-node worker (IndexBuilder), serialized to the
// object store (docs/formats/index_file.md), and loaded by query nodes
// (LoadVectorIndex) which search it (VectorIndex) under the segment's filter
// bitset. Row ids inside an index are the segment's row numbers.
//
// Thread-safety: a built or loaded VectorIndex is immutable; Search may be
// called concurrently from any number of threads. Builders are single-use.
// Faiss and hnswlib throw: adapters catch inside and return Status.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "index/flat/flat_search.h"

namespace kite {

using IndexParamMap = std::map<std::string, std::string>;

struct IndexSearchParams {
  flat::Metric metric = flat::Metric::kL2;
  int64_t k = 10;
  const uint8_t* filter = nullptr;  // one byte per row, 1 = may be returned; nullptr = all
  int64_t filter_pass_count = -1;   // rows passing the filter if known (planner hint), -1 unknown
  std::optional<float> radius;      // range search (Milvus semantics, see flat_search.h)
  std::optional<float> range_filter;
  IndexParamMap params;             // per-search params from the request: ef, nprobe, ...
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  // The resolved build parameters (index_type, metric_type, M, nlist, ...).
  virtual const IndexParamMap& params() const = 0;
  virtual int64_t rows() const = 0;
  // Per query up to k hits, best first (same conventions as flat::Search).
  virtual Status Search(const flat::Matrix& queries, const IndexSearchParams& params, flat::Hits* out) const = 0;
  virtual size_t MemoryBytes() const = 0;
  // The persisted form (without the outer file framing, which the caller adds).
  virtual Result<std::string> Serialize() const = 0;
};

// Builds an index of `data` (rows = segment rows, in order) with resolved
// parameters (index_type, metric_type and the type's build params).
Result<std::unique_ptr<VectorIndex>> BuildVectorIndex(const flat::Matrix& data, const IndexParamMap& params);
// Restores an index from Serialize()'s output; Corruption on bad bytes.
Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(std::string_view bytes, const IndexParamMap& params);

}  // namespace kite
