// Deadlines, cancellation and refusals of the role transport (role_grpc.h,
// role_call.h): a role server that blocks answers within about the
// request's deadline (or the per-call limit) with Milvus's timeout, the
// deadline reaches the server's CancelHook, a peer that answers nothing is
// unreachable, and a peer that refuses the cluster credential is reported as
// a refusal, never as unreachable.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>

#include "common/call_context.h"
#include "common/log.h"
#include "roles/api/role_auth.h"
#include "roles/api/role_call.h"
#include "roles/api/role_grpc.h"
#include "role_service.grpc.pb.h"

namespace kite {
namespace {

using Clock = std::chrono::steady_clock;

// A query node whose reads block until their CancelHook fires (Search) or
// until released; the probe (ListSegments -> LoadedSegments) blocks too when
// `paused` (a SIGSTOPped process answers nothing).
class BlockingQueryNode final : public QueryNodeApi {
 public:
  std::atomic<bool> paused{false};
  std::atomic<bool> hook_fired{false};
  std::atomic<int> searches{0};

  ~BlockingQueryNode() override { Release(); }

  void Release() {
    std::lock_guard l(mu_);
    released_ = true;
    cv_.notify_all();
  }

  rolepb::RequestContext last_ctx() const {
    std::lock_guard l(mu_);
    return last_ctx_;
  }

  Status Search(const rolepb::SearchRequest& req, SearchPart*, const CancelHook& cancelled) override {
    ++searches;
    {
      std::lock_guard l(mu_);
      last_ctx_ = req.ctx();
    }
    for (;;) {
      if (cancelled && cancelled()) {
        hook_fired = true;
        return Status(StatusCode::kCancelled, Reason::kNone, "search canceled");
      }
      std::unique_lock l(mu_);
      if (cv_.wait_for(l, std::chrono::milliseconds(10), [this] { return released_; })) return Status::OK();
    }
  }
  Status Retrieve(const rolepb::RetrieveRequest&, Retrieved*) override {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return released_; });
    return Status::OK();
  }
  Status ReadStats(const rolepb::ReadStatsRequest&, rolepb::ReadStatsResponse*) override { return Status::OK(); }
  Status Load(const CollectionInfo&, std::shared_ptr<const CollectionSchema>) override { return Status::OK(); }
  void Release(CollectionId) override {}
  bool IsLoaded(CollectionId) const override { return false; }
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
  std::vector<SegmentSummary> LoadedSegments(CollectionId) const override {
    if (paused) {
      std::unique_lock l(mu_);
      cv_.wait(l, [this] { return released_; });
    }
    return {};
  }
  SegmentPtr FindSegment(CollectionId, SegmentId) const override { return nullptr; }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool released_ = false;
  rolepb::RequestContext last_ctx_;
};

class RoleDeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = GetRoleCallTimeouts();
    service_ = MakeQueryNodeService(&node_);
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    remote_ = MakeRemoteQueryNode(server_->InProcessChannel(grpc::ChannelArguments()), nullptr);
  }
  void TearDown() override {
    node_.Release();
    server_->Shutdown();
    SetRoleCallTimeouts(saved_);
  }

  static rolepb::SearchRequest WithDeadlineIn(std::chrono::milliseconds d) {
    rolepb::SearchRequest req;
    req.mutable_ctx()->set_request_id("test-request");
    req.mutable_ctx()->set_deadline_unix_us(NowUnixMicros() +
                                            std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    return req;
  }

  template <typename Fn>
  static bool WaitFor(Fn cond, std::chrono::milliseconds limit) {
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return cond();
  }

  RoleCallTimeouts saved_;
  BlockingQueryNode node_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<QueryNodeApi> remote_;
};

