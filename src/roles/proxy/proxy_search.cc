// Proxy::Search: validation, planning and the proxy-level reduce of a vector
// search (DESIGN.md "Search flow"): every segment is searched exactly under its
// filter bitset, hits are merged with the shared top-k merge, then offset,
// grouping, rounding and output fields are applied.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include <fmt/ranges.h>

#include "roles/proxy/proxy.h"
#include "common/log.h"
#include "roles/proxy/plan_error.h"
#include "roles/api/role_call.h"
#include "roles/api/role_codec.h"

namespace kite {
namespace {

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    if ((mant >> (shift - 1)) & 1) half += 1;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if (mant & 0x1000) half += 1;  // round half up
  return static_cast<uint16_t>(half);
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  x += 0x7fff + ((x >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(x >> 16);
}

// Decodes the query vectors into a column shaped like the field's.
Result<VectorQueries> DecodeQueries(const SearchParams& p, const FieldSchema& f, const Limits& limits) {
  VectorQueries q;
  q.field = f.id;
  q.type = f.type;
  q.dim = f.dim();
  q.nq = static_cast<int64_t>(p.query_vectors.size());
  if (q.nq == 0) return InvalidArgument("no query vectors: nq must be in [1, {}]", limits.max_nq);
  if (q.nq > limits.max_nq) {
    return InvalidArgument(
        "nq [{}] is invalid, nq (number of search vector per search request) should be in range [1, {}], but got {}",
        q.nq, limits.max_nq, q.nq);
  }
  q.rows = Column::ForField(f);
  bool convert = p.query_type == DataType::kFloatVector &&
                 (f.type == DataType::kFloat16Vector || f.type == DataType::kBFloat16Vector);
  if (p.query_type != f.type && !convert) {
    return InvalidArgument("the type of the query vectors ({}) does not match the type of field {} ({})",
                           DataTypeName(p.query_type), f.name, DataTypeName(f.type));
  }
  for (int64_t i = 0; i < q.nq; ++i) {
    const std::string& v = p.query_vectors[i];
    if (f.type == DataType::kArrayOfVector) {
      // An embedding list: one or more vectors of the sub-field's dim.
      const size_t w = static_cast<size_t>(q.dim) * sizeof(float);
      if (v.empty() || w == 0 || v.size() % w != 0) {
        return InvalidArgument("the embedding list {} of the query ({} floats) is not made of vectors of the dim ({}) "
                               "of field {}",
                               i, v.size() / sizeof(float), q.dim, f.name);
      }
      for (size_t d = 0; d < v.size() / sizeof(float); ++d) {
        float x;
        std::memcpy(&x, v.data() + sizeof(float) * d, sizeof(float));
        if (!std::isfinite(x)) return InvalidArgument("query vector {} has NaN or infinite values", i);
      }
      q.rows.AppendVar(v);
      continue;
    }
    if (f.type == DataType::kSparseFloatVector) {
      if (v.size() % 8 != 0) return InvalidArgument("query vector {} is not a valid sparse vector", i);
      q.rows.AppendVar(v);
      continue;
    }
    size_t want = convert ? static_cast<size_t>(q.dim) * 4 : q.rows.row_bytes;
    if (v.size() != want) {
      int64_t got_dim = convert || f.type == DataType::kFloatVector ? static_cast<int64_t>(v.size() / 4)
                        : f.type == DataType::kBinaryVector        ? static_cast<int64_t>(v.size() * 8)
                        : f.type == DataType::kInt8Vector          ? static_cast<int64_t>(v.size())
                                                                    : static_cast<int64_t>(v.size() / 2);
      return InvalidArgument("the dim ({}) of query vector {} is not equal to the dim ({}) of field {}", got_dim, i,
                             q.dim, f.name);
    }
    if (convert) {
      std::string out(q.rows.row_bytes, '\0');
      for (int64_t d = 0; d < q.dim; ++d) {
        float x;
        std::memcpy(&x, v.data() + 4 * d, 4);
        uint16_t h = f.type == DataType::kFloat16Vector ? FloatToHalf(x) : FloatToBFloat16(x);
        std::memcpy(out.data() + 2 * d, &h, 2);
      }
      q.rows.AppendFixed(out.data());
    } else {
      if (f.type == DataType::kFloatVector) {
        for (int64_t d = 0; d < q.dim; ++d) {
          float x;
          std::memcpy(&x, v.data() + 4 * d, 4);
          if (!std::isfinite(x)) return InvalidArgument("query vector {} has NaN or infinite values", i);
        }
      }
      q.rows.AppendFixed(v.data());
    }
  }
  return q;
}

// Distance work of the search, in dimension-operations: indexed segments
// ~ef x 32 candidates per query (HNSW) or a sixteenth of the rows (IVF-like,
// default nprobe), unindexed ones every row, a filter one pass over the rows.
double EstimateCost(const SearchPlan& plan, const rolepb::ReadStatsResponse& stats, bool filtered) {
  const double nq = static_cast<double>(plan.queries.nq);
  const double dim = plan.queries.type == DataType::kSparseFloatVector
                         ? 64.0
                         : static_cast<double>(std::max<int64_t>(plan.queries.dim, 1));
  double ef = static_cast<double>(plan.k);
  if (auto it = plan.index_params.find("ef"); it != plan.index_params.end()) {
    ef = std::max(ef, std::strtod(it->second.c_str(), nullptr));
  }
  double cost = 0;
  for (const rolepb::SegmentStats& seg : stats.segments()) {
    const double rows = static_cast<double>(seg.rows());
    const std::string& type = seg.index_type();
    if (type.empty() || type == "FLAT" || type == "BIN_FLAT") {
      cost += nq * rows * dim;
    } else if (type == "HNSW" || type == "DISKANN" || type.rfind("HNSW_", 0) == 0) {
      cost += nq * std::min(rows, ef * 32) * dim;
    } else {
      cost += nq * rows * dim / 16;
    }
    if (filtered) cost += rows * 16;
  }
  return cost;
}

// The search parameters Milvus's index layer (knowhere) range-checks, with
// its messages: HNSW `ef` in [1, 2^31-1] and not below k, IVF `nprobe` in
// [1, 65536]. Checked whatever the segments' state, so a request is refused
// the same way before and after the index is built.
Status CheckIntParam(const std::map<std::string, std::string>& params, const char* key, int64_t lo, int64_t hi,
                     std::optional<int64_t>* out) {
  auto it = params.find(key);
  if (it == params.end()) return Status::OK();
  const std::string& s = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return InvalidArgument("param '{}' ({}) should be in range [{}, {}]", key, s, lo, hi);
  }
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return InvalidArgument("Type conflict in json: param '{}' ({}) should be integer", key, s);
  }
  if (v < lo || v > hi) return InvalidArgument("param '{}' ({}) should be in range [{}, {}]", key, v, lo, hi);
  *out = v;
  return Status::OK();
}

Status CheckIndexSearchParams(const std::string& index_type, const std::map<std::string, std::string>& params,
                              int64_t k) {
  std::optional<int64_t> v;
  if (index_type == "HNSW") {
    KITE_RETURN_IF_ERROR(CheckIntParam(params, "ef", 1, std::numeric_limits<int32_t>::max(), &v));
    if (v && *v < k) return InvalidArgument("ef({}) should be larger than k({})", *v, k);
  } else if (index_type.rfind("IVF_", 0) == 0 || index_type == "BIN_IVF_FLAT" || index_type == "SCANN") {
    KITE_RETURN_IF_ERROR(CheckIntParam(params, "nprobe", 1, 65536, &v));
  }
  return Status::OK();
}

// Output fields, one row per hit in result order, from the rows the shards
// carried with their hits (hit.source.row), into columns reserved once.
void AssembleOutputRows(const SearchPart& part, const std::vector<FieldId>& fields, SearchOutcome* out) {
  size_t total = 0;
  for (const HitList& list : out->hits) total += list.size();
  ColumnBatch& rows = out->rows;
  rows.columns.clear();
  rows.num_rows = 0;
  if (total == 0) return;
  std::vector<const Column*> from;
  for (FieldId f : fields) {
    const Column* c = part.rows.Find(f);
    if (!c) continue;
    from.push_back(c);
    Column col = c->EmptyLike();
    col.Reserve(static_cast<int64_t>(total));
    rows.columns.push_back(std::move(col));
  }
  for (const HitList& list : out->hits) {
    for (const Hit& h : list) {
      for (size_t c = 0; c < from.size(); ++c) rows.columns[c].AppendFrom(*from[c], h.source.row);
    }
  }
  rows.num_rows = static_cast<int64_t>(total);
}

// A numeric cell as a double (decay rerankers read Int8..Int64, Float, Double).
double NumericAt(const Column& c, int64_t row) {
  switch (c.type) {
    case DataType::kInt8: return c.Get<int8_t>(row);
    case DataType::kInt16: return c.Get<int16_t>(row);
    case DataType::kInt32: return c.Get<int32_t>(row);
    case DataType::kInt64: return static_cast<double>(c.Get<int64_t>(row));
    case DataType::kFloat: return c.Get<float>(row);
    case DataType::kDouble: return c.Get<double>(row);
    default: return 0;
  }
}

// One field of a hit's row, as carried by the shards.
Column FieldOfHit(const SearchPart& part, const Hit& h, const FieldSchema& f) {
  const Column* c = part.rows.Find(f.id);
  Column one = c->EmptyLike();
  one.AppendFrom(*c, h.source.row);
  return one;
}

// A grouped search's hits before paging: groups in order of their best hit,
// up to `group_size` hits each, the first `groups` groups, listed group by
// group (the order Milvus's grouped reduce emits, which rerankers rank).
HitList FirstGroups(HitList merged, const SearchPart& segs, const FieldSchema& group_field,
                    int64_t groups, int64_t group_size) {
  std::vector<std::string> order;
  std::map<std::string, HitList> members;
  for (Hit& h : merged) {
    std::string key = GroupKey(FieldOfHit(segs, h, group_field), 0);
    auto it = members.find(key);
    if (it == members.end()) {
      if (static_cast<int64_t>(order.size()) >= groups) continue;
      order.push_back(key);
      it = members.emplace(key, HitList{}).first;
    }
    if (static_cast<int64_t>(it->second.size()) < group_size) it->second.push_back(std::move(h));
  }
  HitList out;
  for (const std::string& key : order) {
    for (Hit& h : members[key]) out.push_back(std::move(h));
  }
  return out;
}

// search(ranker=...): rescores one query's merged hits (offset + limit of
// them, or every hit with group-by) and keeps `limit` after `offset`.
Result<HitList> RerankSearchHits(const Reranker& r, const HitList& merged, const SearchPart& segs,
                                 const FieldSchema* group_field, const SearchParams& p, const std::string& metric,
                                 std::optional<Column>* group_values) {
  std::vector<double> values;
  if (r.input) {
    values.reserve(merged.size());
    for (const Hit& h : merged) values.push_back(NumericAt(FieldOfHit(segs, h, *r.input), 0));
  }
  RerankOptions o;
  o.limit = p.topk;
  o.offset = p.offset;
  o.round_decimal = p.round_decimal;
  std::vector<std::vector<std::string>> keys;
  std::vector<Column> group_cells;
  if (group_field) {
    keys.emplace_back();
    for (const Hit& h : merged) {
      group_cells.push_back(FieldOfHit(segs, h, *group_field));
      keys[0].push_back(GroupKey(group_cells.back(), 0));
    }
    o.group_keys = &keys;
    o.group_size = p.group_size;
    o.strict_group_size = p.strict_group_size;
  }
  KITE_ASSIGN_OR_RETURN(std::vector<RerankedHit> fused,
                        Rerank(r, {RankedList{&merged, metric, r.input ? &values : nullptr}}, o));
  HitList out;
  out.reserve(fused.size());
  for (RerankedHit& f : fused) {
    if (group_field) (*group_values)->AppendFrom(group_cells[f.pos], 0);
    out.push_back(std::move(f.hit));
  }
  return out;
}

// order_by_fields: reorders each query's kept hits (whole groups, by their
// first hit, with group-by); ties keep distance order. Milvus applies the
// offset before this ordering, and so does Kite.
void OrderSearchHits(const std::vector<OrderByKey>& keys, const SearchPart& segs,
                     const FieldSchema* group_field, SearchOutcome* out) {
  std::vector<int64_t> group_rows;  // new order of out->group_values rows
  int64_t group_base = 0;
  for (HitList& hits : out->hits) {
    const size_t n = hits.size();
    std::vector<std::vector<OrderValue>> values(n);
    for (size_t i = 0; i < n; ++i) {
      for (const OrderByKey& k : keys) values[i].push_back(OrderValueAt(k, FieldOfHit(segs, hits[i], *k.field), 0));
    }
    // Units to sort: single hits, or runs of hits of one group.
    std::vector<std::pair<size_t, size_t>> units;  // [begin, end)
    for (size_t i = 0; i < n;) {
      size_t j = i + 1;
      if (group_field) {
        std::string key = GroupKey(*out->group_values, group_base + static_cast<int64_t>(i));
        while (j < n && GroupKey(*out->group_values, group_base + static_cast<int64_t>(j)) == key) ++j;
      }
      units.emplace_back(i, j);
      i = j;
    }
    std::stable_sort(units.begin(), units.end(), [&](const auto& a, const auto& b) {
      return OrderBefore(keys, values[a.first], values[b.first]);
    });
    HitList sorted;
    sorted.reserve(n);
    for (const auto& [b, e] : units) {
      for (size_t i = b; i < e; ++i) {
        sorted.push_back(std::move(hits[i]));
        group_rows.push_back(group_base + static_cast<int64_t>(i));
      }
    }
    hits = std::move(sorted);
    group_base += static_cast<int64_t>(n);
  }
  if (group_field && out->group_values) out->group_values = out->group_values->Select(group_rows);
}

// Milvus's search keeps the primary key among the output fields when the
// caller names it or asks for "*" (translateOutputFields without removing
// the pk), unlike query, which always returns it.
bool PrimaryKeyRequested(const CollectionSchema& s, const std::vector<std::string>& names) {
  const std::string& pk = s.PrimaryField()->name;
  for (std::string n : names) {
    n.erase(0, n.find_first_not_of(' '));
    n.erase(n.find_last_not_of(' ') + 1);
    if (n == "*" || n == pk) return true;
  }
  return false;
}

// Milvus 2.6 searchTask (setQueryInfoIfMvEnable): with partition-key
// isolation on, a search's filter must pin the partition key with `==`.
Status CheckIsolationFilter(const CollectionInfo& c, const expr::Plan* filter) {
  KITE_ASSIGN_OR_RETURN(bool isolated, PartitionKeyIsolationEnabled(c.properties));
  if (!isolated) return Status::OK();
  for (const auto& f : c.schema.fields) {
    if (f.is_partition_key) return expr::CheckPartitionKeyIsolation(filter, f.id);
  }
  return Status::OK();
}

}  // namespace

