#include "rpc/rest/rest_service.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <string_view>

#include "common/call_context.h"
#include "common/json_scan.h"
#include "roles/auth/password_hash.h"
#include "rpc/rest/rest_call.h"
#include "rpc/rest/rest_rows.h"
#include "rpc/status_map.h"

namespace kite::rest {

// encoding/json maxNestingDepth (Go), the depth Milvus's REST decoder accepts.
constexpr int kMaxBodyJsonDepth = 10000;

// ------------------------------------------------------------ shared helpers
RestError Ok() { return {}; }
RestError Error(int32_t code, std::string message) { return {code, std::move(message)}; }
RestError FromStatus(const Status& st) {
  if (st.ok()) return {};
  return {rpc::MilvusCode(st), st.message()};
}
RestError Wrap(int32_t code, const char* prefix, const Status& st) {
  if (st.ok()) return {};
  // Decoding errors are the caller's; anything else keeps its own code.
  if (st.code() != StatusCode::kInvalidArgument) return FromStatus(st);
  return {code, fmt::format("{}, error: {}", prefix, st.message())};
}

bool Has(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null();
}
std::string StrOr(const Json& obj, const char* key, std::string dflt) {
  return Has(obj, key) ? obj.at(key).get<std::string>() : std::move(dflt);
}
int64_t IntOr(const Json& obj, const char* key, int64_t dflt) {
  return Has(obj, key) ? obj.at(key).get<int64_t>() : dflt;
}
bool BoolOr(const Json& obj, const char* key, bool dflt) { return Has(obj, key) ? obj.at(key).get<bool>() : dflt; }
std::vector<std::string> StrListOr(const Json& obj, const char* key, std::vector<std::string> dflt) {
  if (!Has(obj, key)) return dflt;
  std::vector<std::string> out;
  for (const auto& e : obj.at(key)) out.push_back(e.get<std::string>());
  return out;
}

namespace {

// Go's names for JSON value kinds, as its decoding errors print them.
const char* GoJsonKind(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    default: return "null";
  }
}

const char* GoTypeName(JType t) {
  switch (t) {
    case JType::kString: return "string";
    case JType::kInt: return "int64";
    case JType::kBool: return "bool";
    case JType::kStrList: return "[]string";
    case JType::kObject: return "map[string]interface {}";
    case JType::kArray: return "[]interface {}";
    case JType::kAny: return "interface {}";
  }
  return "?";
}

bool TypeMatches(const Json& v, JType t) {
  switch (t) {
    case JType::kString: return v.is_string();
    case JType::kInt:
      return v.is_number_integer() &&
             (!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX));
    case JType::kBool: return v.is_boolean();
    case JType::kStrList:
      if (!v.is_array()) return false;
      for (const auto& e : v) {
        if (!e.is_string()) return false;
      }
      return true;
    case JType::kObject: return v.is_object();
    case JType::kArray: return v.is_array();
    case JType::kAny: return true;
  }
  return false;
}

bool IsMissing(const Json& obj, const ParamSpec& s) {
  auto it = obj.find(s.key);
  if (it == obj.end() || it->is_null()) return true;
  return s.type == JType::kString && it->get_ref<const std::string&>().empty();
}

}  // namespace

RestError CheckParams(const Json& obj, const std::vector<ParamSpec>& specs, const std::string& where) {
  for (const auto& s : specs) {
    auto it = obj.find(s.key);
    if (it == obj.end() || it->is_null() || TypeMatches(*it, s.type)) continue;
    return Error(kCodeBadJson, fmt::format("{}, error: json: cannot unmarshal {} into Go struct field {}{} of type {}",
                                           kBadJsonPrefix, GoJsonKind(*it), where, s.key, GoTypeName(s.type)));
  }
  for (const auto& s : specs) {
    if (!s.required || !IsMissing(obj, s)) continue;
    return Error(kCodeMissingParameter,
                 fmt::format("{}, error: Key: '{}{}' Error:Field validation for '{}' failed on the 'required' tag",
                             kMissingPrefix, where, s.key, s.key));
  }
  return Ok();
}

