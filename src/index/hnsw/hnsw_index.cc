#include "index/hnsw/hnsw_index.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "index/hnsw/hnsw_build.h"
#include "index/hnsw/hnsw_graph.h"

namespace kite::index {
namespace {

using hnsw::Cand;
using hnsw::Graph;
using hnsw::Query;
using hnsw::SearchContext;
using hnsw::Space;

static_assert(std::endian::native == std::endian::little, "the serialized form is written as in memory");

constexpr int64_t kDefaultM = 30;
constexpr int64_t kDefaultEfConstruction = 360;
constexpr int64_t kMinDefaultEf = 16;
constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxRows = std::numeric_limits<int32_t>::max() - 1;  // ids go through int32 kernels
constexpr int64_t kMaxDim = 1 << 20;

// ---- params ----------------------------------------------------------------

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The integer `key` of `p` in [lo, hi], or `def` when absent.
Result<int64_t> IntParam(const Params& p, const std::string& key, int64_t lo, int64_t hi, int64_t def) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  const std::string& s = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return InvalidArgument("param '{}' ({}) should be an integer in range [{}, {}]", key, s, lo, hi);
  }
  return v;
}

Result<flat::Metric> MetricParam(const Params& p) {
  auto it = p.find("metric_type");
  if (it == p.end()) return InvalidArgument("HNSW: param 'metric_type' is required");
  const std::string m = Upper(it->second);
  if (m == "L2") return flat::Metric::kL2;
  if (m == "IP") return flat::Metric::kIP;
  if (m == "COSINE") return flat::Metric::kCosine;
  return InvalidArgument("HNSW: param 'metric_type' ({}) should be L2, IP or COSINE", it->second);
}

struct BuildParams {
  flat::Metric metric;
  int m;
  int ef_construction;
};

Result<BuildParams> ParseBuildParams(const Params& p) {
  BuildParams b;
  KITE_ASSIGN_OR_RETURN(b.metric, MetricParam(p));
  KITE_ASSIGN_OR_RETURN(int64_t m, IntParam(p, "M", 2, 2048, kDefaultM));
  KITE_ASSIGN_OR_RETURN(int64_t efc, IntParam(p, "efConstruction", 1, kMaxInt, kDefaultEfConstruction));
  b.m = static_cast<int>(m);
  b.ef_construction = static_cast<int>(efc);
  return b;
}

Result<flat::ElemType> ElemOf(const Column& c) {
  switch (c.type) {
    case DataType::kFloatVector: return flat::ElemType::kFloat32;
    case DataType::kFloat16Vector: return flat::ElemType::kFloat16;
    case DataType::kBFloat16Vector: return flat::ElemType::kBFloat16;
    case DataType::kInt8Vector: return flat::ElemType::kInt8;
    default: break;
  }
  return InvalidArgument("HNSW: field type {} is not supported (float, float16, bfloat16 or int8 vectors only)",
                         DataTypeName(c.type));
}

Status CheckShape(const Column& c, const char* what) {
  if (c.dim <= 0 || c.dim > kMaxDim) return InvalidArgument("HNSW: {} dim {} out of range", what, c.dim);
  if (c.num_rows < 0 || c.num_rows > kMaxRows) return InvalidArgument("HNSW: {} has {} rows", what, c.num_rows);
  if (c.row_bytes != FixedRowBytes(c.type, c.dim) ||
      c.fixed.size() != static_cast<size_t>(c.num_rows) * c.row_bytes) {
    return InvalidArgument("HNSW: {} column holds {} bytes for {} rows of dim {}", what, c.fixed.size(), c.num_rows,
                           c.dim);
  }
  if (!c.valid.empty() && c.valid.size() != static_cast<size_t>(c.num_rows)) {
    return InvalidArgument("HNSW: {} validity has {} entries for {} rows", what, c.valid.size(), c.num_rows);
  }
  return Status::OK();
}

// ---- serialized form (docs/formats/hnsw_index.md) ----------------------------

constexpr uint32_t kMagic = 0x57534e48;  // "HNSW"
constexpr uint32_t kVersion = 1;

struct Header {
  uint32_t magic, version, metric, elem;
  uint64_t dim, rows;
  uint32_t m, ef_construction;
  int32_t entry, max_level;
};
static_assert(sizeof(Header) == 48);

