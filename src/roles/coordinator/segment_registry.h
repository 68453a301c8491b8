// SegmentRegistry: the coordinator's record of flushed segments and of each
// shard channel's WAL checkpoint (Milvus's DataCoord role). Streaming nodes
// commit flushes here; query nodes list what to load.
//
// Invariant: a flush commit is one atomic meta-store batch holding the new
// segment records, the channel's delta file and its new checkpoint, so after a
// crash either all of a flush is visible or none of it (its object files may
// then be orphaned and are garbage). Thread-safe.
//
// Object lifetime (Milvus's datacoord GC): no call here deletes an object.
// A batch that drops a segment, a segment index or a collection records the
// objects it stops referencing as garbage (`kite/garbage/<key>`, a prefix when
// the key ends in '/') with the drop's wall-clock time, in the same atomic
// batch; the GarbageCollector (garbage_collector.h) deletes them once they are
// older than dataCoord.gc.dropTolerance, so a reader that listed a segment
// before it was compacted or dropped still finds its files.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "roles/api/segment_meta_api.h"
#include "storage/meta/meta_store.h"
#include "storage/wal/wal_term.h"

namespace kite {

// SegmentRecord, SegmentIndexRecord and ChannelCheckpoint are the role API's
// (roles/api/segment_meta_api.h).

// An object key (or, ending in '/', a prefix) no record references any more,
// and when it stopped being referenced.
struct GarbageRecord {
  std::string key;
  int64_t dropped_ms = 0;  // Unix ms
};

// A collection whose catalog record is gone but whose data (WAL channels,
// segment and checkpoint records, objects) may remain: the coordinator's
// drop batch writes it, DropCollection below removes it.
struct DroppingCollection {
  CollectionId collection;
  std::vector<std::string> channels;
  int64_t dropped_ms = 0;
};

// Meta keys of the records above (docs/formats/meta_keys.md).
std::string GarbageMetaKey(const std::string& object_key_or_prefix);
std::string DroppingMetaKey(CollectionId collection);
std::string EncodeDropping(const DroppingCollection& d);

class SegmentRegistry : public SegmentMetaApi {
 public:
  static Result<std::unique_ptr<SegmentRegistry>> Open(MetaStore* meta);

  // SegmentMetaApi (roles/api/segment_meta_api.h); in process the reads never fail.
  Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                     const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                     WalTerm term = 0) override;
  Result<std::vector<SegmentRecord>> ListSegments(CollectionId collection) const override;
  Result<std::optional<SegmentRecord>> FindSegment(SegmentId segment) const override;
  Status CommitSegmentIndex(const SegmentIndexRecord& record) override;
  Result<std::vector<SegmentIndexRecord>> ListSegmentIndexes(CollectionId collection) const override;
  Status ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) override;
  Result<std::vector<std::string>> DropIndex(CollectionId collection, IndexId index) override;
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override;
  Result<std::vector<std::string>> CommitCompaction(CollectionId collection, const std::vector<SegmentId>& removed,
                                                    const SegmentRecord& added) override;
  Result<std::vector<std::string>> RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override;
  Result<ChannelCheckpoint> GetCheckpoint(const std::string& channel) const override;
  Result<WalTerm> NextWalTerm(const std::string& channel) override { return AcquireWalTerm(meta_, channel); }
  Status DropCollection(CollectionId collection, const std::vector<std::string>& channels) override;

  // Garbage-collector and server side (not part of the role API).
  // Collections dropped from the catalog whose data is not dropped yet (read
  // from the meta store: a crash interrupted their drop, or it is running).
  Result<std::vector<DroppingCollection>> ListDropping() const;

  // Garbage records, and forgetting them once their objects are deleted.
  std::vector<GarbageRecord> ListGarbage() const;
  Status ForgetGarbage(const std::vector<std::string>& keys);
  // Every object key a live record references: segment files, segment index
  // files, delta files of the channel checkpoints.
  std::set<std::string> ReferencedKeys() const;

 private:
  explicit SegmentRegistry(MetaStore* meta) : meta_(meta) {}
  // Adds garbage records for `keys` to `b`; the caller commits, then AdoptGarbageLocked.
  static void AddGarbage(MetaBatch& b, const std::vector<std::string>& keys, int64_t now_ms);
  void AdoptGarbageLocked(const std::vector<std::string>& keys, int64_t now_ms);
  MetaStore* meta_;
  mutable std::mutex mu_;
  std::map<int64_t, SegmentRecord> segments_;
  std::map<std::string, ChannelCheckpoint> checkpoints_;
  // segment id -> index id -> record
  std::map<int64_t, std::map<int64_t, SegmentIndexRecord>> seg_indexes_;
  std::map<std::string, int64_t> garbage_;            // key or prefix -> dropped_ms
};

}  // namespace kite
