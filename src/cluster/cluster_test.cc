// Sessions, session watching and the election, over the embedded meta store
// and a real etcd (one server for the binary, a key prefix per test). Each
// participant ("process") has its own connection to the store (on etcd a
// client of its own), wrapped so that a test can pause it: its keep-alives and
// watch deliveries stop until resumed, as for a stopped (SIGSTOP) process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rpc.grpc.pb.h"  // etcd's API (cmake/EtcdProto.cmake), for CompactEtcd

#include "cluster/election.h"
#include "cluster/fenced_meta_store.h"
#include "cluster/session.h"
#include "cluster/session_watcher.h"
#include "storage/meta/etcd_meta_store.h"
#include "storage/testing/etcd_server.h"

namespace kite {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

enum class Kind { kMemory, kEtcd };

testing::EtcdServer* SharedEtcd() {
  static testing::EtcdServer server;
  static const Status started = server.Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return &server;
}

// etcd's Compact RPC (physical: returns once the old revisions are gone), as
// an operator's or etcd's own periodic compaction (Kite never compacts).
Status CompactEtcd(int64_t revision) {
  auto kv = etcdserverpb::KV::NewStub(
      grpc::CreateChannel(SharedEtcd()->endpoint(), grpc::InsecureChannelCredentials()));
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);
  etcdserverpb::CompactionResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = kv->Compact(&ctx, req, &resp);
  if (!s.ok()) return IOError("etcd compact at {}: {}", revision, s.error_message());
  return Status::OK();
}

// Kills etcd (SIGKILL) and starts it again on its data: every client's
// streams break; leases and keys survive.
Status RestartEtcd() {
  SharedEtcd()->Stop(/*crash=*/true);
  return SharedEtcd()->Start();
}

EtcdMetaStoreOptions EtcdOptionsForTest() {
  static std::atomic<int> n{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string root = std::string("c") + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" +
                     (info ? info->name() : "x");
  std::replace(root.begin(), root.end(), '/', '_');
  EtcdMetaStoreOptions o;
  o.endpoints = {SharedEtcd()->endpoint()};
  o.key_prefix = root + "/meta/";
  o.chunk_prefix = root + "/kv/kite-meta-chunks/";
  o.request_timeout_ms = 5000;
  return o;
}

class PausableStore;

class PausableWatch final : public MetaWatch {
 public:
  PausableWatch(PausableStore* store, std::unique_ptr<MetaWatch> inner) : store_(store), inner_(std::move(inner)) {}
  Result<std::vector<MetaEvent>> Next(milliseconds timeout) override;

 private:
  PausableStore* store_;
  std::unique_ptr<MetaWatch> inner_;
};

// One participant's connection. Pause() freezes its lease keep-alives and
// watch deliveries (the background work of a process) until Resume(); calls
// made by the test itself (Txn, Read) still go through, as the first thing a
// resumed process does.
class PausableStore final : public MetaStore {
 public:
  PausableStore(MetaStore* base, std::unique_ptr<MetaStore> owned) : base_(base), owned_(std::move(owned)) {}
  ~PausableStore() override { Resume(); }

  void Pause() {
    std::lock_guard lock(mu_);
    paused_ = true;
  }
  void Resume() {
    {
      std::lock_guard lock(mu_);
      paused_ = false;
    }
    cv_.notify_all();
  }
  void WaitWhilePaused() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !paused_; });
  }

  Result<std::optional<std::string>> Get(std::string_view key) override { return base_->Get(key); }
  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    return base_->Scan(prefix, fn);
  }
  Status Commit(const MetaBatch& batch) override { return base_->Commit(batch); }
  Result<MetaRead> Read(std::string_view key, bool prefix) override { return base_->Read(key, prefix); }
  Result<MetaTxnResult> Txn(const MetaBatch& batch) override { return base_->Txn(batch); }
  Result<LeaseId> GrantLease(int64_t ttl_s) override { return base_->GrantLease(ttl_s); }
  Status KeepAliveLease(LeaseId lease) override {
    WaitWhilePaused();
    return base_->KeepAliveLease(lease);
  }
  Status RevokeLease(LeaseId lease) override { return base_->RevokeLease(lease); }
  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override {
    KITE_ASSIGN_OR_RETURN(std::unique_ptr<MetaWatch> w, base_->Watch(std::move(prefix), from_revision));
    return std::unique_ptr<MetaWatch>(std::make_unique<PausableWatch>(this, std::move(w)));
  }

 private:
  MetaStore* base_;
  std::unique_ptr<MetaStore> owned_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
};

