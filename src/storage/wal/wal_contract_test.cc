// The Wal contract (wal.h), run against the embedded WAL and the Kafka WAL
// alike: LSNs from 1, replay from a checkpoint, reopen, truncation, drop, and
// fencing by term. Kafka runs on a real broker started once for this binary
// (storage/testing/kafka_broker.h); the Kafka-only cases (broker outage) are
// at the end.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/meta/meta_store.h"
#include "storage/testing/kafka_broker.h"
#include "storage/wal/kafka_wal.h"
#include "storage/wal/wal.h"
#include "storage/wal/wal_term.h"

namespace kite {
namespace {

using Records = std::vector<std::pair<Lsn, std::string>>;

Records ReplayAll(WalChannel& ch, Lsn after) {
  Records out;
  Status st = ch.Replay(after, [&](Lsn lsn, std::string_view p) {
    out.emplace_back(lsn, std::string(p));
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::string UniqueName(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

KafkaWalOptions KafkaOptions(const std::string& brokers) {
  KafkaWalOptions o;
  o.brokers = brokers;
  o.topic_prefix = "kite-test-";
  o.delivery_timeout_ms = 3000;
  o.request_timeout_ms = 3000;
  return o;
}

class WalContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / UniqueName("kite-wal-contract");
    channel_ = UniqueName("ch");
    if (GetParam() == "kafka") {
      std::string error;
      broker_ = testing::SharedKafkaBroker(&error);
      ASSERT_NE(broker_, nullptr) << error;
      ASSERT_TRUE(broker_->Start().ok());  // a test before may have stopped it
    }
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A new Wal object on the same storage: as after a process restart.
  std::unique_ptr<Wal> NewWal() {
    Result<std::unique_ptr<Wal>> wal = GetParam() == "kafka" ? OpenKafkaWal(KafkaOptions(broker_->address()))
                                                             : OpenLocalWal(dir_.string(), WalOptions{});
    EXPECT_TRUE(wal.ok()) << wal.status().ToString();
    return wal.ok() ? std::move(wal).value() : nullptr;
  }

  std::shared_ptr<WalChannel> Open(Wal& wal, WalTerm term) {
    auto ch = wal.OpenChannel(channel_, term);
    EXPECT_TRUE(ch.ok()) << ch.status().ToString();
    return ch.ok() ? *ch : nullptr;
  }

  std::filesystem::path dir_;
  std::string channel_;
  testing::KafkaBroker* broker_ = nullptr;
};

TEST_P(WalContractTest, AppendGivesLsnsFromOneAndReplayFollowsThem) {
  auto wal = NewWal();
  auto ch = Open(*wal, 1);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->LastLsn(), kNoLsn);
  for (int i = 1; i <= 5; ++i) {
    auto lsn = ch->Append("r" + std::to_string(i));
    ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
    EXPECT_EQ(*lsn, static_cast<Lsn>(i));
  }
  EXPECT_EQ(ch->LastLsn(), 5u);
  Records after2 = ReplayAll(*ch, 2);
  ASSERT_EQ(after2.size(), 3u);
  EXPECT_EQ(after2[0], (std::pair<Lsn, std::string>{3, "r3"}));
  EXPECT_EQ(after2[2], (std::pair<Lsn, std::string>{5, "r5"}));
}

TEST_P(WalContractTest, ReopenWithNewerTermKeepsRecordsAndContinuesLsns) {
  {
    auto wal = NewWal();
    auto ch = Open(*wal, 1);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(ch->Append("a" + std::to_string(i)).ok());
  }
  auto wal = NewWal();
  auto ch = Open(*wal, 2);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->LastLsn(), 3u);
  auto lsn = ch->Append("b4");
  ASSERT_TRUE(lsn.ok()) << lsn.status().ToString();
  EXPECT_EQ(*lsn, 4u);
  Records all = ReplayAll(*ch, 0);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].second, "b4");
}

TEST_P(WalContractTest, TruncateBeforeKeepsLaterRecords) {
  auto wal = NewWal();
  auto ch = Open(*wal, 1);
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(ch->Append("r" + std::to_string(i)).ok());
  Status st = ch->TruncateBefore(4);
  ASSERT_TRUE(st.ok()) << st.ToString();
  Records rest = ReplayAll(*ch, 4);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].first, 5u);
  // After a restart the truncated log still ends where it did and goes on.
  auto wal2 = NewWal();
  auto ch2 = Open(*wal2, 2);
  ASSERT_NE(ch2, nullptr);
  EXPECT_EQ(ch2->LastLsn(), 6u);
  EXPECT_EQ(ReplayAll(*ch2, 4).size(), 2u);
}

TEST_P(WalContractTest, DropChannelDeletesItsRecords) {
  auto wal = NewWal();
  auto ch = Open(*wal, 1);
  ASSERT_TRUE(ch->Append("x").ok());
  Status st = wal->DropChannel(channel_);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(ch->Append("late").ok());
  auto wal2 = NewWal();
  auto fresh = Open(*wal2, 2);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->LastLsn(), kNoLsn);
  EXPECT_TRUE(ReplayAll(*fresh, 0).empty());
}

