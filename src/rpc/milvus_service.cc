#include "rpc/milvus_service.h"
#include "rpc/schema_mismatch.h"

#include <nlohmann/json.hpp>

#include <optional>

#include "common/json_scan.h"
#include "rpc/access.h"
#include "rpc/field_data.h"
#include "rpc/grpc_observer.h"
#include "rpc/malformed_request.h"
#include "rpc/schema_convert.h"
#include "rpc/service_common.h"
#include "rpc/status_map.h"
#include "schema/timestamptz.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;
namespace ms = ::milvus::proto::schema;
using RpcStatus = ::grpc::Status;


namespace {

// Request JSON (template values, "params") is depth-checked before nlohmann
// parses it: its serializer and the template conversion recurse.
constexpr int kMaxParamJsonDepth = 64;
Status CheckJsonDepth(std::string_view what, std::string_view text) {
  if (JsonNestingDepth(text, kMaxParamJsonDepth) > kMaxParamJsonDepth) {
    return InvalidArgument("{} nests JSON deeper than {} levels", what, kMaxParamJsonDepth);
  }
  return Status::OK();
}

void Fill(mc::Status* resp, const Status& st) { ToMilvusStatus(st, resp); }
template <typename Resp>
void Fill(Resp* resp, const Status& st) {
  ToMilvusStatus(st, resp->mutable_status());
}

// Milvus reports a read's cost in status.extra_info["report_value"] (pymilvus
// shows it as result.extra["cost"]); open-source Milvus's default hook reports 0.
void ReportCost(mc::Status* status) {
  if (status->code() == 0) (*status->mutable_extra_info())["report_value"] = "0";
}

// Runs a handler body, turning its Status (or an escaped exception) into the
// Milvus status of the response. gRPC itself always sees OK.
template <typename Resp, typename Fn>
RpcStatus Run(Resp* resp, Fn&& fn) {
  Fill(resp, Guarded(std::forward<Fn>(fn)));
  return RpcStatus::OK;
}

std::vector<std::string> ToVector(const ::google::protobuf::RepeatedPtrField<std::string>& r) {
  return {r.begin(), r.end()};
}

uint64_t UtcMs(Timestamp ts) { return PhysicalMs(ts); }

// Milvus template values (expr_template_values) as Kite expression values.
Result<expr::TemplateValue> ArrayValueFromProto(const ms::TemplateArrayValue& a, int depth);

Result<expr::TemplateValue> JsonToTemplate(const nlohmann::json& j) {
  if (j.is_null()) return expr::TemplateValue();
  if (j.is_boolean()) return expr::TemplateValue(j.get<bool>());
  if (j.is_number_integer()) return expr::TemplateValue(j.get<int64_t>());
  if (j.is_number()) return expr::TemplateValue(j.get<double>());
  if (j.is_string()) return expr::TemplateValue(j.get<std::string>());
  if (j.is_array()) {
    expr::TemplateValue::Array arr;
    for (const auto& e : j) {
      KITE_ASSIGN_OR_RETURN(auto v, JsonToTemplate(e));
      arr.push_back(std::move(v));
    }
    return expr::TemplateValue(std::move(arr));
  }
  return InvalidArgument("JSON objects are not supported as template values: {}", j.dump());
}

Result<expr::TemplateValue> ArrayValueFromProto(const ms::TemplateArrayValue& a, int depth) {
  if (depth > 16) return InvalidArgument("template array nested too deeply");
  expr::TemplateValue::Array out;
  switch (a.data_case()) {
    case ms::TemplateArrayValue::kBoolData:
      for (bool b : a.bool_data().data()) out.emplace_back(b);
      break;
    case ms::TemplateArrayValue::kLongData:
      for (int64_t v : a.long_data().data()) out.emplace_back(v);
      break;
    case ms::TemplateArrayValue::kDoubleData:
      for (double v : a.double_data().data()) out.emplace_back(v);
      break;
    case ms::TemplateArrayValue::kStringData:
      for (const auto& v : a.string_data().data()) out.emplace_back(v);
      break;
    case ms::TemplateArrayValue::kArrayData:
      for (const auto& sub : a.array_data().data()) {
        KITE_ASSIGN_OR_RETURN(auto v, ArrayValueFromProto(sub, depth + 1));
        out.push_back(std::move(v));
      }
      break;
    case ms::TemplateArrayValue::kJsonData:
      for (const auto& text : a.json_data().data()) {
        KITE_RETURN_IF_ERROR(CheckJsonDepth("template value", text));
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) return InvalidArgument("template value is not valid JSON: {}", text);
        KITE_ASSIGN_OR_RETURN(auto v, JsonToTemplate(j));
        out.push_back(std::move(v));
      }
      break;
    default: break;
  }
  return expr::TemplateValue(std::move(out));
}

Result<expr::TemplateValues> TemplateValuesFromProto(
    const ::google::protobuf::Map<std::string, ms::TemplateValue>& in) {
  expr::TemplateValues out;
  for (const auto& [name, v] : in) {
    switch (v.val_case()) {
      case ms::TemplateValue::kBoolVal: out[name] = expr::TemplateValue(v.bool_val()); break;
      case ms::TemplateValue::kInt64Val: out[name] = expr::TemplateValue(static_cast<int64_t>(v.int64_val())); break;
      case ms::TemplateValue::kFloatVal: out[name] = expr::TemplateValue(v.float_val()); break;
      case ms::TemplateValue::kStringVal: out[name] = expr::TemplateValue(v.string_val()); break;
      case ms::TemplateValue::kArrayVal: {
        KITE_ASSIGN_OR_RETURN(out[name], ArrayValueFromProto(v.array_val(), 0));
        break;
      }
      default: return InvalidArgument("template value {} has no value", name);
    }
  }
  return out;
}

bool ParseBool(const std::string& v) {
  std::string l;
  for (char ch : v) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  return l == "true" || l == "1";
}

// Go's strconv.ParseBool, which Milvus reads boolean request parameters with.
std::optional<bool> ParseGoBool(const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "true" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "false" || v == "False") return false;
  return std::nullopt;
}

Result<int64_t> ParseInt(const std::string& key, const std::string& v) {
  try {
    size_t pos = 0;
    long long x = std::stoll(v, &pos);
    if (pos != v.size()) throw std::invalid_argument("");
    return static_cast<int64_t>(x);
  } catch (...) {
    return InvalidArgument("{} [{}] is invalid, should be an integer", key, v);
  }
}

ReadConsistency ConsistencyOf(bool use_default, mc::ConsistencyLevel level, uint64_t guarantee) {
  ReadConsistency rc;
  rc.use_default = use_default;
  rc.level = static_cast<ConsistencyLevel>(level);
  rc.guarantee_ts = guarantee;
  return rc;
}


// Index params as pymilvus sends them: flattened KVs, or a JSON object under
// "params" (older ORM code), or both; returned flattened.
// The functions of a FunctionScore (Milvus rerank.NewFunctionScore): at most
// one proxy-level reranker, any number of boost rankers (segment level).
Status RerankFromFunctionScore(const ms::FunctionScore& fs, std::optional<RerankRequest>* reranker,
                               SearchParams* boosts_into) {
  for (const auto& f : fs.functions()) {
    if (f.type() != ms::FunctionType::Rerank) {
      return Unclassified("{} is not rerank function.", ms::FunctionType_Name(f.type()));
    }
    RerankRequest r;
    r.name = f.name();
    r.input_field_names = ToVector(f.input_field_names());
    r.output_field_names = ToVector(f.output_field_names());
    for (const auto& kv : f.params()) r.params.emplace_back(kv.key(), kv.value());
    if (IsBoostRequest(r) && boosts_into) {
      boosts_into->boosts.push_back(std::move(r));
      continue;
    }
    if (*reranker) return Unclassified("Currently only supports one rerank");
    *reranker = std::move(r);
  }
  if (boosts_into) {
    for (const auto& kv : fs.params()) boosts_into->function_score_params.emplace_back(kv.key(), kv.value());
  }
  return Status::OK();
}

