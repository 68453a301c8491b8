#include "index/faiss/faiss_hnsw_index.h"

#include <faiss/IndexHNSW.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "index/faiss/faiss_util.h"

namespace kite::index {
namespace {

using internal::Hit;
using internal::HitLists;
using internal::IndexHeader;
using internal::IndexSpec;
using internal::RowMask;

constexpr int64_t kDefaultM = 30;
constexpr int64_t kDefaultEfConstruction = 360;

class FaissHnswIndex final : public VectorIndex {
 public:
  // `node_rows`: row of each graph node, empty when node i is row i.
  FaissHnswIndex(IndexSpec spec, int64_t rows, std::vector<int64_t> node_rows,
                 std::unique_ptr<faiss::IndexHNSWFlat> hnsw)
      : spec_(std::move(spec)), rows_(rows), node_rows_(std::move(node_rows)), hnsw_(std::move(hnsw)) {}

  std::string type() const override { return spec_.type; }
  flat::Metric metric() const override { return spec_.metric; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) + node_rows_.size() * sizeof(int64_t);
    if (hnsw_) {
      bytes += static_cast<size_t>(hnsw_->ntotal) * hnsw_->d * sizeof(float);
      bytes += hnsw_->hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t);
      bytes += hnsw_->hnsw.levels.size() * sizeof(int) + hnsw_->hnsw.offsets.size() * sizeof(size_t);
    }
    return bytes;
  }

  Status Search(const Column& base, const Column& queries, const SearchArgs& args, flat::Hits* out) const override;
  Status Serialize(std::string* out) const override;

 private:
  int64_t RowOf(int64_t node) const { return node_rows_.empty() ? node : node_rows_[node]; }

  const IndexSpec spec_;
  const int64_t rows_;
  const std::vector<int64_t> node_rows_;
  const std::unique_ptr<faiss::IndexHNSWFlat> hnsw_;  // null when no row is valid
};

Status FaissHnswIndex::Search(const Column& base, const Column& queries, const SearchArgs& args,
                              flat::Hits* out) const {
  KITE_RETURN_IF_ERROR(internal::CheckSearchInputs(spec_, rows_, base, queries, args));
  KITE_ASSIGN_OR_RETURN(int64_t ef, internal::GetInt(args.params, "ef", std::max<int64_t>(args.k, 1), 1,
                                                     std::numeric_limits<int32_t>::max()));
  KITE_ASSIGN_OR_RETURN(flat::Matrix b, internal::DenseMatrix(base));
  KITE_ASSIGN_OR_RETURN(flat::Matrix q, internal::DenseMatrix(queries));
  const int64_t k = std::min(args.k, rows_);
  const int64_t nq = q.rows;
  HitLists lists(static_cast<size_t>(nq));
  RowMask mask(args.filter, args.filter_passing, base);
  if (k == 0 || nq == 0 || mask.passing() == 0) {
    internal::PackHits(lists, out);
    return Status::OK();
  }
  if (hnsw_ == nullptr || internal::PreferExact(mask)) {
    KITE_RETURN_IF_ERROR(internal::ExactSearch(q, b, spec_.metric, k, mask.data(), &lists));
    internal::PackHits(lists, out);
    return Status::OK();
  }
  const std::vector<float> qf = internal::ToFloat32(q, nullptr, spec_.metric == flat::Metric::kCosine);
  faiss::SearchParametersHNSW sp;
  sp.efSearch = static_cast<int>(std::min<int64_t>(std::max(ef, k), std::max<int64_t>(hnsw_->ntotal, k)));
  internal::MaskSelector sel(mask.data(), &node_rows_);
  if (mask.data() != nullptr) sp.sel = &sel;
  std::vector<float> dist(static_cast<size_t>(nq * k));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(nq * k));
  {
    internal::OmpThreads one(1);
    KITE_RETURN_IF_ERROR(internal::RunFaiss(
        "faiss search", [&] { hnsw_->search(nq, qf.data(), k, dist.data(), labels.data(), &sp); }));
  }
  for (int64_t qi = 0; qi < nq; ++qi) {
    for (int64_t j = 0; j < k; ++j) {
      const int64_t node = labels[qi * k + j];
      if (node >= 0) lists[qi].push_back(Hit{RowOf(node), dist[qi * k + j]});
    }
  }
  KITE_RETURN_IF_ERROR(internal::FillShortLists(q, b, spec_.metric, k, mask, &lists));
  internal::PackHits(lists, out);
  return Status::OK();
}

