// The coordinator service (coord_grpc.h) over an in-process gRPC server,
// against a real SegmentRegistry and coordinator TSO on the embedded meta
// store: every SegmentMetaApi / TsoApi call answers over the wire as it does
// in one process, errors keep their code, reason and message, an unreachable
// or silent peer is an IOError, and the service's hooks fire after commits.
#include "roles/api/coord_grpc.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/call_context.h"
#include "common/log.h"
#include "roles/api/role_call.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "storage/meta/meta_store.h"
#include "storage/testing/faulty_storage.h"

namespace kite {
namespace {

using testing::DiskFull;
using testing::FaultyMetaStore;

SegmentRecord Seg(int64_t id, int64_t collection, int64_t partition, const std::string& channel, int64_t rows,
                  uint64_t lsn) {
  SegmentRecord r;
  r.id = SegmentId(id);
  r.collection_id = CollectionId(collection);
  r.partition_id = PartitionId(partition);
  r.channel = channel;
  r.num_rows = rows;
  r.checkpoint_lsn = lsn;
  r.max_ts = 1000 + static_cast<Timestamp>(id);
  r.size_bytes = rows * 64;
  r.files = {"collections/" + std::to_string(collection) + "/segments/" + std::to_string(id) + "/a",
             "collections/" + std::to_string(collection) + "/segments/" + std::to_string(id) + "/b"};
  return r;
}

SegmentIndexRecord Idx(int64_t segment, int64_t index, int64_t collection) {
  SegmentIndexRecord r;
  r.segment = SegmentId(segment);
  r.index = IndexId(index);
  r.collection = CollectionId(collection);
  r.field = FieldId(101);
  r.key = "collections/" + std::to_string(collection) + "/indexes/" + std::to_string(index) + "/" +
          std::to_string(segment);
  r.num_rows = 10;
  r.file_bytes = 4096;
  r.build_ms = 7;
  return r;
}

void ExpectSameSegment(const SegmentRecord& a, const SegmentRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.collection_id, b.collection_id);
  EXPECT_EQ(a.partition_id, b.partition_id);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.num_rows, b.num_rows);
  EXPECT_EQ(a.checkpoint_lsn, b.checkpoint_lsn);
  EXPECT_EQ(a.max_ts, b.max_ts);
  EXPECT_EQ(a.size_bytes, b.size_bytes);
  EXPECT_EQ(a.files, b.files);
}

void ExpectSameIndex(const SegmentIndexRecord& a, const SegmentIndexRecord& b) {
  EXPECT_EQ(a.segment, b.segment);
  EXPECT_EQ(a.index, b.index);
  EXPECT_EQ(a.collection, b.collection);
  EXPECT_EQ(a.field, b.field);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.num_rows, b.num_rows);
  EXPECT_EQ(a.file_bytes, b.file_bytes);
  EXPECT_EQ(a.build_ms, b.build_ms);
}

void ExpectSameStatus(const Status& over, const Status& local) {
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(over.code(), local.code()) << over.ToString();
  EXPECT_EQ(over.reason(), local.reason()) << over.ToString();
  EXPECT_EQ(over.message(), local.message());
}