// Two writers given the same channel: the older term is fenced. Its appends
// fail, and nothing it appended after the newer term opened is replayed.
TEST_P(WalContractTest, OlderTermIsFencedAndItsLateRecordsAreNotReplayed) {
  auto wal_a = NewWal();
  auto wal_b = NewWal();
  auto a = Open(*wal_a, 1);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->Append("a1").ok());
  ASSERT_TRUE(a->Append("a2").ok());
  // Kafka: a second process. Local: two writers inside one process (one Wal
  // object owns a local data dir).
  Wal& second = GetParam() == "kafka" ? *wal_b : *wal_a;
  auto b = Open(second, 2);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->LastLsn(), 2u);

  auto zombie = a->Append("zombie");
  ASSERT_FALSE(zombie.ok());
  EXPECT_EQ(zombie.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(zombie.status().Is(Reason::kChannelNotAvailable)) << zombie.status().ToString();
  EXPECT_FALSE(a->Append("zombie2").ok());
  EXPECT_FALSE(a->TruncateBefore(1).ok());

  auto b3 = b->Append("b3");
  ASSERT_TRUE(b3.ok()) << b3.status().ToString();
  EXPECT_EQ(*b3, 3u);
  Records all = ReplayAll(*b, 0);
  std::vector<std::string> payloads;
  for (const auto& [lsn, p] : all) payloads.push_back(p);
  EXPECT_EQ(payloads, (std::vector<std::string>{"a1", "a2", "b3"}));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].first, i + 1);

  // A writer coming back with the old term cannot take the channel back.
  auto stale = second.OpenChannel(channel_, 1);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.status().Is(Reason::kChannelNotAvailable)) << stale.status().ToString();
}

TEST_P(WalContractTest, TermsComeFromTheMetaStoreAndOnlyGrow) {
  auto meta = NewMemoryMetaStore();
  auto t1 = AcquireWalTerm(meta.get(), channel_);
  auto t2 = AcquireWalTerm(meta.get(), channel_);
  auto other = AcquireWalTerm(meta.get(), channel_ + "x");
  ASSERT_TRUE(t1.ok() && t2.ok() && other.ok());
  EXPECT_EQ(*t1, 1u);
  EXPECT_EQ(*t2, 2u);
  EXPECT_EQ(*other, 1u);
}

// Terms are raised with compare-and-swap: concurrent openers (two processes
// on one etcd in the cluster; threads here, each with no lock of its own)
// are never handed the same term.
TEST(WalTermTest, ConcurrentAcquirersNeverShareATerm) {
  auto meta = NewMemoryMetaStore();
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::vector<WalTerm>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto term = AcquireWalTerm(meta.get(), "shared");
        ASSERT_TRUE(term.ok()) << term.status().ToString();
        got[t].push_back(*term);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<WalTerm> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach)) << "two openers were handed the same term";
  EXPECT_EQ(*all.rbegin(), static_cast<WalTerm>(kThreads * kEach));
}

INSTANTIATE_TEST_SUITE_P(Engines, WalContractTest, ::testing::Values("local", "kafka"),
                         [](const auto& info) { return info.param; });

// ---- Kafka only: the broker down ---------------------------------------------------

class KafkaWalOutageTest : public WalContractTest {};

TEST_P(KafkaWalOutageTest, AppendFailsRetriablyWhileBrokerIsDownAndNoAckedRecordIsLost) {
  auto wal = NewWal();
  auto ch = Open(*wal, 1);
  ASSERT_NE(ch, nullptr);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(ch->Append("before" + std::to_string(i)).ok());

  broker_->Stop();
  const auto start = std::chrono::steady_clock::now();
  auto failed = ch->Append("during");
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.status().Is(Reason::kServiceUnavailable)) << failed.status().ToString();
  // Bounded by the delivery timeout (3 s here), not a hang.
  EXPECT_LT(waited, std::chrono::seconds(10));

  ASSERT_TRUE(broker_->Start().ok());
  // Writes work again once the broker is back (the client may need a moment to reconnect).
  Result<Lsn> after = failed.status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!after.ok() && std::chrono::steady_clock::now() < deadline) after = ch->Append("after");
  ASSERT_TRUE(after.ok()) << after.status().ToString();

  // Every acknowledged record is there, in order, LSNs gapless, from a fresh reader.
  auto wal2 = NewWal();
  auto reader = Open(*wal2, 2);
  ASSERT_NE(reader, nullptr);
  Records all = ReplayAll(*reader, 0);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].first, i + 1);
  std::vector<std::string> acked;
  for (const auto& [lsn, p] : all) {
    if (p != "during") acked.push_back(p);  // "during" failed: its outcome is unknown
  }
  ASSERT_GE(acked.size(), 4u);
  EXPECT_EQ(acked[0], "before1");
  EXPECT_EQ(acked[2], "before3");
  EXPECT_EQ(acked.back(), "after");
  EXPECT_EQ(reader->LastLsn(), *after);
}

INSTANTIATE_TEST_SUITE_P(Kafka, KafkaWalOutageTest, ::testing::Values("kafka"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kite