Result<std::vector<MetaEvent>> PausableWatch::Next(milliseconds timeout) {
  store_->WaitWhilePaused();
  return inner_->Next(timeout);
}

// Polls `pred` until it holds or `timeout` passed (conditions, not sleeps).
bool WaitFor(const std::function<bool()>& pred, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A participant: its connection, its session and (for coordinators) its election.
struct Node {
  std::unique_ptr<PausableStore> store;
  std::unique_ptr<Session> session;
  std::unique_ptr<Election> election;
  std::atomic<int> session_lost{0};
  std::atomic<int> leadership_lost{0};
  std::atomic<int64_t> elected_term{0};
  ~Node() {
    if (store) store->Resume();
    election.reset();
    session.reset();
  }
};

class ClusterTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kMemory) {
      memory_ = NewMemoryMetaStore();
    } else {
      etcd_options_ = EtcdOptionsForTest();
    }
    admin_ = Connect();
    ASSERT_NE(admin_, nullptr);
  }

  std::unique_ptr<PausableStore> Connect() {
    if (GetParam() == Kind::kMemory) return std::make_unique<PausableStore>(memory_.get(), nullptr);
    auto r = OpenEtcdMetaStore(etcd_options_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    MetaStore* raw = r->get();
    return std::make_unique<PausableStore>(raw, std::move(r).value());
  }

  SessionOptions Options(std::string role, int64_t ttl_s) {
    SessionOptions o;
    o.role = std::move(role);
    o.address = "127.0.0.1:" + std::to_string(20000 + next_port_++);
    o.ttl_s = ttl_s;
    o.version = "2.6.0";
    return o;
  }

  // A registered participant (no election).
  std::unique_ptr<Node> Join(SessionOptions o) {
    auto n = std::make_unique<Node>();
    n->store = Connect();
    Node* raw = n.get();
    o.on_lost = [raw] { raw->session_lost++; };
    auto s = Session::Register(n->store.get(), std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    n->session = std::move(s).value();
    return n;
  }

  // A coordinator candidate: session coordinator-<id> plus an election.
  std::unique_ptr<Node> Candidate(int64_t ttl_s) {
    auto n = Join(Options("coordinator", ttl_s));
    if (n == nullptr) return nullptr;
    Node* raw = n.get();
    ElectionOptions eo;
    eo.on_elected = [raw](int64_t term) { raw->elected_term = term; };
    eo.on_lost = [raw] { raw->leadership_lost++; };
    auto e = Election::Start(n->session.get(), std::move(eo));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return nullptr;
    n->election = std::move(e).value();
    return n;
  }

  std::optional<std::string> Value(std::string_view key) {
    auto r = admin_->Get(key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::nullopt;
  }

  // Collects watcher events until `n` came or `timeout` passed.
  std::vector<SessionEvent> Collect(SessionWatcher* w, size_t n, Clock::duration timeout) {
    std::vector<SessionEvent> out;
    auto deadline = Clock::now() + timeout;
    while (out.size() < n && Clock::now() < deadline) {
      auto r = w->Next(milliseconds(100));
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      for (auto& e : *r) out.push_back(std::move(e));
    }
    return out;
  }

  std::unique_ptr<MetaStore> memory_;
  EtcdMetaStoreOptions etcd_options_;
  std::unique_ptr<PausableStore> admin_;
  std::atomic<int> next_port_{0};
};

// etcd's smallest lease TTL is about 2 s (1.5 x its election timeout), so the
// tests that wait for an expiry use 2 s everywhere; tests that must NOT wait
// for an expiry use a long TTL and a bound well below it.
constexpr int64_t kShortTtl = 2;
constexpr int64_t kLongTtl = 20;
// Expiry is noticed within the TTL (the last keep-alive renewed it for at
// most a TTL) plus the store's expiry check (etcd: every 500 ms) and a watch
// hop; this margin covers those on a loaded 2-core machine.
constexpr double kMarginS = 3.0;

TEST_P(ClusterTest, ServerIdsAreUniqueAndDenseUnderConcurrentAllocation) {
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::unique_ptr<PausableStore>> conns;
  for (int t = 0; t < kThreads; ++t) conns.push_back(Connect());
  std::vector<std::vector<int64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = AllocateServerId(conns[t].get());
        EXPECT_TRUE(id.ok()) << id.status().ToString();
        if (id.ok()) got[t].push_back(*id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<int64_t> all;
  for (auto& g : got) all.insert(all.end(), g.begin(), g.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(kThreads * kEach);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = int64_t(i) + 1;  // Milvus: the counter starts at 1
  EXPECT_EQ(all, expected);
  // Each allocator saw its own ids in increasing order.
  for (auto& g : got) EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
  EXPECT_EQ(Value(kServerIdKey), std::to_string(kThreads * kEach + 1));
}

TEST_P(ClusterTest, RegisterPutsMilvusSessionJsonUnderItsLease) {
  auto qn = Join(Options("querynode", kShortTtl));
  ASSERT_NE(qn, nullptr);
  const Session& s = *qn->session;
  EXPECT_EQ(s.key(), "session/querynode-" + std::to_string(s.server_id()));
  auto read = admin_->Read(s.key(), false);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_EQ(read->kvs[0].lease, s.lease());
  EXPECT_NE(s.lease(), 0);

  auto j = nlohmann::json::parse(read->kvs[0].value);
  EXPECT_EQ(j["ServerID"], s.server_id());
  EXPECT_EQ(j["ServerName"], "querynode");
  EXPECT_EQ(j["Address"], s.info().address);
  EXPECT_EQ(j["Version"], "2.6.0");
  EXPECT_EQ(j["LeaseID"], s.lease());
  EXPECT_EQ(j["TriggerKill"], false);
  EXPECT_FALSE(j.contains("Stopping"));   // omitempty, as Go writes it
  EXPECT_FALSE(j.contains("Exclusive"));
  auto decoded = DecodeSession(read->kvs[0].value);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->server_id, s.server_id());
  EXPECT_EQ(decoded->lease_id, s.lease());

  // A second process gets another id and key; an exclusive role has no id in its key.
  auto qn2 = Join(Options("querynode", kShortTtl));
  ASSERT_NE(qn2, nullptr);
  EXPECT_NE(qn2->session->server_id(), s.server_id());
  auto o = Options("rootcoord", kShortTtl);
  o.exclusive = true;
  auto rc = Join(o);
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(rc->session->key(), "session/rootcoord");
  auto rj = nlohmann::json::parse(*Value("session/rootcoord"));
  EXPECT_EQ(rj["Exclusive"], true);
}

TEST_P(ClusterTest, ExclusiveRoleIsRefusedWhileHeldAndFreeAfterStop) {
  auto o = Options("rootcoord", kLongTtl);
  o.exclusive = true;
  auto a = Join(o);
  ASSERT_NE(a, nullptr);

  auto b_store = Connect();
  auto ob = Options("rootcoord", kLongTtl);
  ob.exclusive = true;
  ob.retry_times = 2;
  auto b = Session::Register(b_store.get(), ob);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(b.status().message().find("session/rootcoord"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("ServerID " + std::to_string(a->session->server_id())), std::string::npos)
      << b.status().message();
  // The refused attempt left nothing behind and did not disturb the holder.
  auto held = DecodeSession(*Value("session/rootcoord"));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->server_id, a->session->server_id());

  a->session->Stop();
  auto b2 = Session::Register(b_store.get(), ob);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  (*b2)->Stop();
}

TEST_P(ClusterTest, RestartAtTheSameAddressReplacesItsStaleSessionAtOnce) {
  auto o = Options("rootcoord", kLongTtl);
  o.exclusive = true;
  auto old_run = Join(o);
  ASSERT_NE(old_run, nullptr);
  old_run->store->Pause();  // it "crashed": its lease would run for kLongTtl more

  auto store = Connect();
  auto t0 = Clock::now();
  auto again = Session::Register(store.get(), o);  // same address, new id
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_LT(SecondsSince(t0), kLongTtl / 2.0);
  auto held = DecodeSession(*Value("session/rootcoord"));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->server_id, (*again)->server_id());
  EXPECT_GT((*again)->server_id(), old_run->session->server_id());
  (*again)->Stop();
}

// Several coordinators on one host name the same address (rootCoord.port's
// default): a session held at our address is taken as our earlier run's only
// when nothing serves there; a live holder keeps it.
TEST_P(ClusterTest, ALiveHolderAtTheSameAddressKeepsItsSession) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto o = Options("rootcoord", kLongTtl);
  o.exclusive = true;
  o.address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));  // the holder serves there
  o.retry_times = 2;
  auto holder = Join(o);
  ASSERT_NE(holder, nullptr);

  auto store = Connect();
  auto second = Session::Register(store.get(), o);  // same address, a newer id, another live process
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("held by ServerID"), std::string::npos) << second.status().ToString();
  auto held = DecodeSession(*Value("session/rootcoord"));
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->server_id, holder->session->server_id());
  ::close(listener);
  holder->session->Stop();
}

