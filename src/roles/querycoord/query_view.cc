#include "roles/querycoord/query_view.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <future>
#include <optional>
#include <set>

#include "roles/api/read_exec.h"
#include "roles/api/role_call.h"
#include "roles/api/role_codec.h"
#include "roles/coordinator/catalog_codec.h"

namespace kite {

namespace {

// A node that cannot be reached (or that answered neither a call nor a probe
// before their deadlines, role_call.h): the view must stop routing to it.
// (One that restarted comes back under a new session: the old one's loss
// evicts it.) A node that refused this process's credentials is not lost.
bool NodeLost(const Status& st) { return st.code() == StatusCode::kIOError; }
// The node answers but no longer holds a segment the view routed to it: the
// view moved it meanwhile (a rebalance released it there). Route again.
bool ViewMoved(const Status& st) { return st.code() == StatusCode::kNotFound; }

constexpr int kReadAttempts = 3;

}  // namespace

void QueryView::AddNode(int64_t id, std::string address, std::unique_ptr<QueryNodeApi> node) {
  std::unique_lock lock(mu_);
  spdlog::info("query view: query node {} at {} joined", id, address);
  nodes_[id] = Node{id, std::move(address), std::shared_ptr<QueryNodeApi>(std::move(node))};
}

void QueryView::RemoveNode(int64_t id) { Evict(id); }

void QueryView::Rebalance() {
  std::lock_guard move(move_mu_);
  std::map<int64_t, std::set<int64_t>> orphaned;  // segments no node serves (none was left)
  {
    std::shared_lock lock(mu_);
    for (const auto& [cid, c] : loaded_) {
      for (const auto& [sid, p] : c.segments) {
        if (p.node == 0) orphaned[cid].insert(sid);
      }
    }
  }
  if (!orphaned.empty()) {
    const int64_t placed = PlaceOrphansLocked(orphaned);
    spdlog::info("query view: {} segments without a query node placed", placed);
  }
  // Greedy: move a segment of the fullest node to the emptiest one while
  // that narrows the gap between them.
  for (int round = 0; round < 1024; ++round) {
    int64_t from = 0, to = 0, cid = 0, sid = 0;
    std::shared_ptr<QueryNodeApi> target;
    Loaded snapshot;
    {
      std::shared_lock lock(mu_);
      std::map<int64_t, int64_t> rows = RowsPerNodeLocked();
      if (rows.size() < 2) return;
      for (const auto& [n, r] : rows) {
        if (from == 0 || r > rows[from]) from = n;
        if (to == 0 || r < rows[to]) to = n;
      }
      const int64_t gap = rows[from] - rows[to];
      // Moving n rows leaves a gap of |gap - 2n|: narrower for 0 < n < gap,
      // narrowest for n nearest gap / 2.
      int64_t best = gap;
      for (const auto& [c, l] : loaded_) {
        for (const auto& [s, p] : l.segments) {
          const int64_t n = p.summary.num_rows;
          if (p.node == from && n > 0 && n < gap && std::llabs(gap - 2 * n) < best) {
            best = std::llabs(gap - 2 * n);
            cid = c;
            sid = s;
          }
        }
      }
      if (sid == 0) return;
      target = nodes_.at(to).api;
      snapshot.info = loaded_.at(cid).info;
      snapshot.encoded = loaded_.at(cid).encoded;
    }
    std::optional<SegmentRecord> rec;
    auto request = [&]() -> Result<rolepb::LoadSegmentsRequest> {
      KITE_ASSIGN_OR_RETURN(rec, registry_->FindSegment(SegmentId(sid)));
      if (!rec) return rolepb::LoadSegmentsRequest();
      KITE_ASSIGN_OR_RETURN(std::vector<SegmentIndexRecord> indexes, registry_->ListSegmentIndexes(CollectionId(cid)));
      return LoadRequestFor(snapshot, {&*rec}, indexes);
    };
    Result<rolepb::LoadSegmentsRequest> req = request();
    if (!req.ok()) {
      spdlog::warn("query view: moving segment {} to node {}: segment meta unavailable: {}", sid, to,
                   req.status().ToString());
      return;
    }
    if (!rec) return;  // compacted meanwhile: the next join or hand-over evens out
    rolepb::LoadSegmentsResponse resp;
    Status st = target->LoadSegments(*req, {}, &resp);
    ForgetDamaged(to, CollectionId(cid), resp);
    if (!st.ok()) {
      spdlog::warn("query view: moving segment {} to node {} failed: {}", sid, to, st.ToString());
      if (IsPeerRefusal(st)) MarkRefused(to, st);
      return;
    }
    std::shared_ptr<QueryNodeApi> source;
    {
      std::unique_lock lock(mu_);
      auto it = loaded_.find(cid);
      if (it == loaded_.end() || !it->second.segments.count(sid) || !nodes_.count(from)) return;
      auto rd = it->second.recent_deletes.find(rec->channel);
      if (rd != it->second.recent_deletes.end() && !rd->second.empty()) {
        Status rs = target->ApplyDeletes(CollectionId(cid), rec->channel, rd->second);
        if (!rs.ok()) return;  // the target failed: leave the segment where it is
      }
      it->second.segments[sid].node = to;
      source = nodes_.at(from).api;
    }
    (void)source->ReleaseSegments(CollectionId(cid), {SegmentId(sid)});
    spdlog::info("query view: segment {} moved from query node {} to {}", sid, from, to);
  }
}

std::vector<QueryViewNode> QueryView::Nodes() const {
  std::shared_lock lock(mu_);
  std::vector<QueryViewNode> out;
  for (const auto& [id, n] : nodes_) out.push_back({id, n.address, 0, 0, n.refused});
  for (auto& o : out) {
    for (const auto& [cid, c] : loaded_) {
      for (const auto& [sid, p] : c.segments) {
        if (p.node == o.id) {
          ++o.segments;
          o.rows += p.summary.num_rows;
        }
      }
    }
  }
  return out;
}

bool QueryView::Degraded() const {
  std::shared_lock lock(mu_);
  if (nodes_.empty()) return true;
  for (const auto& [cid, c] : loaded_) {
    for (const auto& [sid, p] : c.segments) {
      if (p.node == 0 || !nodes_.count(p.node)) return true;
    }
  }
  return false;
}

std::map<int64_t, int64_t> QueryView::Assignment(CollectionId collection) const {
  std::shared_lock lock(mu_);
  std::map<int64_t, int64_t> out;
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return out;
  for (const auto& [sid, p] : it->second.segments) out[sid] = p.node;
  return out;
}

std::map<int64_t, int64_t> QueryView::RowsPerNodeLocked() const {
  std::map<int64_t, int64_t> rows;
  for (const auto& [id, n] : nodes_) {
    if (!n.refused) rows[id] = 0;  // a node that refuses this process is given nothing
  }
  for (const auto& [cid, c] : loaded_) {
    for (const auto& [sid, p] : c.segments) {
      if (rows.count(p.node)) rows[p.node] += p.summary.num_rows;
    }
  }
  return rows;
}

int64_t QueryView::LeastLoadedLocked(const std::map<int64_t, int64_t>& extra_rows) const {
  std::map<int64_t, int64_t> rows = RowsPerNodeLocked();
  int64_t best = 0;
  int64_t best_rows = 0;
  for (const auto& [id, r] : rows) {
    auto e = extra_rows.find(id);
    const int64_t total = r + (e == extra_rows.end() ? 0 : e->second);
    if (best == 0 || total < best_rows) {
      best = id;
      best_rows = total;
    }
  }
  return best;
}

Result<rolepb::LoadSegmentsRequest> QueryView::LoadRequestFor(const Loaded& c,
                                                              const std::vector<const SegmentRecord*>& segs,
                                                              const std::vector<SegmentIndexRecord>& indexes) const {
  rolepb::LoadSegmentsRequest req;
  req.set_collection(c.info.id.value);
  req.set_collection_info(c.encoded);
  req.set_register_collection(true);
  std::set<std::string> channels;
  for (const SegmentRecord* r : segs) {
    *req.add_segments() = SegmentLoadOf(*r, indexes);
    channels.insert(r->channel);
  }
  for (const std::string& ch : channels) {
    rolepb::ChannelDeltas* d = req.add_deltas();
    d->set_channel(ch);
    KITE_ASSIGN_OR_RETURN(ChannelCheckpoint checkpoint, registry_->GetCheckpoint(ch));
    for (const std::string& k : checkpoint.delta_keys) d->add_keys(k);
  }
  return req;
}

Result<std::map<int64_t, int64_t>> QueryView::Place(const Loaded& c, const std::vector<SegmentRecord>& segs) {
  std::map<int64_t, int64_t> placed;
  if (segs.empty()) return placed;
  KITE_ASSIGN_OR_RETURN(const std::vector<SegmentIndexRecord> indexes, registry_->ListSegmentIndexes(c.info.id));
  std::vector<SegmentRecord> todo = segs;
  std::set<int64_t> failed_nodes;
  while (!todo.empty()) {
    // Spread by rows over the live nodes.
    std::map<int64_t, std::vector<const SegmentRecord*>> by_node;
    std::map<int64_t, std::shared_ptr<QueryNodeApi>> apis;
    {
      std::shared_lock lock(mu_);
      std::map<int64_t, int64_t> extra;
      for (int64_t f : failed_nodes) extra[f] = INT64_MAX / 4;  // not while they are failing
      std::vector<const SegmentRecord*> order;
      for (const auto& r : todo) order.push_back(&r);
      std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->num_rows > b->num_rows; });
      for (const SegmentRecord* r : order) {
        const int64_t n = LeastLoadedLocked(extra);
        if (n == 0 || failed_nodes.count(n)) {
          return IOError("no query node available to load segment {} of collection {}", r->id.value,
                         c.info.schema.name);
        }
        by_node[n].push_back(r);
        extra[n] += r->num_rows;
        apis[n] = nodes_.at(n).api;
      }
    }
    std::vector<SegmentRecord> retry;
    for (const auto& [n, recs] : by_node) {
      KITE_ASSIGN_OR_RETURN(const rolepb::LoadSegmentsRequest req, LoadRequestFor(c, recs, indexes));
      rolepb::LoadSegmentsResponse resp;
      Status st = apis[n]->LoadSegments(req, {}, &resp);
      ForgetDamaged(n, c.info.id, resp);
      if (NodeLost(st) || IsPeerRefusal(st)) {
        spdlog::warn("query view: query node {} failed to load segments: {}", n, st.ToString());
        if (IsPeerRefusal(st)) MarkRefused(n, st);
        failed_nodes.insert(n);
        for (const SegmentRecord* r : recs) retry.push_back(*r);
        continue;
      }
      KITE_RETURN_IF_ERROR(st);
      for (const SegmentRecord* r : recs) placed[r->id.value] = n;
    }
    todo = std::move(retry);
  }
  return placed;
}

