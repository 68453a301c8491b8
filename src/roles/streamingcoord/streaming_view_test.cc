// StreamingView: placement of collections on streaming nodes, routing, and
// moves when a node is lost or none is there yet. The nodes are recording
// doubles of StreamingNodeApi (the view's only contract with them); the
// processes and Kafka are exercised end to end by
// tests/e2e/test_remote_streaming_nodes.py.
#include "roles/streamingcoord/streaming_view.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "storage/meta/meta_store.h"

namespace kite {
namespace {

// Records what it was asked; `down` makes every call fail as an unreachable peer.
class RecordingNode final : public StreamingNodeApi {
 public:
  std::atomic<bool> down{false};
  std::mutex mu;
  std::vector<std::string> calls;
  std::set<int64_t> open, loaded;

  Status Note(const std::string& what) {
    if (down) return IOError("role peer unavailable: connection refused (gRPC code 14)");
    std::lock_guard l(mu);
    calls.push_back(what);
    return Status::OK();
  }
  Status Open(const CollectionInfo& c) override {
    KITE_RETURN_IF_ERROR(Note("open " + std::to_string(c.id.value)));
    open.insert(c.id.value);
    return Status::OK();
  }
  Status Drop(const CollectionInfo& c) override {
    open.erase(c.id.value);
    return Note("drop " + std::to_string(c.id.value));
  }
  Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage) override {
    KITE_RETURN_IF_ERROR(Note("write " + std::to_string(collection.value)));
    return Timestamp(100);
  }
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override {
    KITE_RETURN_IF_ERROR(Note("flush " + std::to_string(collection.value)));
    return std::vector<SegmentId>{};
  }
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>&) override {
    return Note("retain " + std::to_string(collection.value));
  }
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>&) override {
    return Note("import " + std::to_string(collection.value));
  }
  Status Load(const CollectionInfo& c) override {
    KITE_RETURN_IF_ERROR(Note("load " + std::to_string(c.id.value)));
    loaded.insert(c.id.value);
    return Status::OK();
  }
  Status Release(CollectionId collection) override { return Note("release " + std::to_string(collection.value)); }
  Status ApplySchema(const CollectionInfo& c) override { return Note("schema " + std::to_string(c.id.value)); }
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId) override {
    KITE_RETURN_IF_ERROR(Note("persistent"));
    return std::vector<SegmentSummary>{};
  }
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId) override {
    KITE_RETURN_IF_ERROR(Note("loaded"));
    return std::vector<SegmentSummary>{};
  }
  Result<Timestamp> SafeTimestamp(CollectionId, Timestamp now) override {
    KITE_RETURN_IF_ERROR(Note("safe"));
    return now - 1;
  }
  Result<int64_t> RowCount(CollectionId, int64_t, const std::set<int64_t>&) override {
    KITE_RETURN_IF_ERROR(Note("rows"));
    return int64_t{7};
  }
  Status Search(const rolepb::SearchRequest&, SearchPart*, const CancelHook&) override { return Note("search"); }
  Status Retrieve(const rolepb::RetrieveRequest&, Retrieved*) override { return Note("retrieve"); }
  Status ReadStats(const rolepb::ReadStatsRequest&, rolepb::ReadStatsResponse*) override { return Note("stats"); }
};

CollectionInfo Coll(int64_t id) {
  CollectionInfo c;
  c.id = CollectionId(id);
  c.schema.name = "c" + std::to_string(id);
  c.channels = {"ch_" + std::to_string(id)};
  return c;
}

// The view owns its nodes; the test keeps raw pointers to look at them.
RecordingNode* Add(StreamingView& view, int64_t id) {
  auto node = std::make_unique<RecordingNode>();
  RecordingNode* raw = node.get();
  view.AddNode(id, "127.0.0.1:" + std::to_string(id), std::move(node));
  return raw;
}

