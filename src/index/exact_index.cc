#include "index/exact_index.h"

namespace kite::index {
namespace {

using internal::IndexHeader;
using internal::IndexSpec;

class ExactIndex final : public VectorIndex {
 public:
  ExactIndex(IndexSpec spec, int64_t rows) : spec_(std::move(spec)), rows_(rows) {}

  std::string type() const override { return spec_.type; }
  flat::Metric metric() const override { return spec_.metric; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override { return sizeof(*this); }

  Status Search(const Column& base, const Column& queries, const SearchArgs& args,
                flat::Hits* out) const override {
    KITE_RETURN_IF_ERROR(internal::CheckSearchInputs(spec_, rows_, base, queries, args));
    KITE_ASSIGN_OR_RETURN(flat::Matrix b, internal::DenseMatrix(base));
    KITE_ASSIGN_OR_RETURN(flat::Matrix q, internal::DenseMatrix(queries));
    internal::RowMask mask(args.filter, args.filter_passing, base);
    flat::SearchParams sp;
    sp.metric = spec_.metric;
    sp.k = args.k;
    sp.filter = mask.data();
    return flat::Search(q, b, sp, out);
  }

  Status Serialize(std::string* out) const override {
    out->clear();
    internal::PutHeader(IndexHeader{spec_, rows_}, out);
    return Status::OK();
  }

 private:
  const IndexSpec spec_;
  const int64_t rows_;
};

}  // namespace

Result<std::unique_ptr<VectorIndex>> BuildExactIndex(const IndexSpec& spec, const Column& column) {
  KITE_RETURN_IF_ERROR(internal::DenseMatrix(column).status());
  return std::unique_ptr<VectorIndex>(std::make_unique<ExactIndex>(spec, column.num_rows));
}

Result<std::unique_ptr<VectorIndex>> LoadExactIndex(const IndexHeader& header, std::string_view body) {
  if (!body.empty()) return Corruption("{} index: {} unexpected bytes after the header", header.spec.type, body.size());
  return std::unique_ptr<VectorIndex>(std::make_unique<ExactIndex>(header.spec, header.rows));
}

}  // namespace kite::index
