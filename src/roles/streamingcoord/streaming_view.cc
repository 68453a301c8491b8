#include "roles/streamingcoord/streaming_view.h"

#include <spdlog/spdlog.h>

#include <charconv>

namespace kite {

namespace {

std::string BindingKey(CollectionId collection) { return "kite/streaming/binding/" + std::to_string(collection.value); }

// A peer that cannot be reached (role_grpc.h): its process is gone or cut off.
bool Unreachable(const Status& st) {
  return st.code() == StatusCode::kIOError && st.message().starts_with("role peer unavailable");
}

template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}
inline const Status& StatusOf(const Status& s) { return s; }

Status NoNode(CollectionId collection) {
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                    "no streaming node available for collection {}: its channels have no live leader", collection.value);
}

}  // namespace

void StreamingView::AddNode(int64_t id, std::string address, std::unique_ptr<StreamingNodeApi> node) {
  std::vector<std::pair<int64_t, Bound>> orphans;
  {
    std::unique_lock lock(mu_);
    nodes_[id] = Node{std::move(address), std::shared_ptr<StreamingNodeApi>(std::move(node))};
    for (auto& [cid, b] : bound_) {
      if (b.node == 0) orphans.emplace_back(cid, b);
    }
  }
  for (auto& [cid, b] : orphans) b.retain_pending = true;  // a drop_partition may have been cut short
  spdlog::info("streaming view: node {} joined", id);
  // Collections left without a leader (no node was alive) get this one.
  if (orphans.empty()) return;
  std::lock_guard move(move_mu_);
  std::shared_ptr<StreamingNodeApi> api;
  {
    std::shared_lock lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    api = it->second.api;
  }
  for (auto& [cid, b] : orphans) {
    Status st = Place(id, api, b);
    if (!st.ok()) {
      spdlog::error("streaming view: opening collection {} on node {}: {}", cid, id, st.ToString());
      continue;
    }
    std::unique_lock lock(mu_);
    auto it = bound_.find(cid);
    if (it != bound_.end() && it->second.node == 0) it->second.node = id;
  }
}

void StreamingView::RemoveNode(int64_t id) { Evict(id); }

std::vector<StreamingViewNode> StreamingView::Nodes() const {
  std::shared_lock lock(mu_);
  std::vector<StreamingViewNode> out;
  for (const auto& [id, n] : nodes_) {
    StreamingViewNode v{id, n.address, {}};
    for (const auto& [cid, b] : bound_) {
      if (b.node == id) v.collections.push_back(cid);
    }
    out.push_back(std::move(v));
  }
  return out;
}

bool StreamingView::Degraded() const {
  std::shared_lock lock(mu_);
  if (nodes_.empty()) return true;
  for (const auto& [cid, b] : bound_) {
    if (b.node == 0) return true;
  }
  return false;
}

std::map<int64_t, int64_t> StreamingView::Bindings() const {
  std::shared_lock lock(mu_);
  std::map<int64_t, int64_t> out;
  for (const auto& [cid, b] : bound_) out[cid] = b.node;
  return out;
}

int64_t StreamingView::PickLocked(int64_t preferred, const std::set<int64_t>& exclude) const {
  if (preferred != 0 && nodes_.count(preferred) && !exclude.count(preferred)) return preferred;
  std::map<int64_t, int64_t> load;
  for (const auto& [id, n] : nodes_) {
    if (!exclude.count(id)) load[id] = 0;
  }
  for (const auto& [cid, b] : bound_) {
    if (load.count(b.node)) ++load[b.node];
  }
  int64_t best = 0;
  int64_t best_load = 0;
  for (const auto& [id, l] : load) {
    if (best == 0 || l < best_load) {
      best = id;
      best_load = l;
    }
  }
  return best;
}

Status StreamingView::Place(int64_t node, const std::shared_ptr<StreamingNodeApi>& api, const Bound& b) {
  KITE_RETURN_IF_ERROR(api->Open(b.info));
  if (b.retain_pending) {
    std::set<int64_t> live;
    for (const PartitionInfo& p : b.info.partitions) live.insert(p.id.value);
    KITE_RETURN_IF_ERROR(api->RetainPartitions(b.info.id, live));
  }
  if (b.loaded) KITE_RETURN_IF_ERROR(api->Load(b.info));
  RecordBinding(b.info.id, node);
  spdlog::info("streaming view: collection {} ({}) led by node {}", b.info.id.value, b.info.schema.name, node);
  return Status::OK();
}

