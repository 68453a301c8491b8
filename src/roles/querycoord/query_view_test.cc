// The query view over several query nodes (issue 16, query views): the real
// streaming node hands flushed segments and deletes to a QueryView spreading
// them over two query nodes that hold no registry (as `kite querynode`
// processes), each behind an adapter that can "die" (answers kIOError, as a
// peer whose process is gone). Reads must answer every row exactly once,
// deletes included, before and after a node is lost.
#include "roles/querycoord/query_view.h"

#include <stdlib.h>

#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roles/api/role_call.h"
#include "roles/api/role_codec.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

namespace kite {
namespace {

namespace fs = std::filesystem;

// A query node that can be made unreachable.
class Killable final : public QueryNodeApi {
 public:
  explicit Killable(QueryNodeApi* node) : node_(node) {}
  void Kill() { dead_ = true; }
  // Refuses every call as a peer that does not accept this process's
  // cluster credential (role_call.h): alive, but useless to this caller.
  void Refuse() { refusing_ = true; }
  int reads() const { return reads_; }

  Status Search(const rolepb::SearchRequest& r, SearchPart* o, const CancelHook& c) override {
    ++reads_;
    return dead_ || refusing_ ? Gone() : node_->Search(r, o, c);
  }
  Status Retrieve(const rolepb::RetrieveRequest& r, Retrieved* o) override {
    ++reads_;
    return dead_ || refusing_ ? Gone() : node_->Retrieve(r, o);
  }
  Status ReadStats(const rolepb::ReadStatsRequest& r, rolepb::ReadStatsResponse* o) override {
    return dead_ || refusing_ ? Gone() : node_->ReadStats(r, o);
  }
  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> s) override {
    return dead_ || refusing_ ? Gone() : node_->Load(c, std::move(s));
  }
  void Release(CollectionId c) override {
    if (!dead_ && !refusing_) node_->Release(c);
  }
  bool IsLoaded(CollectionId c) const override { return !dead_ && !refusing_ && node_->IsLoaded(c); }
  Status LoadSegments(const rolepb::LoadSegmentsRequest& r, std::vector<SegmentPtr>,
                      rolepb::LoadSegmentsResponse* resp) override {
    // As over the wire: the in-memory copies never arrive; the files are read.
    return dead_ || refusing_ ? Gone() : node_->LoadSegments(r, {}, resp);
  }
  Status ReleaseSegments(CollectionId c, const std::vector<SegmentId>& s) override {
    return dead_ || refusing_ ? Gone() : node_->ReleaseSegments(c, s);
  }
  Status ApplyDeletes(CollectionId c, const std::string& ch, const std::vector<DeleteRecord>& d) override {
    return dead_ || refusing_ ? Gone() : node_->ApplyDeletes(c, ch, d);
  }
  Status LoadIndex(CollectionId c, const SegmentIndexRecord& r, std::shared_ptr<const index::VectorIndex>,
                   std::shared_ptr<const index::ScalarIndex>) override {
    return dead_ || refusing_ ? Gone() : node_->LoadIndex(c, r, nullptr, nullptr);
  }
  Status DetachIndex(CollectionId c, IndexId i) override { return dead_ || refusing_ ? Gone() : node_->DetachIndex(c, i); }
  std::vector<SegmentSummary> LoadedSegments(CollectionId c) const override { return node_->LoadedSegments(c); }
  SegmentPtr FindSegment(CollectionId, SegmentId) const override { return nullptr; }

