#include "storage/meta/lease_keeper.h"

#include <spdlog/spdlog.h>

namespace kite {

Result<std::unique_ptr<LeaseKeeper>> LeaseKeeper::Start(MetaStore* store, int64_t ttl_s,
                                                        std::function<void()> on_lost) {
  KITE_ASSIGN_OR_RETURN(LeaseId lease, store->GrantLease(ttl_s));
  return std::unique_ptr<LeaseKeeper>(new LeaseKeeper(store, lease, ttl_s, std::move(on_lost)));
}

LeaseKeeper::LeaseKeeper(MetaStore* store, LeaseId lease, int64_t ttl_s, std::function<void()> on_lost)
    : store_(store), lease_(lease), ttl_s_(ttl_s), on_lost_(std::move(on_lost)) {
  thread_ = std::thread([this] { Run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!lost_) {
    Status st = store_->RevokeLease(lease_);
    if (!st.ok()) spdlog::warn("lease {}: revoke at stop failed ({}); it expires by itself", lease_, st.ToString());
  }
}

void LeaseKeeper::Run() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(std::max<int64_t>(ttl_s_ * 1000 / 3, 100));
  auto last_ok = Clock::now();
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period, [&] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Status st = store_->KeepAliveLease(lease_);
    lock.lock();
    if (st.ok()) {
      last_ok = Clock::now();
      continue;
    }
    bool gone = st.code() == StatusCode::kNotFound || Clock::now() - last_ok >= std::chrono::seconds(ttl_s_);
    spdlog::warn("lease {}: keep-alive failed: {}{}", lease_, st.ToString(), gone ? " (lease lost)" : "");
    if (gone) {
      lost_ = true;
      lock.unlock();
      if (on_lost_) on_lost_();
      return;
    }
  }
}

}  // namespace kite
