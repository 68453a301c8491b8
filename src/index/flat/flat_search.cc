// flat::Search: validation, the two execution paths and the result layout.
//
// Every path reduces a metric to "keys", smaller is better (IP and COSINE are
// negated), feeds them to one TopK per query in row order, and negates back at
// the end. Range bounds become key bounds [lo, hi) of the TopK, so a range
// search is the same scan with a narrower heap.
//
// Scan path (binary, and fewer than Tuning::gemm_min_queries float queries):
//   the base is walked once in blocks of ~512 KB; each block is scored
//   against every query by the SIMD row kernels (Float16 / BFloat16 / Int8
//   rows converted to float32 as they are loaded), so nq queries cost one pass
//   over memory. A filtered block is either gathered (only passing rows are
//   read: few pass) or scored whole with failing rows masked to NaN (most pass).
// GEMM path (float queries in batches): blocks of gemm_base_block base rows
//   (passing rows only, converted to float32 if needed) times blocks of
//   queries with cblas_sgemm; the fold adds ||q||^2 + ||r||^2 for L2 or scales
//   by 1/||q|| 1/||r|| for COSINE while it filters against the heap bound.
#include "index/flat/flat_search.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "index/flat/kernels.h"
#include "index/flat/topk.h"

namespace kite::flat {
namespace {

using internal::FoldArgs;
using internal::FoldMode;
using internal::Kernels;
using internal::TopK;

constexpr float kInf = std::numeric_limits<float>::infinity();

bool IsBinary(ElemType t) { return t == ElemType::kBinary; }
bool IsBinaryMetric(Metric m) { return m == Metric::kHamming || m == Metric::kJaccard; }

const char* TypeName(ElemType t) {
  switch (t) {
    case ElemType::kFloat32: return "float32";
    case ElemType::kFloat16: return "float16";
    case ElemType::kBFloat16: return "bfloat16";
    case ElemType::kInt8: return "int8";
    case ElemType::kBinary: return "binary";
  }
  return "?";
}

const char* MetricName(Metric m) {
  switch (m) {
    case Metric::kL2: return "L2";
    case Metric::kIP: return "IP";
    case Metric::kCosine: return "COSINE";
    case Metric::kHamming: return "HAMMING";
    case Metric::kJaccard: return "JACCARD";
    case Metric::kBM25: return "BM25";
  }
  return "?";
}

// Bytes of one stored row.
int64_t RowBytes(ElemType t, int64_t dim) {
  switch (t) {
    case ElemType::kFloat32: return dim * 4;
    case ElemType::kFloat16:
    case ElemType::kBFloat16: return dim * 2;
    case ElemType::kInt8: return dim;
    case ElemType::kBinary: return dim / 8;
  }
  return 0;
}

Status ValidateMatrix(const Matrix& m, const char* what) {
  if (m.rows < 0) return InvalidArgument("{} rows must be >= 0, got {}", what, m.rows);
  if (m.dim <= 0) return InvalidArgument("{} dim must be > 0, got {}", what, m.dim);
  if (IsBinary(m.type) && m.dim % 8 != 0) {
    return InvalidArgument("{} binary dim must be a multiple of 8, got {}", what, m.dim);
  }
  if (m.rows > 0 && m.data == nullptr) return InvalidArgument("{} data is null with {} rows", what, m.rows);
  return Status::OK();
}

Status Validate(const Matrix& q, const Matrix& b, const SearchParams& p, const Hits* out) {
  if (out == nullptr) return InvalidArgument("flat search: null output");
  if (Status s = ValidateMatrix(q, "query"); !s.ok()) return s;
  if (Status s = ValidateMatrix(b, "base"); !s.ok()) return s;
  if (q.type != b.type) {
    return InvalidArgument("query vectors are {} but base vectors are {}", TypeName(q.type), TypeName(b.type));
  }
  if (q.dim != b.dim) return InvalidArgument("query dim {} does not match base dim {}", q.dim, b.dim);
  if (IsBinary(q.type) != IsBinaryMetric(p.metric)) {
    return InvalidArgument("metric {} does not apply to {} vectors", MetricName(p.metric), TypeName(q.type));
  }
  if (p.k < 0) return InvalidArgument("topk must be >= 0, got {}", p.k);
  if (p.radius) {
    if (!std::isfinite(*p.radius)) return InvalidArgument("radius must be finite");
    if (p.range_filter) {
      if (!std::isfinite(*p.range_filter)) return InvalidArgument("range_filter must be finite");
      if (HigherIsBetter(p.metric) && !(*p.range_filter > *p.radius)) {
        return InvalidArgument("range_filter ({}) must be greater than radius ({}) for {}", *p.range_filter,
                               *p.radius, MetricName(p.metric));
      }
      if (!HigherIsBetter(p.metric) && !(*p.range_filter < *p.radius)) {
        return InvalidArgument("range_filter ({}) must be less than radius ({}) for {}", *p.range_filter,
                               *p.radius, MetricName(p.metric));
      }
    }
  }
  return Status::OK();
}

// One TopK per query with the range bounds turned into key bounds.
std::vector<TopK> MakeHeaps(int64_t nq, int64_t k, const SearchParams& p) {
  float lo = -kInf, hi = kInf;
  bool has_hi = false;
  if (p.radius) {
    has_hi = true;
    if (HigherIsBetter(p.metric)) {  // radius < d <= range_filter  <=>  -range_filter <= -d < -radius
      hi = -*p.radius;
      if (p.range_filter) lo = -*p.range_filter;
    } else {  // range_filter <= d < radius
      hi = *p.radius;
      if (p.range_filter) lo = *p.range_filter;
    }
  }
  std::vector<TopK> heaps(static_cast<size_t>(nq));
  for (TopK& h : heaps) h.Reset(k, lo, hi, has_hi);
  return heaps;
}

// Appends first + j for each row j in [0, m) whose filter byte is nonzero to
// idx; returns how many.
int64_t CollectPassing(const uint8_t* f, int64_t m, int64_t first, int32_t* idx) {
  int64_t cnt = 0, j = 0;
  for (; j + 8 <= m; j += 8) {
    uint64_t w;
    std::memcpy(&w, f + j, 8);
    if (w == 0) continue;
    for (int t = 0; t < 8; ++t) {
      idx[cnt] = static_cast<int32_t>(first + j + t);
      cnt += f[j + t] != 0;
    }
  }
  for (; j < m; ++j) {
    idx[cnt] = static_cast<int32_t>(first + j);
    cnt += f[j] != 0;
  }
  return cnt;
}

// The scan paths' unit of work: rows [r0, r0 + span) of the base, of which
// `count` are scored: all of them (sel == nullptr, mask == false), all of them
// with the rows that fail the filter masked afterwards (mask), or only the
// rows at offsets sel[0..count) (gathered).
struct Window {
  int64_t r0 = 0;
  int64_t span = 0;
  int64_t count = 0;
  const int32_t* sel = nullptr;
  bool mask = false;
};

// Cuts the base into windows of up to `block` rows. With a filter, a block
// where at least dense_fraction of the rows pass is scored whole and masked;
// otherwise passing rows are gathered, and a sparse window keeps collecting
// rows from the following blocks until it holds block / 2 of them, so that
// the kernels see enough rows to prefetch ahead (at 1% passing, windows of
// one block held ~5 rows each and every row was a cache miss).
class BlockWalker {
 public:
  BlockWalker(int64_t n, int64_t block, const uint8_t* filter, double dense_fraction)
      : n_(n), block_(block), filter_(filter), dense_fraction_(dense_fraction),
        idx_(filter ? static_cast<size_t>(block) : 0) {}

