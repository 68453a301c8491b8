#include "storage/meta/meta_store.h"

#include "storage/meta/etcd_meta_store.h"
#include "storage/meta/lease_keeper.h"
#include "storage/testing/etcd_server.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "rpc.grpc.pb.h"  // etcd's API (cmake/EtcdProto.cmake), for CompactEtcd

namespace kite {
namespace {

// A fresh directory under the test temp dir, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "kite_meta_XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr) << "mkdtemp " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using KvList = std::vector<std::pair<std::string, std::string>>;

KvList ScanAll(MetaStore* m, std::string_view prefix) {
  KvList out;
  Status st = m->Scan(prefix, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::optional<std::string> GetOrDie(MetaStore* m, std::string_view key) {
  auto r = m->Get(key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

// kEtcdSecure: an etcd that serves TLS only (client certificates required)
// and has authentication enabled; the store logs in as root.
enum class Kind { kMemory, kRocksDb, kEtcd, kEtcdSecure };

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// etcd's Compact RPC (physical: returns once the old revisions are gone).
// Kite itself never compacts; a deployment's etcd does (--auto-compaction-*).
// A channel to etcd with the TLS files of `client`, and a token for its user
// (empty without one).
std::shared_ptr<grpc::Channel> TestChannel(const std::string& endpoint, const EtcdMetaStoreOptions& client) {
  std::string address = endpoint;
  if (auto p = address.find("://"); p != std::string::npos) address = address.substr(p + 3);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (client.tls.enabled) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrEmpty(client.tls.ca_cert_path);
    ssl.pem_cert_chain = ReadFileOrEmpty(client.tls.cert_path);
    ssl.pem_private_key = ReadFileOrEmpty(client.tls.key_path);
    creds = grpc::SslCredentials(ssl);
  }
  return grpc::CreateChannel(address, creds);
}

Result<std::string> TestToken(const std::shared_ptr<grpc::Channel>& channel, const EtcdMetaStoreOptions& client) {
  std::string token;
  if (!client.user_name.empty()) {
    auto auth = etcdserverpb::Auth::NewStub(channel);
    etcdserverpb::AuthenticateRequest areq;
    areq.set_name(client.user_name);
    areq.set_password(client.password);
    etcdserverpb::AuthenticateResponse aresp;
    grpc::ClientContext actx;
    actx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = auth->Authenticate(&actx, areq, &aresp);
    if (!s.ok()) return IOError("etcd authenticate: {}", s.error_message());
    token = aresp.token();
  }
  return token;
}

// `client` carries the TLS files and credentials of a secure etcd.
Status CompactEtcd(const std::string& endpoint, int64_t revision, const EtcdMetaStoreOptions& client = {}) {
  auto channel = TestChannel(endpoint, client);
  KITE_ASSIGN_OR_RETURN(std::string token, TestToken(channel, client));
  auto kv = etcdserverpb::KV::NewStub(channel);
  etcdserverpb::CompactionRequest req;
  req.set_revision(revision);
  req.set_physical(true);
  etcdserverpb::CompactionResponse resp;
  grpc::ClientContext ctx;
  if (!token.empty()) ctx.AddMetadata("token", token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status s = kv->Compact(&ctx, req, &resp);
  if (!s.ok()) return IOError("etcd compact at {}: {}", revision, s.error_message());
  return Status::OK();
}

// One etcd for the whole test binary; every test gets its own key prefix.
testing::EtcdServer* SharedEtcd() {
  static testing::EtcdServer server;  // stopped at exit
  static const Status started = server.Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return &server;
}

// One TLS + auth etcd for the whole test binary (Kind::kEtcdSecure).
testing::EtcdServer* SharedSecureEtcd() {
  static testing::EtcdServer server(testing::EtcdServerOptions{.tls = true, .auth = true});
  static const Status started = server.Start();
  EXPECT_TRUE(started.ok()) << started.ToString();
  return &server;
}

EtcdMetaStoreOptions EtcdOptionsForTest(testing::EtcdServer* server = nullptr) {
  static std::atomic<int> n{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string root = std::string("t") + std::to_string(getpid()) + "-" + std::to_string(n++) + "-" +
                     (info ? info->name() : "x");
  EtcdMetaStoreOptions o = server ? server->ClientOptions() : SharedEtcd()->ClientOptions();
  o.key_prefix = root + "/meta/";
  o.chunk_prefix = root + "/kv/kite-meta-chunks/";
  o.request_timeout_ms = 5000;
  return o;
}

class MetaStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kMemory) {
      store_ = NewMemoryMetaStore();
    } else if (GetParam() == Kind::kEtcd || GetParam() == Kind::kEtcdSecure) {
      auto r = OpenEtcdMetaStore(EtcdOptionsForTest(GetParam() == Kind::kEtcdSecure ? SharedSecureEtcd() : nullptr));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    } else {
      dir_ = std::make_unique<TempDir>();
      auto r = OpenRocksDbMetaStore(dir_->path());
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      store_ = std::move(r).value();
    }
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override { store_.reset(); }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<MetaStore> store_;
};

TEST_P(MetaStoreTest, PutGetDelete) {
  EXPECT_EQ(GetOrDie(store_.get(), "a"), std::nullopt);

  MetaBatch put;
  put.Put("a", "1");
  put.Put("b", std::string("bin\0ary", 7));
  put.Put("empty", "");
  ASSERT_TRUE(store_->Commit(put).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), "1");
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));
  // An empty value is present, not absent.
  EXPECT_EQ(GetOrDie(store_.get(), "empty"), std::optional<std::string>(""));

  MetaBatch overwrite;
  overwrite.Put("a", "2");
  ASSERT_TRUE(store_->Commit(overwrite).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), "2");

