#include "roles/coordinator/resource_groups.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace kite {

namespace {

constexpr std::string_view kRgPrefix = "kite/rg/";
constexpr std::string_view kReplicaPrefix = "kite/replica/";

nlohmann::json ConfigToJson(const ResourceGroupConfig& c) {
  nlohmann::json labels = nlohmann::json::array();
  for (const auto& [k, v] : c.node_labels) labels.push_back({k, v});
  return {{"requests", c.requests},
          {"limits", c.limits},
          {"transfer_from", c.transfer_from},
          {"transfer_to", c.transfer_to},
          {"node_labels", labels}};
}

ResourceGroupConfig ConfigFromJson(const nlohmann::json& j) {
  ResourceGroupConfig c;
  c.requests = j.value("requests", 0);
  c.limits = j.value("limits", 0);
  c.transfer_from = j.value("transfer_from", std::vector<std::string>{});
  c.transfer_to = j.value("transfer_to", std::vector<std::string>{});
  if (auto it = j.find("node_labels"); it != j.end() && it->is_array()) {
    for (const auto& kv : *it) c.node_labels.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  }
  return c;
}

// Milvus's ParameterInvalid texts (merr.WrapErrParameterInvalid).
Status ParameterInvalid(std::string_view expected, std::string_view actual, std::string_view msg) {
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone, "{}: invalid parameter[expected={}][actual={}]", msg,
                    expected, actual);
}

Status IllegalConfig(const std::string& rg, const ResourceGroupConfig& cfg, std::string_view msg) {
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kResourceGroupIllegalConfig,
                    "{}: resource group illegal config[rg={}][config={}]", msg, rg, DescribeConfig(cfg));
}

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

std::string DescribeConfig(const ResourceGroupConfig& c) {
  std::string out = fmt::format("requests:{{node_num:{}}} limits:{{node_num:{}}}", c.requests, c.limits);
  for (const auto& f : c.transfer_from) out += fmt::format(" transfer_from:{{resource_group:\"{}\"}}", f);
  for (const auto& t : c.transfer_to) out += fmt::format(" transfer_to:{{resource_group:\"{}\"}}", t);
  return out;
}

Result<std::unique_ptr<ResourceGroupManager>> ResourceGroupManager::Open(MetaStore* meta, int64_t node_id) {
  std::unique_ptr<ResourceGroupManager> m(new ResourceGroupManager(meta, node_id));
  Status parse = Status::OK();
  KITE_RETURN_IF_ERROR(meta->Scan(kRgPrefix, [&](std::string_view key, std::string_view value) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      parse = Corruption("resource group record {} is not a JSON object", key);
      return;
    }
    Group g;
    g.config = ConfigFromJson(j.value("config", nlohmann::json::object()));
    g.nodes = j.value("nodes", std::vector<int64_t>{});
    m->groups_[std::string(key.substr(kRgPrefix.size()))] = std::move(g);
  }));
  KITE_RETURN_IF_ERROR(parse);
  KITE_RETURN_IF_ERROR(meta->Scan(kReplicaPrefix, [&](std::string_view key, std::string_view value) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      parse = Corruption("replica record {} is not a JSON object", key);
      return;
    }
    ReplicaRecord r;
    r.id = j.value("id", int64_t{0});
    r.collection = j.value("collection", int64_t{0});
    r.resource_group = j.value("resource_group", std::string(kDefaultResourceGroup));
    m->replicas_[r.collection] = std::move(r);
  }));
  KITE_RETURN_IF_ERROR(parse);
  std::lock_guard lock(m->mu_);
  std::map<std::string, Group> changed;
  if (!m->groups_.count(kDefaultResourceGroup)) {
    Group def;
    def.config.limits = kDefaultResourceGroupCapacity;
    m->groups_[kDefaultResourceGroup] = def;
    changed[kDefaultResourceGroup] = def;
  }
  bool placed = false;
  for (const auto& [name, g] : m->groups_) placed = placed || std::count(g.nodes.begin(), g.nodes.end(), node_id) > 0;
  if (!placed) {
    m->groups_[kDefaultResourceGroup].nodes.push_back(node_id);
    changed[kDefaultResourceGroup] = m->groups_[kDefaultResourceGroup];
  }
  if (!changed.empty()) KITE_RETURN_IF_ERROR(m->SaveLocked(changed, {}));
  KITE_RETURN_IF_ERROR(m->RecoverLocked());
  return m;
}

