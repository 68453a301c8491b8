// Replicas and resource groups, answered as Milvus 2.6 standalone answers
// them (issue 18 item 5): one query node (and one streaming node), so one
// replica per loaded collection, placed in a resource group. The checks and
// their texts follow Milvus's querycoord (utils.AssignReplica,
// ResourceManager) and proxy (ValidateResourceGroupName); the load errors
// reach the client as the proxy's "call query coordinator <RPC>: <error>"
// (code 65535), as Milvus's do.
#include <algorithm>

#include "roles/proxy/proxy.h"

namespace kite {

namespace {

Status NoResourceGroups() {
  return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "resource groups are not available in this server");
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Milvus's proxy ValidateResourceGroupName (plain errors: code 65535).
Status ValidateResourceGroupName(const std::string& name, const Limits& limits) {
  if (name.empty()) return Unclassified("resource group name couldn't be empty");
  const std::string invalid = fmt::format("Invalid resource group name {}.", name);
  if (static_cast<int64_t>(name.size()) > limits.max_name_length) {
    return Unclassified("{} the length of a resource group name must be less than {} characters", invalid,
                        limits.max_name_length);
  }
  if (name[0] != '_' && !IsAlpha(name[0])) {
    return Unclassified("{} the first character of a resource group name must be an underscore or letter", invalid);
  }
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] != '_' && !IsAlpha(name[i]) && !IsDigit(name[i])) {
      return Unclassified("{} resource group name can only contain numbers, letters and underscores", invalid);
    }
  }
  return Status::OK();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
  return out;
}

}  // namespace

Result<std::vector<std::pair<ReplicaRecord, CollectionView>>> Proxy::LiveReplicas() {
  std::vector<std::pair<ReplicaRecord, CollectionView>> out;
  if (!rgs_) return out;
  KITE_ASSIGN_OR_RETURN(auto all, coord_->ListAllCollections());
  std::map<int64_t, CollectionView*> by_id;
  for (auto& v : all) by_id[v.info.id.value] = &v;
  for (const ReplicaRecord& r : rgs_->Replicas()) {
    auto it = by_id.find(r.collection);
    if (it == by_id.end() || it->second->info.load_state() != LoadState::kLoaded) continue;
    out.emplace_back(r, *it->second);
  }
  return out;
}

Status Proxy::LoadWithReplicas(const LoadRequest& req) {
  KITE_RETURN_IF_ERROR(CheckCollectionName(req.collection));
  KITE_ASSIGN_OR_RETURN(CollectionView before, coord_->DescribeCollection(req.db, req.collection));
  if (!rgs_) return Load(req.db, req.collection, req.partitions);
  const std::string rpc = req.partitions.empty() ? "LoadCollection" : "LoadPartitions";
  const int32_t replicas = req.replica_number <= 0 ? 1 : req.replica_number;
  // utils.AssignReplica, in its order.
  const auto& rgs = req.resource_groups;
  if (!rgs.empty() && rgs.size() != 1 && static_cast<int32_t>(rgs.size()) != replicas) {
    return Unclassified(
        "call query coordinator {}: replica=[{}] resource group=[{}], resource group num can only be 0, 1 or same as "
        "replica number",
        rpc, replicas, Join(rgs));
  }
  constexpr int kStreamingNodes = 1;
  if (replicas > kStreamingNodes) {
    return Unclassified(
        "call query coordinator {}: when load {} replica count: service resource "
        "insufficient[currentStreamingNode={}][expectedStreamingNode={}]",
        rpc, replicas, kStreamingNodes, replicas);
  }
  const std::string rg = rgs.empty() ? std::string(kDefaultResourceGroup) : rgs[0];
  auto view = rgs_->Describe(rg);
  if (!view) return Unclassified("call query coordinator {}: resource group not found[rg={}]", rpc, rg);
  if (static_cast<int32_t>(view->nodes.size()) < replicas) {
    return Unclassified(
        "call query coordinator {}: resource group node not enough[rg={}][currentNodeNum={}][expectedNodeNum={}]", rpc,
        rg, view->nodes.size(), replicas);
  }
  const bool was_loaded = before.info.load_state() == LoadState::kLoaded;
  KITE_RETURN_IF_ERROR(Load(req.db, req.collection, req.partitions));
  auto existing = rgs_->ReplicaOf(before.info.id.value);
  ReplicaRecord r;
  if (was_loaded && existing) {
    if (existing->resource_group == rg) return Status::OK();
    r = *existing;  // a loaded collection moves to the requested group (UpdateLoadConfig)
  } else {
    KITE_ASSIGN_OR_RETURN(r.id, coord_->AllocIds(1));
    r.collection = before.info.id.value;
  }
  r.resource_group = rg;
  return rgs_->PutReplica(r);
}

