#include "roles/coordinator/tso.h"

#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace kite {
namespace {

std::unique_ptr<Tso> OpenTso(MetaStore* meta, uint64_t window_ms = 3000) {
  auto r = Tso::Open(meta, window_ms);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::unique_ptr<IdAllocator> OpenIds(MetaStore* meta, int64_t block = 10000) {
  auto r = IdAllocator::Open(meta, block);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

Timestamp AllocTs(Tso* tso, uint32_t count = 1) {
  auto r = tso->Alloc(count);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : 0;
}

int64_t AllocId(IdAllocator* ids) {
  auto r = ids->Alloc();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : -1;
}

TEST(TsoTest, TimestampsStrictlyIncrease) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  uint64_t before = WallClockMs();
  Timestamp prev = 0;
  for (int i = 0; i < 200000; ++i) {
    Timestamp ts = AllocTs(tso.get());
    ASSERT_GT(ts, prev) << "at " << i;
    prev = ts;
  }
  // The physical part tracks the wall clock.
  EXPECT_GE(PhysicalMs(prev), before);
  EXPECT_LE(PhysicalMs(prev), WallClockMs() + 3000);
}

TEST(TsoTest, BatchAllocReservesCountTimestamps) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  Timestamp a = AllocTs(tso.get());
  Timestamp b = AllocTs(tso.get(), 100);
  Timestamp c = AllocTs(tso.get());
  // b is the last of 100 consecutive timestamps, all above a.
  EXPECT_GE(b - 99, a + 1);
  EXPECT_GT(c, b);
}

TEST(TsoTest, LogicalOverflowBorrowsNextMillisecond) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  Timestamp prev = AllocTs(tso.get());
  // Exhaust the logical space several times over, faster than the clock moves.
  for (int i = 0; i < 8; ++i) {
    Timestamp ts = AllocTs(tso.get(), static_cast<uint32_t>(kLogicalMask / 2));
    ASSERT_GT(ts, prev);
    ASSERT_LE(Logical(ts), kLogicalMask);
    prev = ts;
  }
}

// Degenerate counts: Milvus's TSO rejects count 0 and counts that do not fit the
// logical space. Either an error or a correct answer is acceptable; handing out
// an already-issued timestamp is not.
TEST(TsoTest, ZeroCountNeverRepeatsATimestamp) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  Timestamp prev = AllocTs(tso.get());
  auto r = tso->Alloc(0);
  if (r.ok()) {
    EXPECT_GT(*r, prev) << "Alloc(0) returned an already-issued timestamp";
  }
}

TEST(TsoTest, CountLargerThanLogicalSpaceNeverOverlaps) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  Timestamp prev = AllocTs(tso.get());
  const uint32_t count = static_cast<uint32_t>(kLogicalMask) + 10;
  auto r = tso->Alloc(count);
  if (r.ok()) {
    // The `count` timestamps [ts - count + 1, ts] must all be new.
    EXPECT_GT(*r - (count - 1), prev) << "range of Alloc(" << count << ") overlaps issued timestamps";
  }
}

TEST(TsoTest, ConcurrentAllocationsAreUnique) {
  auto meta = NewMemoryMetaStore();
  auto tso = OpenTso(meta.get());
  ASSERT_NE(tso, nullptr);
  constexpr int kThreads = 4, kPer = 20000;
  std::vector<std::vector<Timestamp>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto r = tso->Alloc();
        if (r.ok()) got[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<Timestamp> all;
  for (const auto& v : got) {
    ASSERT_EQ(v.size(), static_cast<size_t>(kPer));
    for (size_t i = 1; i < v.size(); ++i) ASSERT_GT(v[i], v[i - 1]);  // per thread, increasing
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPer));
}

TEST(TsoTest, ReopenStartsAboveLastIssued) {
  auto meta = NewMemoryMetaStore();
  Timestamp last = 0;
  {
    auto tso = OpenTso(meta.get());
    ASSERT_NE(tso, nullptr);
    for (int i = 0; i < 1000; ++i) last = AllocTs(tso.get());
  }
  for (int round = 0; round < 3; ++round) {
    auto tso = OpenTso(meta.get());
    ASSERT_NE(tso, nullptr);
    Timestamp first = AllocTs(tso.get());
    EXPECT_GT(first, last) << "round " << round;
    last = first;
    for (int i = 0; i < 10; ++i) {
      Timestamp ts = AllocTs(tso.get());
      ASSERT_GT(ts, last);
      last = ts;
    }
  }
}