Status QueryView::Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) {
  std::lock_guard move(move_mu_);
  Loaded l;
  l.info = c;
  l.info.schema = *schema;
  l.encoded = EncodeCollection(l.info);
  l.schema = std::move(schema);
  bool reload = false;
  std::vector<std::shared_ptr<QueryNodeApi>> all;
  {
    std::shared_lock lock(mu_);
    reload = loaded_.count(c.id.value) > 0;
    for (const auto& [id, n] : nodes_) all.push_back(n.api);
  }
  // A first load here: nodes may still hold the collection from an earlier
  // coordinator run; start them clean.
  if (!reload) {
    for (const auto& api : all) (void)api->ReleaseSegments(c.id, {});
  }
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentRecord> records, registry_->ListSegments(c.id));
  KITE_ASSIGN_OR_RETURN(auto placed, Place(l, records));
  for (const SegmentRecord& r : records) {
    l.segments[r.id.value] = Placed{{r.id, r.partition_id, r.num_rows, r.size_bytes, false, r.channel},
                                    placed.at(r.id.value)};
  }
  std::map<std::shared_ptr<QueryNodeApi>, std::vector<SegmentId>> stale;  // copies left on other nodes
  {
    std::unique_lock lock(mu_);
    auto old = loaded_.find(c.id.value);
    if (old != loaded_.end()) {
      // A reload (new schema) keeps the deletes still to be replayed.
      l.recent_deletes = std::move(old->second.recent_deletes);
      for (const auto& [sid, p] : old->second.segments) {
        auto now = l.segments.find(sid);
        auto n = nodes_.find(p.node);
        if (n != nodes_.end() && (now == l.segments.end() || now->second.node != p.node)) {
          stale[n->second.api].push_back(SegmentId(sid));
        }
      }
    }
    loaded_[c.id.value] = std::move(l);
  }
  for (const auto& [api, ids] : stale) (void)api->ReleaseSegments(c.id, ids);
  return Status::OK();
}