int64_t StreamingView::RecordedBinding(CollectionId collection) const {
  if (meta_ == nullptr) return 0;
  auto v = meta_->Get(BindingKey(collection));
  if (!v.ok() || !v->has_value()) return 0;
  int64_t node = 0;
  const std::string& s = **v;
  std::from_chars(s.data(), s.data() + s.size(), node);
  return node;
}

void StreamingView::RecordBinding(CollectionId collection, int64_t node) {
  if (meta_ == nullptr) return;
  MetaBatch b;
  b.Put(BindingKey(collection), std::to_string(node));
  if (Status st = meta_->Commit(b); !st.ok()) {
    spdlog::warn("streaming view: recording the binding of collection {}: {}", collection.value, st.ToString());
  }
}

void StreamingView::Evict(int64_t node) {
  std::lock_guard move(move_mu_);
  std::vector<std::pair<int64_t, Bound>> moved;
  {
    std::unique_lock lock(mu_);
    if (!nodes_.erase(node)) return;  // already evicted
    for (auto& [cid, b] : bound_) {
      if (b.node != node) continue;
      b.node = 0;
      moved.emplace_back(cid, b);
    }
  }
  spdlog::warn("streaming view: node {} lost; moving {} collection(s)", node, moved.size());
  for (auto& [cid, b] : moved) {
    // Try the live nodes in turn: one that fails unreachable is evicted too
    // (after this loop: move_mu_ is held).
    std::set<int64_t> tried;
    for (;;) {
      int64_t target = 0;
      std::shared_ptr<StreamingNodeApi> api;
      {
        std::shared_lock lock(mu_);
        target = PickLocked(0, tried);
        if (target != 0) api = nodes_.at(target).api;
      }
      if (target == 0) {
        spdlog::error("streaming view: no streaming node can lead collection {} now", cid);
        break;
      }
      tried.insert(target);
      Status st = Place(target, api, b);
      if (st.ok()) {
        std::unique_lock lock(mu_);
        auto it = bound_.find(cid);
        if (it != bound_.end()) it->second.node = target;
        break;
      }
      spdlog::error("streaming view: opening collection {} on node {}: {}", cid, target, st.ToString());
    }
  }
}

template <typename Fn>
auto StreamingView::OnOwner(CollectionId collection, Fn call) -> decltype(call(std::declval<StreamingNodeApi&>())) {
  for (int attempt = 0;; ++attempt) {
    int64_t node = 0;
    std::shared_ptr<StreamingNodeApi> api;
    {
      std::shared_lock lock(mu_);
      auto it = bound_.find(collection.value);
      if (it != bound_.end() && it->second.node != 0) {
        auto n = nodes_.find(it->second.node);
        if (n != nodes_.end()) {
          node = n->first;
          api = n->second.api;
        }
      }
    }
    if (!api) {
      // Not bound here (e.g. a collection the proxy has not opened through
      // this view yet), or its leader is being replaced: wait for a move in
      // progress, then look again.
      if (attempt >= 2) return NoNode(collection);
      std::lock_guard move(move_mu_);
      continue;
    }
    auto result = call(*api);
    if (attempt >= 2) return result;
    const Status& st = StatusOf(result);
    if (Unreachable(st)) {
      Evict(node);
      continue;
    }
    if (st.reason() == Reason::kChannelNotAvailable) {
      // The node was fenced: its channels were taken over (it paused past its
      // session's TTL, the view moved them). Nothing was acknowledged there;
      // run the call on the new leader once the move is done.
      { std::lock_guard move(move_mu_); }
      std::shared_lock lock(mu_);
      auto it = bound_.find(collection.value);
      if (it == bound_.end() || it->second.node == node) return result;
      spdlog::warn("streaming view: node {} was fenced on collection {} ({}); running the call on node {}", node,
                   collection.value, st.message(), it->second.node);
      continue;
    }
    return result;
  }
}

Status StreamingView::Open(const CollectionInfo& c) {
  std::lock_guard move(move_mu_);
  int64_t target = 0;
  std::shared_ptr<StreamingNodeApi> api;
  Bound b;
  {
    std::unique_lock lock(mu_);
    auto it = bound_.find(c.id.value);
    int64_t preferred = it != bound_.end() ? it->second.node : 0;
    if (preferred == 0) preferred = RecordedBinding(c.id);
    target = PickLocked(preferred);
    b.info = c;
    b.loaded = it != bound_.end() && it->second.loaded;
    b.node = 0;
    bound_[c.id.value] = b;
    // No streaming node yet (e.g. the coordinator's recovery ran before any
    // joined): the collection waits unbound, and the first node to join
    // opens it (AddNode); calls on it fail with "no streaming node" meanwhile.
    if (target == 0) return Status::OK();
    api = nodes_[target].api;
  }
  Bound opening = b;
  opening.loaded = false;  // Load comes separately
  opening.retain_pending = false;
  KITE_RETURN_IF_ERROR(Place(target, api, opening));
  std::unique_lock lock(mu_);
  bound_[c.id.value].node = target;
  return Status::OK();
}

