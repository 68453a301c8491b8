// TEMPORARY (not for commit): exact stand-in until the Faiss adapters land.
#include "index/vector_index.h"

namespace kite::index {
namespace {
flat::ElemType ElemOf(DataType t) {
  switch (t) {
    case DataType::kFloat16Vector: return flat::ElemType::kFloat16;
    case DataType::kBFloat16Vector: return flat::ElemType::kBFloat16;
    case DataType::kInt8Vector: return flat::ElemType::kInt8;
    case DataType::kBinaryVector: return flat::ElemType::kBinary;
    default: return flat::ElemType::kFloat32;
  }
}
flat::Metric M(const std::string& n) {
  if (n == "IP") return flat::Metric::kIP;
  if (n == "COSINE") return flat::Metric::kCosine;
  if (n == "HAMMING") return flat::Metric::kHamming;
  if (n == "JACCARD") return flat::Metric::kJaccard;
  return flat::Metric::kL2;
}
class Exact : public VectorIndex {
 public:
  Exact(Params p, int64_t rows) : p_(std::move(p)), rows_(rows) {}
  std::string type() const override { return p_.at("index_type"); }
  flat::Metric metric() const override { return M(p_.at("metric_type")); }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override { return 0; }
  Status Search(const Column& base, const Column& q, const SearchArgs& a, flat::Hits* out) const override {
    flat::Matrix qm{q.fixed.data(), q.num_rows, q.dim, ElemOf(q.type)};
    flat::Matrix bm{base.fixed.data(), base.num_rows, base.dim, ElemOf(base.type)};
    flat::SearchParams sp;
    sp.metric = metric();
    sp.k = a.k;
    sp.filter = a.filter;
    return flat::Search(qm, bm, sp, out);
  }
  Status Serialize(std::string* out) const override {
    *out = std::to_string(rows_);
    return Status::OK();
  }
 private:
  Params p_;
  int64_t rows_;
};
}  // namespace
Result<std::unique_ptr<VectorIndex>> BuildVectorIndex(const Params& params, const Column& column, int) {
  return std::unique_ptr<VectorIndex>(new Exact(params, column.num_rows));
}
Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(const Params& params, std::string_view bytes) {
  return std::unique_ptr<VectorIndex>(new Exact(params, std::stoll(std::string(bytes))));
}
}  // namespace kite::index