TEST_P(ClusterTest, SessionExpiresWhenItsKeepAliveStops) {
  auto watcher = SessionWatcher::Start(admin_.get(), "querynode");
  ASSERT_TRUE(watcher.ok());
  auto a = Join(Options("querynode", kShortTtl));
  ASSERT_NE(a, nullptr);
  auto added = Collect(watcher->get(), 1, seconds(10));
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].type, SessionEvent::Type::kAdded);

  auto t0 = Clock::now();
  a->store->Pause();
  auto removed = Collect(watcher->get(), 1, seconds(kShortTtl) + seconds(10));
  ASSERT_EQ(removed.size(), 1u);
  double elapsed = SecondsSince(t0);
  EXPECT_EQ(removed[0].type, SessionEvent::Type::kRemoved);
  EXPECT_EQ(removed[0].name, "querynode-" + std::to_string(a->session->server_id()));
  EXPECT_LE(elapsed, kShortTtl + kMarginS);
  EXPECT_EQ(Value(a->session->key()), std::nullopt);
  // The paused process does not know yet; once it runs again it learns it lost the lease.
  EXPECT_FALSE(a->session->lost());
  a->store->Resume();
  EXPECT_TRUE(WaitFor([&] { return a->session->lost(); }, seconds(10)));
  EXPECT_EQ(a->session_lost.load(), 1);
  std::cerr << "session expiry noticed by a watcher after " << elapsed << " s (ttl " << kShortTtl << " s)\n";
}