Status ResourceGroupManager::SaveLocked(const std::map<std::string, Group>& changed,
                                        const std::vector<std::string>& removed) {
  MetaBatch batch;
  for (const auto& [name, g] : changed) {
    nlohmann::json j = {{"config", ConfigToJson(g.config)}, {"nodes", g.nodes}};
    batch.Put(std::string(kRgPrefix) + name, j.dump());
  }
  for (const auto& name : removed) batch.Delete(std::string(kRgPrefix) + name);
  if (batch.empty()) return Status::OK();
  Status st = meta_->Commit(batch);
  if (!st.ok()) {
    // merr.WrapErrResourceGroupServiceAvailable
    return MakeStatus(StatusCode::kIOError, Reason::kResourceGroupServiceAvailable,
                      "resource group service available");
  }
  return Status::OK();
}

Status ResourceGroupManager::ValidateConfigLocked(const std::string& name, const ResourceGroupConfig& cfg) const {
  if (cfg.requests < 0 || cfg.limits < 0) {
    return IllegalConfig(name, cfg, "node num in `requests` or `limits` should not less than 0");
  }
  if (cfg.limits < cfg.requests) return IllegalConfig(name, cfg, "limits node num should not less than requests node num");
  for (const auto& from : cfg.transfer_from) {
    if (from == name) {
      return IllegalConfig(name, cfg, fmt::format("resource group in `TransferFrom` {} should not be itself", name));
    }
    if (!groups_.count(from)) {
      return IllegalConfig(name, cfg, fmt::format("resource group in `TransferFrom` {} not exist", from));
    }
  }
  for (const auto& to : cfg.transfer_to) {
    if (to == name) return IllegalConfig(name, cfg, fmt::format("resource group in `TransferTo` {} should not be itself", name));
    if (!groups_.count(to)) return IllegalConfig(name, cfg, fmt::format("resource group in `TransferTo` {} not exist", to));
  }
  return Status::OK();
}

Status ResourceGroupManager::RecoverLocked() {
  // One node: at most one move per rule, and a move never re-triggers the
  // rule that made it (the target is then neither missing nor redundant).
  for (int round = 0; round < 2; ++round) {
    std::string cur;
    for (const auto& [name, g] : groups_) {
      if (std::count(g.nodes.begin(), g.nodes.end(), node_id_) > 0) cur = name;
    }
    if (cur.empty()) return Status::OK();
    const Group& holder = groups_[cur];
    const int held = static_cast<int>(holder.nodes.size());
    std::string target;
    // Missing-node recovery: a group below its requests takes the node from
    // a group holding more than it requests (Milvus selectNodeForMissingRecover).
    if (held - holder.config.requests > 0) {
      int64_t best = 0;
      for (const auto& [name, g] : groups_) {
        if (name == cur) continue;
        const int missing = g.config.requests - static_cast<int>(g.nodes.size());
        if (missing <= 0) continue;
        int64_t priority = missing;
        const int redundant = held - holder.config.limits;
        if (redundant > 0) {
          priority = int64_t{redundant} * 1000000;
        } else if (Has(g.config.transfer_from, cur)) {
          priority = int64_t{held - holder.config.requests} * 100000;
        }
        if (priority > best) best = priority, target = name;
      }
    }
    // Redundant-node recovery: a group over its limits gives the node away
    // (Milvus selectNodeForRedundantRecover), to the default group last.
    if (target.empty() && held > holder.config.limits) {
      int64_t best = 0;
      for (const auto& [name, g] : groups_) {
        if (name == cur) continue;
        const int room = g.config.limits - static_cast<int>(g.nodes.size());
        if (room <= 0) continue;
        const int missing = g.config.requests - static_cast<int>(g.nodes.size());
        int64_t priority = missing > 0 ? int64_t{missing} * 1000000
                                       : (Has(holder.config.transfer_to, name) ? int64_t{room} * 100000 : room);
        if (priority > best) best = priority, target = name;
      }
      if (target.empty() && cur != kDefaultResourceGroup) target = kDefaultResourceGroup;
    }
    if (target.empty()) return Status::OK();
    std::map<std::string, Group> changed;
    Group from = groups_[cur];
    from.nodes.erase(std::remove(from.nodes.begin(), from.nodes.end(), node_id_), from.nodes.end());
    Group to = groups_[target];
    to.nodes.push_back(node_id_);
    changed[cur] = from;
    changed[target] = to;
    KITE_RETURN_IF_ERROR(SaveLocked(changed, {}));
    groups_[cur] = std::move(from);
    groups_[target] = std::move(to);
  }
  return Status::OK();
}

