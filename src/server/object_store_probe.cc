#include "server/object_store_probe.h"

#include <spdlog/spdlog.h>

#include "storage/object/s3_object_store.h"

namespace kite {
namespace {

// A prefix no Kite object lives under: its LIST is one empty page.
constexpr char kProbePrefix[] = "kite-health-probe/";

}  // namespace

Result<std::unique_ptr<ObjectStoreProbe>> ObjectStoreProbe::Open(const ServerConfig& config,
                                                                 const ObjectStoreProbeOptions& options) {
  std::unique_ptr<ObjectStore> store;
  if (config.object_storage.IsS3()) {
    S3Options s3 = config.object_storage.s3;
    s3.max_attempts = 1;
    s3.request_timeout_ms = options.timeout_ms;
    s3.max_connections = 1;
    KITE_ASSIGN_OR_RETURN(store, OpenS3ObjectStore(s3));
  }
  return std::unique_ptr<ObjectStoreProbe>(new ObjectStoreProbe(std::move(store), options));
}

bool ObjectStoreProbe::Reachable() {
  if (!store_) return true;
  std::lock_guard l(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (checked_once_ && now - checked_ < std::chrono::milliseconds(options_.ttl_ms)) return reachable_;
  auto listed = store_->List(kProbePrefix);
  const bool reachable = listed.ok();
  if (reachable != reachable_) {
    if (reachable) {
      spdlog::info("object store reachable again");
    } else {
      spdlog::warn("object store unreachable: {}", listed.status().message());
    }
  }
  reachable_ = reachable;
  checked_ = std::chrono::steady_clock::now();
  checked_once_ = true;
  return reachable_;
}

}  // namespace kite