TEST_P(ClusterTest, GracefulStopIsSeenAsStoppingThenRemovedAtOnce) {
  auto a = Join(Options("querynode", kLongTtl));
  ASSERT_NE(a, nullptr);
  auto watcher = SessionWatcher::Start(admin_.get(), "querynode");
  ASSERT_TRUE(watcher.ok());
  auto t0 = Clock::now();
  a->session->Stop();
  auto ev = Collect(watcher->get(), 2, seconds(10));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, SessionEvent::Type::kStopping);
  EXPECT_TRUE(ev[0].session.stopping);
  EXPECT_EQ(ev[1].type, SessionEvent::Type::kRemoved);
  EXPECT_LT(SecondsSince(t0), kLongTtl / 2.0);  // revoked, not expired
  EXPECT_TRUE((*watcher)->sessions().empty());
  EXPECT_TRUE(a->session->stopped());
  EXPECT_EQ(a->session_lost.load(), 0);  // a stop is not a loss
}

TEST_P(ClusterTest, WatcherListsThenReportsJoinsAndLeavesOfItsRoleOnly) {
  auto a = Join(Options("querynode", kLongTtl));
  ASSERT_NE(a, nullptr);
  auto watcher = SessionWatcher::Start(admin_.get(), "querynode");
  ASSERT_TRUE(watcher.ok());
  const std::string a_name = "querynode-" + std::to_string(a->session->server_id());
  ASSERT_EQ((*watcher)->sessions().size(), 1u);
  EXPECT_EQ((*watcher)->sessions().begin()->first, a_name);

  // Other roles, including one whose name starts like this one, are not reported.
  auto dn = Join(Options("datanode", kLongTtl));
  auto lookalike = Join(Options("querynodex", kLongTtl));
  auto b = Join(Options("querynode", kLongTtl));
  ASSERT_NE(b, nullptr);
  const std::string b_name = "querynode-" + std::to_string(b->session->server_id());
  a->session->Stop();
  auto ev = Collect(watcher->get(), 3, seconds(10));
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, SessionEvent::Type::kAdded);
  EXPECT_EQ(ev[0].name, b_name);
  EXPECT_EQ(ev[0].session.address, b->session->info().address);
  EXPECT_EQ(ev[1].type, SessionEvent::Type::kStopping);
  EXPECT_EQ(ev[1].name, a_name);
  EXPECT_EQ(ev[2].type, SessionEvent::Type::kRemoved);
  EXPECT_EQ(ev[2].name, a_name);
  auto more = (*watcher)->Next(milliseconds(300));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
  ASSERT_EQ((*watcher)->sessions().size(), 1u);
  EXPECT_EQ((*watcher)->sessions().begin()->first, b_name);
}

