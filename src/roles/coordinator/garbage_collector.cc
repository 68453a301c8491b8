#include "roles/coordinator/garbage_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "common/timestamp.h"

namespace kite {

namespace {

// The objects of every collection live under this prefix (segment_file.h, index_file.h).
constexpr const char* kCollectionsPrefix = "collections/";

bool IsPrefix(const std::string& key) { return !key.empty() && key.back() == '/'; }

// Whether `key` is named by a garbage record (itself, or under a prefix).
bool CoveredByGarbage(const std::string& key, const std::vector<GarbageRecord>& garbage) {
  for (const auto& g : garbage) {
    if (IsPrefix(g.key) ? key.starts_with(g.key) : key == g.key) return true;
  }
  return false;
}

}  // namespace

GarbageCollector::GarbageCollector(SegmentRegistry* registry, ObjectStore* store, Wal* wal, GcOptions options)
    : registry_(registry), store_(store), wal_(wal), options_(std::move(options)) {}

GarbageCollector::~GarbageCollector() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t GarbageCollector::NowMs() const {
  return options_.clock_ms ? options_.clock_ms() : static_cast<int64_t>(WallClockMs());
}

Status GarbageCollector::FinishDrops() {
  KITE_ASSIGN_OR_RETURN(std::vector<DroppingCollection> dropping, registry_->ListDropping());
  for (const DroppingCollection& d : dropping) {
    spdlog::info("finishing the interrupted drop of collection {} ({} channels)", d.collection.value,
                 d.channels.size());
    for (const auto& ch : d.channels) KITE_RETURN_IF_ERROR(wal_->DropChannel(ch));
    KITE_RETURN_IF_ERROR(registry_->DropCollection(d.collection, d.channels));
  }
  return Status::OK();
}

Result<GcPassResult> GarbageCollector::RunOnce() {
  std::lock_guard pass(pass_mu_);
  GcPassResult out;
  const int64_t now = NowMs();

  // Garbage older than the drop tolerance.
  const int64_t drop_tolerance_ms = options_.drop_tolerance_s * 1000;
  std::vector<std::string> deleted;
  for (const GarbageRecord& g : registry_->ListGarbage()) {
    if (now - g.dropped_ms < drop_tolerance_ms) {
      ++out.garbage_waiting;
      continue;
    }
    Status st = IsPrefix(g.key) ? store_->DeletePrefix(g.key) : store_->Delete(g.key);
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      spdlog::warn("gc: deleting {} failed, retried at the next pass: {}", g.key, st.ToString());
      continue;
    }
    deleted.push_back(g.key);
  }
  if (!deleted.empty()) KITE_RETURN_IF_ERROR(registry_->ForgetGarbage(deleted));
  out.garbage_deleted = static_cast<int64_t>(deleted.size());

  // Orphans: listed first, references read after, so an object whose
  // record is committed before the references are read is never taken for one.
  KITE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, store_->ListInfo(kCollectionsPrefix));
  const std::set<std::string> referenced = registry_->ReferencedKeys();
  const std::vector<GarbageRecord> garbage = registry_->ListGarbage();
  const int64_t missing_tolerance_ms = options_.missing_tolerance_s * 1000;
  for (const ObjectInfo& o : objects) {
    if (o.modified_ms == ObjectInfo::kUnknownModified || now - o.modified_ms < missing_tolerance_ms) continue;
    if (referenced.count(o.key) || CoveredByGarbage(o.key, garbage)) continue;
    Status st = store_->Delete(o.key);
    if (!st.ok()) {
      spdlog::warn("gc: deleting orphan {} failed: {}", o.key, st.ToString());
      continue;
    }
    ++out.orphans_deleted;
  }
  if (out.garbage_deleted > 0 || out.orphans_deleted > 0) {
    spdlog::info("gc: deleted {} garbage records' objects and {} orphans; {} records wait for the tolerance",
                 out.garbage_deleted, out.orphans_deleted, out.garbage_waiting);
  }
  return out;
}

void GarbageCollector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void GarbageCollector::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(std::max<int64_t>(options_.interval_s, 1)), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    auto r = RunOnce();
    if (!r.ok()) spdlog::warn("gc pass failed: {}", r.status().ToString());
    lock.lock();
  }
}

}  // namespace kite