Status ResourceGroupManager::Create(const std::string& name, const std::optional<ResourceGroupConfig>& config) {
  if (name.empty()) {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                      "resource group name couldn't be empty: missing parameter");
  }
  const ResourceGroupConfig cfg = config.value_or(ResourceGroupConfig{});
  std::lock_guard lock(mu_);
  if (auto it = groups_.find(name); it != groups_.end()) {
    if (it->second.config == cfg) return Status::OK();
    return MakeStatus(StatusCode::kAlreadyExists, Reason::kResourceGroupAlreadyExist,
                      "resource group already exist, but create with different config[rg={}]", name);
  }
  if (static_cast<int>(groups_.size()) >= kMaxResourceGroups) {
    return MakeStatus(StatusCode::kResourceExhausted, Reason::kResourceGroupReachLimit,
                      "resource group num reach limit[rg={}][limit={}]", name, kMaxResourceGroups);
  }
  KITE_RETURN_IF_ERROR(ValidateConfigLocked(name, cfg));
  Group g;
  g.config = cfg;
  KITE_RETURN_IF_ERROR(SaveLocked({{name, g}}, {}));
  groups_[name] = g;
  return RecoverLocked();
}

Status ResourceGroupManager::Update(const std::map<std::string, ResourceGroupConfig>& configs) {
  std::lock_guard lock(mu_);
  std::map<std::string, Group> changed;
  for (const auto& [name, cfg] : configs) {
    auto it = groups_.find(name);
    if (it == groups_.end()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound, "resource group not found[rg={}]", name);
    }
    KITE_RETURN_IF_ERROR(ValidateConfigLocked(name, cfg));
    Group g = it->second;
    g.config = cfg;
    changed[name] = std::move(g);
  }
  KITE_RETURN_IF_ERROR(SaveLocked(changed, {}));
  for (auto& [name, g] : changed) groups_[name] = std::move(g);
  return RecoverLocked();
}

Status ResourceGroupManager::Drop(const std::string& name, std::optional<int64_t> loaded_in) {
  std::lock_guard lock(mu_);
  if (loaded_in) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "some replicas still loaded in resource group[{}], release it first: "
                      "invalid parameter[expected=empty resource group][actual=resource group {} has collection {} loaded]",
                      name, name, *loaded_in);
  }
  auto it = groups_.find(name);
  if (it == groups_.end()) return Status::OK();  // idempotent, as Milvus
  if (name == kDefaultResourceGroup) {
    return ParameterInvalid("not default resource group", name, "default resource group is not deletable");
  }
  if (it->second.config.limits != 0) {
    return ParameterInvalid("not empty resource group", name, "resource group's limits node num is not 0");
  }
  for (const auto& [other, g] : groups_) {
    if (Has(g.config.transfer_from, name)) {
      return ParameterInvalid("not `TransferFrom` of resource group", name,
                              fmt::format("resource group {} is used by {}'s `TransferFrom`, remove that configuration first",
                                          name, other));
    }
    if (Has(g.config.transfer_to, name)) {
      return ParameterInvalid("not `TransferTo` of resource group", name,
                              fmt::format("resource group {} is used by {}'s `TransferTo`, remove that configuration first",
                                          name, other));
    }
  }
  // Limits 0: a node still there is redundant; give it away first.
  Group& g = it->second;
  if (!g.nodes.empty()) {
    KITE_RETURN_IF_ERROR(RecoverLocked());
  }
  KITE_RETURN_IF_ERROR(SaveLocked({}, {name}));
  groups_.erase(name);
  return Status::OK();
}

