// LocalDataWorker: the data node's tasks themselves (roles/api/
// data_worker_api.h), run in the coordinator's process by its scheduler, or
// in a `kite datanode` process behind DataNodeService (data_grpc.h). An
// index build reads the indexed field's column (from the query node in this
// process when it holds the segment, else from the segment's files), builds
// the index with `build_threads` threads and writes the index file; a
// compaction merges the input segments' files without the deleted rows into
// the result's files. Commits nothing.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include "roles/api/data_worker_api.h"
#include "roles/api/role_api.h"
#include "storage/object/object_store.h"

namespace kite {

class LocalDataWorker final : public DataWorkerApi {
 public:
  // `query_node` may be null (a data node process reads the files).
  LocalDataWorker(ObjectStore* store, QueryNodeApi* query_node, int build_threads)
      : store_(store), query_node_(query_node), build_threads_(build_threads) {}

  Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) override;
  Result<CompactedSegment> Compact(const datapb::CompactRequest& req) override;

 private:
  ObjectStore* store_;
  QueryNodeApi* query_node_;
  int build_threads_;
};

// The data node processes a scheduler hands builds to (kite.dataNodes:
// remote), fed with their sessions. A build goes to the worker that has run
// the fewest; one that cannot be reached (dead, or stopped answering within
// the call's deadline) is skipped and the build given to the next. With no
// worker left: kIOError, Reason::kServiceUnavailable "no data node ..." (the
// scheduler retries on a later pass). Thread-safe.
class DataWorkerPool final : public DataWorkerApi {
 public:
  void Add(int64_t id, std::string address, std::shared_ptr<DataWorkerApi> worker);
  void Remove(int64_t id);
  Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) override;
  Result<CompactedSegment> Compact(const datapb::CompactRequest& req) override;
  // One build per data node process.
  int Parallelism() const override;

  struct Worker {
    int64_t id = 0;
    std::string address;
    int64_t builds = 0;  // tasks (builds, compactions) it completed
  };
  std::vector<Worker> Workers() const;

 private:
  // Runs `task` on the worker that has done the fewest, the next one when it
  // cannot be reached; `what` names the task in logs and errors.
  template <typename Out>
  Result<Out> Dispatch(const std::string& what, const std::function<Result<Out>(DataWorkerApi*)>& task);

  struct Entry {
    std::string address;
    std::shared_ptr<DataWorkerApi> api;
    int64_t builds = 0;
    int64_t running = 0;
  };
  mutable std::mutex mu_;
  std::map<int64_t, Entry> workers_;
};

// Runs a compaction task (compaction.cc): reads the inputs and the delete
// logs from `store`, writes the merged segment's files.
Result<CompactedSegment> RunCompactionTask(ObjectStore* store, const datapb::CompactRequest& req);

// The task for building `index` on `segment` of `collection`.
datapb::BuildIndexRequest IndexBuildTask(CollectionId collection, const std::string& collection_name,
                                         const SegmentRecord& segment, const IndexInfo& index);

}  // namespace kite
