// QueryNode: holds the sealed segments of loaded collections in memory and
// answers retrievals (and, later, searches) over them (DESIGN.md §1).
//
// Segments arrive two ways: Load() reads every flushed segment of a
// collection the registry lists (in the coordinator's process), and
// LoadSegments() loads the segments a message names, from the object store or
// from the sender's memory in one process (a segment a streaming node just
// flushed, a compaction's result). Deletes that happen after a flush are
// forwarded by the shard's streaming node (ApplyDeletes). A query node in its
// own process (`kite querynode`) has no registry: it holds what the query
// view's messages name. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "query/retrieve.h"
#include "roles/api/role_api.h"
#include "roles/coordinator/catalog_types.h"
#include "roles/api/segment_meta_api.h"
#include "segment/segment.h"
#include "storage/object/object_store.h"

namespace kite {

class QueryNode : public QueryNodeApi {
 public:
  QueryNode(ObjectStore* store, SegmentMetaApi* registry) : store_(store), registry_(registry) {}
  QueryNode(const QueryNode&) = delete;
  QueryNode& operator=(const QueryNode&) = delete;

  // Loads every flushed segment of `c` and applies its persisted deltas.
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
  SegmentPtr FindSegment(CollectionId collection, SegmentId segment) const override;

  // The read path (role_api.h): sealed segments of the request's shard.
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;

  // The loaded sealed segments of the collection (tests, the web UI).
  std::vector<SegmentPtr> Segments(CollectionId collection) const;
  // The collections loaded here.
  std::vector<CollectionId> LoadedCollections() const;

 private:
  // Loads the built indexes of `segments` not attached yet.
  Status LoadIndexes(CollectionId collection, const std::vector<SegmentPtr>& segments);
  // Reads one segment from its files and applies `deltas` of its channel.
  Result<SegmentPtr> ReadSegment(CollectionId collection, const rolepb::SegmentLoad& load,
                                 std::shared_ptr<const CollectionSchema> schema,
                                 const std::vector<DeleteRecord>& deltas, rolepb::LoadSegmentsResponse* resp);

  ObjectStore* store_;
  SegmentMetaApi* registry_;
  std::mutex load_mu_;  // serialises Load with ReplaceSegments
  mutable std::shared_mutex mu_;
  std::map<int64_t, std::vector<SegmentPtr>> loaded_;  // collection -> sealed segments
  std::map<int64_t, std::shared_ptr<const CollectionSchema>> schemas_;  // of loaded collections

  // The schema and the segments of `scope` (nullptr schema: not loaded).
  std::pair<std::shared_ptr<const CollectionSchema>, std::vector<SegmentPtr>> ScopeSegments(
      const rolepb::ReadScope& scope, bool* missing) const;
};

}  // namespace kite