  MetaBatch del;
  del.Delete("a");
  del.Delete("never-existed");
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "a"), std::nullopt);
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));

  MetaBatch empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(store_->Commit(empty).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "b"), std::string("bin\0ary", 7));
}

TEST_P(MetaStoreTest, BatchAppliesOperationsInOrder) {
  MetaBatch b;
  b.Put("k", "first");
  b.Delete("k");
  b.Put("j", "x");
  b.Put("j", "y");
  b.Put("gone", "1");
  b.Delete("gone");
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "k"), std::nullopt);
  EXPECT_EQ(GetOrDie(store_.get(), "j"), "y");
  EXPECT_EQ(GetOrDie(store_.get(), "gone"), std::nullopt);
}

TEST_P(MetaStoreTest, ScanReturnsOnlyThePrefixInKeyOrder) {
  MetaBatch b;
  // Inserted out of order, with neighbours on both sides of the prefix.
  for (const char* k : {"kite/coll/3", "kite/coll/10", "kite/col", "kite/colm", "kite/coll/1", "kite/coll0",
                        "kite/coll/", "kite/db/1", "a", "kite/coll/2/x", "z"}) {
    b.Put(k, std::string("v:") + k);
  }
  ASSERT_TRUE(store_->Commit(b).ok());

  KvList got = ScanAll(store_.get(), "kite/coll/");
  KvList want = {{"kite/coll/", "v:kite/coll/"},         {"kite/coll/1", "v:kite/coll/1"},
                 {"kite/coll/10", "v:kite/coll/10"},     {"kite/coll/2/x", "v:kite/coll/2/x"},
                 {"kite/coll/3", "v:kite/coll/3"}};
  EXPECT_EQ(got, want);

  EXPECT_TRUE(ScanAll(store_.get(), "nothing/").empty());
  EXPECT_EQ(ScanAll(store_.get(), "kite/db/").size(), 1u);
  // The empty prefix scans everything, in order.
  KvList all = ScanAll(store_.get(), "");
  ASSERT_EQ(all.size(), 11u);
  EXPECT_EQ(all.front().first, "a");
  EXPECT_EQ(all.back().first, "z");
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].first, all[i].first);

  // Deleted keys disappear from scans.
  MetaBatch del;
  del.Delete("kite/coll/10");
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_EQ(ScanAll(store_.get(), "kite/coll/1").size(), 1u);
}

TEST_P(MetaStoreTest, ScanOrderIsBytewise) {
  MetaBatch b;
  b.Put("p/\xff", "hi");
  b.Put("p/B", "upper");
  b.Put("p/a", "lower");
  ASSERT_TRUE(store_->Commit(b).ok());
  KvList got = ScanAll(store_.get(), "p/");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, "p/B");
  EXPECT_EQ(got[1].first, "p/a");
  EXPECT_EQ(got[2].first, "p/\xff");
}

TEST_P(MetaStoreTest, BatchIsAtomicForReaders) {
  // A scan that runs while a writer commits batches of (a, b) pairs must never
  // see one key of a pair without the other.
  {
    MetaBatch b;
    b.Put("pair/a", "0");
    b.Put("pair/b", "0");
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      KvList kv;
      ASSERT_TRUE(store_->Scan("pair/", [&](std::string_view k, std::string_view v) { kv.emplace_back(k, v); }).ok());
      if (kv.size() != 2 || kv[0].second != kv[1].second) torn++;
    }
  });
  for (int i = 1; i <= 200; ++i) {
    MetaBatch b;
    b.Put("pair/a", std::to_string(i));
    b.Put("pair/b", std::to_string(i));
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(GetOrDie(store_.get(), "pair/a"), "200");
}

