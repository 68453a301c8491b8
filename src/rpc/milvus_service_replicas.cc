// Replicas and resource groups (issue 18 item 5): GetReplicas and the
// resource-group RPCs, over Proxy (roles/proxy/proxy_replicas.cc).
#include <unistd.h>

#include "rpc/milvus_service.h"
#include "rpc/service_common.h"
#include "rpc/status_map.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;
namespace rg = ::milvus::proto::rg;

namespace {

ResourceGroupConfig ConfigFromProto(const rg::ResourceGroupConfig& p) {
  ResourceGroupConfig c;
  c.requests = p.requests().node_num();
  c.limits = p.limits().node_num();
  for (const auto& t : p.transfer_from()) c.transfer_from.push_back(t.resource_group());
  for (const auto& t : p.transfer_to()) c.transfer_to.push_back(t.resource_group());
  for (const auto& kv : p.node_filter().node_labels()) c.node_labels.emplace_back(kv.key(), kv.value());
  return c;
}

void ConfigToProto(const ResourceGroupConfig& c, rg::ResourceGroupConfig* p) {
  p->mutable_requests()->set_node_num(c.requests);
  p->mutable_limits()->set_node_num(c.limits);
  for (const auto& t : c.transfer_from) p->add_transfer_from()->set_resource_group(t);
  for (const auto& t : c.transfer_to) p->add_transfer_to()->set_resource_group(t);
  for (const auto& [k, v] : c.node_labels) {
    auto* kv = p->mutable_node_filter()->add_node_labels();
    kv->set_key(k);
    kv->set_value(v);
  }
}

std::string HostName() {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return host;
}

}  // namespace

MilvusService::RpcStatus MilvusService::GetReplicas(Ctx* ctx, const mm::GetReplicasRequest* req,
                                                    mm::GetReplicasResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   KITE_ASSIGN_OR_RETURN(auto replicas, proxy_->GetReplicas(DbName(ctx, req->db_name()),
                                                                            req->collection_name(),
                                                                            req->collectionid()));
                   for (const auto& r : replicas) {
                     auto* info = resp->add_replicas();
                     info->set_replicaid(r.id);
                     info->set_collectionid(r.collection);
                     for (int64_t p : r.partitions) info->add_partition_ids(p);
                     for (int64_t n : r.nodes) info->add_node_ids(n);
                     info->set_resource_group_name(r.resource_group);
                     for (const auto& ch : r.channels) {
                       auto* shard = info->add_shard_replicas();
                       shard->set_leaderid(r.nodes.empty() ? 0 : r.nodes[0]);
                       shard->set_leader_addr(HostName());
                       shard->set_dm_channel_name(ch);
                       if (req->with_shard_nodes()) {
                         for (int64_t n : r.nodes) shard->add_node_ids(n);
                       }
                     }
                   }
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::CreateResourceGroup(Ctx* ctx, const mm::CreateResourceGroupRequest* req,
                                                            mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] {
                   std::optional<ResourceGroupConfig> cfg;
                   if (req->has_config()) cfg = ConfigFromProto(req->config());
                   return proxy_->CreateResourceGroup(req->resource_group(), cfg);
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::DropResourceGroup(Ctx* ctx, const mm::DropResourceGroupRequest* req,
                                                          mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] { return proxy_->DropResourceGroup(req->resource_group()); }), resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::UpdateResourceGroups(Ctx* ctx, const mm::UpdateResourceGroupsRequest* req,
                                                             mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] {
                   std::map<std::string, ResourceGroupConfig> configs;
                   for (const auto& [name, cfg] : req->resource_groups()) configs[name] = ConfigFromProto(cfg);
                   return proxy_->UpdateResourceGroups(configs);
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::TransferNode(Ctx* ctx, const mm::TransferNodeRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] {
                   return proxy_->TransferNode(req->source_resource_group(), req->target_resource_group(),
                                               req->num_node());
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::TransferReplica(Ctx* ctx, const mm::TransferReplicaRequest* req,
                                                        mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&] {
                   return proxy_->TransferReplica(req->source_resource_group(), req->target_resource_group(),
                                                  DbName(ctx, req->db_name()), req->collection_name(),
                                                  req->num_replica());
                 }),
                 resp);
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::ListResourceGroups(Ctx* ctx, const mm::ListResourceGroupsRequest* req,
                                                           mm::ListResourceGroupsResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   KITE_ASSIGN_OR_RETURN(auto names, proxy_->ListResourceGroups());
                   for (const auto& n : names) resp->add_resource_groups(n);
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::DescribeResourceGroup(Ctx* ctx, const mm::DescribeResourceGroupRequest* req,
                                                              mm::DescribeResourceGroupResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   KITE_ASSIGN_OR_RETURN(auto d, proxy_->DescribeResourceGroup(req->resource_group()));
                   auto* out = resp->mutable_resource_group();
                   out->set_name(d.group.name);
                   out->set_capacity(d.group.capacity);
                   out->set_num_available_node(static_cast<int32_t>(d.group.nodes.size()));
                   for (const auto& [coll, n] : d.loaded_replicas) (*out->mutable_num_loaded_replica())[coll] = n;
                   ConfigToProto(d.group.config, out->mutable_config());
                   const std::string host = HostName();
                   for (int64_t node : d.group.nodes) {
                     auto* info = out->add_nodes();
                     info->set_node_id(node);
                     info->set_address(host);
                     info->set_hostname(host);
                   }
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

}  // namespace kite::rpc