Result<SearchOutcome> Proxy::Search(const SearchParams& p) {
  KITE_ASSIGN_OR_RETURN(PreparedSearch prep, PrepareSearch(p));
  return RunSearch(p, std::move(prep));
}

Result<PreparedSearch> Proxy::PrepareSearch(const SearchParams& p) {
  PreparedSearch prep;
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
  const CollectionInfo& c = v.info;
  SearchPlan& plan = prep.plan;
  KITE_RETURN_IF_ERROR(CheckReadable(c, p.partitions, &plan.partitions));
  // An iterator names the collection its first page read; the name may now
  // lead elsewhere (an alias moved, another database in use).
  if (p.collection_id > 0 && p.collection_id != c.id.value) {
    return InvalidArgument(
        "collection id:{} in the request is not consistent to that in the search context,alias or database may "
        "have been changed: {}: invalid parameter",
        p.collection_id, c.id.value);
  }
  SearchOutcome& out = prep.out;
  expr::ParseOptions parse_options;
  KITE_ASSIGN_OR_RETURN(parse_options.timezone, Timezone(v, p.timezone));
  out.timezone = parse_options.timezone;
  out.schema = std::make_shared<const CollectionSchema>(c.schema);
  const CollectionSchema& s = *out.schema;

  // The vector field and its metric.
  const FieldSchema* field = nullptr;
  if (p.anns_field.empty()) {
    auto vecs = s.VectorFields();
    if (vecs.size() != 1 && p.ids) {
      // Search by primary keys words it differently in Milvus.
      return InvalidArgument("multiple vector fields exist, please specify anns_field in search_params");
    }
    if (vecs.size() != 1) {
      return InvalidArgument("multiple anns_fields exist, please specify a anns_field in search_params");
    }
    field = vecs[0];
  } else {
    field = s.FindField(p.anns_field);
    if (!field || !(IsVectorType(field->type) || field->type == DataType::kArrayOfVector)) {
      // Milvus finds the field while it builds the search plan.
      return InvalidArgument("failed to create query plan: failed to get field schema by name: fieldName({}) not "
                             "found: invalid parameter",
                             p.anns_field);
    }
  }
  KITE_ASSIGN_OR_RETURN(auto indexes, coord_->DescribeIndex(p.db, p.collection, field->name, ""));
  std::string metric = indexes[0].resolved_params.count("metric_type") ? indexes[0].resolved_params.at("metric_type") : "";
  if (s.Bm25FunctionFor(field->name) && !p.metric_type.empty() && p.metric_type != "BM25") {
    return InvalidArgument(
        "must use BM25 metric type when searching against BM25 Function output field: invalid "
        "parameter[expected=BM25][actual={}]",
        p.metric_type);
  }
  if (!p.metric_type.empty() && p.metric_type != metric) {
    return InvalidArgument("metric type not match: invalid parameter[expected={}][actual={}]", metric, p.metric_type);
  }
  bool ok = false;
  plan.metric = MetricFromName(metric, &ok);
  if (!ok && !(field->type == DataType::kSparseFloatVector && (metric == "IP" || metric == "BM25"))) {
    return InvalidArgument("metric type {} of field {} is not supported by exact search", metric, field->name);
  }
  out.metric = metric;
  const bool higher = field->type == DataType::kSparseFloatVector || flat::HigherIsBetter(plan.metric);
  prep.higher = higher;

  // Milvus's segment engine checks the hints of a search that is not a range
  // search (its plan creation, so its error names the plan).
  if (!p.radius) {
    auto params_hints = p.index_params.find("hints");
    const std::string* bad = nullptr;
    if (!p.hints.empty()) {
      if (p.hints != "disable" && p.hints != "iterative_filter") bad = &p.hints;
    } else if (params_hints != p.index_params.end() && params_hints->second != "iterative_filter") {
      bad = &params_hints->second;
    }
    if (bad) return InvalidArgument("Create Plan by expr failed:  => hints: {} not supported", *bad);
  }
  // Limits: nq first, as Milvus checks it before it parses the topk.
  const int64_t nq = p.ids ? static_cast<int64_t>(p.ids->size()) : static_cast<int64_t>(p.query_vectors.size());
  if (nq > limits_.max_nq) {
    return InvalidArgument(
        "nq [{}] is invalid, nq (number of search vector per search request) should be in range [1, {}], but got {}",
        nq, limits_.max_nq, nq);
  }
  if (p.topk <= 0 || p.topk > limits_.max_topk) {
    return InvalidArgument("topk [{}] is invalid, it should be in range [1, {}], but got {}", p.topk, limits_.max_topk,
                           p.topk);
  }
  if (p.offset < 0) return InvalidArgument("offset [{}] is invalid, it should be gte than 0", p.offset);
  if (p.topk + p.offset > limits_.max_topk) {
    return InvalidArgument("topk+offset [{}] is invalid, it should be in range [1, {}]", p.topk + p.offset,
                           limits_.max_topk);
  }
  // Milvus's parseGroupByInfo words.
  if (p.group_size <= 0) {
    return InvalidArgument("input group size:{} is negative, failed to do search_groupby: invalid parameter",
                           p.group_size);
  }
  if (p.group_size > limits_.max_group_size) {
    return InvalidArgument("input group size:{} exceeds configured max group size:{}: invalid parameter",
                           p.group_size, limits_.max_group_size);
  }
  // A BM25 function's output is searched with raw texts, analyzed once the
  // segments (and so the corpus statistics) are known, below.
  const bool bm25_field = s.Bm25FunctionFor(field->name) != nullptr;
  bool have_ts = false;
  if (p.ids) {
    // Milvus 2.6 searches by primary keys only on plain vector fields: a
    // struct's vector sub-field (an embedding list per row) is refused.
    if (field->type == DataType::kArrayOfVector) {
      return InvalidArgument("array of vector is not supported for search by IDs");
    }
    // The read timestamp first: the query vectors are read at it too.
    if (static_cast<int64_t>(p.ids->size()) > limits_.max_nq) {
      return InvalidArgument(
          "nq [{}] is invalid, nq (number of search vector per search request) should be in range [1, {}], but got {}",
          p.ids->size(), limits_.max_nq, p.ids->size());
    }
    KITE_ASSIGN_OR_RETURN(ReadAt at, ReadTimestamp(c, p.consistency));
    plan.ts = at.ts;
    prep.guarantee_ts = at.guarantee;
    have_ts = true;
    SearchParams by_ids = p;
    KITE_RETURN_IF_ERROR(VectorsOfIds(c, *field, plan, at, *p.ids, &by_ids));
    KITE_ASSIGN_OR_RETURN(plan.queries, DecodeQueries(by_ids, *field, limits_));
  } else if (!bm25_field) {
    KITE_ASSIGN_OR_RETURN(plan.queries, DecodeQueries(p, *field, limits_));
  }
  out.nq = plan.queries.nq;
  out.topk = p.topk;

  if (field->type == DataType::kArrayOfVector) {
    // Milvus 2.6 parseSearchInfo: an embedding-list search is a plain top-k
    // search (merr.WrapErrParameterInvalid("", "", what, field name)).
    const char* what = p.radius            ? "range search"
                       : !p.group_by_field.empty() ? "group by search"
                       : p.iterator_v2     ? "search iterator"
                                           : nullptr;
    if (what) {
      return InvalidArgument(
          "{} is not supported for vector array (embedding list) fields, fieldName:->{}: invalid "
          "parameter[expected=][actual=]",
          what, field->name);
    }
  }

  const FieldSchema* group_field = nullptr;
  if (!p.group_by_field.empty()) {
    group_field = s.FindField(p.group_by_field);
    // Milvus reads the group-by field as a filter identifier first.
    if (!group_field && !IsFilterIdentifier(p.group_by_field) && p.group_by_field.find('[') == std::string::npos) {
      return InvalidArgument("cannot parse identifier: {}", p.group_by_field);
    }
    if (!group_field || group_field->is_dynamic) {
      return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "groupBy field {} not found in schema",
                        p.group_by_field);
    }
    DataType t = group_field->type;
    if (!(t == DataType::kBool || IsIntegerType(t) || t == DataType::kVarChar)) {
      return InvalidArgument("group by field {} of type {} is not supported: use Bool, Int8..Int64 or VarChar",
                             group_field->name, DataTypeName(t));
    }
    if (p.radius) return InvalidArgument("Not allowed to do range-search when doing search-group-by");
    if (p.iterator_v2) return InvalidArgument("Not allowed to do groupBy when doing iteration");
    out.group_field = group_field;
  }

  // Milvus 2.6 (initSearchRequest): a function score (any ranker, boost
  // included) on a search iterator's request is refused.
  if (p.consistency.pin && (p.rerank || !p.boosts.empty())) {
    return InvalidArgument("Range search do not support rerank");
  }
  if (p.rerank) {
    KITE_ASSIGN_OR_RETURN(prep.reranker, ParseReranker(*p.rerank, s));
    if (!prep.reranker) return InvalidArgument("a boost ranker must be sent in the function score's functions");
    if (group_field && !prep.reranker->supports_group()) {
      return InvalidArgument("Current rerank does not support grouping search");
    }
  }
  if (!p.order_by.empty()) {
    if (p.iterator_v2) return InvalidArgument("order_by is not supported when using search iterator");
    KITE_ASSIGN_OR_RETURN(prep.order_by, ResolveOrderBy(p.order_by, s));
  }
  // Boost scorers are built with the search plan (Milvus's CreateSearchPlan:
  // the filter, then the weight and random_score, then the modes); its
  // errors come back as "failed to create query plan: ...: invalid parameter".
  auto plan_error = [](const std::string& msg) {
    return InvalidArgument("failed to create query plan: {}: invalid parameter", msg);
  };
  for (const RerankRequest& b : p.boosts) {
    for (const auto& [key, value] : b.params) {
      if (key != "filter" || value.find_first_not_of(" \t\n\r") == std::string::npos) continue;
      auto bf = expr::Compile(value, s, p.filter_values, parse_options);
      if (!bf.ok()) return plan_error(fmt::format("parse expr failed with error: {{{}}}", bf.status().message()));
    }
    auto boost = ParseBoost(b, p.function_score_params, s);
    if (!boost.ok()) return plan_error(boost.status().message());
    prep.boosts.push_back(std::move(*boost));
  }
  if (group_field && !prep.boosts.empty()) {
    return plan_error("don't support use segment scorer with group_by or search_iterator");
  }
  KITE_RETURN_IF_ERROR(ResolveOutputFields(s, p.output_fields, &out.fields, &out.dynamic_keys,
                                           &out.include_all_dynamic, nullptr));
  out.pk_requested = PrimaryKeyRequested(s, p.output_fields);
  const bool filtered = p.filter.find_first_not_of(" \t\n\r") != std::string::npos;
  if (filtered) {
    auto compiled = expr::Compile(p.filter, s, p.filter_values, parse_options);
    if (!compiled.ok()) return PlanError(compiled.status(), kSearchPlanStep);
    prep.filter = std::move(*compiled);
    plan.filter = prep.filter.get();
  }
  KITE_RETURN_IF_ERROR(CheckIsolationFilter(c, plan.filter));
  plan.radius = p.radius;
  plan.range_filter = p.range_filter;
  plan.index_params = p.index_params;
  plan.index_params.erase(kBoostFunctionModeParam);
  if (!prep.boosts.empty() && prep.boosts.front().function_sum) plan.index_params[kBoostFunctionModeParam] = "sum";
  if (p.iterator_v2 && p.iterator_last_bound) {
    // Next page: hits strictly worse than the last one returned.
    float lb = *p.iterator_last_bound;
    if (higher) {
      plan.radius = p.radius.value_or(std::numeric_limits<float>::lowest());
      float below = std::nextafter(lb, -std::numeric_limits<float>::infinity());
      plan.range_filter = p.range_filter ? std::min(*p.range_filter, below) : below;
    } else {
      plan.radius = p.radius.value_or(std::numeric_limits<float>::max());
      float above = std::nextafter(lb, std::numeric_limits<float>::infinity());
      plan.range_filter = p.range_filter ? std::max(*p.range_filter, above) : above;
    }
  }
  plan.k = p.topk + p.offset;
  if (!p.radius) {
    auto type = indexes[0].resolved_params.find("index_type");
    KITE_RETURN_IF_ERROR(CheckIndexSearchParams(type == indexes[0].resolved_params.end() ? "" : type->second,
                                                p.index_params, plan.k));
  }
  if (!have_ts) {
    KITE_ASSIGN_OR_RETURN(ReadAt at, ReadTimestamp(c, p.consistency));
    plan.ts = at.ts;
    prep.guarantee_ts = at.guarantee;
  }
  prep.expire_before = ExpireBefore(c, plan.ts);
  out.ts = plan.ts;
  prep.collection = c.id;
  prep.channels = c.channels;
  plan.queries.field = field->id;
  const ReadAt at{plan.ts, prep.guarantee_ts, prep.expire_before};
  if (bm25_field) {
    for (const char* key : {"bm25_k1", "bm25_b"}) {
      auto it = indexes[0].resolved_params.find(key);
      if (it != indexes[0].resolved_params.end() && !plan.index_params.count(key)) plan.index_params[key] = it->second;
    }
    Bm25StatsFn stats = [&](const std::vector<uint32_t>& terms) -> Result<Bm25Corpus> {
      KITE_ASSIGN_OR_RETURN(rolepb::ReadStatsResponse r, ShardStats(c, plan, at, !p.ignore_growing, terms));
      Bm25Corpus corpus;
      corpus.rows = r.bm25_rows();
      corpus.tokens = r.bm25_tokens();
      corpus.df.assign(r.bm25_df().begin(), r.bm25_df().end());
      corpus.df.resize(terms.size(), 0);
      return corpus;
    };
    KITE_RETURN_IF_ERROR(PrepareBm25Queries(s, *field, p, stats, limits_, &plan));
    out.nq = plan.queries.nq;
  }
  KITE_ASSIGN_OR_RETURN(std::shared_ptr<const rolepb::ReadStatsResponse> recent,
                        RecentShardStats(c, plan, at, !p.ignore_growing));
  const rolepb::ReadStatsResponse* stats = recent.get();
  // Bound the work before doing it: ids and scores of nq x min(k, rows) hits
  // count against quotaAndLimits.limits.maxOutputSize, as Milvus's reduce
  // counts every result byte (output fields are counted as they are gathered).
  // Only a search that could exceed it needs the rows as of now.
  rolepb::ReadStatsResponse fresh;
  if (!group_field && out.nq * plan.k > limits_.max_output_bytes / 12) {
    KITE_ASSIGN_OR_RETURN(fresh, ShardStats(c, plan, at, !p.ignore_growing, {}));
    stats = &fresh;
    int64_t rows = 0;
    for (const rolepb::SegmentStats& seg : stats->segments()) rows += seg.rows();
    const int64_t hits = out.nq * std::min(plan.k, rows);
    if (hits > limits_.max_output_bytes / 12) {
      return MakeStatus(StatusCode::kInternal, Reason::kNone, "search results exceed the maxOutputSize Limit {}",
                        limits_.max_output_bytes);
    }
  }
  // Group-by searches every segment for all its rows; range search is exact.
  prep.cost = group_field || plan.radius ? std::numeric_limits<double>::infinity()
                                         : EstimateCost(plan, *stats, filtered);
  return prep;
}

