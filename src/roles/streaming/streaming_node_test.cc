// StreamingNode under storage faults, through the fault-injecting doubles of
// storage/testing/faulty_storage.h over the real local WAL and object store:
// a failed write or flush changes nothing (no half state in memory, in the
// meta store or in the object store), and the next try succeeds once the
// fault is gone. Also the recovery checks of StreamingNode::Open.
//
// Every test runs twice: with the coordinator's segment meta and TSO in
// process, and behind the coordinator service's remote adapters over an
// in-process gRPC server (coord_grpc.h), as a streaming node in its own
// process holds them.
#include "roles/streaming/streaming_node.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/call_context.h"
#include "common/log.h"
#include "roles/api/role_call.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/api/coord_grpc.h"
#include "roles/api/role_codec.h"
#include "roles/api/role_grpc.h"
#include "roles/querynode/query_node.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/testing/faulty_storage.h"
#include "storage/wal/wal.h"

namespace kite {
namespace {

namespace fs = std::filesystem;
using testing::DiskFull;
using testing::FaultyMetaStore;
using testing::FaultyObjectStore;
using testing::FaultyWal;

// A query side (the coordinator's query view, in another process) whose
// ApplyDeletes calls fail while told to — the coordinator unreachable, a call
// past its deadline — and that passes every call to `inner`.
class FlakyQueryNode final : public QueryNodeApi {
 public:
  QueryNodeApi* inner = nullptr;

  // The next `n` ApplyDeletes calls fail (the deletes do not reach `inner`).
  void FailDeletes(int n) { fail_deletes_ = n; }
  int delete_calls() const { return delete_calls_.load(); }

  Status ApplyDeletes(CollectionId c, const std::string& channel, const std::vector<DeleteRecord>& d) override {
    ++delete_calls_;
    if (fail_deletes_.load() > 0) {
      --fail_deletes_;
      return IOError("role peer unavailable: the test's query side is unreachable");
    }
    return inner->ApplyDeletes(c, channel, d);
  }
  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override {
    return inner->Search(req, out, cancelled);
  }
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override { return inner->Retrieve(req, out); }
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override {
    return inner->ReadStats(req, resp);
  }
  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) override {
    return inner->Load(c, std::move(schema));
  }
  void Release(CollectionId c) override { inner->Release(c); }
  bool IsLoaded(CollectionId c) const override { return inner->IsLoaded(c); }
  Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                      rolepb::LoadSegmentsResponse* resp) override {
    return inner->LoadSegments(req, std::move(local), resp);
  }
  Status ReleaseSegments(CollectionId c, const std::vector<SegmentId>& segments) override {
    return inner->ReleaseSegments(c, segments);
  }
  Status LoadIndex(CollectionId c, const SegmentIndexRecord& rec, std::shared_ptr<const index::VectorIndex> v,
                   std::shared_ptr<const index::ScalarIndex> sc) override {
    return inner->LoadIndex(c, rec, std::move(v), std::move(sc));
  }
  Status DetachIndex(CollectionId c, IndexId index) override { return inner->DetachIndex(c, index); }
  SegmentPtr FindSegment(CollectionId c, SegmentId s) const override { return inner->FindSegment(c, s); }
  std::vector<SegmentSummary> LoadedSegments(CollectionId c) const override { return inner->LoadedSegments(c); }

 private:
  std::atomic<int> fail_deletes_{0};
  std::atomic<int> delete_calls_{0};
};

// How the streaming and query nodes reach the coordinator's segment meta and TSO.
enum class CoordPath { kInProcess, kGrpc };

class StreamingFaultTest : public ::testing::TestWithParam<CoordPath> {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "kite_streaming_XXXXXX";
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

  QueryNodeApi* query_api_ = nullptr;  // replaces the real query node when set
  FlakyQueryNode flaky_;    // wraps the query node (real or query_api_) when flaky_on_
  bool flaky_on_ = false;
  StreamingOptions options_;

  // The roles over the storage in dir_ and meta_ (kept across restarts).
  void Start() {
    coord_ = std::move(OpenCoordinator(faulty_meta_.get(), Limits{})).value();
    registry_ = std::move(SegmentRegistry::Open(faulty_meta_.get())).value();
    SegmentMetaApi* segment_meta = registry_.get();
    TsoApi* tso = coord_.get();
    if (GetParam() == CoordPath::kGrpc) {
      coord_service_ = MakeCoordinatorService(registry_.get(), coord_.get());
      grpc::ServerBuilder b;
      b.RegisterService(coord_service_.get());
      coord_server_ = b.BuildAndStart();
      remote_meta_ = MakeRemoteSegmentMeta(coord_server_->InProcessChannel(grpc::ChannelArguments()));
      remote_tso_ = MakeRemoteTso(coord_server_->InProcessChannel(grpc::ChannelArguments()));
      segment_meta = remote_meta_.get();
      tso = remote_tso_.get();
    }
    wal_ = std::move(OpenLocalWal(dir_ + "/wal", WalOptions{})).value();
    faulty_wal_ = std::make_unique<FaultyWal>(wal_.get());
    objects_ = std::move(OpenLocalObjectStore(dir_ + "/objects")).value();
    faulty_objects_ = std::make_unique<FaultyObjectStore>(objects_.get());
    query_ = std::make_unique<QueryNode>(faulty_objects_.get(), segment_meta);
    streaming_ = std::make_unique<StreamingNode>(faulty_wal_.get(), faulty_objects_.get(), segment_meta, tso,
                                                 QuerySide(), options_);
  }
  QueryNodeApi* QuerySide();