std::string Filler(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2166136261u ^ uint32_t(seed);
  for (size_t i = 0; i < n; ++i) {
    x = x * 16777619u + 1013904223u;
    s[i] = char(x >> 24);
  }
  return s;
}

// The watcher's revision leaves the store's history while it is not
// watching: the embedded store drops history past its budget (and ends the
// watch); on etcd the watch stream breaks (etcd restarted), the changes
// happen, etcd is compacted, and the watch's resume finds its revision gone.
// Either way the watcher re-lists: the difference comes as events, removals
// first (a watch would have reported b's join before a's stop).
TEST_P(ClusterTest, WatcherRelistsWhenItsRevisionIsCompacted) {
  auto a = Join(Options("querynode", kLongTtl));
  ASSERT_NE(a, nullptr);
  auto watcher = SessionWatcher::Start(admin_.get(), "querynode");
  ASSERT_TRUE(watcher.ok());
  if (GetParam() == Kind::kEtcd) {
    ASSERT_TRUE(RestartEtcd().ok());
  }
  auto b = Join(Options("querynode", kLongTtl));
  ASSERT_NE(b, nullptr);
  a->session->Stop();
  // Push the watcher's revision out of the store's history.
  if (GetParam() == Kind::kEtcd) {
    auto now = admin_->Read("", true);
    ASSERT_TRUE(now.ok()) << now.status().ToString();
    ASSERT_TRUE(CompactEtcd(now->revision).ok());
  } else {
    for (int i = 0; i < 4; ++i) {
      MetaBatch big;
      big.Put("other/big", Filler(3 << 20, i));
      ASSERT_TRUE(admin_->Commit(big).ok());
    }
  }
  auto ev = Collect(watcher->get(), 2, seconds(10));
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, SessionEvent::Type::kRemoved);
  EXPECT_EQ(ev[0].name, "querynode-" + std::to_string(a->session->server_id()));
  EXPECT_EQ(ev[1].type, SessionEvent::Type::kAdded);
  EXPECT_EQ(ev[1].name, "querynode-" + std::to_string(b->session->server_id()));
  // And it keeps watching after the re-list.
  auto c = Join(Options("querynode", kLongTtl));
  ASSERT_NE(c, nullptr);
  auto later = Collect(watcher->get(), 1, seconds(10));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].name, "querynode-" + std::to_string(c->session->server_id()));
  EXPECT_EQ((*watcher)->sessions().size(), 2u);
}

// A watch whose stream broke (etcd restarted) but whose revision is still in
// etcd's history resumes where it stopped: the changes made meanwhile come
// as the watch saw them, in store order, with no re-list.
TEST_P(ClusterTest, WatcherResumesAfterEtcdRestartsWithoutRelisting) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "the embedded store has no connection to lose";
  auto a = Join(Options("querynode", kLongTtl));
  ASSERT_NE(a, nullptr);
  auto watcher = SessionWatcher::Start(admin_.get(), "querynode");
  ASSERT_TRUE(watcher.ok());
  ASSERT_TRUE(RestartEtcd().ok());
  auto b = Join(Options("querynode", kLongTtl));
  ASSERT_NE(b, nullptr);
  a->session->Stop();
  // A graceful stop marks the session stopping, then revokes it: the watch
  // sees both (a re-list would see only the key gone, and report it first).
  auto ev = Collect(watcher->get(), 3, seconds(10));
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, SessionEvent::Type::kAdded);
  EXPECT_EQ(ev[0].name, "querynode-" + std::to_string(b->session->server_id()));
  EXPECT_EQ(ev[1].type, SessionEvent::Type::kStopping);
  EXPECT_EQ(ev[1].name, "querynode-" + std::to_string(a->session->server_id()));
  EXPECT_EQ(ev[2].type, SessionEvent::Type::kRemoved);
  EXPECT_EQ(ev[2].name, "querynode-" + std::to_string(a->session->server_id()));
  EXPECT_EQ((*watcher)->sessions().size(), 1u);
}

