// Object lifetime across the roles (issue 14 item 4): compaction, drops and
// the garbage collector, with the real roles over the local WAL and object
// store wrapped in the fault doubles of storage/testing/faulty_storage.h.
#include "roles/coordinator/garbage_collector.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "query/retrieve.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/datanode/data_node.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/testing/faulty_storage.h"
#include "storage/wal/wal.h"

namespace kite {
namespace {

namespace fs = std::filesystem;
using testing::FaultyMetaStore;
using testing::FaultyObjectStore;
using testing::FaultyWal;
using testing::IoFailure;

constexpr int64_t kSecondMs = 1000;

// Polls `cond` until it holds or 30 s pass.
bool WaitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

class ObjectLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "kite_gc_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    meta_ = NewMemoryMetaStore();
    faulty_meta_ = std::make_unique<FaultyMetaStore>(meta_.get());
    Start();
    CollectionSchema s;
    s.name = "c";
    FieldSchema pk;
    pk.name = "id";
    pk.type = DataType::kInt64;
    pk.is_primary = true;
    s.fields.push_back(pk);
    FieldSchema vec;
    vec.name = "vec";
    vec.type = DataType::kFloatVector;
    vec.type_params = {{"dim", "4"}};
    s.fields.push_back(vec);
    CreateCollectionParams p;
    p.schema = s;
    ASSERT_TRUE(coord_->CreateCollection(p).ok());
    auto v = coord_->DescribeCollection("", "c");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    info_ = v->info;
    ASSERT_TRUE(streaming_->Open(info_).ok());
  }

