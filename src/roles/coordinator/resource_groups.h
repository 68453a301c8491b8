// Resource groups and replica records: the part of Milvus's querycoord
// (ResourceManager, ReplicaManager) that standalone Kite needs to answer as
// Milvus standalone does (issue 18 item 5).
//
// A resource group is a name and a config: `requests` / `limits` node
// numbers and preferred `transfer_from` / `transfer_to` groups. Query nodes
// are assigned to groups by the same recovery rules as Milvus's
// ResourceManager (a group missing nodes takes one from a group holding more
// than it requests; a group over its limit gives its nodes away, to the
// default group last); standalone has exactly one query node, so "recovery"
// moves that one node. `__default_resource_group` always exists (requests 0,
// limits 1000000) and cannot be dropped.
//
// A replica record says which group a loaded collection's replica belongs to
// and its id; standalone serves one replica per collection. Records are kept
// until overwritten or deleted; whether the collection is still loaded is the
// caller's question (Proxy decides it from the load state), so a release does
// not have to reach this class.
//
// Everything is persisted in the meta store (docs/formats/meta_keys.md:
// `kite/rg/<name>`, `kite/replica/<collection_id>`) in the batch that changes
// it, and read back by Open. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/meta/meta_store.h"

namespace kite {

inline constexpr const char* kDefaultResourceGroup = "__default_resource_group";
inline constexpr int32_t kDefaultResourceGroupCapacity = 1000000;  // Milvus's defaultResourceGroupCapacity
inline constexpr int kMaxResourceGroups = 1024;  // quotaAndLimits.limits.maxResourceGroupNumOfQueryNode

struct ResourceGroupConfig {
  int32_t requests = 0;  // requests.node_num
  int32_t limits = 0;    // limits.node_num
  std::vector<std::string> transfer_from;
  std::vector<std::string> transfer_to;
  std::vector<std::pair<std::string, std::string>> node_labels;  // node_filter

  bool operator==(const ResourceGroupConfig&) const = default;
};

struct ResourceGroupView {
  std::string name;
  ResourceGroupConfig config;
  std::vector<int64_t> nodes;
  int32_t capacity = 0;  // deprecated field: requests, kDefaultResourceGroupCapacity for the default group
};

struct ReplicaRecord {
  int64_t id = 0;
  int64_t collection = 0;
  std::string resource_group;
};

// Milvus's text of a config in its error messages.
std::string DescribeConfig(const ResourceGroupConfig& cfg);

class ResourceGroupManager {
 public:
  // Reads every group and replica record; creates the default group at the
  // first start and puts `node_id` (the one query node) in a group.
  static Result<std::unique_ptr<ResourceGroupManager>> Open(MetaStore* meta, int64_t node_id);

  ResourceGroupManager(const ResourceGroupManager&) = delete;
  ResourceGroupManager& operator=(const ResourceGroupManager&) = delete;

  // Milvus's AddResourceGroup: idempotent for an equal config; a null config
  // is requests 0 / limits 0.
  Status Create(const std::string& name, const std::optional<ResourceGroupConfig>& config);
  Status Update(const std::map<std::string, ResourceGroupConfig>& configs);
  // `loaded_in`: a collection id whose replica is loaded in the group, if any.
  Status Drop(const std::string& name, std::optional<int64_t> loaded_in);
  Status TransferNode(const std::string& source, const std::string& target, int32_t num_node);

  bool Contains(const std::string& name) const;
  std::optional<ResourceGroupView> Describe(const std::string& name) const;
  std::vector<std::string> List() const;
  int64_t node_id() const { return node_id_; }
  // The group holding the query node.
  std::string NodeGroup() const;

  std::vector<ReplicaRecord> Replicas() const;
  std::optional<ReplicaRecord> ReplicaOf(int64_t collection) const;
  Status PutReplica(const ReplicaRecord& r);
  Status DeleteReplica(int64_t collection);

 private:
  struct Group {
    ResourceGroupConfig config;
    std::vector<int64_t> nodes;
  };
  ResourceGroupManager(MetaStore* meta, int64_t node_id) : meta_(meta), node_id_(node_id) {}

  Status ValidateConfigLocked(const std::string& name, const ResourceGroupConfig& cfg) const;
  Status SaveLocked(const std::map<std::string, Group>& changed, const std::vector<std::string>& removed);
  // Moves the query node as Milvus's resource observer would; persists.
  Status RecoverLocked();

  MetaStore* meta_;
  const int64_t node_id_;
  mutable std::mutex mu_;
  std::map<std::string, Group> groups_;
  std::map<int64_t, ReplicaRecord> replicas_;
};

}  // namespace kite
