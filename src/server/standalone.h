// `kite standalone`: every role in one process (DESIGN.md §2). Opens the data
// directory (exclusive lock, RocksDB meta store), composes the coordinator and
// the proxy through their C++ interfaces, and serves the Milvus gRPC API and
// RESTful API v2 on one port (port_mux.h) plus the health endpoint. Run()
// blocks until Shutdown() (called from a signal thread) or a fatal error.
#pragma once

#include <functional>

#include <memory>

#include "common/status.h"
#include "server/config.h"

namespace kite {

class Standalone {
 public:
  // `stop_requested` (may be empty) is polled while Open waits: a stand-by
  // coordinator (mixCoord.enableActiveStandby) waits there until it is active.
  static Result<std::unique_ptr<Standalone>> Open(const ServerConfig& config,
                                                  std::function<bool()> stop_requested = {});
  virtual ~Standalone() = default;
  // Serves until Shutdown(); returns the reason serving stopped.
  virtual Status Run() = 0;
  // Thread-safe; may be called from a signal-handling thread.
  virtual void Shutdown() = 0;
};

}  // namespace kite