TEST_F(RoleDeadlineTest, RequestDeadlineEndsABlockedSearchWithMilvusTimeout) {
  for (bool cancellable : {false, true}) {
    SCOPED_TRACE(cancellable ? "cancellable call" : "plain call");
    node_.hook_fired = false;
    const auto start = Clock::now();
    SearchPart out;
    CancelHook never = [] { return false; };
    Status st = remote_->Search(WithDeadlineIn(std::chrono::milliseconds(400)), &out,
                                cancellable ? never : CancelHook());
    const auto took = Clock::now() - start;
    EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
    EXPECT_EQ(st.code(), StatusCode::kCancelled);
    EXPECT_EQ(st.message(), "context deadline exceeded");
    EXPECT_GE(took, std::chrono::milliseconds(380));
    EXPECT_LT(took, std::chrono::milliseconds(400 + 1500));
    // The deadline reached the server: its CancelHook fired and the work stopped.
    EXPECT_TRUE(WaitFor([&] { return node_.hook_fired.load(); }, std::chrono::seconds(2)));
  }
}

// The request context the proxy fills from the thread's request (the front
// doors set caller and deadline beside the request id) reaches the peer.
TEST_F(RoleDeadlineTest, TheRequestContextTravelsToThePeer) {
  node_.Release();
  SetCurrentRequestId("req-42");
  SetCurrentCaller("alice");
  const int64_t deadline = NowUnixMicros() + 5'000'000;
  SetCurrentDeadline(deadline);
  rolepb::SearchRequest req;
  FillRequestContext(req.mutable_ctx());
  SetCurrentRequestId({});  // the request is over: its caller and deadline go with its id
  EXPECT_TRUE(CurrentCallContext().caller.empty());
  EXPECT_EQ(CurrentCallContext().deadline_unix_us, 0);
  SearchPart out;
  Status st = remote_->Search(req, &out, {});
  ASSERT_TRUE(st.ok()) << st.ToString();
  const rolepb::RequestContext seen = node_.last_ctx();
  EXPECT_EQ(seen.request_id(), "req-42");
  EXPECT_EQ(seen.caller(), "alice");
  EXPECT_EQ(seen.deadline_unix_us(), deadline);
}

TEST_F(RoleDeadlineTest, PerCallLimitBoundsACallWithoutRequestDeadline) {
  RoleCallTimeouts t;
  t.call = std::chrono::milliseconds(300);
  SetRoleCallTimeouts(t);
  rolepb::RetrieveRequest req;  // no deadline in its context
  Retrieved out;
  const auto start = Clock::now();
  Status st = remote_->Retrieve(req, &out);
  const auto took = Clock::now() - start;
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_GE(took, std::chrono::milliseconds(280));
  EXPECT_LT(took, std::chrono::milliseconds(300 + 1500));
}

TEST_F(RoleDeadlineTest, ExpiredDeadlineFailsWithoutCallingThePeer) {
  SearchPart out;
  rolepb::SearchRequest req = WithDeadlineIn(std::chrono::milliseconds(-1));
  Status st = remote_->Search(req, &out, {});
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_EQ(node_.searches.load(), 0);
}

// A paused peer (SIGSTOP: nothing answers, not even the probe). When the
// request's deadline ends the call, the caller gets Milvus's timeout at
// once and the probe runs behind it; the next call to that peer fails
// "unavailable" without waiting (what the views evict for).
TEST_F(RoleDeadlineTest, APeerThatAnswersNeitherCallNorProbeIsUnreachable) {
  node_.paused = true;
  RoleCallTimeouts t;
  t.probe = std::chrono::milliseconds(300);
  SetRoleCallTimeouts(t);
  SearchPart out;
  const auto start = Clock::now();
  Status st = remote_->Search(WithDeadlineIn(std::chrono::milliseconds(300)), &out, {});
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(300 + 1000));
  Status next;
  ASSERT_TRUE(WaitFor(
      [&] {
        next = remote_->Search(WithDeadlineIn(std::chrono::milliseconds(50)), &out, {});
        return next.code() == StatusCode::kIOError;
      },
      std::chrono::seconds(5)))
      << next.ToString();
  EXPECT_TRUE(next.message().starts_with("role peer unavailable")) << next.message();
  EXPECT_FALSE(IsPeerRefusal(next));
}