Result<std::vector<Proxy::ReplicaView>> Proxy::GetReplicas(const std::string& db, const std::string& collection,
                                                           int64_t collection_id) {
  CollectionView v;
  if (!collection.empty()) {
    KITE_ASSIGN_OR_RETURN(v, coord_->DescribeCollection(db, collection));
  } else {
    KITE_ASSIGN_OR_RETURN(auto all, coord_->ListAllCollections());
    auto it = std::find_if(all.begin(), all.end(), [&](const CollectionView& c) { return c.info.id.value == collection_id; });
    if (it == all.end()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[collection={}]",
                        collection_id);
    }
    v = *it;
  }
  std::vector<ReplicaView> out;
  if (v.info.load_state() != LoadState::kLoaded) return out;
  ReplicaView r;
  r.collection = v.info.id.value;
  r.resource_group = kDefaultResourceGroup;
  if (rgs_) {
    if (auto rec = rgs_->ReplicaOf(r.collection)) {
      r.id = rec->id;
      r.resource_group = rec->resource_group;
    } else {
      // Loaded before replica records existed: record it now.
      KITE_ASSIGN_OR_RETURN(int64_t id, coord_->AllocIds(1));
      KITE_RETURN_IF_ERROR(rgs_->PutReplica(ReplicaRecord{id, r.collection, r.resource_group}));
      r.id = id;
    }
    r.nodes.push_back(rgs_->node_id());
  } else {
    r.nodes.push_back(1);
  }
  for (const auto& p : v.info.partitions) {
    if (p.loaded) r.partitions.push_back(p.id.value);
  }
  r.channels = v.info.channels;
  out.push_back(std::move(r));
  return out;
}

Status Proxy::CreateResourceGroup(const std::string& name, const std::optional<ResourceGroupConfig>& config) {
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(name, limits_));
  if (!rgs_) return NoResourceGroups();
  return rgs_->Create(name, config);
}

Status Proxy::UpdateResourceGroups(const std::map<std::string, ResourceGroupConfig>& configs) {
  for (const auto& [name, cfg] : configs) KITE_RETURN_IF_ERROR(ValidateResourceGroupName(name, limits_));
  if (!rgs_) return NoResourceGroups();
  return rgs_->Update(configs);
}

Status Proxy::DropResourceGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(name, limits_));
  if (!rgs_) return NoResourceGroups();
  KITE_ASSIGN_OR_RETURN(auto live, LiveReplicas());
  std::optional<int64_t> loaded;
  for (const auto& [r, v] : live) {
    if (r.resource_group == name) loaded = r.collection;
  }
  return rgs_->Drop(name, loaded);
}

Status Proxy::TransferNode(const std::string& source, const std::string& target, int32_t num_node) {
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(source, limits_));
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(target, limits_));
  if (!rgs_) return NoResourceGroups();
  return rgs_->TransferNode(source, target, num_node);
}

Status Proxy::TransferReplica(const std::string& source, const std::string& target, const std::string& db,
                              const std::string& collection, int64_t num_replica) {
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(source, limits_));
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(target, limits_));
  if (!rgs_) return NoResourceGroups();
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  if (!rgs_->Contains(source)) {
    return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound,
                      "the source resource group[{}] doesn't exist: resource group not found[rg={}]", source, source);
  }
  if (!rgs_->Contains(target)) {
    return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound,
                      "the target resource group[{}] doesn't exist: resource group not found[rg={}]", target, target);
  }
  // ReplicaManager.TransferReplica.
  if (source == target) {
    return InvalidArgument(
        "source resource group and target resource group should not be the same, resource group: {}: invalid "
        "parameter",
        source);
  }
  if (num_replica <= 0) {
    return InvalidArgument("invalid parameter[expected=NumReplica > 0][actual=invalid NumReplica {}]", num_replica);
  }
  std::optional<ReplicaRecord> rec;
  if (v.info.load_state() == LoadState::kLoaded) rec = rgs_->ReplicaOf(v.info.id.value);
  const int64_t in_source = rec && rec->resource_group == source ? 1 : 0;
  if (in_source < num_replica) {
    return InvalidArgument(
        "invalid parameter[expected=NumReplica not greater than the number of replica in source resource "
        "group][actual=only found [{}] replicas of collection [{}] in source resource group [{}], but {} require]",
        in_source, v.info.id.value, source, num_replica);
  }
  // Milvus moves the replica even to a group without nodes (checkNodeNum
  // false in ReassignReplicaToRG); Kite keeps serving it from its one node.
  rec->resource_group = target;
  return rgs_->PutReplica(*rec);
}

Result<std::vector<std::string>> Proxy::ListResourceGroups() {
  if (!rgs_) return std::vector<std::string>{kDefaultResourceGroup};
  return rgs_->List();
}

Result<Proxy::ResourceGroupDescription> Proxy::DescribeResourceGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidateResourceGroupName(name, limits_));
  if (!rgs_) return NoResourceGroups();
  auto view = rgs_->Describe(name);
  if (!view) {
    return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound, "resource group not found[rg={}]", name);
  }
  ResourceGroupDescription d;
  d.group = std::move(*view);
  KITE_ASSIGN_OR_RETURN(auto live, LiveReplicas());
  for (const auto& [r, v] : live) {
    if (r.resource_group == name) d.loaded_replicas[v.info.schema.name] += 1;
  }
  return d;
}

}  // namespace kite