// RRFRanker / WeightedRanker as pymilvus sends them (rank_params `strategy` and `params`).
Result<RerankRequest> RerankFromRankParams(const KvList& kvs) {
  std::optional<std::string> strategy, params;
  for (const auto& kv : kvs) {
    if (kv.key() == "strategy") strategy = kv.value();
    if (kv.key() == "params") params = kv.value();
  }
  return LegacyRerankRequest(strategy, params);
}

Status ParseIndexParams(const KvList& kvs, std::map<std::string, std::string>* flat) {
  *flat = KvToMap(kvs);
  auto it = flat->find("params");
  if (it != flat->end()) {
    KITE_RETURN_IF_ERROR(CheckJsonDepth("index param 'params'", it->second));
    nlohmann::json j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return InvalidArgument("index param 'params' is not a JSON object: {}", it->second);
    }
    std::map<std::string, std::string> extra;
    for (const auto& [k, v] : j.items()) extra[k] = v.is_string() ? v.get<std::string>() : v.dump();
    flat->erase(it);
    for (auto& [k, v] : extra) flat->emplace(k, v);
  }
  return Status::OK();
}

}  // namespace

// ------------------------------------------------------------------ connection
RpcStatus MilvusService::Connect(Ctx* ctx, const mm::ConnectRequest* req, mm::ConnectResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    auto* info = resp->mutable_server_info();
    info->set_build_tags(identity_.build_tags);
    info->set_deploy_mode(identity_.deploy_mode);
    (*info->mutable_reserved())["server"] = "kite";
    resp->set_identifier(next_identifier_++);
    return Status::OK();
  });
}

RpcStatus MilvusService::GetVersion(Ctx* ctx, const mm::GetVersionRequest* req, mm::GetVersionResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    resp->set_version(identity_.version);
    return Status::OK();
  });
}

RpcStatus MilvusService::CheckHealth(Ctx* ctx, const mm::CheckHealthRequest* req, mm::CheckHealthResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    resp->set_ishealthy(true);
    return Status::OK();
  });
}

RpcStatus MilvusService::GetComponentStates(Ctx* ctx, const mm::GetComponentStatesRequest* req, mm::ComponentStates* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    resp->mutable_state()->set_role("kite-standalone");
    resp->mutable_state()->set_state_code(mc::Healthy);
    return Status::OK();
  });
}

RpcStatus MilvusService::AllocTimestamp(Ctx* ctx, const mm::AllocTimestampRequest* req, mm::AllocTimestampResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(Timestamp ts, proxy_->AllocTimestamp());
    resp->set_timestamp(ts);
    return Status::OK();
  });
}

// ------------------------------------------------------------------- databases
RpcStatus MilvusService::CreateDatabase(Ctx* ctx, const mm::CreateDatabaseRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] { return proxy_->CreateDatabase(req->db_name(), KvToMap(req->properties())); });
}

RpcStatus MilvusService::DropDatabase(Ctx* ctx, const mm::DropDatabaseRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] { return proxy_->DropDatabase(req->db_name()); });
}

RpcStatus MilvusService::ListDatabases(Ctx* ctx, const mm::ListDatabasesRequest* req, mm::ListDatabasesResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(auto dbs, proxy_->ListDatabases());
    const auth::Visibility visible = VisibleDatabases(access_control_, ctx);  // Milvus list_db_task
    for (const auto& db : dbs) {
      if (!visible.Contains(db.name)) continue;
      resp->add_db_names(db.name);
      resp->add_created_timestamp(db.created_ts);
      resp->add_db_ids(db.id.value);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::DescribeDatabase(Ctx* ctx, const mm::DescribeDatabaseRequest* req,
                                          mm::DescribeDatabaseResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(auto db, proxy_->DescribeDatabase(DbName(ctx, req->db_name())));
    resp->set_db_name(db.name);
    resp->set_dbid(db.id.value);
    resp->set_created_timestamp(db.created_ts);
    MapToKv(db.properties, resp->mutable_properties());
    return Status::OK();
  });
}

RpcStatus MilvusService::AlterDatabase(Ctx* ctx, const mm::AlterDatabaseRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->AlterDatabase(DbName(ctx, req->db_name()), KvToMap(req->properties()),
                                               ToVector(req->delete_keys()));
  });
}

// ----------------------------------------------------------------- collections
RpcStatus MilvusService::CreateCollection(Ctx* ctx, const mm::CreateCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    ms::CollectionSchema wire;
    if (!wire.ParseFromString(req->schema())) {
      return InvalidArgument("the schema of collection {} cannot be decoded", req->collection_name());
    }
    // TIMESTAMPTZ defaults without an offset are read in the collection's zone
    // (its `timezone` property, else its database's), so it is lent to the
    // schema for the conversion.
    std::string tz_lent;
    if (KvToMap(wire.properties()).count(tz::kTimezoneKey) == 0) {
      auto props = KvToMap(req->properties());
      if (auto it = props.find(tz::kTimezoneKey); it != props.end()) {
        tz_lent = it->second;
      } else if (auto db = proxy_->DescribeDatabase(DbName(ctx, req->db_name())); db.ok()) {
        if (auto d = db->properties.find(tz::kTimezoneKey); d != db->properties.end()) tz_lent = d->second;
      }
      if (!tz_lent.empty()) {
        if (!tz::IsValidTimezone(tz_lent)) {
          return InvalidArgument("unknown or invalid IANA Time Zone ID: {}: invalid parameter", tz_lent);
        }
        auto* kv = wire.add_properties();
        kv->set_key(tz::kTimezoneKey);
        kv->set_value(tz_lent);
      }
    }
    KITE_ASSIGN_OR_RETURN(CollectionSchema schema, SchemaFromProto(wire));
    if (!tz_lent.empty()) schema.properties.erase(tz::kTimezoneKey);
    if (schema.name != req->collection_name()) {
      // Milvus takes the request's collection name; the schema's name must agree when set.
      if (!schema.name.empty()) {
        return InvalidArgument("collection name [{}] does not match schema name [{}]", req->collection_name(),
                               schema.name);
      }
      schema.name = req->collection_name();
    }
    CreateCollectionParams p;
    p.db = DbName(ctx, req->db_name());
    p.schema = std::move(schema);
    p.num_shards = req->shards_num() == 0 ? 1 : req->shards_num();
    p.consistency = static_cast<ConsistencyLevel>(req->consistency_level());
    p.num_partitions = req->num_partitions();
    p.properties = KvToMap(req->properties());
    return proxy_->CreateCollection(p);
  });
}

RpcStatus MilvusService::DropCollection(Ctx* ctx, const mm::DropCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] { return proxy_->DropCollection(DbName(ctx, req->db_name()), req->collection_name()); });
}

RpcStatus MilvusService::HasCollection(Ctx* ctx, const mm::HasCollectionRequest* req, mm::BoolResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    auto r = proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name());
    if (!r.ok() && !r.status().Is(Reason::kCollectionNotFound)) return r.status();
    resp->set_value(r.ok());
    return Status::OK();
  });
}

