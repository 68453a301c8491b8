// GarbageCollector: deletes the objects no record references any more
// (Milvus's datacoord garbage_collector.go), so that nothing else ever
// deletes an object a slower reader may still be reading.
//
//   * Garbage: objects (or prefixes) that a meta batch stopped referencing —
//     inputs of a compaction, segments of a dropped partition, files of a
//     dropped or damaged index, a dropped collection's prefix — recorded by
//     SegmentRegistry in that batch. Deleted once older than
//     `drop_tolerance_s` (dataCoord.gc.dropTolerance), then forgotten.
//   * Orphans: objects under "collections/" that no segment, segment index,
//     delta or garbage record names (a crash between a file write and its meta
//     commit), deleted once their modification time is older than
//     `missing_tolerance_s` (dataCoord.gc.missingTolerance). An object whose
//     store cannot tell its age is never an orphan.
//   * Interrupted drops: FinishDrops, called at start before any collection is
//     opened, finishes a drop_collection a crash stopped after its catalog
//     batch (WAL channels, segment and checkpoint records; the objects then
//     become garbage like any other drop's).
//
// One pass every `interval_s` (dataCoord.gc.interval) on its own thread once
// Start()ed; RunOnce runs a pass on the caller's thread (tests). A failed
// delete is logged and retried at the next pass. Thread-safe. Borrows its
// dependencies; they must outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "roles/coordinator/segment_registry.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

namespace kite {

struct GcOptions {
  int64_t interval_s = 3600;            // dataCoord.gc.interval
  int64_t drop_tolerance_s = 10800;     // dataCoord.gc.dropTolerance
  int64_t missing_tolerance_s = 86400;  // dataCoord.gc.missingTolerance
  // Unix ms now; empty: the wall clock (tests move time forward).
  std::function<int64_t()> clock_ms;
};

struct GcPassResult {
  int64_t garbage_deleted = 0;  // garbage records whose objects were deleted
  int64_t garbage_waiting = 0;  // garbage records younger than the tolerance
  int64_t orphans_deleted = 0;  // unreferenced objects deleted
};

class GarbageCollector {
 public:
  GarbageCollector(SegmentRegistry* registry, ObjectStore* store, Wal* wal, GcOptions options);
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Finishes drop_collections a crash interrupted. Call before the streaming
  // node opens any channel (their channels are not served any more).
  Status FinishDrops();
  // One collection pass now, on this thread.
  Result<GcPassResult> RunOnce();
  // Starts the periodic thread.
  void Start();

 private:
  int64_t NowMs() const;
  void Loop();

  SegmentRegistry* registry_;
  ObjectStore* store_;
  Wal* wal_;
  GcOptions options_;
  std::mutex pass_mu_;  // one pass at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kite
