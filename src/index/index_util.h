// Helpers shared by the VectorIndex implementations (exact, Faiss, sparse).
// Internal to kite_index: nothing outside src/index includes this header.
//
// What lives here
//   * IndexSpec and the persisted header every index's bytes start with
//     (docs/formats/vector_index.md);
//   * typed access to build / search params with Milvus-style errors
//     ("param 'nlist' (0) should be in range [1, 65536]");
//   * views of a dense Column as a flat::Matrix, float32 conversion
//     (Float16 / BFloat16 / Int8) and L2 normalisation for COSINE;
//   * RowMask: the search filter AND the column's validity, so null rows are
//     never returned;
//   * exact fallbacks on top of flat::Search: a whole batch, a few queries,
//     or a candidate list per query (re-ranking).
//
// All functions are pure or act only on their arguments; thread-safe.
// Nothing here keeps a pointer past the call, except RowMask and the
// Matrix views, which borrow the Column / filter they were made from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "index/flat/flat_search.h"
#include "index/vector_index.h"
#include "schema/column_batch.h"

namespace kite::index::internal {

// What an index is, fixed at build and persisted in its header.
struct IndexSpec {
  std::string type;  // resolved index_type, e.g. "IVF_FLAT"
  flat::Metric metric = flat::Metric::kL2;
  DataType data_type = DataType::kFloatVector;
  int64_t dim = 0;  // elements (bits for BinaryVector); 0 for sparse
};

// The first bytes of every Serialize() output.
struct IndexHeader {
  IndexSpec spec;
  int64_t rows = 0;
};
void PutHeader(const IndexHeader& h, std::string* out);
// Consumes the header from the front of `*in`; Corruption on bad bytes.
Status GetHeader(std::string_view* in, IndexHeader* h);

const char* MetricName(flat::Metric m);
Result<flat::Metric> ParseMetric(const std::string& name);
bool IsFloatFamily(DataType t);  // Float / Float16 / BFloat16 / Int8 vectors
flat::ElemType ElemTypeOf(DataType t);

// Params. A missing key gives `def`; a present one must parse completely and
// lie in range, else InvalidArgument naming the key and the value.
Result<int64_t> GetInt(const Params& p, const std::string& key, int64_t def, int64_t lo, int64_t hi);
// Range [lo, hi), or [lo, hi] when hi_inclusive.
Result<double> GetDouble(const Params& p, const std::string& key, double def, double lo, double hi,
                         bool hi_inclusive);
Result<bool> GetBool(const Params& p, const std::string& key, bool def);

// A dense vector column as a matrix (borrowed). InvalidArgument when the
// column is not fixed-width or its bytes do not match rows x row_bytes.
Result<flat::Matrix> DenseMatrix(const Column& c);

// Checks Search's inputs against the index: base and queries have the
// index's type and dim, base has `rows` rows, k >= 0.
Status CheckSearchInputs(const IndexSpec& spec, int64_t rows, const Column& base, const Column& queries,
                         const SearchArgs& args);

// Converts rows `ids` of `m` (all rows when ids is null) to float32, each
// L2-normalised when `normalize` (a zero row stays zero).
std::vector<float> ToFloat32(const flat::Matrix& m, const std::vector<int64_t>* ids, bool normalize);

// Rows that may be returned: the filter AND the base column's validity.
// data() is null when every row may be returned. Borrows `filter`.
class RowMask {
 public:
  RowMask(const uint8_t* filter, int64_t filter_passing, const Column& base);
  RowMask(const RowMask&) = delete;
  RowMask& operator=(const RowMask&) = delete;

  const uint8_t* data() const { return data_; }
  int64_t passing() const { return passing_; }
  int64_t rows() const { return rows_; }
  bool Allows(int64_t row) const { return data_ == nullptr || data_[row] != 0; }

 private:
  std::vector<uint8_t> owned_;
  const uint8_t* data_ = nullptr;
  int64_t passing_ = 0;
  int64_t rows_ = 0;
};

// Approximate indexes answer a query exactly (flat::Search over the base with
// the mask) when fewer than this fraction of the rows may be returned: the
// graph / list walk would see too few passing rows to fill k, and the exact
// scan touches only the passing rows anyway.
inline constexpr double kExactBelowPassingFraction = 0.05;
bool PreferExact(const RowMask& mask);

// One result list per query, best first.
struct Hit {
  int64_t row;
  float distance;
};
using HitLists = std::vector<std::vector<Hit>>;
void PackHits(const HitLists& lists, flat::Hits* out);

// flat::Search over the whole base for every query.
Status ExactSearch(const flat::Matrix& queries, const flat::Matrix& base, flat::Metric metric, int64_t k,
                   const uint8_t* mask, HitLists* out);
// Replaces the lists of queries that came back with fewer than
// min(k, mask.passing()) hits by exact results: an approximate index never
// returns fewer rows than exist.
Status FillShortLists(const flat::Matrix& queries, const flat::Matrix& base, flat::Metric metric, int64_t k,
                      const RowMask& mask, HitLists* lists);
// Exact distances from query `qi` to the candidate rows `cands` (any order,
// duplicates allowed, all assumed allowed by the caller), the k best first
// with ties by row.
Status Rerank(const flat::Matrix& queries, int64_t qi, const flat::Matrix& base, flat::Metric metric,
              std::vector<int64_t> cands, int64_t k, std::vector<Hit>* out);

// Sorts `hits` best first (ties by row) and keeps k.
void SortAndTruncate(flat::Metric metric, int64_t k, std::vector<Hit>* hits);

}  // namespace kite::index::internal
