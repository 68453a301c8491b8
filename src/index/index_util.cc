#include "index/index_util.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

namespace kite::index::internal {
namespace {

constexpr uint32_t kHeaderMagic = 0x3149564b;  // "KVI1" little-endian
constexpr uint32_t kHeaderVersion = 1;

float HalfBitsToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal half: normalise
    exp = 113;
    while ((mant & 0x400) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void ConvertRow(flat::ElemType t, const uint8_t* src, int64_t dim, float* dst) {
  switch (t) {
    case flat::ElemType::kFloat32: std::memcpy(dst, src, static_cast<size_t>(dim) * 4); break;
    case flat::ElemType::kFloat16:
      for (int64_t i = 0; i < dim; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = HalfBitsToFloat(h);
      }
      break;
    case flat::ElemType::kBFloat16:
      for (int64_t i = 0; i < dim; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        uint32_t bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
      break;
    case flat::ElemType::kInt8:
      for (int64_t i = 0; i < dim; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(src[i]));
      break;
    case flat::ElemType::kBinary: break;  // never converted
  }
}

int64_t RowBytes(const flat::Matrix& m) {
  switch (m.type) {
    case flat::ElemType::kFloat32: return m.dim * 4;
    case flat::ElemType::kFloat16:
    case flat::ElemType::kBFloat16: return m.dim * 2;
    case flat::ElemType::kInt8: return m.dim;
    case flat::ElemType::kBinary: return m.dim / 8;
  }
  return 0;
}

bool Better(flat::Metric metric, const Hit& a, const Hit& b) {
  if (a.distance != b.distance) {
    return flat::HigherIsBetter(metric) ? a.distance > b.distance : a.distance < b.distance;
  }
  return a.row < b.row;
}

// Rows `qs` of `queries` copied into a contiguous matrix.
flat::Matrix SelectQueries(const flat::Matrix& queries, const std::vector<int64_t>& qs, std::vector<uint8_t>* buf) {
  const int64_t rb = RowBytes(queries);
  buf->resize(static_cast<size_t>(rb) * qs.size());
  for (size_t i = 0; i < qs.size(); ++i) {
    std::memcpy(buf->data() + i * rb, static_cast<const uint8_t*>(queries.data) + qs[i] * rb, rb);
  }
  return flat::Matrix{buf->data(), static_cast<int64_t>(qs.size()), queries.dim, queries.type};
}

}  // namespace

void PutHeader(const IndexHeader& h, std::string* out) {
  PutU32(out, kHeaderMagic);
  PutU32(out, kHeaderVersion);
  PutBytes(out, h.spec.type);
  PutU32(out, static_cast<uint32_t>(h.spec.metric));
  PutU32(out, static_cast<uint32_t>(h.spec.data_type));
  PutU64(out, static_cast<uint64_t>(h.spec.dim));
  PutU64(out, static_cast<uint64_t>(h.rows));
}

Status GetHeader(std::string_view* in, IndexHeader* h) {
  uint32_t magic = 0, version = 0, metric = 0, type = 0;
  uint64_t dim = 0, rows = 0;
  std::string_view name;
  if (!GetU32(in, &magic) || magic != kHeaderMagic) return Corruption("vector index: bad magic");
  if (!GetU32(in, &version) || version != kHeaderVersion) {
    return Corruption("vector index: unsupported format version {}", version);
  }
  if (!GetBytes(in, &name) || !GetU32(in, &metric) || !GetU32(in, &type) || !GetU64(in, &dim) ||
      !GetU64(in, &rows)) {
    return Corruption("vector index: truncated header");
  }
  if (metric > static_cast<uint32_t>(flat::Metric::kBM25)) return Corruption("vector index: bad metric {}", metric);
  if (dim > (uint64_t{1} << 32) || rows > (uint64_t{1} << 40)) {
    return Corruption("vector index: implausible dim {} or rows {}", dim, rows);
  }
  h->spec.type = std::string(name);
  h->spec.metric = static_cast<flat::Metric>(metric);
  h->spec.data_type = static_cast<DataType>(type);
  h->spec.dim = static_cast<int64_t>(dim);
  h->rows = static_cast<int64_t>(rows);
  return Status::OK();
}

const char* MetricName(flat::Metric m) {
  switch (m) {
    case flat::Metric::kL2: return "L2";
    case flat::Metric::kIP: return "IP";
    case flat::Metric::kCosine: return "COSINE";
    case flat::Metric::kHamming: return "HAMMING";
    case flat::Metric::kJaccard: return "JACCARD";
    case flat::Metric::kBM25: return "BM25";
  }
  return "?";
}

Result<flat::Metric> ParseMetric(const std::string& name) {
  for (flat::Metric m : {flat::Metric::kL2, flat::Metric::kIP, flat::Metric::kCosine, flat::Metric::kHamming,
                         flat::Metric::kJaccard, flat::Metric::kBM25}) {
    if (name == MetricName(m)) return m;
  }
  return InvalidArgument("metric type '{}' is not supported by Kite's vector indexes", name);
}

bool IsFloatFamily(DataType t) {
  return t == DataType::kFloatVector || t == DataType::kFloat16Vector || t == DataType::kBFloat16Vector ||
         t == DataType::kInt8Vector;
}

flat::ElemType ElemTypeOf(DataType t) {
  switch (t) {
    case DataType::kFloat16Vector: return flat::ElemType::kFloat16;
    case DataType::kBFloat16Vector: return flat::ElemType::kBFloat16;
    case DataType::kInt8Vector: return flat::ElemType::kInt8;
    case DataType::kBinaryVector: return flat::ElemType::kBinary;
    default: return flat::ElemType::kFloat32;
  }
}

Result<int64_t> GetInt(const Params& p, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  const std::string& s = it->second;
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos);
    if (pos == s.size() && v >= lo && v <= hi) return static_cast<int64_t>(v);
  } catch (...) {
  }
  return InvalidArgument("param '{}' ({}) should be in range [{}, {}]", key, s, lo, hi);
}

Result<double> GetDouble(const Params& p, const std::string& key, double def, double lo, double hi,
                         bool hi_inclusive) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  const std::string& s = it->second;
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos == s.size() && v >= lo && (hi_inclusive ? v <= hi : v < hi)) return v;
  } catch (...) {
  }
  return InvalidArgument("param '{}' ({}) should be in range [{}, {}{}", key, s, lo, hi, hi_inclusive ? "]" : ")");
}