void QueryView::Release(CollectionId collection) {
  std::lock_guard move(move_mu_);
  std::vector<std::shared_ptr<QueryNodeApi>> apis;
  {
    std::unique_lock lock(mu_);
    loaded_.erase(collection.value);
    for (const auto& [id, n] : nodes_) apis.push_back(n.api);
  }
  for (const auto& api : apis) (void)api->ReleaseSegments(collection, {});
}

bool QueryView::IsLoaded(CollectionId collection) const {
  std::shared_lock lock(mu_);
  return loaded_.count(collection.value) > 0;
}

void QueryView::ForgetDamaged(int64_t node, CollectionId collection, const rolepb::LoadSegmentsResponse& resp) {
  for (const rolepb::DamagedIndex& d : resp.damaged()) {
    spdlog::error("segment {} index {} at query node {}: {}; the index will be rebuilt", d.index().segment(),
                  d.index().index(), node, d.error());
    Status st = registry_->ForgetSegmentIndex(collection, SegmentId(d.index().segment()), IndexId(d.index().index()));
    if (!st.ok()) spdlog::warn("forgetting a damaged index record failed: {}", st.ToString());
  }
}

Status QueryView::LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                               rolepb::LoadSegmentsResponse* resp) {
  std::unique_lock move(move_mu_);
  const CollectionId cid(req.collection());
  std::string encoded;
  std::string channel;
  int64_t target = 0;
  std::map<int64_t, std::vector<SegmentId>> release_elsewhere;  // node -> replaced segments it holds
  std::shared_ptr<QueryNodeApi> api;
  {
    std::shared_lock lock(mu_);
    auto it = loaded_.find(cid.value);
    if (it == loaded_.end()) return Status::OK();  // not loaded: nothing to hand over
    encoded = it->second.encoded;
    for (const rolepb::SegmentLoad& s : req.segments()) channel = s.channel();
    for (int64_t r : req.replace()) {
      auto p = it->second.segments.find(r);
      if (p == it->second.segments.end()) continue;
      auto holder = nodes_.find(p->second.node);
      if (target == 0 && holder != nodes_.end() && !holder->second.refused) target = p->second.node;
      release_elsewhere[p->second.node].push_back(SegmentId(r));
    }
    std::map<int64_t, int64_t> extra;
    if (target == 0) target = LeastLoadedLocked(extra);
    if (target != 0) api = nodes_.at(target).api;
  }
  if (target == 0) {
    // No node: the segments enter the view unplaced, so that reads fail
    // (never answer without them) until a node joins and takes them.
    std::unique_lock lock(mu_);
    auto it = loaded_.find(cid.value);
    if (it == loaded_.end()) return Status::OK();
    for (int64_t r : req.replace()) it->second.segments.erase(r);
    for (const rolepb::SegmentLoad& s : req.segments()) {
      it->second.segments[s.id()] =
          Placed{{SegmentId(s.id()), PartitionId(s.partition()), s.num_rows(), 0, false, s.channel()}, 0};
    }
    return IOError("no query node available for collection {}", it->second.info.schema.name);
  }
  release_elsewhere.erase(target);
  rolepb::LoadSegmentsRequest to_node = req;
  to_node.set_collection_info(encoded);
  to_node.set_register_collection(true);
  rolepb::LoadSegmentsResponse node_resp;
  Status st = api->LoadSegments(to_node, std::move(local), &node_resp);
  ForgetDamaged(target, cid, node_resp);
  if (resp) resp->MergeFrom(node_resp);
  if (NodeLost(st)) {
    // The target died: evict it (its segments move elsewhere), then hand
    // these over again to another node.
    move.unlock();
    Evict(target);
    return LoadSegments(req, {}, resp);
  }
  if (IsPeerRefusal(st)) {
    // The target refuses this process: alive, not evicted, but given
    // nothing; hand these over to another node.
    MarkRefused(target, st);
    move.unlock();
    return LoadSegments(req, {}, resp);
  }
  KITE_RETURN_IF_ERROR(st);
  {
    std::unique_lock lock(mu_);
    auto it = loaded_.find(cid.value);
    if (it == loaded_.end()) return Status::OK();
    Loaded& l = it->second;
    // Deletes forwarded since the channel's last flush reach the new
    // segments before any read is routed to them.
    auto rd = l.recent_deletes.find(channel);
    int64_t placed_on = target;
    if (rd != l.recent_deletes.end() && !rd->second.empty()) {
      Status rs = api->ApplyDeletes(cid, channel, rd->second);
      if (!rs.ok()) {
        // Not routed there without its deletes: unplaced until a rebalance.
        spdlog::warn("query view: replaying deletes on node {}: {}", target, rs.ToString());
        placed_on = 0;
      }
    }
    for (int64_t r : req.replace()) l.segments.erase(r);
    for (const rolepb::SegmentLoad& s : req.segments()) {
      l.segments[s.id()] =
          Placed{{SegmentId(s.id()), PartitionId(s.partition()), s.num_rows(), 0, false, s.channel()}, placed_on};
    }
    // A flush (not a merge): the deletes so far are in its delta file now.
    if (req.replace().empty() && rd != l.recent_deletes.end()) rd->second.clear();
  }
  for (const auto& [node, ids] : release_elsewhere) {
    std::shared_ptr<QueryNodeApi> other;
    {
      std::shared_lock lock(mu_);
      auto n = nodes_.find(node);
      if (n != nodes_.end()) other = n->second.api;
    }
    if (other) (void)other->ReleaseSegments(cid, ids);
  }
  return Status::OK();
}