// Exactly one of several candidates holds the active key; the others stand by.
TEST_P(ClusterTest, ExactlyOneOfThreeCandidatesIsActive) {
  std::vector<std::unique_ptr<Node>> nodes(3);
  std::vector<std::thread> starts;
  for (int i = 0; i < 3; ++i) starts.emplace_back([&, i] { nodes[i] = Candidate(kShortTtl); });
  for (auto& t : starts) t.join();
  for (auto& n : nodes) ASSERT_NE(n, nullptr);
  auto active_count = [&] {
    return std::count_if(nodes.begin(), nodes.end(), [](auto& n) { return n->election->active(); });
  };
  ASSERT_TRUE(WaitFor([&] { return active_count() >= 1; }, seconds(10)));
  // Every candidate has tried at least once by now (none is still before its
  // first campaign): the standbys are waiting on the active key.
  auto holder = ReadActive(admin_.get(), "coordinator");
  ASSERT_TRUE(holder.ok());
  ASSERT_TRUE(holder->has_value());
  EXPECT_EQ(active_count(), 1);
  for (auto& n : nodes) {
    bool is_holder = n->session->server_id() == (*holder)->server_id;
    EXPECT_EQ(n->election->active(), is_holder);
    if (is_holder) {
      EXPECT_EQ(n->election->term(), 1);
      // on_elected runs on the election's thread just after the state turns active.
      EXPECT_TRUE(WaitFor([&] { return n->elected_term.load() == 1; }, seconds(5)));
      EXPECT_EQ((*holder)->lease_id, n->session->lease());  // under its own session's lease
    } else {
      EXPECT_EQ(n->election->state(), Election::State::kStandby);
    }
  }
  auto term = ReadActiveTerm(admin_.get(), "coordinator");
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, 1);
}

TEST_P(ClusterTest, StandbyTakesOverAfterExpiryAndTheOldActiveIsFenced) {
  auto a = Candidate(kShortTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  auto b = Candidate(kShortTtl);
  ASSERT_NE(b, nullptr);
  MetaBatch first;
  first.Put("coord/state", "a1");
  ASSERT_TRUE(a->election->FencedCommit(first).ok());

  auto t0 = Clock::now();
  a->store->Pause();  // a stops renewing and stops seeing events, as a stopped process
  ASSERT_TRUE(b->election->WaitActive(seconds(kShortTtl) + seconds(15)));
  double takeover = SecondsSince(t0);
  EXPECT_LE(takeover, kShortTtl + kMarginS);
  EXPECT_EQ(b->election->term(), a->election->term() + 1);
  auto term = ReadActiveTerm(admin_.get(), "coordinator");
  ASSERT_TRUE(term.ok());
  EXPECT_EQ(*term, b->election->term());

  // a wakes up still believing it is active: its write changes nothing.
  EXPECT_TRUE(a->election->active());
  MetaBatch stale;
  stale.Put("coord/state", "a2");
  stale.Put("coord/other", "a2");
  Status st = a->election->FencedCommit(stale);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("is not the active coordinator"), std::string::npos) << st.message();
  EXPECT_EQ(Value("coord/state"), "a1");
  EXPECT_EQ(Value("coord/other"), std::nullopt);

  MetaBatch fresh;
  fresh.Put("coord/state", "b1");
  ASSERT_TRUE(b->election->FencedCommit(fresh).ok());
  EXPECT_EQ(Value("coord/state"), "b1");

  // Once a runs again it learns it lost (the session's lease and the key).
  a->store->Resume();
  EXPECT_TRUE(WaitFor([&] { return a->election->state() == Election::State::kLost; }, seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return a->leadership_lost.load() == 1; }, seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return a->session->lost(); }, seconds(10)));
  EXPECT_FALSE(a->election->FencedCommit(stale).ok());
  EXPECT_EQ(Value("coord/state"), "b1");
  std::cerr << "take-over after the active's lease lapsed: " << takeover << " s (ttl " << kShortTtl << " s)\n";
}