// ---- revisions, compare-and-swap, leases, watch, large values

MetaKv ReadOne(MetaStore* m, const std::string& key) {
  auto r = m->Read(key, false);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r->kvs.empty()) return MetaKv{};
  return r->kvs[0];
}

// Polls cond every 20 ms until it holds or `limit` passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

TEST_P(MetaStoreTest, RevisionsAdvanceOncePerBatch) {
  auto before = store_->Read("rev/", true);
  ASSERT_TRUE(before.ok());
  MetaBatch b;
  b.Put("rev/a", "1");
  b.Put("rev/b", "1");
  auto r1 = store_->Txn(b);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE(r1->succeeded);
  EXPECT_EQ(r1->revision, before->revision + 1);
  MetaKv a = ReadOne(store_.get(), "rev/a");
  EXPECT_EQ(a.mod_revision, r1->revision);
  EXPECT_EQ(a.create_revision, r1->revision);
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(ReadOne(store_.get(), "rev/b").mod_revision, r1->revision);

  MetaBatch c;
  c.Put("rev/a", "2");
  auto r2 = store_->Txn(c);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->revision, r1->revision + 1);
  a = ReadOne(store_.get(), "rev/a");
  EXPECT_EQ(a.value, "2");
  EXPECT_EQ(a.mod_revision, r2->revision);
  EXPECT_EQ(a.create_revision, r1->revision);
  EXPECT_EQ(a.version, 2);
  auto all = store_->Read("rev/", true);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->revision, r2->revision);
  ASSERT_EQ(all->kvs.size(), 2u);
  EXPECT_EQ(all->kvs[1].mod_revision, r1->revision);
}

TEST_P(MetaStoreTest, CompareAndSwapLetsOnlyOneWriterWin) {
  MetaBatch init;
  init.Put("cas/k", "v0");
  ASSERT_TRUE(store_->Commit(init).ok());
  const int64_t seen = ReadOne(store_.get(), "cas/k").mod_revision;
  // Two writers that both read `seen`.
  MetaBatch w1, w2;
  w1.RequireModRevision("cas/k", seen);
  w1.Put("cas/k", "w1");
  w1.Put("cas/w1", "x");
  w2.RequireModRevision("cas/k", seen);
  w2.Put("cas/k", "w2");
  w2.Put("cas/w2", "x");
  auto a = store_->Txn(w1);
  auto b = store_->Txn(w2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->succeeded);
  EXPECT_FALSE(b->succeeded);
  EXPECT_EQ(GetOrDie(store_.get(), "cas/k"), "w1");
  // The losing batch wrote nothing at all.
  EXPECT_EQ(GetOrDie(store_.get(), "cas/w2"), std::nullopt);
  Status st = store_->Commit(w2);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();

  // Revision 0: create only if absent.
  MetaBatch c1, c2;
  c1.RequireModRevision("cas/new", 0);
  c1.Put("cas/new", "first");
  c2.RequireModRevision("cas/new", 0);
  c2.Put("cas/new", "second");
  EXPECT_TRUE(store_->Txn(c1)->succeeded);
  EXPECT_FALSE(store_->Txn(c2)->succeeded);
  EXPECT_EQ(GetOrDie(store_.get(), "cas/new"), "first");
}

TEST_P(MetaStoreTest, ConcurrentCompareAndSwapLosesNoIncrement) {
  MetaBatch init;
  init.Put("cas/counter", "0");
  ASSERT_TRUE(store_->Commit(init).ok());
  constexpr int kThreads = 4, kEach = 15;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        while (true) {
          auto r = store_->Read("cas/counter", false);
          if (!r.ok() || r->kvs.size() != 1) {
            errors++;
            return;
          }
          MetaBatch b;
          b.RequireModRevision("cas/counter", r->kvs[0].mod_revision);
          b.Put("cas/counter", std::to_string(std::stoi(r->kvs[0].value) + 1));
          auto t = store_->Txn(b);
          if (!t.ok()) {
            errors++;
            return;
          }
          if (t->succeeded) break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(GetOrDie(store_.get(), "cas/counter"), std::to_string(kThreads * kEach));
}

TEST_P(MetaStoreTest, LeasedKeyVanishesWhenTheLeaseExpires) {
  auto lease = store_->GrantLease(2);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  MetaBatch b;
  b.PutWithLease("lease/session", "alive", *lease);
  b.Put("lease/durable", "stays");
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "lease/session"), "alive");
  EXPECT_EQ(ReadOne(store_.get(), "lease/session").lease, *lease);
  EXPECT_TRUE(WaitFor([&] { return GetOrDie(store_.get(), "lease/session") == std::nullopt; },
                      std::chrono::seconds(20)));
  EXPECT_EQ(GetOrDie(store_.get(), "lease/durable"), "stays");
  EXPECT_EQ(store_->KeepAliveLease(*lease).code(), StatusCode::kNotFound);
  // A put with the dead lease is refused as a whole.
  MetaBatch late;
  late.PutWithLease("lease/late", "x", *lease);
  late.Put("lease/other", "x");
  EXPECT_FALSE(store_->Commit(late).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "lease/other"), std::nullopt);
}

