#include "query/search.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/vector_clones.h"
#include "index/sparse/bm25.h"

namespace kite {
namespace {

// mask[i] &= other[i] over 0/1 bytes.
KITE_VECTOR_CLONES void AndInto(uint8_t* __restrict mask, const uint8_t* __restrict other, int64_t n) {
  for (int64_t i = 0; i < n; ++i) mask[i] &= other[i];
}

// Number of non-zero bytes.
KITE_VECTOR_CLONES int64_t CountOnes(const uint8_t* __restrict mask, int64_t n) {
  int64_t c = 0;
  for (int64_t i = 0; i < n; ++i) c += mask[i] != 0;
  return c;
}

}  // namespace

flat::Metric MetricFromName(const std::string& n, bool* ok) {
  *ok = true;
  if (n == "L2") return flat::Metric::kL2;
  if (n == "IP") return flat::Metric::kIP;
  if (n == "COSINE") return flat::Metric::kCosine;
  if (n == "HAMMING") return flat::Metric::kHamming;
  if (n == "JACCARD") return flat::Metric::kJaccard;
  if (n == "BM25") return flat::Metric::kBM25;
  // Embedding lists (struct vector sub-fields): MAX_SIM over the element
  // metric; MAX_SIM alone is MAX_SIM_COSINE (Milvus 2.6).
  if (n == "MAX_SIM" || n == "MAX_SIM_COSINE") return flat::Metric::kCosine;
  if (n == "MAX_SIM_IP") return flat::Metric::kIP;
  if (n == "MAX_SIM_L2") return flat::Metric::kL2;
  *ok = false;
  return flat::Metric::kL2;
}

Status FilterMask(const ColumnBatch& batch, const std::vector<uint8_t>& visible, const expr::Plan* filter,
                  const expr::IndexLookup* indexes, std::vector<uint8_t>* mask) {
  if (!filter) {
    if (visible.empty()) {
      mask->assign(static_cast<size_t>(batch.num_rows), 1);
    } else {
      *mask = visible;
    }
    return Status::OK();
  }
  KITE_RETURN_IF_ERROR(expr::Evaluate(*filter, batch, indexes, mask));
  // `visible` empty: every row is visible.
  if (!visible.empty()) AndInto(mask->data(), visible.data(), static_cast<int64_t>(mask->size()));
  return Status::OK();
}

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

// Sparse inner product by merging sorted (index, value) lists.
float SparseDot(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  float sum = 0;
  while (i + 8 <= a.size() && j + 8 <= b.size()) {
    uint32_t ia, ib;
    std::memcpy(&ia, a.data() + i, 4);
    std::memcpy(&ib, b.data() + j, 4);
    if (ia == ib) {
      float va, vb;
      std::memcpy(&va, a.data() + i + 4, 4);
      std::memcpy(&vb, b.data() + j + 4, 4);
      sum += va * vb;
      i += 8;
      j += 8;
    } else if (ia < ib) {
      i += 8;
    } else {
      j += 8;
    }
  }
  return sum;
}

// BM25 score of document row `doc` for query row `q` (index/sparse/bm25.h);
// false when they share no term (the row is not a candidate, as in Milvus).
bool SparseBm25(std::string_view q, std::string_view doc, const index::Bm25Params& p, float* score) {
  float dl = 0;
  for (size_t j = 4; j + 4 <= doc.size(); j += 8) {
    float v;
    std::memcpy(&v, doc.data() + j, 4);
    dl += v;
  }
  size_t i = 0, j = 0;
  float sum = 0;
  bool shared = false;
  while (i + 8 <= q.size() && j + 8 <= doc.size()) {
    uint32_t iq, id;
    std::memcpy(&iq, q.data() + i, 4);
    std::memcpy(&id, doc.data() + j, 4);
    if (iq == id) {
      float w, tf;
      std::memcpy(&w, q.data() + i + 4, 4);
      std::memcpy(&tf, doc.data() + j + 4, 4);
      sum += w * index::Bm25Tf(tf, dl, p);
      shared = true;
      i += 8;
      j += 8;
    } else if (iq < id) {
      i += 8;
    } else {
      j += 8;
    }
  }
  *score = sum;
  return shared;
}

// MAX_SIM between an embedding list and a row's list (`dim`-float vectors
// back to back): the sum over the query's vectors of the best score among the
// row's vectors under `m` (largest IP / cosine, smallest squared L2). A row
// without vectors is no candidate. `q` holds the query's floats, `qnorm`
// their norms (cosine); `row` is copied into `scratch` (the column's bytes
// carry no float alignment).
bool MaxSimScore(const std::vector<float>& q, const std::vector<double>& qnorm, std::string_view row, int64_t dim,
                 flat::Metric m, std::vector<float>* scratch, std::vector<double>* best, float* out) {
  const size_t w = static_cast<size_t>(dim) * sizeof(float);
  if (w == 0 || row.size() < w) return false;
  const size_t nq = q.size() / static_cast<size_t>(dim), nr = row.size() / w;
  scratch->resize(nr * static_cast<size_t>(dim));
  std::memcpy(scratch->data(), row.data(), nr * w);
  const bool l2 = m == flat::Metric::kL2, cosine = m == flat::Metric::kCosine;
  best->assign(nq, 0.0);
  for (size_t j = 0; j < nr; ++j) {
    const float* b = scratch->data() + j * dim;
    double bn = 1.0;
    if (cosine) {
      double s = 0;
      for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(b[d]) * b[d];
      bn = std::sqrt(s);
    }
    for (size_t i = 0; i < nq; ++i) {
      const float* a = q.data() + i * dim;
      double s = 0;
      if (l2) {
        for (int64_t d = 0; d < dim; ++d) {
          double diff = static_cast<double>(a[d]) - b[d];
          s += diff * diff;
        }
      } else {
        for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(a[d]) * b[d];
        if (cosine) s = (qnorm[i] > 0 && bn > 0) ? s / (qnorm[i] * bn) : 0;
      }
      double& cur = (*best)[i];
      if (j == 0 || (l2 ? s < cur : s > cur)) cur = s;
    }
  }
  double total = 0;
  for (double b : *best) total += b;
  *out = static_cast<float>(total);
  return true;
}

void MaxSimSearch(const Column& base, const uint8_t* mask, const SearchPlan& plan,
                  std::vector<std::vector<std::pair<float, int64_t>>>* out) {
  out->assign(static_cast<size_t>(plan.queries.nq), {});
  const bool higher = flat::HigherIsBetter(plan.metric);
  const int64_t dim = plan.queries.dim;
  std::vector<float> q, scratch;
  std::vector<double> qnorm, best;
  for (int64_t qi = 0; qi < plan.queries.nq; ++qi) {
    std::string_view qv = plan.queries.rows.GetBytes(qi);
    q.resize(qv.size() / sizeof(float));
    if (!q.empty()) std::memcpy(q.data(), qv.data(), q.size() * sizeof(float));
    qnorm.assign(dim > 0 ? q.size() / static_cast<size_t>(dim) : 0, 1.0);
    for (size_t i = 0; i < qnorm.size(); ++i) {
      double s = 0;
      for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(q[i * dim + d]) * q[i * dim + d];
      qnorm[i] = std::sqrt(s);
    }
    auto& hits = (*out)[qi];
    for (int64_t r = 0; r < base.num_rows; ++r) {
      if ((mask && !mask[r]) || base.IsNull(r)) continue;
      float d;
      if (!MaxSimScore(q, qnorm, base.GetBytes(r), dim, plan.metric, &scratch, &best, &d)) continue;
      if (plan.radius && !(higher ? d > *plan.radius : d < *plan.radius)) continue;
      if (plan.range_filter && !(higher ? d <= *plan.range_filter : d >= *plan.range_filter)) continue;
      hits.emplace_back(d, r);
    }
    auto better = [&](const auto& x, const auto& y) {
      if (x.first != y.first) return higher ? x.first > y.first : x.first < y.first;
      return x.second < y.second;
    };
    if (static_cast<int64_t>(hits.size()) > plan.k) {
      std::partial_sort(hits.begin(), hits.begin() + plan.k, hits.end(), better);
      hits.resize(static_cast<size_t>(plan.k));
    } else {
      std::sort(hits.begin(), hits.end(), better);
    }
  }
}

void SparseSearch(const Column& base, const uint8_t* mask, const SearchPlan& plan,
                  std::vector<std::vector<std::pair<float, int64_t>>>* out) {
  out->assign(static_cast<size_t>(plan.queries.nq), {});
  const bool bm25 = plan.metric == flat::Metric::kBM25;
  const index::Bm25Params bp = index::Bm25FromParams(plan.index_params);
  for (int64_t q = 0; q < plan.queries.nq; ++q) {
    std::string_view qv = plan.queries.rows.GetBytes(q);
    auto& hits = (*out)[q];
    for (int64_t r = 0; r < base.num_rows; ++r) {
      if (mask && !mask[r]) continue;
      float d;
      if (bm25) {
        if (!SparseBm25(qv, base.GetBytes(r), bp, &d)) continue;
      } else {
        d = SparseDot(qv, base.GetBytes(r));
      }
      if (plan.radius && !(d > *plan.radius)) continue;
      if (plan.range_filter && !(d <= *plan.range_filter)) continue;
      hits.emplace_back(d, r);
    }
    std::sort(hits.begin(), hits.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    });
    if (static_cast<int64_t>(hits.size()) > plan.k) hits.resize(static_cast<size_t>(plan.k));
  }
}

}  // namespace

