// QueryNode: holds the sealed segments of loaded collections in memory and
// answers retrievals (and, later, searches) over them (DESIGN.md §1).
//
// Segments arrive two ways: Load() reads every flushed segment of a
// collection from the object store (with its shard delta files), and
// AddSealed() takes a segment a streaming node just flushed. Deletes that
// happen after a flush are forwarded by the shard's streaming node
// (ApplyDelete). Thread-safe.
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
#include "roles/coordinator/segment_registry.h"
#include "segment/segment.h"
#include "storage/object/object_store.h"

namespace kite {

class QueryNode : public QueryNodeApi {
 public:
  QueryNode(ObjectStore* store, SegmentRegistry* registry) : store_(store), registry_(registry) {}
  QueryNode(const QueryNode&) = delete;
  QueryNode& operator=(const QueryNode&) = delete;

  // Loads every flushed segment of `c` and applies its persisted deltas.
  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) override;
  void Release(CollectionId collection) override;
  bool IsLoaded(CollectionId collection) const override;

  void AddSealed(CollectionId collection, SegmentPtr segment) override;
  // partition 0 = every partition.
  void ApplyDelete(CollectionId collection, int64_t partition, const PrimaryKey& pk, Timestamp ts) override;

  // Swaps a freshly built index in for exact search of one sealed segment
  // (no-op when the collection or segment is not loaded here).
  void AttachVectorIndex(CollectionId collection, SegmentId segment, FieldId field, IndexId index,
                         std::shared_ptr<const index::VectorIndex> idx) override;
  void AttachScalarIndex(CollectionId collection, SegmentId segment, FieldId field, IndexId index,
                         std::shared_ptr<const index::ScalarIndex> idx) override;
  // Compaction: swaps `replacement` (nullptr: nothing, every row was purged)
  // in for the `removed` segments in one step, carrying their in-memory
  // deletes over. No-op when the collection is not loaded here.
  void ReplaceSegments(CollectionId collection, const std::vector<SegmentId>& removed, SegmentPtr replacement) override;
  // Detaches an index definition's copies from every segment of the collection.
  void DetachIndex(CollectionId collection, IndexId index) override;

  // The read path (role_api.h): sealed segments of the request's shard.
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;
  std::vector<SegmentPtr> Segments(CollectionId collection) const override;
  // The loaded sealed segment `segment` of `collection`, or nullptr.
  SegmentPtr FindSegment(CollectionId collection, SegmentId segment) const override;

 private:
  // Loads the built indexes of `segments` not attached yet.
  Status LoadIndexes(CollectionId collection, const std::vector<SegmentPtr>& segments);

  ObjectStore* store_;
  SegmentRegistry* registry_;
  std::mutex load_mu_;  // serialises Load with ReplaceSegments
  mutable std::shared_mutex mu_;
  std::map<int64_t, std::vector<SegmentPtr>> loaded_;  // collection -> sealed segments
  std::map<int64_t, std::shared_ptr<const CollectionSchema>> schemas_;  // of loaded collections

  // The schema and the segments of `scope` (nullptr schema: not loaded).
  std::pair<std::shared_ptr<const CollectionSchema>, std::vector<SegmentPtr>> ScopeSegments(
      const rolepb::ReadScope& scope) const;
};

}  // namespace kite