std::string PropertyValue(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  if (v.is_null()) return "<nil>";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::map<std::string, std::string> PropertyMap(const Json& obj) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  for (const auto& [k, v] : obj.items()) out[k] = PropertyValue(v);
  return out;
}

Json KvList(const std::map<std::string, std::string>& m) {
  Json out = Json::array();
  for (const auto& [k, v] : m) out.push_back({{"key", k}, {"value", v}});
  return out;
}

namespace {

Result<expr::TemplateValue> TemplateFromJson(const Json& j, int depth) {
  if (depth > 16) return InvalidArgument("exprParams nested too deeply");
  if (j.is_null()) return expr::TemplateValue();
  if (j.is_boolean()) return expr::TemplateValue(j.get<bool>());
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return expr::TemplateValue(static_cast<double>(u));
    return expr::TemplateValue(static_cast<int64_t>(u));
  }
  if (j.is_number_integer()) return expr::TemplateValue(j.get<int64_t>());
  if (j.is_number_float()) return expr::TemplateValue(j.get<double>());
  if (j.is_string()) return expr::TemplateValue(j.get<std::string>());
  if (j.is_array()) {
    expr::TemplateValue::Array arr;
    for (const auto& e : j) {
      KITE_ASSIGN_OR_RETURN(auto v, TemplateFromJson(e, depth + 1));
      arr.push_back(std::move(v));
    }
    return expr::TemplateValue(std::move(arr));
  }
  return InvalidArgument("JSON objects are not supported as template values: {}",
                         j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace

Result<expr::TemplateValues> TemplateValuesFromJson(const Json& obj) {
  expr::TemplateValues out;
  if (!obj.is_object()) return out;
  for (const auto& [k, v] : obj.items()) {
    KITE_ASSIGN_OR_RETURN(out[k], TemplateFromJson(v, 0));
  }
  return out;
}

std::string_view ConsistencyName(ConsistencyLevel level) {
  switch (level) {
    case ConsistencyLevel::kStrong: return "Strong";
    case ConsistencyLevel::kSession: return "Session";
    case ConsistencyLevel::kBounded: return "Bounded";
    case ConsistencyLevel::kEventually: return "Eventually";
    case ConsistencyLevel::kCustomized: return "Customized";
  }
  return "Bounded";
}

RestError ParseConsistency(const std::string& name, ReadConsistency* out) {
  out->use_default = name.empty();
  if (name.empty()) return Ok();
  for (int i = 0; i <= static_cast<int>(ConsistencyLevel::kCustomized); ++i) {
    auto level = static_cast<ConsistencyLevel>(i);
    if (ConsistencyName(level) == name) {
      out->level = level;
      return Ok();
    }
  }
  return Error(kCodeParameterInvalid,
               fmt::format("consistencyLevel can only be [Strong, Session, Bounded, Eventually, Customized], default: "
                           "Bounded, err:parameter:'{}' is incorrect, please check it",
                           name));
}

std::string_view LoadStateName(LoadState state) {
  switch (state) {
    case LoadState::kNotExist: return "LoadStateNotExist";
    case LoadState::kNotLoad: return "LoadStateNotLoad";
    case LoadState::kLoading: return "LoadStateLoading";
    case LoadState::kLoaded: return "LoadStateLoaded";
  }
  return "LoadStateNotExist";
}

// ------------------------------------------------------------------- routing
namespace {

constexpr std::string_view kPrefix = "/v2/vectordb/";

// The names a route checks before its handler looks anything up, as the
// gRPC handler of the same call does (MilvusService, Milvus's proxy tasks'
// PreExecute): a malformed name is 1100 "Invalid collection name: ...", not
// "collection not found". Milvus's REST entity routes describe the
// collection first, so they check its name too.
enum NameCheck : uint8_t {
  kNoNameCheck = 0,
  kCheckCollection = 1,      // body collectionName
  kCheckPartition = 2,       // body partitionName (after the collection name)
};

struct Route {
  Handler handler;
  std::vector<ParamSpec> params;
  uint8_t names = kNoNameCheck;
};

const std::vector<ParamSpec> kCollection = {{"collectionName", JType::kString, true}};
const std::vector<ParamSpec> kPartition = {{"collectionName", JType::kString, true},
                                           {"partitionName", JType::kString, true}};
const std::vector<ParamSpec> kPartitions = {{"collectionName", JType::kString, true},
                                            {"partitionNames", JType::kStrList, true}};
const std::vector<ParamSpec> kAliasCollection = {{"collectionName", JType::kString, true},
                                                 {"aliasName", JType::kString, true}};
const std::vector<ParamSpec> kIndex = {{"collectionName", JType::kString, true}, {"indexName", JType::kString, true}};
const std::vector<ParamSpec> kPrivilegeV1 = {{"roleName", JType::kString, true},
                                             {"objectType", JType::kString, true},
                                             {"objectName", JType::kString, true},
                                             {"privilege", JType::kString, true}};
const std::vector<ParamSpec> kPrivilegeV2 = {{"roleName", JType::kString, true},
                                             {"privilege", JType::kString, true},
                                             {"collectionName", JType::kString}};
const std::vector<ParamSpec> kGroupPrivileges = {{"privilegeGroupName", JType::kString, true},
                                                 {"privileges", JType::kStrList, true}};

const std::vector<ParamSpec> kHybridSearchKeys = {{"collectionName", JType::kString, true},
                                                  {"search", JType::kArray, true},
                                                  {"rerank", JType::kObject},
                                                  {"functionScore", JType::kObject},
                                                  {"limit", JType::kInt},
                                                  {"offset", JType::kInt},
                                                  {"groupingField", JType::kString},
                                                  {"groupSize", JType::kInt},
                                                  {"strictGroupSize", JType::kBool},
                                                  {"outputFields", JType::kStrList},
                                                  {"partitionNames", JType::kStrList},
                                                  {"consistencyLevel", JType::kString}};

const std::map<std::string_view, Route>& Routes() {
  static const std::map<std::string_view, Route> routes = {
      // databases
      {"databases/create", {CreateDatabase, {{"dbName", JType::kString, true}, {"properties", JType::kObject}}}},
      {"databases/drop", {DropDatabase, {{"dbName", JType::kString, true}}}},
      {"databases/list", {ListDatabases, {}}},
      {"databases/describe", {DescribeDatabase, {{"dbName", JType::kString, true}}}},
      {"databases/alter", {AlterDatabase, {{"dbName", JType::kString, true}, {"properties", JType::kObject}}}},
      {"databases/alter_properties",
       {AlterDatabase, {{"dbName", JType::kString, true}, {"properties", JType::kObject}}}},
      {"databases/drop_properties",
       {DropDatabaseProperties, {{"dbName", JType::kString, true}, {"propertyKeys", JType::kStrList}}}},
      // collections
      {"collections/create",
       {CreateCollection,
        {{"collectionName", JType::kString, true},
         {"dimension", JType::kInt},
         {"idType", JType::kString},
         {"autoID", JType::kBool},
         {"metricType", JType::kString},
         {"primaryFieldName", JType::kString},
         {"vectorFieldName", JType::kString},
         {"description", JType::kString},
         {"schema", JType::kObject},
         {"indexParams", JType::kArray},
         {"params", JType::kObject}}}},
      {"collections/drop", {DropCollection, kCollection}},
      {"collections/has", {HasCollection, kCollection, kCheckCollection}},
      {"collections/list", {ListCollections, {}}},
      {"collections/describe", {DescribeCollection, kCollection, kCheckCollection}},
      {"collections/get_stats", {GetCollectionStats, kCollection}},
      {"collections/get_load_state",
       {GetLoadState, {{"collectionName", JType::kString, true}, {"partitionNames", JType::kStrList}}}},
      {"collections/load", {LoadCollection, kCollection}},
      {"collections/refresh_load", {LoadCollection, kCollection}},
      {"collections/release", {ReleaseCollection, kCollection}},
      {"collections/rename",
       {RenameCollection,
        {{"collectionName", JType::kString, true},
         {"newCollectionName", JType::kString, true},
         {"newDbName", JType::kString}}}},
      {"collections/alter_properties",
       {AlterCollectionProperties, {{"collectionName", JType::kString, true}, {"properties", JType::kObject}}}},
      {"collections/drop_properties",
       {DropCollectionProperties, {{"collectionName", JType::kString, true}, {"propertyKeys", JType::kStrList}}}},
      {"collections/flush", {FlushCollection, kCollection}},
      {"collections/truncate", {TruncateCollectionRest, kCollection}},
      {"collections/fields/add",
       {AddCollectionFieldRest, {{"collectionName", JType::kString, true}, {"schema", JType::kObject, true}}}},
      {"collections/fields/alter_properties",
       {AlterCollectionFieldRest,
        {{"collectionName", JType::kString, true},
         {"fieldName", JType::kString, true},
         {"fieldParams", JType::kObject}}}},
      {"collections/fields/drop_properties",
       {DropCollectionFieldPropertiesRest,
        {{"collectionName", JType::kString, true},
         {"fieldName", JType::kString, true},
         {"propertyKeys", JType::kStrList}}}},
      {"collections/compact", {CompactCollection, {{"collectionName", JType::kString, true}, {"isClustering", JType::kBool}}}},
      {"collections/get_compaction_state", {GetCompactionState, {{"jobID", JType::kAny, true}}}},
      // partitions
      {"partitions/create", {CreatePartition, kPartition, kCheckCollection}},
      {"partitions/drop", {DropPartition, kPartition, kCheckCollection | kCheckPartition}},
      {"partitions/has", {HasPartition, kPartition, kCheckCollection | kCheckPartition}},
      {"partitions/list", {ListPartitions, kCollection, kCheckCollection}},
      {"partitions/get_stats", {GetPartitionStats, kPartition}},
      {"partitions/load", {LoadPartitions, kPartitions}},
      {"partitions/release", {ReleasePartitions, kPartitions}},
      // aliases
      {"aliases/create", {CreateAlias, kAliasCollection}},
      {"aliases/alter", {AlterAlias, kAliasCollection}},
      {"aliases/drop", {DropAlias, {{"aliasName", JType::kString, true}}}},
      {"aliases/describe", {DescribeAlias, {{"aliasName", JType::kString, true}}}},
      {"aliases/list", {ListAliases, {{"collectionName", JType::kString}}}},
      // indexes
      {"indexes/create",
       {CreateIndex, {{"collectionName", JType::kString, true}, {"indexParams", JType::kArray, true}}}},
      {"indexes/drop", {DropIndex, kIndex, kCheckCollection}},
      {"indexes/list", {ListIndexes, kCollection, kCheckCollection}},
      {"indexes/describe", {DescribeIndex, kIndex, kCheckCollection}},
      {"indexes/alter_properties",
       {AlterIndexProperties,
        {{"collectionName", JType::kString, true},
         {"indexName", JType::kString, true},
         {"properties", JType::kObject}}}},
      {"indexes/drop_properties",
       {DropIndexProperties,
        {{"collectionName", JType::kString, true},
         {"indexName", JType::kString, true},
         {"propertyKeys", JType::kStrList}}}},
      // entities
      {"entities/insert",
       {InsertEntities,
        {{"collectionName", JType::kString, true}, {"partitionName", JType::kString}, {"data", JType::kArray, true}},
        kCheckCollection}},
      {"entities/upsert",
       {UpsertEntities,
        {{"collectionName", JType::kString, true},
         {"partitionName", JType::kString},
         {"data", JType::kArray, true},
         {"partialUpdate", JType::kBool}},
        kCheckCollection}},
      {"entities/delete",
       {DeleteEntities,
        {{"collectionName", JType::kString, true},
         {"partitionName", JType::kString},
         {"filter", JType::kString},
         {"exprParams", JType::kObject},
         {"id", JType::kAny}},
        kCheckCollection}},
      {"entities/get",
       {GetEntities,
        {{"collectionName", JType::kString, true},
         {"id", JType::kAny, true},
         {"outputFields", JType::kStrList},
         {"partitionName", JType::kString},
         {"partitionNames", JType::kStrList},
         {"consistencyLevel", JType::kString}},
        kCheckCollection}},
      {"entities/query",
       {QueryEntities,
        {{"collectionName", JType::kString, true},
         {"filter", JType::kString},
         {"outputFields", JType::kStrList},
         {"limit", JType::kInt},
         {"offset", JType::kInt},
         {"partitionNames", JType::kStrList},
         {"exprParams", JType::kObject},
         {"consistencyLevel", JType::kString}},
        kCheckCollection}},
      {"entities/search",
       {SearchEntities,
        {{"collectionName", JType::kString, true},
         {"data", JType::kArray},  // required unless `ids` (search by primary key, not implemented)
         {"ids", JType::kAny},
         {"annsField", JType::kString},
         {"filter", JType::kString},
         {"limit", JType::kInt},
         {"offset", JType::kInt},
         {"groupingField", JType::kString},
         {"groupSize", JType::kInt},
         {"strictGroupSize", JType::kBool},
         {"outputFields", JType::kStrList},
         {"searchParams", JType::kObject},
         {"partitionNames", JType::kStrList},
         {"consistencyLevel", JType::kString},
         {"exprParams", JType::kObject},
         {"functionScore", JType::kObject}},
        kCheckCollection}},
      {"entities/hybrid_search", {HybridSearchEntities, kHybridSearchKeys, kCheckCollection}},
      {"entities/advanced_search", {HybridSearchEntities, kHybridSearchKeys, kCheckCollection}},
      {"common/run_analyzer",
       {RunAnalyzerRest,
        {{"text", JType::kStrList, true},
         {"analyzerParams", JType::kAny},  // Milvus: a JSON string; an object is accepted too
         {"withDetail", JType::kBool},
         {"withHash", JType::kBool},
         {"collectionName", JType::kString},
         {"fieldName", JType::kString},
         {"analyzerNames", JType::kStrList}}}},
      // users, roles, privilege groups
      {"users/create", {CreateUser, {{"userName", JType::kString, true}, {"password", JType::kString, true}}}},
      {"users/update_password",
       {UpdatePassword,
        {{"userName", JType::kString, true}, {"password", JType::kString}, {"newPassword", JType::kString, true}}}},
      {"users/drop", {DropUser, {{"userName", JType::kString, true}}}},
      {"users/list", {ListUsers, {}}},
      {"users/describe", {DescribeUser, {{"userName", JType::kString, true}}}},
      {"users/grant_role",
       {GrantRoleToUser, {{"userName", JType::kString, true}, {"roleName", JType::kString, true}}}},
      {"users/revoke_role",
       {RevokeRoleFromUser, {{"userName", JType::kString, true}, {"roleName", JType::kString, true}}}},
      {"roles/create", {CreateRoleRest, {{"roleName", JType::kString, true}}}},
      {"roles/drop", {DropRoleRest, {{"roleName", JType::kString, true}, {"forceDrop", JType::kBool}}}},
      {"roles/list", {ListRoles, {}}},
      {"roles/describe", {DescribeRole, {{"roleName", JType::kString, true}}}},
      {"roles/grant_privilege", {GrantPrivilege, kPrivilegeV1}},
      {"roles/revoke_privilege", {RevokePrivilege, kPrivilegeV1}},
      {"roles/grant_privilege_v2", {GrantPrivilegeV2, kPrivilegeV2}},
      {"roles/revoke_privilege_v2", {RevokePrivilegeV2, kPrivilegeV2}},
      {"privilege_groups/create", {CreatePrivilegeGroupRest, {{"privilegeGroupName", JType::kString, true}}}},
      {"privilege_groups/drop", {DropPrivilegeGroupRest, {{"privilegeGroupName", JType::kString, true}}}},
      {"privilege_groups/list", {ListPrivilegeGroupsRest, {}}},
      {"privilege_groups/add_privileges_to_group", {AddPrivilegesToGroup, kGroupPrivileges}},
      {"privilege_groups/remove_privileges_from_group", {RemovePrivilegesFromGroup, kGroupPrivileges}},
      {"jobs/import/create",
       {ImportCreate, {{"collectionName", JType::kString, true}, {"partitionName", JType::kString},
                       {"files", JType::kArray, true}, {"options", JType::kObject}}}},
      {"jobs/import/describe", {ImportDescribe, {{"jobId", JType::kAny, true}}}},
      {"jobs/import/get_progress", {ImportDescribe, {{"jobId", JType::kAny, true}}}},
      {"jobs/import/list", {ImportList, {{"collectionName", JType::kString}}}},
      {"resource_groups/create", {RgCreate, {{"name", JType::kString, true}, {"config", JType::kObject}}}},
      {"resource_groups/alter", {RgAlter, {{"resource_groups", JType::kObject, true}}}},
      {"resource_groups/drop", {RgDrop, {{"name", JType::kString, true}}}},
      {"resource_groups/list", {RgList, {}}},
      {"resource_groups/describe", {RgDescribe, {{"name", JType::kString, true}}}},
      {"resource_groups/transfer_replica",
       {RgTransferReplica, {{"sourceRgName", JType::kString, true}, {"targetRgName", JType::kString, true},
                            {"collectionName", JType::kString, true}, {"replicaNum", JType::kInt, true}}}},
  };
  return routes;
}

// Endpoints Milvus 2.5/2.6 serves that Kite does not implement yet.
bool IsKnownUnimplemented(std::string_view route) {
  static const std::vector<std::string_view> kExact = {
      "collections/compact",          "collections/get_compaction_state",
      "collections/add_function",     "collections/alter_function",       "collections/drop_function",
      "collections/fields/drop",
      "segments/describe",            "quotacenter/describe",
  };
  static const std::vector<std::string_view> kCategories = {
      "file_resources/",
  };
  for (auto e : kExact) {
    if (route == e) return true;
  }
  for (auto c : kCategories) {
    if (route.starts_with(c) && route.size() > c.size()) return true;
  }
  return false;
}

// strconv.ParseBool's accepted spellings.
std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
  return std::nullopt;
}

std::string Header(const RestRequest& req, const char* lower_name) {
  auto it = req.headers.find(lower_name);
  return it == req.headers.end() ? std::string() : it->second;
}

RestResponse Envelope(const RestError& e, Json data = nullptr, Json extra = nullptr) {
  Json out = Json::object();
  out["code"] = e.code;
  if (e.ok()) {
    out["data"] = std::move(data);
    if (extra.is_object()) {
      for (auto& [k, v] : extra.items()) out[k] = std::move(v);
    }
  } else {
    out["message"] = e.message;
  }
  RestResponse res;
  res.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  res.summary.code = e.code;
  return res;
}

// Row and query counts of a successful call, from what the handler answers.
void Summarize(const Call& call, RestSummary* s) {
  auto count = [&](const char* key) -> int64_t {
    auto it = call.data.is_object() ? call.data.find(key) : call.data.end();
    return it != call.data.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  s->inserted = count("insertCount");
  s->upserted = count("upsertCount");
  s->deleted = count("deleteCount");
  auto topks = call.extra.find("topks");
  if (topks != call.extra.end() && topks->is_array()) s->nq = static_cast<int64_t>(topks->size());
}

// "application/json", any case, with or without parameters (charset).
bool IsJsonContentType(std::string_view v) {
  size_t semi = v.find(';');
  std::string_view type = v.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (type.size() != kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  return true;
}

// Milvus answers both failures with HTTP 401 and merr.ErrNeedAuthenticate.
RestResponse Unauthenticated() {
  RestResponse res = Envelope(Error(kCodeNeedAuthenticate, "user hasn't authenticated"));
  res.http_status = 401;
  return res;
}

// `Authorization: Bearer user:password` (or Basic base64(user:password)).
bool Authenticate(const RestRequest& req, auth::AccessControl* ac, std::string* user, RestResponse* denied) {
  std::string h = Header(req, "authorization");
  std::string credentials;
  if (h.size() > 7 && (h.compare(0, 7, "Bearer ") == 0 || h.compare(0, 7, "bearer ") == 0)) {
    credentials = h.substr(7);
  } else if (h.size() > 6 && (h.compare(0, 6, "Basic ") == 0 || h.compare(0, 6, "basic ") == 0)) {
    if (!auth::Base64Decode(std::string_view(h).substr(6), &credentials)) credentials.clear();
  }
  if (credentials.empty()) {
    *denied = Unauthenticated();
    return false;
  }
  auth::Caller caller;
  if (!ac->Authenticate(credentials, req.peer, &caller).ok()) {
    *denied = Unauthenticated();
    return false;
  }
  *user = caller.user;
  return true;
}

// The privilege check of the RPC the path stands for, on the body's objects.
bool Authorize(auth::AccessControl* ac, const std::string& user, std::string_view rpc, const std::string& db,
               const Json& body, RestResponse* denied) {
  const auth::PrivilegeRule* rule = auth::RuleFor(rpc);
  std::vector<std::string> objects;
  if (rule && rule->object == auth::ObjectType::kCollection) objects.push_back(StrOr(body, "collectionName"));
  if (rule && rule->object == auth::ObjectType::kUser && Has(body, "userName")) {
    objects.push_back(StrOr(body, "userName"));
  }
  // Anyone may read the grants of a role they hold (as over gRPC).
  if (rpc == "SelectGrant" && Has(body, "roleName")) {
    std::string role = StrOr(body, "roleName");
    auto users = ac->SelectUsers(user);
    if (role == auth::kPublicRole) return true;
    if (users.ok() && !users->empty()) {
      for (const auto& r : (*users)[0].roles) {
        if (r == role) return true;
      }
    }
  }
  auth::Decision d = ac->Authorize(auth::Caller{user}, rpc, db, objects);
  if (d.ok()) return true;
  *denied = Envelope(Error(65535, fmt::format("rpc error: code = PermissionDenied desc = {}", d.message)));
  denied->http_status = 403;
  return false;
}

// The role calls' caller and deadline (common/call_context.h): Milvus's
// REST timeout is the `Request-Timeout` header in whole seconds, else 30 s
// (its HTTPDefaultTimeout; a value that does not parse falls back to it).
void SetRestCallContext(const RestRequest& req, const std::string& user) {
  constexpr int64_t kDefaultTimeoutS = 30;
  int64_t timeout_s = kDefaultTimeoutS;
  const std::string header(Header(req, "request-timeout"));
  if (!header.empty()) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), v);
    if (ec == std::errc() && end == header.data() + header.size()) timeout_s = v;
  }
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  SetCurrentCaller(user);
  // A zero or negative timeout expires at once, as Go's context.WithTimeout.
  SetCurrentDeadline(timeout_s > 0 ? now_us + timeout_s * 1000000 : now_us);
}

bool RestDeadlinePassed() {
  const int64_t d = CurrentCallContext().deadline_unix_us;
  return d > 0 && d <= std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
}

bool BlankBody(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

RestResponse RestService::Handle(const RestRequest& req) const {
  try {
    std::string_view path = req.path;
    const Route* route = nullptr;
    std::string_view name;
    if (path.starts_with(kPrefix)) {
      name = path.substr(kPrefix.size());
      auto it = Routes().find(name);
      if (it != Routes().end()) route = &it->second;
    }
    if (req.method != "POST" || (!route && !IsKnownUnimplemented(name))) {
      return Envelope(Error(kCodeParameterInvalid,
                            fmt::format("404 page not found: {} {} is not a Milvus RESTful v2 endpoint "
                                        "(every endpoint is POST /v2/vectordb/<category>/<action>)",
                                        req.method, req.path)));
    }
    if (!route) {
      return Envelope(Error(kCodeUnimplemented, fmt::format("{} is not implemented yet in Kite", req.path)));
    }
    // Authentication before anything else reads the request.
    std::string user;
    if (options_.access_control && options_.access_control->enabled()) {
      RestResponse denied;
      if (!Authenticate(req, options_.access_control, &user, &denied)) return denied;
    }
    SetRestCallContext(req, user);
    if (!IsJsonContentType(Header(req, "content-type"))) {
      return Envelope(Error(kCodeBadJson, fmt::format("{}, error: Content-Type must be application/json, got '{}'",
                                                      kBadJsonPrefix, Header(req, "content-type"))));
    }
    if (req.body_too_large) {
      return Envelope(Error(kCodeParameterTooLarge,
                            fmt::format("request body is too large: the limit is {} bytes", options_.max_body_bytes)));
    }
    if (req.over_budget) {
      // Milvus's ErrServiceRequestLimitExceeded (code 4, retriable): the
      // bodies already in flight hold the proxy's request memory budget.
      return Envelope(Error(4, fmt::format("request bodies in flight exceed proxy.maxInflightRequestBytes ({} bytes), "
                                           "retry later: request limit exceeded[limit={}]",
                                           options_.max_inflight_bytes, options_.max_inflight_bytes)));
    }
    if (BlankBody(req.body)) {
      return Envelope(Error(kCodeBadJson,
                            fmt::format("{}, the request body should be nil, however {{}} is valid", kBadJsonPrefix)));
    }
    // Go's encoding/json (Milvus's REST decoder) refuses nesting deeper than
    // 10000; checked before parsing, so no recursive code sees a deeper body.
    size_t too_deep_at = 0;
    if (JsonNestingDepth(req.body, kMaxBodyJsonDepth, &too_deep_at) > kMaxBodyJsonDepth) {
      return Envelope(Error(kCodeBadJson, fmt::format("{}, error: invalid character '{}' exceeded max depth",
                                                      kBadJsonPrefix, req.body[too_deep_at])));
    }
    Json body;
    // Inserts and upserts stream their rows instead of building them as one
    // DOM (issue 20 #17: a 62 MiB body took 640 MB); other bodies are small.
    const bool stream_rows = name == "entities/insert" || name == "entities/upsert";
    bool data_deferred = false;
    if (stream_rows) {
      std::string error;
      if (!ParseBodyEnvelope(req.body, &body, &data_deferred, &error)) {
        return Envelope(Error(kCodeBadJson, fmt::format("{}, error: {}", kBadJsonPrefix, error)));
      }
    } else {
      try {
        body = Json::parse(req.body);
      } catch (const Json::exception& e) {
        return Envelope(Error(kCodeBadJson, fmt::format("{}, error: {}", kBadJsonPrefix, e.what())));
      }
    }
    if (!body.is_object()) {
      return Envelope(Error(kCodeBadJson, fmt::format("{}, error: json: cannot unmarshal {} into a request object",
                                                      kBadJsonPrefix, GoJsonKind(body))));
    }
    RestError e = CheckParams(body, {{"dbName", JType::kString}});
    if (e.ok()) e = CheckParams(body, route->params);
    if (!e.ok()) return Envelope(e);
    RestSummary summary;
    summary.collection = StrOr(body, "collectionName");

    Call call{proxy_, body, StrOr(body, "dbName"), true};
    if (data_deferred) call.deferred_data_body = req.body;
    if (call.db.empty()) call.db = Header(req, "db-name");
    call.access = options_.access_control;
    call.imports = options_.imports;
    call.user = user;
    if (options_.access_control && options_.access_control->enabled()) {
      RestResponse denied;
      if (!Authorize(options_.access_control, user, RestFunctionName(path), call.db, body, &denied)) return denied;
    }
    call.int64_as_number = ParseGoBool(Header(req, "accept-type-allow-int64")).value_or(true);
    summary.db = call.db;
    if (route->names & kCheckCollection) e = FromStatus(proxy_->CheckCollectionName(StrOr(body, "collectionName")));
    if (e.ok() && (route->names & kCheckPartition)) {
      e = FromStatus(proxy_->CheckPartitionName(StrOr(body, "partitionName")));
    }
    if (e.ok()) e = route->handler(call);
    if (RestDeadlinePassed()) {
      // Milvus's timeout middleware: HTTP 408 {"code": merr.TimeoutCode, "message": "request timeout"}
      // once the request's timeout passed, whatever the handler did meanwhile.
      RestResponse res = Envelope(Error(10001, "request timeout"));
      res.http_status = 408;
      summary.code = res.summary.code;
      res.summary = std::move(summary);
      return res;
    }
    if (e.ok()) Summarize(call, &summary);
    RestResponse res = e.ok() ? Envelope(e, std::move(call.data), std::move(call.extra)) : Envelope(e);
    summary.code = res.summary.code;
    res.summary = std::move(summary);
    return res;
  } catch (const std::exception& ex) {
    return Envelope(Error(5, fmt::format("unexpected error: {}", ex.what())));
  }
}

}  // namespace kite::rest