TEST(StreamingView, SpreadsCollectionsAndRoutesEachCallToItsLeader) {
  StreamingView view(nullptr);
  RecordingNode* a = Add(view, 1);
  RecordingNode* b = Add(view, 2);
  ASSERT_TRUE(view.Open(Coll(10)).ok());
  ASSERT_TRUE(view.Open(Coll(11)).ok());
  auto bound = view.Bindings();
  EXPECT_NE(bound[10], bound[11]) << "two collections on one node while another leads none";
  RecordingNode* lead10 = bound[10] == 1 ? a : b;
  RecordingNode* other = lead10 == a ? b : a;
  ASSERT_TRUE(view.Write(CollectionId(10), 0, DmlMessage{}).ok());
  auto rows = view.RowCount(CollectionId(10), 0, {});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 7);
  EXPECT_EQ(std::count(lead10->calls.begin(), lead10->calls.end(), "write 10"), 1);
  EXPECT_EQ(std::count(other->calls.begin(), other->calls.end(), "write 10"), 0);
  EXPECT_FALSE(view.Degraded());
}

TEST(StreamingView, UnreachableLeaderIsEvictedAndTheCallRunsOnTheNewLeader) {
  StreamingView view(nullptr);
  RecordingNode* a = Add(view, 1);
  ASSERT_TRUE(view.Open(Coll(10)).ok());
  ASSERT_TRUE(view.Load(Coll(10)).ok());
  RecordingNode* b = Add(view, 2);
  ASSERT_EQ(view.Bindings()[10], 1);
  a->down = true;
  auto ts = view.Write(CollectionId(10), 0, DmlMessage{});
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  EXPECT_EQ(view.Bindings()[10], 2);
  // The new leader opened the channels (replaying the WAL) and loaded the collection before the write.
  std::vector<std::string> want = {"open 10", "load 10", "write 10"};
  EXPECT_EQ(b->calls, want);
  EXPECT_EQ(view.Nodes().size(), 1u);
}

TEST(StreamingView, CollectionsWaitUnboundUntilTheFirstNodeJoins) {
  StreamingView view(nullptr);
  ASSERT_TRUE(view.Open(Coll(10)).ok());             // the coordinator's recovery, before any node
  ASSERT_TRUE(view.RetainPartitions(CollectionId(10), {}).ok());
  ASSERT_TRUE(view.Load(Coll(10)).ok());
  EXPECT_TRUE(view.Degraded());
  auto w = view.Write(CollectionId(10), 0, DmlMessage{});
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("no streaming node available"), std::string::npos) << w.status().ToString();
  RecordingNode* a = Add(view, 1);
  std::vector<std::string> want = {"open 10", "retain 10", "load 10"};
  EXPECT_EQ(a->calls, want);
  EXPECT_EQ(view.Bindings()[10], 1);
  EXPECT_FALSE(view.Degraded());
  EXPECT_TRUE(view.Write(CollectionId(10), 0, DmlMessage{}).ok());
}

TEST(StreamingView, LostLastNodeLeavesCollectionsUnboundNotAnsweredWrongly) {
  StreamingView view(nullptr);
  Add(view, 1);
  ASSERT_TRUE(view.Open(Coll(10)).ok());
  view.RemoveNode(1);
  EXPECT_TRUE(view.Degraded());
  auto safe = view.SafeTimestamp(CollectionId(10), 1000);
  ASSERT_FALSE(safe.ok()) << "a tsafe made up without a leader";
  RecordingNode* b = Add(view, 2);
  EXPECT_EQ(view.Bindings()[10], 2);
  EXPECT_EQ(b->calls.front(), "open 10");
}

TEST(StreamingView, RestartedCoordinatorKeepsTheRecordedLeader) {
  auto meta = NewMemoryMetaStore();
  std::map<int64_t, int64_t> original;
  {
    StreamingView view(meta.get());
    Add(view, 1);
    Add(view, 2);
    ASSERT_TRUE(view.Open(Coll(10)).ok());
    ASSERT_TRUE(view.Open(Coll(11)).ok());
    original = view.Bindings();
  }
  StreamingView first(meta.get());
  Add(first, 1);
  Add(first, 2);
  ASSERT_TRUE(first.Open(Coll(11)).ok());  // recovery order need not be the creation order
  ASSERT_TRUE(first.Open(Coll(10)).ok());
  StreamingView again(meta.get());
  Add(again, 2);
  Add(again, 1);
  ASSERT_TRUE(again.Open(Coll(10)).ok());
  ASSERT_TRUE(again.Open(Coll(11)).ok());
  EXPECT_EQ(first.Bindings(), original);
  EXPECT_EQ(again.Bindings(), original);
}

}  // namespace
}  // namespace kite
