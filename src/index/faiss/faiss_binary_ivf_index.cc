#include "index/faiss/faiss_binary_ivf_index.h"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>

#include "index/faiss/faiss_util.h"

namespace kite::index {
namespace {

using internal::Hit;
using internal::HitLists;
using internal::IndexHeader;
using internal::IndexSpec;
using internal::RowMask;

constexpr uint32_t kFlagExact = 1;  // no Faiss index: flat::Search over the base
constexpr int64_t kDefaultNlist = 128;
constexpr int64_t kDefaultNprobe = 8;

class FaissBinaryIvfIndex final : public VectorIndex {
 public:
  FaissBinaryIvfIndex(IndexSpec spec, int64_t rows, uint32_t flags, int64_t nlist,
                      std::unique_ptr<faiss::IndexBinaryIVF> ivf)
      : spec_(std::move(spec)), rows_(rows), flags_(flags), nlist_(nlist), ivf_(std::move(ivf)) {}

  std::string type() const override { return spec_.type; }
  flat::Metric metric() const override { return spec_.metric; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this);
    if (ivf_) {
      bytes += ivf_->nlist * ivf_->code_size;
      for (size_t l = 0; l < ivf_->nlist; ++l) {
        bytes += ivf_->invlists->list_size(l) * (ivf_->code_size + sizeof(faiss::IndexBinary::idx_t));
      }
    }
    return bytes;
  }

  Status Search(const Column& base, const Column& queries, const SearchArgs& args, flat::Hits* out) const override;
  Status Serialize(std::string* out) const override;

 private:
  Status ScanLists(const flat::Matrix& q, int64_t k, int64_t nprobe, const RowMask& mask, HitLists* lists) const;