TEST_P(MetaStoreTest, KeepAliveHoldsTheLeaseAndRevokeEndsIt) {
  auto lease = store_->GrantLease(2);
  ASSERT_TRUE(lease.ok());
  MetaBatch b;
  b.PutWithLease("lease/held", "x", *lease);
  ASSERT_TRUE(store_->Commit(b).ok());
  // Past twice the TTL, kept alive every 400 ms.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(4500);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(store_->KeepAliveLease(*lease).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_EQ(GetOrDie(store_.get(), "lease/held"), "x");
  ASSERT_TRUE(store_->RevokeLease(*lease).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "lease/held"), std::nullopt);
  EXPECT_TRUE(store_->RevokeLease(*lease).ok());  // unknown lease: not an error
}

// Collects events until `n` arrived or 10 s passed.
std::vector<MetaEvent> Collect(MetaWatch* w, size_t n) {
  std::vector<MetaEvent> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = w->Next(std::chrono::milliseconds(200));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) break;
    for (auto& e : *r) out.push_back(std::move(e));
  }
  return out;
}

TEST_P(MetaStoreTest, WatchDeliversPrefixEventsInRevisionOrder) {
  auto start = store_->Read("w/", true);
  ASSERT_TRUE(start.ok());
  auto live = store_->Watch("w/", 0);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  std::vector<int64_t> revs;
  for (int i = 0; i < 3; ++i) {
    MetaBatch b;
    b.Put("w/k" + std::to_string(i), "v" + std::to_string(i));
    b.Put("other/k", "ignored");
    auto r = store_->Txn(b);
    ASSERT_TRUE(r.ok());
    revs.push_back(r->revision);
  }
  MetaBatch del;
  del.Delete("w/k1");
  auto dr = store_->Txn(del);
  ASSERT_TRUE(dr.ok());
  revs.push_back(dr->revision);

  auto check = [&](const std::vector<MetaEvent>& ev) {
    ASSERT_EQ(ev.size(), 4u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(ev[i].type, MetaEvent::Type::kPut);
      EXPECT_EQ(ev[i].kv.key, "w/k" + std::to_string(i));
      EXPECT_EQ(ev[i].kv.value, "v" + std::to_string(i));
      EXPECT_EQ(ev[i].kv.mod_revision, revs[i]);
    }
    EXPECT_EQ(ev[3].type, MetaEvent::Type::kDelete);
    EXPECT_EQ(ev[3].kv.key, "w/k1");
    EXPECT_EQ(ev[3].kv.mod_revision, revs[3]);
  };
  check(Collect(live->get(), 4));
  // A watch opened afterwards from an older revision replays the same.
  auto replay = store_->Watch("w/", start->revision + 1);
  ASSERT_TRUE(replay.ok());
  check(Collect(replay->get(), 4));
  // From the delete's revision: just the delete.
  auto tail = store_->Watch("w/", revs[3]);
  ASSERT_TRUE(tail.ok());
  auto t = Collect(tail->get(), 1);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].type, MetaEvent::Type::kDelete);
  // Nothing more arrives.
  auto more = (*tail)->Next(std::chrono::milliseconds(300));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

TEST_P(MetaStoreTest, WatchSeesLeaseExpiryAsDelete) {
  auto lease = store_->GrantLease(2);
  ASSERT_TRUE(lease.ok());
  MetaBatch b;
  b.PutWithLease("wl/s", "x", *lease);
  auto put = store_->Txn(b);
  ASSERT_TRUE(put.ok());
  auto w = store_->Watch("wl/", put->revision);
  ASSERT_TRUE(w.ok());
  std::vector<MetaEvent> ev;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ev.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto r = (*w)->Next(std::chrono::milliseconds(500));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (auto& e : *r) ev.push_back(std::move(e));
  }
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].type, MetaEvent::Type::kPut);
  EXPECT_EQ(ev[1].type, MetaEvent::Type::kDelete);
  EXPECT_EQ(ev[1].kv.key, "wl/s");
}

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  uint32_t x = 2166136261u ^ uint32_t(seed);
  for (size_t i = 0; i < n; ++i) {
    x = x * 16777619u + 1013904223u;
    s[i] = char(x >> 24);
  }
  return s;
}

