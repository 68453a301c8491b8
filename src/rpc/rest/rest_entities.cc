// REST handlers for entities: insert, upsert, delete, get, query, search.
// Rows are decoded by rest_rows.h and handed to the proxy exactly as the gRPC
// Insert/Query/Search handlers in rpc/milvus_service.cc hand theirs; answers
// take the shapes of Milvus's httpserver (flat row objects, "distance" per hit).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "query/order_by.h"
#include "rpc/rest/rest_call.h"
#include "rpc/rest/rest_rows.h"

namespace kite::rest {

namespace {

// The template name get/delete use for their primary keys; the `{...}`
// placeholder keeps keys out of the expression text (no quoting to get wrong).
constexpr char kIdsTemplate[] = "kite_rest_primary_keys";

std::string Collection(const Call& c) { return StrOr(c.body, "collectionName"); }

Json PkToJson(const PrimaryKey& pk, bool int64_as_number) {
  if (const auto* i = std::get_if<int64_t>(&pk)) return int64_as_number ? Json(*i) : Json(std::to_string(*i));
  return std::get<std::string>(pk);
}

Json PkColumnToJson(const Column& ids, bool int64_as_number) {
  Json out = Json::array();
  for (int64_t r = 0; r < ids.num_rows; ++r) out.push_back(PkToJson(PkAt(ids, r), int64_as_number));
  return out;
}

// `id` of get/delete: one key or a list; Int64 keys may be numbers or digit
// strings, VarChar keys strings or numbers (Milvus's checkGetPrimaryKey).
RestError IdsTemplate(const Json& id, const FieldSchema& pk, expr::TemplateValue* out) {
  Json list = id.is_array() ? id : Json::array({id});
  expr::TemplateValue::Array keys;
  for (const auto& k : list) {
    if (pk.type == DataType::kInt64) {
      if (k.is_number_integer() && (!k.is_number_unsigned() || k.get<uint64_t>() <= INT64_MAX)) {
        keys.emplace_back(k.get<int64_t>());
        continue;
      }
      if (k.is_string()) {
        const std::string& s = k.get_ref<const std::string&>();
        int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) {
          keys.emplace_back(v);
          continue;
        }
      }
    } else if (k.is_string()) {
      keys.emplace_back(k.get<std::string>());
      continue;
    } else if (k.is_number_integer()) {
      keys.emplace_back(k.is_number_unsigned() ? std::to_string(k.get<uint64_t>()) : std::to_string(k.get<int64_t>()));
      continue;
    }
    return Error(kCodeCheckPrimaryKey,
                 fmt::format("{}, error: {} is not a valid value of primary key {} ({})", kPrimaryKeyPrefix,
                             k.dump(-1, ' ', false, Json::error_handler_t::replace), pk.name, DataTypeName(pk.type)));
  }
  *out = expr::TemplateValue(std::move(keys));
  return Ok();
}

// Adds the cells of row `r` of `rows` (columns parallel to `fields`) to `row`.
void AddFields(const CollectionSchema& s, const std::vector<FieldId>& fields, const ColumnBatch& rows, size_t first,
               int64_t r, const std::vector<std::string>& dynamic_keys, bool include_all_dynamic, bool int64,
               Json* row) {
  for (size_t i = first; i < fields.size() && i < rows.columns.size(); ++i) {
    const FieldSchema* f = s.FindField(fields[i]);
    if (!f) continue;
    const Column& col = rows.columns[i];
    if (!f->struct_name.empty()) {
      // An Array of Structs field: its sub-fields' columns, gathered once.
      if (row->contains(f->struct_name)) continue;
      std::vector<const FieldSchema*> subs;
      std::vector<const Column*> cols;
      for (size_t j = i; j < fields.size() && j < rows.columns.size(); ++j) {
        const FieldSchema* g = s.FindField(fields[j]);
        if (g && g->struct_name == f->struct_name) {
          subs.push_back(g);
          cols.push_back(&rows.columns[j]);
        }
      }
      (*row)[f->struct_name] = StructCellToJson(subs, cols, r, int64);
      continue;
    }
    if (f->is_dynamic) {
      if (col.IsNull(r) || (!include_all_dynamic && dynamic_keys.empty())) continue;
      FlattenDynamic(col.GetBytes(r), include_all_dynamic ? std::vector<std::string>{} : dynamic_keys, row);
      continue;
    }
    (*row)[f->name] = CellToJson(col, *f, r, int64);
  }
}

Json QueryRows(const QueryOutcome& out, bool int64) {
  Json rows = Json::array();
  if (out.count_only) {
    rows.push_back({{"count(*)", int64 ? Json(out.count) : Json(std::to_string(out.count))}});
    return rows;
  }
  for (int64_t r = 0; r < out.data.rows.num_rows; ++r) {
    Json row = Json::object();
    AddFields(*out.schema, out.fields, out.data.rows, 0, r, out.dynamic_keys, out.include_all_dynamic, int64, &row);
    rows.push_back(std::move(row));
  }
  return rows;
}

RestError RunQuery(Call& c, const QueryParams& q) {
  REST_ASSIGN(QueryOutcome out, c.proxy->Query(q));
  c.data = QueryRows(out, c.int64_as_number);
  c.extra["cost"] = 0;
  return Ok();
}

// entities/upsert with partialUpdate: true. Only the fields the rows name
// change (Proxy::PartialUpsert, as the gRPC upsert with partial_update): the
// rows are decoded against the schema's primary key, the dynamic field and
// the fields some row names, so an absent field is neither required nor
// nulled.
RestError PartialWrite(Call& c, const CollectionView& v) {
  Json parsed;
  const Json* rows = &c.body.at("data");
  if (!c.deferred_data_body.empty()) {
    parsed = Json::parse(c.deferred_data_body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains("data")) {
      return Error(kCodeBadJson, fmt::format("{}, error: the request body is not a JSON object with data", kBadJsonPrefix));
    }
    rows = &parsed.at("data");
  }
  std::set<std::string, std::less<>> named;
  if (rows->is_array()) {
    for (const Json& row : *rows) {
      if (!row.is_object()) continue;
      for (const auto& [key, value] : row.items()) named.insert(key);
    }
  }
  CollectionSchema given = v.info.schema;
  std::erase_if(given.fields, [&](const FieldSchema& f) {
    return !f.is_primary && !f.is_dynamic && !named.count(f.struct_name.empty() ? f.name : f.struct_name);
  });
  InsertParams p;
  p.db = c.db;
  p.collection = v.info.schema.name;
  p.partition = StrOr(c.body, "partitionName");
  p.upsert = true;
  Status st = RowsToColumns(*rows, given, /*upsert=*/true, &p.rows);
  if (!st.ok()) return Wrap(kCodeInvalidInsertData, kInsertDataPrefix, st);
  REST_ASSIGN(MutationOutcome m, c.proxy->PartialUpsert(std::move(p)));
  c.data = {{"upsertCount", m.upsert_count}, {"upsertIds", PkColumnToJson(m.ids, c.int64_as_number)}};
  c.extra["cost"] = 0;
  return Ok();
}

RestError Write(Call& c, bool upsert) {
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  if (upsert && BoolOr(c.body, "partialUpdate", false)) return PartialWrite(c, v);
  InsertParams p;
  p.db = c.db;
  p.collection = v.info.schema.name;
  p.partition = StrOr(c.body, "partitionName");
  p.upsert = upsert;
  Status st = c.deferred_data_body.empty()
                  ? RowsToColumns(c.body.at("data"), v.info.schema, upsert, &p.rows)
                  : StreamRowsToColumns(c.deferred_data_body, v.info.schema, upsert, &p.rows);
  if (!st.ok()) return Wrap(kCodeInvalidInsertData, kInsertDataPrefix, st);
  REST_ASSIGN(MutationOutcome m, c.proxy->Insert(std::move(p)));
  if (upsert) {
    c.data = {{"upsertCount", m.upsert_count}, {"upsertIds", PkColumnToJson(m.ids, c.int64_as_number)}};
  } else {
    c.data = {{"insertCount", m.insert_count}, {"insertIds", PkColumnToJson(m.ids, c.int64_as_number)}};
  }
  c.extra["cost"] = 0;
  return Ok();
}

// A radius / range_filter value: a number or a numeric string.
RestError OptionalFloat(const Json& obj, const char* key, std::optional<float>* out) {
  if (!Has(obj, key)) return Ok();
  const Json& v = obj.at(key);
  if (v.is_number()) {
    *out = v.get<float>();
    return Ok();
  }
  if (v.is_string()) {
    try {
      size_t pos = 0;
      const std::string& s = v.get_ref<const std::string&>();
      float f = std::stof(s, &pos);
      if (pos == s.size()) {
        *out = f;
        return Ok();
      }
    } catch (...) {
    }
  }
  return Error(kCodeParameterInvalid, fmt::format("search param {} [{}] is not a number", key,
                                                  v.dump(-1, ' ', false, Json::error_handler_t::replace)));
}

RestError ApplySearchParams(const Json& sp, SearchParams* p) {
  std::string metric;
  if (Has(sp, "metricType") && sp.at("metricType").is_string()) metric = sp.at("metricType").get<std::string>();
  if (Has(sp, "metric_type") && sp.at("metric_type").is_string()) metric = sp.at("metric_type").get<std::string>();
  for (auto& ch : metric) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  p->metric_type = metric;
  for (const char* key : {"ignoreGrowing", "ignore_growing"}) {
    if (Has(sp, key) && sp.at(key).is_boolean()) p->ignore_growing = sp.at(key).get<bool>();
  }
  REST_CHECK(OptionalFloat(sp, "radius", &p->radius));
  REST_CHECK(OptionalFloat(sp, "range_filter", &p->range_filter));
  if (Has(sp, "params")) {
    const Json& params = sp.at("params");
    if (!params.is_object()) {
      return Error(kCodeBadJson, fmt::format("{}, error: searchParams.params must be an object", kBadJsonPrefix));
    }
    REST_CHECK(OptionalFloat(params, "radius", &p->radius));
    REST_CHECK(OptionalFloat(params, "range_filter", &p->range_filter));
    for (const auto& [key, value] : params.items()) {
      if (key == "radius" || key == "range_filter") continue;
      p->index_params[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  // Milvus (2.5.2+) forwards every top-level searchParams key as a search
  // param: BM25's analyzer_name and order_by_fields ("field:asc,...") too.
  if (Has(sp, "analyzer_name") && sp.at("analyzer_name").is_string()) {
    p->analyzer_name = sp.at("analyzer_name").get<std::string>();
  }
  if (Has(sp, "order_by_fields") && sp.at("order_by_fields").is_string()) {
    p->order_by = ParseOrderByFields(sp.at("order_by_fields").get<std::string>());
  }
  if (p->range_filter && !p->radius) {
    return Error(kCodeParameterInvalid, "range_filter requires radius to be set");
  }
  return Ok();
}

// The vector field a search runs on: annsField, else the only vector field.
RestError AnnsField(const CollectionSchema& s, const std::string& name, const FieldSchema** out) {
  if (name.empty()) {
    auto vectors = s.VectorFields();
    if (vectors.size() > 1) {
      return Error(kCodeBadJson, fmt::format("{}, error: search without annsField, but already found multiple vector "
                                             "fields: [{}, {},,,]",
                                             kBadJsonPrefix, vectors[0]->name, vectors[1]->name));
    }
    if (!vectors.empty()) *out = vectors[0];
  } else {
    const FieldSchema* f = s.FindField(name);
    if (f && (IsVectorType(f->type) || f->type == DataType::kArrayOfVector)) *out = f;
  }
  if (!*out) {
    return Error(kCodeBadJson,
                 fmt::format("{}, error: cannot find a vector field named: {}", kBadJsonPrefix, name));
  }
  return Ok();
}

// One query of a search on a struct's vector sub-field (Milvus's
// isEmbeddingListData): an embedding list [[numbers], ...] is searched with a
// MAX_SIM metric. A single vector [numbers] is an element-level query, which
// the proxy refuses for such a field as Milvus 2.6 does (type mismatch).
RestError EmbeddingListQuery(const Json& vec, const FieldSchema& field, SearchParams* p) {
  FieldSchema element = field;
  element.type = field.element_type;
  element.name = std::string(ShortFieldName(field));
  if (vec.is_array() && !vec.empty() && vec[0].is_array()) {
    std::string list;
    for (const Json& v : vec) {
      auto raw = VectorFromJson(v, element);
      if (!raw.ok()) return Wrap(kCodeBadJson, kBadJsonPrefix, raw.status());
      list += *raw;
    }
    p->query_type = DataType::kArrayOfVector;
    p->query_vectors.push_back(std::move(list));
    return Ok();
  }
  auto raw = VectorFromJson(vec, element);
  if (!raw.ok()) return Wrap(kCodeBadJson, kBadJsonPrefix, raw.status());
  p->query_type = field.element_type;
  p->query_vectors.push_back(std::move(raw).value());
  return Ok();
}

}  // namespace

RestError InsertEntities(Call& c) { return Write(c, /*upsert=*/false); }
RestError UpsertEntities(Call& c) { return Write(c, /*upsert=*/true); }

RestError DeleteEntities(Call& c) {
  std::string collection = Collection(c);
  std::string filter = StrOr(c.body, "filter");
  expr::TemplateValues values;
  if (Has(c.body, "exprParams")) {
    REST_ASSIGN(values, TemplateValuesFromJson(c.body.at("exprParams")));
  }
  if (filter.empty()) {
    if (!Has(c.body, "id")) {
      return Error(kCodeMissingParameter,
                   fmt::format("{}, error: Key: 'filter' Error:Field validation for 'filter' failed on the 'required' "
                               "tag (give a filter or the primary keys as `id`)",
                               kMissingPrefix));
    }
    REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, collection));
    const FieldSchema* pk = v.info.schema.PrimaryField();
    REST_CHECK(IdsTemplate(c.body.at("id"), *pk, &values[kIdsTemplate]));
    filter = fmt::format("{} in {{{}}}", pk->name, kIdsTemplate);
  }
  REST_ASSIGN(MutationOutcome m,
              c.proxy->Delete(c.db, collection, StrOr(c.body, "partitionName"), filter, values));
  c.data = {{"deleteCount", m.delete_count}};
  c.extra["cost"] = 0;
  return Ok();
}

RestError GetEntities(Call& c) {
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  const FieldSchema* pk = v.info.schema.PrimaryField();
  QueryParams q;
  q.db = c.db;
  q.collection = Collection(c);
  REST_CHECK(IdsTemplate(c.body.at("id"), *pk, &q.expr_values[kIdsTemplate]));
  q.expr = fmt::format("{} in {{{}}}", pk->name, kIdsTemplate);
  q.output_fields = Has(c.body, "outputFields") ? StrListOr(c.body, "outputFields") : std::vector<std::string>{"*"};
  q.partitions = StrListOr(c.body, "partitionNames");
  std::string partition = StrOr(c.body, "partitionName");
  if (!partition.empty()) q.partitions.push_back(partition);
  REST_CHECK(ParseConsistency(StrOr(c.body, "consistencyLevel"), &q.consistency));
  return RunQuery(c, q);
}

RestError QueryEntities(Call& c) {
  QueryParams q;
  q.db = c.db;
  q.collection = Collection(c);
  q.expr = StrOr(c.body, "filter");
  if (Has(c.body, "exprParams")) {
    REST_ASSIGN(q.expr_values, TemplateValuesFromJson(c.body.at("exprParams")));
  }
  q.output_fields = Has(c.body, "outputFields") ? StrListOr(c.body, "outputFields") : std::vector<std::string>{"*"};
  bool count = q.output_fields.size() == 1 && q.output_fields[0] == "count(*)";
  // Milvus: limit defaults to 100 and is only sent when positive (and not for count(*)).
  int64_t limit = IntOr(c.body, "limit", 100);
  q.limit = limit > 0 && !count ? limit : -1;
  int64_t offset = IntOr(c.body, "offset", 0);
  q.offset = offset > 0 ? offset : 0;
  q.partitions = StrListOr(c.body, "partitionNames");
  REST_CHECK(ParseConsistency(StrOr(c.body, "consistencyLevel"), &q.consistency));
  return RunQuery(c, q);
}

namespace {
// Hits as Milvus's REST search answers them: one object per hit, queries concatenated.
void RenderSearchHits(Call& c, const SearchOutcome& out);

// `functionScore` {functions: [{name, type, inputFieldNames, params}], params}:
// its rerank function and, for a search (`boosts_into`), its boost functions
// and own params (boost_mode, function_mode), as the gRPC FunctionScore.
RestError FunctionScoreFromJson(const Json& body, std::optional<RerankRequest>* out,
                                SearchParams* boosts_into = nullptr) {
  if (!Has(body, "functionScore")) return Ok();
  const Json& fs = body.at("functionScore");
  if (!fs.is_object() || !Has(fs, "functions") || !fs.at("functions").is_array()) {
    return Error(kCodeBadJson, fmt::format("{}, error: functionScore.functions must be an array", kBadJsonPrefix));
  }
  for (const Json& f : fs.at("functions")) {
    if (!f.is_object()) {
      return Error(kCodeBadJson, fmt::format("{}, error: functionScore.functions[0] must be an object", kBadJsonPrefix));
    }
    RerankRequest r;
    r.name = StrOr(f, "name");
    r.input_field_names = StrListOr(f, "inputFieldNames");
    if (Has(f, "params") && f.at("params").is_object()) {
      for (const auto& [key, value] : f.at("params").items()) {
        r.params.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
      }
    }
    if (boosts_into && IsBoostRequest(r)) {
      boosts_into->boosts.push_back(std::move(r));
      continue;
    }
    if (*out) return Error(kCodeParameterInvalid, "Currently only supports one rerank");
    *out = std::move(r);
  }
  if (boosts_into && Has(fs, "params") && fs.at("params").is_object()) {
    for (const auto& [key, value] : fs.at("params").items()) {
      boosts_into->function_score_params.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return Ok();
}
}  // namespace

RestError SearchEntities(Call& c) {
  const bool by_ids = !Has(c.body, "data") && Has(c.body, "ids");
  if (!Has(c.body, "data") && !by_ids) {
    return Error(kCodeMissingParameter,
                 fmt::format("{}, error: Key: 'data' Error:Field validation for 'data' failed on the 'required' tag",
                             kMissingPrefix));
  }
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  const CollectionSchema& s = v.info.schema;
  const FieldSchema* field = nullptr;
  REST_CHECK(AnnsField(s, StrOr(c.body, "annsField"), &field));

  SearchParams p;
  p.db = c.db;
  p.collection = Collection(c);
  p.anns_field = field->name;
  p.query_type = field->type;
  const bool bm25 = s.Bm25FunctionFor(field->name) != nullptr;  // full-text search: the data are texts
  if (bm25) p.query_type = DataType::kVarChar;
  if (by_ids) {
    // Search by primary keys: the stored vectors of these rows are the queries.
    const Json& ids = c.body.at("ids");
    std::vector<PrimaryKey> keys;
    for (const Json& id : ids.is_array() ? ids : Json::array({ids})) {
      if (id.is_number_integer()) {
        keys.emplace_back(id.get<int64_t>());
      } else if (id.is_string()) {
        keys.emplace_back(id.get<std::string>());
      } else {
        return Error(kCodeBadJson, fmt::format("{}, error: ids must be integers or strings", kBadJsonPrefix));
      }
    }
    p.ids = std::move(keys);
  } else {
    for (const auto& vec : c.body.at("data")) {
      if (bm25 && vec.is_string()) {
        p.query_vectors.push_back(vec.get<std::string>());
        continue;
      }
      if (field->type == DataType::kArrayOfVector) {
        REST_CHECK(EmbeddingListQuery(vec, *field, &p));
        continue;
      }
      auto raw = VectorFromJson(vec, *field);
      if (!raw.ok()) return Wrap(kCodeBadJson, kBadJsonPrefix, raw.status());
      p.query_vectors.push_back(std::move(raw).value());
    }
  }
  p.filter = StrOr(c.body, "filter");
  if (Has(c.body, "exprParams")) {
    REST_ASSIGN(p.filter_values, TemplateValuesFromJson(c.body.at("exprParams")));
  }
  p.topk = IntOr(c.body, "limit", 100);
  p.offset = IntOr(c.body, "offset", 0);
  p.group_by_field = StrOr(c.body, "groupingField");
  int64_t group_size = IntOr(c.body, "groupSize", 0);
  if (!p.group_by_field.empty() && group_size > 0) {
    p.group_size = group_size;
    p.strict_group_size = BoolOr(c.body, "strictGroupSize", false);
  }
  p.output_fields = StrListOr(c.body, "outputFields");
  p.partitions = StrListOr(c.body, "partitionNames");
  REST_CHECK(ParseConsistency(StrOr(c.body, "consistencyLevel"), &p.consistency));
  if (Has(c.body, "searchParams")) REST_CHECK(ApplySearchParams(c.body.at("searchParams"), &p));
  REST_CHECK(FunctionScoreFromJson(c.body, &p.rerank, &p));

  REST_ASSIGN(SearchOutcome out, c.proxy->Search(p));
  RenderSearchHits(c, out);
  return Ok();
}

// entities/hybrid_search (alias entities/advanced_search): `search` holds one
// request per vector field, `rerank` the legacy ranker {strategy, params} (or
// `functionScore` a rerank function), then the search's own keys.
RestError HybridSearchEntities(Call& c) {
  if (!Has(c.body, "search") || !c.body.at("search").is_array() || c.body.at("search").empty()) {
    return Error(kCodeMissingParameter,
                 fmt::format("{}, error: Key: 'search' Error:Field validation for 'search' failed on the 'required' tag",
                             kMissingPrefix));
  }
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  const CollectionSchema& s = v.info.schema;
  HybridSearchParams h;
  h.db = c.db;
  h.collection = Collection(c);
  h.limit = IntOr(c.body, "limit", 100);
  h.offset = IntOr(c.body, "offset", 0);
  h.output_fields = StrListOr(c.body, "outputFields");
  h.partitions = StrListOr(c.body, "partitionNames");
  h.group_by_field = StrOr(c.body, "groupingField");
  int64_t group_size = IntOr(c.body, "groupSize", 0);
  if (!h.group_by_field.empty() && group_size > 0) {
    h.group_size = group_size;
    h.strict_group_size = BoolOr(c.body, "strictGroupSize", false);
  }
  REST_CHECK(ParseConsistency(StrOr(c.body, "consistencyLevel"), &h.consistency));
  for (const Json& sub : c.body.at("search")) {
    if (!sub.is_object()) {
      return Error(kCodeBadJson, fmt::format("{}, error: every element of `search` must be an object", kBadJsonPrefix));
    }
    const FieldSchema* field = nullptr;
    REST_CHECK(AnnsField(s, StrOr(sub, "annsField"), &field));
    SearchParams p;
    p.anns_field = field->name;
    p.query_type = field->type;
    if (!Has(sub, "data") || !sub.at("data").is_array()) {
      return Error(kCodeMissingParameter,
                   fmt::format("{}, error: Key: 'data' Error:Field validation for 'data' failed on the 'required' tag",
                               kMissingPrefix));
    }
    for (const auto& vec : sub.at("data")) {
      if (field->type == DataType::kArrayOfVector) {
        REST_CHECK(EmbeddingListQuery(vec, *field, &p));
        continue;
      }
      auto raw = VectorFromJson(vec, *field);
      if (!raw.ok()) return Wrap(kCodeBadJson, kBadJsonPrefix, raw.status());
      p.query_vectors.push_back(std::move(raw).value());
    }
    p.filter = StrOr(sub, "filter");
    if (Has(sub, "exprParams")) {
      REST_ASSIGN(p.filter_values, TemplateValuesFromJson(sub.at("exprParams")));
    }
    p.topk = IntOr(sub, "limit", 100);
    if (Has(sub, "metricType") && sub.at("metricType").is_string()) p.metric_type = sub.at("metricType");
    // `params` is either shaped like a search's searchParams ({metricType, params: {...}}) or
    // the index params themselves ({"ef": 64}).
    for (const char* key : {"params", "searchParams"}) {
      if (!Has(sub, key) || !sub.at(key).is_object()) continue;
      const Json& sp = sub.at(key);
      bool shaped = Has(sp, "params") || Has(sp, "metricType") || Has(sp, "metric_type") || Has(sp, "radius") ||
                    Has(sp, "range_filter") || Has(sp, "ignoreGrowing") || Has(sp, "ignore_growing");
      REST_CHECK(ApplySearchParams(shaped ? sp : Json{{"params", sp}}, &p));
    }
    h.requests.push_back(std::move(p));
  }
  std::optional<RerankRequest> function;
  REST_CHECK(FunctionScoreFromJson(c.body, &function));
  if (function) {
    h.rerank = std::move(*function);
  } else {
    std::optional<std::string> strategy, params;
    if (Has(c.body, "rerank") && c.body.at("rerank").is_object()) {
      const Json& rr = c.body.at("rerank");
      if (Has(rr, "strategy")) strategy = StrOr(rr, "strategy");
      params = Has(rr, "params") ? rr.at("params").dump() : std::string("{}");
    }
    REST_ASSIGN(h.rerank, LegacyRerankRequest(strategy, params));
  }
  REST_ASSIGN(SearchOutcome out, c.proxy->HybridSearch(h));
  RenderSearchHits(c, out);
  return Ok();
}

namespace {
void RenderSearchHits(Call& c, const SearchOutcome& out) {
  const FieldSchema* pk = out.schema->PrimaryField();
  Json hits = Json::array();
  Json topks = Json::array();
  int64_t r = 0;
  for (const HitList& list : out.hits) {
    topks.push_back(static_cast<int64_t>(list.size()));
    for (const Hit& h : list) {
      Json row = Json::object();
      AddFields(*out.schema, out.fields, out.rows, 1, r, out.dynamic_keys, out.include_all_dynamic,
                c.int64_as_number, &row);
      Json key = PkToJson(h.pk, c.int64_as_number);
      row[pk->name] = key;
      row["id"] = key;  // Milvus puts every hit's primary key under "id" as well
      row["distance"] = FloatToJson(h.distance);
      hits.push_back(std::move(row));
      ++r;
    }
  }
  c.data = std::move(hits);
  c.extra["cost"] = 0;
  c.extra["topks"] = std::move(topks);
}
}  // namespace

}  // namespace kite::rest