  const IndexSpec spec_;
  const int64_t rows_;
  const uint32_t flags_;
  const int64_t nlist_;
  const std::unique_ptr<faiss::IndexBinaryIVF> ivf_;  // null when exact
};

Status FaissBinaryIvfIndex::Search(const Column& base, const Column& queries, const SearchArgs& args,
                                   flat::Hits* out) const {
  KITE_RETURN_IF_ERROR(internal::CheckSearchInputs(spec_, rows_, base, queries, args));
  KITE_ASSIGN_OR_RETURN(int64_t nprobe, internal::GetInt(args.params, "nprobe", kDefaultNprobe, 1, 65536));
  KITE_ASSIGN_OR_RETURN(flat::Matrix b, internal::DenseMatrix(base));
  KITE_ASSIGN_OR_RETURN(flat::Matrix q, internal::DenseMatrix(queries));
  const int64_t k = std::min(args.k, rows_);
  HitLists lists(static_cast<size_t>(q.rows));
  RowMask mask(args.filter, args.filter_passing, base);
  if (k == 0 || q.rows == 0 || mask.passing() == 0) {
    internal::PackHits(lists, out);
    return Status::OK();
  }
  if (ivf_ == nullptr || internal::PreferExact(mask)) {
    KITE_RETURN_IF_ERROR(internal::ExactSearch(q, b, spec_.metric, k, mask.data(), &lists));
  } else {
    KITE_RETURN_IF_ERROR(ScanLists(q, k, std::min(nprobe, nlist_), mask, &lists));
    KITE_RETURN_IF_ERROR(internal::FillShortLists(q, b, spec_.metric, k, mask, &lists));
  }
  internal::PackHits(lists, out);
  return Status::OK();
}

Status FaissBinaryIvfIndex::ScanLists(const flat::Matrix& q, int64_t k, int64_t nprobe, const RowMask& mask,
                                      HitLists* lists) const {
  const int64_t nq = q.rows, bytes = q.dim / 8;
  const auto* qb = static_cast<const uint8_t*>(q.data);
  std::vector<int32_t> cdist(static_cast<size_t>(nq * nprobe));
  std::vector<faiss::IndexBinary::idx_t> probes(static_cast<size_t>(nq * nprobe));
  {
    internal::OmpThreads one(1);
    KITE_RETURN_IF_ERROR(internal::RunFaiss("faiss coarse assignment", [&] {
      ivf_->quantizer->search(nq, qb, nprobe, cdist.data(), probes.data());
    }));
  }
  flat::SearchParams sp;
  sp.metric = spec_.metric;
  sp.k = k;
  flat::Hits hits;
  std::vector<uint8_t> list_mask;
  for (int64_t qi = 0; qi < nq; ++qi) {
    const flat::Matrix query{qb + qi * bytes, 1, q.dim, flat::ElemType::kBinary};
    std::vector<Hit>& out = (*lists)[qi];
    for (int64_t p = 0; p < nprobe; ++p) {
      const int64_t list = probes[qi * nprobe + p];
      if (list < 0) continue;
      const size_t size = ivf_->invlists->list_size(static_cast<size_t>(list));
      if (size == 0) continue;
      faiss::InvertedLists::ScopedCodes codes(ivf_->invlists, static_cast<size_t>(list));
      faiss::InvertedLists::ScopedIds ids(ivf_->invlists, static_cast<size_t>(list));
      sp.filter = nullptr;
      if (mask.data() != nullptr) {
        list_mask.resize(size);
        for (size_t j = 0; j < size; ++j) list_mask[j] = mask.data()[ids[j]];
        sp.filter = list_mask.data();
      }
      const flat::Matrix rows{codes.get(), static_cast<int64_t>(size), q.dim, flat::ElemType::kBinary};
      KITE_RETURN_IF_ERROR(flat::Search(query, rows, sp, &hits));
      for (size_t h = 0; h < hits.ids.size(); ++h) out.push_back(Hit{ids[hits.ids[h]], hits.distances[h]});
    }
    internal::SortAndTruncate(spec_.metric, k, &out);
  }
  return Status::OK();
}

Status FaissBinaryIvfIndex::Serialize(std::string* out) const {
  out->clear();
  internal::PutHeader(IndexHeader{spec_, rows_}, out);
  PutU32(out, flags_);
  PutU64(out, static_cast<uint64_t>(nlist_));
  std::string bytes;
  if (ivf_) {
    internal::StringWriter w(&bytes);
    KITE_RETURN_IF_ERROR(
        internal::RunFaiss("faiss write_index_binary", [&] { faiss::write_index_binary(ivf_.get(), &w); }));
  }
  PutBytes(out, bytes);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> BuildFaissBinaryIvfIndex(const IndexSpec& spec, const Params& params,
                                                              const Column& column, int threads) {
  KITE_ASSIGN_OR_RETURN(int64_t nlist_param, internal::GetInt(params, "nlist", kDefaultNlist, 1, 65536));
  KITE_ASSIGN_OR_RETURN(flat::Matrix m, internal::DenseMatrix(column));
  const int64_t bytes = m.dim / 8;
  std::vector<int64_t> ids;
  std::vector<uint8_t> codes;
  for (int64_t r = 0; r < m.rows; ++r) {
    if (column.IsNull(r)) continue;
    ids.push_back(r);
    const auto* row = column.RowPtr(r);
    codes.insert(codes.end(), row, row + bytes);
  }
  const auto n = static_cast<int64_t>(ids.size());
  if (n == 0) {
    return std::unique_ptr<VectorIndex>(std::make_unique<FaissBinaryIvfIndex>(spec, m.rows, kFlagExact, 0, nullptr));
  }
  const int64_t nlist = internal::EffectiveNlist(nlist_param, n);
  std::unique_ptr<faiss::IndexBinaryIVF> ivf;
  internal::OmpThreads omp(threads);
  KITE_RETURN_IF_ERROR(internal::RunFaiss("faiss build", [&] {
    auto quantizer = std::make_unique<faiss::IndexBinaryFlat>(static_cast<int>(m.dim));
    ivf = std::make_unique<faiss::IndexBinaryIVF>(quantizer.get(), static_cast<int>(m.dim),
                                                  static_cast<size_t>(nlist));
    ivf->own_fields = true;
    (void)quantizer.release();  // owned by ivf
    ivf->cp.min_points_per_centroid = 1;  // nlist already clamped
    ivf->train(n, codes.data());
    ivf->add_with_ids(n, codes.data(), ids.data());
  }));
  return std::unique_ptr<VectorIndex>(std::make_unique<FaissBinaryIvfIndex>(spec, m.rows, 0, nlist, std::move(ivf)));
}

Result<std::unique_ptr<VectorIndex>> LoadFaissBinaryIvfIndex(const IndexHeader& header, std::string_view body) {
  uint32_t flags = 0;
  uint64_t nlist = 0;
  std::string_view bytes;
  if (!GetU32(&body, &flags) || !GetU64(&body, &nlist) || !GetBytes(&body, &bytes) || !body.empty()) {
    return Corruption("BIN_IVF_FLAT index: truncated or trailing bytes");
  }
  if ((flags & kFlagExact) != 0) {
    if (!bytes.empty()) return Corruption("BIN_IVF_FLAT index: exact index with Faiss bytes");
    return std::unique_ptr<VectorIndex>(
        std::make_unique<FaissBinaryIvfIndex>(header.spec, header.rows, flags, 0, nullptr));
  }
  std::unique_ptr<faiss::IndexBinary> loaded;
  internal::ViewReader reader(bytes);
  KITE_RETURN_IF_ERROR(
      internal::RunFaiss("faiss read_index_binary", [&] { loaded.reset(faiss::read_index_binary(&reader)); }));
  auto* ivf = dynamic_cast<faiss::IndexBinaryIVF*>(loaded.get());
  if (ivf == nullptr || reader.remaining() != 0 || ivf->d != header.spec.dim ||
      static_cast<uint64_t>(ivf->nlist) != nlist || ivf->ntotal > header.rows ||
      !internal::IdsInRange(*ivf->invlists, header.rows)) {
    return Corruption("BIN_IVF_FLAT index: Faiss bytes do not match the header");
  }
  (void)loaded.release();
  return std::unique_ptr<VectorIndex>(std::make_unique<FaissBinaryIvfIndex>(
      header.spec, header.rows, flags, static_cast<int64_t>(nlist), std::unique_ptr<faiss::IndexBinaryIVF>(ivf)));
}

}  // namespace kite::index
