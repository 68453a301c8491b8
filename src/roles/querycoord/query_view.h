// QueryView: the coordinator's query view (Milvus's QueryCoord distribution
// plus the delegator's routing): which query node holds which sealed segment
// of each loaded collection, kept up to date as nodes join and die.
//
// It is itself a QueryNodeApi, so the roles that hand segments over (the
// streaming node after a flush, the data node after a build or a merge) and
// the delegator that reads them hold it exactly as they would hold one query
// node: each call is routed to the nodes it concerns.
//
// - Load assigns every flushed segment of the collection (the registry's
//   records, with their built indexes and the channels' delta files) to the
//   live node holding the fewest rows, and sends each node a LoadSegments
//   naming its share; a segment handed over later goes to the least loaded
//   node the same way.
// - Reads fan out to the nodes holding segments of the request's shard, each
//   told exactly which segments to read (ReadScope.segments), and are reduced
//   here (one more level of the same reduce).
// - A node that fails a call (its process died: the connection is refused)
//   or whose session vanishes is dropped: its segments are loaded on the
//   others from the object store, with the deletes forwarded since the
//   channel's last flush replayed on them (the view keeps them), and only
//   then does the view route to them. A read that hit the dead node is run
//   again on the new view, so it answers completely, without duplicates.
// - A node that joins takes segments from the fullest nodes (Rebalance).
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "roles/api/role_api.h"
#include "roles/api/segment_meta_api.h"

namespace kite {

struct QueryViewNode {
  int64_t id = 0;
  std::string address;
  int64_t segments = 0;
  int64_t rows = 0;
  bool refused = false;  // it refused this process's credentials (role_call.h): given nothing new
};

class QueryView final : public QueryNodeApi {
 public:
  explicit QueryView(SegmentMetaApi* registry) : registry_(registry) {}
  QueryView(const QueryView&) = delete;
  QueryView& operator=(const QueryView&) = delete;

  // Membership (from the query node sessions). A node added later takes
  // segments handed over from then on; RemoveNode moves its segments.
  void AddNode(int64_t id, std::string address, std::unique_ptr<QueryNodeApi> node);
  void RemoveNode(int64_t id);
  // Moves segments from the fullest nodes to the emptiest (by rows) while that
  // narrows the gap: after a node joins. Each move loads the segment on the
  // new node, switches the view, then releases it on the old one, so reads
  // see it exactly once throughout.
  void Rebalance();
  std::vector<QueryViewNode> Nodes() const;
  // No query node, or a loaded segment that no node serves (reads fail).
  bool Degraded() const;
  // Which node holds each loaded segment of the collection (segment -> node).
  std::map<int64_t, int64_t> Assignment(CollectionId collection) const;

  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) override;
  void Release(CollectionId collection) override;
  bool IsLoaded(CollectionId collection) const override;
  Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                      rolepb::LoadSegmentsResponse* resp) override;
  Status ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) override;
  Status ApplyDeletes(CollectionId collection, const std::string& channel,
                      const std::vector<DeleteRecord>& deletes) override;
  Status LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                   std::shared_ptr<const index::VectorIndex> local_vector,
                   std::shared_ptr<const index::ScalarIndex> local_scalar) override;
  Status DetachIndex(CollectionId collection, IndexId index) override;
  std::vector<SegmentSummary> LoadedSegments(CollectionId collection) const override;
  SegmentPtr FindSegment(CollectionId, SegmentId) const override { return nullptr; }

  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;

 private:
  struct Node {
    int64_t id = 0;
    std::string address;
    std::shared_ptr<QueryNodeApi> api;
    // It refused a call of this process (cluster credential, internal TLS):
    // alive, so not evicted, but given no segments until its session ends.
    bool refused = false;
  };
  struct Placed {
    SegmentSummary summary;
    int64_t node = 0;
  };
  struct Loaded {
    CollectionInfo info;  // with the schema the segments are read with
    std::string encoded;  // EncodeCollection(info), sent with every load
    std::shared_ptr<const CollectionSchema> schema;
    std::map<int64_t, Placed> segments;  // segment id -> where
    // Deletes forwarded since each channel's last flush with rows: replayed
    // on segments loaded again elsewhere (older ones are in the delta files).
    std::map<std::string, std::vector<DeleteRecord>> recent_deletes;
  };
  // Per node, the segments of the request's shard it should read.
  using Plan = std::vector<std::pair<std::shared_ptr<QueryNodeApi>, std::vector<int64_t>>>;
  struct Routed {
    std::shared_ptr<const CollectionSchema> schema;
    Plan plan;
    std::vector<int64_t> nodes;  // parallel to plan
    bool unplaced = false;       // a segment of the scope has no live node (being moved)
  };

  Result<Routed> Route(const rolepb::ReadScope& scope) const;
  // Sends `req` to every node of its route, each with its segments, in
  // parallel; routes again (up to a few times) when a node was lost or the
  // view moved a segment meanwhile. `parts` is empty when no sealed segment
  // is in scope (`routed` then still has the schema).
  template <typename Req, typename Part, typename Call>
  Status FanOut(const Req& req, Routed* routed, std::vector<Part>* parts, Call call);
  Status RouteOnce(const rolepb::ReadScope& scope, Routed* out) const;
  // The live node with the fewest rows (mu_ held), or 0.
  int64_t LeastLoadedLocked(const std::map<int64_t, int64_t>& extra_rows) const;
  std::map<int64_t, int64_t> RowsPerNodeLocked() const;
  // Loads `segs` (records of `c`) on live nodes, spread by rows; returns
  // segment -> node for those loaded. Called without mu_ (remote calls).
  Result<std::map<int64_t, int64_t>> Place(const Loaded& c, const std::vector<SegmentRecord>& segs);
  // The load message for `segs` of `c`: their files and built indexes, and the
  // delta files of their channels, from the registry.
  Result<rolepb::LoadSegmentsRequest> LoadRequestFor(const Loaded& c, const std::vector<const SegmentRecord*>& segs,
                                                     const std::vector<SegmentIndexRecord>& indexes) const;
  // Forgets the index records a node found damaged, so that the data node
  // builds them again (the segment is searched exactly meanwhile).
  void ForgetDamaged(int64_t node, CollectionId collection, const rolepb::LoadSegmentsResponse& resp);
  // A node failed or left: drop it and load its segments elsewhere.
  void Evict(int64_t node);
  // A node refused a call (role_call.h IsPeerRefusal): keep it, place nothing new on it.
  void MarkRefused(int64_t node, const Status& st);
  // Loads segments whose node is gone (collection -> segments, node 0 in the
  // view) on live nodes, replays the channels' kept deletes on them, then
  // routes to them; returns how many were placed. move_mu_ held.
  int64_t PlaceOrphansLocked(const std::map<int64_t, std::set<int64_t>>& orphaned);

  SegmentMetaApi* registry_;
  mutable std::shared_mutex mu_;
  std::map<int64_t, Node> nodes_;
  std::map<int64_t, Loaded> loaded_;
  mutable std::mutex move_mu_;  // one eviction at a time; hand-overs and reads of moving segments wait for it
};

}  // namespace kite