// A stand-by that was paused past its TTL is no longer a member: when the
// active key frees up after it resumes, it must not take it.
TEST_P(ClusterTest, AStandbyWhoseLeaseLapsedNeverBecomesActive) {
  auto a = Candidate(kShortTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  auto b = Candidate(kShortTtl);
  ASSERT_NE(b, nullptr);
  b->store->Pause();
  const std::string b_key = b->session->key();
  ASSERT_TRUE(WaitFor([&] { return !Value(b_key).has_value(); }, seconds(kShortTtl) + seconds(10)));
  ASSERT_TRUE(a->election->Resign().ok());  // the key is free while b is still paused
  b->store->Resume();                       // b sees the delete and its own lease loss
  EXPECT_TRUE(WaitFor([&] { return b->election->state() == Election::State::kLost; }, seconds(10)));
  EXPECT_EQ(b->elected_term.load(), 0);
  auto holder = ReadActive(admin_.get(), "coordinator");
  ASSERT_TRUE(holder.ok());
  EXPECT_FALSE(holder->has_value());
  EXPECT_TRUE(b->session->lost());
  MetaBatch w;
  w.Put("coord/state", "b");
  EXPECT_EQ(b->election->FencedCommit(w).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Value("coord/state"), std::nullopt);
}

TEST_P(ClusterTest, ResignHandsOverAtOnce) {
  auto a = Candidate(kLongTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  auto b = Candidate(kLongTtl);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->election->WaitActive(milliseconds(200)));  // a holds it

  auto t0 = Clock::now();
  ASSERT_TRUE(a->election->Resign().ok());
  ASSERT_TRUE(b->election->WaitActive(seconds(10)));
  double handover = SecondsSince(t0);
  EXPECT_LT(handover, kLongTtl / 4.0);  // by the delete, not by an expiry
  EXPECT_EQ(b->election->term(), a->election->term() + 1);
  EXPECT_EQ(a->election->state(), Election::State::kResigned);
  EXPECT_EQ(a->leadership_lost.load(), 0);
  MetaBatch w;
  w.Put("coord/state", "a");
  EXPECT_EQ(a->election->FencedCommit(w).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Value("coord/state"), std::nullopt);
  EXPECT_FALSE(a->session->lost());  // its session lives on
  std::cerr << "hand-over after resign: " << handover << " s\n";
}

TEST_P(ClusterTest, StoppingTheActiveSessionHandsOverAtOnce) {
  auto a = Candidate(kLongTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  auto b = Candidate(kLongTtl);
  auto c = Candidate(kLongTtl);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  // Whoever follows the role (a proxy looking for the coordinator) sees the
  // active key as the session named "coordinator".
  auto watcher = SessionWatcher::Start(admin_.get(), "coordinator");
  ASSERT_TRUE(watcher.ok());
  ASSERT_EQ((*watcher)->sessions().count("coordinator"), 1u);
  EXPECT_EQ((*watcher)->sessions().at("coordinator").server_id, a->session->server_id());
  auto t0 = Clock::now();
  a->session->Stop();  // revokes the lease the active key is under
  ASSERT_TRUE(WaitFor([&] { return b->election->active() || c->election->active(); }, seconds(10)));
  EXPECT_LT(SecondsSince(t0), kLongTtl / 4.0);
  EXPECT_NE(b->election->active(), c->election->active());
  EXPECT_TRUE(WaitFor([&] { return a->election->state() == Election::State::kLost; }, seconds(10)));
  const int64_t new_id = b->election->active() ? b->session->server_id() : c->session->server_id();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto ev = (*watcher)->Next(milliseconds(50));
        EXPECT_TRUE(ev.ok());
        auto& now = (*watcher)->sessions();
        return now.count("coordinator") == 1 && now.at("coordinator").server_id == new_id;
      },
      seconds(10)));
}