  void Stop() {
    streaming_.reset();
    query_.reset();
    faulty_objects_.reset();
    objects_.reset();
    faulty_wal_.reset();
    wal_.reset();
    remote_meta_.reset();
    remote_tso_.reset();
    if (coord_server_) coord_server_->Shutdown();
    coord_server_.reset();
    coord_service_.reset();
    registry_.reset();
    coord_.reset();
  }

  // A restart of every role over the same files; Open's status.
  uint64_t CurrentTerm() {
    auto v = faulty_meta_->Get("kite/walterm/" + Channel());
    return v.ok() && v->has_value() ? std::stoull(**v) : 0;
  }

  Status Restart() {
    Stop();
    Start();
    return streaming_->Open(info_);
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

  Status Insert(const std::vector<int64_t>& pks) { return streaming_->Write(info_.id, 0, InsertOf(pks)).status(); }

  Status Delete(const std::vector<int64_t>& pks) {
    DmlMessage m;
    m.type = DmlType::kDelete;
    m.collection = info_.id;
    m.delete_pks = Column::ForField(info_.schema.fields.at(0));
    for (int64_t pk : pks) m.delete_pks.AppendFixed(&pk);
    return streaming_->Write(info_.id, 0, std::move(m)).status();
  }

  // An upsert of `pks`: new rows, and deletes of the versions they replace.
  Status Upsert(const std::vector<int64_t>& pks) {
    DmlMessage m = InsertOf(pks);
    m.type = DmlType::kUpsert;
    m.delete_pks = Column::ForField(info_.schema.fields.at(0));
    for (int64_t pk : pks) m.delete_pks.AppendFixed(&pk);
    return streaming_->Write(info_.id, 0, std::move(m)).status();
  }

  // A Strong read of shard 0 through the delegator (growing + sealed): the
  // keys, and how many rows the query node and the delegator counted (a
  // count sums the parts, so a replaced sealed version shows up there even
  // where the key-merge of a retrieve would hide it).
  struct Read {
    std::set<int64_t> keys;
    int64_t count = -1;
  };
  Read ReadAll() {
    Read r;
    auto t = coord_->AllocTimestamp();
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return r;
    rolepb::RetrieveRequest get;
    *get.mutable_scope() = Scope(*t, *t);
    get.set_limit(-1);
    Retrieved rows;
    Status st = streaming_->Retrieve(get, &rows);
    EXPECT_TRUE(st.ok()) << st.ToString();
    for (int64_t i = 0; i < rows.rows.num_rows; ++i) r.keys.insert(std::get<int64_t>(PkAt(rows.rows.columns[0], i)));
    get.set_count_only(true);
    Retrieved count;
    st = streaming_->Retrieve(get, &count);
    EXPECT_TRUE(st.ok()) << st.ToString();
    r.count = count.count;
    return r;
  }

  std::set<int64_t> GrowingKeys() {
    RetrievePlan plan;
    plan.ts = ~Timestamp{0} >> 1;
    Retrieved got;
    for (const SegmentPtr& seg : streaming_->GrowingSegments(info_.id)) {
      Status st = RetrieveFromSegment(*seg, plan, &got);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    std::set<int64_t> keys;
    for (int64_t i = 0; i < got.rows.num_rows; ++i) keys.insert(std::get<int64_t>(PkAt(got.rows.columns[0], i)));
    return keys;
  }

  // A read of shard 0 through the delegator at `ts`, waiting for tsafe >= guarantee.
  rolepb::ReadScope Scope(Timestamp ts, Timestamp guarantee) {
    rolepb::ReadScope scope;
    scope.set_collection(info_.id.value);
    scope.set_shard(0);
    scope.set_channel(Channel());
    scope.set_ts(ts);
    scope.set_guarantee_ts(guarantee);
    scope.set_include_growing(true);
    return scope;
  }

  rolepb::SearchRequest SearchOf(Timestamp ts) {
    rolepb::SearchRequest req;
    *req.mutable_scope() = Scope(ts, ts);
    const FieldSchema& vec = info_.schema.fields.at(1);
    req.set_field(vec.id.value);
    req.set_metric("L2");
    req.set_nq(1);
    req.set_query_type(static_cast<int32_t>(vec.type));
    req.set_dim(4);
    Column q = Column::ForField(vec);
    float v[4] = {7, 1, 2, 3};
    q.AppendFixed(v);
    std::string bytes;
    EncodeColumn(q, &bytes);
    req.set_queries(bytes);
    req.set_k(3);
    return req;
  }

  int64_t FlushedRows() {
    int64_t n = 0;
    const std::vector<SegmentRecord> segments = registry_->ListSegments(info_.id).value();
    for (const auto& r : segments) n += r.num_rows;
    return n;
  }

  std::vector<std::string> StoredObjects() { return std::move(objects_->List("collections/")).value(); }

  const std::string& Channel() const { return info_.channels.at(0); }

  static std::set<int64_t> Range(int64_t a, int64_t b) {
    std::set<int64_t> s;
    for (int64_t i = a; i < b; ++i) s.insert(i);
    return s;
  }
  static std::vector<int64_t> Keys(int64_t a, int64_t b) {
    std::vector<int64_t> v;
    for (int64_t i = a; i < b; ++i) v.push_back(i);
    return v;
  }

  // Every check after a failed flush: nothing changed anywhere.
  void ExpectNothingFlushed(const std::set<int64_t>& growing) {
    EXPECT_EQ(FlushedRows(), 0);
    EXPECT_EQ(registry_->GetCheckpoint(Channel())->lsn, 0u);
    EXPECT_TRUE(registry_->GetCheckpoint(Channel())->delta_keys.empty());
    EXPECT_EQ(GrowingKeys(), growing);
    for (const auto& seg : streaming_->GrowingSegments(info_.id)) EXPECT_FALSE(seg->sealed());
    EXPECT_TRUE(StoredObjects().empty()) << "files of the failed flush were left behind";
  }

  std::string dir_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<FaultyMetaStore> faulty_meta_;
  std::unique_ptr<CoordinatorApi> coord_;
  std::unique_ptr<SegmentRegistry> registry_;
  // With CoordPath::kGrpc: the coordinator service and the nodes' clients of it.
  std::unique_ptr<grpc::Service> coord_service_;
  std::unique_ptr<grpc::Server> coord_server_;
  std::unique_ptr<SegmentMetaApi> remote_meta_;
  std::unique_ptr<TsoApi> remote_tso_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<FaultyWal> faulty_wal_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<FaultyObjectStore> faulty_objects_;
  std::unique_ptr<QueryNode> query_;
  std::unique_ptr<StreamingNode> streaming_;
  CollectionInfo info_;
  // A query side that outlives restarts (ReplayKeeps...); destroyed after TearDown's Stop.
  std::unique_ptr<ObjectStore> kept_objects_;
  std::unique_ptr<SegmentRegistry> kept_registry_;
  std::unique_ptr<QueryNode> kept_query_;
};

QueryNodeApi* StreamingFaultTest::QuerySide() {
  QueryNodeApi* qn = query_api_ ? query_api_ : query_.get();
  if (!flaky_on_) return qn;
  flaky_.inner = qn;
  return &flaky_;
}

// ---- deletes the query side missed (issue 16): sent again, never dropped

// A delete whose forward to the query side failed is acknowledged (it is in
// the WAL) and kept: it goes with the next delete's forward and with a Load,
// so the sealed row it deleted does not come back.
TEST_P(StreamingFaultTest, DeleteTheQuerySideMissedGoesWithTheNextForwardAndWithLoad) {
  flaky_on_ = true;
  options_.idle_check_ms = 3'600'000;  // no retry by the idle loop here (its own test below)
  ASSERT_TRUE(Restart().ok());
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());  // sealed: on the query side
  ASSERT_TRUE(streaming_->Load(info_).ok());

  flaky_.FailDeletes(1);
  ASSERT_TRUE(Delete({3}).ok()) << "the delete is durable: its forward failing must not fail it";
  ASSERT_TRUE(Delete({5}).ok());
  std::set<int64_t> want = Range(0, 10);
  want.erase(3);
  want.erase(5);
  Read r = ReadAll();
  EXPECT_EQ(r.keys, want) << "a sealed row whose delete missed the query side came back";
  EXPECT_EQ(r.count, 8);

  flaky_.FailDeletes(1);
  ASSERT_TRUE(Delete({7}).ok());
  ASSERT_TRUE(streaming_->Load(info_).ok());  // loaded already: sends what the query side missed
  want.erase(7);
  r = ReadAll();
  EXPECT_EQ(r.keys, want);
  EXPECT_EQ(r.count, 7);
}

// An upsert's delete half missed the query side: the flush (which clears the
// delete buffer) must send it first, and fails while it cannot — else the
// row's old sealed version stays visible beside the new one for good.
TEST_P(StreamingFaultTest, FlushSendsTheMissedDeletesFirstAndFailsWhileItCannot) {
  flaky_on_ = true;
  options_.idle_check_ms = 3'600'000;
  ASSERT_TRUE(Restart().ok());
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  ASSERT_TRUE(streaming_->Load(info_).ok());

  flaky_.FailDeletes(2);  // the upsert's forward and the first flush's resend
  ASSERT_TRUE(Upsert({4}).ok());
  auto flushed = streaming_->Flush(info_.id);
  ASSERT_FALSE(flushed.ok()) << "a flush dropped deletes the query side has not got";
  EXPECT_NE(flushed.status().message().find("have not reached the query side"), std::string::npos)
      << flushed.status().ToString();
  EXPECT_EQ(FlushedRows(), 10) << "the failed flush committed something";
  EXPECT_EQ(GrowingKeys(), std::set<int64_t>{4});

  flushed = streaming_->Flush(info_.id);
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  EXPECT_EQ(FlushedRows(), 11);  // the old and the new version of key 4, sealed
  Read r = ReadAll();
  EXPECT_EQ(r.keys, Range(0, 10));
  EXPECT_EQ(r.count, 10) << "the old version of the upserted key is still visible beside the new one";
}

// With no later delete, flush or load, the idle loop sends the missed deletes.
TEST_P(StreamingFaultTest, IdleLoopSendsTheMissedDeletes) {
  flaky_on_ = true;
  options_.idle_check_ms = 20;
  ASSERT_TRUE(Restart().ok());
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  ASSERT_TRUE(streaming_->Load(info_).ok());
  flaky_.FailDeletes(1);
  ASSERT_TRUE(Delete({6}).ok());
  const int calls = flaky_.delete_calls();
  // The retry waits out a backoff (about 1 s after the first failure).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (flaky_.delete_calls() == calls && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(flaky_.delete_calls(), calls) << "the idle loop never sent the missed delete again";
  std::set<int64_t> want = Range(0, 10);
  want.erase(6);
  EXPECT_EQ(ReadAll().keys, want);
}

// The streaming node restarts while the query side (the coordinator's query
// view, another process) keeps the collection loaded; its WAL tail holds a
// delete the query side missed, then rows that fill a segment. The replay
// must not flush (that would clear the replayed delete and seal rows with no
// query side to hand them to): Load sends the replayed deletes, and a later
// flush hands the rows over.
TEST_P(StreamingFaultTest, ReplayKeepsDeletesAndRowsForAQuerySideThatOutlivedTheRestart) {
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  // The query side outlives the restarts below: its own object store client
  // and registry (opened after the flush: the registry reads the meta store once).
  kept_objects_ = std::move(OpenLocalObjectStore(dir_ + "/objects")).value();
  kept_registry_ = std::move(SegmentRegistry::Open(meta_.get())).value();
  kept_query_ = std::make_unique<QueryNode>(kept_objects_.get(), kept_registry_.get());
  flaky_on_ = true;
  options_.idle_check_ms = 3'600'000;  // the missed delete must still be unsent at the restart
  query_api_ = kept_query_.get();
  ASSERT_TRUE(Restart().ok());
  ASSERT_TRUE(streaming_->Load(info_).ok());

  flaky_.FailDeletes(1);
  ASSERT_TRUE(Delete({2}).ok());          // missed by the query side
  ASSERT_TRUE(Insert(Keys(10, 30)).ok());  // growing, not flushed
  // Restart with segments this small that the replayed rows fill one.
  options_.segment_bytes_max = 64;
  options_.seal_proportion = 1.0;
  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(FlushedRows(), 10) << "the replay flushed";
  ASSERT_TRUE(streaming_->Load(info_).ok());  // the query side holds the collection still
  std::set<int64_t> want = Range(0, 30);
  want.erase(2);
  Read r = ReadAll();
  EXPECT_EQ(r.keys, want);
  EXPECT_EQ(r.count, 29);
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  r = ReadAll();
  EXPECT_EQ(r.keys, want);
  EXPECT_EQ(r.count, 29);
}

// Bulk import (CommitImport): segments written outside the WAL are registered
// in one batch and handed to the query node of a loaded collection, with the
// deletes issued after the import's timestamp; a record naming a channel the
// node does not serve, or a failed meta commit, registers nothing.
TEST_P(StreamingFaultTest, CommitImportRegistersSegmentsAndHandsThemOverWithLaterDeletes) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  ASSERT_TRUE(Insert(Keys(0, 5)).ok());
  auto import_ts = coord_->AllocTimestamp();
  ASSERT_TRUE(import_ts.ok());
  auto schema = std::make_shared<const CollectionSchema>(info_.schema);
  auto seg = std::make_shared<Segment>(SegmentMeta{SegmentId(9001), info_.id, info_.partitions.at(0).id, Channel()},
                                       schema);
  DmlMessage rows = InsertOf(Keys(100, 110));
  seg->Append(rows.rows, std::vector<Timestamp>(10, *import_ts));
  seg->Seal();
  SegmentRecord rec;
  rec.id = seg->id();
  rec.collection_id = info_.id;
  rec.partition_id = info_.partitions.at(0).id;
  rec.channel = Channel();
  rec.num_rows = 10;
  rec.max_ts = *import_ts;
  seg->WithColumns([&](const ColumnBatch& cols, const std::vector<Timestamp>& ts) {
    auto keys = WriteSegmentFiles(objects_.get(), SegmentPrefix(info_.id, seg->id()), cols, ts);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    rec.files = *keys;
  });
  // A delete of an imported key after the import's timestamp, before its commit.
  DmlMessage del;
  del.type = DmlType::kDelete;
  del.collection = info_.id;
  del.delete_pks = Column::ForField(info_.schema.fields.at(0));
  const int64_t gone = 103;
  del.delete_pks.AppendFixed(&gone);
  ASSERT_TRUE(streaming_->Write(info_.id, 0, del).ok());