RpcStatus MilvusService::DescribeCollection(Ctx* ctx, const mm::DescribeCollectionRequest* req,
                                            mm::DescribeCollectionResponse* resp) {
  KITE_ADMIT(ctx, req);
  RpcStatus rpc = Run(resp, [&]() -> Status {
    if (req->collectionid() == 0 || !req->collection_name().empty()) {
      KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    }
    auto described = proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name());
    if (!described.ok() && described.status().Is(Reason::kCollectionNotFound)) {
      // Milvus's describeCollectionTask rewrites the reason "for compatibility with PyMilvus".
      const std::string db = DbName(ctx, req->db_name());
      return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound,
                        "can't find collection[database={}][collection={}]", db.empty() ? "default" : db,
                        req->collection_name());
    }
    KITE_ASSIGN_OR_RETURN(CollectionView v, std::move(described));
    const CollectionInfo& c = v.info;
    SchemaToProto(c.schema, resp->mutable_schema());
    KITE_ASSIGN_OR_RETURN(std::string timezone, proxy_->Timezone(v, ""));
    ShowTimestamptzDefaults(c.schema, timezone, resp->mutable_schema());
    resp->mutable_schema()->set_dbname(v.db_name);
    resp->set_collectionid(c.id.value);
    resp->set_collection_name(c.schema.name);
    resp->set_db_name(v.db_name);
    resp->set_db_id(c.db_id.value);
    resp->set_shards_num(c.num_shards);
    resp->set_num_partitions(static_cast<int64_t>(c.partitions.size()));
    resp->set_consistency_level(static_cast<mc::ConsistencyLevel>(c.consistency));
    resp->set_created_timestamp(c.created_ts);
    resp->set_created_utc_timestamp(UtcMs(c.created_ts));
    resp->set_update_timestamp(c.update_ts);
    for (const auto& ch : c.channels) {
      resp->add_virtual_channel_names(ch);
      resp->add_physical_channel_names(ch.substr(0, ch.rfind('v')));
    }
    for (const auto& a : v.aliases) resp->add_aliases(a);
    MapToKv(c.properties, resp->mutable_properties());
    return Status::OK();
  });
  // ... and its legacy error code, which pymilvus's has_collection reads.
  if (resp->status().code() == 100) resp->mutable_status()->set_error_code(mc::UnexpectedError);
  return rpc;
}

RpcStatus MilvusService::ShowCollections(Ctx* ctx, const mm::ShowCollectionsRequest* req,
                                         mm::ShowCollectionsResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    const std::string db = DbName(ctx, req->db_name());
    KITE_ASSIGN_OR_RETURN(auto views, proxy_->ListCollections(db));
    std::set<std::string> wanted(req->collection_names().begin(), req->collection_names().end());
    const bool in_memory = req->type() == mm::ShowType::InMemory;
    if (in_memory) {
      // Milvus: every named collection must exist and be loaded.
      for (const auto& name : req->collection_names()) {
        KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(db, name));
        if (v.info.load_state() != LoadState::kLoaded) {
          return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                            "collection not loaded[collection={}]", name);
        }
      }
    }
    const auth::Visibility visible = VisibleCollections(access_control_, ctx, db);  // Milvus show_collection_task
    for (const auto& v : views) {
      if (!wanted.empty() && !wanted.count(v.info.schema.name)) continue;
      if (in_memory && v.info.load_state() != LoadState::kLoaded) continue;
      if (!visible.Contains(v.info.schema.name)) continue;
      resp->add_collection_names(v.info.schema.name);
      resp->add_collection_ids(v.info.id.value);
      resp->add_created_timestamps(v.info.created_ts);
      resp->add_created_utc_timestamps(UtcMs(v.info.created_ts));
      bool loaded = v.info.load_state() == LoadState::kLoaded;
      resp->add_inmemory_percentages(loaded ? 100 : 0);
      resp->add_query_service_available(loaded);
      resp->add_shards_num(v.info.num_shards);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::GetCollectionStatistics(Ctx* ctx, const mm::GetCollectionStatisticsRequest* req,
                                                 mm::GetCollectionStatisticsResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(CollectionStats st, proxy_->Stats(DbName(ctx, req->db_name()), req->collection_name(), ""));
    auto* kv = resp->add_stats();
    kv->set_key("row_count");
    kv->set_value(std::to_string(st.row_count));
    return Status::OK();
  });
}

RpcStatus MilvusService::AlterCollection(Ctx* ctx, const mm::AlterCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->AlterCollection(DbName(ctx, req->db_name()), req->collection_name(),
                                                 KvToMap(req->properties()), ToVector(req->delete_keys()));
  });
}

RpcStatus MilvusService::RenameCollection(Ctx* ctx, const mm::RenameCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->RenameCollection(DbName(ctx, req->db_name()), req->oldname(), req->newdbname(),
                                                  req->newname());
  });
}

// ------------------------------------------------------------------ partitions
RpcStatus MilvusService::CreatePartition(Ctx* ctx, const mm::CreatePartitionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    return proxy_->CreatePartition(DbName(ctx, req->db_name()), req->collection_name(),
                                                 req->partition_name());
  });
}

RpcStatus MilvusService::DropPartition(Ctx* ctx, const mm::DropPartitionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    KITE_RETURN_IF_ERROR(proxy_->CheckPartitionName(req->partition_name()));
    return proxy_->DropPartition(DbName(ctx, req->db_name()), req->collection_name(),
                                               req->partition_name());
  });
}

RpcStatus MilvusService::HasPartition(Ctx* ctx, const mm::HasPartitionRequest* req, mm::BoolResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    KITE_RETURN_IF_ERROR(proxy_->CheckPartitionName(req->partition_name()));
    KITE_ASSIGN_OR_RETURN(
        CollectionView v, proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name()));
    resp->set_value(v.info.FindPartition(req->partition_name()) != nullptr);
    return Status::OK();
  });
}

RpcStatus MilvusService::ShowPartitions(Ctx* ctx, const mm::ShowPartitionsRequest* req,
                                        mm::ShowPartitionsResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
    KITE_ASSIGN_OR_RETURN(
        CollectionView v, proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name()));
    std::set<std::string> wanted(req->partition_names().begin(), req->partition_names().end());
    const bool in_memory = req->type() == mm::ShowType::InMemory;
    if (in_memory) {
      // Milvus: the collection must be loaded, and every named partition too.
      if (v.info.load_state() != LoadState::kLoaded) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                          "collection not loaded[collection={}]", req->collection_name());
      }
      for (const auto& name : req->partition_names()) {
        KITE_ASSIGN_OR_RETURN(const PartitionInfo* p, FindPartitionOrError(v.info, name));
        if (!p->loaded) {
          return MakeStatus(StatusCode::kFailedPrecondition, Reason::kPartitionNotLoaded, "partition not loaded[partition={}]", name);
        }
      }
    }
    for (const auto& p : v.info.partitions) {
      if (!wanted.empty() && !wanted.count(p.name)) continue;
      if (in_memory && !p.loaded) continue;
      resp->add_partition_names(p.name);
      resp->add_partitionids(p.id.value);
      resp->add_created_timestamps(p.created_ts);
      resp->add_created_utc_timestamps(UtcMs(p.created_ts));
      resp->add_inmemory_percentages(p.loaded ? 100 : 0);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::GetPartitionStatistics(Ctx* ctx, const mm::GetPartitionStatisticsRequest* req,
                                                mm::GetPartitionStatisticsResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(CollectionStats st, proxy_->Stats(DbName(ctx, req->db_name()), req->collection_name(),
                                                            req->partition_name()));
    auto* kv = resp->add_stats();
    kv->set_key("row_count");
    kv->set_value(std::to_string(st.row_count));
    return Status::OK();
  });
}