  bool Next(Window* w) {
    while (next_ < n_) {
      *w = Window{};
      w->r0 = next_;
      const int64_t m = std::min(block_, n_ - next_);
      if (filter_ == nullptr) {
        w->span = w->count = m;
        next_ += m;
        return true;
      }
      int64_t cnt = CollectPassing(filter_ + next_, m, 0, idx_.data());
      if (cnt == m || (cnt > 0 && static_cast<double>(cnt) >= dense_fraction_ * static_cast<double>(m))) {
        w->span = m;
        w->count = m;
        w->mask = cnt < m;
        next_ += m;
        return true;
      }
      int64_t span = m;
      while (cnt < block_ / 2 && w->r0 + span < n_ && span < kMaxSpan) {
        const int64_t more = std::min(block_ - cnt, n_ - w->r0 - span);
        cnt += CollectPassing(filter_ + w->r0 + span, more, span, idx_.data() + cnt);
        span += more;
      }
      next_ = w->r0 + span;
      if (cnt == 0) continue;
      w->span = span;
      w->count = cnt;
      w->sel = idx_.data();
      return true;
    }
    return false;
  }

 private:
  static constexpr int64_t kMaxSpan = int64_t{1} << 30;  // offsets fit int32
  const int64_t n_, block_;
  const uint8_t* filter_;
  const double dense_fraction_;
  std::vector<int32_t> idx_;
  int64_t next_ = 0;
};

// Converts `n` consecutive stored rows starting at `src` to float32.
void ConvertRows(const Kernels& kr, ElemType t, const void* src, int64_t n, int64_t dim, float* dst) {
  switch (t) {
    case ElemType::kFloat32: std::memcpy(dst, src, static_cast<size_t>(n * dim) * 4); break;
    case ElemType::kFloat16: kr.f16_to_f32(static_cast<const uint16_t*>(src), n * dim, dst); break;
    case ElemType::kBFloat16: kr.bf16_to_f32(static_cast<const uint16_t*>(src), n * dim, dst); break;
    case ElemType::kInt8: kr.i8_to_f32(static_cast<const int8_t*>(src), n * dim, dst); break;
    case ElemType::kBinary: break;  // never converted
  }
}

const void* RowPtr(const Matrix& m, int64_t row) {
  return static_cast<const uint8_t*>(m.data) + row * RowBytes(m.type, m.dim);
}

// Float scratch whose data() is 64-byte aligned, so that 64-byte SIMD loads
// and stores of rows, keys and GEMM results never split cache lines (which
// made scans over a malloc'ed scratch buffer vary by up to 2.5x from run to
// run, measured).
class AlignedFloats {
 public:
  explicit AlignedFloats(int64_t n) : storage_(static_cast<size_t>(n) + 16) {
    auto addr = reinterpret_cast<uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - addr % 64) % 64) / sizeof(float);
  }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float* data() { return data_; }
  const float* data() const { return data_; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

 private:
  std::vector<float> storage_;
  float* data_;
};

// Queries as float32 (borrowed when already float32) plus per-query scalars.
struct FloatQueries {
  std::unique_ptr<AlignedFloats> owned;
  const float* data = nullptr;
  std::vector<float> norm_sq;  // L2 (GEMM path)
  std::vector<float> inv_norm;  // COSINE: 1/||q||, 0 for a zero query
};

FloatQueries PrepareQueries(const Kernels& kr, const Matrix& q, Metric metric) {
  FloatQueries fq;
  if (q.type == ElemType::kFloat32) {
    fq.data = static_cast<const float*>(q.data);
  } else {
    fq.owned = std::make_unique<AlignedFloats>(q.rows * q.dim);
    ConvertRows(kr, q.type, q.data, q.rows, q.dim, fq.owned->data());
    fq.data = fq.owned->data();
  }
  if (metric == Metric::kL2 || metric == Metric::kCosine) {
    fq.norm_sq.resize(static_cast<size_t>(q.rows));
    kr.norm_sq(fq.data, q.rows, q.dim, fq.norm_sq.data());
  }
  if (metric == Metric::kCosine) {
    fq.inv_norm.resize(static_cast<size_t>(q.rows));
    for (int64_t i = 0; i < q.rows; ++i) {
      float nn = fq.norm_sq[i];
      fq.inv_norm[i] = nn > 0 ? 1.0f / std::sqrt(nn) : 0.0f;
    }
  }
  return fq;
}

int RowOpIndex(Metric m) {
  return static_cast<int>(m == Metric::kL2 ? internal::RowOp::kL2
                          : m == Metric::kIP ? internal::RowOp::kIP
                                             : internal::RowOp::kCosine);
}

// Scan path for float element types: rows are read in their stored type and
// converted as they are loaded, so each block comes from memory once.
void ScanFloat(const Kernels& kr, const Matrix& queries, const Matrix& base, const SearchParams& p,
               std::vector<TopK>* heaps) {
  const int64_t nq = queries.rows, n = base.rows, dim = base.dim;
  const internal::RowsFn kernel = kr.rows[RowOpIndex(p.metric)][static_cast<int>(base.type)];
  FloatQueries fq = PrepareQueries(kr, queries, p.metric);
  const int64_t row_bytes = RowBytes(base.type, dim);
  const int64_t block = std::clamp<int64_t>(internal::GetTuning().scan_block_bytes / row_bytes, 16, 16384);
  AlignedFloats keys(block);
  BlockWalker walker(n, block, p.filter, internal::GetTuning().dense_filter_fraction);
  Window w;
  while (walker.Next(&w)) {
    const void* rows = RowPtr(base, w.r0);
    for (int64_t qi = 0; qi < nq; ++qi) {
      const float q_inv = p.metric == Metric::kCosine ? fq.inv_norm[qi] : 0.0f;
      kernel(fq.data + qi * dim, q_inv, rows, w.sel, w.count, dim, keys.data());
      if (w.mask) {
        const uint8_t* f = p.filter + w.r0;
        for (int64_t j = 0; j < w.count; ++j) keys[j] = f[j] ? keys[j] : std::numeric_limits<float>::quiet_NaN();
      }
      FoldArgs a;
      a.c = keys.data();
      a.n = w.count;
      a.idx = w.sel;
      a.id0 = w.r0;
      kr.fold(a, &(*heaps)[qi]);
    }
  }
}

void ScanBinary(const Kernels& kr, const Matrix& queries, const Matrix& base, const SearchParams& p,
                std::vector<TopK>* heaps) {
  const int64_t nq = queries.rows, n = base.rows, bytes = base.dim / 8;
  const int64_t block = std::clamp<int64_t>(internal::GetTuning().scan_block_bytes / bytes, 16, 16384);
  AlignedFloats keys(block);
  const auto* qb = static_cast<const uint8_t*>(queries.data);
  const auto* bb = static_cast<const uint8_t*>(base.data);
  const auto kernel = p.metric == Metric::kHamming ? kr.hamming : kr.jaccard;
  // Binary rows are cheap to score: never worth masking, always gather.
  BlockWalker walker(n, block, p.filter, /*dense_fraction=*/2.0);
  Window w;
  while (walker.Next(&w)) {
    for (int64_t qi = 0; qi < nq; ++qi) {
      kernel(qb + qi * bytes, bb + w.r0 * bytes, w.sel, w.count, bytes, keys.data());
      FoldArgs a;
      a.c = keys.data();
      a.n = w.count;
      a.idx = w.sel;
      a.id0 = w.r0;
      kr.fold(a, &(*heaps)[qi]);
    }
  }
}

// GEMM path. One block = up to gemm_base_block passing rows from
// [id0, next); rows is either the base itself or a float32 copy.
void GemmFloat(const Kernels& kr, const Matrix& queries, const Matrix& base, const SearchParams& p,
               std::vector<TopK>* heaps) {
  const internal::Tuning& tuning = internal::GetTuning();
  const int64_t nq = queries.rows, n = base.rows, dim = base.dim;
  const bool direct = base.type == ElemType::kFloat32 && p.filter == nullptr;
  const int64_t bb = std::min(tuning.gemm_base_block, n);
  const int64_t qbs = std::min(tuning.gemm_query_block, nq);
  FloatQueries fq = PrepareQueries(kr, queries, p.metric);

  AlignedFloats copy(direct ? 0 : bb * dim);
  std::vector<int32_t> idx(p.filter ? static_cast<size_t>(bb) : 0);
  AlignedFloats col(bb);
  AlignedFloats c(qbs * bb);
  // Block spans stay below 2^31 rows so that offsets fit idx.
  constexpr int64_t kMaxSpan = int64_t{1} << 30;

  const float alpha = p.metric == Metric::kL2 ? -2.0f : p.metric == Metric::kIP ? -1.0f : 1.0f;
  const FoldMode mode = p.metric == Metric::kL2       ? FoldMode::kL2
                        : p.metric == Metric::kCosine ? FoldMode::kCosine
                                                      : FoldMode::kKeys;
  int64_t next = 0;
  while (next < n) {
    const int64_t id0 = next;
    int64_t m = 0;
    const float* rows;
    if (direct) {
      m = std::min(bb, n - next);
      next += m;
      rows = static_cast<const float*>(base.data) + id0 * dim;
    } else if (p.filter == nullptr) {
      m = std::min(bb, n - next);
      next += m;
      ConvertRows(kr, base.type, RowPtr(base, id0), m, dim, copy.data());
      rows = copy.data();
    } else {
      while (next < n && m < bb && next - id0 < kMaxSpan) {
        // Skip 8 failing rows at a time.
        if (next + 8 <= n) {
          uint64_t w;
          std::memcpy(&w, p.filter + next, 8);
          if (w == 0) {
            next += 8;
            continue;
          }
        }
        if (p.filter[next]) {
          ConvertRows(kr, base.type, RowPtr(base, next), 1, dim, copy.data() + m * dim);
          idx[m++] = static_cast<int32_t>(next - id0);
        }
        ++next;
      }
      if (m == 0) continue;
      rows = copy.data();
    }
    if (mode != FoldMode::kKeys) {
      kr.norm_sq(rows, m, dim, col.data());
      if (mode == FoldMode::kCosine) {
        for (int64_t j = 0; j < m; ++j) col[j] = col[j] > 0 ? 1.0f / std::sqrt(col[j]) : 0.0f;
      }
    }
    for (int64_t q0 = 0; q0 < nq; q0 += qbs) {
      const int64_t qn = std::min(qbs, nq - q0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(qn), static_cast<int>(m),
                  static_cast<int>(dim), alpha, fq.data + q0 * dim, static_cast<int>(dim), rows,
                  static_cast<int>(dim), 0.0f, c.data(), static_cast<int>(m));
      for (int64_t i = 0; i < qn; ++i) {
        const int64_t qi = q0 + i;
        FoldArgs a;
        a.c = c.data() + i * m;
        a.n = m;
        a.mode = mode;
        a.col = col.data();
        a.scalar = mode == FoldMode::kL2 ? fq.norm_sq[qi] : mode == FoldMode::kCosine ? -fq.inv_norm[qi] : 0.0f;
        a.idx = p.filter ? idx.data() : nullptr;
        a.id0 = id0;
        kr.fold(a, &(*heaps)[qi]);
      }
    }
  }
}

}  // namespace