// etcd refuses requests above 1.5 MiB by default: values above that (and
// batches whose values add up above it) still read back whole and atomically.
TEST_P(MetaStoreTest, LargeValuesRoundTripAtomically) {
  const std::string big = Pattern(3 << 20, 1);
  MetaBatch b;
  b.Put("big/one", big);
  b.Put("big/small", "s");
  ASSERT_TRUE(store_->Commit(b).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "big/one"), big);
  KvList all = ScanAll(store_.get(), "big/");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].second, big);

  // Three values of 700 KiB: together above the request limit.
  MetaBatch three;
  for (int i = 0; i < 3; ++i) three.Put("big/m" + std::to_string(i), Pattern(700 << 10, 10 + i));
  ASSERT_TRUE(store_->Commit(three).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(GetOrDie(store_.get(), "big/m" + std::to_string(i)), Pattern(700 << 10, 10 + i));

  // A losing compare leaves the old large value in place.
  const int64_t rev = ReadOne(store_.get(), "big/one").mod_revision;
  MetaBatch lose;
  lose.RequireModRevision("big/one", rev + 1000);
  lose.Put("big/one", Pattern(2 << 20, 2));
  ASSERT_FALSE(store_->Txn(lose)->succeeded);
  EXPECT_EQ(GetOrDie(store_.get(), "big/one"), big);

  // Replace large by small, small by large, then delete.
  MetaBatch swap;
  swap.Put("big/one", "now small");
  swap.Put("big/small", big);
  ASSERT_TRUE(store_->Commit(swap).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "big/one"), "now small");
  EXPECT_EQ(GetOrDie(store_.get(), "big/small"), big);
  MetaBatch del;
  del.Delete("big/small");
  ASSERT_TRUE(store_->Commit(del).ok());
  EXPECT_EQ(GetOrDie(store_.get(), "big/small"), std::nullopt);

  // Readers never see a large value half replaced.
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      auto v = store_->Get("big/one");
      if (!v.ok() || !*v) {
        bad++;
        continue;
      }
      if (**v != "now small" && **v != Pattern(1600 << 10, 3) && **v != Pattern(1600 << 10, 4)) bad++;
    }
  });
  for (int i = 0; i < 4; ++i) {
    MetaBatch w;
    w.Put("big/one", Pattern(1600 << 10, 3 + i % 2));
    ASSERT_TRUE(store_->Commit(w).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

// The embedded stores keep a bounded history (EmbeddedMetaStore::kHistoryBytes);
// a watch from before it fails as etcd's does after a compaction (on etcd the
// test compacts to the newest revision, as an operator's or etcd's own
// periodic compaction would).
TEST_P(MetaStoreTest, WatchFromACompactedRevisionFails) {
  auto first = store_->Read("", true);
  ASSERT_TRUE(first.ok());
  for (int i = 0; i < 4; ++i) {
    MetaBatch b;
    b.Put("hist/big", Pattern(3 << 20, i));
    ASSERT_TRUE(store_->Commit(b).ok());
  }
  if (GetParam() == Kind::kEtcd || GetParam() == Kind::kEtcdSecure) {
    auto now = store_->Read("hist/big", false);
    ASSERT_TRUE(now.ok());
    ASSERT_EQ(now->kvs.size(), 1u);
    testing::EtcdServer* server = GetParam() == Kind::kEtcd ? SharedEtcd() : SharedSecureEtcd();
    Status compacted = CompactEtcd(server->endpoint(), now->kvs[0].mod_revision, server->ClientOptions());
    ASSERT_TRUE(compacted.ok()) << compacted.ToString();
  }
  auto old = store_->Watch("hist/", first->revision + 1);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(old.status().message().find("compacted"), std::string::npos) << old.status().message();
  // The newest revision is still there.
  auto last = store_->Read("hist/big", false);
  ASSERT_TRUE(last.ok());
  auto w = store_->Watch("hist/", last->kvs[0].mod_revision);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  auto ev = Collect(w->get(), 1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.value, Pattern(3 << 20, 3));
}

TEST_P(MetaStoreTest, LeaseKeeperHoldsTheKeyThenRevokesIt) {
  std::atomic<int> lost_calls{0};
  auto keeper = LeaseKeeper::Start(store_.get(), 2, [&] { lost_calls++; });
  ASSERT_TRUE(keeper.ok()) << keeper.status().ToString();
  MetaBatch b;
  b.PutWithLease("keeper/session", "x", (*keeper)->lease());
  ASSERT_TRUE(store_->Commit(b).ok());
  // Past 1.5 TTLs, with no keep-alive from the test.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3200);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(GetOrDie(store_.get(), "keeper/session"), "x");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_FALSE((*keeper)->lost());
  keeper->reset();  // revokes: the key goes at once
  EXPECT_EQ(GetOrDie(store_.get(), "keeper/session"), std::nullopt);
  EXPECT_EQ(lost_calls.load(), 0);
}

TEST_P(MetaStoreTest, LeaseKeeperReportsALostLease) {
  std::atomic<int> lost_calls{0};
  auto keeper = LeaseKeeper::Start(store_.get(), 2, [&] { lost_calls++; });
  ASSERT_TRUE(keeper.ok()) << keeper.status().ToString();
  // Someone else ends the lease (as an operator or an expiry would).
  ASSERT_TRUE(store_->RevokeLease((*keeper)->lease()).ok());
  EXPECT_TRUE(WaitFor([&] { return (*keeper)->lost(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(WaitFor([&] { return lost_calls.load() == 1; }, std::chrono::seconds(2)));
}

TEST_P(MetaStoreTest, WatchOfALargeValueCarriesTheWholeValue) {
  auto w = store_->Watch("bigw/", 0);
  ASSERT_TRUE(w.ok());
  const std::string big = Pattern(2 << 20, 7);
  MetaBatch b;
  b.Put("bigw/x", big);
  ASSERT_TRUE(store_->Commit(b).ok());
  auto ev = Collect(w->get(), 1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.value, big);
}

INSTANTIATE_TEST_SUITE_P(Stores, MetaStoreTest,
                         ::testing::Values(Kind::kMemory, Kind::kRocksDb, Kind::kEtcd, Kind::kEtcdSecure),
                         [](const ::testing::TestParamInfo<Kind>& i) {
                           return i.param == Kind::kMemory    ? "Memory"
                                  : i.param == Kind::kRocksDb ? "RocksDb"
                                  : i.param == Kind::kEtcd    ? "Etcd"
                                                              : "EtcdTlsAuth";
                         });

// ---- etcd only: its limits, its absence, pagination, latency

std::unique_ptr<MetaStore> OpenEtcdOrDie(const EtcdMetaStoreOptions& o) {
  auto r = OpenEtcdMetaStore(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(EtcdMetaStoreTest, BatchAboveMaxTxnOpsIsRefusedWhole) {
  auto m = OpenEtcdOrDie(EtcdOptionsForTest());
  ASSERT_NE(m, nullptr);
  MetaBatch fits;
  for (int i = 0; i < testing::kEtcdTestMaxTxnOps; ++i) fits.Put(fmt::format("ops/a{:05d}", i), "x");
  ASSERT_TRUE(m->Commit(fits).ok());
  EXPECT_EQ(ScanAll(m.get(), "ops/a").size(), size_t(testing::kEtcdTestMaxTxnOps));

  MetaBatch too_many;
  for (int i = 0; i <= testing::kEtcdTestMaxTxnOps; ++i) too_many.Put(fmt::format("ops/b{:05d}", i), "x");
  Status st = m->Commit(too_many);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
  EXPECT_NE(st.message().find("--max-txn-ops"), std::string::npos) << st.message();
  EXPECT_TRUE(ScanAll(m.get(), "ops/b").empty());
}

TEST(EtcdMetaStoreTest, ScanPagesAtOneRevision) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest();
  o.scan_page = 100;
  auto m = OpenEtcdOrDie(o);
  ASSERT_NE(m, nullptr);
  MetaBatch b;
  for (int i = 0; i < 1000; ++i) b.Put(fmt::format("page/{:04d}", i), std::to_string(i));
  b.Put("pagf", "outside");
  ASSERT_TRUE(m->Commit(b).ok());
  KvList all = ScanAll(m.get(), "page/");
  ASSERT_EQ(all.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(all[i].first, fmt::format("page/{:04d}", i));
    EXPECT_EQ(all[i].second, std::to_string(i));
  }
}

TEST(EtcdMetaStoreTest, UnreachableEtcdFailsWithinTheDeadlineThenRecovers) {
  testing::EtcdServer server;
  ASSERT_TRUE(server.Start().ok());
  EtcdMetaStoreOptions o = EtcdOptionsForTest();
  o.endpoints = {server.endpoint()};
  o.request_timeout_ms = 2000;
  auto m = OpenEtcdOrDie(o);
  ASSERT_NE(m, nullptr);
  MetaBatch b;
  b.Put("k", "before");
  ASSERT_TRUE(m->Commit(b).ok());

  server.Stop(/*crash=*/true);
  auto t0 = std::chrono::steady_clock::now();
  MetaBatch w;
  w.Put("k", "during");
  Status st = m->Commit(w);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("meta store (etcd) unavailable"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(server.endpoint()), std::string::npos) << st.message();
  EXPECT_LT(took, std::chrono::milliseconds(o.request_timeout_ms + 1000));
  EXPECT_FALSE(m->Get("k").ok());
  EXPECT_FALSE(OpenEtcdMetaStore(o).ok());

  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(GetOrDie(m.get(), "k"), "before");
  ASSERT_TRUE(m->Commit(w).ok());
  EXPECT_EQ(GetOrDie(m.get(), "k"), "during");
}

// ---- etcd with TLS and authentication: clear errors at open

Status PutOne(MetaStore* m, const std::string& key, const std::string& value) {
  MetaBatch b;
  b.Put(key, value);
  return m->Commit(b);
}

bool Contains(const Status& st, std::string_view text) { return st.message().find(text) != std::string::npos; }

TEST(EtcdSecurityTest, WrongCaIsRefusedAtOpenNamingTheKey) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls.ca_cert_path = SharedSecureEtcd()->certs_dir() + "/other-ca.pem";
  auto r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status(), "certificate verify failed")) << r.status().message();
  EXPECT_TRUE(Contains(r.status(), "etcd.ssl.tlsCACert")) << r.status().message();
}

TEST(EtcdSecurityTest, NoClientCertificateIsRefusedByAnEtcdThatRequiresOne) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls.cert_path.clear();
  o.tls.key_path.clear();
  auto r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status(), "TLS handshake with etcd")) << r.status().message();
  EXPECT_TRUE(Contains(r.status(), "etcd.ssl.tlsCert")) << r.status().message();
}

TEST(EtcdSecurityTest, PlainConnectionToATlsEtcdFails) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls = {};
  o.request_timeout_ms = 1000;
  EXPECT_FALSE(OpenEtcdMetaStore(o).ok());
}