// ------------------------------------------------------------------------ load
RpcStatus MilvusService::LoadCollection(Ctx* ctx, const mm::LoadCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    Proxy::LoadRequest load;
    load.db = DbName(ctx, req->db_name());
    load.collection = req->collection_name();
    load.replica_number = req->replica_number();
    load.resource_groups = ToVector(req->resource_groups());
    return proxy_->LoadWithReplicas(load);
  });
}

RpcStatus MilvusService::ReleaseCollection(Ctx* ctx, const mm::ReleaseCollectionRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp,
             [&] { return proxy_->Release(DbName(ctx, req->db_name()), req->collection_name(), {}); });
}

RpcStatus MilvusService::LoadPartitions(Ctx* ctx, const mm::LoadPartitionsRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    if (req->partition_names_size() == 0) {
      // Milvus loadPartitionsTask: name, collection, then no partition (a plain error).
      KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
      KITE_RETURN_IF_ERROR(proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name()).status());
      return Unclassified("failed to load partition, due to no partition specified");
    }
    Proxy::LoadRequest load;
    load.db = DbName(ctx, req->db_name());
    load.collection = req->collection_name();
    load.partitions = ToVector(req->partition_names());
    load.replica_number = req->replica_number();
    load.resource_groups = ToVector(req->resource_groups());
    return proxy_->LoadWithReplicas(load);
  });
}

RpcStatus MilvusService::ReleasePartitions(Ctx* ctx, const mm::ReleasePartitionsRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    if (req->partition_names_size() == 0) {
      // Milvus: the query coordinator refuses an empty partition list.
      KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));
      KITE_RETURN_IF_ERROR(proxy_->DescribeCollection(DbName(ctx, req->db_name()), req->collection_name()).status());
      return InvalidArgument("invalid parameter[expected=any partition][actual=empty partition list]");
    }
    return proxy_->Release(DbName(ctx, req->db_name()), req->collection_name(), ToVector(req->partition_names()));
  });
}

RpcStatus MilvusService::GetLoadingProgress(Ctx* ctx, const mm::GetLoadingProgressRequest* req,
                                            mm::GetLoadingProgressResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(LoadProgress p,
                          proxy_->GetLoadProgress(DbName(ctx, req->db_name()), req->collection_name(),
                                                                ToVector(req->partition_names())));
    if (p.state == LoadState::kNotLoad) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                        "collection not loaded[collection={}]", req->collection_name());
    }
    resp->set_progress(p.progress);
    resp->set_refresh_progress(p.progress);
    return Status::OK();
  });
}

RpcStatus MilvusService::GetLoadState(Ctx* ctx, const mm::GetLoadStateRequest* req, mm::GetLoadStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    auto p = proxy_->GetLoadProgress(DbName(ctx, req->db_name()), req->collection_name(),
                                                   ToVector(req->partition_names()));
    if (!p.ok()) {
      if (p.status().Is(Reason::kCollectionNotFound) || p.status().Is(Reason::kPartitionNotFound)) {
        resp->set_state(mc::LoadStateNotExist);
        return Status::OK();
      }
      return p.status();
    }
    resp->set_state(static_cast<mc::LoadState>(p->state));
    return Status::OK();
  });
}

// --------------------------------------------------------------------- aliases
RpcStatus MilvusService::CreateAlias(Ctx* ctx, const mm::CreateAliasRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->CreateAlias(DbName(ctx, req->db_name()), req->collection_name(), req->alias());
  });
}

RpcStatus MilvusService::DropAlias(Ctx* ctx, const mm::DropAliasRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] { return proxy_->DropAlias(DbName(ctx, req->db_name()), req->alias()); });
}

RpcStatus MilvusService::AlterAlias(Ctx* ctx, const mm::AlterAliasRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->AlterAlias(DbName(ctx, req->db_name()), req->collection_name(), req->alias());
  });
}

RpcStatus MilvusService::DescribeAlias(Ctx* ctx, const mm::DescribeAliasRequest* req, mm::DescribeAliasResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(AliasInfo a, proxy_->DescribeAlias(DbName(ctx, req->db_name()), req->alias()));
    resp->set_db_name(a.db_name);
    resp->set_alias(a.alias);
    resp->set_collection(a.collection);
    return Status::OK();
  });
}

RpcStatus MilvusService::ListAliases(Ctx* ctx, const mm::ListAliasesRequest* req, mm::ListAliasesResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    std::string db = DbName(ctx, req->db_name());
    KITE_ASSIGN_OR_RETURN(auto aliases, proxy_->ListAliases(db, req->collection_name()));
    resp->set_db_name(db.empty() ? kDefaultDatabaseName : db);
    resp->set_collection_name(req->collection_name());
    for (const auto& a : aliases) resp->add_aliases(a);
    return Status::OK();
  });
}

// --------------------------------------------------------------------- indexes
RpcStatus MilvusService::CreateIndex(Ctx* ctx, const mm::CreateIndexRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    CreateIndexParams p;
    p.db = DbName(ctx, req->db_name());
    p.collection = req->collection_name();
    p.field_name = req->field_name();
    p.index_name = req->index_name();
    KITE_RETURN_IF_ERROR(ParseIndexParams(req->extra_params(), &p.params));
    return proxy_->CreateIndex(p);
  });
}

namespace {

mc::IndexState IndexStateOf(const IndexProgress& p) {
  mc::IndexState state = mc::IndexStateNone;
  mc::IndexState_Parse(p.state(), &state);
  return state;
}

void FillIndexDescription(const Proxy::IndexStatus& st, const CollectionInfo& c, mm::IndexDescription* d) {
  const IndexInfo& idx = st.info;
  d->set_index_name(idx.name);
  d->set_indexid(idx.id.value);
  const FieldSchema* f = c.schema.FindField(idx.field_id);
  d->set_field_name(f ? f->name : "");
  // Report what the user asked for (AUTOINDEX stays AUTOINDEX), as Milvus does.
  std::map<std::string, std::string> shown = idx.user_params;
  if (!shown.count("index_type")) shown["index_type"] = "AUTOINDEX";
  if (!shown.count("metric_type") && idx.resolved_params.count("metric_type")) {
    shown["metric_type"] = idx.resolved_params.at("metric_type");
  }
  MapToKv(shown, d->mutable_params());
  d->set_state(IndexStateOf(st.progress));
  d->set_index_state_fail_reason(st.progress.fail_reason);
  d->set_indexed_rows(st.progress.indexed_rows);
  d->set_total_rows(st.progress.total_rows);
  d->set_pending_index_rows(st.progress.total_rows - st.progress.indexed_rows);
}

}  // namespace

RpcStatus MilvusService::DescribeIndex(Ctx* ctx, const mm::DescribeIndexRequest* req, mm::DescribeIndexResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));  // describeIndexTask.PreExecute
    std::string db = DbName(ctx, req->db_name());
    KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(db, req->collection_name()));
    KITE_ASSIGN_OR_RETURN(auto indexes, proxy_->DescribeIndex(db, req->collection_name(), req->field_name(),
                                                              req->index_name(), req->timestamp()));
    for (const auto& idx : indexes) FillIndexDescription(idx, v.info, resp->add_index_descriptions());
    return Status::OK();
  });
}