// A SegmentMetaApi whose commits (flush, segment index, compaction) hold
// their answer until released: the caller's deadline passes after the commit
// landed or, with `commit` false, before it ran (it never does).
class SlowAnswer final : public SegmentMetaApi {
 public:
  SlowAnswer(SegmentMetaApi* inner, bool commit) : inner_(inner), commit_(commit) {}
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                     const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                     WalTerm term = 0) override {
    return Held([&] { return inner_->CommitFlush(collection, channel, lsn, segments, delta_key, term); });
  }
  Result<std::vector<SegmentRecord>> ListSegments(CollectionId c) const override { return inner_->ListSegments(c); }
  Result<std::optional<SegmentRecord>> FindSegment(SegmentId s) const override { return inner_->FindSegment(s); }
  Status CommitSegmentIndex(const SegmentIndexRecord& r) override {
    return Held([&] { return inner_->CommitSegmentIndex(r); });
  }
  Result<std::vector<SegmentIndexRecord>> ListSegmentIndexes(CollectionId c) const override {
    return inner_->ListSegmentIndexes(c);
  }
  Status ForgetSegmentIndex(CollectionId c, SegmentId s, IndexId i) override {
    return inner_->ForgetSegmentIndex(c, s, i);
  }
  Result<std::vector<std::string>> DropIndex(CollectionId c, IndexId i) override { return inner_->DropIndex(c, i); }
  Result<std::vector<std::string>> CommitCompaction(CollectionId c, const std::vector<SegmentId>& removed,
                                                    const SegmentRecord& added) override {
    Status st = Held([&] { return inner_->CommitCompaction(c, removed, added).status(); });
    if (!st.ok()) return st;
    return std::vector<std::string>{};
  }
  Status CommitImport(CollectionId c, const std::vector<SegmentRecord>& segments) override {
    return Held([&] { return inner_->CommitImport(c, segments); });
  }
  Result<std::vector<std::string>> RetainPartitions(CollectionId c, const std::set<int64_t>& live) override {
    return inner_->RetainPartitions(c, live);
  }
  Result<ChannelCheckpoint> GetCheckpoint(const std::string& ch) const override { return inner_->GetCheckpoint(ch); }
  Result<WalTerm> NextWalTerm(const std::string& ch) override { return inner_->NextWalTerm(ch); }
  Status DropCollection(CollectionId c, const std::vector<std::string>& chs) override {
    return inner_->DropCollection(c, chs);
  }

 private:
  template <typename Commit>
  Status Held(Commit commit) {
    Status st = commit_ ? commit() : Internal("not committed");
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
    return st;
  }

  SegmentMetaApi* inner_;
  bool commit_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

// A TsoApi that answers only once released.
class SilentTso final : public TsoApi {
 public:
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  Result<Timestamp> AllocTimestamp() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return released_; });
    return Timestamp{1};
  }
  Result<int64_t> AllocIds(int64_t) override { return int64_t{1}; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

class CoordGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    meta_ = NewMemoryMetaStore();
    faulty_ = std::make_unique<FaultyMetaStore>(meta_.get());
    registry_ = std::move(SegmentRegistry::Open(faulty_.get())).value();
    coord_ = std::move(OpenCoordinator(faulty_.get(), Limits{})).value();
    CoordinatorServiceHooks hooks;
    hooks.on_flush_committed = [this](CollectionId c) {
      std::lock_guard lock(hook_mu_);
      flushes_.push_back(c.value);
    };
    hooks.on_index_committed = [this](CollectionId c) {
      std::lock_guard lock(hook_mu_);
      indexes_.push_back(c.value);
    };
    service_ = MakeCoordinatorService(registry_.get(), coord_.get(), std::move(hooks));
    server_ = Serve({service_.get()});
    remote_ = MakeRemoteSegmentMeta(server_->InProcessChannel(grpc::ChannelArguments()));
    tso_ = MakeRemoteTso(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    remote_.reset();
    tso_.reset();
    server_->Shutdown();
  }

  static std::unique_ptr<grpc::Server> Serve(const std::vector<grpc::Service*>& services) {
    grpc::ServerBuilder b;
    for (grpc::Service* s : services) b.RegisterService(s);
    return b.BuildAndStart();
  }

  std::vector<int64_t> Flushes() {
    std::lock_guard lock(hook_mu_);
    return flushes_;
  }
  std::vector<int64_t> IndexCommits() {
    std::lock_guard lock(hook_mu_);
    return indexes_;
  }

  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<FaultyMetaStore> faulty_;
  std::unique_ptr<SegmentRegistry> registry_;
  std::unique_ptr<CoordinatorApi> coord_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<SegmentMetaApi> remote_;
  std::unique_ptr<TsoApi> tso_;
  std::mutex hook_mu_;
  std::vector<int64_t> flushes_;
  std::vector<int64_t> indexes_;
};