Status QueryView::ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) {
  if (segments.empty()) {
    Release(collection);
    return Status::OK();
  }
  std::lock_guard move(move_mu_);
  std::map<std::shared_ptr<QueryNodeApi>, std::vector<SegmentId>> by_node;
  {
    std::unique_lock lock(mu_);
    auto it = loaded_.find(collection.value);
    if (it == loaded_.end()) return Status::OK();
    for (SegmentId s : segments) {
      auto p = it->second.segments.find(s.value);
      if (p == it->second.segments.end()) continue;
      auto n = nodes_.find(p->second.node);
      if (n != nodes_.end()) by_node[n->second.api].push_back(s);
      it->second.segments.erase(p);
    }
  }
  for (const auto& [api, ids] : by_node) (void)api->ReleaseSegments(collection, ids);
  return Status::OK();
}

Status QueryView::ApplyDeletes(CollectionId collection, const std::string& channel,
                               const std::vector<DeleteRecord>& deletes) {
  if (deletes.empty()) return Status::OK();
  std::map<int64_t, std::shared_ptr<QueryNodeApi>> targets;
  {
    std::unique_lock lock(mu_);
    auto it = loaded_.find(collection.value);
    if (it == loaded_.end()) return Status::OK();
    auto& recent = it->second.recent_deletes[channel];
    recent.insert(recent.end(), deletes.begin(), deletes.end());
    for (const auto& [sid, p] : it->second.segments) {
      if (p.summary.channel != channel) continue;
      auto n = nodes_.find(p.node);
      if (n != nodes_.end()) targets[p.node] = n->second.api;
    }
  }
  for (const auto& [node, api] : targets) {
    Status st = api->ApplyDeletes(collection, channel, deletes);
    // A node that missed a delete cannot be read any more: its segments move
    // (the delete is kept above and replayed where they land).
    if (!st.ok()) {
      spdlog::warn("query view: query node {} failed a delete: {}", node, st.ToString());
      // One that refuses this process's calls refuses its reads too: no
      // answer can miss the delete there, and it is not dead.
      if (IsPeerRefusal(st)) {
        MarkRefused(node, st);
      } else {
        Evict(node);
      }
    }
  }
  return Status::OK();
}