RpcStatus MilvusService::GetIndexState(Ctx* ctx, const mm::GetIndexStateRequest* req, mm::GetIndexStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(auto indexes, proxy_->DescribeIndex(DbName(ctx, req->db_name()), req->collection_name(),
                                                              req->field_name(), req->index_name()));
    resp->set_state(mc::Finished);
    for (const auto& st : indexes) {
      mc::IndexState state = IndexStateOf(st.progress);
      if (state == mc::Failed) {
        resp->set_state(mc::Failed);
        resp->set_fail_reason(st.progress.fail_reason);
        break;
      }
      if (state == mc::InProgress) resp->set_state(mc::InProgress);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::GetIndexBuildProgress(Ctx* ctx, const mm::GetIndexBuildProgressRequest* req,
                                               mm::GetIndexBuildProgressResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(auto indexes, proxy_->DescribeIndex(DbName(ctx, req->db_name()), req->collection_name(),
                                                              req->field_name(), req->index_name()));
    resp->set_indexed_rows(indexes.empty() ? 0 : indexes[0].progress.indexed_rows);
    resp->set_total_rows(indexes.empty() ? 0 : indexes[0].progress.total_rows);
    return Status::OK();
  });
}

RpcStatus MilvusService::DropIndex(Ctx* ctx, const mm::DropIndexRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_RETURN_IF_ERROR(proxy_->CheckCollectionName(req->collection_name()));  // dropIndexTask.PreExecute
    return proxy_->DropIndex(DbName(ctx, req->db_name()), req->collection_name(), req->field_name(),
                             req->index_name());
  });
}

RpcStatus MilvusService::ManualCompaction(Ctx* ctx, const mm::ManualCompactionRequest* req,
                                          mm::ManualCompactionResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(int64_t job,
                          proxy_->Compact(DbName(ctx, req->db_name()), req->collection_name(), req->collectionid()));
    resp->set_compactionid(job);
    return Status::OK();
  });
}

RpcStatus MilvusService::GetCompactionState(Ctx* ctx, const mm::GetCompactionStateRequest* req,
                                            mm::GetCompactionStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    CompactionJob job = proxy_->GetCompaction(req->compactionid());
    resp->set_state(static_cast<mc::CompactionState>(job.state));
    resp->set_executingplanno(job.executing());
    resp->set_completedplanno(job.completed);
    resp->set_failedplanno(job.failed);
    return Status::OK();
  });
}

RpcStatus MilvusService::AlterIndex(Ctx* ctx, const mm::AlterIndexRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&] {
    return proxy_->AlterIndex(DbName(ctx, req->db_name()), req->collection_name(), req->index_name(),
                                            KvToMap(req->extra_params()), ToVector(req->delete_keys()));
  });
}

// ------------------------------------------------------------------------- DML
namespace {

// Decodes the request's columns against the collection schema.
template <typename Req>
Status DecodeRows(Proxy* proxy, const std::string& db, const Req& req, InsertParams* p) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, proxy->DescribeCollection(db, req.collection_name()));
  const CollectionSchema& s = v.info.schema;
  KITE_ASSIGN_OR_RETURN(std::string timezone, proxy->Timezone(v, ""));
  int64_t n = req.num_rows();
  if (n <= 0 && req.fields_data_size() > 0) {
    // Older clients leave num_rows unset: take it from the first column.
    const auto& fd = req.fields_data(0);
    if (fd.has_scalars()) {
      n = fd.valid_data_size() > 0 ? fd.valid_data_size() : 0;
      if (n == 0) {
        const auto& sc = fd.scalars();
        n = sc.has_long_data() ? sc.long_data().data_size() : sc.has_string_data() ? sc.string_data().data_size() : 0;
      }
    }
  }
  p->collection = s.name;
  p->partition = req.partition_name();
  p->db = db;
  p->rows.num_rows = n;
  for (const auto& fd : req.fields_data()) {
    const FieldSchema* f = nullptr;
    if (fd.is_dynamic() || fd.field_name() == kDynamicFieldName) {
      f = s.DynamicField();
      if (!f) {
        return InvalidArgument("Attempt to insert dynamic fields into collection {} without enabling dynamic field",
                               s.name);
      }
    } else if (const StructFieldSchema* st = s.FindStruct(fd.field_name())) {
      // An Array of Structs column: one column per sub-field.
      for (const FieldSchema* sub : s.SubFields(st->name)) {
        if (p->rows.Find(sub->id)) return InvalidArgument("duplicated field {} in the request", st->name);
      }
      KITE_RETURN_IF_ERROR(StructColumnsFromFieldData(fd, s, *st, n, timezone, &p->rows.columns));
      continue;
    } else {
      f = s.FindField(fd.field_name());
      if (!f) {
        return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone,
                          "Attempt to insert an unexpected field `{}` to collection {} without enabling dynamic field",
                          fd.field_name(), s.name);
      }
    }
    if (p->rows.Find(f->id)) return InvalidArgument("duplicated field {} in the request", f->name);
    KITE_ASSIGN_OR_RETURN(Column c, ColumnFromFieldData(fd, *f, n, timezone));
    p->rows.columns.push_back(std::move(c));
  }
  return Status::OK();
}

void FillMutation(const MutationOutcome& m, mm::MutationResult* resp) {
  // Milvus answers deletes with a count only (pymilvus then returns {"delete_count": n}).
  if (m.delete_count == 0) PksToIds(m.ids, resp->mutable_ids());
  int64_t n = m.ids.num_rows;
  for (int64_t i = 0; i < n && (m.insert_count > 0 || m.upsert_count > 0); ++i) resp->add_succ_index(static_cast<uint32_t>(i));
  resp->set_insert_cnt(m.insert_count);
  resp->set_delete_cnt(m.delete_count);
  resp->set_upsert_cnt(m.upsert_count);
  resp->set_timestamp(m.ts);
}

}  // namespace

RpcStatus MilvusService::Insert(Ctx* ctx, const mm::InsertRequest* req, mm::MutationResult* resp) {
  KITE_ADMIT(ctx, req);
  if (RefuseStaleSchema(proxy_, DbName(ctx, req->db_name()), req->collection_name(), req->schema_timestamp(),
                        resp->mutable_status())) {
    return RpcStatus::OK;
  }
  return Run(resp, [&]() -> Status {
    InsertParams p;
    KITE_RETURN_IF_ERROR(DecodeRows(proxy_, DbName(ctx, req->db_name()), *req, &p));
    KITE_ASSIGN_OR_RETURN(MutationOutcome m, proxy_->Insert(std::move(p)));
    FillMutation(m, resp);
    return Status::OK();
  });
}

RpcStatus MilvusService::Upsert(Ctx* ctx, const mm::UpsertRequest* req, mm::MutationResult* resp) {
  KITE_ADMIT(ctx, req);
  if (RefuseStaleSchema(proxy_, DbName(ctx, req->db_name()), req->collection_name(), req->schema_timestamp(),
                        resp->mutable_status())) {
    return RpcStatus::OK;
  }
  return Run(resp, [&]() -> Status {
    InsertParams p;
    p.upsert = true;
    // Milvus 2.6 field_ops: any operator other than REPLACE makes the upsert partial.
    bool partial = req->partial_update();
    for (const auto& op : req->field_ops()) {
      InsertParams::ArrayOp kind = InsertParams::ArrayOp::kReplace;
      if (op.op() == ::milvus::proto::schema::FieldPartialUpdateOp::ARRAY_APPEND) kind = InsertParams::ArrayOp::kAppend;
      if (op.op() == ::milvus::proto::schema::FieldPartialUpdateOp::ARRAY_REMOVE) kind = InsertParams::ArrayOp::kRemove;
      if (kind != InsertParams::ArrayOp::kReplace) partial = true;
      p.field_ops[op.field_name()] = kind;
    }
    KITE_RETURN_IF_ERROR(DecodeRows(proxy_, DbName(ctx, req->db_name()), *req, &p));
    KITE_ASSIGN_OR_RETURN(MutationOutcome m, partial ? proxy_->PartialUpsert(std::move(p)) : proxy_->Insert(std::move(p)));
    FillMutation(m, resp);
    return Status::OK();
  });
}