  SegmentRecord stranger = rec;
  stranger.channel = "not-a-channel-of-c";
  EXPECT_EQ(streaming_->CommitImport(info_.id, {stranger}).code(), StatusCode::kFailedPrecondition);
  faulty_meta_->commits().FailNth(1, testing::IoFailure(dir_ + "/meta"));
  EXPECT_FALSE(streaming_->CommitImport(info_.id, {rec}).ok());
  EXPECT_EQ(FlushedRows(), 0);
  EXPECT_EQ(query_->FindSegment(info_.id, rec.id), nullptr);

  ASSERT_TRUE(streaming_->CommitImport(info_.id, {rec}).ok());
  EXPECT_EQ(FlushedRows(), 10);
  EXPECT_EQ(registry_->GetCheckpoint(Channel())->lsn, 0u);  // no WAL position moves
  SegmentPtr held = query_->FindSegment(info_.id, rec.id);
  ASSERT_NE(held, nullptr);
  RetrievePlan plan;
  plan.ts = ~Timestamp{0} >> 1;
  Retrieved got;
  ASSERT_TRUE(RetrieveFromSegment(*held, plan, &got).ok());
  std::set<int64_t> keys;
  for (int64_t i = 0; i < got.rows.num_rows; ++i) keys.insert(std::get<int64_t>(PkAt(got.rows.columns[0], i)));
  std::set<int64_t> want = Range(100, 110);
  want.erase(gone);
  EXPECT_EQ(keys, want);
  EXPECT_EQ(GrowingKeys(), Range(0, 5));  // the WAL's rows are untouched
}

