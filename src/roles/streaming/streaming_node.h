// StreamingNode: the shard leader of every channel (DESIGN.md §1). For each
// shard channel it owns the WAL, assigns write timestamps, keeps growing
// segments and the delete buffer since the last checkpoint, seals and flushes
// growing segments to the object store, and replays the WAL after a restart.
//
// Write path (Write): under the channel lock, take a timestamp from the
// coordinator, append the message to the WAL (durable before return), apply
// it to growing segments / the delete buffer, forward deletes to the query
// node when the collection is loaded, and flush if a segment is full. A
// delete whose forward fails is kept and sent again (with the next delete's,
// by Load, by the idle loop, and before a flush clears the buffer: a flush
// that cannot send it fails), so that no sealed row a delete or an upsert
// replaced comes back. Because
// the timestamp is taken under the channel lock, WAL order equals timestamp
// order, and a channel's tsafe (the newest timestamp at or below which every
// write is applied) is known without taking its lock: a read at guarantee
// timestamp T waits until no write at or below T is in flight (Strong,
// Session), woken by the write that finishes.
//
// Flush (by size, idle time or request): write each growing segment's
// columns and the channel's delete buffer to the object store, then commit
// segment records + checkpoint atomically in the segment registry, hand the
// sealed segments to the query node, and drop WAL files the checkpoint covers.
//
// Thread-safe. Borrows every dependency; they must outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "query/retrieve.h"
#include "roles/api/dml_message.h"
#include "roles/api/role_api.h"
#include "roles/api/segment_meta_api.h"
#include "segment/segment.h"
#include "segment/segment_file.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

namespace kite {

struct StreamingOptions {
  // A growing segment is sealed once it holds segment_bytes_max x
  // seal_proportion bytes (Milvus dataCoord.segment.maxSize 1024 MB and
  // sealProportion 0.12): small enough that exact search of growing data stays
  // cheap; compaction then merges sealed segments up to segment_bytes_max.
  size_t segment_bytes_max = 1024ull << 20;
  double seal_proportion = 0.12;
  int64_t idle_flush_ms = 600'000;          // flush a channel idle this long (Milvus segment.maxIdleTime)
  int64_t idle_check_ms = 1000;
  // While flushes fail (the object store down), a channel keeps accepting
  // rows until its growing data reaches this many sealed segments' worth
  // (segment_bytes_max x seal_proportion each); beyond it writes with rows
  // are refused (Milvus code 2, service unavailable) until a flush succeeds.
  int unflushed_segments_max = 4;
};

class StreamingNode : public StreamingNodeApi {
 public:
  // `registry`: the coordinator's segment meta; `tso`: its timestamps and ids
  // (in the coordinator's process or over gRPC, coord_grpc.h).
  StreamingNode(Wal* wal, ObjectStore* store, SegmentMetaApi* registry, TsoApi* tso, QueryNodeApi* query_node,
                StreamingOptions options);
  ~StreamingNode();
  StreamingNode(const StreamingNode&) = delete;
  StreamingNode& operator=(const StreamingNode&) = delete;

  // Called (under a channel lock: must not block) after every flush that
  // sealed segments, e.g. to kick index builds. Set before the first write.
  // Channels whose last flush failed (their automatic flushes back off:
  // 1 s doubling to 30 s); shown by /healthz and /metrics.
  struct FlushHealth {
    int failing_channels = 0;
  };
  FlushHealth Health();

  void SetFlushListener(std::function<void(CollectionId)> listener) { flush_listener_ = std::move(listener); }

  // Opens the collection's channels and replays their WALs from the checkpoint.
  Status Open(const CollectionInfo& c) override;
  // Forgets the collection: WAL channels, segments, files.
  Status Drop(const CollectionInfo& c) override;

  // Durably applies a DML message to shard `shard`; returns its timestamp.
  Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage msg) override;
  // Flushes every channel of the collection; returns the new segment ids.
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override;

  // Drops the growing data of every partition of the collection not in
  // `live` (dropped partitions), then its flushed segments and their files,
  // from the registry, the query node and the object store.
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override;
  // Bulk import: under every channel lock of the collection (no flush or load
  // hands segments over meanwhile), commits the segments in one registry
  // batch, then hands them to the query node when the collection is loaded.
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override;

  // Loads the collection's sealed data into the query node and starts
  // forwarding deletes to it (atomically with respect to writes).
  Status Load(const CollectionInfo& c) override;
  Status Release(CollectionId collection) override;
  // A new schema of the collection (AddCollectionField): flushes the growing
  // segments written under the old one, makes new writes use `c.schema`, and
  // reloads a loaded collection's sealed segments so that they carry the
  // added field (its default or null for rows written before).
  Status ApplySchema(const CollectionInfo& c) override;
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) override;
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) override;

  // The newest timestamp <= now at which every channel of the collection is
  // fully applied (below any write in flight).
  Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) override;
  Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) override;
  // Rows in flushed segments of partition `partition` (0 = all) among
  // `live`, deletes not subtracted.
  Result<int64_t> FlushedRows(CollectionId collection, int64_t partition, const std::set<int64_t>& live);
  std::vector<SegmentPtr> GrowingSegments(CollectionId collection);
  // Collections whose channels this node has open.
  std::vector<CollectionId> OpenCollections();

  // The shard delegator (role_api.h).
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override;
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override;
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override;

 private:
  struct Channel;
  Status ApplyLocked(Channel& ch, const DmlMessage& msg, uint64_t lsn);
  Status FlushLocked(Channel& ch, std::vector<SegmentId>* flushed);
  // Sends the channel's deletes the query side has not taken yet
  // (Channel::unsent_from) in one call; on failure keeps them and backs off
  // the idle loop's next try.
  Status ResendDeletesLocked(Channel& ch);
  int64_t UnflushedBytesLocked(Channel& ch);
  // Refuses rows while flushes fail and the growing data is over its bound
  // (StreamingOptions::unflushed_segments_max).
  Status AdmitRowsLocked(Channel& ch);
  // Shared so that a concurrent Drop cannot free a channel another thread is using.
  std::vector<std::shared_ptr<Channel>> ChannelsOf(CollectionId collection);
  // The channel of a read's shard, once its tsafe reached the scope's
  // guarantee timestamp (every write at or below it applied), and its growing
  // segments in scope (none unless include_growing).
  // The channel's schema is copied with them (AddCollectionField replaces it).
  Result<std::shared_ptr<Channel>> ReadChannel(const rolepb::ReadScope& scope, std::vector<SegmentPtr>* growing,
                                               std::shared_ptr<const CollectionSchema>* schema);
  // Blocks until no write at or below `ts` is still being applied on `ch`.
  void WaitTsafe(Channel& ch, Timestamp ts);
  void IdleLoop();

  Wal* wal_;
  ObjectStore* store_;
  SegmentMetaApi* registry_;
  TsoApi* coord_;
  QueryNodeApi* query_node_;
  StreamingOptions options_;
  std::function<void(CollectionId)> flush_listener_;

  std::shared_mutex map_mu_;  // guards channels_ (the map, not the channels)
  std::map<int64_t, std::vector<std::shared_ptr<Channel>>> channels_;  // collection -> shards

  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  bool stopping_ = false;
  std::thread idle_thread_;
};

}  // namespace kite