RpcStatus MilvusService::Delete(Ctx* ctx, const mm::DeleteRequest* req, mm::MutationResult* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    KITE_ASSIGN_OR_RETURN(auto values, TemplateValuesFromProto(req->expr_template_values()));
    KITE_ASSIGN_OR_RETURN(MutationOutcome m, proxy_->Delete(DbName(ctx, req->db_name()), req->collection_name(),
                                                            req->partition_name(), req->expr(), values));
    FillMutation(m, resp);
    return Status::OK();
  });
}

RpcStatus MilvusService::Query(Ctx* ctx, const mm::QueryRequest* req, mm::QueryResults* resp) {
  KITE_ADMIT(ctx, req);
  RpcStatus rs = Run(resp, [&]() -> Status {
    QueryParams q;
    q.db = DbName(ctx, req->db_name());
    q.collection = req->collection_name();
    q.expr = req->expr();
    q.output_fields = ToVector(req->output_fields());
    q.partitions = ToVector(req->partition_names());
    KITE_ASSIGN_OR_RETURN(q.expr_values, TemplateValuesFromProto(req->expr_template_values()));
    q.consistency = ConsistencyOf(req->use_default_consistency(), req->consistency_level(), req->guarantee_timestamp());
    bool has_limit = false;
    for (const auto& kv : req->query_params()) {
      if (kv.key() == "order_by_fields") q.order_by = kv.value();
      if (kv.key() == "limit" || kv.key() == "offset") {
        // Milvus (parseQueryParams) needs the whole value to be an integer
        // and echoes it trimmed of spaces.
        std::string shown = kv.value();
        shown.erase(0, shown.find_first_not_of(" \t\n\r"));
        shown.erase(shown.find_last_not_of(" \t\n\r") + 1);
        auto parsed = ParseInt(kv.key(), shown);
        if (!parsed.ok()) return parsed.status();
        (kv.key() == "limit" ? q.limit : q.offset) = *parsed;
        if (kv.key() == "limit") has_limit = true;
      }
      if (kv.key() == "iterator") q.consistency.pin = ParseBool(kv.value());
      if (kv.key() == "ignore_growing") {
        auto b = ParseGoBool(kv.value());
        if (!b) return InvalidArgument("parse ignore growing field failed");
        q.ignore_growing = *b;
      }
      if (kv.key() == "timezone") q.timezone = kv.value();
      if (kv.key() == "collection_id") {
        // A query iterator names the collection its first page read; the name
        // may now lead elsewhere (an alias moved, another database in use).
        auto id = ParseInt(kv.key(), kv.value());
        if (!id.ok()) return id.status();
        if (*id > 0) {
          KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(q.db, q.collection));
          if (v.info.id.value != *id) {
            return InvalidArgument(
                "Input collection id is not consistent to collectionID in the context,alias or database may have "
                "changed: invalid parameter");
          }
        }
      }
    }
    // Milvus reads the offset only together with a limit, and checks both as
    // the query's result window (validateMaxQueryResultWindow).
    if (!has_limit) q.offset = 0;
    if (has_limit && q.offset < 0) {
      return InvalidArgument("invalid max query result window, offset [{}] is invalid, should be gte than 0", q.offset);
    }
    if ((has_limit && q.limit <= 0) || q.limit < -1) {
      return InvalidArgument("invalid max query result window, limit [{}] is invalid, should be greater than 0",
                             q.limit);
    }
    KITE_ASSIGN_OR_RETURN(QueryOutcome out, proxy_->Query(q));
    resp->set_collection_name(out.schema->name);
    resp->set_primary_field_name(out.schema->PrimaryField()->name);
    resp->set_session_ts(out.ts);
    if (out.count_only) {
      auto* fd = resp->add_fields_data();
      fd->set_type(ms::Int64);
      fd->set_field_name("count(*)");
      fd->mutable_scalars()->mutable_long_data()->add_data(out.count);
      resp->add_output_fields("count(*)");
      return Status::OK();
    }
    for (size_t i = 0; i < out.fields.size(); ++i) {
      const FieldSchema* f = out.schema->FindField(out.fields[i]);
      if (!f->struct_name.empty()) {
        if (StructOutputAt(*out.schema, out.fields, out.data.rows.columns, i, out.timezone,
                           [&] { return resp->add_fields_data(); })) {
          resp->add_output_fields(f->struct_name);
        }
        continue;
      }
      const Column* col = out.data.rows.columns.size() > i ? &out.data.rows.columns[i] : nullptr;
      Column empty = Column::ForField(*f);
      auto* fd = resp->add_fields_data();
      ColumnToFieldData(col ? *col : empty, *f, out.include_all_dynamic ? std::vector<std::string>{} : out.dynamic_keys,
                        out.timezone, fd);
      KITE_RETURN_IF_ERROR(ExtractTimeFields(TimeFieldsParam(req->query_params()), fd));
      if (f->is_dynamic) {
        if (out.include_all_dynamic) resp->add_output_fields(f->name);
      } else {
        resp->add_output_fields(f->name);
      }
    }
    if (!out.include_all_dynamic) {
      for (const auto& k : out.dynamic_keys) resp->add_output_fields(k);
    }
    return Status::OK();
  });
  ReportCost(resp->mutable_status());
  return rs;
}