TEST_F(CoordGrpcTest, FlushedSegmentsAndCheckpointsRoundTrip) {
  const std::vector<SegmentRecord> sent = {Seg(11, 1, 2, "ch-0", 100, 5), Seg(12, 1, 3, "ch-0", 7, 5)};
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 5, sent, "collections/1/deltas/ch-0/5").ok());
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 9, {}, "collections/1/deltas/ch-0/9").ok());
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(2), "ch-1", 3, {Seg(21, 2, 4, "ch-1", 1, 3)}, "").ok());

  // What the registry holds is what was sent, field by field.
  auto local = registry_->ListSegments(CollectionId(1));
  ASSERT_TRUE(local.ok());
  ASSERT_EQ(local->size(), 2u);
  for (size_t i = 0; i < sent.size(); ++i) ExpectSameSegment((*local)[i], sent[i]);

  auto over = remote_->ListSegments(CollectionId(1));
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  ASSERT_EQ(over->size(), 2u);
  for (size_t i = 0; i < sent.size(); ++i) ExpectSameSegment((*over)[i], sent[i]);
  auto none = remote_->ListSegments(CollectionId(77));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  auto found = remote_->FindSegment(SegmentId(12));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  ExpectSameSegment(**found, sent[1]);
  auto missing = remote_->FindSegment(SegmentId(99));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto chk = remote_->GetCheckpoint("ch-0");
  ASSERT_TRUE(chk.ok()) << chk.status().ToString();
  EXPECT_EQ(chk->lsn, 9u);
  EXPECT_EQ(chk->delta_keys, (std::vector<std::string>{"collections/1/deltas/ch-0/5", "collections/1/deltas/ch-0/9"}));
  auto fresh = remote_->GetCheckpoint("never-flushed");
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->lsn, 0u);
  EXPECT_TRUE(fresh->delta_keys.empty());

  // The hook fired after each commit, in order.
  EXPECT_EQ(Flushes(), (std::vector<int64_t>{1, 1, 2}));
}

TEST_F(CoordGrpcTest, SegmentIndexesRoundTrip) {
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 2, {Seg(11, 1, 2, "ch-0", 10, 2), Seg(12, 1, 2, "ch-0", 10, 2)},
                                   "")
                  .ok());
  const SegmentIndexRecord a = Idx(11, 500, 1), b = Idx(12, 500, 1), c = Idx(11, 600, 1);
  for (const auto& r : {a, b, c}) ASSERT_TRUE(remote_->CommitSegmentIndex(r).ok());
  EXPECT_EQ(IndexCommits(), (std::vector<int64_t>{1, 1, 1}));

  auto listed = remote_->ListSegmentIndexes(CollectionId(1));
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 3u);
  std::map<std::pair<int64_t, int64_t>, SegmentIndexRecord> by_key;
  for (const auto& r : *listed) by_key[{r.segment.value, r.index.value}] = r;
  ExpectSameIndex(by_key.at({11, 500}), a);
  ExpectSameIndex(by_key.at({12, 500}), b);
  ExpectSameIndex(by_key.at({11, 600}), c);

  // A segment that is gone: the registry's refusal, as in one process.
  SegmentIndexRecord gone = Idx(99, 500, 1);
  Status local = registry_->CommitSegmentIndex(gone);
  Status over = remote_->CommitSegmentIndex(gone);
  ExpectSameStatus(over, local);
  EXPECT_EQ(over.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(IndexCommits().size(), 3u) << "the hook fires only after a commit";

  ASSERT_TRUE(remote_->ForgetSegmentIndex(CollectionId(1), SegmentId(11), IndexId(600)).ok());
  ASSERT_TRUE(remote_->ForgetSegmentIndex(CollectionId(1), SegmentId(11), IndexId(600)).ok());  // OK when absent
  EXPECT_EQ(registry_->ListSegmentIndexes(CollectionId(1))->size(), 2u);

  auto dropped = remote_->DropIndex(CollectionId(1), IndexId(500));
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(std::set<std::string>(dropped->begin(), dropped->end()), (std::set<std::string>{a.key, b.key}));
  EXPECT_TRUE(registry_->ListSegmentIndexes(CollectionId(1))->empty());
}