// The same when the per-call limit ends a call without a request deadline:
// the probe runs at once and the call itself reports the peer unreachable.
TEST_F(RoleDeadlineTest, APeerSilentPastThePerCallLimitIsUnreachable) {
  node_.paused = true;
  RoleCallTimeouts t;
  t.call = std::chrono::milliseconds(300);
  t.probe = std::chrono::milliseconds(300);
  SetRoleCallTimeouts(t);
  rolepb::RetrieveRequest req;
  Retrieved out;
  const auto start = Clock::now();
  Status st = remote_->Retrieve(req, &out);
  const auto took = Clock::now() - start;
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_TRUE(st.message().starts_with("role peer unavailable")) << st.message();
  EXPECT_GE(took, std::chrono::milliseconds(550));
  EXPECT_LT(took, std::chrono::milliseconds(600 + 1500));
}

// A real TCP role server with the cluster credential of another secret.
TEST(RoleRefusalTest, AWrongClusterCredentialIsARefusalNotAnUnreachablePeer) {
  ClearPeerRefusals();
  BlockingQueryNode node;
  node.Release();  // answers at once
  auto service = MakeQueryNodeService(&node);
  RoleSecurity server_sec;
  server_sec.authenticate = true;
  server_sec.cluster_secret = "the cluster's secret";
  auto creds = RoleServerCredentials(server_sec);
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", *creds, &port);
  b.RegisterService(service.get());
  auto server = b.BuildAndStart();
  ASSERT_NE(port, 0);
  const std::string target = "127.0.0.1:" + std::to_string(port);

  RoleSecurity wrong = server_sec;
  wrong.cluster_secret = "another secret";
  auto client_creds = RoleChannelCredentials(wrong);
  ASSERT_TRUE(client_creds.ok());
  auto remote = MakeRemoteQueryNode(CreateRoleChannel(target, *client_creds, grpc::ChannelArguments(), wrong), nullptr);
  rolepb::SearchRequest req;
  SearchPart out;
  Status st = remote->Search(req, &out, {});
  EXPECT_TRUE(IsPeerRefusal(st)) << st.ToString();
  EXPECT_NE(st.code(), StatusCode::kIOError);  // never "unreachable": the views do not evict for it
  EXPECT_NE(st.message().find(std::to_string(port)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("refused the cluster credential"), std::string::npos) << st.message();
  // Every kind of call is refused the same way.
  Status load = remote->LoadSegments(rolepb::LoadSegmentsRequest(), {}, nullptr);
  EXPECT_TRUE(IsPeerRefusal(load)) << load.ToString();
  const std::vector<PeerRefusal> seen = RecentPeerRefusals();
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(seen[0].peer.find(std::to_string(port)), std::string::npos) << seen[0].peer;
  EXPECT_GE(seen[0].count, 2);

  // The right secret is served.
  auto good = MakeRemoteQueryNode(CreateRoleChannel(target, *client_creds, grpc::ChannelArguments(), server_sec),
                                  nullptr);
  Status ok = good->Search(req, &out, {});
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  server->Shutdown();
}

// ---- writes, flushes and lifecycle calls carry the request context (issue 14)

// A streaming node whose writes and flushes block until released (a
// SIGSTOPped process); it records what each call saw of the request it
// serves: the thread's request id, caller and deadline (ServedCall).
class BlockingStreamingNode final : public StreamingNodeApi {
 public:
  std::atomic<bool> block{true};
  std::atomic<int> writes{0};
  std::atomic<int> flushes{0};
  std::atomic<int> loads{0};

  // Wakes every blocked call (the calls after it block again while `block`).
  void Release() {
    std::lock_guard l(mu_);
    ++releases_;
    cv_.notify_all();
  }
  void Reset() {
    block = true;
    writes = 0;
    flushes = 0;
    loads = 0;
  }
  struct Seen {
    std::string request_id;
    CallContext call;
  };
  Seen seen() const {
    std::lock_guard l(mu_);
    return seen_;
  }

  Result<Timestamp> Write(CollectionId, int, DmlMessage) override {
    ++writes;
    Record();
    Wait();
    return Timestamp{7};
  }
  Result<std::vector<SegmentId>> Flush(CollectionId) override {
    ++flushes;
    Record();
    Wait();
    return std::vector<SegmentId>{};
  }
  Status Load(const CollectionInfo&) override {
    ++loads;
    Record();
    return Status(StatusCode::kIOError, Reason::kNone, "the test's load failed");
  }
  Status Open(const CollectionInfo&) override { return Status::OK(); }
  Status Drop(const CollectionInfo&) override { return Status::OK(); }
  Status RetainPartitions(CollectionId, const std::set<int64_t>&) override { return Status::OK(); }
  Status CommitImport(CollectionId, const std::vector<SegmentRecord>&) override { return Status::OK(); }
  Status Release(CollectionId) override { return Status::OK(); }
  Status ApplySchema(const CollectionInfo&) override { return Status::OK(); }
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId) override {
    return std::vector<SegmentSummary>{};
  }
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId) override { return std::vector<SegmentSummary>{}; }
  Result<Timestamp> SafeTimestamp(CollectionId, Timestamp now) override { return now; }  // the probe: answers
  Result<int64_t> RowCount(CollectionId, int64_t, const std::set<int64_t>&) override { return int64_t{0}; }
  Status Search(const rolepb::SearchRequest&, SearchPart*, const CancelHook&) override { return Status::OK(); }
  Status Retrieve(const rolepb::RetrieveRequest&, Retrieved*) override { return Status::OK(); }
  Status ReadStats(const rolepb::ReadStatsRequest&, rolepb::ReadStatsResponse*) override { return Status::OK(); }

 private:
  void Record() {
    std::lock_guard l(mu_);
    seen_ = Seen{CurrentRequestId(), CurrentCallContext()};
  }
  void Wait() {
    if (!block) return;
    std::unique_lock l(mu_);
    const int64_t entered = releases_;
    cv_.wait(l, [&] { return releases_ > entered; });
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t releases_ = 0;
  Seen seen_;
};

