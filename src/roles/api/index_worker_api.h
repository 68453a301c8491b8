// The data node's worker API: one index build, given as a task that names
// the segment's files and the index definition, answered with the index file
// it wrote (ARCHITECTURE.md "Data nodes as processes"). The coordinator's
// scheduler (roles/datanode/data_node.h) decides what to build, hands each
// build to a worker — the one in its own process, or a `kite datanode`
// process (data_grpc.h) — and commits the result (SegmentMetaApi::
// CommitSegmentIndex) and hands it to the query side. A worker holds no
// state: a build that was lost with its worker is simply given to another,
// which writes the same file key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "data_service.pb.h"
#include "index/scalar/scalar_index.h"
#include "index/vector_index.h"

namespace kite {

struct BuiltIndex {
  datapb::BuildIndexResponse file;
  // The built index in memory (a worker in the coordinator's process only):
  // the query node there takes it instead of reading the file.
  std::shared_ptr<const index::VectorIndex> vector;
  std::shared_ptr<const index::ScalarIndex> scalar;
};

class IndexWorkerApi {
 public:
  virtual ~IndexWorkerApi() = default;
  // Builds and writes the index file. kIOError when the object store (or,
  // remotely, the worker) cannot be reached: the build is retried later,
  // elsewhere if need be; any other error is the index's own (bad params).
  virtual Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) = 0;
  // A remote worker whose session ended: its builds in flight return now,
  // as unreachable, so that they go to another worker.
  virtual void CancelInFlight() {}
  // How many builds the scheduler may give it at once.
  virtual int Parallelism() const { return 1; }
};

}  // namespace kite