 private:
  Status Gone() const {
    if (refusing_) return PeerRefusalStatus("127.0.0.1:9", "wrong cluster credential (gRPC code 16)");
    return IOError("role peer unavailable: connection refused");
  }
  QueryNodeApi* node_;
  std::atomic<bool> refusing_{false};
  std::atomic<bool> dead_{false};
  std::atomic<int> reads_{0};
};

class QueryViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "kite_qv_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    meta_ = NewMemoryMetaStore();
    coord_ = std::move(OpenCoordinator(meta_.get(), Limits{})).value();
    registry_ = std::move(SegmentRegistry::Open(meta_.get())).value();
    wal_ = std::move(OpenLocalWal(dir_ + "/wal", WalOptions{})).value();
    objects_ = std::move(OpenLocalObjectStore(dir_ + "/objects")).value();
    view_ = std::make_unique<QueryView>(registry_.get());
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(std::make_unique<QueryNode>(objects_.get(), nullptr));
      auto k = std::make_unique<Killable>(nodes_.back().get());
      killable_.push_back(k.get());
      view_->AddNode(i + 1, "node" + std::to_string(i + 1), std::move(k));
    }
    streaming_ = std::make_unique<StreamingNode>(wal_.get(), objects_.get(), registry_.get(), coord_.get(),
                                                 view_.get(), StreamingOptions{});
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
    info_ = coord_->DescribeCollection("", "c")->info;
    ASSERT_TRUE(streaming_->Open(info_).ok());
  }

  void TearDown() override {
    streaming_.reset();
    view_.reset();
    nodes_.clear();
    objects_.reset();
    wal_.reset();
    registry_.reset();
    coord_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  DmlMessage InsertOf(int64_t a, int64_t b) {
    DmlMessage m;
    m.type = DmlType::kInsert;
    m.collection = info_.id;
    m.partition = info_.partitions.at(0).id;
    for (const auto& f : info_.schema.fields) m.rows.columns.push_back(Column::ForField(f));
    for (int64_t pk = a; pk < b; ++pk) {
      m.rows.columns[0].AppendFixed(&pk);
      float v[4] = {static_cast<float>(pk), 1, 2, 3};
      m.rows.columns[1].AppendFixed(v);
    }
    for (auto& c : m.rows.columns) c.num_rows = b - a;
    m.rows.num_rows = b - a;
    return m;
  }

  void Insert(int64_t a, int64_t b) { ASSERT_TRUE(streaming_->Write(info_.id, 0, InsertOf(a, b)).ok()); }
  void Delete(const std::vector<int64_t>& pks) {
    DmlMessage m;
    m.type = DmlType::kDelete;
    m.collection = info_.id;
    m.delete_pks = Column::ForField(info_.schema.fields[0]);
    for (int64_t pk : pks) m.delete_pks.AppendFixed(&pk);
    m.delete_pks.num_rows = static_cast<int64_t>(pks.size());
    ASSERT_TRUE(streaming_->Write(info_.id, 0, std::move(m)).ok());
  }
  void Flush() { ASSERT_TRUE(streaming_->Flush(info_.id).ok()); }

  // Every primary key a query of the whole shard returns, through the delegator.
  Result<std::vector<int64_t>> AllPks() {
    rolepb::RetrieveRequest req;
    rolepb::ReadScope* sc = req.mutable_scope();
    sc->set_collection(info_.id.value);
    sc->set_shard(0);
    sc->set_channel(info_.channels.at(0));
    sc->add_partitions(info_.partitions.at(0).id.value);
    sc->set_ts(std::numeric_limits<uint64_t>::max() >> 1);
    sc->set_include_growing(true);
    req.set_limit(-1);
    Retrieved r;
    KITE_RETURN_IF_ERROR(streaming_->Retrieve(req, &r));
    std::vector<int64_t> out;
    const Column& pk = r.rows.columns.at(0);
    for (int64_t i = 0; i < pk.num_rows; ++i) out.push_back(std::get<int64_t>(PkAt(pk, i)));
    return out;
  }

  static std::vector<int64_t> Range(int64_t a, int64_t b, const std::set<int64_t>& minus = {}) {
    std::vector<int64_t> out;
    for (int64_t i = a; i < b; ++i) {
      if (!minus.count(i)) out.push_back(i);
    }
    return out;
  }

  std::set<int64_t> Holders() {
    std::set<int64_t> out;
    for (const auto& [seg, node] : view_->Assignment(info_.id)) out.insert(node);
    return out;
  }

  std::string dir_;
  CollectionInfo info_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorApi> coord_;
  std::unique_ptr<SegmentRegistry> registry_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<QueryView> view_;
  std::vector<std::unique_ptr<QueryNode>> nodes_;
  std::vector<Killable*> killable_;
  std::unique_ptr<StreamingNode> streaming_;
};

TEST_F(QueryViewTest, FlushedSegmentsSpreadOverNodesAndEveryRowIsReadOnce) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  for (int b = 0; b < 4; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  EXPECT_EQ(Holders(), (std::set<int64_t>{1, 2}));
  Insert(400, 450);  // growing, read by the delegator
  auto pks = AllPks();
  ASSERT_TRUE(pks.ok()) << pks.status().ToString();
  EXPECT_EQ(*pks, Range(0, 450));
  EXPECT_GT(killable_[0]->reads(), 0);
  EXPECT_GT(killable_[1]->reads(), 0);
}

TEST_F(QueryViewTest, ALostNodesSegmentsMoveWithTheirDeletes) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  for (int b = 0; b < 4; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  Delete({1, 101, 201, 301});  // sealed rows on both nodes, persisted by the next flush
  Insert(400, 420);
  Flush();
  Delete({2, 102, 202, 302, 402});  // forwarded only: no delta file holds them yet
  const std::set<int64_t> deleted = {1, 101, 201, 301, 2, 102, 202, 302, 402};
  auto before = AllPks();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(*before, Range(0, 420, deleted));

  killable_[0]->Kill();
  // The read that meets the dead node moves its segments and runs again.
  auto after = AllPks();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, Range(0, 420, deleted));
  EXPECT_EQ(Holders(), (std::set<int64_t>{2}));

  // Writes, deletes and flushes go on onto the survivor.
  Insert(500, 510);
  Delete({3, 505});
  Flush();
  std::set<int64_t> deleted2 = deleted;
  deleted2.insert({3, 505});
  std::vector<int64_t> want = Range(0, 420, deleted2);
  for (int64_t i : Range(500, 510, deleted2)) want.push_back(i);
  auto last = AllPks();
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(*last, want);
}