class RoleWriteContextTest : public ::testing::Test {
 protected:
  // One server for the suite, never shut down: a call that runs out of time
  // leaves a probe of the peer running on a thread of its own (role_call.h),
  // which must not meet a destroyed server after the test.
  static void SetUpTestSuite() {
    node_ = new BlockingStreamingNode;
    service_ = MakeStreamingNodeService(node_).release();
    grpc::ServerBuilder b;
    b.RegisterService(service_);
    server_ = b.BuildAndStart().release();
  }
  void SetUp() override {
    saved_ = GetRoleCallTimeouts();
    // Per-call limits well above the client deadlines below: a call that
    // ignored the client's deadline would take them.
    RoleCallTimeouts t;
    t.call = std::chrono::seconds(8);
    t.ddl = std::chrono::seconds(8);
    SetRoleCallTimeouts(t);
    node_->Reset();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    remote_ = MakeRemoteStreamingNode(channel_, nullptr);
  }
  void TearDown() override {
    SetCurrentRequestId({});
    node_->Release();
    SetRoleCallTimeouts(saved_);
  }
  // What a front door sets for the request the thread serves.
  static void ServeRequest(const std::string& id, const std::string& caller, std::chrono::milliseconds deadline_in) {
    SetCurrentRequestId(id);
    SetCurrentCaller(caller);
    SetCurrentDeadline(NowUnixMicros() + std::chrono::duration_cast<std::chrono::microseconds>(deadline_in).count());
  }
  static DmlMessage AnyDelete() {
    DmlMessage m;
    m.type = DmlType::kDelete;
    m.collection = CollectionId(1);
    FieldSchema pk;
    pk.type = DataType::kInt64;
    m.delete_pks = Column::ForField(pk);
    const int64_t key = 1;
    m.delete_pks.AppendFixed(&key);
    return m;
  }

  static inline BlockingStreamingNode* node_ = nullptr;
  static inline grpc::Service* service_ = nullptr;
  static inline grpc::Server* server_ = nullptr;
  RoleCallTimeouts saved_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<StreamingNodeApi> remote_;
};