TEST(EtcdSecurityTest, UnreadableOrUnknownTlsSettingsAreRefused) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls.ca_cert_path = "/nonexistent/ca.pem";
  auto r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status(), "etcd.ssl.tlsCACert: cannot read '/nonexistent/ca.pem'")) << r.status().message();
  o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls.key_path.clear();
  EXPECT_TRUE(Contains(OpenEtcdMetaStore(o).status(), "give both")) << OpenEtcdMetaStore(o).status().message();
  o = EtcdOptionsForTest(SharedSecureEtcd());
  o.tls.min_version = "1.4";
  r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  // Milvus's text (pkg/util/etcd/etcd_util.go).
  EXPECT_TRUE(Contains(r.status(), "unknown TLS version,1.4")) << r.status().message();
  for (const char* v : {"1.0", "1.1", "1.2", "1.3"}) {
    o.tls.min_version = v;
    EXPECT_TRUE(OpenEtcdMetaStore(o).ok()) << v;
  }
}

TEST(EtcdSecurityTest, WrongPasswordIsRefusedAtOpenNamingTheKey) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.password = "not-the-password";
  auto r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status(), "authentication failed")) << r.status().message();
  EXPECT_TRUE(Contains(r.status(), "etcd.auth.password")) << r.status().message();
  o.user_name = "nobody";
  EXPECT_TRUE(Contains(OpenEtcdMetaStore(o).status(), "login as user 'nobody' refused"));
}