Result<rolepb::ReadStatsResponse> Proxy::ShardStats(const CollectionInfo& c, const SearchPlan& plan, const ReadAt& at,
                                                    bool include_growing, const std::vector<uint32_t>& terms) {
  rolepb::ReadStatsRequest req;
  FillRequestContext(req.mutable_ctx());
  FillScope(c.id, plan.partitions, at, include_growing, req.mutable_scope());
  req.set_field(plan.queries.field.value);
  for (uint32_t t : terms) req.add_bm25_terms(t);
  rolepb::ReadStatsResponse all;
  for (size_t shard = 0; shard < c.channels.size(); ++shard) {
    req.mutable_scope()->set_shard(static_cast<int32_t>(shard));
    req.mutable_scope()->set_channel(c.channels[shard]);
    rolepb::ReadStatsResponse r;
    KITE_RETURN_IF_ERROR(streaming_->ReadStats(req, &r));
    for (rolepb::SegmentStats& seg : *r.mutable_segments()) *all.add_segments() = std::move(seg);
    all.set_bm25_rows(all.bm25_rows() + r.bm25_rows());
    all.set_bm25_tokens(all.bm25_tokens() + r.bm25_tokens());
    if (all.bm25_df_size() < r.bm25_df_size()) all.mutable_bm25_df()->Resize(r.bm25_df_size(), 0);
    for (int i = 0; i < r.bm25_df_size(); ++i) all.set_bm25_df(i, all.bm25_df(i) + r.bm25_df(i));
  }
  return all;
}