Status FaissHnswIndex::Serialize(std::string* out) const {
  out->clear();
  internal::PutHeader(IndexHeader{spec_, rows_}, out);
  PutBytes(out, std::string_view(reinterpret_cast<const char*>(node_rows_.data()),
                                 node_rows_.size() * sizeof(int64_t)));
  std::string bytes;
  if (hnsw_) {
    internal::StringWriter w(&bytes);
    KITE_RETURN_IF_ERROR(internal::RunFaiss("faiss write_index", [&] { faiss::write_index(hnsw_.get(), &w); }));
  }
  PutBytes(out, bytes);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> BuildFaissHnswIndex(const IndexSpec& spec, const Params& params,
                                                         const Column& column, int threads) {
  KITE_ASSIGN_OR_RETURN(int64_t m, internal::GetInt(params, "M", kDefaultM, 2, 2048));
  KITE_ASSIGN_OR_RETURN(int64_t ef_construction, internal::GetInt(params, "efConstruction", kDefaultEfConstruction,
                                                                  1, std::numeric_limits<int32_t>::max()));
  KITE_ASSIGN_OR_RETURN(flat::Matrix mat, internal::DenseMatrix(column));
  std::vector<int64_t> ids;
  for (int64_t r = 0; r < mat.rows; ++r) {
    if (!column.IsNull(r)) ids.push_back(r);
  }
  const auto n = static_cast<int64_t>(ids.size());
  const bool nulls = n < mat.rows;
  if (n == 0) {
    return std::unique_ptr<VectorIndex>(
        std::make_unique<FaissHnswIndex>(spec, mat.rows, std::vector<int64_t>{}, nullptr));
  }
  const std::vector<float> data =
      internal::ToFloat32(mat, nulls ? &ids : nullptr, spec.metric == flat::Metric::kCosine);
  std::unique_ptr<faiss::IndexHNSWFlat> hnsw;
  internal::OmpThreads omp(threads);
  KITE_RETURN_IF_ERROR(internal::RunFaiss("faiss build", [&] {
    hnsw = std::make_unique<faiss::IndexHNSWFlat>(
        static_cast<int>(spec.dim), static_cast<int>(m),
        spec.metric == flat::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT);
    hnsw->hnsw.efConstruction = static_cast<int>(ef_construction);
    hnsw->add(n, data.data());
  }));
  return std::unique_ptr<VectorIndex>(
      std::make_unique<FaissHnswIndex>(spec, mat.rows, nulls ? std::move(ids) : std::vector<int64_t>{},
                                       std::move(hnsw)));
}

Result<std::unique_ptr<VectorIndex>> LoadFaissHnswIndex(const IndexHeader& header, std::string_view body) {
  std::string_view map_bytes, bytes;
  if (!GetBytes(&body, &map_bytes) || !GetBytes(&body, &bytes) || !body.empty() ||
      map_bytes.size() % sizeof(int64_t) != 0) {
    return Corruption("HNSW index: truncated or trailing bytes");
  }
  std::vector<int64_t> node_rows(map_bytes.size() / sizeof(int64_t));
  std::memcpy(node_rows.data(), map_bytes.data(), map_bytes.size());
  for (int64_t r : node_rows) {
    if (r < 0 || r >= header.rows) return Corruption("HNSW index: node row {} out of range", r);
  }
  if (bytes.empty()) {
    return std::unique_ptr<VectorIndex>(
        std::make_unique<FaissHnswIndex>(header.spec, header.rows, std::move(node_rows), nullptr));
  }
  std::unique_ptr<faiss::Index> loaded;
  internal::ViewReader reader(bytes);
  KITE_RETURN_IF_ERROR(internal::RunFaiss("faiss read_index", [&] { loaded.reset(faiss::read_index(&reader)); }));
  auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(loaded.get());
  const faiss::MetricType metric =
      header.spec.metric == flat::Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
  const int64_t nodes = node_rows.empty() ? header.rows : static_cast<int64_t>(node_rows.size());
  if (hnsw == nullptr || reader.remaining() != 0 || hnsw->d != header.spec.dim || hnsw->metric_type != metric ||
      hnsw->ntotal != nodes) {
    return Corruption("HNSW index: Faiss bytes do not match the header");
  }
  (void)loaded.release();
  return std::unique_ptr<VectorIndex>(std::make_unique<FaissHnswIndex>(
      header.spec, header.rows, std::move(node_rows), std::unique_ptr<faiss::IndexHNSWFlat>(hnsw)));
}

}  // namespace kite::index