  void TearDown() override {
    Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The roles over the storage in dir_ and meta_ (kept across restarts).
  void Start() {
    coord_ = std::move(OpenCoordinator(faulty_meta_.get(), Limits{})).value();
    registry_ = std::move(SegmentRegistry::Open(faulty_meta_.get())).value();
    wal_ = std::move(OpenLocalWal(dir_ + "/wal", WalOptions{})).value();
    faulty_wal_ = std::make_unique<FaultyWal>(wal_.get());
    objects_ = std::move(OpenLocalObjectStore(dir_ + "/objects")).value();
    faulty_objects_ = std::make_unique<FaultyObjectStore>(objects_.get());
    query_ = std::make_unique<QueryNode>(faulty_objects_.get(), registry_.get());
    streaming_ = std::make_unique<StreamingNode>(faulty_wal_.get(), faulty_objects_.get(), registry_.get(),
                                                 coord_.get(), query_.get(), StreamingOptions{});
    GcOptions gc;
    gc.clock_ms = [this] { return now_ms_.load(); };
    gc_ = std::make_unique<GarbageCollector>(registry_.get(), faulty_objects_.get(), faulty_wal_.get(), gc);
  }

  void Stop() {
    data_nodes_.clear();
    gc_.reset();
    streaming_.reset();
    query_.reset();
    faulty_objects_.reset();
    objects_.reset();
    faulty_wal_.reset();
    wal_.reset();
    registry_.reset();
    coord_.reset();
  }

  // A data node that compacts only when asked (no automatic merges), over `store`.
  DataNode* AddDataNode(ObjectStore* store, QueryNodeApi* query_node) {
    DataNodeOptions o;
    o.compaction_interval_ms = 0;
    o.build_threads = 1;
    data_nodes_.push_back(std::make_unique<DataNode>(store, registry_.get(), coord_.get(), query_node, o));
    return data_nodes_.back().get();
  }

  DmlMessage InsertOf(const std::vector<int64_t>& pks) {
    DmlMessage m;
    m.type = DmlType::kInsert;
    m.collection = info_.id;
    m.partition = info_.partitions.at(0).id;
    for (const auto& f : info_.schema.fields) m.rows.columns.push_back(Column::ForField(f));
    for (int64_t pk : pks) {
      m.rows.columns[0].AppendFixed(&pk);
      float v[4] = {static_cast<float>(pk), 1, 2, 3};
      m.rows.columns[1].AppendFixed(v);
    }
    for (auto& c : m.rows.columns) c.num_rows = static_cast<int64_t>(pks.size());
    m.rows.num_rows = static_cast<int64_t>(pks.size());
    return m;
  }

  // Inserts [a, b) and flushes them as one sealed segment.
  void FlushedSegment(int64_t a, int64_t b) {
    std::vector<int64_t> pks;
    for (int64_t i = a; i < b; ++i) pks.push_back(i);
    ASSERT_TRUE(streaming_->Write(info_.id, 0, InsertOf(pks)).ok());
    auto flushed = streaming_->Flush(info_.id);
    ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  }

  std::set<std::string> SegmentFiles() {
    std::set<std::string> out;
    const std::vector<SegmentRecord> segments = registry_->ListSegments(info_.id).value();
    for (const auto& s : segments) out.insert(s.files.begin(), s.files.end());
    return out;
  }
  std::set<std::string> Stored(const std::string& prefix = "collections/") {
    auto keys = std::move(objects_->List(prefix)).value();
    return {keys.begin(), keys.end()};
  }
  static bool Contains(const std::set<std::string>& all, const std::set<std::string>& some) {
    for (const auto& k : some) {
      if (!all.count(k)) return false;
    }
    return true;
  }

  void CreateFlatIndex() {
    CreateIndexParams p;
    p.collection = "c";
    p.field_name = "vec";
    p.params = {{"index_type", "FLAT"}, {"metric_type", "L2"}};
    ASSERT_TRUE(coord_->CreateIndex(p).ok());
  }

  // Runs a manual compaction on `dn` (started) and waits for it.
  void Compact(DataNode* dn) {
    auto job = dn->RequestCompaction(info_.id);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    dn->Kick();
    ASSERT_TRUE(WaitFor([&] { return dn->GetCompaction(job.value()).state == CompactionJobState::kCompleted; }));
  }

  std::string dir_;
  CollectionInfo info_;
  std::atomic<int64_t> now_ms_{static_cast<int64_t>(WallClockMs())};
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<FaultyMetaStore> faulty_meta_;
  std::unique_ptr<CoordinatorApi> coord_;
  std::unique_ptr<SegmentRegistry> registry_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<FaultyWal> faulty_wal_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<FaultyObjectStore> faulty_objects_;
  std::unique_ptr<QueryNode> query_;
  std::unique_ptr<StreamingNode> streaming_;
  std::unique_ptr<GarbageCollector> gc_;
  std::vector<std::unique_ptr<DataNode>> data_nodes_;
};

TEST_F(ObjectLifetimeTest, CompactedInputsStayUntilTheDropToleranceThenGo) {
  FlushedSegment(0, 10);
  FlushedSegment(10, 20);
  const std::set<std::string> inputs = SegmentFiles();
  ASSERT_FALSE(inputs.empty());
  DataNode* dn = AddDataNode(faulty_objects_.get(), query_.get());
  dn->Start();
  Compact(dn);
  ASSERT_EQ(registry_->ListSegments(info_.id)->size(), 1u);
  const std::set<std::string> merged = SegmentFiles();
  EXPECT_TRUE(Contains(Stored(), inputs)) << "compaction deleted its inputs at once";

  // Younger than dataCoord.gc.dropTolerance (10800 s): kept.
  now_ms_ += 10800 * kSecondMs - 60 * kSecondMs;
  auto pass = gc_->RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->garbage_deleted, 0);
  EXPECT_GT(pass->garbage_waiting, 0);
  EXPECT_TRUE(Contains(Stored(), inputs));

  // Older: deleted and forgotten; the merged segment's files stay.
  now_ms_ += 120 * kSecondMs;
  pass = gc_->RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_GT(pass->garbage_deleted, 0);
  const std::set<std::string> left = Stored();
  for (const auto& k : inputs) EXPECT_FALSE(left.count(k)) << k << " was not collected";
  EXPECT_TRUE(Contains(left, merged));
  EXPECT_TRUE(registry_->ListGarbage().empty());
}