TEST_F(CoordGrpcTest, CompactionAndRetainPartitionsRoundTrip) {
  const SegmentRecord s1 = Seg(11, 1, 2, "ch-0", 10, 2), s2 = Seg(12, 1, 2, "ch-0", 20, 2),
                      s3 = Seg(13, 1, 3, "ch-0", 5, 2);
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 2, {s1, s2, s3}, "").ok());
  const SegmentIndexRecord i1 = Idx(11, 500, 1);
  ASSERT_TRUE(remote_->CommitSegmentIndex(i1).ok());

  SegmentRecord merged = Seg(14, 1, 2, "ch-0", 30, 2);
  auto garbage = remote_->CommitCompaction(CollectionId(1), {SegmentId(11), SegmentId(12)}, merged);
  ASSERT_TRUE(garbage.ok()) << garbage.status().ToString();
  // The inputs' files and index files stop being referenced.
  std::set<std::string> expected(s1.files.begin(), s1.files.end());
  expected.insert(s2.files.begin(), s2.files.end());
  expected.insert(i1.key);
  EXPECT_EQ(std::set<std::string>(garbage->begin(), garbage->end()), expected);
  auto ids_of = [&](CollectionId c) {
    std::set<int64_t> ids;
    const std::vector<SegmentRecord> segs = registry_->ListSegments(c).value();
    for (const auto& seg : segs) ids.insert(seg.id.value);
    return ids;
  };
  EXPECT_EQ(ids_of(CollectionId(1)), (std::set<int64_t>{13, 14}));
  ExpectSameSegment(registry_->FindSegment(SegmentId(14))->value(), merged);

  // An input that is gone: FailedPrecondition, nothing changed.
  Status again = remote_->CommitCompaction(CollectionId(1), {SegmentId(11)}, Seg(15, 1, 2, "ch-0", 10, 2)).status();
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition) << again.ToString();
  EXPECT_FALSE(registry_->FindSegment(SegmentId(15))->has_value());

  auto retained = remote_->RetainPartitions(CollectionId(1), {2});
  ASSERT_TRUE(retained.ok()) << retained.status().ToString();
  EXPECT_EQ(std::set<std::string>(retained->begin(), retained->end()),
            std::set<std::string>(s3.files.begin(), s3.files.end()));
  EXPECT_EQ(ids_of(CollectionId(1)), (std::set<int64_t>{14}));
}

TEST_F(CoordGrpcTest, ImportedSegmentsAreRegisteredTogetherWithoutTouchingCheckpoints) {
  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 4, {Seg(11, 1, 2, "ch-0", 10, 4)}, "").ok());
  // A bulk import's segments, on two channels of the collection.
  const SegmentRecord a = Seg(31, 1, 2, "ch-0", 100, 0), b = Seg(32, 1, 2, "ch-1", 50, 0);
  ASSERT_TRUE(remote_->CommitImport(CollectionId(1), {a, b}).ok());
  ExpectSameSegment(registry_->FindSegment(SegmentId(31))->value(), a);
  ExpectSameSegment(registry_->FindSegment(SegmentId(32))->value(), b);
  EXPECT_EQ(registry_->ListSegments(CollectionId(1))->size(), 3u);
  EXPECT_EQ(registry_->GetCheckpoint("ch-0")->lsn, 4u);  // the rows never went through the WAL
  EXPECT_EQ(registry_->GetCheckpoint("ch-1")->lsn, 0u);
  // A record of another collection: refused, nothing registered.
  Status wrong = remote_->CommitImport(CollectionId(1), {Seg(33, 1, 2, "ch-0", 1, 0), Seg(34, 2, 2, "ch-0", 1, 0)});
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument) << wrong.ToString();
  EXPECT_FALSE(registry_->FindSegment(SegmentId(33))->has_value());
}

TEST_F(CoordGrpcTest, WalTermsAndDropCollection) {
  auto t1 = remote_->NextWalTerm("ch-0");
  auto t2 = registry_->NextWalTerm("ch-0");
  auto t3 = remote_->NextWalTerm("ch-0");
  ASSERT_TRUE(t1.ok() && t2.ok() && t3.ok());
  EXPECT_LT(*t1, *t2);
  EXPECT_LT(*t2, *t3);

  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 4, {Seg(11, 1, 2, "ch-0", 10, 4)}, "d/4").ok());
  ASSERT_TRUE(remote_->DropCollection(CollectionId(1), {"ch-0"}).ok());
  EXPECT_TRUE(registry_->ListSegments(CollectionId(1))->empty());
  EXPECT_EQ(registry_->GetCheckpoint("ch-0")->lsn, 0u);
  EXPECT_TRUE(remote_->ListSegments(CollectionId(1))->empty());
}