Result<std::shared_ptr<const rolepb::ReadStatsResponse>> Proxy::RecentShardStats(const CollectionInfo& c,
                                                                                 const SearchPlan& plan,
                                                                                 const ReadAt& at,
                                                                                 bool include_growing) {
  constexpr auto kStatsMaxAge = std::chrono::milliseconds(200);
  std::string key = fmt::format("{}/{}/{}", c.id.value, plan.queries.field.value, include_growing ? 1 : 0);
  for (int64_t part : plan.partitions) key += fmt::format(",{}", part);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(stats_mu_);
    auto it = stats_cache_.find(key);
    if (it != stats_cache_.end() && now - it->second.at < kStatsMaxAge) return it->second.stats;
  }
  KITE_ASSIGN_OR_RETURN(rolepb::ReadStatsResponse r, ShardStats(c, plan, at, include_growing, {}));
  auto stats = std::make_shared<const rolepb::ReadStatsResponse>(std::move(r));
  std::lock_guard lock(stats_mu_);
  if (stats_cache_.size() >= 256) stats_cache_.clear();
  stats_cache_[key] = StatsEntry{now, stats};
  return stats;
}

Result<SearchOutcome> Proxy::RunSearch(const SearchParams& p, PreparedSearch prep) {
  SearchPlan& plan = prep.plan;
  SearchOutcome out = std::move(prep.out);
  const FieldSchema* group_field = out.group_field;
  const int64_t want = p.topk + p.offset;
  auto cancelled = [&p] { return p.cancelled && p.cancelled(); };

  // One request, sent to each shard's delegator. Each hit comes back with the
  // fields the steps below need: outputs, group-by value, rerank input, order keys.
  rolepb::SearchRequest req;
  FillRequestContext(req.mutable_ctx());
  FillScope(prep.collection, plan.partitions, ReadAt{plan.ts, prep.guarantee_ts, prep.expire_before}, !p.ignore_growing, req.mutable_scope());
  FilterToPb(p.filter, p.filter_values, out.timezone, req.mutable_filter());
  req.set_field(plan.queries.field.value);
  req.set_metric(out.metric);
  req.set_higher_is_better(prep.higher);
  req.set_nq(plan.queries.nq);
  req.set_query_type(static_cast<int32_t>(plan.queries.type));
  req.set_dim(plan.queries.dim);
  {
    std::string q;
    EncodeColumn(plan.queries.rows, &q);
    req.set_queries(std::move(q));
  }
  req.set_k(want);
  if (plan.radius) req.set_radius(*plan.radius);
  if (plan.range_filter) req.set_range_filter(*plan.range_filter);
  req.mutable_index_params()->insert(plan.index_params.begin(), plan.index_params.end());
  if (group_field) {
    req.set_group_field(group_field->id.value);
    req.set_group_size(p.group_size);
  }
  std::vector<FieldId> carry(out.fields.begin() + 1, out.fields.end());
  auto add_carry = [&](const FieldSchema* f) {
    if (f && !f->is_primary && std::find(carry.begin(), carry.end(), f->id) == carry.end()) carry.push_back(f->id);
  };
  add_carry(group_field);
  if (prep.reranker) add_carry(prep.reranker->input);
  for (const OrderByKey& k : prep.order_by) add_carry(k.field);
  for (FieldId f : carry) req.add_carry(f.value);
  for (const BoostRanker& b : prep.boosts) {
    rolepb::Boost* pb = req.add_boosts();
    pb->set_filter(b.filter);
    pb->set_weight(b.weight);
    pb->set_sum(b.sum);
    pb->set_random(b.random);
    pb->set_seed(b.seed);
    pb->set_random_field(b.random_field.value);
  }
  req.set_max_output_bytes(limits_.max_output_bytes);
  std::vector<SearchPart> parts;
  for (size_t shard = 0; shard < prep.channels.size(); ++shard) {
    if (cancelled()) return SearchCancelledStatus();
    req.mutable_scope()->set_shard(static_cast<int32_t>(shard));
    req.mutable_scope()->set_channel(prep.channels[shard]);
    KITE_RETURN_IF_ERROR(streaming_->Search(req, &parts.emplace_back(), p.cancelled));
  }
  PartSpec spec;
  spec.k = want;
  spec.higher_is_better = prep.higher;
  spec.group_field = group_field ? group_field->id : FieldId(0);
  spec.group_size = p.group_size;
  spec.groups = want;  // every shard is here: the best `want` groups are final
  spec.max_output_bytes = limits_.max_output_bytes;
  KITE_ASSIGN_OR_RETURN(SearchPart all, ReduceParts(std::move(parts), spec));
  all.hits.resize(static_cast<size_t>(out.nq));

  out.hits.resize(static_cast<size_t>(out.nq));
  if (group_field) out.group_values = Column::ForField(*group_field);
  const Column* group_col = group_field ? all.rows.Find(group_field->id) : nullptr;
  for (int64_t q = 0; q < out.nq; ++q) {
    HitList merged = std::move(all.hits[q]);
    if (prep.reranker) {
      // With group-by the reranker ranks the grouped search's offset+limit
      // groups, listed group by group. Rounded by the reranker, as Milvus does.
      if (group_field) merged = FirstGroups(std::move(merged), all, *group_field, want, p.group_size);
      KITE_ASSIGN_OR_RETURN(out.hits[q], RerankSearchHits(*prep.reranker, merged, all, group_field, p, out.metric,
                                                          &out.group_values));
      continue;
    }
    if (group_field) {
      // Groups ordered by their best hit; up to group_size hits each; topk groups after `offset` groups.
      std::vector<std::string> order;
      std::map<std::string, HitList> groups;
      for (Hit& h : merged) {
        std::string key = GroupKey(*group_col, h.source.row);
        auto it = groups.find(key);
        if (it == groups.end()) {
          if (static_cast<int64_t>(order.size()) >= want) continue;
          order.push_back(key);
          it = groups.emplace(key, HitList{}).first;
        }
        if (static_cast<int64_t>(it->second.size()) < p.group_size) it->second.push_back(std::move(h));
      }
      HitList flat_hits;
      for (size_t g = static_cast<size_t>(std::min<int64_t>(p.offset, order.size())); g < order.size(); ++g) {
        for (Hit& h : groups[order[g]]) {
          out.group_values->AppendFrom(*group_col, h.source.row);
          flat_hits.push_back(std::move(h));
        }
      }
      out.hits[q] = std::move(flat_hits);
    } else {
      if (p.offset > 0) {
        merged.erase(merged.begin(), merged.begin() + std::min<int64_t>(p.offset, merged.size()));
      }
      out.hits[q] = std::move(merged);
    }
    if (p.round_decimal >= 0) {
      double scale = std::pow(10.0, p.round_decimal);
      for (Hit& h : out.hits[q]) h.distance = static_cast<float>(std::round(h.distance * scale) / scale);
    }
  }
  if (!prep.order_by.empty()) OrderSearchHits(prep.order_by, all, group_field, &out);
  if (cancelled()) return SearchCancelledStatus();
  AssembleOutputRows(all, out.fields, &out);
  return out;
}