TEST_F(ObjectLifetimeTest, CompactionWhileAnIndexBuildReadsAnInputLosesNoFile) {
  FlushedSegment(0, 10);
  FlushedSegment(10, 20);
  const std::set<std::string> inputs = SegmentFiles();
  CreateFlatIndex();
  // A second data node (a slower process) building indexes from the object
  // store: the collection is not loaded, so no query node holds the columns.
  FaultyObjectStore slow_reads(objects_.get());
  slow_reads.reads().Hold();
  DataNode* builder = AddDataNode(&slow_reads, query_.get());
  builder->Start();
  ASSERT_TRUE(WaitFor([&] { return slow_reads.reads().calls() >= 1; })) << "the build never read a segment";

  // Meanwhile another data node merges the inputs the build is reading.
  DataNode* compactor = AddDataNode(faulty_objects_.get(), query_.get());
  compactor->Start();
  Compact(compactor);
  EXPECT_TRUE(Contains(Stored(), inputs)) << "files vanished under a running index build";

  slow_reads.reads().Release();
  builder->WaitIdle();
  compactor->WaitIdle();
  auto defs = coord_->DescribeIndex("", "c", "", "");
  ASSERT_TRUE(defs.ok() && defs->size() == 1);
  IndexProgress p = builder->Progress(info_.id, defs->at(0), 0);
  EXPECT_FALSE(p.failed) << p.fail_reason;
  EXPECT_EQ(p.indexed_rows, 20) << "the merged segment is indexed";
}

TEST_F(ObjectLifetimeTest, OrphanIsCollectedAfterTheMissingToleranceReferencedFilesNever) {
  FlushedSegment(0, 10);
  std::vector<int64_t> del = {3};
  DmlMessage d;
  d.type = DmlType::kDelete;
  d.collection = info_.id;
  Column pks = Column::ForField(info_.schema.fields.at(0));
  pks.AppendFixed(&del[0]);
  pks.num_rows = 1;
  d.delete_pks = pks;
  ASSERT_TRUE(streaming_->Write(info_.id, 0, d).ok());
  FlushedSegment(10, 20);  // writes the delta file too
  const std::set<std::string> referenced = Stored();
  ASSERT_GE(referenced.size(), 3u);
  // A crash between a file write and its meta commit leaves this behind.
  const std::string orphan = "collections/" + std::to_string(info_.id.value) + "/segments/999999/0.bin";
  ASSERT_TRUE(objects_->Put(orphan, "half a flush").ok());

  now_ms_ += 86400 * kSecondMs - 60 * kSecondMs;  // younger than dataCoord.gc.missingTolerance
  ASSERT_TRUE(gc_->RunOnce().ok());
  EXPECT_TRUE(Stored().count(orphan));

  now_ms_ += 120 * kSecondMs;
  auto pass = gc_->RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->orphans_deleted, 1);
  std::set<std::string> left = Stored();
  EXPECT_FALSE(left.count(orphan));
  EXPECT_EQ(left, referenced) << "a referenced file was collected";

  now_ms_ += 365LL * 86400 * kSecondMs;  // referenced files never go, however old
  ASSERT_TRUE(gc_->RunOnce().ok());
  EXPECT_EQ(Stored(), referenced);
}

// drop_collection as the proxy runs it: the catalog batch, then the data.
Status DropCollection(CoordinatorApi* coord, StreamingNode* streaming, const CollectionInfo& info) {
  KITE_RETURN_IF_ERROR(coord->DropCollection("", info.schema.name));
  return streaming->Drop(info);
}