TEST(EtcdSecurityTest, NoCredentialsOnAnEtcdWithAuthIsRefusedAtOpen) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest(SharedSecureEtcd());
  o.user_name.clear();
  o.password.clear();
  auto r = OpenEtcdMetaStore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status(), "etcd.auth.enabled")) << r.status().message();
}

// Credentials given to an etcd without auth: it needs no token, the store works
// (as etcd's Go client, which Milvus uses, treats it).
TEST(EtcdSecurityTest, CredentialsForAnEtcdWithoutAuthAreNotNeeded) {
  EtcdMetaStoreOptions o = EtcdOptionsForTest();
  o.user_name = "root";
  o.password = "anything";
  auto m = OpenEtcdOrDie(o);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(PutOne(m.get(), "plain", "v").ok());
}

// An auth token expires (etcd's --auth-token-ttl; 1 s here): the store logs in
// again and the request goes through, unary calls and a new watch alike.
TEST(EtcdSecurityTest, AnExpiredTokenIsRenewed) {
  testing::EtcdServer server(testing::EtcdServerOptions{.tls = false, .auth = true, .auth_token_ttl_s = 1});
  ASSERT_TRUE(server.Start().ok());
  auto m = OpenEtcdOrDie(EtcdOptionsForTest(&server));
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(PutOne(m.get(), "ttl/a", "1").ok());
  // Waits until a token issued after the store's last use of its own is
  // refused: the store's has expired too.
  auto wait_for_expiry = [&] {
    EtcdMetaStoreOptions client = server.ClientOptions();
    auto channel = TestChannel(server.endpoint(), client);
    auto token = TestToken(channel, client);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    auto kv = etcdserverpb::KV::NewStub(channel);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("token", *token);
      etcdserverpb::RangeRequest req;
      req.set_key("ttl-probe");
      etcdserverpb::RangeResponse resp;
      grpc::Status s = kv->Range(&ctx, req, &resp);
      if (!s.ok() && s.error_message().find("invalid auth token") != std::string::npos) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the token never expired: " << s.error_message();
      // Longer than the TTL: each use of a token restarts its TTL.
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
  };
  wait_for_expiry();
  ASSERT_TRUE(PutOne(m.get(), "ttl/b", "2").ok());
  EXPECT_EQ(GetOrDie(m.get(), "ttl/a"), "1");
  wait_for_expiry();
  auto w = m->Watch("ttl/", 0);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(PutOne(m.get(), "ttl/c", "3").ok());
  auto ev = Collect(w->get(), 1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.key, "ttl/c");
}