TEST_F(CoordGrpcTest, TimestampsGrowAcrossEveryAllocator) {
  auto other = MakeRemoteTso(server_->InProcessChannel(grpc::ChannelArguments()));
  Timestamp last = 0;
  for (int i = 0; i < 50; ++i) {
    TsoApi* by = i % 3 == 0 ? tso_.get() : i % 3 == 1 ? other.get() : static_cast<TsoApi*>(coord_.get());
    auto t = by->AllocTimestamp();
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_GT(*t, last) << "allocation " << i;
    last = *t;
  }
  // Concurrent allocators never see the same timestamp.
  std::vector<std::vector<Timestamp>> got(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 100; ++i) {
        auto t = (k % 2 ? other : tso_)->AllocTimestamp();
        if (t.ok()) got[k].push_back(*t);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<Timestamp> all;
  for (const auto& g : got) {
    EXPECT_EQ(g.size(), 100u);
    for (size_t i = 1; i < g.size(); ++i) EXPECT_GT(g[i], g[i - 1]);
    all.insert(g.begin(), g.end());
  }
  EXPECT_EQ(all.size(), 400u);

  // Id ranges never overlap.
  auto a = tso_->AllocIds(10);
  auto b = other->AllocIds(5);
  auto c = coord_->AllocIds(1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  std::set<int64_t> ids;
  for (int64_t i = 0; i < 10; ++i) ids.insert(*a + i);
  for (int64_t i = 0; i < 5; ++i) ids.insert(*b + i);
  ids.insert(*c);
  EXPECT_EQ(ids.size(), 16u);
  Status bad = tso_->AllocIds(0).status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << bad.ToString();
}

// A coordinator restart never reissues a timestamp, seen through the wire.
TEST_F(CoordGrpcTest, TimestampsStayAboveAfterACoordinatorRestart) {
  auto before = tso_->AllocTimestamp();
  ASSERT_TRUE(before.ok());
  remote_.reset();
  tso_.reset();
  server_->Shutdown();
  coord_.reset();
  coord_ = std::move(OpenCoordinator(faulty_.get(), Limits{})).value();
  service_ = MakeCoordinatorService(registry_.get(), coord_.get());
  server_ = Serve({service_.get()});
  tso_ = MakeRemoteTso(server_->InProcessChannel(grpc::ChannelArguments()));
  auto after = tso_->AllocTimestamp();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_GT(*after, *before);
}

// A flush the meta store refuses, and one that would move the checkpoint
// back (a stale writer): the caller sees the registry's code, reason and
// message, and nothing is recorded.
TEST_F(CoordGrpcTest, FailedCommitFlushKeepsItsCodeAndMessage) {
  faulty_->commits().FailAlways(DiskFull("/data/meta/000001.log"));
  const std::vector<SegmentRecord> segs = {Seg(11, 1, 2, "ch-0", 10, 6)};
  Status local = registry_->CommitFlush(CollectionId(1), "ch-0", 6, segs, "");
  Status over = remote_->CommitFlush(CollectionId(1), "ch-0", 6, segs, "");
  ExpectSameStatus(over, local);
  EXPECT_EQ(over.reason(), Reason::kDiskFull);
  faulty_->commits().Clear();
  EXPECT_TRUE(remote_->ListSegments(CollectionId(1))->empty());
  EXPECT_TRUE(Flushes().empty()) << "no hook for a failed commit";

  ASSERT_TRUE(remote_->CommitFlush(CollectionId(1), "ch-0", 6, segs, "").ok());
  const std::vector<SegmentRecord> stale = {Seg(12, 1, 2, "ch-0", 3, 4)};
  local = registry_->CommitFlush(CollectionId(1), "ch-0", 4, stale, "");
  over = remote_->CommitFlush(CollectionId(1), "ch-0", 4, stale, "");
  ExpectSameStatus(over, local);
  EXPECT_FALSE(registry_->FindSegment(SegmentId(12))->has_value());
  EXPECT_EQ(registry_->GetCheckpoint("ch-0")->lsn, 6u);
}

TEST_F(CoordGrpcTest, UnreachableCoordinatorIsAnIOError) {
  auto channel = grpc::CreateChannel("unix:" + ::testing::TempDir() + "kite_no_coordinator.sock",
                                     grpc::InsecureChannelCredentials());
  auto meta = MakeRemoteSegmentMeta(channel, CoordClientOptions{std::chrono::milliseconds(2000)});
  auto tso = MakeRemoteTso(channel, CoordClientOptions{std::chrono::milliseconds(2000)});
  std::vector<Status> got = {
      meta->CommitFlush(CollectionId(1), "ch-0", 1, {Seg(11, 1, 2, "ch-0", 1, 1)}, ""),
      meta->ListSegments(CollectionId(1)).status(),
      meta->FindSegment(SegmentId(1)).status(),
      meta->CommitSegmentIndex(Idx(11, 5, 1)),
      meta->ListSegmentIndexes(CollectionId(1)).status(),
      meta->ForgetSegmentIndex(CollectionId(1), SegmentId(1), IndexId(2)),
      meta->DropIndex(CollectionId(1), IndexId(2)).status(),
      meta->CommitCompaction(CollectionId(1), {SegmentId(1)}, Seg(2, 1, 2, "ch-0", 1, 1)).status(),
      meta->RetainPartitions(CollectionId(1), {2}).status(),
      meta->GetCheckpoint("ch-0").status(),
      meta->NextWalTerm("ch-0").status(),
      meta->DropCollection(CollectionId(1), {"ch-0"}),
      tso->AllocTimestamp().status(),
      tso->AllocIds(3).status(),
  };
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].code(), StatusCode::kIOError) << "call " << i << ": " << got[i].ToString();
    EXPECT_NE(got[i].message().find("role peer unavailable"), std::string::npos) << got[i].ToString();
  }
}