Result<bool> GetBool(const Params& p, const std::string& key, bool def) {
  auto it = p.find(key);
  if (it == p.end()) return def;
  std::string s = it->second;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return InvalidArgument("param '{}' ({}) should be true or false", key, it->second);
}

Result<flat::Matrix> DenseMatrix(const Column& c) {
  if (!IsFloatFamily(c.type) && c.type != DataType::kBinaryVector) {
    return InvalidArgument("column of type {} is not a dense vector column", DataTypeName(c.type));
  }
  const size_t rb = FixedRowBytes(c.type, c.dim);
  if (c.dim <= 0 || rb == 0 || c.row_bytes != rb || c.num_rows < 0 ||
      c.fixed.size() != static_cast<size_t>(c.num_rows) * rb) {
    return InvalidArgument("malformed {} column: dim {}, row_bytes {}, {} rows in {} bytes", DataTypeName(c.type),
                           c.dim, c.row_bytes, c.num_rows, c.fixed.size());
  }
  if (!c.valid.empty() && c.valid.size() != static_cast<size_t>(c.num_rows)) {
    return InvalidArgument("malformed column: {} validity bytes for {} rows", c.valid.size(), c.num_rows);
  }
  return flat::Matrix{c.fixed.data(), c.num_rows, c.dim, ElemTypeOf(c.type)};
}

Status CheckSearchInputs(const IndexSpec& spec, int64_t rows, const Column& base, const Column& queries,
                         const SearchArgs& args) {
  if (args.k < 0) return InvalidArgument("topk must be >= 0, got {}", args.k);
  if (queries.type != spec.data_type) {
    return InvalidArgument("query vectors are {} but the {} index is over {}", DataTypeName(queries.type), spec.type,
                           DataTypeName(spec.data_type));
  }
  if (base.type != spec.data_type || base.num_rows != rows) {
    return InvalidArgument("{} index over {} rows of {} searched with a base of {} rows of {}", spec.type, rows,
                           DataTypeName(spec.data_type), base.num_rows, DataTypeName(base.type));
  }
  if (spec.dim != 0 && (queries.dim != spec.dim || base.dim != spec.dim)) {
    return InvalidArgument("query dim {} does not match the index dim {}", queries.dim, spec.dim);
  }
  return Status::OK();
}

std::vector<float> ToFloat32(const flat::Matrix& m, const std::vector<int64_t>* ids, bool normalize) {
  const int64_t n = ids ? static_cast<int64_t>(ids->size()) : m.rows;
  const int64_t rb = RowBytes(m);
  std::vector<float> out(static_cast<size_t>(n * m.dim));
  const auto* src = static_cast<const uint8_t*>(m.data);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = ids ? (*ids)[i] : i;
    float* dst = out.data() + i * m.dim;
    ConvertRow(m.type, src + r * rb, m.dim, dst);
    if (normalize) {
      double ss = 0;
      for (int64_t j = 0; j < m.dim; ++j) ss += static_cast<double>(dst[j]) * dst[j];
      if (ss > 0) {
        const float inv = static_cast<float>(1.0 / std::sqrt(ss));
        for (int64_t j = 0; j < m.dim; ++j) dst[j] *= inv;
      }
    }
  }
  return out;
}