bool HigherIsBetter(Metric m) { return m == Metric::kIP || m == Metric::kCosine || m == Metric::kBM25; }

Status Search(const Matrix& queries, const Matrix& base, const SearchParams& params, Hits* out) {
  if (Status s = Validate(queries, base, params, out); !s.ok()) return s;
  const int64_t nq = queries.rows;
  out->ids.clear();
  out->distances.clear();
  out->offsets.assign(static_cast<size_t>(nq + 1), 0);
  const int64_t k = std::min(params.k, base.rows);
  if (nq == 0 || k == 0) return Status::OK();

  const Kernels& kr = internal::Active();
  std::vector<TopK> heaps = MakeHeaps(nq, k, params);
  if (IsBinary(base.type)) {
    ScanBinary(kr, queries, base, params, &heaps);
  } else if (nq >= internal::GetTuning().gemm_min_queries) {
    GemmFloat(kr, queries, base, params, &heaps);
  } else {
    ScanFloat(kr, queries, base, params, &heaps);
  }

  const float sign = HigherIsBetter(params.metric) ? -1.0f : 1.0f;
  int64_t total = 0;
  for (const TopK& h : heaps) total += h.size();
  out->ids.reserve(static_cast<size_t>(total));
  out->distances.reserve(static_cast<size_t>(total));
  for (int64_t qi = 0; qi < nq; ++qi) {
    heaps[qi].DrainSorted(sign, &out->ids, &out->distances);
    out->offsets[qi + 1] = static_cast<int64_t>(out->ids.size());
  }
  return Status::OK();
}

}  // namespace kite::flat