Status QueryView::LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                            std::shared_ptr<const index::VectorIndex> local_vector,
                            std::shared_ptr<const index::ScalarIndex> local_scalar) {
  std::shared_ptr<QueryNodeApi> api;
  int64_t node = 0;
  {
    std::shared_lock lock(mu_);
    auto it = loaded_.find(collection.value);
    if (it == loaded_.end()) return Status::OK();
    auto p = it->second.segments.find(rec.segment.value);
    if (p == it->second.segments.end()) return Status::OK();
    auto n = nodes_.find(p->second.node);
    if (n == nodes_.end()) return Status::OK();  // moving: the new holder loads it from the records
    api = n->second.api;
    node = n->first;
  }
  Status st = api->LoadIndex(collection, rec, std::move(local_vector), std::move(local_scalar));
  if (NodeLost(st)) Evict(node);
  return st;
}

Status QueryView::DetachIndex(CollectionId collection, IndexId index) {
  std::vector<std::shared_ptr<QueryNodeApi>> apis;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, n] : nodes_) apis.push_back(n.api);
  }
  for (const auto& api : apis) (void)api->DetachIndex(collection, index);
  return Status::OK();
}

std::vector<SegmentSummary> QueryView::LoadedSegments(CollectionId collection) const {
  std::shared_lock lock(mu_);
  std::vector<SegmentSummary> out;
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return out;
  for (const auto& [sid, p] : it->second.segments) {
    out.push_back(p.summary);
    out.back().node = p.node;
  }
  return out;
}

