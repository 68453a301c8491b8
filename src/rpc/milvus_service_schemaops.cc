// Schema evolution and collection operations of Milvus 2.6 (issue 18):
// AddCollectionField, TruncateCollection, BatchDescribeCollection,
// GetIndexStatistics, FlushAll / GetFlushAllState, GetCompactionStateWithPlans.
#include "rpc/milvus_service.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rpc/schema_convert.h"
#include "rpc/schema_mismatch.h"
#include "rpc/service_common.h"
#include "rpc/status_map.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;
namespace ms = ::milvus::proto::schema;

namespace {

// The field a serialized schemapb.FieldSchema describes, read as
// CreateCollection reads the fields of a schema.
Result<FieldSchema> FieldFromBytes(const std::string& bytes) {
  ms::FieldSchema pf;
  if (!pf.ParseFromString(bytes)) return InvalidArgument("the field schema of the request does not parse");
  ms::CollectionSchema wrapper;
  *wrapper.add_fields() = pf;
  KITE_ASSIGN_OR_RETURN(CollectionSchema s, SchemaFromProto(wrapper));
  if (s.fields.size() != 1) return InvalidArgument("the request holds no field schema");
  return s.fields[0];
}

}  // namespace

MilvusService::RpcStatus MilvusService::AddCollectionField(Ctx* ctx, const mm::AddCollectionFieldRequest* req,
                                                           mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   KITE_ASSIGN_OR_RETURN(FieldSchema f, FieldFromBytes(req->schema()));
                   return proxy_->AddCollectionField(DbName(ctx, req->db_name()), req->collection_name(), f);
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::AlterCollectionField(Ctx* ctx, const mm::AlterCollectionFieldRequest* req,
                                                             mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   std::map<std::string, std::string> set;
                   for (const auto& kv : req->properties()) set[kv.key()] = kv.value();
                   std::vector<std::string> keys(req->delete_keys().begin(), req->delete_keys().end());
                   return proxy_->AlterCollectionField(DbName(ctx, req->db_name()), req->collection_name(),
                                                       req->field_name(), set, keys);
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::TruncateCollection(Ctx* ctx, const mm::TruncateCollectionRequest* req,
                                                           mm::TruncateCollectionResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] { return proxy_->TruncateCollection(DbName(ctx, req->db_name()), req->collection_name()); }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

// One DescribeCollection per name (each answer carries its own status, as in
// Milvus); the call succeeds as a whole.
MilvusService::RpcStatus MilvusService::BatchDescribeCollection(Ctx* ctx, const mm::BatchDescribeCollectionRequest* req,
                                                                mm::BatchDescribeCollectionResponse* resp) {
  KITE_ADMIT(ctx, req);
  for (const auto& name : req->collection_name()) {
    mm::DescribeCollectionRequest one;
    one.set_db_name(req->db_name());
    one.set_collection_name(name);
    RpcStatus st = DescribeCollection(ctx, &one, resp->add_responses());
    if (!st.ok()) return st;
  }
  ToMilvusStatus(Status::OK(), resp->mutable_status());
  return RpcStatus::OK;
}

// Milvus answers GetIndexStatistics with DescribeIndex's descriptions.
MilvusService::RpcStatus MilvusService::GetIndexStatistics(Ctx* ctx, const mm::GetIndexStatisticsRequest* req,
                                                           mm::GetIndexStatisticsResponse* resp) {
  KITE_ADMIT(ctx, req);
  mm::DescribeIndexRequest d;
  d.set_db_name(req->db_name());
  d.set_collection_name(req->collection_name());
  d.set_index_name(req->index_name());
  d.set_timestamp(req->timestamp());
  mm::DescribeIndexResponse out;
  RpcStatus st = DescribeIndex(ctx, &d, &out);
  if (!st.ok()) return st;
  *resp->mutable_status() = out.status();
  *resp->mutable_index_descriptions() = out.index_descriptions();
  return RpcStatus::OK;
}

// Flushes every collection of the request's database (each of flush_targets
// when given; every database when neither names one). Flush is synchronous
// in Kite, so the flush is complete when this answers.
MilvusService::RpcStatus MilvusService::FlushAll(Ctx* ctx, const mm::FlushAllRequest* req, mm::FlushAllResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   std::vector<std::pair<std::string, std::vector<std::string>>> targets;
                   for (const auto& t : req->flush_targets()) {
                     targets.emplace_back(t.db_name(), std::vector<std::string>(t.collection_names().begin(),
                                                                                t.collection_names().end()));
                   }
                   const std::string db = DbName(ctx, req->db_name());
                   if (targets.empty() && !db.empty()) targets.emplace_back(db, std::vector<std::string>{});
                   if (targets.empty()) {
                     KITE_ASSIGN_OR_RETURN(auto dbs, proxy_->ListDatabases());
                     for (const auto& d : dbs) targets.emplace_back(d.name, std::vector<std::string>{});
                   }
                   for (auto& [target_db, names] : targets) {
                     if (names.empty()) {
                       KITE_ASSIGN_OR_RETURN(auto views, proxy_->ListCollections(target_db));
                       for (const auto& v : views) names.push_back(v.info.schema.name);
                     }
                     for (const auto& name : names) KITE_RETURN_IF_ERROR(proxy_->Flush(target_db, name).status());
                   }
                   KITE_ASSIGN_OR_RETURN(Timestamp ts, proxy_->AllocTimestamp());
                   resp->set_flush_all_ts(ts);
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::GetFlushAllState(Ctx* ctx, const mm::GetFlushAllStateRequest* req,
                                                         mm::GetFlushAllStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  // FlushAll answers once everything is durable: any flush_all_ts it gave is reached.
  resp->set_flushed(true);
  ToMilvusStatus(Status::OK(), resp->mutable_status());
  return RpcStatus::OK;
}

// The compaction job's state; its merge plans are not kept once executed, so
// no merge infos are listed.
MilvusService::RpcStatus MilvusService::GetCompactionStateWithPlans(Ctx* ctx, const mm::GetCompactionPlansRequest* req,
                                                                    mm::GetCompactionPlansResponse* resp) {
  KITE_ADMIT(ctx, req);
  CompactionJob job = proxy_->GetCompaction(req->compactionid());
  resp->set_state(static_cast<mc::CompactionState>(job.state));
  ToMilvusStatus(Status::OK(), resp->mutable_status());
  return RpcStatus::OK;
}

}  // namespace kite::rpc

namespace kite::rpc {

bool RefuseStaleSchema(Proxy* proxy, const std::string& db, const std::string& collection, uint64_t schema_ts,
                       ::milvus::proto::common::Status* out) {
  if (schema_ts == 0) return false;
  auto v = proxy->DescribeCollection(db, collection);
  if (!v.ok() || v->info.update_ts == schema_ts) return false;  // a missing collection is reported later
  out->Clear();
  out->set_code(109);
  out->set_error_code(::milvus::proto::common::SchemaMismatch);
  out->set_reason(fmt::format("collection schema mismatch[collection={}]", collection));
  (*out->mutable_extra_info())["is_input_error"] = "true";
  return true;
}

}  // namespace kite::rpc

namespace kite::rpc {

// Flushed segments (state Flushed) and growing ones (state Growing), as
// Milvus's data coordinator lists them.
MilvusService::RpcStatus MilvusService::GetPersistentSegmentInfo(Ctx* ctx, const mm::GetPersistentSegmentInfoRequest* req,
                                                                 mm::GetPersistentSegmentInfoResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   const std::string db = DbName(ctx, req->dbname());
                   KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(db, req->collectionname()));
                   KITE_ASSIGN_OR_RETURN(auto segs, proxy_->PersistentSegments(db, req->collectionname()));
                   for (const auto& s : segs) {
                     auto* info = resp->add_infos();
                     info->set_segmentid(s.id.value);
                     info->set_collectionid(v.info.id.value);
                     info->set_partitionid(s.partition.value);
                     info->set_num_rows(s.num_rows);
                     info->set_state(s.growing ? mc::SegmentState::Growing : mc::SegmentState::Flushed);
                     info->set_level(::milvus::proto::common::SegmentLevel::L1);
                     info->set_is_sorted(!s.growing);
                   }
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

// The sealed segments the query node serves (state Sealed).
MilvusService::RpcStatus MilvusService::GetQuerySegmentInfo(Ctx* ctx, const mm::GetQuerySegmentInfoRequest* req,
                                                            mm::GetQuerySegmentInfoResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   const std::string db = DbName(ctx, req->dbname());
                   KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(db, req->collectionname()));
                   KITE_ASSIGN_OR_RETURN(auto segs, proxy_->LoadedSegments(db, req->collectionname()));
                   for (const auto& s : segs) {
                     auto* info = resp->add_infos();
                     info->set_segmentid(s.id.value);
                     info->set_collectionid(v.info.id.value);
                     info->set_partitionid(s.partition.value);
                     info->set_num_rows(s.num_rows);
                     info->set_mem_size(s.mem_bytes);
                     // The query node holding it (1: the embedded one).
                     info->set_nodeid(s.node != 0 ? s.node : 1);
                     info->add_nodeids(s.node != 0 ? s.node : 1);
                     info->set_state(mc::SegmentState::Sealed);
                     info->set_level(::milvus::proto::common::SegmentLevel::L1);
                     info->set_is_sorted(true);
                   }
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

}  // namespace kite::rpc

namespace kite::rpc {

namespace {

// Go's time.Time.String() of a UTC instant, the form Milvus reports times in.
std::string GoTimeString(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count() % 1000000000;
  return fmt::format("{}.{:09d} +0000 UTC", buf, ns);
}

uint64_t ProcBytes(const char* path, const char* key, uint64_t unit) {
  std::ifstream in(path);
  std::string k;
  uint64_t v = 0;
  while (in >> k) {
    if (k == key && in >> v) return v * unit;
  }
  return 0;
}

const std::chrono::system_clock::time_point kProcessStart = std::chrono::system_clock::now();

}  // namespace

// GetMetrics {"metric_type": "system_info"}: the system topology Attu and the
// SDKs read (Milvus metricsinfo.SystemTopology: nodes_info, each with its
// identifier, its connections and BaseComponentInfos). The roles embedded in
// this process are one node each, the proxy forwarding to the others; the
// query and streaming node processes of the cluster view (AttachTopology)
// replace the embedded query / streaming node, each connected to its
// coordinator. Parsed as Milvus's metricsinfo.ParseMetricType parses it; a
// type other than system_info is Milvus's ErrMetricNotFound (1200, "metric not
// found[metric=...]"), as its coordinators and nodes answer it.
MilvusService::RpcStatus MilvusService::GetMetrics(Ctx* ctx, const mm::GetMetricsRequest* req,
                                                   mm::GetMetricsResponse* resp) {
  KITE_ADMIT(ctx, req);
  std::string unknown_type;  // set: Milvus's ErrMetricNotFound (1200), which no Kite Reason carries
  ToMilvusStatus(Guarded([&]() -> Status {
                   auto request = nlohmann::json::parse(req->request(), nullptr, false);
                   if (request.is_discarded() || !request.is_object()) {
                     return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                                       "failed to decode the request: {}", req->request());
                   }
                   auto it = request.find("metric_type");
                   if (it == request.end()) {
                     return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                                       "metric_type not found in request");
                   }
                   const std::string type = it->is_string() ? it->get<std::string>() : it->dump();
                   if (type != "system_info") {
                     unknown_type = type;
                     return Status::OK();
                   }
                   resp->set_response(SystemTopologyJson());
                   resp->set_component_name("proxy1");
                   return Status::OK();
                 }),
                 resp->mutable_status());
  if (!unknown_type.empty()) {
    auto* st = resp->mutable_status();
    st->set_code(1200);
    st->set_error_code(::milvus::proto::common::UnexpectedError);
    st->set_reason(fmt::format("metric not found[metric={}]", unknown_type));
  }
  return RpcStatus::OK;
}

std::string MilvusService::SystemTopologyJson() const {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const long page = sysconf(_SC_PAGESIZE);
  uint64_t rss_pages = 0;
  {
    std::ifstream statm("/proc/self/statm");
    uint64_t size = 0;
    statm >> size >> rss_pages;
  }
  nlohmann::json hardware = {{"ip", host},
                             {"cpu_core_count", std::max(1u, std::thread::hardware_concurrency())},
                             {"cpu_core_usage", 0.0},
                             {"memory", ProcBytes("/proc/meminfo", "MemTotal:", 1024)},
                             {"memory_usage", rss_pages * static_cast<uint64_t>(page > 0 ? page : 4096)},
                             {"disk", 0.0},
                             {"disk_usage", 0.0},
                             {"io_wait_percentage", 0.0}};
  nlohmann::json deploy = {{"system_version", identity_.version},
                           {"deploy_mode", identity_.deploy_mode},
                           {"build_version", identity_.build_tags},
                           {"build_time", ""},
                           {"used_go_version", ""}};
  const std::string created = GoTimeString(kProcessStart);
  const std::string updated = GoTimeString(std::chrono::system_clock::now());
  std::vector<TopologyNode> remote = topology_ ? topology_() : std::vector<TopologyNode>{};
  auto has_remote = [&](const std::string& role) {
    return std::any_of(remote.begin(), remote.end(), [&](const TopologyNode& n) { return n.role == role; });
  };
  struct Entry {
    std::string role;
    int64_t id = 1;
    std::string ip;  // empty: this host
  };
  std::vector<Entry> entries;
  for (const char* role : {"proxy", "rootcoord", "querycoord", "datacoord", "querynode", "datanode", "streamingnode"}) {
    if (has_remote(role)) continue;  // served by the processes listed below
    entries.push_back(Entry{role, 1, ""});
  }
  for (const TopologyNode& n : remote) entries.push_back(Entry{n.role, n.id, n.address});
  // Identifiers: 1.. in order; the proxy forwards to every coordinator and
  // embedded role, a coordinator manages its remote nodes (Milvus's
  // "forward" and "manage" edges).
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    nlohmann::json connected = nlohmann::json::array();
    if (e.role == "proxy") {
      for (size_t to = 0; to < entries.size(); ++to) {
        if (to == i || entries[to].id != 1 || !entries[to].ip.empty()) continue;
        connected.push_back({{"connected_identifier", static_cast<int>(to + 1)},
                             {"type", "forward"},
                             {"target_type", entries[to].role}});
      }
    }
    const std::string coordinated = e.role == "querycoord" ? "querynode" : e.role == "rootcoord" ? "streamingnode" : "";
    if (!coordinated.empty()) {
      for (size_t to = 0; to < entries.size(); ++to) {
        if (entries[to].role != coordinated || entries[to].ip.empty()) continue;
        connected.push_back({{"connected_identifier", static_cast<int>(to + 1)},
                             {"type", "manage"},
                             {"target_type", coordinated}});
      }
    }
    nlohmann::json hw = hardware;
    if (!e.ip.empty()) hw["ip"] = e.ip;
    nlohmann::json infos = {{"has_error", false},
                            {"error_reason", ""},
                            {"name", e.role + std::to_string(e.id)},
                            {"hardware_infos", hw},
                            {"system_info", deploy},
                            {"created_time", created},
                            {"updated_time", updated},
                            {"type", e.role},
                            {"id", e.id}};
    nodes.push_back({{"identifier", static_cast<int>(i + 1)}, {"connected", connected}, {"infos", infos}});
  }
  return nlohmann::json{{"nodes_info", nodes}}.dump();
}

}  // namespace kite::rpc