RowMask::RowMask(const uint8_t* filter, int64_t filter_passing, const Column& base) : rows_(base.num_rows) {
  const bool nulls = !base.valid.empty();
  if (filter == nullptr && !nulls) {
    passing_ = rows_;
    return;
  }
  if (filter != nullptr && !nulls) {
    data_ = filter;
    if (filter_passing >= 0) {
      passing_ = filter_passing;
      return;
    }
  } else if (filter == nullptr) {
    data_ = base.valid.data();
  } else {
    owned_.resize(static_cast<size_t>(rows_));
    for (int64_t i = 0; i < rows_; ++i) owned_[i] = (filter[i] != 0) & (base.valid[i] != 0);
    data_ = owned_.data();
  }
  int64_t n = 0;
  for (int64_t i = 0; i < rows_; ++i) n += data_[i] != 0;
  passing_ = n;
}

bool PreferExact(const RowMask& mask) {
  return static_cast<double>(mask.passing()) < kExactBelowPassingFraction * static_cast<double>(mask.rows());
}

void PackHits(const HitLists& lists, flat::Hits* out) {
  out->ids.clear();
  out->distances.clear();
  out->offsets.assign(lists.size() + 1, 0);
  for (size_t q = 0; q < lists.size(); ++q) {
    for (const Hit& h : lists[q]) {
      out->ids.push_back(h.row);
      out->distances.push_back(h.distance);
    }
    out->offsets[q + 1] = static_cast<int64_t>(out->ids.size());
  }
}

Status ExactSearch(const flat::Matrix& queries, const flat::Matrix& base, flat::Metric metric, int64_t k,
                   const uint8_t* mask, HitLists* out) {
  flat::SearchParams sp;
  sp.metric = metric;
  sp.k = k;
  sp.filter = mask;
  flat::Hits hits;
  KITE_RETURN_IF_ERROR(flat::Search(queries, base, sp, &hits));
  out->assign(static_cast<size_t>(queries.rows), {});
  for (int64_t q = 0; q < queries.rows; ++q) {
    for (int64_t i = hits.offsets[q]; i < hits.offsets[q + 1]; ++i) {
      (*out)[q].push_back(Hit{hits.ids[i], hits.distances[i]});
    }
  }
  return Status::OK();
}

Status FillShortLists(const flat::Matrix& queries, const flat::Matrix& base, flat::Metric metric, int64_t k,
                      const RowMask& mask, HitLists* lists) {
  const int64_t want = std::min(k, mask.passing());
  std::vector<int64_t> short_queries;
  for (int64_t q = 0; q < queries.rows; ++q) {
    if (static_cast<int64_t>((*lists)[q].size()) < want) short_queries.push_back(q);
  }
  if (short_queries.empty()) return Status::OK();
  std::vector<uint8_t> buf;
  flat::Matrix sub = SelectQueries(queries, short_queries, &buf);
  HitLists exact;
  KITE_RETURN_IF_ERROR(ExactSearch(sub, base, metric, k, mask.data(), &exact));
  for (size_t i = 0; i < short_queries.size(); ++i) (*lists)[short_queries[i]] = std::move(exact[i]);
  return Status::OK();
}

Status Rerank(const flat::Matrix& queries, int64_t qi, const flat::Matrix& base, flat::Metric metric,
              std::vector<int64_t> cands, int64_t k, std::vector<Hit>* out) {
  out->clear();
  std::sort(cands.begin(), cands.end());
  cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
  if (cands.empty() || k == 0) return Status::OK();
  const int64_t rb = RowBytes(base);
  std::vector<uint8_t> rows(static_cast<size_t>(rb) * cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    std::memcpy(rows.data() + i * rb, static_cast<const uint8_t*>(base.data) + cands[i] * rb, rb);
  }
  const flat::Matrix q{static_cast<const uint8_t*>(queries.data) + qi * RowBytes(queries), 1, queries.dim,
                       queries.type};
  const flat::Matrix b{rows.data(), static_cast<int64_t>(cands.size()), base.dim, base.type};
  HitLists res;
  KITE_RETURN_IF_ERROR(ExactSearch(q, b, metric, k, nullptr, &res));
  for (const Hit& h : res[0]) out->push_back(Hit{cands[h.row], h.distance});
  return Status::OK();
}

void SortAndTruncate(flat::Metric metric, int64_t k, std::vector<Hit>* hits) {
  auto cmp = [metric](const Hit& a, const Hit& b) { return Better(metric, a, b); };
  if (static_cast<int64_t>(hits->size()) > k) {
    std::partial_sort(hits->begin(), hits->begin() + k, hits->end(), cmp);
    hits->resize(static_cast<size_t>(k));
  } else {
    std::sort(hits->begin(), hits->end(), cmp);
  }
}

}  // namespace kite::index::internal