// The object store fails the n-th write of a flush (the first column file,
// a later one): the flush fails, nothing is sealed or committed, its files
// are deleted, writes go on, and a later flush commits everything.
TEST_P(StreamingFaultTest, ObjectStoreWriteFailureLeavesNoHalfFlush) {
  for (int nth : {1, 2, 3}) {
    SCOPED_TRACE("failing write " + std::to_string(nth));
    ASSERT_TRUE(Insert(Keys(nth * 100, nth * 100 + 10)).ok());
    std::set<int64_t> growing = GrowingKeys();
    faulty_objects_->writes().FailNth(nth, DiskFull(dir_ + "/objects/x"));
    auto flushed = streaming_->Flush(info_.id);
    ASSERT_FALSE(flushed.ok());
    EXPECT_NE(flushed.status().message().find("No space left on device"), std::string::npos)
        << flushed.status().ToString();
    ExpectNothingFlushed(growing);
    faulty_objects_->writes().Clear();
  }
  ASSERT_TRUE(Insert(Keys(0, 5)).ok());
  std::set<int64_t> all = GrowingKeys();
  ASSERT_EQ(all.size(), 35u);
  auto flushed = streaming_->Flush(info_.id);
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  EXPECT_EQ(FlushedRows(), 35);
  EXPECT_TRUE(GrowingKeys().empty());
  EXPECT_EQ(registry_->GetCheckpoint(Channel())->lsn, 4u);
  // After a restart nothing is replayed twice or lost.
  ASSERT_TRUE(Restart().ok());
  EXPECT_TRUE(GrowingKeys().empty());
  EXPECT_EQ(FlushedRows(), 35);
}

