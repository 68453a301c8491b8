// LeaseKeeper: holds a MetaStore lease alive from a background thread (a
// keep-alive every ttl/3) for as long as the object lives, and revokes it at
// destruction (so the lease's keys vanish at once, as a graceful stop of a
// Milvus session does). When the lease is lost (the store says it expired, or
// no keep-alive succeeded for a whole TTL) lost() turns true and on_lost runs
// once, on the keeper's thread: the holder must then stop acting on what the
// lease stood for (a session, a leadership).
//
// Thread-safe. The store must outlive the keeper.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/meta/meta_store.h"

namespace kite {

class LeaseKeeper {
 public:
  static Result<std::unique_ptr<LeaseKeeper>> Start(MetaStore* store, int64_t ttl_s, std::function<void()> on_lost);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  LeaseId lease() const { return lease_; }
  bool lost() const { return lost_.load(); }

 private:
  LeaseKeeper(MetaStore* store, LeaseId lease, int64_t ttl_s, std::function<void()> on_lost);
  void Run();

  MetaStore* store_;
  const LeaseId lease_;
  const int64_t ttl_s_;
  std::function<void()> on_lost_;
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kite
