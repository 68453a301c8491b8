// SegmentRegistry: the coordinator's record of flushed segments and of each
// shard channel's WAL checkpoint (Milvus's DataCoord role). Streaming nodes
// commit flushes here; query nodes list what to load.
//
// Invariant: a flush commit is one atomic meta-store batch holding the new
// segment records, the channel's delta file and its new checkpoint, so after a
// crash either all of a flush is visible or none of it (its object files may
// then be orphaned and are garbage). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "storage/meta/meta_store.h"

namespace kite {

struct SegmentRecord {
  SegmentId id;
  CollectionId collection_id;
  PartitionId partition_id;
  std::string channel;
  int64_t num_rows = 0;
  uint64_t checkpoint_lsn = 0;  // WAL position the flush that wrote it covered
  Timestamp max_ts = 0;
  std::vector<std::string> files;  // object keys
};

struct ChannelCheckpoint {
  uint64_t lsn = 0;                     // every WAL record <= lsn is in segments/deltas
  std::vector<std::string> delta_keys;  // delete logs of this channel, oldest first
};

class SegmentRegistry {
 public:
  static Result<std::unique_ptr<SegmentRegistry>> Open(MetaStore* meta);

  Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                     const std::vector<SegmentRecord>& segments, const std::string& delta_key);
  std::vector<SegmentRecord> ListSegments(CollectionId collection) const;
  ChannelCheckpoint GetCheckpoint(const std::string& channel) const;
  // Forgets every segment and checkpoint of a dropped collection.
  Status DropCollection(CollectionId collection, const std::vector<std::string>& channels);

 private:
  explicit SegmentRegistry(MetaStore* meta) : meta_(meta) {}
  MetaStore* meta_;
  mutable std::mutex mu_;
  std::map<int64_t, SegmentRecord> segments_;
  std::map<std::string, ChannelCheckpoint> checkpoints_;
};

}  // namespace kite