Status Proxy::VectorsOfIds(const CollectionInfo& c, const FieldSchema& field, const SearchPlan& plan,
                           const ReadAt& at, const std::vector<PrimaryKey>& ids, SearchParams* out) {
  if (ids.empty()) return InvalidArgument("ids must not be empty");
  RetrievePlan rp;
  rp.ts = plan.ts;
  rp.pks = ids;
  rp.partitions = plan.partitions;
  rp.output_fields = {field.id};
  KITE_ASSIGN_OR_RETURN(Retrieved got, RetrieveShards(c, rp, at, std::string(), {}, "UTC", /*include_growing=*/true));
  std::map<PrimaryKey, int64_t> row_of;
  if (!got.rows.columns.empty()) {
    for (int64_t r = 0; r < got.rows.columns[0].size(); ++r) row_of[PkAt(got.rows.columns[0], r)] = r;
  }
  std::vector<std::string> missing;
  for (const PrimaryKey& pk : ids) {
    if (!row_of.count(pk)) missing.push_back(PkToString(pk));
  }
  if (!missing.empty()) {
    return InvalidArgument("some of the provided primary key IDs do not exist: missing IDs = [{}]",
                           fmt::join(missing, ", "));
  }
  const Column& vec = got.rows.columns[1];
  out->query_type = field.type;
  out->query_vectors.clear();
  for (const PrimaryKey& pk : ids) {
    int64_t r = row_of[pk];
    if (vec.is_fixed()) {
      out->query_vectors.emplace_back(reinterpret_cast<const char*>(vec.RowPtr(r)), vec.row_bytes);
    } else {
      out->query_vectors.emplace_back(vec.GetBytes(r));
    }
  }
  return Status::OK();
}

