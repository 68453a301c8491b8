// Internal to kite_rest: what a REST handler receives and returns, the REST
// error codes, and the JSON helpers handlers share. Not a public header.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "expr/expr.h"
#include "roles/auth/access_control.h"
#include "roles/proxy/proxy.h"
#include "rpc/import/import_jobs.h"

namespace kite::rest {

using Json = nlohmann::json;

// Milvus merr codes used by the REST layer (pkg/util/merr/errors.go).
inline constexpr int32_t kCodeUnimplemented = 10;
inline constexpr int32_t kCodeParameterInvalid = 1100;
inline constexpr int32_t kCodeParameterTooLarge = 1102;
inline constexpr int32_t kCodeNeedAuthenticate = 1800;   // unused until auth exists
inline constexpr int32_t kCodeBadJson = 1801;            // ErrIncorrectParameterFormat
inline constexpr int32_t kCodeMissingParameter = 1802;   // ErrMissingRequiredParameters
inline constexpr int32_t kCodeInvalidInsertData = 1804;  // ErrInvalidInsertData
inline constexpr int32_t kCodeCheckPrimaryKey = 1806;    // ErrCheckPrimaryKey

// Milvus's message prefixes for the REST-only codes.
inline constexpr char kBadJsonPrefix[] = "can only accept json format request";
inline constexpr char kMissingPrefix[] = "missing required parameters";
inline constexpr char kInsertDataPrefix[] = "fail to deal the insert data";
inline constexpr char kPrimaryKeyPrefix[] = "please check the primary key and its' type can only in [int, string]";

// A handler's outcome: code 0 = success.
struct RestError {
  int32_t code = 0;
  std::string message;
  bool ok() const { return code == 0; }
};

RestError Ok();
RestError Error(int32_t code, std::string message);
// A Kite status as Milvus reports it (rpc::MilvusCode).
RestError FromStatus(const Status& st);
// A Kite InvalidArgument from row/vector decoding, under a REST code and prefix.
RestError Wrap(int32_t code, const char* prefix, const Status& st);

// One REST call in flight.
struct Call {
  Proxy* proxy;
  const Json& body;       // a JSON object, its keys type-checked against the endpoint's spec
  std::string db;         // body dbName, else DB-Name header, else "" (= default)
  bool int64_as_number;   // Accept-Type-Allow-Int64
  Json data = Json::object();   // the envelope's "data"
  Json extra = Json::object();  // more top-level envelope keys ("cost", "topks")
  // Set when body["data"] was not built (a large insert/upsert): the raw body,
  // whose "data" rows the handler streams (StreamRowsToColumns).
  std::string_view deferred_data_body;
  auth::AccessControl* access = nullptr;  // users/roles/privilege_groups endpoints
  std::string user;                       // the authenticated caller ("" when auth is off)
  import::ImportApi* imports = nullptr;   // jobs/import/* (may be null: not available)
};

// jobs/import/* and resource_groups/* (rest_jobs.cc).
RestError ImportCreate(Call& c);
RestError ImportDescribe(Call& c);
RestError ImportList(Call& c);
RestError RgCreate(Call& c);
RestError RgAlter(Call& c);
RestError RgDrop(Call& c);
RestError RgList(Call& c);
RestError RgDescribe(Call& c);
RestError RgTransferReplica(Call& c);

// users/*, roles/*, privilege_groups/* (rest_rbac.cc).
RestError CreateUser(Call& c);
RestError UpdatePassword(Call& c);
RestError DropUser(Call& c);
RestError ListUsers(Call& c);
RestError DescribeUser(Call& c);
RestError GrantRoleToUser(Call& c);
RestError RevokeRoleFromUser(Call& c);
RestError CreateRoleRest(Call& c);
RestError DropRoleRest(Call& c);
RestError ListRoles(Call& c);
RestError DescribeRole(Call& c);
RestError GrantPrivilege(Call& c);
RestError RevokePrivilege(Call& c);
RestError GrantPrivilegeV2(Call& c);
RestError RevokePrivilegeV2(Call& c);
RestError CreatePrivilegeGroupRest(Call& c);
RestError DropPrivilegeGroupRest(Call& c);
RestError ListPrivilegeGroupsRest(Call& c);
RestError AddPrivilegesToGroup(Call& c);
RestError RemovePrivilegesFromGroup(Call& c);

using Handler = RestError (*)(Call&);

// Typed access to body keys. Types were checked before the handler ran, so
// these only pick defaults for absent/null keys.
std::string StrOr(const Json& obj, const char* key, std::string dflt = {});
int64_t IntOr(const Json& obj, const char* key, int64_t dflt);
bool BoolOr(const Json& obj, const char* key, bool dflt);
std::vector<std::string> StrListOr(const Json& obj, const char* key, std::vector<std::string> dflt = {});
bool Has(const Json& obj, const char* key);  // present and not null

// The JSON types a parameter may have (Go struct field types in Milvus).
enum class JType { kString, kInt, kBool, kStrList, kObject, kArray, kAny };
struct ParamSpec {
  const char* key;
  JType type;
  bool required = false;
};
// Checks `obj` against `specs`: a key of the wrong type is 1801 (Milvus's JSON
// binding error), then a missing required one is 1802. `where` prefixes names
// of nested objects ("schema.fields[2].").
RestError CheckParams(const Json& obj, const std::vector<ParamSpec>& specs, const std::string& where = {});

// A property value as Milvus stringifies it (Go's fmt "%v"): strings as they
// are, numbers and booleans as text, anything else as JSON.
std::string PropertyValue(const Json& v);
// Property objects {"k": v} as Kite's string map.
std::map<std::string, std::string> PropertyMap(const Json& obj);
// [{"key": k, "value": v}, ...] as Milvus prints KeyValuePair lists.
Json KvList(const std::map<std::string, std::string>& m);

// exprParams / filter template values.
Result<expr::TemplateValues> TemplateValuesFromJson(const Json& obj);

// consistencyLevel: "" = the collection's default.
RestError ParseConsistency(const std::string& name, ReadConsistency* out);
std::string_view ConsistencyName(ConsistencyLevel level);
std::string_view LoadStateName(LoadState state);

// Early returns for handlers: a Kite Status / Result, or a RestError.
#define REST_TRY(expr)                         \
  do {                                         \
    ::kite::Status _st = (expr);               \
    if (!_st.ok()) return FromStatus(_st);     \
  } while (0)

#define REST_ASSIGN(lhs, expr) REST_ASSIGN_IMPL(KITE_CONCAT(_rest_res_, __LINE__), lhs, expr)
#define REST_ASSIGN_IMPL(tmp, lhs, expr)         \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return FromStatus(tmp.status()); \
  lhs = std::move(tmp).value()

#define REST_CHECK(expr)             \
  do {                               \
    ::kite::rest::RestError _e = (expr); \
    if (!_e.ok()) return _e;         \
  } while (0)

// Handlers (rest_ddl.cc).
RestError CreateDatabase(Call& c);
RestError DropDatabase(Call& c);
RestError ListDatabases(Call& c);
RestError DescribeDatabase(Call& c);
RestError AlterDatabase(Call& c);
RestError DropDatabaseProperties(Call& c);

RestError CreateCollection(Call& c);
RestError DropCollection(Call& c);
RestError HasCollection(Call& c);
RestError ListCollections(Call& c);
RestError DescribeCollection(Call& c);
RestError GetCollectionStats(Call& c);
RestError GetLoadState(Call& c);
RestError LoadCollection(Call& c);
RestError ReleaseCollection(Call& c);
RestError RenameCollection(Call& c);
RestError AlterCollectionProperties(Call& c);
RestError DropCollectionProperties(Call& c);
RestError FlushCollection(Call& c);
// collections/fields/add, fields/alter_properties, fields/drop_properties, truncate.
RestError AddCollectionFieldRest(Call& c);
RestError AlterCollectionFieldRest(Call& c);
RestError DropCollectionFieldPropertiesRest(Call& c);
RestError TruncateCollectionRest(Call& c);
RestError CompactCollection(Call& c);
RestError GetCompactionState(Call& c);

RestError CreatePartition(Call& c);
RestError DropPartition(Call& c);
RestError HasPartition(Call& c);
RestError ListPartitions(Call& c);
RestError GetPartitionStats(Call& c);
RestError LoadPartitions(Call& c);
RestError ReleasePartitions(Call& c);

RestError CreateAlias(Call& c);
RestError AlterAlias(Call& c);
RestError DropAlias(Call& c);
RestError DescribeAlias(Call& c);
RestError ListAliases(Call& c);

RestError CreateIndex(Call& c);
RestError DropIndex(Call& c);
RestError ListIndexes(Call& c);
RestError DescribeIndex(Call& c);
RestError AlterIndexProperties(Call& c);
RestError DropIndexProperties(Call& c);

// Handlers (rest_entities.cc).
RestError InsertEntities(Call& c);
RestError UpsertEntities(Call& c);
RestError DeleteEntities(Call& c);
RestError GetEntities(Call& c);
RestError QueryEntities(Call& c);
RestError SearchEntities(Call& c);
RestError HybridSearchEntities(Call& c);
// common/run_analyzer (rest_text.cc).
RestError RunAnalyzerRest(Call& c);

}  // namespace kite::rest
