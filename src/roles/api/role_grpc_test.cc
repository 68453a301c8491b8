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
#include <thread>

#include "common/call_context.h"
#include "common/log.h"
#include "roles/api/role_auth.h"
#include "roles/api/role_call.h"
#include "roles/api/role_grpc.h"

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

}  // namespace
}  // namespace kite
