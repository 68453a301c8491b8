// StreamingView: the coordinator's channel placement (Milvus's StreamingCoord
// balancer plus the proxy's channel discovery): which `kite streamingnode`
// process leads the channels of each collection, kept up to date as nodes
// join and die.
//
// It is itself a StreamingNodeApi, so the proxy holds it exactly as it holds
// the embedded streaming node: each call goes to the node that leads the
// collection's channels.
//
// - Binding: a collection's channels (all its shards) are bound to one node,
//   the live node leading the fewest collections, when the collection is
//   opened; the binding is kept in memory and rebuilt at a restart from the
//   proxy's recovery (Open, then Load for loaded collections), preferring the
//   node recorded in the meta store (kite/streaming/binding/<collection>) so
//   that a restarted coordinator does not move channels that have an owner.
// - Ownership: the node that opens a channel takes a new WAL term for it
//   (AcquireWalTerm); appends under an older term are refused by the WAL and
//   flushes under an older term by the segment registry, so a node that lost
//   its channels (paused past its session's TTL, then resumed) can neither
//   acknowledge a write nor commit a flush.
// - Failure: a node whose session vanishes, or that fails a call as
//   unreachable, is evicted: each of its collections is opened on another
//   live node (which replays the channels' WAL from the flush checkpoint: the
//   WAL must be shared, i.e. Kafka) and loaded again if it was loaded; the
//   call that met the dead node then runs again on the new owner. A write
//   whose answer was lost with the node may thus be applied twice (as in
//   Milvus, whose producers retry appends that may have landed).
// - No node: calls fail with "no streaming node available ..." until one
//   joins; /healthz shows the streamingnode component abnormal meanwhile.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "roles/api/role_api.h"
#include "storage/meta/meta_store.h"

namespace kite {

struct StreamingViewNode {
  int64_t id = 0;
  std::string address;
  std::vector<int64_t> collections;  // whose channels it leads
};

class StreamingView final : public StreamingNodeApi {
 public:
  // `meta` (may be null) keeps the bindings across coordinator restarts.
  explicit StreamingView(MetaStore* meta) : meta_(meta) {}
  StreamingView(const StreamingView&) = delete;
  StreamingView& operator=(const StreamingView&) = delete;

  // Membership (from the streaming node sessions).
  void AddNode(int64_t id, std::string address, std::unique_ptr<StreamingNodeApi> node);
  void RemoveNode(int64_t id);
  std::vector<StreamingViewNode> Nodes() const;
  // No streaming node, or an open collection that no node leads.
  bool Degraded() const;
  // collection -> the node leading its channels (0: none).
  std::map<int64_t, int64_t> Bindings() const;

  Status Open(const CollectionInfo& c) override;
  Status Drop(const CollectionInfo& c) override;
  Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage msg) override;
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override;
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override;
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override;
  Status Load(const CollectionInfo& c) override;
  Status Release(CollectionId collection) override;
  Status ApplySchema(const CollectionInfo& c) override;
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) override;
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) override;
  Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) override;
  Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) override;
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;

 private:
  struct Node {
    std::string address;
    std::shared_ptr<StreamingNodeApi> api;
  };
  struct Bound {
    CollectionInfo info;  // as last opened / re-schemaed
    bool loaded = false;
    bool retain_pending = false;  // RetainPartitions to run when a node takes it
    int64_t node = 0;             // 0: no live node leads it
  };
  bool DeferIfUnbound(CollectionId collection, const std::function<void(Bound&)>& keep);

  // Runs `call` on the node leading `collection`; when that node is
  // unreachable, evicts it (moving its collections) and runs it once more on
  // the new owner.
  template <typename Fn>
  auto OnOwner(CollectionId collection, Fn call) -> decltype(call(std::declval<StreamingNodeApi&>()));
  // The live node leading the fewest collections, preferring `preferred`,
  // never one in `exclude`; 0 if none (mu_ held).
  int64_t PickLocked(int64_t preferred, const std::set<int64_t>& exclude = {}) const;
  // Opens (and loads) `b` on `node`. Called without mu_.
  Status Place(int64_t node, const std::shared_ptr<StreamingNodeApi>& api, const Bound& b);
  void Evict(int64_t node);
  int64_t RecordedBinding(CollectionId collection) const;
  void RecordBinding(CollectionId collection, int64_t node);

  MetaStore* meta_;
  mutable std::shared_mutex mu_;
  std::map<int64_t, Node> nodes_;
  std::map<int64_t, Bound> bound_;
  std::mutex move_mu_;  // one placement change at a time
};

}  // namespace kite