TEST_P(ClusterTest, FencedTxnKeepsTheBatchsOwnCompares) {
  auto a = Candidate(kLongTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  MetaBatch create;
  create.RequireModRevision("coord/x", 0);
  create.Put("coord/x", "1");
  auto r = a->election->FencedTxn(create);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->succeeded);
  // The same create again: the batch's own compare fails, not the fence.
  auto again = a->election->FencedTxn(create);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->succeeded);
  Status st = a->election->FencedCommit(create);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message().find("is not the active"), std::string::npos) << st.message();
  EXPECT_TRUE(a->election->active());
  EXPECT_EQ(Value("coord/x"), "1");
}

// The meta store the active coordinator's roles write through
// (mixCoord.enableActiveStandby): every write carries the fence, reads and
// watches pass through.
TEST_P(ClusterTest, FencedMetaStoreWritesOnlyWhileActive) {
  auto a = Candidate(kLongTtl);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->election->WaitActive(seconds(10)));
  std::unique_ptr<MetaStore> fenced = MakeFencedMetaStore(a->store.get(), a->election.get());
  MetaBatch w;
  w.Put("coord/catalog", "v1");
  ASSERT_TRUE(fenced->Commit(w).ok());
  EXPECT_EQ(Value("coord/catalog"), "v1");
  auto got = fenced->Get("coord/catalog");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "v1");
  // The batch's own compare still decides a Txn.
  MetaBatch create;
  create.RequireModRevision("coord/catalog", 0);
  create.Put("coord/catalog", "v2");
  auto r = fenced->Txn(create);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->succeeded);

  auto b = Candidate(kLongTtl);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->election->Resign().ok());
  ASSERT_TRUE(b->election->WaitActive(seconds(10)));
  MetaBatch stale;
  stale.Put("coord/catalog", "stale");
  Status st = fenced->Commit(stale);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("is not the active coordinator"), std::string::npos) << st.message();
  auto t = fenced->Txn(stale);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(Value("coord/catalog"), "v1");
  // Reads go on working (a stand-by may read).
  auto still = fenced->Get("coord/catalog");
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, "v1");
}

TEST(SessionJson, RoundTripsAndReadsMilvusValues) {
  // A value as Milvus 2.6 writes it (Go encoding/json of SessionRaw).
  const std::string milvus =
      R"({"ServerID":7,"ServerName":"querynode","Address":"10.0.0.5:21123","TriggerKill":true,)"
      R"("Version":"2.6.3","IndexEngineVersion":{"CurrentIndexVersion":6},"ScalarIndexEngineVersion":{},)"
      R"("LeaseID":7587888888888888888,"HostName":"qn-0","ServerLabels":{"zone":"a"}})";
  auto s = DecodeSession(milvus);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->server_id, 7);
  EXPECT_EQ(s->server_name, "querynode");
  EXPECT_EQ(s->address, "10.0.0.5:21123");
  EXPECT_TRUE(s->trigger_kill);
  EXPECT_FALSE(s->stopping);
  EXPECT_EQ(s->lease_id, 7587888888888888888LL);
  EXPECT_EQ(s->server_labels.at("zone"), "a");
  auto back = DecodeSession(EncodeSession(*s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->lease_id, s->lease_id);
  EXPECT_EQ(back->host_name, "qn-0");
  EXPECT_EQ(DecodeSession("[1]").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeSession(R"({"ServerID":"x"})").status().code(), StatusCode::kCorruption);
  // Go's field order.
  SessionInfo mine;
  mine.server_id = 3;
  mine.server_name = "mixcoord";
  mine.exclusive = true;
  mine.version = "2.6.0";
  mine.lease_id = 9;
  EXPECT_EQ(EncodeSession(mine),
            R"({"ServerID":3,"ServerName":"mixcoord","Exclusive":true,"TriggerKill":false,"Version":"2.6.0",)"
            R"("IndexEngineVersion":{},"ScalarIndexEngineVersion":{},"LeaseID":9})");
}

INSTANTIATE_TEST_SUITE_P(Stores, ClusterTest, ::testing::Values(Kind::kMemory, Kind::kEtcd),
                         [](const ::testing::TestParamInfo<Kind>& i) {
                           return i.param == Kind::kMemory ? "Embedded" : "Etcd";
                         });

}  // namespace
}  // namespace kite