int64_t QueryView::PlaceOrphansLocked(const std::map<int64_t, std::set<int64_t>>& orphaned) {
  int64_t moved = 0;
  for (const auto& [cid, ids] : orphaned) {
    Loaded snapshot;
    {
      std::shared_lock lock(mu_);
      auto it = loaded_.find(cid);
      if (it == loaded_.end()) continue;
      snapshot.info = it->second.info;
      snapshot.encoded = it->second.encoded;
    }
    std::vector<SegmentRecord> records;
    Result<std::vector<SegmentRecord>> all = registry_->ListSegments(CollectionId(cid));
    if (all.ok()) {
      for (const SegmentRecord& r : *all) {
        if (ids.count(r.id.value)) records.push_back(r);
      }
    }
    auto placed = all.ok() ? Place(snapshot, records) : Result<std::map<int64_t, int64_t>>(all.status());
    if (!placed.ok()) {
      spdlog::error("query view: segments of collection {} without a query node cannot be loaded: {}",
                    snapshot.info.schema.name, placed.status().ToString());
      continue;
    }
    std::unique_lock lock(mu_);
    auto it = loaded_.find(cid);
    if (it == loaded_.end()) continue;
    // Deletes forwarded since the last flush, replayed before reads route there.
    std::map<int64_t, std::set<std::string>> channels_by_node;
    for (const auto& [sid, n] : *placed) channels_by_node[n].insert(it->second.segments[sid].summary.channel);
    std::set<int64_t> failed;  // nodes that missed a replayed delete: not routed to
    for (const auto& [n, chans] : channels_by_node) {
      for (const std::string& ch : chans) {
        auto rd = it->second.recent_deletes.find(ch);
        if (rd == it->second.recent_deletes.end() || rd->second.empty()) continue;
        Status rs = nodes_.at(n).api->ApplyDeletes(CollectionId(cid), ch, rd->second);
        if (!rs.ok()) {
          spdlog::warn("query view: replaying deletes on node {}: {}", n, rs.ToString());
          failed.insert(n);
        }
      }
    }
    for (const auto& [sid, n] : *placed) it->second.segments[sid].node = failed.count(n) ? 0 : n;
    // Segments compacted away meanwhile are no longer in the registry.
    for (int64_t sid : ids) {
      if (!placed->count(sid)) it->second.segments.erase(sid);
    }
    moved += static_cast<int64_t>(placed->size());
  }
  return moved;
}