// A disk with a few hundred bytes free: the column files do not fit.
TEST_P(StreamingFaultTest, DiskFullAfterSomeBytesFailsTheFlushCleanly) {
  ASSERT_TRUE(Insert(Keys(0, 50)).ok());
  faulty_objects_->writes().FailAfterBytes(300, DiskFull(dir_ + "/objects"));
  ASSERT_FALSE(streaming_->Flush(info_.id).ok());
  ExpectNothingFlushed(Range(0, 50));
  faulty_objects_->writes().Clear();  // space freed
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  EXPECT_EQ(FlushedRows(), 50);
}

// The meta store refuses the flush commit (its files were written): nothing
// is committed, the files are deleted, a later flush commits.
TEST_P(StreamingFaultTest, MetaCommitFailureLeavesNoHalfFlush) {
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  faulty_meta_->commits().FailAlways(DiskFull(dir_ + "/meta/000004.log"));
  auto flushed = streaming_->Flush(info_.id);
  ASSERT_FALSE(flushed.ok());
  ExpectNothingFlushed(Range(0, 10));
  faulty_meta_->commits().Clear();
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  EXPECT_EQ(FlushedRows(), 10);
  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(FlushedRows(), 10);
  EXPECT_TRUE(GrowingKeys().empty());
}

// A flush syncs the WAL before its checkpoint covers it; a failed sync fails
// the flush before anything is committed.
TEST_P(StreamingFaultTest, WalSyncFailureFailsTheFlushBeforeTheCommit) {
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  faulty_wal_->syncs().FailNth(1, DiskFull(dir_ + "/wal"));
  ASSERT_FALSE(streaming_->Flush(info_.id).ok());
  ExpectNothingFlushed(Range(0, 10));
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  EXPECT_EQ(FlushedRows(), 10);
}

// A failed WAL append rejects the write: it is not applied, not replayed
// after a restart, and later writes are accepted.
TEST_P(StreamingFaultTest, WalAppendFailureRejectsOnlyThatWrite) {
  ASSERT_TRUE(Insert(Keys(0, 5)).ok());
  faulty_wal_->appends().FailNth(1, DiskFull(dir_ + "/wal"));
  Status st = Insert(Keys(5, 10));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.ToString();
  EXPECT_EQ(GrowingKeys(), Range(0, 5));
  ASSERT_TRUE(Insert(Keys(10, 15)).ok());
  std::set<int64_t> acked = Range(0, 5);
  for (int64_t k : Keys(10, 15)) acked.insert(k);
  EXPECT_EQ(GrowingKeys(), acked);
  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(GrowingKeys(), acked);
}

