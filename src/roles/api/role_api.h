// The role APIs (ARCHITECTURE.md "Roles and their APIs"). A role holds the
// other roles only through these interfaces (and CoordinatorApi,
// roles/coordinator/coordinator.h), never their classes: tests/unit
// role_include_graph_test checks that no role includes another role's
// implementation header.
//
// The read path is in messages (role_api.proto): the proxy sends one
// SearchRequest / RetrieveRequest / ReadStatsRequest per shard to the
// streaming node that leads the shard (its delegator), which waits for the
// shard's tsafe, reads its growing data and asks the query nodes holding the
// shard's sealed segments; each level reduces what it got (query node over
// its segments, delegator over query nodes, proxy over shards). Writes are
// DmlMessages (dml_message.h, encoded as in the WAL). Standalone passes the
// message objects between roles in one process; the cluster puts gRPC behind
// the same interfaces.
//
// Segment hand-over between streaming, data and query nodes is in messages
// too (LoadSegments, ApplyDeletes, LoadIndex): they name the segment and
// index files in the object store, so a query node in another process loads
// them from there; in one process the sender may pass the same data in memory
// beside the message.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "index/scalar/scalar_index.h"
#include "index/vector_index.h"
#include "query/retrieve.h"
#include "query/search_part.h"
#include "role_api.pb.h"
#include "roles/api/dml_message.h"
#include "roles/api/segment_meta_api.h"
#include "roles/coordinator/catalog_types.h"
#include "segment/segment.h"
#include "segment/segment_file.h"

namespace kite {

// Cancellation of a call in flight: polled by long reads between segments.
// In one process it is the proxy's hook (client gone, deadline, shutdown); over
// gRPC the client's cancellation reaches the server call the same way.
using CancelHook = std::function<bool()>;

// A segment as GetPersistentSegmentInfo / GetQuerySegmentInfo list it.
struct SegmentSummary {
  SegmentId id;
  PartitionId partition;
  int64_t num_rows = 0;
  int64_t mem_bytes = 0;
  bool growing = false;
  std::string channel;
  int64_t node = 0;  // the query node's server id holding it (0: this process's)
};
// Sealed data of loaded collections.
class QueryNodeApi {
 public:
  virtual ~QueryNodeApi() = default;

  // Read path (level 1 of the reduce): the sealed segments of the request's
  // shard held here, searched and merged into one answer.
  // Answers are Kite's in-memory forms (SearchPart, Retrieved): in one process
  // they pass without encoding; a remote adapter encodes them as
  // rolepb::SearchResponse / RetrieveResponse (role_codec.h) on the wire.
  virtual Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) = 0;
  virtual Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) = 0;
  virtual Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) = 0;

  // Loads every flushed segment of `c` the coordinator's registry lists, with
  // its deltas and built indexes (a node in the coordinator's process, or the
  // query view that spreads them over remote nodes).
  virtual Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) = 0;
  virtual void Release(CollectionId collection) = 0;
  virtual bool IsLoaded(CollectionId collection) const = 0;

  // Segment hand-over, as messages that name the data in the object store
  // (what a remote node acts on). `local`, when given, is the same data
  // already in memory in the sender's process: an in-process node takes it
  // instead of reading the files; a remote adapter drops it.
  //
  // Loads req.segments (replacing req.replace in the same step for readers).
  // `resp` (may be null) lists the index files the node could not use.
  virtual Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                              rolepb::LoadSegmentsResponse* resp) = 0;
  // Drops segments held here (empty: the whole collection is released).
  virtual Status ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) = 0;
  // Deletes that happened after the segments of `channel` were sealed.
  virtual Status ApplyDeletes(CollectionId collection, const std::string& channel,
                              const std::vector<DeleteRecord>& deletes) = 0;
  // A built index of one sealed segment (no-op when the segment is not held here).
  virtual Status LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                           std::shared_ptr<const index::VectorIndex> local_vector,
                           std::shared_ptr<const index::ScalarIndex> local_scalar) = 0;
  // Detaches an index definition's copies from every segment of the collection.
  virtual Status DetachIndex(CollectionId collection, IndexId index) = 0;

  // The sealed segments held for the collection.
  virtual std::vector<SegmentSummary> LoadedSegments(CollectionId collection) const = 0;
  // The loaded sealed segment, when it is in this process's memory (an index
  // build reads its column instead of the files); nullptr otherwise.
  virtual SegmentPtr FindSegment(CollectionId collection, SegmentId segment) const = 0;
};