// A coordinator that does not answer: the call's deadline ends it.
TEST_F(CoordGrpcTest, SilentCoordinatorHitsTheDeadline) {
  SilentTso silent;
  auto service = MakeCoordinatorService(nullptr, &silent);
  auto server = Serve({service.get()});
  auto tso = MakeRemoteTso(server->InProcessChannel(grpc::ChannelArguments()),
                           CoordClientOptions{std::chrono::milliseconds(200)});
  Status st = tso->AllocTimestamp().status();
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("role peer unavailable"), std::string::npos) << st.ToString();
  // A service without a registry says so.
  auto meta = MakeRemoteSegmentMeta(server->InProcessChannel(grpc::ChannelArguments()));
  EXPECT_EQ(meta->ListSegments(CollectionId(1)).status().code(), StatusCode::kUnimplemented);
  silent.Release();
  server->Shutdown();
}

// The request context of the request the calling thread serves (a write on
// a streaming node: common/call_context.h): AllocTimestamp ends at the
// client's deadline with Milvus's timeout instead of the per-call limit, and
// every call brings its request id and caller to the coordinator's thread.
class RecordingTso final : public TsoApi {
 public:
  Result<Timestamp> AllocTimestamp() override {
    std::lock_guard lock(mu_);
    seen_id_ = CurrentRequestId();
    seen_caller_ = CurrentCallContext().caller;
    return Timestamp{5};
  }
  Result<int64_t> AllocIds(int64_t) override {
    std::lock_guard lock(mu_);
    ids_seen_id_ = CurrentRequestId();
    return int64_t{1};
  }
  std::mutex mu_;
  std::string seen_id_, seen_caller_, ids_seen_id_;
};