void QueryView::MarkRefused(int64_t node, const Status& st) {
  std::unique_lock lock(mu_);
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.refused) return;
  it->second.refused = true;
  spdlog::error("query view: query node {} at {} REFUSED this process ({}); it is not evicted, and gets no segments "
                "until it restarts with the cluster's credentials",
                node, it->second.address, st.message());
}

void QueryView::Evict(int64_t node) {
  std::lock_guard move(move_mu_);
  std::map<int64_t, std::set<int64_t>> orphaned;  // collection -> segments
  {
    std::unique_lock lock(mu_);
    if (!nodes_.erase(node)) return;
    for (auto& [cid, c] : loaded_) {
      for (auto& [sid, p] : c.segments) {
        if (p.node == node) {
          p.node = 0;
          orphaned[cid].insert(sid);
        }
      }
    }
  }
  const int64_t moved = PlaceOrphansLocked(orphaned);
  spdlog::warn("query view: query node {} lost; {} segments loaded on the others", node, moved);
}

Result<QueryView::Routed> QueryView::Route(const rolepb::ReadScope& scope) const {
  // A segment whose node was lost is being loaded elsewhere: wait for that
  // move (it holds move_mu_) instead of failing the read, once.
  for (int pass = 0;; ++pass) {
    Routed r;
    Status st = RouteOnce(scope, &r);
    if (st.ok()) return r;
    if (!r.unplaced || pass > 0) return st;
    std::lock_guard wait_for_moves(move_mu_);
  }
}

Status QueryView::RouteOnce(const rolepb::ReadScope& scope, Routed* out) const {
  Routed& r = *out;
  std::shared_lock lock(mu_);
  auto it = loaded_.find(scope.collection());
  if (it == loaded_.end()) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                      "collection not loaded[collection={}]", scope.collection());
  }
  r.schema = it->second.schema;
  const std::set<int64_t> parts(scope.partitions().begin(), scope.partitions().end());
  const std::set<int64_t> skip(scope.skip_segments().begin(), scope.skip_segments().end());
  std::map<int64_t, std::vector<int64_t>> by_node;
  for (const auto& [sid, p] : it->second.segments) {
    if (!scope.channel().empty() && p.summary.channel != scope.channel()) continue;
    if (!parts.empty() && !parts.count(p.summary.partition.value)) continue;
    if (skip.count(sid)) continue;
    if (p.node == 0 || !nodes_.count(p.node)) {
      r.unplaced = true;
      return IOError("segment {} of collection {} has no query node serving it", sid, it->second.info.schema.name);
    }
    by_node[p.node].push_back(sid);
  }
  for (auto& [n, ids] : by_node) {
    r.plan.emplace_back(nodes_.at(n).api, std::move(ids));
    r.nodes.push_back(n);
  }
  return Status::OK();
}

template <typename Req, typename Part, typename Call>
Status QueryView::FanOut(const Req& req, Routed* routed, std::vector<Part>* parts, Call call) {
  Status last;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    KITE_ASSIGN_OR_RETURN(*routed, Route(req.scope()));
    const Routed& r = *routed;
    parts->assign(r.plan.size(), Part{});
    std::vector<Status> sts(r.plan.size());
    auto one = [&](size_t i) {
      Req to_node = req;
      for (int64_t s : r.plan[i].second) to_node.mutable_scope()->add_segments(s);
      sts[i] = call(*r.plan[i].first, to_node, &(*parts)[i]);
    };
    std::vector<std::future<void>> rest;
    for (size_t i = 1; i < r.plan.size(); ++i) rest.push_back(std::async(std::launch::async, one, i));
    if (!r.plan.empty()) one(0);
    for (auto& f : rest) f.get();
    bool again = false;
    for (size_t i = 0; i < sts.size(); ++i) {
      if (NodeLost(sts[i]) || ViewMoved(sts[i])) {
        again = true;
        last = sts[i];
        if (NodeLost(sts[i])) {
          spdlog::warn("query view: query node {} failed a read: {}", r.nodes[i], sts[i].ToString());
          Evict(r.nodes[i]);
        }
      }
    }
    // The request's deadline passed meanwhile (a node that did not answer
    // in time was evicted above): Milvus's timeout, not another round.
    if (again && DeadlinePassed(req.ctx())) return DeadlineExceededStatus();
    if (again) continue;
    for (const Status& st : sts) KITE_RETURN_IF_ERROR(st);
    return Status::OK();
  }
  return last;
}