Status MilvusService::ParseSearch(const ::grpc::ServerContextBase* ctx, const mm::SearchRequest* req,
                                  SearchParams* out) {
  if (req->sub_reqs_size() > 0) {
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "search with sub requests is not implemented yet in Kite");
  }
  SearchParams& p = *out;
  p.db = DbName(ctx, req->db_name());
  p.collection = req->collection_name();
  p.partitions = ToVector(req->partition_names());
  p.filter = req->dsl();
  KITE_ASSIGN_OR_RETURN(p.filter_values, TemplateValuesFromProto(req->expr_template_values()));
  p.consistency = ConsistencyOf(req->use_default_consistency(), req->consistency_level(), req->guarantee_timestamp());
  p.output_fields = ToVector(req->output_fields());
  for (const auto& kv : req->search_params()) {
    const std::string& k = kv.key();
    const std::string& val = kv.value();
    if (k == "topk" || k == "limit") {
      KITE_ASSIGN_OR_RETURN(p.topk, ParseInt(k, val));
    } else if (k == "offset") {
      KITE_ASSIGN_OR_RETURN(p.offset, ParseInt(k, val));
    } else if (k == "round_decimal") {
      KITE_ASSIGN_OR_RETURN(int64_t rd, ParseInt(k, val));
      if (rd != -1 && (rd < 0 || rd > 6)) return InvalidArgument("round_decimal {} is invalid, should be -1 or in [0, 6]", rd);
      p.round_decimal = static_cast<int>(rd);
    } else if (k == "metric_type") {
      p.metric_type = val;
      for (auto& ch : p.metric_type) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    } else if (k == "anns_field") {
      p.anns_field = val;
    } else if (k == "iterator") {
      p.consistency.pin = ParseBool(val);
    } else if (k == "search_iter_v2") {
      p.iterator_v2 = ParseBool(val);
    } else if (k == "search_iter_batch_size") {
      KITE_ASSIGN_OR_RETURN(p.iterator_batch_size, ParseInt(k, val));
    } else if (k == "search_iter_last_bound") {
      try {
        p.iterator_last_bound = std::stof(val);
      } catch (...) {
        return InvalidArgument("search_iter_last_bound [{}] is not a number", val);
      }
    } else if (k == "ignore_growing") {
      auto b = ParseGoBool(val);
      if (!b) return InvalidArgument("parse search growing failed");
      p.ignore_growing = *b;
    } else if (k == "timezone") {
      p.timezone = val;
    } else if (k == "analyzer_name") {
      p.analyzer_name = val;
    } else if (k == "hints") {
      p.hints = val;
    } else if (k == "collection_id") {
      KITE_ASSIGN_OR_RETURN(p.collection_id, ParseInt(k, val));
    } else if (k == "order_by_fields") {
      p.order_by = ParseOrderByFields(val);
    } else if (k == "group_by_field") {
      p.group_by_field = val;
    } else if (k == "group_size") {
      KITE_ASSIGN_OR_RETURN(p.group_size, ParseInt(k, val));
    } else if (k == "strict_group_size") {
      p.strict_group_size = ParseBool(val);
    } else if (k == "params") {
      KITE_RETURN_IF_ERROR(CheckJsonDepth("search param 'params'", val));
      nlohmann::json j = nlohmann::json::parse(val, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return InvalidArgument("search param 'params' is not a JSON object: {}", val);
      auto num = [&](const char* key, std::optional<float>* out) -> Status {
        if (!j.contains(key)) return Status::OK();
        const auto& x = j.at(key);
        if (x.is_number()) {
          *out = x.get<float>();
        } else if (x.is_string()) {
          try {
            *out = std::stof(x.get<std::string>());
          } catch (...) {
            return InvalidArgument("search param {} [{}] is not a number", key, x.dump());
          }
        } else {
          return InvalidArgument("search param {} [{}] is not a number", key, x.dump());
        }
        return Status::OK();
      };
      KITE_RETURN_IF_ERROR(num("radius", &p.radius));
      KITE_RETURN_IF_ERROR(num("range_filter", &p.range_filter));
      if (j.contains("offset") && j.at("offset").is_number_integer()) p.offset = j.at("offset").get<int64_t>();
      for (const auto& [key, value] : j.items()) {
        if (key == "radius" || key == "range_filter" || key == "offset") continue;
        p.index_params[key] = value.is_string() ? value.get<std::string>() : value.dump();
      }
    }
  }
  if (p.range_filter && !p.radius) return InvalidArgument("range_filter requires radius to be set");
  if (req->has_function_score()) {
    KITE_RETURN_IF_ERROR(RerankFromFunctionScore(req->function_score(), &p.rerank, &p));
  }
  if (req->has_ids() && req->placeholder_group().empty()) {
    std::vector<PrimaryKey> ids;
    if (req->ids().has_int_id()) {
      for (int64_t v : req->ids().int_id().data()) ids.emplace_back(v);
    } else if (req->ids().has_str_id()) {
      for (const auto& v : req->ids().str_id().data()) ids.emplace_back(v);
    }
    p.ids = std::move(ids);
    return Status::OK();
  }
  mc::PlaceholderGroup group;
  if (!group.ParseFromString(req->placeholder_group()) || group.placeholders_size() != 1) {
    return InvalidArgument("the search vectors (placeholder group) cannot be decoded");
  }
  const mc::PlaceholderValue& ph = group.placeholders(0);
  p.query_type = static_cast<DataType>(ph.type());
  // An EmbeddingList of float vectors (one list per query): searches a
  // struct's vector sub-field, whose column type is ArrayOfVector.
  if (ph.type() == mc::PlaceholderType::EmbListFloatVector) p.query_type = DataType::kArrayOfVector;
  if (!IsVectorType(p.query_type) && p.query_type != DataType::kArrayOfVector && p.query_type != DataType::kVarChar) {  // VarChar: BM25 query texts
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "search with {} placeholders is not implemented yet in Kite",
                      static_cast<int>(ph.type()));
  }
  p.query_vectors.assign(ph.values().begin(), ph.values().end());
  return Status::OK();
}

Status MilvusService::AnswerSearch(const mm::SearchRequest* req, const SearchParams& p, const SearchOutcome& out, mm::SearchResults* resp) {
  resp->set_collection_name(out.schema->name);
  resp->set_session_ts(out.ts);
  auto* r = resp->mutable_results();
  r->set_num_queries(out.nq);
  r->set_top_k(out.topk);
  r->set_primary_field_name(out.schema->PrimaryField()->name);
  Column pks = Column::ForField(*out.schema->PrimaryField());
  for (const HitList& list : out.hits) {
    r->add_topks(static_cast<int64_t>(list.size()));
    for (const Hit& h : list) {
      r->add_scores(h.distance);
      if (const auto* i = std::get_if<int64_t>(&h.pk)) {
        pks.AppendFixed(i);
      } else {
        pks.AppendVar(std::get<std::string>(h.pk));
      }
    }
  }
  PksToIds(pks, r->mutable_ids());
  if (out.pk_requested) {
    const FieldSchema* f = out.schema->PrimaryField();
    ColumnToFieldData(pks, *f, {}, out.timezone, r->add_fields_data());
    r->add_output_fields(f->name);
  }
  for (size_t i = 1; i < out.fields.size(); ++i) {
    const FieldSchema* f = out.schema->FindField(out.fields[i]);
    if (!f->struct_name.empty()) {
      if (StructOutputAt(*out.schema, out.fields, out.rows.columns, i, out.timezone,
                         [&] { return r->add_fields_data(); })) {
        r->add_output_fields(f->struct_name);
      }
      continue;
    }
    const Column* col = out.rows.columns.size() > i ? &out.rows.columns[i] : nullptr;
    Column empty = Column::ForField(*f);
    auto* fd = r->add_fields_data();
    ColumnToFieldData(col ? *col : empty, *f, out.include_all_dynamic ? std::vector<std::string>{} : out.dynamic_keys,
                      out.timezone, fd);
    KITE_RETURN_IF_ERROR(ExtractTimeFields(TimeFieldsParam(req->search_params()), fd));
    if (!f->is_dynamic || out.include_all_dynamic) r->add_output_fields(f->name);
  }
  if (!out.include_all_dynamic) {
    for (const auto& k : out.dynamic_keys) r->add_output_fields(k);
  }
  if (out.group_values) ColumnToFieldData(*out.group_values, *out.group_field, {}, out.timezone, r->mutable_group_by_field_value());
  if (p.iterator_v2) {
    auto* it = r->mutable_search_iterator_v2_results();
    std::string token;
    for (const auto& kv : req->search_params()) {
      if (kv.key() == "search_iter_id") token = kv.value();
    }
    if (token.empty()) token = fmt::format("kite-iter-{}", out.ts);
    it->set_token(token);
    float last = p.iterator_last_bound.value_or(0.0f);
    if (!out.hits.empty() && !out.hits[0].empty()) last = out.hits[0].back().distance;
    it->set_last_bound(last);
  }
  return Status::OK();
}