TEST_F(CoordGrpcTest, TimestampCallsCarryTheRequestContextAndItsDeadline) {
  SilentTso silent;
  auto service = MakeCoordinatorService(nullptr, &silent);
  auto server = Serve({service.get()});
  auto tso = MakeRemoteTso(server->InProcessChannel(grpc::ChannelArguments()),
                           CoordClientOptions{std::chrono::seconds(8)});
  SetCurrentRequestId("req-ts");
  SetCurrentCaller("alice");
  SetCurrentDeadline(NowUnixMicros() + 300'000);
  const auto start = std::chrono::steady_clock::now();
  Status st = tso->AllocTimestamp().status();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_LT(took, std::chrono::milliseconds(300 + 1500)) << "AllocTimestamp waited past the client's deadline";
  // An expired deadline is not sent at all.
  SetCurrentDeadline(NowUnixMicros() - 1);
  EXPECT_TRUE(IsDeadlineExceeded(tso->AllocTimestamp().status()));
  silent.Release();
  server->Shutdown();

  RecordingTso recording;
  auto service2 = MakeCoordinatorService(nullptr, &recording);
  auto server2 = Serve({service2.get()});
  auto tso2 = MakeRemoteTso(server2->InProcessChannel(grpc::ChannelArguments()));
  SetCurrentDeadline(NowUnixMicros() + 5'000'000);
  ASSERT_TRUE(tso2->AllocTimestamp().ok());
  ASSERT_TRUE(tso2->AllocIds(1).ok());
  SetCurrentRequestId({});
  {
    std::lock_guard lock(recording.mu_);
    EXPECT_EQ(recording.seen_id_, "req-ts");
    EXPECT_EQ(recording.seen_caller_, "alice");
    EXPECT_EQ(recording.ids_seen_id_, "req-ts");
  }
  server2->Shutdown();
}

// The answers of commits that landed are lost (the deadline passed after
// the commit): the client finds each commit in the registry and reports
// success, so the streaming node or data node keeps the files it references
// instead of deleting them as a failed commit's.
TEST_F(CoordGrpcTest, CommitsWhoseAnswerIsLostAreFoundLanded) {
  SlowAnswer slow(registry_.get(), /*commit=*/true);
  auto service = MakeCoordinatorService(&slow, nullptr);
  auto server = Serve({service.get()});
  auto meta = MakeRemoteSegmentMeta(server->InProcessChannel(grpc::ChannelArguments()),
                                    CoordClientOptions{std::chrono::milliseconds(300)});
  const std::vector<SegmentRecord> segs = {Seg(11, 1, 2, "ch-0", 10, 3), Seg(12, 1, 2, "ch-0", 10, 3)};
  Status st = meta->CommitFlush(CollectionId(1), "ch-0", 3, segs, "d/3");
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(registry_->FindSegment(SegmentId(11))->has_value());

  st = meta->CommitSegmentIndex(Idx(11, 500, 1));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(registry_->ListSegmentIndexes(CollectionId(1))->size(), 1u);

  st = meta->CommitCompaction(CollectionId(1), {SegmentId(11), SegmentId(12)}, Seg(13, 1, 2, "ch-0", 20, 3)).status();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(registry_->FindSegment(SegmentId(13))->has_value());
  slow.Release();
  server->Shutdown();
}

// The same lost answers for commits that never ran: the caller sees the
// IOError and may delete its files.
TEST_F(CoordGrpcTest, CommitsWhoseAnswerIsLostAndDidNotLandFail) {
  ASSERT_TRUE(registry_->CommitFlush(CollectionId(1), "ch-0", 3, {Seg(11, 1, 2, "ch-0", 10, 3)}, "").ok());
  SlowAnswer slow(registry_.get(), /*commit=*/false);
  auto service = MakeCoordinatorService(&slow, nullptr);
  auto server = Serve({service.get()});
  auto meta = MakeRemoteSegmentMeta(server->InProcessChannel(grpc::ChannelArguments()),
                                    CoordClientOptions{std::chrono::milliseconds(300)});
  std::vector<Status> got = {
      meta->CommitFlush(CollectionId(1), "ch-0", 5, {Seg(12, 1, 2, "ch-0", 10, 5)}, "d/5"),
      meta->CommitSegmentIndex(Idx(11, 500, 1)),
      meta->CommitCompaction(CollectionId(1), {SegmentId(11)}, Seg(13, 1, 2, "ch-0", 10, 3)).status(),
  };
  for (const Status& g : got) {
    EXPECT_EQ(g.code(), StatusCode::kIOError) << g.ToString();
    EXPECT_NE(g.message().find("role peer unavailable"), std::string::npos) << g.ToString();
  }
  EXPECT_EQ(registry_->GetCheckpoint("ch-0")->lsn, 3u);
  EXPECT_FALSE(registry_->FindSegment(SegmentId(12))->has_value());
  EXPECT_TRUE(registry_->ListSegmentIndexes(CollectionId(1))->empty());
  EXPECT_TRUE(registry_->FindSegment(SegmentId(11))->has_value());
  slow.Release();
  server->Shutdown();
}

}  // namespace
}  // namespace kite