// A write whose client stopped waiting while it queued for the channel
// (behind a write whose WAL append hangs) is refused when it gets the
// channel: it takes no timestamp and leaves nothing, not even after a restart.
TEST_P(StreamingFaultTest, AWriteWhoseClientDeadlinePassedInTheQueueIsRefused) {
  faulty_wal_->appends().Hold();
  std::thread first([&] { EXPECT_TRUE(Insert(Keys(0, 3)).ok()); });
  while (faulty_wal_->appends().calls() < 1) std::this_thread::yield();  // it holds the channel
  Status late;
  std::atomic<bool> done{false};
  std::atomic<int64_t> late_deadline{0};
  std::thread second([&] {
    // The front door's context of the request this thread serves.
    SetCurrentRequestId("req-late");
    const int64_t d = NowUnixMicros() + 100'000;
    SetCurrentDeadline(d);
    late_deadline = d;
    late = Insert(Keys(3, 6));
    SetCurrentRequestId({});
    done = true;
  });
  // Until the second write's deadline has passed (it waits for the channel meanwhile).
  while (late_deadline.load() == 0 || NowUnixMicros() <= late_deadline.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(done.load());
  faulty_wal_->appends().Release();
  first.join();
  second.join();
  EXPECT_TRUE(IsDeadlineExceeded(late)) << late.ToString();
  EXPECT_EQ(GrowingKeys(), Range(0, 3));
  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(GrowingKeys(), Range(0, 3)) << "the refused write reached the WAL";
}

// Slow storage is only slow: a write waits for it and succeeds.
TEST_P(StreamingFaultTest, SlowWalAppendsStillSucceed) {
  faulty_wal_->appends().SetDelay(std::chrono::milliseconds(30));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Insert(Keys(0, 3)).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
  faulty_wal_->appends().Clear();
  EXPECT_EQ(GrowingKeys(), Range(0, 3));
}

// A WAL that ends below the flush checkpoint lost records: Open refuses it
// instead of appending with LSNs the checkpoint already covers.
TEST_P(StreamingFaultTest, OpenRefusesAWalThatEndsBelowItsCheckpoint) {
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  ASSERT_TRUE(Insert(Keys(10, 20)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  ASSERT_EQ(registry_->GetCheckpoint(Channel())->lsn, 2u);
  Stop();
  fs::remove_all(dir_ + "/wal/" + Channel());  // every log file gone
  Start();
  Status st = streaming_->Open(info_);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("below its flush checkpoint"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(Channel()), std::string::npos) << st.ToString();
}

// The meta store double: a failed create_collection commit leaves no
// collection, and the next create succeeds.
TEST_P(StreamingFaultTest, FailedCreateCollectionCommitLeavesNothing) {
  CreateCollectionParams p;
  p.schema = info_.schema;
  p.schema.name = "c2";
  for (auto& f : p.schema.fields) f.id = FieldId();
  faulty_meta_->commits().FailAlways(DiskFull(dir_ + "/meta"));
  EXPECT_FALSE(coord_->CreateCollection(p).ok());
  EXPECT_FALSE(coord_->DescribeCollection("", "c2").ok());
  faulty_meta_->commits().Clear();
  ASSERT_TRUE(Restart().ok());
  EXPECT_FALSE(coord_->DescribeCollection("", "c2").ok());
  EXPECT_TRUE(coord_->CreateCollection(p).ok());
  EXPECT_TRUE(coord_->DescribeCollection("", "c2").ok());
}

// ---- the read flow through the delegator (role_api.h)

// A query node whose answers wait until the test releases them; it holds
// nothing (every answer is empty) and says every collection is loaded.
class LateQueryNode final : public QueryNodeApi {
 public:
  void Release() {
    {
      std::lock_guard l(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  int searches() const { return searches_.load(); }

  Status Search(const rolepb::SearchRequest&, SearchPart* out, const CancelHook&) override {
    ++searches_;
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return released_; });
    out->nq = 1;
    out->hits.resize(1);
    return Status::OK();
  }
  Status Retrieve(const rolepb::RetrieveRequest&, Retrieved*) override { return Status::OK(); }
  Status ReadStats(const rolepb::ReadStatsRequest&, rolepb::ReadStatsResponse*) override { return Status::OK(); }
  Status Load(const CollectionInfo&, std::shared_ptr<const CollectionSchema>) override { return Status::OK(); }
  void Release(CollectionId) override {}
  bool IsLoaded(CollectionId) const override { return true; }
  Status LoadSegments(const rolepb::LoadSegmentsRequest&, std::vector<SegmentPtr>,
                      rolepb::LoadSegmentsResponse*) override {
    return Status::OK();
  }
  Status ReleaseSegments(CollectionId, const std::vector<SegmentId>&) override { return Status::OK(); }
  Status ApplyDeletes(CollectionId, const std::string&, const std::vector<DeleteRecord>&) override {
    return Status::OK();
  }
  Status LoadIndex(CollectionId, const SegmentIndexRecord&, std::shared_ptr<const index::VectorIndex>,
                   std::shared_ptr<const index::ScalarIndex>) override {
    return Status::OK();
  }
  Status DetachIndex(CollectionId, IndexId) override { return Status::OK(); }
  SegmentPtr FindSegment(CollectionId, SegmentId) const override { return nullptr; }
  std::vector<SegmentSummary> LoadedSegments(CollectionId) const override { return {}; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::atomic<int> searches_{0};
};

// Strong consistency is the shard's tsafe, not a lock: a read whose guarantee
// timestamp is above a write still in flight (its WAL append hangs) waits for
// that write and then sees it; it must not answer from the state before.
TEST_P(StreamingFaultTest, StrongReadWaitsForTheWriteInFlightThenSeesIt) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  faulty_wal_->appends().Hold();
  std::thread writer([&] { EXPECT_TRUE(Insert({42}).ok()); });
  while (faulty_wal_->appends().calls() < 1) std::this_thread::yield();  // the write has its timestamp
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());
  std::atomic<bool> done{false};
  int64_t seen = -1;
  std::thread reader([&] {
    rolepb::RetrieveRequest req;
    *req.mutable_scope() = Scope(*t, *t);
    req.set_count_only(true);
    req.set_limit(-1);
    Retrieved resp;
    Status st = streaming_->Retrieve(req, &resp);
    EXPECT_TRUE(st.ok()) << st.ToString();
    seen = resp.count;
    done = true;
  });
  // While the write hangs the read cannot be answered (a bounded look, then on).
  for (int i = 0; i < 50 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_FALSE(done.load()) << "a Strong read answered while a write below its timestamp was in flight";
  faulty_wal_->appends().Release();
  writer.join();
  reader.join();
  EXPECT_EQ(seen, 1) << "the Strong read must see the write acknowledged below its timestamp";
}

// A query node that answers late holds up only the read that waits for it:
// the delegator holds no shard lock while it asks, so writes to the shard go on.
TEST_P(StreamingFaultTest, LateQueryNodeDoesNotHoldUpWritesToTheShard) {
  LateQueryNode late;
  query_api_ = &late;
  ASSERT_TRUE(Restart().ok());
  ASSERT_TRUE(streaming_->Load(info_).ok());  // the delegator serves reads of loaded collections only
  ASSERT_TRUE(Insert({1}).ok());
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());
  SearchPart part;
  Status search_st;
  std::atomic<bool> finished{false};
  std::thread reader([&] {
    search_st = streaming_->Search(SearchOf(*t), &part, {});
    finished = true;
  });
  // Until the search reaches the query node (or ends without it: then the checks below fail).
  while (late.searches() < 1 && !finished) std::this_thread::yield();
  // The query node has not answered yet; a write to the same shard completes.
  EXPECT_TRUE(Insert({7}).ok());
  late.Release();
  reader.join();
  ASSERT_TRUE(search_st.ok()) << search_st.ToString();
  // The search ran at t: it sees row 1 (growing) but not row 7, written after.
  ASSERT_EQ(part.hits.size(), 1u);
  std::vector<int64_t> ids;
  for (const Hit& h : part.hits[0]) ids.push_back(std::get<int64_t>(h.pk));
  EXPECT_EQ(ids, std::vector<int64_t>{1});
  query_api_ = nullptr;
}


// ---- the read flow over gRPC (role_grpc.h): the same answers as in one process

// Serves `services` on an in-process gRPC server (the whole gRPC stack, no socket).
std::unique_ptr<grpc::Server> Serve(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder b;
  for (grpc::Service* s : services) b.RegisterService(s);
  return b.BuildAndStart();
}

void ExpectSameParts(const SearchPart& a, const SearchPart& b) {
  ASSERT_EQ(a.nq, b.nq);
  ASSERT_EQ(a.hits.size(), b.hits.size());
  for (size_t q = 0; q < a.hits.size(); ++q) {
    ASSERT_EQ(a.hits[q].size(), b.hits[q].size()) << "query " << q;
    for (size_t i = 0; i < a.hits[q].size(); ++i) {
      EXPECT_EQ(a.hits[q][i].pk, b.hits[q][i].pk);
      EXPECT_EQ(a.hits[q][i].distance, b.hits[q][i].distance);
    }
  }
  EXPECT_EQ(a.rows.num_rows, b.rows.num_rows);
}

TEST_P(StreamingFaultTest, ReadsOverGrpcAnswerAsInOneProcess) {
  ASSERT_TRUE(Insert(Keys(0, 40)).ok());
  ASSERT_TRUE(streaming_->Flush(info_.id).ok());  // sealed: served by the query node
  ASSERT_TRUE(streaming_->Load(info_).ok());
  ASSERT_TRUE(Insert(Keys(40, 50)).ok());  // growing: served by the delegator
  auto svc_q = MakeQueryNodeService(query_.get());
  auto svc_s = MakeStreamingNodeService(streaming_.get());
  auto server = Serve({svc_q.get(), svc_s.get()});
  auto remote_q = MakeRemoteQueryNode(server->InProcessChannel(grpc::ChannelArguments()), nullptr);
  auto remote_s = MakeRemoteStreamingNode(server->InProcessChannel(grpc::ChannelArguments()), nullptr);
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());

  rolepb::SearchRequest search = SearchOf(*t);
  search.set_k(5);
  for (auto* pair : {&search}) {
    SearchPart local_s, over_s, local_q, over_q;
    ASSERT_TRUE(streaming_->Search(*pair, &local_s, {}).ok());
    ASSERT_TRUE(remote_s->Search(*pair, &over_s, [] { return false; }).ok());  // the cancellable call
    ExpectSameParts(local_s, over_s);
    ASSERT_EQ(local_s.hits.at(0).size(), 5u);
    EXPECT_EQ(std::get<int64_t>(local_s.hits[0][0].pk), 7);  // the query vector is row 7's
    ASSERT_TRUE(query_->Search(*pair, &local_q, {}).ok());
    ASSERT_TRUE(remote_q->Search(*pair, &over_q, {}).ok());
    ExpectSameParts(local_q, over_q);
  }

  rolepb::RetrieveRequest get;
  *get.mutable_scope() = Scope(*t, *t);
  get.set_limit(-1);
  Retrieved local_r, over_r;
  ASSERT_TRUE(streaming_->Retrieve(get, &local_r).ok());
  ASSERT_TRUE(remote_s->Retrieve(get, &over_r).ok());
  EXPECT_EQ(local_r.rows.num_rows, 50);
  EXPECT_EQ(over_r.rows.num_rows, 50);
  EXPECT_EQ(over_r.ts, local_r.ts);
  get.set_count_only(true);
  Retrieved count;
  ASSERT_TRUE(remote_s->Retrieve(get, &count).ok());
  EXPECT_EQ(count.count, 50);

  rolepb::ReadStatsRequest stats;
  *stats.mutable_scope() = Scope(*t, *t);
  stats.set_field(info_.schema.fields.at(1).id.value);
  rolepb::ReadStatsResponse local_st, over_st;
  ASSERT_TRUE(streaming_->ReadStats(stats, &local_st).ok());
  ASSERT_TRUE(remote_s->ReadStats(stats, &over_st).ok());
  EXPECT_EQ(over_st.SerializeAsString(), local_st.SerializeAsString());
}

// A role's error crosses the wire with its code, reason and message; a peer
// that is not there is an IOError naming it, not a crash or a hang.
TEST_P(StreamingFaultTest, ErrorsOverGrpcKeepCodeReasonAndMessage) {
  auto svc_s = MakeStreamingNodeService(streaming_.get());
  auto server = Serve({svc_s.get()});
  auto remote_s = MakeRemoteStreamingNode(server->InProcessChannel(grpc::ChannelArguments()), nullptr);
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());
  rolepb::SearchRequest req = SearchOf(*t);
  req.mutable_scope()->set_shard(9);  // no such shard
  SearchPart local, over;
  Status a = streaming_->Search(req, &local, {});
  Status b = remote_s->Search(req, &over, {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(b.code(), a.code());
  EXPECT_EQ(b.reason(), a.reason());
  EXPECT_EQ(b.message(), a.message());
  // Not loaded: the query node's own refusal.
  req = SearchOf(*t);
  a = streaming_->Search(req, &local, {});
  b = remote_s->Search(req, &over, {});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(b.reason(), a.reason());
  EXPECT_EQ(b.message(), a.message());

  auto gone = MakeRemoteStreamingNode(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()), nullptr);
  Status st = gone->Search(req, &over, {});
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("role peer unavailable"), std::string::npos) << st.ToString();
  // Every call crosses the wire (the whole StreamingNodeApi is served): an
  // unreachable peer is an error, never an answer made up here.
  auto flushed = gone->Flush(info_.id);
  EXPECT_EQ(flushed.status().code(), StatusCode::kIOError) << flushed.status().ToString();
  auto safe = gone->SafeTimestamp(info_.id, *t);
  EXPECT_EQ(safe.status().code(), StatusCode::kIOError) << "a tsafe made up for an unreachable peer";
}

// A cancelled caller (client gone, deadline, shutdown) is answered at once
// even while the peer has not answered; the peer's call sees the cancellation.
TEST_P(StreamingFaultTest, CancelledCallOverGrpcReturnsWhileThePeerHangs) {
  LateQueryNode late;
  auto svc_q = MakeQueryNodeService(&late);
  auto server = Serve({svc_q.get()});
  auto remote_q = MakeRemoteQueryNode(server->InProcessChannel(grpc::ChannelArguments()), nullptr);
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());
  std::atomic<bool> cancel{false};
  Status st;
  std::thread caller([&] {
    SearchPart part;
    st = remote_q->Search(SearchOf(*t), &part, [&] { return cancel.load(); });
  });
  while (late.searches() < 1) std::this_thread::yield();  // the peer is inside the call
  cancel = true;
  caller.join();  // returns although the peer still waits
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  late.Release();
}