TEST_F(ObjectLifetimeTest, CrashBetweenDropCollectionStepsIsFinishedAtTheNextStart) {
  // Steps of a drop: the catalog batch (meta commit 1), the WAL channels, the
  // segment and checkpoint records (meta commit 2); the objects are the
  // collector's. A failed step stands for a crash there; the "process"
  // restarts, and its first collection pass fails its deletes once.
  enum Step { kCatalog = 1, kRecords = 2, kWalChannels = 3 };
  for (Step failing : {kCatalog, kRecords, kWalChannels}) {
    const int failing_commit = failing;
    SCOPED_TRACE(failing_commit);
    if (failing != kCatalog) {
      // A fresh collection for the next round.
      Stop();
      faulty_meta_->commits().Clear();
      Start();
      CreateCollectionParams p;
      p.schema = info_.schema;
      for (auto& f : p.schema.fields) f.id = FieldId(0);
      ASSERT_TRUE(coord_->CreateCollection(p).ok());
      info_ = coord_->DescribeCollection("", "c")->info;
      ASSERT_TRUE(streaming_->Open(info_).ok());
    }
    FlushedSegment(0, 10);
    ASSERT_TRUE(streaming_->Write(info_.id, 0, InsertOf({50, 51})).ok());  // unflushed, in the WAL
    const std::string prefix = "collections/" + std::to_string(info_.id.value) + "/";
    ASSERT_FALSE(Stored(prefix).empty());

    if (failing == kWalChannels) {
      faulty_wal_->drops().FailAlways(IoFailure("wal"));
    } else {
      faulty_meta_->commits().FailNth(failing_commit, IoFailure("meta"), /*sticky=*/true);
    }
    EXPECT_FALSE(DropCollection(coord_.get(), streaming_.get(), info_).ok());
    Stop();  // the crash
    faulty_meta_->commits().Clear();
    Start();
    ASSERT_TRUE(gc_->FinishDrops().ok());

    auto described = coord_->DescribeCollection("", "c");
    if (!described.ok()) {
      // The drop had committed: nothing of it is left.
      EXPECT_TRUE(registry_->ListSegments(info_.id)->empty());
      EXPECT_EQ(registry_->GetCheckpoint(info_.channels.at(0))->lsn, 0u);
      EXPECT_FALSE(fs::exists(dir_ + "/wal/" + info_.channels.at(0))) << "its WAL channel is left";
      auto dropping = registry_->ListDropping();
      ASSERT_TRUE(dropping.ok());
      EXPECT_TRUE(dropping->empty());
      now_ms_ += 10800 * kSecondMs + kSecondMs;
      faulty_objects_->deletes().FailAlways(IoFailure("objects"));
      ASSERT_TRUE(gc_->RunOnce().ok());
      EXPECT_FALSE(Stored(prefix).empty());
      EXPECT_FALSE(registry_->ListGarbage().empty()) << "garbage forgotten before its objects were deleted";
      faulty_objects_->deletes().Clear();
      ASSERT_TRUE(gc_->RunOnce().ok());
      EXPECT_TRUE(Stored(prefix).empty()) << "its files were not collected";
      EXPECT_TRUE(registry_->ListGarbage().empty());
    } else {
      // The drop had not committed: the collection is whole, and can be dropped.
      EXPECT_EQ(failing_commit, 1);
      ASSERT_TRUE(streaming_->Open(info_).ok());
      EXPECT_EQ(registry_->ListSegments(info_.id)->size(), 1u);
      ASSERT_TRUE(DropCollection(coord_.get(), streaming_.get(), info_).ok());
      EXPECT_TRUE(registry_->ListSegments(info_.id)->empty());
      EXPECT_FALSE(Stored(prefix).empty()) << "files are deleted by the collector, not by the drop";
    }
  }
}

TEST_F(ObjectLifetimeTest, DeleteArrivingWhileCompactionSwapsTheSegmentIsNotLost) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  FlushedSegment(0, 10);
  FlushedSegment(10, 20);
  ASSERT_EQ(query_->Segments(info_.id).size(), 2u);
  // The compactor writes its result through a store that holds writes: the
  // merge has read its inputs and their deletes, and not swapped yet.
  FaultyObjectStore held(objects_.get());
  held.writes().Hold();
  DataNode* dn = AddDataNode(&held, query_.get());
  dn->Start();
  auto job = dn->RequestCompaction(info_.id);
  ASSERT_TRUE(job.ok());
  // Nothing to purge makes the plan a pure merge of the two small segments.
  dn->Kick();
  ASSERT_TRUE(WaitFor([&] { return held.writes().calls() >= 1; }));
  DmlMessage d;
  d.type = DmlType::kDelete;
  d.collection = info_.id;
  Column pks = Column::ForField(info_.schema.fields.at(0));
  int64_t victim = 4;
  pks.AppendFixed(&victim);
  pks.num_rows = 1;
  d.delete_pks = pks;
  auto acked = streaming_->Write(info_.id, 0, d);
  ASSERT_TRUE(acked.ok());
  held.writes().Release();
  ASSERT_TRUE(WaitFor([&] { return dn->GetCompaction(job.value()).state == CompactionJobState::kCompleted; }));
  ASSERT_EQ(query_->Segments(info_.id).size(), 1u) << "the inputs were swapped for the merged segment";

  RetrievePlan plan;
  plan.ts = acked.value();
  Retrieved got;
  for (const SegmentPtr& seg : query_->Segments(info_.id)) ASSERT_TRUE(RetrieveFromSegment(*seg, plan, &got).ok());
  std::set<int64_t> keys;
  for (int64_t i = 0; i < got.rows.num_rows; ++i) keys.insert(std::get<int64_t>(PkAt(got.rows.columns[0], i)));
  EXPECT_EQ(keys.size(), 19u);
  EXPECT_FALSE(keys.count(victim)) << "the delete was lost in the swap";
}

}  // namespace
}  // namespace kite
