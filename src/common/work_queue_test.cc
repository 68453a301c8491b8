#include "common/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

namespace kite {
namespace {

TEST(WorkQueueTest, RunsEveryTaskOnItsOwnThreads) {
  std::atomic<int> ran{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  {
    WorkQueue q(2);
    for (int i = 0; i < 100; ++i) {
      q.Submit([&] {
        ++ran;
        std::lock_guard lock(mu);
        ids.insert(std::this_thread::get_id());
      });
    }
  }  // the destructor drains the queue
  EXPECT_EQ(ran.load(), 100);
  EXPECT_FALSE(ids.count(std::this_thread::get_id()));
  EXPECT_LE(ids.size(), 2u);
}

TEST(WorkQueueTest, ABlockedTaskDoesNotHoldTheOthers) {
  WorkQueue q(2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  q.Submit([gate] { gate.wait(); });  // holds one worker until released
  std::promise<int> second;
  q.Submit([&] { second.set_value(7); });
  auto f = second.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
  release.set_value();
}

}  // namespace
}  // namespace kite
