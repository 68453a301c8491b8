// A cheap, cached reachability check of the object store for /healthz
// (issue 15): with common.storageType minio / remote, one ListObjectsV2 of a
// prefix that holds nothing (a single request, no continuation), on a store
// of its own that tries once with a short timeout, so /healthz answers
// within about `timeout_ms` even while the S3 service hangs or is gone. The
// answer is reused for `ttl_ms`, so a scraper polling /healthz costs the
// service at most one request per ttl. A local object store (a directory)
// is always reachable.
//
// Thread-safe: concurrent callers during a probe wait for its answer.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "server/config.h"
#include "storage/object/object_store.h"

namespace kite {

struct ObjectStoreProbeOptions {
  int ttl_ms = 3000;      // how long an answer is reused
  int timeout_ms = 2000;  // one attempt's limit
};

class ObjectStoreProbe {
 public:
  // Connects a probing store when the config names an S3 service (which must
  // be reachable now, as for the server's own store).
  static Result<std::unique_ptr<ObjectStoreProbe>> Open(const ServerConfig& config,
                                                        const ObjectStoreProbeOptions& options);
  ObjectStoreProbe(const ObjectStoreProbe&) = delete;
  ObjectStoreProbe& operator=(const ObjectStoreProbe&) = delete;

  // True when the object store answered the last probe (at most ttl_ms old).
  bool Reachable();

 private:
  ObjectStoreProbe(std::unique_ptr<ObjectStore> store, ObjectStoreProbeOptions options)
      : store_(std::move(store)), options_(options) {}

  const std::unique_ptr<ObjectStore> store_;  // null: local store, nothing to probe
  const ObjectStoreProbeOptions options_;
  std::mutex mu_;
  bool reachable_ = true;                                    // guarded by mu_
  std::chrono::steady_clock::time_point checked_{};          // guarded by mu_
  bool checked_once_ = false;                                // guarded by mu_
};

}  // namespace kite