// Leader of every shard channel: WAL, timestamps, growing data, flush, and
// the shard delegator of the read path.
class StreamingNodeApi {
 public:
  virtual ~StreamingNodeApi() = default;

  virtual Status Open(const CollectionInfo& c) = 0;
  virtual Status Drop(const CollectionInfo& c) = 0;
  // Durably applies a DML message to shard `shard`; returns its timestamp.
  virtual Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage msg) = 0;
  virtual Result<std::vector<SegmentId>> Flush(CollectionId collection) = 0;
  virtual Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) = 0;
  // Bulk import: registers sealed segments whose files are already in the
  // object store (SegmentMetaApi::CommitImport, one atomic batch) and hands
  // them to the query nodes of a loaded collection, so that they become
  // readable together.
  virtual Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) = 0;
  virtual Status Load(const CollectionInfo& c) = 0;
  virtual Status Release(CollectionId collection) = 0;

  // A new schema of the collection (AddCollectionField): growing data written
  // under the old one is flushed, new writes use the new one, and the query
  // nodes reload the collection with it.
  virtual Status ApplySchema(const CollectionInfo& c) = 0;
  // Flushed segments (as the coordinator records them) and growing ones.
  // (Results, not plain values: across processes the node may be unreachable,
  // and an answer made up then — no segments, tsafe 0 — would be a silent
  // wrong answer.)
  virtual Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) = 0;
  // Sealed segments the query nodes hold for the collection.
  virtual Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) = 0;

  // The newest timestamp <= now at which every shard of the collection is
  // fully applied (the smallest shard tsafe): what Bounded reads use.
  virtual Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) = 0;
  // Rows (deletes not subtracted) of partition `partition` (0 = all) among `live`.
  virtual Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) = 0;

  // The delegator of scope.shard: waits for the shard's tsafe to reach
  // scope.guarantee_ts, then answers from its growing data and the query
  // nodes holding the shard's sealed segments, reduced (level 2).
  // The answers as QueryNodeApi's (in-memory here, encoded by a remote adapter).
  virtual Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) = 0;
  virtual Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) = 0;
  virtual Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) = 0;
};

// Index builds and compaction.
enum class CompactionJobState { kUnknown = 0, kExecuting = 1, kCompleted = 2 };

struct CompactionJob {
  CompactionJobState state = CompactionJobState::kUnknown;
  int64_t plans = 0;  // 0 while the job is not planned yet
  int64_t completed = 0;
  int64_t failed = 0;

  // Plans still running (at least 1 while the job is executing, planned or not).
  int64_t executing() const {
    return state == CompactionJobState::kExecuting ? std::max<int64_t>(1, plans - completed - failed) : 0;
  }
};

struct IndexProgress {
  int64_t total_rows = 0;    // rows of flushed segments
  int64_t indexed_rows = 0;  // rows of flushed segments whose index is built
  // Flushed segments without the index that hold rows from before the
  // `as_of` timestamp Progress was asked about (their newest row, or else
  // their oldest one read from the timestamps file, is not after it: merges
  // fold older segments into newer ones): what the state waits for.
  int64_t pending_segments = 0;
  bool failed = false;
  std::string fail_reason;

  // Milvus's IndexState name: "Failed", "InProgress" or "Finished". As in
  // Milvus (datacoord completeIndexInfo), the state covers the segments that
  // existed at the timestamp asked about, so that create_index / wait_for_index
  // finish under a continuous insert-and-flush load instead of chasing every
  // new segment; total_rows and indexed_rows still count every flushed segment.
  const char* state() const { return failed ? "Failed" : pending_segments > 0 ? "InProgress" : "Finished"; }
};

class DataNodeApi {
 public:
  virtual ~DataNodeApi() = default;
  // Asks the worker to look for work now (after a create_index, a flush, ...).
  virtual void Kick() = 0;
  // Build state of one index definition; `as_of` 0 means the index's creation.
  virtual IndexProgress Progress(CollectionId collection, const IndexInfo& index, Timestamp as_of) const = 0;
  // Queues a manual compaction of the collection; returns its job id.
  virtual Result<int64_t> RequestCompaction(CollectionId collection) = 0;
  virtual CompactionJob GetCompaction(int64_t job) const = 0;
};

}  // namespace kite