bool UseIndex(const index::VectorIndex* idx, const SearchPlan& plan, int64_t passing) {
  if (!idx || idx->metric() != plan.metric || plan.radius) return false;
  std::string type = idx->type();
  if (type == "FLAT" || type == "BIN_FLAT") return false;  // the exact kernels are that index
  // A few thousand rows are scanned exactly faster than any index walks them
  // (and then the answer is exact).
  constexpr int64_t kExactBelowRows = 2048;
  return passing > plan.k && passing >= kExactBelowRows;
}

Status SearchSegment(const Segment& seg, int32_t segment_index, const SearchPlan& plan,
                     std::vector<HitList>* per_query) {
  per_query->assign(static_cast<size_t>(plan.queries.nq), {});
  if (!plan.partitions.empty() && !plan.partitions.count(seg.meta().partition_id.value)) return Status::OK();
  Status st;
  FieldId pk_field = seg.schema().PrimaryField()->id;
  std::shared_ptr<const index::VectorIndex> vindex = seg.VectorIndexOf(plan.queries.field);
  auto scalar = plan.filter ? seg.ScalarIndexes() : nullptr;

  // Searches `batch` with `mask` (nullptr: every row may be returned) of
  // which `passing` rows are set.
  auto run = [&](const ColumnBatch& batch, const uint8_t* mask, int64_t passing) {
    const Column* base = batch.Find(plan.queries.field);
    const Column* pks = batch.Find(pk_field);
    if (!base) {
      st = Internal("segment {} lacks vector field {}", seg.id().value, plan.queries.field.value);
      return;
    }
    std::vector<std::vector<std::pair<float, int64_t>>> raw;
    if (UseIndex(vindex.get(), plan, passing)) {
      index::SearchArgs args;
      args.k = plan.k;
      args.filter = mask;
      args.filter_passing = passing;
      args.params = plan.index_params;
      flat::Hits hits;
      st = vindex->Search(*base, plan.queries.rows, args, &hits);
      if (!st.ok()) return;
      // An index that could not reach k filtered rows for some query hands
      // the whole batch to the exact kernels: k true neighbours, always.
      int64_t want = std::min(plan.k, passing);
      bool short_answer = false;
      raw.resize(static_cast<size_t>(plan.queries.nq));
      for (int64_t qi = 0; qi < plan.queries.nq; ++qi) {
        for (int64_t j = hits.offsets[qi]; j < hits.offsets[qi + 1]; ++j) {
          int64_t row = hits.ids[j];
          if (row < 0 || row >= batch.num_rows || (mask && !mask[row])) continue;
          raw[qi].emplace_back(hits.distances[j], row);
        }
        if (static_cast<int64_t>(raw[qi].size()) < want) short_answer = true;
      }
      // The sparse index walks every posting of the query's terms: its answer
      // is complete (rows sharing no term are not candidates).
      if (short_answer && plan.metric != flat::Metric::kBM25) raw.clear();
    }
    if (!raw.empty()) {
      // answered by the index
    } else if (plan.queries.type == DataType::kArrayOfVector) {
      MaxSimSearch(*base, mask, plan, &raw);
    } else if (plan.queries.type == DataType::kSparseFloatVector) {
      SparseSearch(*base, mask, plan, &raw);
    } else {
      flat::Matrix q{plan.queries.rows.fixed.data(), plan.queries.nq, plan.queries.dim, ElemOf(plan.queries.type)};
      flat::Matrix b{base->fixed.data(), batch.num_rows, plan.queries.dim, ElemOf(plan.queries.type)};
      flat::SearchParams sp;
      sp.metric = plan.metric;
      sp.k = std::min<int64_t>(plan.k, batch.num_rows);
      sp.filter = mask;
      sp.radius = plan.radius;
      sp.range_filter = plan.range_filter;
      flat::Hits hits;
      st = flat::Search(q, b, sp, &hits);
      if (!st.ok()) return;
      raw.resize(static_cast<size_t>(plan.queries.nq));
      for (int64_t qi = 0; qi < plan.queries.nq; ++qi) {
        for (int64_t j = hits.offsets[qi]; j < hits.offsets[qi + 1]; ++j) {
          if (hits.ids[j] < 0) continue;
          raw[qi].emplace_back(hits.distances[j], hits.ids[j]);
        }
      }
    }
    bool higher = flat::HigherIsBetter(plan.metric);
    for (int64_t qi = 0; qi < plan.queries.nq; ++qi) {
      HitList& list = (*per_query)[qi];
      list.reserve(raw[qi].size());
      for (const auto& [d, row] : raw[qi]) list.push_back(Hit{d, PkAt(*pks, row), HitSource{segment_index, row}});
      // The kernels break ties by row; the merge breaks them by primary key.
      std::stable_sort(list.begin(), list.end(), [&](const Hit& x, const Hit& y) { return HitBetter(x, y, higher); });
    }
  };

  // One lock for the visibility check and the search (Segment::WithVisibleRows):
  // `visible` is empty when every row is visible at the read timestamp.
  seg.WithVisibleRows(plan.ts, plan.expire_before, [&](const ColumnBatch& batch, const std::vector<uint8_t>& visible) {
    if (batch.num_rows == 0) return;
    const Column* base = batch.Find(plan.queries.field);
    if (!plan.filter && visible.empty()) {
      // Fast path (a sealed segment without deletes, read at or after its
      // newest row): no per-row mask unless vectors may be null.
      if (base && base->valid.empty()) {
        run(batch, nullptr, batch.num_rows);
        return;
      }
      std::vector<uint8_t> mask(static_cast<size_t>(batch.num_rows), 1);
      if (base) AndInto(mask.data(), base->valid.data(), batch.num_rows);
      run(batch, mask.data(), CountOnes(mask.data(), batch.num_rows));
      return;
    }
    // Filter AND visibility (the filter's result alone when every row is visible).
    std::vector<uint8_t> mask;
    st = FilterMask(batch, visible, plan.filter, scalar ? &scalar->lookup : nullptr, &mask);
    if (!st.ok()) return;
    // Null vectors (nullable vector fields) are never returned.
    if (base && !base->valid.empty()) AndInto(mask.data(), base->valid.data(), batch.num_rows);
    int64_t passing = CountOnes(mask.data(), batch.num_rows);
    if (passing == 0) return;
    run(batch, mask.data(), passing);
  });
  return st;
}

}  // namespace kite