// The checksum of the serialized form, fed piece by piece: seeded with the
// length, then each 8-byte little-endian word mixed in order, the last
// partial word zero-padded (and mixed even when empty).
class Checksummer {
 public:
  explicit Checksummer(uint64_t n) : h_(0x9e3779b97f4a7c15ull ^ n) {}
  void Update(const char* p, size_t n) {
    if (have_ > 0) {
      const size_t t = std::min(n, 8 - have_);
      std::memcpy(part_ + have_, p, t);
      have_ += t;
      p += t;
      n -= t;
      if (have_ < 8) return;
      MixWord(part_);
      have_ = 0;
    }
    for (; n >= 8; p += 8, n -= 8) MixWord(p);
    std::memcpy(part_, p, n);
    have_ = n;
  }
  uint64_t Final() {
    std::memset(part_ + have_, 0, 8 - have_);
    MixWord(part_);
    return h_;
  }

 private:
  void MixWord(const char* p) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h_ = (h_ ^ w) * 0xff51afd7ed558ccdull;
    h_ ^= h_ >> 29;
  }
  uint64_t h_;
  char part_[8] = {};
  size_t have_ = 0;
};

uint64_t Checksum(const char* p, size_t n) {
  Checksummer c(n);
  c.Update(p, n);
  return c.Final();
}

// Reads the serialized form from a ByteSource through a small buffer (a graph
// is never held twice while it loads), feeding the checksum with every byte
// before the trailing checksum word. Short reads answer false; errors of the
// source itself are kept in status().
class Reader {
 public:
  // `body` bytes are read, then the 8-byte checksum that follows them.
  Reader(ByteSource* in, uint64_t body, size_t buffer)
      : in_(in), left_(body), sum_(body), buf_(static_cast<size_t>(std::min<uint64_t>(body, buffer))) {}

  // n contiguous bytes (n <= the buffer), valid until the next call.
  bool Take(size_t n, const char** p) {
    if (end_ - pos_ < n && !Fill(n)) return false;
    *p = buf_.data() + pos_;
    pos_ += n;
    return true;
  }
  template <class T>
  bool Get(T* v) {
    const char* p;
    if (!Take(sizeof(T), &p)) return false;
    std::memcpy(v, p, sizeof(T));
    return true;
  }
  // n bytes straight into dst, however many.
  bool ReadInto(char* dst, size_t n) {
    if (n == 0) return true;  // dst may be null then (an empty vector's data()): no memcpy (UBSan)
    const size_t from_buf = std::min(n, end_ - pos_);
    std::memcpy(dst, buf_.data() + pos_, from_buf);
    pos_ += from_buf;
    n -= from_buf;
    if (n == 0) return true;
    return n <= left_ && Pull(dst + from_buf, n);
  }
  bool done() const { return left_ == 0 && pos_ == end_; }
  // Body bytes not read yet.
  uint64_t unread() const { return left_ + (end_ - pos_); }
  // After done(): the stored checksum against the one computed.
  bool ChecksumMatches() {
    uint64_t stored = 0;
    if (!status_.ok() || in_->remaining() < sizeof(stored)) return false;
    status_ = in_->Read(&stored, sizeof(stored));
    return status_.ok() && stored == sum_.Final();
  }
  const Status& status() const { return status_; }

 private:
  bool Pull(char* dst, size_t n) {
    if (!status_.ok()) return false;
    status_ = in_->Read(dst, n);
    if (!status_.ok()) return false;
    sum_.Update(dst, n);
    left_ -= n;
    return true;
  }
  // Makes at least n bytes available from pos_.
  bool Fill(size_t n) {
    if (n > buf_.size()) return false;
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left_, buf_.size() - end_));
    if (want > 0 && !Pull(buf_.data() + end_, want)) return false;
    end_ += want;
    return end_ >= n;
  }

  ByteSource* in_;
  uint64_t left_;  // body bytes not yet pulled from in_
  Checksummer sum_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0;
  Status status_;
};

