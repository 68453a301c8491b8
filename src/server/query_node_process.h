// `kite querynode`: a query node in its own process. It holds no catalog and
// no registry: it serves QueryNodeService (role_grpc.h) on its port and loads
// the sealed segments and indexes the coordinator's query view names
// (LoadSegments, LoadIndex) from the shared object store. It registers a
// `querynode` session in etcd (cluster/session.h) with its address, which is
// how the coordinator finds it, and stops when that session's lease is lost
// (the coordinator has moved its segments by then), as Milvus's nodes do.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"

namespace kite {

class QueryNodeProcess {
 public:
  static Result<std::unique_ptr<QueryNodeProcess>> Open(const ServerConfig& config, int port);
  virtual ~QueryNodeProcess() = default;
  // Serves until Shutdown() or the loss of the session; returns why it stopped.
  virtual Status Run() = 0;
  // Thread-safe; may be called from a signal-handling thread.
  virtual void Shutdown() = 0;
};

}  // namespace kite