Result<SearchOutcome> Proxy::HybridSearch(const HybridSearchParams& hp) {
  if (hp.requests.empty()) return InvalidArgument("hybrid search needs at least one search request");
  if (hp.requests.size() > 1024) {
    return InvalidArgument("maximum of ann search requests is 1024, but got {}", hp.requests.size());
  }
  // Milvus checks a hybrid search's limit and offset as a query's result
  // window (parseRankParams -> validateMaxQueryResultWindow).
  if (hp.offset < 0) {
    return InvalidArgument("invalid max query result window, offset [{}] is invalid, should be gte than 0", hp.offset);
  }
  if (hp.limit <= 0) {
    return InvalidArgument("invalid max query result window, limit [{}] is invalid, should be greater than 0",
                           hp.limit);
  }
  if (hp.limit + hp.offset > limits_.max_topk) {
    return InvalidArgument("invalid max query result window, (offset+limit) should be in range [1, {}], but got {}",
                           limits_.max_topk, hp.limit + hp.offset);
  }
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(hp.db, hp.collection));
  SearchOutcome out;
  KITE_ASSIGN_OR_RETURN(out.timezone, Timezone(v, hp.timezone));
  out.schema = std::make_shared<const CollectionSchema>(v.info.schema);
  const CollectionSchema& s = *out.schema;
  KITE_ASSIGN_OR_RETURN(std::optional<Reranker> reranker, ParseReranker(hp.rerank, s));
  if (!reranker) {
    return InvalidArgument("the boost ranker cannot rank a hybrid search: use rrf, weighted or decay");
  }
  if (!hp.group_by_field.empty() && !reranker->supports_group()) {
    return InvalidArgument("Current rerank does not support grouping search");
  }
  KITE_RETURN_IF_ERROR(ResolveOutputFields(s, hp.output_fields, &out.fields, &out.dynamic_keys,
                                           &out.include_all_dynamic, nullptr));
  out.pk_requested = PrimaryKeyRequested(s, hp.output_fields);

  // The requests, all at the first one's timestamp. Each gathers the output
  // fields (a prefix of its own) plus the decay input.
  std::vector<std::string> sub_outputs = hp.output_fields;
  if (reranker->input) sub_outputs.push_back(reranker->input->name);
  std::vector<SearchOutcome> subs;
  for (size_t i = 0; i < hp.requests.size(); ++i) {
    SearchParams sp = hp.requests[i];
    sp.db = hp.db;
    sp.collection = hp.collection;
    sp.partitions = hp.partitions;
    sp.output_fields = sub_outputs;
    sp.offset = 0;  // Milvus ignores a sub-request's offset
    sp.round_decimal = -1;
    sp.rerank.reset();
    sp.order_by.clear();
    sp.iterator_v2 = false;
    sp.group_by_field = hp.group_by_field;
    sp.group_size = hp.group_size;
    sp.strict_group_size = false;
    sp.timezone = out.timezone;
    if (i == 0) {
      sp.consistency = hp.consistency;
    } else {
      sp.consistency = ReadConsistency{};
      sp.consistency.use_default = false;
      sp.consistency.guarantee_ts = subs[0].ts;
      sp.consistency.pin = true;
    }
    KITE_ASSIGN_OR_RETURN(SearchOutcome sub, Search(sp));
    if (i > 0 && sub.nq != subs[0].nq) {
      return InvalidArgument("sub search request nq should be the same: invalid parameter[expected={}][actual={}]",
                             subs[0].nq, sub.nq);
    }
    subs.push_back(std::move(sub));
  }
  out.nq = subs[0].nq;
  out.topk = hp.limit;
  out.ts = subs[0].ts;
  out.metric = subs[0].metric;
  if (!hp.group_by_field.empty()) {
    out.group_field = subs[0].group_field;
    out.group_values = Column::ForField(*out.group_field);
  }
  const size_t ncols = out.fields.size();
  RerankOptions o;
  o.limit = hp.limit;
  o.offset = hp.offset;
  o.round_decimal = hp.round_decimal;
  o.group_size = hp.group_size;
  o.strict_group_size = hp.strict_group_size;
  o.group_scorer = hp.group_scorer;
  // Row of (request, query) hit j in that request's rows: base[i][q] + j.
  std::vector<std::vector<int64_t>> base(subs.size(), std::vector<int64_t>(out.nq + 1, 0));
  for (size_t i = 0; i < subs.size(); ++i) {
    for (int64_t q = 0; q < out.nq; ++q) base[i][q + 1] = base[i][q] + static_cast<int64_t>(subs[i].hits[q].size());
  }
  out.hits.resize(static_cast<size_t>(out.nq));
  for (int64_t q = 0; q < out.nq; ++q) {
    std::vector<std::vector<double>> values(subs.size());
    std::vector<std::vector<std::string>> keys(subs.size());
    std::vector<RankedList> lists;
    for (size_t i = 0; i < subs.size(); ++i) {
      const SearchOutcome& sub = subs[i];
      const HitList& hits = sub.hits[q];
      for (int64_t j = 0; j < static_cast<int64_t>(hits.size()); ++j) {
        int64_t row = base[i][q] + j;
        if (reranker->input) {
          const Column* c = reranker->input->is_primary ? &sub.rows.columns[0] : sub.rows.Find(reranker->input->id);
          values[i].push_back(c ? NumericAt(*c, row) : 0);
        }
        if (sub.group_values) keys[i].push_back(GroupKey(*sub.group_values, row));
      }
      lists.push_back(RankedList{&hits, sub.metric, reranker->input ? &values[i] : nullptr});
    }
    o.group_keys = hp.group_by_field.empty() ? nullptr : &keys;
    KITE_ASSIGN_OR_RETURN(std::vector<RerankedHit> fused, Rerank(*reranker, lists, o));
    for (RerankedHit& f : fused) {
      const SearchOutcome& sub = subs[f.list];
      int64_t row = base[f.list][q] + f.pos;
      for (size_t c = 0; c < ncols && c < sub.rows.columns.size(); ++c) {
        if (out.rows.columns.size() <= c) out.rows.columns.push_back(sub.rows.columns[c].EmptyLike());
        out.rows.columns[c].AppendFrom(sub.rows.columns[c], row);
      }
      if (out.group_values) out.group_values->AppendFrom(*sub.group_values, row);
      out.hits[q].push_back(std::move(f.hit));
    }
  }
  out.rows.num_rows = out.rows.columns.empty() ? 0 : out.rows.columns[0].size();
  return out;
}

}  // namespace kite
