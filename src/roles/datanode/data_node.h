// DataNode: background work on sealed segments (DESIGN.md §1): index builds
// now, compaction next to them.
//
// Index builds follow Milvus's DataCoord/IndexNode loop rather than events: a
// worker thread periodically (and at once when kicked: after a flush, a
// create_index, a compaction) compares, per collection, the flushed segments
// in the SegmentRegistry with the index definitions in the coordinator, and
//   * builds every missing (segment, index) pair: reads the segment's column
//     and timestamps from the object store, builds the index
//     (index/vector_index.h), writes it as an index file (segment/index_file.h),
//     commits a SegmentIndexRecord, then hands the index to the query node,
//     which swaps it in for exact search of that segment;
//   * forgets indexes whose definition was dropped: records, files, and the
//     copies attached in the query node.
// A build never holds a lock that inserts or searches need; one build runs at
// a time, with `build_threads` threads. A build that fails is not retried
// until the index is re-created (or the server restarts); its reason is
// reported by Progress (Milvus's index_state_fail_reason).
//
// Thread-safe. Borrows every dependency; they must outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/querynode/query_node.h"
#include "storage/object/object_store.h"

namespace kite {

struct DataNodeOptions {
  int build_threads = 0;           // 0 = hardware concurrency
  int64_t scan_interval_ms = 1000;  // how often the build loop looks for work unkicked
};

struct IndexProgress {
  int64_t total_rows = 0;    // rows of flushed segments
  int64_t indexed_rows = 0;  // rows of flushed segments whose index is built
  bool failed = false;
  std::string fail_reason;
};

class DataNode {
 public:
  DataNode(ObjectStore* store, SegmentRegistry* registry, CoordinatorApi* coordinator, QueryNode* query_node,
           DataNodeOptions options);
  ~DataNode();
  DataNode(const DataNode&) = delete;
  DataNode& operator=(const DataNode&) = delete;

  // Starts the worker thread.
  void Start();
  // Asks the worker to look for work now.
  void Kick();
  // Build state of one index definition of a collection.
  IndexProgress Progress(CollectionId collection, const IndexInfo& index) const;
  // Blocks until a full pass found nothing left to build (tests, benchmarks).
  void WaitIdle();

 private:
  // One pass over every collection; returns whether it did any work.
  bool Pass();
  bool PassCollection(const CollectionView& c);
  Status Build(const CollectionView& c, const IndexInfo& index, const SegmentRecord& segment);
  void Loop();

  ObjectStore* store_;
  SegmentRegistry* registry_;
  CoordinatorApi* coord_;
  QueryNode* query_node_;
  DataNodeOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  bool in_pass_ = false;
  uint64_t passes_ = 0;          // completed passes
  bool last_pass_idle_ = false;  // the last completed pass found nothing to do
  std::map<int64_t, std::string> failed_;  // index id -> first failure reason
  std::thread worker_;
};

}  // namespace kite