// ---- the index -------------------------------------------------------------

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(flat::Metric metric, flat::ElemType elem, int64_t dim, int ef_construction, Graph graph)
      : metric_(metric), elem_(elem), dim_(dim), ef_construction_(ef_construction), g_(std::move(graph)) {}
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  std::string type() const override { return "HNSW"; }
  flat::Metric metric() const override { return metric_; }
  int64_t rows() const override { return g_.rows; }
  size_t MemoryBytes() const override { return sizeof(*this) + g_.MemoryBytes(); }
  Status Search(const Column& base, const Column& queries, const SearchArgs& args, flat::Hits* out) const override;
  Status Serialize(std::string* out) const override;

 private:
  // Scratch for one Search call, from a pool so repeated calls allocate nothing.
  class Lease {
   public:
    explicit Lease(const HnswIndex& ix) : ix_(ix) {
      std::lock_guard<std::mutex> lk(ix_.pool_mu_);
      if (!ix_.pool_.empty()) {
        ctx_ = std::move(ix_.pool_.back());
        ix_.pool_.pop_back();
      }
      if (!ctx_) ctx_ = std::make_unique<SearchContext>(ix_.g_.rows, ix_.dim_, ix_.g_.max_degree0);
    }
    ~Lease() {
      std::lock_guard<std::mutex> lk(ix_.pool_mu_);
      ix_.pool_.push_back(std::move(ctx_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    SearchContext* get() { return ctx_.get(); }

   private:
    const HnswIndex& ix_;
    std::unique_ptr<SearchContext> ctx_;
  };

  Status CheckColumns(const Column& base, const Column& queries) const;
  void SearchOne(const Space& s, const void* query, int64_t k, size_t ef, const uint8_t* filter,
                 SearchContext* ctx, flat::Hits* out) const;
  Status BruteForce(const Column& base, const Column& queries, const SearchArgs& args, flat::Hits* out) const;
  float ToDistance(float key) const { return flat::HigherIsBetter(metric_) ? -key : key; }

  flat::Metric metric_;
  flat::ElemType elem_;
  int64_t dim_;
  int ef_construction_;
  Graph g_;
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<SearchContext>> pool_;  // guarded by pool_mu_
};

Status HnswIndex::CheckColumns(const Column& base, const Column& queries) const {
  KITE_RETURN_IF_ERROR(CheckShape(base, "base"));
  KITE_RETURN_IF_ERROR(CheckShape(queries, "query"));
  KITE_ASSIGN_OR_RETURN(flat::ElemType be, ElemOf(base));
  KITE_ASSIGN_OR_RETURN(flat::ElemType qe, ElemOf(queries));
  if (be != elem_ || base.dim != dim_ || base.num_rows != g_.rows) {
    return InvalidArgument("HNSW: base column ({} rows of dim {}) is not the one the index was built from ({} x {})",
                           base.num_rows, base.dim, g_.rows, dim_);
  }
  if (qe != elem_ || queries.dim != dim_) {
    return InvalidArgument("HNSW: queries of type {} dim {} do not match the index's field (dim {})",
                           DataTypeName(queries.type), queries.dim, dim_);
  }
  return Status::OK();
}

void HnswIndex::SearchOne(const Space& s, const void* query, int64_t k, size_t ef, const uint8_t* filter,
                          SearchContext* ctx, flat::Hits* out) const {
  if (k > 0 && g_.entry >= 0) {
    const Query q = s.Prepare(query, ctx->qbuf.data());
    const uint32_t ep = static_cast<uint32_t>(g_.entry);
    Cand cur{s.ScoreOne(q, ep), ep};
    if (g_.max_level > 0) cur = hnsw::Greedy(g_, s, q, cur, g_.max_level, 1, ctx);
    if (filter) {
      hnsw::SearchLayer<true>(g_, s, q, cur, 0, ef, filter, ctx);
    } else {
      hnsw::SearchLayer<false>(g_, s, q, cur, 0, ef, nullptr, ctx);
    }
    auto& items = ctx->res.items();
    const size_t n = std::min<size_t>(static_cast<size_t>(k), items.size());
    std::partial_sort(items.begin(), items.begin() + n, items.end(), [](const Cand& a, const Cand& b) {
      return a.key < b.key || (a.key == b.key && a.id < b.id);
    });
    for (size_t i = 0; i < n; ++i) {
      out->ids.push_back(items[i].id);
      out->distances.push_back(ToDistance(items[i].key));
    }
  }
  out->offsets.push_back(static_cast<int64_t>(out->ids.size()));
}

// Exact scan of the passing (non-null) rows, one query at a time so that the
// call stays on this thread (flat::Search batches use OpenBLAS threads). A
// batch of queries first gathers the passing rows into one contiguous block:
// each query then streams a few MB that stay in cache from one query to the
// next, instead of picking its rows out of the whole column through the mask
// (measured: 1M x 128, 1% passing, 100 queries per request: see the notes of
// 2026-12-02). Rows keep their order, so ties break as before (by row).
Status HnswIndex::BruteForce(const Column& base, const Column& queries, const SearchArgs& args,
                             flat::Hits* out) const {
  std::vector<uint8_t> mask;
  const uint8_t* filter = args.filter;
  if (!base.valid.empty()) {
    mask.resize(static_cast<size_t>(g_.rows));
    for (int64_t r = 0; r < g_.rows; ++r) mask[r] = (filter[r] != 0) & (base.valid[r] != 0);
    filter = mask.data();
  }
  flat::SearchParams p;
  p.metric = metric_;
  p.k = args.k;
  flat::Hits one;
  auto append = [&](const std::vector<uint32_t>* rows) {
    for (size_t j = 0; j < one.ids.size(); ++j) {
      const int64_t id = one.ids[j];
      out->ids.push_back(rows && id >= 0 ? static_cast<int64_t>((*rows)[static_cast<size_t>(id)]) : id);
    }
    out->distances.insert(out->distances.end(), one.distances.begin(), one.distances.end());
    out->offsets.push_back(static_cast<int64_t>(out->ids.size()));
  };
  constexpr int64_t kGatherFromQueries = 4;
  if (queries.num_rows >= kGatherFromQueries) {
    std::vector<uint32_t> rows;
    std::vector<char> block;
    try {
      if (args.filter_passing > 0) rows.reserve(static_cast<size_t>(args.filter_passing));
      for (int64_t r = 0; r < g_.rows; ++r) {
        if (filter[r]) rows.push_back(static_cast<uint32_t>(r));
      }
      block.resize(rows.size() * base.row_bytes);
    } catch (const std::bad_alloc&) {
      rows.clear();  // no room for the copy: scan in place below
    }
    if (!rows.empty()) {
      for (size_t i = 0; i < rows.size(); ++i) {
        std::memcpy(block.data() + i * base.row_bytes, base.fixed.data() + rows[i] * base.row_bytes, base.row_bytes);
      }
      const flat::Matrix b{block.data(), static_cast<int64_t>(rows.size()), dim_, elem_};
      for (int64_t qi = 0; qi < queries.num_rows; ++qi) {
        const flat::Matrix q{queries.RowPtr(qi), 1, dim_, elem_};
        KITE_RETURN_IF_ERROR(flat::Search(q, b, p, &one));
        append(&rows);
      }
      return Status::OK();
    }
  }
  p.filter = filter;
  const flat::Matrix b{base.fixed.data(), g_.rows, dim_, elem_};
  for (int64_t qi = 0; qi < queries.num_rows; ++qi) {
    const flat::Matrix q{queries.RowPtr(qi), 1, dim_, elem_};
    KITE_RETURN_IF_ERROR(flat::Search(q, b, p, &one));
    append(nullptr);
  }
  return Status::OK();
}

Status HnswIndex::Search(const Column& base, const Column& queries, const SearchArgs& args,
                         flat::Hits* out) const {
  KITE_RETURN_IF_ERROR(CheckColumns(base, queries));
  if (args.k < 0) return InvalidArgument("HNSW: k ({}) must not be negative", args.k);
  KITE_ASSIGN_OR_RETURN(int64_t ef, IntParam(args.params, "ef", 1, kMaxInt, std::max(args.k, kMinDefaultEf)));
  ef = std::max(ef, args.k);
  out->ids.clear();
  out->distances.clear();
  out->offsets.assign(1, 0);
  if (args.filter) {
    int64_t passing = args.filter_passing;
    if (passing < 0) passing = g_.rows - std::count(args.filter, args.filter + g_.rows, uint8_t{0});
    const double p = static_cast<double>(passing);
    if (p * p < hnsw::MutableTuning().brute_force_cost_ratio * static_cast<double>(ef) * static_cast<double>(g_.rows)) {
      return BruteForce(base, queries, args, out);
    }
  }
  const Space s(metric_, elem_, dim_, base.fixed.data());
  Lease lease(*this);
  const int64_t k = std::min(args.k, g_.rows);
  for (int64_t qi = 0; qi < queries.num_rows; ++qi) {
    SearchOne(s, queries.RowPtr(qi), k, static_cast<size_t>(ef), args.filter, lease.get(), out);
  }
  return Status::OK();
}

Status HnswIndex::Serialize(std::string* out) const {
  const Header h{kMagic,
                 kVersion,
                 static_cast<uint32_t>(metric_),
                 static_cast<uint32_t>(elem_),
                 static_cast<uint64_t>(dim_),
                 static_cast<uint64_t>(g_.rows),
                 static_cast<uint32_t>(g_.m),
                 static_cast<uint32_t>(ef_construction_),
                 g_.entry,
                 g_.max_level};
  out->clear();
  out->append(reinterpret_cast<const char*>(&h), sizeof(h));
  out->append(reinterpret_cast<const char*>(g_.level.data()), g_.level.size());
  for (int64_t r = 0; r < g_.rows; ++r) {
    for (int l = 0; l <= g_.level[r]; ++l) {
      const uint32_t* links = g_.Links(static_cast<uint32_t>(r), l);
      out->append(reinterpret_cast<const char*>(links), 4 * (1 + static_cast<size_t>(links[0])));
    }
  }
  const uint64_t sum = Checksum(out->data(), out->size());
  out->append(reinterpret_cast<const char*>(&sum), sizeof(sum));
  return Status::OK();
}

// Reads the lists after the levels; every count and id is checked.
Status ReadLists(Reader* in, Graph* g) {
  for (int64_t r = 0; r < g->rows; ++r) {
    for (int l = 0; l <= g->level[r]; ++l) {
      uint32_t cnt;
      const char* p;
      if (!in->Get(&cnt)) return Corruption("HNSW index: truncated at row {}", r);
      if (cnt > static_cast<uint32_t>(g->MaxDegree(l))) {
        return Corruption("HNSW index: row {} has {} links at level {}", r, cnt, l);
      }
      if (!in->Take(4 * static_cast<size_t>(cnt), &p)) return Corruption("HNSW index: truncated at row {}", r);
      uint32_t* links = g->Links(static_cast<uint32_t>(r), l);
      links[0] = cnt;
      std::memcpy(links + 1, p, 4 * static_cast<size_t>(cnt));
      for (uint32_t i = 1; i <= cnt; ++i) {
        if (links[i] >= static_cast<uint64_t>(g->rows) || g->level[links[i]] < l) {
          return Corruption("HNSW index: row {} links to {} at level {}", r, links[i], l);
        }
      }
    }
  }
  return Status::OK();
}

// Reads and checks the fixed header (the checksum is checked after the rest).
Result<Header> ReadHeader(Reader* in) {
  Header h;
  if (!in->Get(&h)) return in->status().ok() ? Corruption("HNSW index: truncated header") : in->status();
  if (h.magic != kMagic) return Corruption("HNSW index: bad magic {:#x}", h.magic);
  if (h.version != kVersion) return Corruption("HNSW index: unknown version {}", h.version);
  if (h.metric > static_cast<uint32_t>(flat::Metric::kCosine) || h.elem > static_cast<uint32_t>(flat::ElemType::kInt8) ||
      h.dim == 0 || h.dim > static_cast<uint64_t>(kMaxDim) || h.rows > static_cast<uint64_t>(kMaxRows) || h.m < 2 ||
      h.m > 2048 || h.ef_construction < 1 || h.ef_construction > kMaxInt || h.max_level < -1 ||
      h.max_level > hnsw::kMaxLevel || h.entry < -1 || h.entry >= static_cast<int64_t>(h.rows)) {
    return Corruption("HNSW index: bad header");
  }
  return h;
}

// Params that do not describe the bytes (checked once the bytes are known intact).
Status CheckParams(const Header& h, const Params& params) {
  KITE_ASSIGN_OR_RETURN(flat::Metric metric, MetricParam(params));
  KITE_ASSIGN_OR_RETURN(int64_t m, IntParam(params, "M", 2, 2048, h.m));
  if (metric != static_cast<flat::Metric>(h.metric) || m != h.m) {
    return InvalidArgument("HNSW: params (metric_type {}, M {}) do not match the index bytes", params.at("metric_type"), m);
  }
  return Status::OK();
}

}  // namespace

namespace hnsw {
Tuning& MutableTuning() {
  static Tuning tuning;
  return tuning;
}
}  // namespace hnsw

Result<std::unique_ptr<VectorIndex>> BuildHnsw(const Params& params, const Column& column, int threads) {
  KITE_ASSIGN_OR_RETURN(BuildParams bp, ParseBuildParams(params));
  KITE_ASSIGN_OR_RETURN(flat::ElemType elem, ElemOf(column));
  KITE_RETURN_IF_ERROR(CheckShape(column, "vector"));
  Graph g;
  g.rows = column.num_rows;
  g.m = bp.m;
  hnsw::AssignLevels(g.rows, g.m, column.valid, &g.level);
  try {
    const std::vector<int32_t> dup_of =
        hnsw::FindDuplicates(column.fixed.data(), column.num_rows, column.row_bytes, &g.level);
    if (!g.Allocate()) return InvalidArgument("HNSW: {} rows are too many for M = {}", g.rows, g.m);
    const Space s(bp.metric, elem, column.dim, column.fixed.data());
    hnsw::BuildGraph(&g, s, bp.ef_construction, threads, dup_of);
  } catch (const std::bad_alloc&) {
    return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone, "HNSW: out of memory building {} rows", g.rows);
  }
  return std::unique_ptr<VectorIndex>(
      std::make_unique<HnswIndex>(bp.metric, elem, column.dim, bp.ef_construction, std::move(g)));
}