Status ResourceGroupManager::TransferNode(const std::string& source, const std::string& target, int32_t num_node) {
  if (source == target) {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone,
                      "source resource group and target resource group should not be the same, resource group: {}: "
                      "invalid parameter",
                      source);
  }
  if (num_node <= 0) {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone,
                      "invalid parameter[expected=NumNode > 0][actual=invalid NumNode {}]", num_node);
  }
  std::lock_guard lock(mu_);
  auto src = groups_.find(source);
  if (src == groups_.end()) {
    return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound, "resource group not found[rg={}]", source);
  }
  auto dst = groups_.find(target);
  if (dst == groups_.end()) {
    return MakeStatus(StatusCode::kNotFound, Reason::kResourceGroupNotFound, "resource group not found[rg={}]", target);
  }
  if (static_cast<int>(src->second.nodes.size()) < num_node) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kResourceGroupNodeNotEnough,
                      "resource group node not enough[rg={}][currentNodeNum={}][expectedNodeNum={}]", source,
                      src->second.nodes.size(), num_node);
  }
  // Milvus keeps the deprecated API by rewriting both configs.
  Group s = src->second, t = dst->second;
  s.config.requests = std::max(0, s.config.requests - num_node);
  if (source != kDefaultResourceGroup) s.config.limits = std::max(0, s.config.limits - num_node);
  t.config.requests += num_node;
  if (t.config.requests > t.config.limits) t.config.limits = t.config.requests;
  KITE_RETURN_IF_ERROR(ValidateConfigLocked(source, s.config));
  KITE_RETURN_IF_ERROR(ValidateConfigLocked(target, t.config));
  KITE_RETURN_IF_ERROR(SaveLocked({{source, s}, {target, t}}, {}));
  groups_[source] = std::move(s);
  groups_[target] = std::move(t);
  return RecoverLocked();
}

bool ResourceGroupManager::Contains(const std::string& name) const {
  std::lock_guard lock(mu_);
  return groups_.count(name) > 0;
}

std::optional<ResourceGroupView> ResourceGroupManager::Describe(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(name);
  if (it == groups_.end()) return std::nullopt;
  ResourceGroupView v;
  v.name = name;
  v.config = it->second.config;
  v.nodes = it->second.nodes;
  v.capacity = name == kDefaultResourceGroup ? kDefaultResourceGroupCapacity : it->second.config.requests;
  return v;
}

std::vector<std::string> ResourceGroupManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, g] : groups_) out.push_back(name);
  return out;
}

std::string ResourceGroupManager::NodeGroup() const {
  std::lock_guard lock(mu_);
  for (const auto& [name, g] : groups_) {
    if (std::count(g.nodes.begin(), g.nodes.end(), node_id_) > 0) return name;
  }
  return kDefaultResourceGroup;
}

std::vector<ReplicaRecord> ResourceGroupManager::Replicas() const {
  std::lock_guard lock(mu_);
  std::vector<ReplicaRecord> out;
  for (const auto& [c, r] : replicas_) out.push_back(r);
  return out;
}

std::optional<ReplicaRecord> ResourceGroupManager::ReplicaOf(int64_t collection) const {
  std::lock_guard lock(mu_);
  auto it = replicas_.find(collection);
  if (it == replicas_.end()) return std::nullopt;
  return it->second;
}

Status ResourceGroupManager::PutReplica(const ReplicaRecord& r) {
  std::lock_guard lock(mu_);
  MetaBatch batch;
  nlohmann::json j = {{"id", r.id}, {"collection", r.collection}, {"resource_group", r.resource_group}};
  batch.Put(fmt::format("{}{}", kReplicaPrefix, r.collection), j.dump());
  KITE_RETURN_IF_ERROR(meta_->Commit(batch));
  replicas_[r.collection] = r;
  return Status::OK();
}

Status ResourceGroupManager::DeleteReplica(int64_t collection) {
  std::lock_guard lock(mu_);
  if (!replicas_.count(collection)) return Status::OK();
  MetaBatch batch;
  batch.Delete(fmt::format("{}{}", kReplicaPrefix, collection));
  KITE_RETURN_IF_ERROR(meta_->Commit(batch));
  replicas_.erase(collection);
  return Status::OK();
}

}  // namespace kite
