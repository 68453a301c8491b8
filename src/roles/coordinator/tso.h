// Timestamp oracle: issues strictly increasing hybrid timestamps
// (common/timestamp.h), also across restarts. It persists a physical-time
// high-water mark `window_ms` ahead of what it has issued; after a restart it
// starts above the persisted mark, so a timestamp is never reissued even if
// the wall clock went backwards. Thread-safe.
#pragma once

#include <mutex>

#include "common/status.h"
#include "common/timestamp.h"
#include "storage/meta/meta_store.h"

namespace kite {

class Tso {
 public:
  static Result<std::unique_ptr<Tso>> Open(MetaStore* meta, uint64_t window_ms = 3000);
  Tso(const Tso&) = delete;
  Tso& operator=(const Tso&) = delete;

  // Returns `count` consecutive timestamps; the value is the last of them.
  Result<Timestamp> Alloc(uint32_t count = 1);

 private:
  Tso(MetaStore* meta, uint64_t window_ms, uint64_t saved_ms)
      : meta_(meta), window_ms_(window_ms), saved_ms_(saved_ms), physical_ms_(saved_ms) {}
  MetaStore* meta_;
  uint64_t window_ms_;
  std::mutex mu_;
  uint64_t saved_ms_;     // persisted upper bound of physical time issued
  uint64_t physical_ms_;  // physical part of the last timestamp
  uint64_t logical_ = 0;
};

// Persistent int64 id allocator (collections, partitions, indexes, segments):
// reserves ids in blocks so that one meta write serves many allocations.
class IdAllocator {
 public:
  static Result<std::unique_ptr<IdAllocator>> Open(MetaStore* meta, int64_t block = 10000);
  Result<int64_t> Alloc() { return Alloc(1); }
  // Reserves `count` consecutive ids and returns the first.
  Result<int64_t> Alloc(int64_t count);

 private:
  IdAllocator(MetaStore* meta, int64_t block, int64_t next) : meta_(meta), block_(block), next_(next), limit_(next) {}
  MetaStore* meta_;
  int64_t block_;
  std::mutex mu_;
  int64_t next_;
  int64_t limit_;  // persisted: ids below it may have been handed out
};

}  // namespace kite