Result<std::unique_ptr<VectorIndex>> LoadHnswFrom(const Params& params, ByteSource* source, size_t read_buffer) {
  if (source->remaining() < sizeof(Header) + sizeof(uint64_t)) {
    return Corruption("HNSW index: {} bytes", source->remaining());
  }
  // The largest list (M = 2048 at level 0) must fit in the buffer.
  Reader in(source, source->remaining() - sizeof(uint64_t), std::max<size_t>(read_buffer, kMinReadBuffer));
  // A damaged file is reported as such, whatever part of it fails to parse.
  auto damaged = [&](auto r) -> decltype(r) {
    if (!in.status().ok()) return in.status();
    return r;
  };
  KITE_ASSIGN_OR_RETURN(Header h, damaged(ReadHeader(&in)));
  // One level byte per row must follow: a damaged row count allocates nothing.
  if (h.rows > in.unread()) return Corruption("HNSW index: truncated levels");
  Graph g;
  g.rows = static_cast<int64_t>(h.rows);
  g.m = static_cast<int>(h.m);
  try {
    g.level.resize(h.rows);
  } catch (const std::exception&) {
    return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone, "HNSW index: out of memory loading {} rows",
                      g.rows);
  }
  if (!in.ReadInto(reinterpret_cast<char*>(g.level.data()), h.rows)) {
    return damaged(Corruption("HNSW index: truncated levels"));
  }
  int top = -1;
  for (int8_t l : g.level) {
    if (l < -1) return Corruption("HNSW index: bad level {}", l);
    top = std::max<int>(top, l);
  }
  if (top != h.max_level || (h.entry < 0) != (top < 0) || (h.entry >= 0 && g.level[h.entry] != top)) {
    return Corruption("HNSW index: entry point {} / top level {} do not match the levels", h.entry, h.max_level);
  }
  try {
    if (!g.Allocate()) return Corruption("HNSW index: {} rows are too many for M = {}", g.rows, g.m);
    KITE_RETURN_IF_ERROR(damaged(ReadLists(&in, &g)));
  } catch (const std::exception&) {
    return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone, "HNSW index: out of memory loading {} rows",
                      g.rows);
  }
  if (!in.done()) return Corruption("HNSW index: trailing bytes");
  if (!in.ChecksumMatches()) return damaged(Corruption("HNSW index: checksum mismatch"));
  KITE_RETURN_IF_ERROR(CheckParams(h, params));
  g.entry = h.entry;
  g.max_level = h.max_level;
  return std::unique_ptr<VectorIndex>(std::make_unique<HnswIndex>(
      static_cast<flat::Metric>(h.metric), static_cast<flat::ElemType>(h.elem), static_cast<int64_t>(h.dim),
      static_cast<int>(h.ef_construction), std::move(g)));
}

Result<std::unique_ptr<VectorIndex>> LoadHnsw(const Params& params, std::string_view bytes) {
  ViewSource in(&bytes, "HNSW index");
  return LoadHnswFrom(params, &in);
}

}  // namespace kite::index