// Latency of a small Commit and a 1000-key Scan (ARCHITECTURE.md, "Meta store
// on etcd"). Run by hand: --gtest_also_run_disabled_tests.
TEST(EtcdMetaStoreTest, DISABLED_Latency) {
  auto m = OpenEtcdOrDie(EtcdOptionsForTest());
  ASSERT_NE(m, nullptr);
  MetaBatch fill;
  for (int i = 0; i < 1000; ++i) fill.Put(fmt::format("lat/scan/{:04d}", i), std::string(100, 'v'));
  ASSERT_TRUE(m->Commit(fill).ok());
  auto time_us = [](int n, const std::function<void()>& fn) {
    std::vector<double> us;
    for (int i = 0; i < n; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      fn();
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    return std::make_pair(us[us.size() / 2], us[us.size() * 99 / 100]);
  };
  int i = 0;
  auto commit = time_us(500, [&] {
    MetaBatch b;
    b.Put("lat/k", std::to_string(i++));
    b.Put("lat/j", "x");
    ASSERT_TRUE(m->Commit(b).ok());
  });
  auto scan = time_us(100, [&] { ASSERT_EQ(ScanAll(m.get(), "lat/scan/").size(), 1000u); });
  std::printf("etcd (gRPC): small commit p50 %.0f us p99 %.0f us; 1000-key scan p50 %.0f us p99 %.0f us\n",
              commit.first, commit.second, scan.first, scan.second);
}

TEST(RocksDbMetaStoreTest, DataSurvivesReopen) {
  TempDir dir;
  {
    auto r = OpenRocksDbMetaStore(dir.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::unique_ptr<MetaStore> m = std::move(r).value();
    MetaBatch b;
    b.Put("kite/x/1", "one");
    b.Put("kite/x/2", "two");
    b.Put("kite/y", "gone soon");
    ASSERT_TRUE(m->Commit(b).ok());
    MetaBatch d;
    d.Delete("kite/y");
    ASSERT_TRUE(m->Commit(d).ok());
  }  // closed here
  auto r = OpenRocksDbMetaStore(dir.path());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::unique_ptr<MetaStore> m = std::move(r).value();
  EXPECT_EQ(GetOrDie(m.get(), "kite/x/1"), "one");
  EXPECT_EQ(GetOrDie(m.get(), "kite/y"), std::nullopt);
  KvList want = {{"kite/x/1", "one"}, {"kite/x/2", "two"}};
  EXPECT_EQ(ScanAll(m.get(), "kite/"), want);
}

TEST(RocksDbMetaStoreTest, SecondOpenOfSameDirFails) {
  TempDir dir;
  auto first = OpenRocksDbMetaStore(dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OpenRocksDbMetaStore(dir.path());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError);
}

TEST(RocksDbMetaStoreTest, OpenOnAFileFails) {
  TempDir dir;
  std::string file = dir.path() + "/not_a_dir";
  { FILE* f = fopen(file.c_str(), "w"); ASSERT_NE(f, nullptr); fclose(f); }
  auto r = OpenRocksDbMetaStore(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
}

TEST(MemoryMetaStoreTest, StoresAreIndependent) {
  auto a = NewMemoryMetaStore();
  auto b = NewMemoryMetaStore();
  MetaBatch batch;
  batch.Put("k", "v");
  ASSERT_TRUE(a->Commit(batch).ok());
  EXPECT_EQ(GetOrDie(a.get(), "k"), "v");
  EXPECT_EQ(GetOrDie(b.get(), "k"), std::nullopt);
}

}  // namespace
}  // namespace kite