// Search is a callback method: a light search (PreparedSearch::light) runs on
// the gRPC thread that received it, a heavy one on work_, so that it never
// holds a transport thread. Handing every search to another thread cost ~60 us
// of CPU in context switches on 2 cores, the sync server's thread manager as
// much (see ARCHITECTURE.md, "Search path").
::grpc::ServerUnaryReactor* MilvusService::Search(::grpc::CallbackServerContext* ctx, const ::grpc::ByteBuffer* request,
                                                  ::grpc::ByteBuffer* response) {
  ::grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto obs = std::make_shared<CallObservation>("Search", ctx);
  // The messages live as long as the call's closures (the heavy path runs on work_).
  struct Messages {
    mm::SearchRequest req;
    mm::SearchResults resp;
  };
  auto msgs = std::make_shared<Messages>();
  {
    ::grpc::ByteBuffer bytes(*request);  // shares the slices
    if (!::grpc::SerializationTraits<mm::SearchRequest>::Deserialize(&bytes, &msgs->req).ok()) {
      obs->Finish("", "", static_cast<int32_t>(::grpc::StatusCode::INTERNAL), kUnmarshalError, 0);
      reactor->Finish(RpcStatus(::grpc::StatusCode::INTERNAL, kUnmarshalError));
      return reactor;
    }
  }
  const mm::SearchRequest* req = &msgs->req;
  mm::SearchResults* resp = &msgs->resp;
  auto finish = [=](const Status& st) {
    const auto keep_alive = msgs;  // the messages outlive the call: `run` holds this closure
    Fill(resp, st);
    ReportCost(resp->mutable_status());
    obs->Finish(req->db_name(), req->collection_name(), resp->status().code(), resp->status().reason(),
                st.ok() ? resp->results().num_queries() : 0);
    obs->Leave();
    bool own = false;
    RpcStatus sent = ::grpc::SerializationTraits<mm::SearchResults>::Serialize(*resp, response, &own);
    reactor->Finish(sent);  // ctx and response may be gone after this
  };
  obs->Enter();
  if (RpcStatus admit = Admit(ctx, "Search", *req); !admit.ok()) {
    obs->Finish(DbName(ctx, req->db_name()), req->collection_name(), AdmitFailureCode(admit), admit.error_message(), 0);
    obs->Leave();
    reactor->Finish(admit);
    return reactor;
  }
  auto params = std::make_shared<SearchParams>();
  auto prepared = std::make_shared<PreparedSearch>();
  Status st = Guarded([&]() -> Status {
    KITE_RETURN_IF_ERROR(ParseSearch(ctx, req, params.get()));
    // The client's cancellation and deadline (and the server's shutdown, which
    // cancels calls still running after its grace period) stop a long search.
    params->cancelled = [ctx] { return ctx->IsCancelled() || ctx->deadline() < std::chrono::system_clock::now(); };
    KITE_ASSIGN_OR_RETURN(*prepared, proxy_->PrepareSearch(*params));
    return Status::OK();
  });
  if (!st.ok()) {
    finish(st);
    return reactor;
  }
  auto run = [=, this] {
    obs->Enter();
    finish(Guarded([&]() -> Status {
      KITE_ASSIGN_OR_RETURN(SearchOutcome out, proxy_->RunSearch(*params, std::move(*prepared)));
      return AnswerSearch(req, *params, out, resp);
    }));
  };
  if (prepared->light()) {
    run();
  } else {
    obs->Leave();
    work_.Submit(std::move(run));
  }
  return reactor;
}

Status MilvusService::ParseHybridSearch(const ::grpc::ServerContextBase* ctx, const mm::HybridSearchRequest* req,
                                        HybridSearchParams* out) {
  HybridSearchParams& h = *out;
  h.db = DbName(ctx, req->db_name());
  h.collection = req->collection_name();
  h.partitions = ToVector(req->partition_names());
  h.output_fields = ToVector(req->output_fields());
  h.consistency = ConsistencyOf(req->use_default_consistency(), req->consistency_level(), req->guarantee_timestamp());
  for (const auto& kv : req->rank_params()) {
    const std::string& k = kv.key();
    const std::string& val = kv.value();
    if (k == "limit") {
      KITE_ASSIGN_OR_RETURN(h.limit, ParseInt(k, val));
    } else if (k == "offset") {
      KITE_ASSIGN_OR_RETURN(h.offset, ParseInt(k, val));
    } else if (k == "round_decimal") {
      KITE_ASSIGN_OR_RETURN(int64_t rd, ParseInt(k, val));
      if (rd != -1 && (rd < 0 || rd > 6)) return InvalidArgument("round_decimal {} is invalid, should be -1 or in [0, 6]", rd);
      h.round_decimal = static_cast<int>(rd);
    } else if (k == "group_by_field") {
      h.group_by_field = val;
    } else if (k == "group_size") {
      KITE_ASSIGN_OR_RETURN(h.group_size, ParseInt(k, val));
    } else if (k == "strict_group_size") {
      h.strict_group_size = ParseBool(val);
    } else if (k == "rank_group_scorer") {
      h.group_scorer = val;
    }
  }
  std::optional<RerankRequest> function;
  if (req->has_function_score()) {
    KITE_RETURN_IF_ERROR(RerankFromFunctionScore(req->function_score(), &function, nullptr));
  }
  if (function) {
    h.rerank = std::move(*function);
  } else {
    KITE_ASSIGN_OR_RETURN(h.rerank, RerankFromRankParams(req->rank_params()));
  }
  for (const auto& sub : req->requests()) {
    SearchParams sp;
    KITE_RETURN_IF_ERROR(ParseSearch(ctx, &sub, &sp));
    h.requests.push_back(std::move(sp));
  }
  return Status::OK();
}

RpcStatus MilvusService::HybridSearch(Ctx* ctx, const mm::HybridSearchRequest* req, mm::SearchResults* resp) {
  KITE_ADMIT(ctx, req);
  RpcStatus rs = Run(resp, [&]() -> Status {
    HybridSearchParams h;
    KITE_RETURN_IF_ERROR(ParseHybridSearch(ctx, req, &h));
    KITE_ASSIGN_OR_RETURN(SearchOutcome out, proxy_->HybridSearch(h));
    SearchParams shape;  // AnswerSearch reads only the iterator fields of it
    mm::SearchRequest none;
    return AnswerSearch(&none, shape, out, resp);
  });
  ReportCost(resp->mutable_status());
  return rs;
}

RpcStatus MilvusService::Flush(Ctx* ctx, const mm::FlushRequest* req, mm::FlushResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Run(resp, [&]() -> Status {
    std::string db = DbName(ctx, req->db_name());
    resp->set_db_name(db.empty() ? kDefaultDatabaseName : db);
    for (const auto& name : req->collection_names()) {
      KITE_ASSIGN_OR_RETURN(auto segs, proxy_->Flush(db, name));
      auto& ids = (*resp->mutable_coll_segids())[name];
      auto& flushed = (*resp->mutable_flush_coll_segids())[name];
      for (SegmentId s : segs) {
        ids.add_data(s.value);
        flushed.add_data(s.value);
      }
      KITE_ASSIGN_OR_RETURN(Timestamp ts, proxy_->AllocTimestamp());
      (*resp->mutable_coll_flush_ts())[name] = ts;
      (*resp->mutable_coll_seal_times())[name] = static_cast<int64_t>(PhysicalMs(ts) / 1000);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::GetFlushState(Ctx* ctx, const mm::GetFlushStateRequest* req, mm::GetFlushStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  // Flush is synchronous in Kite: once Flush answered, its segments are durable.
  return Run(resp, [&] {
    resp->set_flushed(true);
    return Status::OK();
  });
}

}  // namespace kite::rpc