// Issue 17: a node that refuses this process's credentials is not dead. It
// is not evicted (its segments stay, reads there fail with the refusal and
// never answer without them), hand-overs go to the other node, and the
// node gets nothing new while it refuses.
TEST_F(QueryViewTest, ARefusingNodeIsNotEvictedAndGetsNothingNew) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  for (int b = 0; b < 2; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  ASSERT_EQ(Holders(), (std::set<int64_t>{1, 2}));
  const auto before = view_->Assignment(info_.id);

  killable_[1]->Refuse();
  auto refused = AllPks();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsPeerRefusal(refused.status())) << refused.status().ToString();
  EXPECT_EQ(view_->Assignment(info_.id), before);  // nothing moved: no eviction
  EXPECT_EQ(view_->Nodes().size(), 2u);

  // Two more flushes: node 2 holds fewer rows than node 1 would after the
  // first, yet both land on node 1 (the refusal marks node 2 at the first).
  for (int b = 2; b < 4; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  const auto after = view_->Assignment(info_.id);
  for (const auto& [seg, node] : after) {
    if (!before.count(seg)) EXPECT_EQ(node, 1) << "segment " << seg;
  }
  for (const QueryViewNode& n : view_->Nodes()) EXPECT_EQ(n.refused, n.id == 2) << n.id;
}

TEST_F(QueryViewTest, ReleaseAndLoadPlaceFromTheRegistry) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  for (int b = 0; b < 3; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  Delete({5, 150});
  Flush();
  ASSERT_TRUE(streaming_->Release(info_.id).ok());
  EXPECT_FALSE(view_->IsLoaded(info_.id));
  ASSERT_TRUE(streaming_->Load(info_).ok());
  EXPECT_EQ(Holders(), (std::set<int64_t>{1, 2}));
  auto pks = AllPks();
  ASSERT_TRUE(pks.ok()) << pks.status().ToString();
  EXPECT_EQ(*pks, Range(0, 300, {5, 150}));
}

TEST_F(QueryViewTest, NoNodeLeftIsAnErrorNotAPartialAnswerUntilOneJoins) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  Insert(0, 100);
  Flush();
  Insert(100, 200);
  Flush();
  killable_[0]->Kill();
  killable_[1]->Kill();
  auto pks = AllPks();
  ASSERT_FALSE(pks.ok());
  EXPECT_EQ(pks.status().code(), StatusCode::kIOError) << pks.status().ToString();
  // A flush meanwhile: its segment has no node either, and is not forgotten.
  Insert(200, 250);
  Flush();
  ASSERT_FALSE(AllPks().ok());
  // A node joins: it takes every segment, and reads answer completely again.
  nodes_.push_back(std::make_unique<QueryNode>(objects_.get(), nullptr));
  view_->AddNode(3, "node3", std::make_unique<Killable>(nodes_.back().get()));
  view_->Rebalance();
  auto after = AllPks();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, Range(0, 250));
}

}  // namespace
}  // namespace kite

namespace kite {
namespace {

TEST_F(QueryViewTest, ANodeThatJoinsTakesSegmentsAndReadsStayExact) {
  ASSERT_TRUE(streaming_->Load(info_).ok());
  killable_[1]->Kill();  // everything lands on node 1
  for (int b = 0; b < 4; ++b) {
    Insert(b * 100, (b + 1) * 100);
    Flush();
  }
  Delete({7, 107});  // forwarded only: the moved copy must get it too
  ASSERT_EQ(Holders(), (std::set<int64_t>{1}));
  nodes_.push_back(std::make_unique<QueryNode>(objects_.get(), nullptr));
  auto k = std::make_unique<Killable>(nodes_.back().get());
  Killable* joined = k.get();
  view_->AddNode(3, "node3", std::move(k));
  view_->Rebalance();
  EXPECT_EQ(Holders(), (std::set<int64_t>{1, 3}));
  auto pks = AllPks();
  ASSERT_TRUE(pks.ok()) << pks.status().ToString();
  EXPECT_EQ(*pks, Range(0, 400, {7, 107}));
  EXPECT_GT(joined->reads(), 0);
  // The old holder released what moved: each segment is held once.
  int64_t held = 0;
  for (const auto& n : nodes_) held += static_cast<int64_t>(n->LoadedSegments(info_.id).size());
  EXPECT_EQ(held, 4);
}

}  // namespace
}  // namespace kite