Status StreamingView::Drop(const CollectionInfo& c) {
  Status st = OnOwner(c.id, [&](StreamingNodeApi& n) { return n.Drop(c); });
  if (!st.ok()) return st;
  std::unique_lock lock(mu_);
  bound_.erase(c.id.value);
  if (meta_ != nullptr) {
    MetaBatch b;
    b.Delete(BindingKey(c.id));
    (void)meta_->Commit(b);
  }
  return Status::OK();
}

Result<Timestamp> StreamingView::Write(CollectionId collection, int shard, DmlMessage msg) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.Write(collection, shard, msg); });
}

Status StreamingView::CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.CommitImport(collection, segments); });
}

Result<std::vector<SegmentId>> StreamingView::Flush(CollectionId collection) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.Flush(collection); });
}

// The lifecycle calls on a collection that no node leads yet are kept and
// done by the node that takes it (Place): that is how the coordinator's
// recovery runs before any streaming node joined.
bool StreamingView::DeferIfUnbound(CollectionId collection, const std::function<void(Bound&)>& keep) {
  std::unique_lock lock(mu_);
  auto it = bound_.find(collection.value);
  if (it == bound_.end() || it->second.node != 0) return false;
  keep(it->second);
  return true;
}

Status StreamingView::RetainPartitions(CollectionId collection, const std::set<int64_t>& live) {
  if (DeferIfUnbound(collection, [](Bound& b) { b.retain_pending = true; })) return Status::OK();
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.RetainPartitions(collection, live); });
}

Status StreamingView::Load(const CollectionInfo& c) {
  if (DeferIfUnbound(c.id, [&](Bound& b) {
        b.loaded = true;
        b.info = c;
      })) {
    return Status::OK();
  }
  KITE_RETURN_IF_ERROR(OnOwner(c.id, [&](StreamingNodeApi& n) { return n.Load(c); }));
  std::unique_lock lock(mu_);
  auto it = bound_.find(c.id.value);
  if (it != bound_.end()) {
    it->second.loaded = true;
    it->second.info = c;
  }
  return Status::OK();
}

Status StreamingView::Release(CollectionId collection) {
  KITE_RETURN_IF_ERROR(OnOwner(collection, [&](StreamingNodeApi& n) { return n.Release(collection); }));
  std::unique_lock lock(mu_);
  auto it = bound_.find(collection.value);
  if (it != bound_.end()) it->second.loaded = false;
  return Status::OK();
}

Status StreamingView::ApplySchema(const CollectionInfo& c) {
  KITE_RETURN_IF_ERROR(OnOwner(c.id, [&](StreamingNodeApi& n) { return n.ApplySchema(c); }));
  std::unique_lock lock(mu_);
  auto it = bound_.find(c.id.value);
  if (it != bound_.end()) it->second.info = c;
  return Status::OK();
}

Result<std::vector<SegmentSummary>> StreamingView::PersistentSegments(CollectionId collection) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.PersistentSegments(collection); });
}

Result<std::vector<SegmentSummary>> StreamingView::LoadedSegments(CollectionId collection) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.LoadedSegments(collection); });
}

Result<Timestamp> StreamingView::SafeTimestamp(CollectionId collection, Timestamp now) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.SafeTimestamp(collection, now); });
}

Result<int64_t> StreamingView::RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) {
  return OnOwner(collection, [&](StreamingNodeApi& n) { return n.RowCount(collection, partition, live); });
}

Status StreamingView::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  return OnOwner(CollectionId(req.scope().collection()),
                 [&](StreamingNodeApi& n) { return n.Search(req, out, cancelled); });
}

Status StreamingView::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  return OnOwner(CollectionId(req.scope().collection()), [&](StreamingNodeApi& n) { return n.Retrieve(req, out); });
}

Status StreamingView::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  return OnOwner(CollectionId(req.scope().collection()),
                 [&](StreamingNodeApi& n) { return n.ReadStats(req, resp); });
}

}  // namespace kite
