#include "index/sparse/sparse_inverted_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "index/sparse/bm25.h"

namespace kite::index {
namespace {

using internal::Hit;
using internal::HitLists;
using internal::IndexHeader;
using internal::IndexSpec;

struct Term {
  uint32_t dim;
  float value;
};

// Parses one row of (u32 index, f32 value) pairs.
Status ParseRow(std::string_view bytes, std::vector<Term>* terms) {
  terms->clear();
  if (bytes.size() % 8 != 0) {
    return InvalidArgument("sparse vector of {} bytes is not a list of (u32, f32) pairs", bytes.size());
  }
  for (size_t i = 0; i < bytes.size(); i += 8) {
    Term t;
    std::memcpy(&t.dim, bytes.data() + i, 4);
    std::memcpy(&t.value, bytes.data() + i + 4, 4);
    terms->push_back(t);
  }
  return Status::OK();
}

Status CheckSparseColumn(const Column& c) {
  if (c.type != DataType::kSparseFloatVector || c.is_fixed() ||
      c.offsets.size() != static_cast<size_t>(c.num_rows) + 1 || c.offsets.back() != c.bytes.size()) {
    return InvalidArgument("malformed sparse vector column ({} rows)", c.num_rows);
  }
  return Status::OK();
}

template <typename T>
std::string_view AsBytes(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

template <typename T>
bool FromBytes(std::string_view b, std::vector<T>* v) {
  if (b.size() % sizeof(T) != 0) return false;
  v->resize(b.size() / sizeof(T));
  if (!b.empty()) std::memcpy(v->data(), b.data(), b.size());
  return true;
}

class SparseInvertedIndex final : public VectorIndex {
 public:
  SparseInvertedIndex(IndexSpec spec, int64_t rows) : spec_(std::move(spec)), rows_(rows) {}

  std::string type() const override { return spec_.type; }
  flat::Metric metric() const override { return spec_.metric; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override {
    return sizeof(*this) + dims_.size() * 4 + offsets_.size() * 8 + post_rows_.size() * 4 + post_values_.size() * 4;
  }
  Status Search(const Column& base, const Column& queries, const SearchArgs& args, flat::Hits* out) const override;
  Status Serialize(std::string* out) const override;

  Status Build(const Column& column);
  Status Load(std::string_view body);

 private:
  // Index of `dim` in dims_, or -1.
  int64_t Find(uint32_t dim) const {
    auto it = std::lower_bound(dims_.begin(), dims_.end(), dim);
    return it != dims_.end() && *it == dim ? it - dims_.begin() : -1;
  }

  const IndexSpec spec_;
  const int64_t rows_;
  std::vector<uint32_t> dims_;      // sorted, distinct
  std::vector<uint64_t> offsets_;   // dims_.size() + 1; list i = [offsets_[i], offsets_[i+1])
  std::vector<uint32_t> post_rows_;  // ascending within a list
  std::vector<float> post_values_;
  std::vector<float> row_len_;  // BM25: sum of each row's values (its token count)

  void ComputeRowLengths() {
    if (spec_.metric != flat::Metric::kBM25) return;
    row_len_.assign(static_cast<size_t>(rows_), 0.0f);
    for (size_t j = 0; j < post_rows_.size(); ++j) row_len_[post_rows_[j]] += post_values_[j];
  }
};

Status SparseInvertedIndex::Build(const Column& column) {
  if (column.num_rows > std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("sparse index: {} rows exceed the 2^32 row limit", column.num_rows);
  }
  std::unordered_map<uint32_t, uint64_t> count;
  std::vector<Term> terms;
  for (int64_t r = 0; r < column.num_rows; ++r) {
    if (column.IsNull(r)) continue;
    KITE_RETURN_IF_ERROR(ParseRow(column.GetBytes(r), &terms));
    for (const Term& t : terms) ++count[t.dim];
  }
  dims_.reserve(count.size());
  for (const auto& [dim, n] : count) dims_.push_back(dim);
  std::sort(dims_.begin(), dims_.end());
  offsets_.assign(dims_.size() + 1, 0);
  std::unordered_map<uint32_t, uint64_t> next;  // dim -> next free slot
  next.reserve(dims_.size());
  for (size_t i = 0; i < dims_.size(); ++i) {
    offsets_[i + 1] = offsets_[i] + count[dims_[i]];
    next[dims_[i]] = offsets_[i];
  }
  post_rows_.resize(offsets_.back());
  post_values_.resize(offsets_.back());
  for (int64_t r = 0; r < column.num_rows; ++r) {
    if (column.IsNull(r)) continue;
    KITE_RETURN_IF_ERROR(ParseRow(column.GetBytes(r), &terms));
    for (const Term& t : terms) {
      const uint64_t slot = next[t.dim]++;
      post_rows_[slot] = static_cast<uint32_t>(r);
      post_values_[slot] = t.value;
    }
  }
  ComputeRowLengths();
  return Status::OK();
}

Status SparseInvertedIndex::Search(const Column& base, const Column& queries, const SearchArgs& args,
                                   flat::Hits* out) const {
  KITE_RETURN_IF_ERROR(internal::CheckSearchInputs(spec_, rows_, base, queries, args));
  KITE_RETURN_IF_ERROR(CheckSparseColumn(queries));
  KITE_ASSIGN_OR_RETURN(double drop, internal::GetDouble(args.params, "drop_ratio_search", 0.0, 0.0, 1.0, false));
  const int64_t nq = queries.num_rows;
  const int64_t k = std::min(args.k, rows_);
  HitLists lists(static_cast<size_t>(nq));
  const uint8_t* filter = args.filter;
  std::vector<float> score;
  std::vector<uint8_t> seen;
  std::vector<uint32_t> touched;
  std::vector<Term> terms;
  std::vector<Term> kept;
  const bool bm25 = spec_.metric == flat::Metric::kBM25;
  const Bm25Params bp = Bm25FromParams(args.params);
  for (int64_t qi = 0; qi < nq && k > 0; ++qi) {
    KITE_RETURN_IF_ERROR(ParseRow(queries.GetBytes(qi), &terms));
    kept = terms;
    const auto n_drop = static_cast<size_t>(std::floor(drop * static_cast<double>(terms.size())));
    if (n_drop > 0) {
      // Drop the n_drop smallest |values| (the earliest dims among ties), keep dimension order.
      std::vector<size_t> order(terms.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::fabs(terms[a].value) < std::fabs(terms[b].value);
      });
      std::vector<uint8_t> dropped(terms.size(), 0);
      for (size_t i = 0; i < n_drop; ++i) dropped[order[i]] = 1;
      kept.clear();
      for (size_t i = 0; i < terms.size(); ++i) {
        if (!dropped[i]) kept.push_back(terms[i]);
      }
    }
    if (score.empty()) {
      score.assign(static_cast<size_t>(rows_), 0.0f);
      seen.assign(static_cast<size_t>(rows_), 0);
    }
    touched.clear();
    for (const Term& t : kept) {
      const int64_t d = Find(t.dim);
      if (d < 0) continue;
      for (uint64_t j = offsets_[d]; j < offsets_[d + 1]; ++j) {
        const uint32_t row = post_rows_[j];
        if (filter != nullptr && filter[row] == 0) continue;
        if (!seen[row]) {
          seen[row] = 1;
          touched.push_back(row);
        }
        score[row] += bm25 ? t.value * Bm25Tf(post_values_[j], row_len_[row], bp) : t.value * post_values_[j];
      }
    }
    std::vector<Hit>& hits = lists[qi];
    hits.reserve(touched.size());
    for (uint32_t row : touched) {
      hits.push_back(Hit{row, score[row]});
      score[row] = 0.0f;
      seen[row] = 0;
    }
    internal::SortAndTruncate(flat::Metric::kIP, k, &hits);
  }
  internal::PackHits(lists, out);
  return Status::OK();
}

Status SparseInvertedIndex::Serialize(std::string* out) const {
  out->clear();
  internal::PutHeader(IndexHeader{spec_, rows_}, out);
  PutBytes(out, AsBytes(dims_));
  PutBytes(out, AsBytes(offsets_));
  PutBytes(out, AsBytes(post_rows_));
  PutBytes(out, AsBytes(post_values_));
  return Status::OK();
}

Status SparseInvertedIndex::Load(std::string_view body) {
  std::string_view d, o, r, v;
  if (!GetBytes(&body, &d) || !GetBytes(&body, &o) || !GetBytes(&body, &r) || !GetBytes(&body, &v) ||
      !body.empty() || !FromBytes(d, &dims_) || !FromBytes(o, &offsets_) || !FromBytes(r, &post_rows_) ||
      !FromBytes(v, &post_values_)) {
    return Corruption("sparse index: truncated or trailing bytes");
  }
  bool ok = offsets_.size() == dims_.size() + 1 && offsets_.front() == 0 && offsets_.back() == post_rows_.size() &&
            post_rows_.size() == post_values_.size();
  for (size_t i = 1; ok && i < dims_.size(); ++i) ok = dims_[i - 1] < dims_[i];
  for (size_t i = 1; ok && i < offsets_.size(); ++i) ok = offsets_[i - 1] <= offsets_[i];
  for (size_t i = 0; ok && i < post_rows_.size(); ++i) ok = post_rows_[i] < rows_;
  if (!ok) return Corruption("sparse index: inconsistent posting lists");
  ComputeRowLengths();
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> BuildSparseInvertedIndex(const IndexSpec& spec, const Column& column) {
  KITE_RETURN_IF_ERROR(CheckSparseColumn(column));
  auto index = std::make_unique<SparseInvertedIndex>(spec, column.num_rows);
  KITE_RETURN_IF_ERROR(index->Build(column));
  return std::unique_ptr<VectorIndex>(std::move(index));
}

Result<std::unique_ptr<VectorIndex>> LoadSparseInvertedIndex(const IndexHeader& header, std::string_view body) {
  auto index = std::make_unique<SparseInvertedIndex>(header.spec, header.rows);
  KITE_RETURN_IF_ERROR(index->Load(body));
  return std::unique_ptr<VectorIndex>(std::move(index));
}

}  // namespace kite::index
