// REST handlers for databases, collections, partitions, aliases and indexes.
// Each mirrors the gRPC handler of the same operation in rpc/milvus_service.cc
// and shapes its answer as Milvus's httpserver/handler_v2.go does.
#include <charconv>
#include <set>

#include "rpc/rest/rest_call.h"

namespace kite::rest {

namespace {

constexpr char kDefaultMetric[] = "COSINE";

RestError Invalid(std::string message) { return Error(kCodeParameterInvalid, std::move(message)); }

RestError NotAnObject(const std::string& where) {
  return Error(kCodeBadJson, fmt::format("{}, error: {} must be an object", kBadJsonPrefix, where));
}

std::string Collection(const Call& c) { return StrOr(c.body, "collectionName"); }

Json Names(const std::vector<std::string>& names) {
  Json out = Json::array();
  for (const auto& n : names) out.push_back(n);
  return out;
}

// An integer parameter given as a number or as digits in a string (Milvus
// reads these with fmt.Sprintf("%v") + strconv.ParseInt).
std::optional<int64_t> LooseInt(const Json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  std::string s = v.is_string() ? v.get<std::string>() : PropertyValue(v);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

std::optional<bool> LooseBool(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  std::string s = PropertyValue(v);
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

Json DefaultValueJson(const ScalarValue& v) {
  return std::visit([](const auto& x) { return Json(x); }, v);
}

// ----------------------------------------------------------- schema building
const std::vector<ParamSpec> kFieldSpec = {
    {"fieldName", JType::kString, true},  {"dataType", JType::kString, true}, {"elementDataType", JType::kString},
    {"isPrimary", JType::kBool},          {"isPartitionKey", JType::kBool},   {"isClusteringKey", JType::kBool},
    {"nullable", JType::kBool},           {"defaultValue", JType::kAny},      {"elementTypeParams", JType::kObject},
    {"description", JType::kString},
};
const std::vector<ParamSpec> kFunctionSpec = {
    {"name", JType::kString, true},
    {"type", JType::kString, true},
    {"inputFieldNames", JType::kStrList, true},
    {"outputFieldNames", JType::kStrList, true},
    {"description", JType::kString},
    {"params", JType::kObject},
};
const std::vector<ParamSpec> kSchemaSpec = {
    {"fields", JType::kArray},
    {"structFields", JType::kArray},
    {"structArrayFields", JType::kArray},
    {"functions", JType::kArray},
    {"autoID", JType::kBool},
    {"enableDynamicField", JType::kBool},
};
const std::vector<ParamSpec> kIndexParamSpec = {
    {"fieldName", JType::kString, true}, {"indexName", JType::kString}, {"metricType", JType::kString},
    {"indexType", JType::kString},       {"params", JType::kObject},
};

// Milvus's convertDefaultValue: the JSON kind must fit the field type.
RestError ConvertDefault(const Json& v, DataType t, const std::string& field, std::optional<ScalarValue>* out) {
  auto wrong = [&](const char* want) {
    return Invalid(fmt::format("convert defaultValue fail, err:Wrong defaultValue type: invalid parameter[expected={}]"
                               "[actual={}] (field {})",
                               want, v.dump(-1, ' ', false, Json::error_handler_t::replace), field));
  };
  switch (t) {
    case DataType::kBool:
      if (!v.is_boolean()) return wrong("bool");
      *out = ScalarValue(v.get<bool>());
      return Ok();
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
      if (!v.is_number_integer()) return wrong("number");
      *out = ScalarValue(v.get<int64_t>());
      return Ok();
    case DataType::kFloat:
    case DataType::kDouble:
      if (!v.is_number()) return wrong("number");
      *out = ScalarValue(v.get<double>());
      return Ok();
    case DataType::kVarChar:
      if (!v.is_string()) return wrong("string");
      *out = ScalarValue(v.get<std::string>());
      return Ok();
    default:
      return Invalid(fmt::format("convert defaultValue fail, err:Unexpected default value type: {} (field {})",
                                 DataTypeName(t), field));
  }
}

// An Array of Structs field of `schema.structFields` (Milvus's REST
// StructArrayFieldSchema.GetProto): {fieldName, description, fields: [sub-field, ...]},
// each sub-field an `Array` (elementDataType a scalar type) or an
// `ArrayOfVector` (elementDataType a vector type) with its elementTypeParams.
// Sub-fields are stored as "struct[sub]" fields (collection_schema.h); the
// coordinator validates them as for gRPC (ValidateStruct).
const std::vector<ParamSpec> kStructSpec = {
    {"fieldName", JType::kString, true},
    {"description", JType::kString},
    {"fields", JType::kArray, true},
    {"elementTypeParams", JType::kObject},
};

RestError BuildStructField(const Json& js, const std::string& where, CollectionSchema* s) {
  if (!js.is_object()) return NotAnObject(where);
  REST_CHECK(CheckParams(js, kStructSpec, where));
  StructFieldSchema st;
  st.name = StrOr(js, "fieldName");
  st.description = StrOr(js, "description");
  if (Has(js, "elementTypeParams")) st.type_params = PropertyMap(js.at("elementTypeParams"));
  const Json& subs = js.at("fields");
  if (subs.empty()) return Invalid(fmt::format("struct array field {} has no sub-fields: invalid parameter", st.name));
  std::set<std::string> names;
  for (size_t k = 0; k < subs.size(); ++k) {
    std::string at = fmt::format("{}fields[{}].", where, k);
    if (!subs[k].is_object()) return NotAnObject(at);
    const Json& jf = subs[k];
    REST_CHECK(CheckParams(jf, kFieldSpec, at));
    FieldSchema f;
    std::string short_name = StrOr(jf, "fieldName");
    if (!names.insert(short_name).second) {
      return Invalid(fmt::format("duplicated sub-field name {} in struct array field {}: invalid parameter", short_name,
                                 st.name));
    }
    for (const char* key : {"isPrimary", "isPartitionKey", "isClusteringKey", "nullable"}) {
      if (BoolOr(jf, key, false)) {
        return Invalid(fmt::format("{} is not supported for sub-field {} of struct array field {}: invalid parameter",
                                   key, short_name, st.name));
      }
    }
    if (Has(jf, "defaultValue")) {
      return Invalid(fmt::format("defaultValue is not supported for sub-field {} of struct array field {}: invalid "
                                 "parameter",
                                 short_name, st.name));
    }
    f.name = StructSubFieldName(st.name, short_name);
    f.struct_name = st.name;
    f.description = StrOr(jf, "description");
    std::string type_name = StrOr(jf, "dataType");
    f.type = DataTypeFromName(type_name);
    if (f.type != DataType::kArray && f.type != DataType::kArrayOfVector) {
      return Invalid(fmt::format("sub-field {} of struct array field {} must be Array or ArrayOfVector, got {}: "
                                 "invalid parameter",
                                 short_name, st.name, type_name));
    }
    std::string element = StrOr(jf, "elementDataType");
    f.element_type = DataTypeFromName(element);
    if (f.element_type == DataType::kNone) {
      return Invalid(fmt::format("invalid parameter, element data type {} is invalid(case sensitive).", element));
    }
    if (Has(jf, "elementTypeParams")) {
      for (const auto& [key, value] : jf.at("elementTypeParams").items()) {
        f.type_params[key] = value.is_string() ? value.get<std::string>()
                                               : value.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
    }
    // A capacity given once for the struct holds for each sub-field that names none.
    auto cap = st.type_params.find("max_capacity");
    if (cap != st.type_params.end() && !f.type_params.count("max_capacity")) f.type_params["max_capacity"] = cap->second;
    s->fields.push_back(std::move(f));
  }
  s->structs.push_back(std::move(st));
  return Ok();
}

int32_t FunctionTypeFromName(const std::string& name) {
  if (name == "BM25") return 1;
  if (name == "TextEmbedding") return 2;
  if (name == "Rerank") return 3;
  return -1;
}

RestError BuildCustomSchema(const Json& schema, CollectionSchema* s) {
  s->auto_id = BoolOr(schema, "autoID", false);
  s->enable_dynamic_field = BoolOr(schema, "enableDynamicField", false);
  std::set<std::string> function_outputs;
  if (Has(schema, "functions")) {
    const Json& fns = schema.at("functions");
    for (size_t k = 0; k < fns.size(); ++k) {
      std::string where = fmt::format("schema.functions[{}].", k);
      if (!fns[k].is_object()) return NotAnObject(where);
      REST_CHECK(CheckParams(fns[k], kFunctionSpec, where));
      FunctionSchema fn;
      fn.name = StrOr(fns[k], "name");
      fn.description = StrOr(fns[k], "description");
      fn.type = FunctionTypeFromName(StrOr(fns[k], "type"));
      if (fn.type < 0) {
        return Invalid(fmt::format("function data type is invalid(case sensitive): invalid parameter[expected="
                                   "FunctionType][actual={}]",
                                   StrOr(fns[k], "type")));
      }
      fn.input_field_names = StrListOr(fns[k], "inputFieldNames");
      fn.output_field_names = StrListOr(fns[k], "outputFieldNames");
      if (Has(fns[k], "params")) fn.params = PropertyMap(fns[k].at("params"));
      function_outputs.insert(fn.output_field_names.begin(), fn.output_field_names.end());
      s->functions.push_back(std::move(fn));
    }
  }
  const Json& fields = schema.at("fields");
  for (size_t k = 0; k < fields.size(); ++k) {
    std::string where = fmt::format("schema.fields[{}].", k);
    if (!fields[k].is_object()) return NotAnObject(where);
    const Json& jf = fields[k];
    REST_CHECK(CheckParams(jf, kFieldSpec, where));
    FieldSchema f;
    f.name = StrOr(jf, "fieldName");
    f.description = StrOr(jf, "description");
    std::string type_name = StrOr(jf, "dataType");
    f.type = DataTypeFromName(type_name);
    if (f.type == DataType::kNone) {
      return Invalid(fmt::format("invalid parameter, data type {} is invalid(case sensitive).", type_name));
    }
    if (f.type == DataType::kArray) {
      std::string element = StrOr(jf, "elementDataType");
      f.element_type = DataTypeFromName(element);
      if (f.element_type == DataType::kNone) {
        return Invalid(fmt::format("invalid parameter, element data type {} is invalid(case sensitive).", element));
      }
    }
    f.is_primary = BoolOr(jf, "isPrimary", false);
    f.auto_id = f.is_primary && s->auto_id;
    f.is_partition_key = BoolOr(jf, "isPartitionKey", false);
    f.is_clustering_key = BoolOr(jf, "isClusteringKey", false);
    f.nullable = BoolOr(jf, "nullable", false);
    f.is_function_output = function_outputs.count(f.name) > 0;
    if (Has(jf, "defaultValue")) REST_CHECK(ConvertDefault(jf.at("defaultValue"), f.type, f.name, &f.default_value));
    if (Has(jf, "elementTypeParams")) {
      for (const auto& [key, value] : jf.at("elementTypeParams").items()) {
        f.type_params[key] = value.is_string() ? value.get<std::string>()
                                               : value.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
    }
    s->fields.push_back(std::move(f));
  }
  for (const char* key : {"structFields", "structArrayFields"}) {
    if (!Has(schema, key)) continue;
    const Json& structs = schema.at(key);
    for (size_t k = 0; k < structs.size(); ++k) {
      const std::string name = StrOr(structs[k].is_object() ? structs[k] : Json::object(), "fieldName");
      if (s->FindField(name) || s->FindStruct(name)) {
        return Invalid(fmt::format("duplicated field name: {}: invalid parameter", name));
      }
      REST_CHECK(BuildStructField(structs[k], fmt::format("schema.{}[{}].", key, k), s));
    }
  }
  return Ok();
}

RestError BuildQuickSchema(const Json& b, const Json& params, CollectionSchema* s) {
  if (IntOr(b, "dimension", 0) == 0) {
    return Invalid(fmt::format("dimension is required for quickly create collection(default metric type: {}): "
                               "invalid parameter[expected=collectionName & dimension][actual=collectionName]",
                               kDefaultMetric));
  }
  FieldSchema pk;
  pk.name = StrOr(b, "primaryFieldName", "id");
  if (pk.name.empty()) pk.name = "id";
  pk.is_primary = true;
  pk.auto_id = BoolOr(b, "autoID", false);
  std::string id_type = StrOr(b, "idType");
  if (id_type.empty() || id_type == "Int64" || id_type == "int64") {
    pk.type = DataType::kInt64;
  } else if (id_type == "VarChar" || id_type == "Varchar") {
    pk.type = DataType::kVarChar;
    if (Has(params, "max_length")) pk.type_params["max_length"] = PropertyValue(params.at("max_length"));
  } else {
    return Invalid(fmt::format("idType can only be [Int64, VarChar], default: Int64: invalid parameter[expected="
                               "Int64, Varchar][actual={}]",
                               id_type));
  }
  FieldSchema vec;
  vec.name = StrOr(b, "vectorFieldName", "vector");
  if (vec.name.empty()) vec.name = "vector";
  vec.type = DataType::kFloatVector;
  vec.type_params["dim"] = std::to_string(IntOr(b, "dimension", 0));
  s->fields.push_back(std::move(pk));
  s->fields.push_back(std::move(vec));
  s->enable_dynamic_field = true;
  if (Has(params, "enableDynamicField")) {
    auto v = LooseBool(params.at("enableDynamicField"));
    if (!v) {
      return Invalid(fmt::format("parse enableDynamicField fail, err:strconv.ParseBool: parsing \"{}\": invalid syntax",
                                 PropertyValue(params.at("enableDynamicField"))));
    }
    s->enable_dynamic_field = *v;
  }
  return Ok();
}

// An indexParams item as the flattened KV map the coordinator takes (what
// pymilvus sends in CreateIndex.extra_params).
std::map<std::string, std::string> IndexParamMap(const Json& item) {
  std::map<std::string, std::string> out;
  if (Has(item, "params")) out = PropertyMap(item.at("params"));
  std::string index_type = StrOr(item, "indexType");
  if (!index_type.empty()) out["index_type"] = index_type;
  std::string metric = StrOr(item, "metricType");
  if (!metric.empty()) out["metric_type"] = metric;
  return out;
}

RestError CheckIndexParams(const Json& items, const CollectionSchema* schema) {
  for (size_t k = 0; k < items.size(); ++k) {
    std::string where = fmt::format("indexParams[{}].", k);
    if (!items[k].is_object()) return NotAnObject(where);
    REST_CHECK(CheckParams(items[k], kIndexParamSpec, where));
    std::string field = StrOr(items[k], "fieldName");
    if (schema && !schema->FindField(field)) {
      return Error(kCodeMissingParameter,
                   fmt::format("{}, error: `{}` hasn't defined in schema", kMissingPrefix, field));
    }
  }
  return Ok();
}

RestError CreateIndexes(Call& c, const std::string& collection, const Json& items) {
  for (const auto& item : items) {
    CreateIndexParams p;
    p.db = c.db;
    p.collection = collection;
    p.field_name = StrOr(item, "fieldName");
    p.index_name = StrOr(item, "indexName");
    p.params = IndexParamMap(item);
    REST_TRY(c.proxy->CreateIndex(p));
  }
  return Ok();
}

// Collection-level settings from `params` (Milvus's CollectionReq.Params).
RestError ApplyCollectionParams(const Json& params, bool has_partition_key, CreateCollectionParams* p) {
  if (Has(params, "shardsNum")) {
    auto n = LooseInt(params.at("shardsNum"));
    if (!n) return Invalid(fmt::format("shardsNum [{}] is not an integer", PropertyValue(params.at("shardsNum"))));
    p->num_shards = static_cast<int32_t>(*n);
  }
  if (Has(params, "consistencyLevel")) {
    ReadConsistency rc;
    std::string level = PropertyValue(params.at("consistencyLevel"));
    RestError e = ParseConsistency(level, &rc);
    if (!e.ok() || rc.use_default) {
      return Invalid(fmt::format("consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], "
                                 "default: Bounded: invalid parameter[expected=Strong, Session, Bounded, Eventually, "
                                 "Customized][actual={}]",
                                 level));
    }
    p->consistency = rc.level;
  }
  if (has_partition_key && Has(params, "partitionsNum")) {
    auto n = LooseInt(params.at("partitionsNum"));
    if (!n) {
      return Invalid(fmt::format("partitionsNum [{}] is not an integer", PropertyValue(params.at("partitionsNum"))));
    }
    p->num_partitions = *n;
  }
  if (Has(params, "ttlSeconds")) p->properties["collection.ttl.seconds"] = PropertyValue(params.at("ttlSeconds"));
  if (Has(params, "partitionKeyIsolation")) {
    p->properties["partitionkey.isolation"] = PropertyValue(params.at("partitionKeyIsolation"));
  }
  return Ok();
}

Result<std::vector<IndexInfo>> IndexesOrEmpty(Call& c, const std::string& collection, const std::string& index_name) {
  auto r = c.proxy->DescribeIndexDefinitions(c.db, collection, "", index_name);
  if (!r.ok() && r.status().Is(Reason::kIndexNotFound) && index_name.empty()) return std::vector<IndexInfo>{};
  return r;
}

// schema.structs as Milvus's printStructArrayFieldsV2 shows them: sub-fields
// under their short names.
Json StructFieldsJson(const CollectionSchema& s) {
  Json out = Json::array();
  for (const auto& st : s.structs) {
    Json subs = Json::array();
    for (const FieldSchema* f : s.SubFields(st.name)) {
      Json jf = {{"name", std::string(ShortFieldName(*f))},
                 {"id", f->id.value},
                 {"type", DataTypeName(f->type)},
                 {"primaryKey", false},
                 {"partitionKey", false},
                 {"clusteringKey", false},
                 {"autoId", false},
                 {"description", f->description},
                 {"nullable", f->nullable},
                 {"elementType", DataTypeName(f->element_type)}};
      if (!f->type_params.empty()) jf["params"] = KvList(f->type_params);
      subs.push_back(std::move(jf));
    }
    Json js = {{"name", st.name},
               {"id", st.id.value},
               {"description", st.description},
               {"nullable", false},
               {"type", DataTypeName(DataType::kArrayOfStruct)},
               {"fields", std::move(subs)}};
    if (!st.type_params.empty()) js["params"] = KvList(st.type_params);
    out.push_back(std::move(js));
  }
  return out;
}

std::string IndexMetric(const IndexInfo& idx) {
  auto it = idx.user_params.find("metric_type");
  if (it != idx.user_params.end()) return it->second;
  it = idx.resolved_params.find("metric_type");
  return it != idx.resolved_params.end() ? it->second : std::string();
}

}  // namespace

// ----------------------------------------------------------------- databases
RestError CreateDatabase(Call& c) {
  std::map<std::string, std::string> props;
  if (Has(c.body, "properties")) props = PropertyMap(c.body.at("properties"));
  REST_TRY(c.proxy->CreateDatabase(c.db, props));
  return Ok();
}

RestError DropDatabase(Call& c) {
  REST_TRY(c.proxy->DropDatabase(c.db));
  return Ok();
}

RestError ListDatabases(Call& c) {
  REST_ASSIGN(auto dbs, c.proxy->ListDatabases());
  c.data = Json::array();
  // Only what the caller holds privileges on (Milvus list_db_task).
  auth::Visibility visible;
  visible.all = !c.access;
  if (c.access) visible = c.access->VisibleDatabases(c.user);
  for (const auto& db : dbs) {
    if (visible.Contains(db.name)) c.data.push_back(db.name);
  }
  return Ok();
}

RestError DescribeDatabase(Call& c) {
  REST_ASSIGN(DatabaseInfo db, c.proxy->DescribeDatabase(c.db));
  c.data = {{"dbName", db.name}, {"dbID", db.id.value}, {"properties", KvList(db.properties)}};
  return Ok();
}

RestError AlterDatabase(Call& c) {
  std::map<std::string, std::string> props;
  if (Has(c.body, "properties")) props = PropertyMap(c.body.at("properties"));
  REST_TRY(c.proxy->AlterDatabase(c.db, props, {}));
  return Ok();
}

RestError DropDatabaseProperties(Call& c) {
  REST_TRY(c.proxy->AlterDatabase(c.db, {}, StrListOr(c.body, "propertyKeys")));
  return Ok();
}

// --------------------------------------------------------------- collections
RestError CreateCollection(Call& c) {
  const Json& b = c.body;
  std::string name = Collection(c);
  Json params = Has(b, "params") ? b.at("params") : Json::object();
  const Json* schema = Has(b, "schema") ? &b.at("schema") : nullptr;
  if (schema) REST_CHECK(CheckParams(*schema, kSchemaSpec, "schema."));
  bool custom = schema && Has(*schema, "fields") && !schema->at("fields").empty();
  Json index_params = Has(b, "indexParams") ? b.at("indexParams") : Json::array();

  CreateCollectionParams p;
  p.db = c.db;
  if (custom) {
    REST_CHECK(BuildCustomSchema(*schema, &p.schema));
    REST_CHECK(CheckIndexParams(index_params, &p.schema));
  } else {
    if (schema && Has(*schema, "functions") && !schema->at("functions").empty()) {
      return Invalid("functions are not supported for quickly create collection: invalid parameter[expected=schema]"
                     "[actual=functions]");
    }
    REST_CHECK(BuildQuickSchema(b, params, &p.schema));
  }
  p.schema.name = name;
  p.schema.description = StrOr(b, "description");
  bool has_partition_key = false;
  for (const auto& f : p.schema.fields) has_partition_key = has_partition_key || f.is_partition_key;
  REST_CHECK(ApplyCollectionParams(params, has_partition_key, &p));
  REST_TRY(c.proxy->CreateCollection(p));

  // Milvus then indexes and loads: always in the quick form (AUTOINDEX on the
  // vector field, named after it), with the custom form only when indexParams
  // were given.
  if (!custom) {
    const FieldSchema& vec = p.schema.fields[1];
    CreateIndexParams ip;
    ip.db = c.db;
    ip.collection = name;
    ip.field_name = vec.name;
    ip.index_name = vec.name;
    std::string metric = StrOr(b, "metricType");
    ip.params["metric_type"] = metric.empty() ? kDefaultMetric : metric;
    REST_TRY(c.proxy->CreateIndex(ip));
  } else {
    if (index_params.empty()) return Ok();
    REST_CHECK(CreateIndexes(c, name, index_params));
  }
  REST_TRY(c.proxy->Load(c.db, name, {}));
  return Ok();
}

RestError DropCollection(Call& c) {
  REST_TRY(c.proxy->DropCollection(c.db, Collection(c)));
  return Ok();
}

RestError HasCollection(Call& c) {
  auto r = c.proxy->DescribeCollection(c.db, Collection(c));
  if (!r.ok() && !r.status().Is(Reason::kCollectionNotFound)) return FromStatus(r.status());
  c.data = {{"has", r.ok()}};
  return Ok();
}

RestError ListCollections(Call& c) {
  REST_ASSIGN(auto views, c.proxy->ListCollections(c.db));
  c.data = Json::array();
  // Only what the caller holds privileges on (Milvus show_collection_task).
  auth::Visibility visible;
  visible.all = !c.access;
  if (c.access) visible = c.access->VisibleCollections(c.user, c.db);
  for (const auto& v : views) {
    if (visible.Contains(v.info.schema.name)) c.data.push_back(v.info.schema.name);
  }
  return Ok();
}

RestError DescribeCollection(Call& c) {
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  const CollectionInfo& info = v.info;
  const CollectionSchema& s = info.schema;
  Json fields = Json::array();
  for (const auto& f : s.fields) {
    if (f.is_dynamic || !f.struct_name.empty()) continue;
    Json jf = {{"name", f.name},
               {"id", f.id.value},
               {"type", DataTypeName(f.type)},
               {"primaryKey", f.is_primary},
               {"partitionKey", f.is_partition_key},
               {"clusteringKey", f.is_clustering_key},
               {"autoId", f.auto_id},
               {"description", f.description},
               {"nullable", f.nullable}};
    if (f.default_value) jf["defaultValue"] = DefaultValueJson(*f.default_value);
    if (!f.type_params.empty()) jf["params"] = KvList(f.type_params);
    if (f.type == DataType::kArray) jf["elementType"] = DataTypeName(f.element_type);
    if (f.is_function_output) jf["isFunctionOutput"] = true;
    fields.push_back(std::move(jf));
  }
  Json functions = Json::array();
  for (const auto& fn : s.functions) {
    functions.push_back({{"name", fn.name},
                         {"id", fn.id},
                         {"description", fn.description},
                         {"type", fn.type},
                         {"inputFieldNames", fn.input_field_names},
                         {"outputFieldNames", fn.output_field_names},
                         {"params", KvList(fn.params)}});
  }
  Json indexes = Json::array();
  REST_ASSIGN(auto idx, IndexesOrEmpty(c, s.name, ""));
  for (const auto& i : idx) {
    const FieldSchema* f = s.FindField(i.field_id);
    indexes.push_back({{"fieldName", f ? f->name : ""}, {"indexName", i.name}, {"metricType", IndexMetric(i)}});
  }
  const FieldSchema* pk = s.PrimaryField();
  c.data = {{"collectionName", s.name},
            {"collectionID", info.id.value},
            {"description", s.description},
            {"autoId", pk && pk->auto_id},
            {"fields", std::move(fields)},
            {"structFields", StructFieldsJson(s)},
            {"functions", std::move(functions)},
            {"aliases", Names(v.aliases)},
            {"indexes", std::move(indexes)},
            {"load", LoadStateName(info.load_state())},
            {"shardsNum", info.num_shards},
            {"partitionsNum", static_cast<int64_t>(info.partitions.size())},
            {"consistencyLevel", ConsistencyName(info.consistency)},
            {"enableDynamicField", s.enable_dynamic_field},
            {"properties", KvList(info.properties)}};
  return Ok();
}

RestError GetCollectionStats(Call& c) {
  REST_ASSIGN(CollectionStats st, c.proxy->Stats(c.db, Collection(c), ""));
  c.data = {{"rowCount", st.row_count}};
  return Ok();
}

RestError GetLoadState(Call& c) {
  REST_ASSIGN(LoadProgress p, c.proxy->GetLoadProgress(c.db, Collection(c),
                                                                      StrListOr(c.body, "partitionNames")));
  c.data = {{"loadState", LoadStateName(p.state)}};
  if (p.state != LoadState::kNotLoad) c.data["loadProgress"] = p.progress;
  return Ok();
}

RestError LoadCollection(Call& c) {
  REST_TRY(c.proxy->Load(c.db, Collection(c), {}));
  return Ok();
}

RestError ReleaseCollection(Call& c) {
  REST_TRY(c.proxy->Release(c.db, Collection(c), {}));
  return Ok();
}

RestError RenameCollection(Call& c) {
  std::string new_db = StrOr(c.body, "newDbName");
  REST_TRY(c.proxy->RenameCollection(c.db, Collection(c), new_db.empty() ? c.db : new_db,
                                                   StrOr(c.body, "newCollectionName")));
  return Ok();
}

RestError AlterCollectionProperties(Call& c) {
  std::map<std::string, std::string> props;
  if (Has(c.body, "properties")) props = PropertyMap(c.body.at("properties"));
  REST_TRY(c.proxy->AlterCollection(c.db, Collection(c), props, {}));
  return Ok();
}

RestError DropCollectionProperties(Call& c) {
  REST_TRY(c.proxy->AlterCollection(c.db, Collection(c), {}, StrListOr(c.body, "propertyKeys")));
  return Ok();
}

RestError FlushCollection(Call& c) {
  REST_ASSIGN(auto segments, c.proxy->Flush(c.db, Collection(c)));
  (void)segments;
  return Ok();
}

RestError CompactCollection(Call& c) {
  REST_ASSIGN(int64_t job, c.proxy->Compact(c.db, Collection(c), 0));
  c.data = {{"compactionID", job}};
  return Ok();
}

RestError GetCompactionState(Call& c) {
  const Json& id = c.body.at("jobID");
  int64_t job = 0;
  if (id.is_number_integer()) {
    job = id.get<int64_t>();
  } else if (id.is_string()) {
    try {
      size_t pos = 0;
      job = std::stoll(id.get<std::string>(), &pos);
      if (pos != id.get<std::string>().size()) throw std::invalid_argument("");
    } catch (...) {
      return Error(kCodeParameterInvalid, fmt::format("jobID [{}] is not an integer", id.get<std::string>()));
    }
  } else {
    return Error(kCodeParameterInvalid, fmt::format("jobID [{}] is not an integer", id.dump()));
  }
  CompactionJob j = c.proxy->GetCompaction(job);
  static const char* kNames[] = {"UndefiedState", "Executing", "Completed"};
  c.data = {{"compactionID", job},
            {"state", kNames[static_cast<int>(j.state)]},
            {"executingPlanNumber", j.executing()},
            {"timeoutPlanNumber", 0},
            {"completePlanNumber", j.completed}};
  return Ok();
}

// ---------------------------------------------------------------- partitions
RestError CreatePartition(Call& c) {
  REST_TRY(c.proxy->CreatePartition(c.db, Collection(c), StrOr(c.body, "partitionName")));
  return Ok();
}

RestError DropPartition(Call& c) {
  REST_TRY(c.proxy->DropPartition(c.db, Collection(c), StrOr(c.body, "partitionName")));
  return Ok();
}

RestError HasPartition(Call& c) {
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  c.data = {{"has", v.info.FindPartition(StrOr(c.body, "partitionName")) != nullptr}};
  return Ok();
}

RestError ListPartitions(Call& c) {
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, Collection(c)));
  c.data = Json::array();
  for (const auto& p : v.info.partitions) c.data.push_back(p.name);
  return Ok();
}

RestError GetPartitionStats(Call& c) {
  REST_ASSIGN(CollectionStats st, c.proxy->Stats(c.db, Collection(c), StrOr(c.body, "partitionName")));
  c.data = {{"rowCount", st.row_count}};
  return Ok();
}

RestError LoadPartitions(Call& c) {
  auto names = StrListOr(c.body, "partitionNames");
  if (names.empty()) return Invalid("partition names should not be empty");
  REST_TRY(c.proxy->Load(c.db, Collection(c), names));
  return Ok();
}

RestError ReleasePartitions(Call& c) {
  auto names = StrListOr(c.body, "partitionNames");
  if (names.empty()) return Invalid("partition names should not be empty");
  REST_TRY(c.proxy->Release(c.db, Collection(c), names));
  return Ok();
}

// ------------------------------------------------------------------- aliases
RestError CreateAlias(Call& c) {
  REST_TRY(c.proxy->CreateAlias(c.db, Collection(c), StrOr(c.body, "aliasName")));
  return Ok();
}

RestError AlterAlias(Call& c) {
  REST_TRY(c.proxy->AlterAlias(c.db, Collection(c), StrOr(c.body, "aliasName")));
  return Ok();
}

RestError DropAlias(Call& c) {
  REST_TRY(c.proxy->DropAlias(c.db, StrOr(c.body, "aliasName")));
  return Ok();
}

RestError DescribeAlias(Call& c) {
  REST_ASSIGN(AliasInfo a, c.proxy->DescribeAlias(c.db, StrOr(c.body, "aliasName")));
  c.data = {{"dbName", a.db_name}, {"collectionName", a.collection}, {"aliasName", a.alias}};
  return Ok();
}

RestError ListAliases(Call& c) {
  REST_ASSIGN(auto aliases, c.proxy->ListAliases(c.db, StrOr(c.body, "collectionName")));
  c.data = Names(aliases);
  return Ok();
}

// ------------------------------------------------------------------- indexes
RestError CreateIndex(Call& c) {
  const Json& items = c.body.at("indexParams");
  REST_CHECK(CheckIndexParams(items, nullptr));
  return CreateIndexes(c, Collection(c), items);
}

RestError DropIndex(Call& c) {
  REST_TRY(c.proxy->DropIndex(c.db, Collection(c), "", StrOr(c.body, "indexName")));
  return Ok();
}

RestError ListIndexes(Call& c) {
  REST_ASSIGN(auto indexes, IndexesOrEmpty(c, Collection(c), ""));
  c.data = Json::array();
  for (const auto& i : indexes) c.data.push_back(i.name);
  return Ok();
}

RestError DescribeIndex(Call& c) {
  std::string collection = Collection(c);
  REST_ASSIGN(CollectionView v, c.proxy->DescribeCollection(c.db, collection));
  std::string index_name = StrOr(c.body, "indexName");
  auto described = c.proxy->DescribeIndex(c.db, collection, "", index_name);
  if (!described.ok() && described.status().Is(Reason::kIndexNotFound) && index_name.empty()) {
    described = std::vector<Proxy::IndexStatus>{};
  }
  REST_ASSIGN(auto indexes, std::move(described));
  c.data = Json::array();
  for (const auto& st : indexes) {
    const IndexInfo& i = st.info;
    const IndexProgress& p = st.progress;
    const FieldSchema* f = v.info.schema.FindField(i.field_id);
    auto type = i.user_params.find("index_type");
    c.data.push_back({{"indexName", i.name},
                      {"fieldName", f ? f->name : ""},
                      {"indexType", type != i.user_params.end() ? type->second : "AUTOINDEX"},
                      {"metricType", IndexMetric(i)},
                      {"totalRows", p.total_rows},
                      {"indexedRows", p.indexed_rows},
                      {"pendingRows", p.total_rows - p.indexed_rows},
                      {"indexState", p.state()},
                      {"failReason", p.fail_reason}});
  }
  return Ok();
}

RestError AlterIndexProperties(Call& c) {
  std::map<std::string, std::string> props;
  if (Has(c.body, "properties")) props = PropertyMap(c.body.at("properties"));
  REST_TRY(c.proxy->AlterIndex(c.db, Collection(c), StrOr(c.body, "indexName"), props, {}));
  return Ok();
}

RestError DropIndexProperties(Call& c) {
  REST_TRY(c.proxy->AlterIndex(c.db, Collection(c), StrOr(c.body, "indexName"), {},
                                             StrListOr(c.body, "propertyKeys")));
  return Ok();
}

// collections/fields/add {collectionName, schema: {fieldName, dataType, ...}}:
// one field in the shape of collections/create's schema.fields[], added as
// the gRPC AddCollectionField adds it (the same checks and messages).
RestError AddCollectionFieldRest(Call& c) {
  const Json& field = c.body.at("schema");
  Json one = {{"fields", Json::array({field})}};
  CollectionSchema parsed;
  RestError err = BuildCustomSchema(one, &parsed);
  if (!err.ok()) {
    // Name the key as this request spells it (schema.nullable, not schema.fields[0].nullable).
    const std::string inner = "schema.fields[0].";
    for (size_t at = err.message.find(inner); at != std::string::npos; at = err.message.find(inner, at)) {
      err.message.replace(at, inner.size(), "schema.");
    }
    return err;
  }
  REST_TRY(c.proxy->AddCollectionField(c.db, Collection(c), parsed.fields.at(0)));
  return Ok();
}

// collections/fields/alter_properties {collectionName, fieldName, fieldParams}:
// each value as Go's fmt.Sprintf("%v") spells it (PropertyMap).
RestError AlterCollectionFieldRest(Call& c) {
  std::map<std::string, std::string> props;
  if (Has(c.body, "fieldParams")) props = PropertyMap(c.body.at("fieldParams"));
  REST_TRY(c.proxy->AlterCollectionField(c.db, Collection(c), StrOr(c.body, "fieldName"), props, {}));
  return Ok();
}

// collections/fields/drop_properties {collectionName, fieldName, propertyKeys}.
RestError DropCollectionFieldPropertiesRest(Call& c) {
  REST_TRY(c.proxy->AlterCollectionField(c.db, Collection(c), StrOr(c.body, "fieldName"), {},
                                         StrListOr(c.body, "propertyKeys")));
  return Ok();
}

// collections/truncate {collectionName}.
RestError TruncateCollectionRest(Call& c) {
  REST_TRY(c.proxy->TruncateCollection(c.db, Collection(c)));
  return Ok();
}

}  // namespace kite::rest
