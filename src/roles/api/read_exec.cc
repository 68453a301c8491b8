#include "roles/api/read_exec.h"

#include <algorithm>

#include "roles/api/role_codec.h"

namespace kite {

namespace {

Result<std::unique_ptr<const expr::Plan>> CompileFilter(const rolepb::Filter& f, const CollectionSchema& schema) {
  if (f.expr().find_first_not_of(" \t\n\r") == std::string::npos) return std::unique_ptr<const expr::Plan>();
  KITE_ASSIGN_OR_RETURN(expr::TemplateValues values, TemplateValuesFromPb(f));
  expr::ParseOptions options;
  if (!f.timezone().empty()) options.timezone = f.timezone();
  return expr::Compile(f.expr(), schema, values, options);
}

}  // namespace

bool InScope(const Segment& seg, const rolepb::ReadScope& scope) {
  if (!scope.channel().empty() && seg.meta().channel != scope.channel()) return false;
  for (int64_t id : scope.skip_segments()) {
    if (id == seg.id().value) return false;
  }
  if (scope.segments_size() > 0 &&
      std::find(scope.segments().begin(), scope.segments().end(), seg.id().value) == scope.segments().end()) {
    return false;
  }
  if (scope.partitions().empty()) return true;
  const int64_t pid = seg.meta().partition_id.value;
  for (int64_t p : scope.partitions()) {
    if (p == pid) return true;
  }
  return false;
}

PartSpec ReduceSpecOf(const rolepb::SearchRequest& req) {
  PartSpec spec;
  spec.k = req.k();
  spec.higher_is_better = req.higher_is_better();
  spec.group_field = FieldId(req.group_field());
  spec.group_size = req.group_size();
  spec.max_output_bytes = req.max_output_bytes() > 0 ? req.max_output_bytes() : INT64_MAX;
  return spec;
}

Result<PartSpec> PartSpecOf(const rolepb::SearchRequest& req, const CollectionSchema& schema) {
  PartSpec spec = ReduceSpecOf(req);
  for (int64_t f : req.carry()) spec.carry.push_back(FieldId(f));
  auto fm = req.index_params().find(kBoostFunctionModeParam);
  const bool function_sum = fm != req.index_params().end() && fm->second == "sum";
  for (const rolepb::Boost& b : req.boosts()) {
    spec.boosts.push_back(BoostRanker{b.filter(), b.weight(), b.sum(), function_sum, b.random(), b.seed(),
                                      FieldId(b.random_field())});
    rolepb::Filter f;
    f.set_expr(b.filter());
    *f.mutable_values() = req.filter().values();
    f.set_timezone(req.filter().timezone());
    KITE_ASSIGN_OR_RETURN(auto plan, CompileFilter(f, schema));
    spec.boost_filters.push_back(std::move(plan));
  }
  return spec;
}

Result<SearchPart> ExecuteSearch(const rolepb::SearchRequest& req, const CollectionSchema& schema,
                                 const std::vector<SegmentPtr>& segments, const CancelHook& cancelled) {
  const FieldSchema* field = schema.FindField(FieldId(req.field()));
  if (!field) return InvalidArgument("search: field {} is not in the collection", req.field());
  SearchPlan plan;
  plan.ts = req.scope().ts();
  plan.expire_before = req.scope().expire_before();
  plan.partitions = PartitionsOf(req.scope());
  KITE_ASSIGN_OR_RETURN(auto filter, CompileFilter(req.filter(), schema));
  plan.filter = filter.get();
  plan.queries.field = field->id;
  plan.queries.type = static_cast<DataType>(req.query_type());
  plan.queries.dim = req.dim();
  plan.queries.nq = req.nq();
  std::string_view q = req.queries();
  KITE_ASSIGN_OR_RETURN(plan.queries.rows, DecodeColumn(&q));
  bool ok = false;
  plan.metric = MetricFromName(req.metric(), &ok);
  plan.k = req.k();
  if (req.has_radius()) plan.radius = req.radius();
  if (req.has_range_filter()) plan.range_filter = req.range_filter();
  plan.index_params.insert(req.index_params().begin(), req.index_params().end());
  KITE_ASSIGN_OR_RETURN(PartSpec spec, PartSpecOf(req, schema));
  spec.cancelled = cancelled;
  return SearchSegments(segments, std::move(plan), spec);
}

Result<Retrieved> ExecuteRetrieve(const rolepb::RetrieveRequest& req, const CollectionSchema& schema,
                                  const std::vector<SegmentPtr>& segments) {
  RetrievePlan plan;
  plan.ts = req.scope().ts();
  plan.expire_before = req.scope().expire_before();
  plan.partitions = PartitionsOf(req.scope());
  for (int64_t f : req.output_fields()) plan.output_fields.push_back(FieldId(f));
  plan.count_only = req.count_only();
  plan.limit = req.limit();
  plan.offset = req.offset();
  std::unique_ptr<const expr::Plan> filter;
  if (req.has_pks()) {
    std::string_view in = req.pks();
    KITE_ASSIGN_OR_RETURN(Column pks, DecodeColumn(&in));
    std::vector<PrimaryKey> keys;
    keys.reserve(static_cast<size_t>(pks.size()));
    for (int64_t r = 0; r < pks.size(); ++r) keys.push_back(PkAt(pks, r));
    plan.pks = std::move(keys);
  } else {
    KITE_ASSIGN_OR_RETURN(filter, CompileFilter(req.filter(), schema));
    plan.filter = filter.get();
  }
  Retrieved out;
  for (const SegmentPtr& seg : segments) KITE_RETURN_IF_ERROR(RetrieveFromSegment(*seg, plan, &out));
  // Merged here (one row per key, offset/limit) so that less crosses the boundary.
  std::vector<Retrieved> parts;
  parts.push_back(std::move(out));
  RetrievePlan unpaged = plan;
  if (plan.limit >= 0) {
    unpaged.limit = plan.limit + plan.offset;
    unpaged.offset = 0;
  }
  return MergeRetrieved(std::move(parts), unpaged);
}

void AddReadStats(const rolepb::ReadStatsRequest& req, const std::vector<SegmentPtr>& segments,
                  rolepb::ReadStatsResponse* resp) {
  const FieldId field(req.field());
  std::vector<uint32_t> terms(req.bm25_terms().begin(), req.bm25_terms().end());
  if (resp->bm25_df_size() < static_cast<int>(terms.size())) resp->mutable_bm25_df()->Resize(static_cast<int>(terms.size()), 0);
  for (const SegmentPtr& seg : segments) {
    rolepb::SegmentStats* s = resp->add_segments();
    s->set_rows(seg->num_rows());
    if (field.value != 0) {
      auto index = seg->VectorIndexOf(field);
      if (index) s->set_index_type(index->type());
    }
    if (!terms.empty()) {
      Segment::Bm25Counts c = seg->Bm25Stats(field, terms);
      resp->set_bm25_rows(resp->bm25_rows() + c.rows);
      resp->set_bm25_tokens(resp->bm25_tokens() + c.tokens);
      for (size_t i = 0; i < terms.size(); ++i) resp->set_bm25_df(static_cast<int>(i), resp->bm25_df(static_cast<int>(i)) + c.df[i]);
    }
  }
}

}  // namespace kite
