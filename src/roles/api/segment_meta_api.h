// The coordinator's segment meta as a role API (ARCHITECTURE.md "Roles and
// their APIs", "The coordinator service"): what the streaming node, the data
// node, the query node and the query view read and commit about flushed
// segments, their built indexes and each shard channel's WAL checkpoint, and
// the timestamps and ids they take from the coordinator (TsoApi).
//
// The coordinator's SegmentRegistry (roles/coordinator/segment_registry.h)
// implements SegmentMetaApi over the meta store; a role in another process
// holds it over gRPC (coord_grpc.h: MakeRemoteSegmentMeta / MakeRemoteTso),
// exactly as one in the coordinator's process holds the registry itself. So
// every call may fail (a remote peer unreachable: kIOError), reads included:
// a caller never mistakes an unanswered read for "no segments".
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "storage/wal/wal.h"

namespace kite {

struct SegmentRecord {
  SegmentId id;
  CollectionId collection_id;
  PartitionId partition_id;
  std::string channel;
  int64_t num_rows = 0;
  uint64_t checkpoint_lsn = 0;  // WAL position the flush that wrote it covered
  Timestamp max_ts = 0;
  int64_t size_bytes = 0;          // in-memory size when written (0: unknown, older records)
  std::vector<std::string> files;  // object keys
};

// A built index of one sealed segment (Milvus's segment index), one per
// (segment, index definition).
struct SegmentIndexRecord {
  SegmentId segment;
  IndexId index;
  CollectionId collection;
  FieldId field;
  std::string key;  // object key of the index file
  int64_t num_rows = 0;
  int64_t file_bytes = 0;
  int64_t build_ms = 0;
};

struct ChannelCheckpoint {
  uint64_t lsn = 0;                     // every WAL record <= lsn is in segments/deltas
  std::vector<std::string> delta_keys;  // delete logs of this channel, oldest first
};

// Flushed segments, segment indexes and channel checkpoints (Milvus's
// DataCoord meta). Thread-safe.
class SegmentMetaApi {
 public:
  virtual ~SegmentMetaApi() = default;

  // Commits one flush of `channel` atomically: the new segment records, the
  // channel's delta file (empty: none) and its checkpoint `lsn`. With a
  // `term` (the WAL ownership term the flushing node opened the channel
  // with, NextWalTerm), only while that is still the channel's newest term:
  // a node whose channel was taken over (it paused past its session, then
  // resumed) is refused (kFailedPrecondition, nothing written), so it can
  // never record rows its successor replays and flushes too. 0: unfenced.
  virtual Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                             const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                             WalTerm term = 0) = 0;
  virtual Result<std::vector<SegmentRecord>> ListSegments(CollectionId collection) const = 0;
  // The segment's record; nullopt when it is not registered (compacted or dropped).
  virtual Result<std::optional<SegmentRecord>> FindSegment(SegmentId segment) const = 0;

  // Records a built segment index. FailedPrecondition if the segment is gone
  // (compacted or dropped meanwhile): the caller deletes its file.
  virtual Status CommitSegmentIndex(const SegmentIndexRecord& record) = 0;
  virtual Result<std::vector<SegmentIndexRecord>> ListSegmentIndexes(CollectionId collection) const = 0;
  // Forgets one segment's index (its file is damaged or missing) so that the
  // data node builds it again; OK if it was not recorded.
  virtual Status ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) = 0;
  // Forgets every segment index of an index definition; returns their keys.
  virtual Result<std::vector<std::string>> DropIndex(CollectionId collection, IndexId index) = 0;

  // Replaces `removed` (sealed segments of one channel) with `added` (none
  // when added.num_rows == 0) in one atomic batch, dropping the removed
  // segments' index records. FailedPrecondition (nothing changed) if any
  // removed segment is no longer registered. Returns the object keys that
  // became garbage (segment and index files).
  virtual Result<std::vector<std::string>> CommitCompaction(CollectionId collection,
                                                            const std::vector<SegmentId>& removed,
                                                            const SegmentRecord& added) = 0;
  // Registers the sealed segments a bulk import wrote (files already in the
  // object store, any channels and partitions of `collection`) in one atomic
  // batch: readers see all of them or none. Channel checkpoints are not
  // touched (the rows never went through a WAL). FailedPrecondition (nothing
  // written) if the collection is being dropped.
  virtual Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) = 0;
  // Forgets every segment of `collection` whose partition is not in `live`
  // (dropped partitions) with its index records, in one atomic batch;
  // returns the object keys that became garbage.
  virtual Result<std::vector<std::string>> RetainPartitions(CollectionId collection,
                                                            const std::set<int64_t>& live) = 0;
  virtual Result<ChannelCheckpoint> GetCheckpoint(const std::string& channel) const = 0;
  // A new ownership term for a streaming node opening `channel` (wal_term.h).
  virtual Result<WalTerm> NextWalTerm(const std::string& channel) = 0;
  // Forgets every segment and checkpoint of a dropped collection, and its
  // dropping marker; its objects become garbage.
  virtual Status DropCollection(CollectionId collection, const std::vector<std::string>& channels) = 0;
};

// The timestamp oracle and the id allocator (the coordinator's).
class TsoApi {
 public:
  virtual ~TsoApi() = default;
  // A timestamp strictly above every one issued before, in the cluster and
  // across coordinator restarts.
  virtual Result<Timestamp> AllocTimestamp() = 0;
  // Reserves `count` consecutive int64 ids (segments, auto primary keys) and
  // returns the first.
  virtual Result<int64_t> AllocIds(int64_t count) = 0;
};

}  // namespace kite