TEST(TsoTest, ReopenStaysAboveEvenWhenPersistedMarkIsFarAhead) {
  // Simulates a wall clock that went backwards: the persisted high-water mark
  // is an hour in the future.
  auto meta = NewMemoryMetaStore();
  Timestamp last = 0;
  {
    auto tso = OpenTso(meta.get(), /*window_ms=*/3600 * 1000);
    ASSERT_NE(tso, nullptr);
    last = AllocTs(tso.get());
  }
  auto tso = OpenTso(meta.get(), 3000);
  ASSERT_NE(tso, nullptr);
  Timestamp first = AllocTs(tso.get());
  EXPECT_GT(first, last);
  EXPECT_GE(PhysicalMs(first), PhysicalMs(last) + 3600 * 1000 - 1000);
}

TEST(TsoTest, CorruptPersistedMarkFailsOpen) {
  auto meta = NewMemoryMetaStore();
  {
    auto tso = OpenTso(meta.get());
    ASSERT_NE(tso, nullptr);
    AllocTs(tso.get());
  }
  // Overwrite every key the TSO wrote with garbage.
  std::vector<std::string> keys;
  ASSERT_TRUE(meta->Scan("", [&](std::string_view k, std::string_view) { keys.emplace_back(k); }).ok());
  ASSERT_FALSE(keys.empty());
  MetaBatch b;
  for (const auto& k : keys) b.Put(k, "not-a-number");
  ASSERT_TRUE(meta->Commit(b).ok());
  auto r = Tso::Open(meta.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

TEST(IdAllocatorTest, IdsAreUniqueAndIncreasing) {
  auto meta = NewMemoryMetaStore();
  auto ids = OpenIds(meta.get(), /*block=*/7);
  ASSERT_NE(ids, nullptr);
  int64_t prev = AllocId(ids.get());
  EXPECT_GT(prev, 0);
  for (int i = 0; i < 1000; ++i) {
    int64_t id = AllocId(ids.get());
    ASSERT_GT(id, prev);
    prev = id;
  }
}

TEST(IdAllocatorTest, UniqueAndIncreasingAcrossReopen) {
  auto meta = NewMemoryMetaStore();
  std::set<int64_t> seen;
  int64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    auto ids = OpenIds(meta.get(), /*block=*/10);
    ASSERT_NE(ids, nullptr);
    // Stop mid-block in some rounds, at a block boundary in others.
    int n = round % 2 == 0 ? 3 : 10;
    for (int i = 0; i < n; ++i) {
      int64_t id = AllocId(ids.get());
      ASSERT_GT(id, last) << "round " << round;
      ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id;
      last = id;
    }
  }
}

TEST(IdAllocatorTest, UniqueAcrossReopenOverRocksDb) {
  std::string tmpl = ::testing::TempDir() + "kite_ids_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::set<int64_t> seen;
  int64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    auto m = OpenRocksDbMetaStore(tmpl);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    auto ids = OpenIds(m->get());
    ASSERT_NE(ids, nullptr);
    for (int i = 0; i < 5; ++i) {
      int64_t id = AllocId(ids.get());
      ASSERT_GT(id, last);
      ASSERT_TRUE(seen.insert(id).second);
      last = id;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
}

TEST(IdAllocatorTest, CountReservesConsecutiveRanges) {
  auto meta = NewMemoryMetaStore();
  int64_t end = 0;
  {
    auto ids = OpenIds(meta.get(), /*block=*/10);
    ASSERT_NE(ids, nullptr);
    auto a = ids->Alloc(25);  // larger than a block
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto b = ids->Alloc(3);
    ASSERT_TRUE(b.ok());
    EXPECT_GE(*b, *a + 25);
    end = *b + 3;
    EXPECT_FALSE(ids->Alloc(0).ok());
    EXPECT_FALSE(ids->Alloc(-1).ok());
  }
  auto ids = OpenIds(meta.get(), /*block=*/10);
  ASSERT_NE(ids, nullptr);
  auto c = ids->Alloc(50);
  ASSERT_TRUE(c.ok());
  EXPECT_GE(*c, end);
  // The whole reserved range is durable: the next open starts after it.
  ids.reset();
  ids = OpenIds(meta.get(), 10);
  ASSERT_NE(ids, nullptr);
  EXPECT_GE(AllocId(ids.get()), *c + 50);
}

TEST(IdAllocatorTest, ConcurrentAllocationsAreUnique) {
  auto meta = NewMemoryMetaStore();
  auto ids = OpenIds(meta.get(), /*block=*/13);
  ASSERT_NE(ids, nullptr);
  constexpr int kThreads = 4, kPer = 5000;
  std::vector<std::vector<int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto r = ids->Alloc();
        if (r.ok()) got[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPer));
}

}  // namespace
}  // namespace kite
