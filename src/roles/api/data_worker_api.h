// The data node's worker API: one index build or one compaction, given as a
// task that names the segment files and what to do with them, answered with
// the file(s) it wrote (ARCHITECTURE.md "Data nodes as processes"). The coordinator's
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
#include "segment/segment.h"

namespace kite {

struct BuiltIndex {
  datapb::BuildIndexResponse file;
  // The built index in memory (a worker in the coordinator's process only):
  // the query node there takes it instead of reading the file.
  std::shared_ptr<const index::VectorIndex> vector;
  std::shared_ptr<const index::ScalarIndex> scalar;
};

struct CompactedSegment {
  datapb::CompactResponse result;
  // The merged segment in memory (a worker in the coordinator's process
  // only): the query node there takes it instead of reading the files.
  std::shared_ptr<Segment> merged;
};

class DataWorkerApi {
 public:
  virtual ~DataWorkerApi() = default;
  // Builds and writes the index file. kIOError when the object store (or,
  // remotely, the worker) cannot be reached: the build is retried later,
  // elsewhere if need be; any other error is the index's own (bad params).
  virtual Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) = 0;
  // Merges the inputs into the result segment and writes its files. Errors
  // as BuildIndex.
  virtual Result<CompactedSegment> Compact(const datapb::CompactRequest& req) = 0;
  // A remote worker whose session ended: its builds in flight return now,
  // as unreachable, so that they go to another worker.
  virtual void CancelInFlight() {}
  // How many builds the scheduler may give it at once.
  virtual int Parallelism() const { return 1; }
};

}  // namespace kite