// A write or flush to a streaming node that does not answer ends at the
// client's deadline with Milvus's timeout, not at the per-call limit.
TEST_F(RoleWriteContextTest, WriteAndFlushToAHangingNodeEndAtTheClientDeadline) {
  ServeRequest("req-write", "alice", std::chrono::milliseconds(400));
  auto start = Clock::now();
  auto ts = remote_->Write(CollectionId(1), 0, AnyDelete());
  auto took = Clock::now() - start;
  EXPECT_TRUE(IsDeadlineExceeded(ts.status())) << ts.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(380));
  EXPECT_LT(took, std::chrono::milliseconds(400 + 1500)) << "the write waited past the client's deadline";

  ServeRequest("req-flush", "alice", std::chrono::milliseconds(400));
  start = Clock::now();
  auto flushed = remote_->Flush(CollectionId(1));
  took = Clock::now() - start;
  EXPECT_TRUE(IsDeadlineExceeded(flushed.status())) << flushed.status().ToString();
  EXPECT_LT(took, std::chrono::milliseconds(400 + 1500)) << "the flush waited past the client's deadline";
}

// The serving thread takes the caller's request id, caller and deadline
// (its log lines and the role calls it makes carry them).
TEST_F(RoleWriteContextTest, TheServingThreadTakesTheRequestContext) {
  node_->block = false;
  ServeRequest("req-42", "alice", std::chrono::seconds(5));
  const int64_t deadline = CurrentCallContext().deadline_unix_us;
  auto ts = remote_->Write(CollectionId(1), 0, AnyDelete());
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  BlockingStreamingNode::Seen seen = node_->seen();
  EXPECT_EQ(seen.request_id, "req-42");
  EXPECT_EQ(seen.call.caller, "alice");
  EXPECT_EQ(seen.call.deadline_unix_us, deadline);
  // A lifecycle call carries the request id and caller, not the deadline
  // (one the view runs while a client waits must finish).
  CollectionInfo c;
  (void)remote_->Load(c);
  seen = node_->seen();
  EXPECT_EQ(seen.request_id, "req-42");
  EXPECT_EQ(seen.call.caller, "alice");
  EXPECT_EQ(seen.call.deadline_unix_us, 0);
}

// Work that reaches the node after its client's deadline (queued while the
// node was paused) is refused, never applied behind the client's back.
TEST_F(RoleWriteContextTest, TheServerRefusesAWriteWhoseDeadlinePassed) {
  auto stub = rolepb::StreamingNodeService::NewStub(channel_);
  rolepb::WriteRequest req;
  req.set_collection(1);
  req.set_dml(EncodeDml(AnyDelete()));
  req.mutable_ctx()->set_request_id("req-late");
  req.mutable_ctx()->set_deadline_unix_us(NowUnixMicros() - 1000);
  rolepb::WriteResponse resp;
  grpc::ClientContext ctx;
  Status st = FromGrpcStatus(stub->Write(&ctx, req, &resp));
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_EQ(node_->writes.load(), 0) << "a write whose client had given up was applied";
  rolepb::CollectionRequest flush;
  flush.set_collection(1);
  *flush.mutable_ctx() = req.ctx();
  rolepb::SegmentIds ids;
  grpc::ClientContext fctx;
  st = FromGrpcStatus(stub->Flush(&fctx, flush, &ids));
  EXPECT_TRUE(IsDeadlineExceeded(st)) << st.ToString();
  EXPECT_EQ(node_->flushes.load(), 0);
}

// A failed call is logged on the serving side with its rpc, caller and request id.
TEST_F(RoleWriteContextTest, AFailedCallIsLoggedWithCallerAndRequestId) {
  auto previous = spdlog::default_logger();
  std::ostringstream out;
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::ostream_sink_mt>(out)));
  InitLogging(spdlog::level::info);
  ServeRequest("req-load-1", "bob", std::chrono::seconds(5));
  CollectionInfo c;
  Status st = remote_->Load(c);
  spdlog::set_default_logger(previous);
  InitLogging(spdlog::level::info);
  EXPECT_EQ(st.message(), "the test's load failed");
  const std::string text = out.str();
  EXPECT_NE(text.find("msg=\"role call failed\" rpc=Load caller=bob request_id=req-load-1 "), std::string::npos)
      << text;
  EXPECT_NE(text.find("error=\"the test's load failed\""), std::string::npos) << text;
}

}  // namespace
}  // namespace kite