// Flush, then write more, then restart: the flushed rows come back from the
// registry's records and the rest is replayed from the WAL after the
// checkpoint, once each; the channel opens under a new WAL term.
TEST_P(StreamingFaultTest, FlushRestartReplaysOnlyWhatFollowsTheCheckpoint) {
  ASSERT_TRUE(Insert(Keys(0, 10)).ok());
  auto flushed = streaming_->Flush(info_.id);
  ASSERT_TRUE(flushed.ok()) << flushed.status().ToString();
  EXPECT_EQ(flushed->size(), 1u);
  ASSERT_TRUE(Insert(Keys(10, 15)).ok());
  ASSERT_TRUE(Insert(Keys(15, 18)).ok());
  const uint64_t checkpoint = registry_->GetCheckpoint(Channel())->lsn;
  EXPECT_EQ(checkpoint, 1u);
  // (Read, not NextWalTerm: taking a term would take the channel from this node.)
  const uint64_t term_before = CurrentTerm();

  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(FlushedRows(), 10);
  EXPECT_EQ(GrowingKeys(), Range(10, 18));
  EXPECT_GT(CurrentTerm(), term_before) << "Open took a new term";
  ASSERT_TRUE(streaming_->Load(info_).ok());
  auto t = coord_->AllocTimestamp();
  ASSERT_TRUE(t.ok());
  rolepb::RetrieveRequest get;
  *get.mutable_scope() = Scope(*t, *t);
  get.set_limit(-1);
  get.set_count_only(true);
  Retrieved count;
  ASSERT_TRUE(streaming_->Retrieve(get, &count).ok());
  EXPECT_EQ(count.count, 18);

  ASSERT_TRUE(streaming_->Flush(info_.id).ok());
  EXPECT_EQ(FlushedRows(), 18);
  EXPECT_GT(registry_->GetCheckpoint(Channel())->lsn, checkpoint);
  ASSERT_TRUE(Restart().ok());
  EXPECT_EQ(FlushedRows(), 18);
  EXPECT_TRUE(GrowingKeys().empty());
}

INSTANTIATE_TEST_SUITE_P(CoordPaths, StreamingFaultTest, ::testing::Values(CoordPath::kInProcess, CoordPath::kGrpc),
                         [](const ::testing::TestParamInfo<CoordPath>& p) {
                           return p.param == CoordPath::kGrpc ? std::string("OverGrpc") : std::string("InProcess");
                         });

}  // namespace
}  // namespace kite