Status QueryView::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  Routed r;
  std::vector<SearchPart> parts;
  KITE_RETURN_IF_ERROR(FanOut(req, &r, &parts, [&](QueryNodeApi& node, const rolepb::SearchRequest& q, SearchPart* p) {
    return node.Search(q, p, cancelled);
  }));
  if (parts.empty()) {
    KITE_ASSIGN_OR_RETURN(*out, ExecuteSearch(req, *r.schema, {}, cancelled));
  } else if (parts.size() == 1) {
    *out = std::move(parts[0]);
  } else {
    KITE_ASSIGN_OR_RETURN(*out, ReduceParts(std::move(parts), ReduceSpecOf(req)));
  }
  return Status::OK();
}

Status QueryView::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  Routed r;
  std::vector<Retrieved> parts;
  KITE_RETURN_IF_ERROR(FanOut(req, &r, &parts, [](QueryNodeApi& node, const rolepb::RetrieveRequest& q,
                                                  Retrieved* p) { return node.Retrieve(q, p); }));
  if (parts.empty()) {
    KITE_ASSIGN_OR_RETURN(*out, ExecuteRetrieve(req, *r.schema, {}));
  } else if (parts.size() == 1) {
    *out = std::move(parts[0]);
  } else {
    RetrievePlan unpaged;
    unpaged.count_only = req.count_only();
    unpaged.limit = req.limit() >= 0 ? req.limit() + req.offset() : -1;
    *out = MergeRetrieved(std::move(parts), unpaged);
  }
  return Status::OK();
}

Status QueryView::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  Status last;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    KITE_ASSIGN_OR_RETURN(Routed r, Route(req.scope()));
    rolepb::ReadStatsResponse merged;
    bool lost = false;
    for (size_t i = 0; i < r.plan.size(); ++i) {
      rolepb::ReadStatsRequest to_node = req;
      for (int64_t s : r.plan[i].second) to_node.mutable_scope()->add_segments(s);
      rolepb::ReadStatsResponse part;
      Status st = r.plan[i].first->ReadStats(to_node, &part);
      if (NodeLost(st) || ViewMoved(st)) {
        lost = true;
        last = st;
        if (NodeLost(st)) {
          spdlog::warn("query view: query node {} failed a read: {}", r.nodes[i], st.ToString());
          Evict(r.nodes[i]);
        }
        break;
      }
      KITE_RETURN_IF_ERROR(st);
      for (const auto& s : part.segments()) *merged.add_segments() = s;
      merged.set_bm25_rows(merged.bm25_rows() + part.bm25_rows());
      merged.set_bm25_tokens(merged.bm25_tokens() + part.bm25_tokens());
      for (int j = 0; j < part.bm25_df_size(); ++j) {
        if (j < merged.bm25_df_size()) {
          merged.set_bm25_df(j, merged.bm25_df(j) + part.bm25_df(j));
        } else {
          merged.add_bm25_df(part.bm25_df(j));
        }
      }
    }
    if (lost && DeadlinePassed(req.ctx())) return DeadlineExceededStatus();
    if (lost) continue;
    if (r.plan.empty()) {
      // No sealed segment: the statistics of nothing, in the node's shape.
      AddReadStats(req, {}, &merged);
    }
    // The caller may have filled part of resp already (nothing in practice).
    resp->MergeFrom(merged);
    return Status::OK();
  }
  return last;
}

}  // namespace kite
