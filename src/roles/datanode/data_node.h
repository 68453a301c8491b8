// DataNode: background work on sealed segments (DESIGN.md §1): index builds
// and compaction.
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
// Compaction (Milvus's mix and single compaction) runs on the same worker:
//   * small sealed segments (under small_proportion x segment_bytes_max) of one
//     (channel, partition) are merged, up to segment_bytes_max per result;
//   * a segment whose deleted rows pass delete_ratio is rewritten without them.
// Deleted rows (delta files) are purged from the result; rows keep their
// timestamps. The result is written, then committed in one meta batch that
// removes the inputs (and their index records), then swapped in at the query
// node, which carries over deletes that arrived meanwhile; the index build
// loop then indexes the result. Automatic every compaction_interval_ms, and
// at once for merges of segments that have no index yet (they are merged
// before being indexed: one build per result, one graph per search);
// manual through RequestCompaction (compact()), which also purges any deleted
// row and merges every small segment.
//
// Thread-safe. Borrows every dependency; they must outlive it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "roles/coordinator/coordinator.h"
#include "roles/api/role_api.h"
#include "roles/api/segment_meta_api.h"
#include "roles/datanode/data_worker.h"
#include "storage/object/object_store.h"

namespace kite {

struct DataNodeOptions {
  int build_threads = 0;            // 0 = hardware concurrency
  int64_t scan_interval_ms = 1000;  // how often the build loop looks for work unkicked
  size_t segment_bytes_max = 1024ull << 20;  // compaction results stay below this
  double small_proportion = 0.5;            // "small" segment: below this share of the max
  double delete_ratio = 0.2;                // rewrite a segment once this share of its rows is deleted
  int64_t compaction_interval_ms = 10'000;  // automatic compaction checks; 0 = manual only
};

class DataNode : public DataNodeApi {
 public:
  DataNode(ObjectStore* store, SegmentMetaApi* registry, CoordinatorApi* coordinator, QueryNodeApi* query_node,
           DataNodeOptions options);
  ~DataNode();
  DataNode(const DataNode&) = delete;
  DataNode& operator=(const DataNode&) = delete;

  // Starts the worker thread.
  void Start();
  // Where index builds run: by default the worker in this process; with
  // kite.dataNodes: remote, `workers` (the data node processes, an
  // DataWorkerPool). Call before Start(); must outlive this.
  void UseWorkers(DataWorkerApi* workers) { workers_ = workers; }
  // Asks the worker to look for work now.
  void Kick() override;
  // Build state of one index definition of a collection.
  // `as_of`: the state covers segments holding rows at or before it (Milvus:
  // DescribeIndexRequest.timestamp); 0 means the index's creation.
  IndexProgress Progress(CollectionId collection, const IndexInfo& index, Timestamp as_of) const override;
  // Blocks until a full pass found nothing left to build (tests, benchmarks).
  void WaitIdle();

  // Queues a manual compaction of the collection; returns its job id.
  Result<int64_t> RequestCompaction(CollectionId collection) override;
  CompactionJob GetCompaction(int64_t job) const override;

  // Whether the last index build or compaction that reached the object store
  // was deferred by an IOError (store unreachable), with no success since:
  // the data node's /healthz state (Abnormal while true).
  bool StorageFailing() const { return storage_failing_.load(); }

 private:
  // One pass over every collection; returns whether it did any work.
  bool Pass();
  bool PassCollection(const CollectionView& c);
  Status Build(const CollectionView& c, const IndexInfo& index, const SegmentRecord& segment);
  void Loop();

  struct Plan {
    std::vector<SegmentRecord> segments;
  };
  // Compaction plans of one collection; `manual` merges every small segment
  // and rewrites any segment with a deleted row.
  Result<std::vector<Plan>> PlanCompactions(const CollectionView& c, bool manual);
  Status RunCompaction(const CollectionView& c, const Plan& plan);
  // Runs pending manual jobs and, when due, automatic checks; returns whether it did work.
  bool CompactionPass(const std::vector<CollectionView>& collections);
  // Whether automatic compaction applies to the collection.
  bool AutoCompactionOn(const CollectionView& c) const;
  // Runs, ahead of the compaction interval, the automatic merges whose inputs
  // have no index yet (`built` holds (segment, index) pairs): freshly sealed
  // small segments are merged first and the result indexed once, instead of
  // indexing each and rebuilding after the merge. Returns whether it merged.
  bool MergeBeforeBuild(const CollectionView& c, const std::set<std::pair<int64_t, int64_t>>& built);

  ObjectStore* store_;
  SegmentMetaApi* registry_;
  CoordinatorApi* coord_;
  QueryNodeApi* query_node_;
  DataNodeOptions options_;
  std::unique_ptr<LocalDataWorker> local_worker_;  // builds in this process
  DataWorkerApi* workers_ = nullptr;               // UseWorkers: builds elsewhere

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  bool in_pass_ = false;
  uint64_t passes_ = 0;          // completed passes
  bool last_pass_idle_ = false;  // the last completed pass found nothing to do
  std::map<int64_t, std::string> failed_;  // index id -> first failure reason
  int64_t next_job_ = 1;
  std::map<int64_t, std::pair<int64_t, CompactionJob>> jobs_;  // job id -> (collection id, state)
  std::chrono::steady_clock::time_point last_auto_compaction_ = std::chrono::steady_clock::now();
  std::thread worker_;
  std::atomic<bool> storage_failing_{false};
};

}  // namespace kite
