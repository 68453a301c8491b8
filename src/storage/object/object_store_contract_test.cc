// The ObjectStore contract (object_store.h), run against every engine: the
// local directory store and the S3 store on a real S3 server (Versity).
// Engine-specific behaviour (S3 retries, multipart, paging) follows below.
#include <stdlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/object/object_store.h"
#include "storage/object/s3_object_store.h"
#include "storage/testing/versity_server.h"

namespace kite {
namespace {

using Keys = std::vector<std::string>;
using testing::VersityServer;

S3Options OptionsFor(const VersityServer& server) {
  S3Options o;
  o.address = "127.0.0.1";
  o.port = server.port();
  o.access_key_id = VersityServer::kAccessKey;
  o.secret_access_key = VersityServer::kSecretKey;
  o.bucket = "kite-test";
  o.root_path = "files";
  o.request_timeout_ms = 5000;
  o.backoff_base_ms = 20;
  o.backoff_max_ms = 200;
  return o;
}

// One engine under test: opens (and reopens) a store.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual Result<std::unique_ptr<ObjectStore>> Open() = 0;
};

class LocalEngine final : public Engine {
 public:
  LocalEngine() {
    std::string tmpl = ::testing::TempDir() + "kite_contract_XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  ~LocalEngine() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Result<std::unique_ptr<ObjectStore>> Open() override { return OpenLocalObjectStore(dir_ + "/objects"); }

 private:
  std::string dir_;
};

class S3Engine final : public Engine {
 public:
  Result<std::unique_ptr<ObjectStore>> Open() override {
    KITE_RETURN_IF_ERROR(server_.Start());
    return OpenS3ObjectStore(OptionsFor(server_));
  }

 private:
  VersityServer server_;
};

class ObjectStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      engine_ = std::make_unique<LocalEngine>();
    } else {
      engine_ = std::make_unique<S3Engine>();
    }
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto s = engine_->Open();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void Put(const std::string& key, std::string_view data) {
    Status st = store_->Put(key, data);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::string Get(const std::string& key) {
    auto r = store_->Get(key);
    EXPECT_TRUE(r.ok()) << key << ": " << r.status().ToString();
    return r.ok() ? *r : std::string();
  }
  Keys List(const std::string& prefix) {
    auto r = store_->List(prefix);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Keys();
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(ObjectStoreContractTest, PutGetOverwrite) {
  Put("a", "1");
  Put("dir/sub/key.bin", std::string("\0binary\xff", 8));
  Put("empty", "");
  Put("k=v/x-y_z.1", "chars");
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Get("dir/sub/key.bin"), std::string("\0binary\xff", 8));
  EXPECT_EQ(Get("empty"), "");
  EXPECT_EQ(Get("k=v/x-y_z.1"), "chars");
  Put("a", "second");
  EXPECT_EQ(Get("a"), "second");
}

TEST_P(ObjectStoreContractTest, ObjectsSurviveReopen) {
  Put("seg/1/col", "data");
  Reopen();
  EXPECT_EQ(Get("seg/1/col"), "data");
}

TEST_P(ObjectStoreContractTest, MissingKeyIsNotFound) {
  auto r = store_->Get("nope/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  auto o = store_->Open("nope/missing");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kNotFound);
}

TEST_P(ObjectStoreContractTest, PutPartsWritesTheConcatenation) {
  std::vector<std::string_view> parts = {"ab", "", "cde", "f"};
  ASSERT_TRUE(store_->PutParts("p", parts).ok());
  EXPECT_EQ(Get("p"), "abcdef");
}

TEST_P(ObjectStoreContractTest, OpenReadsPiecesAndRefusesPastTheEnd) {
  std::string data(100000, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  Put("big", data);
  auto r = store_->Open("big");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ObjectReader& reader = **r;
  EXPECT_EQ(reader.size(), data.size());
  std::string buf(1000, '\0');
  ASSERT_TRUE(reader.ReadAt(12345, 1000, buf.data()).ok());
  EXPECT_EQ(buf, data.substr(12345, 1000));
  ASSERT_TRUE(reader.ReadAt(data.size() - 10, 10, buf.data()).ok());
  EXPECT_EQ(buf.substr(0, 10), data.substr(data.size() - 10));
  EXPECT_TRUE(reader.ReadAt(data.size(), 0, buf.data()).ok());
  Status past = reader.ReadAt(data.size() - 5, 10, buf.data());
  EXPECT_EQ(past.code(), StatusCode::kIOError) << past.ToString();
}

TEST_P(ObjectStoreContractTest, DeleteAndDeleteMissing) {
  Put("d/1", "x");
  ASSERT_TRUE(store_->Delete("d/1").ok());
  EXPECT_EQ(store_->Get("d/1").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("d/1").ok());
  EXPECT_TRUE(store_->Delete("never/was").ok());
}

TEST_P(ObjectStoreContractTest, ListIsSortedRecursiveAndByStringPrefix) {
  for (const char* k : {"b/2", "a/1", "a/10/x", "ab", "a/0", "c"}) Put(k, k);
  EXPECT_EQ(List(""), (Keys{"a/0", "a/1", "a/10/x", "ab", "b/2", "c"}));
  EXPECT_EQ(List("a"), (Keys{"a/0", "a/1", "a/10/x", "ab"}));
  EXPECT_EQ(List("a/"), (Keys{"a/0", "a/1", "a/10/x"}));
  EXPECT_EQ(List("a/1"), (Keys{"a/1", "a/10/x"}));
  EXPECT_EQ(List("zzz"), Keys{});
}

// The garbage collector ages orphans by these times (S3's LastModified has
// whole seconds on some servers: a second of slack either side).
TEST_P(ObjectStoreContractTest, ListInfoGivesSizesAndModificationTimes) {
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = wall_ms();
  Put("m/a", "abc");
  Put("m/b/c", std::string(1000, 'x'));
  Put("n", "z");
  const int64_t after = wall_ms();
  auto infos = store_->ListInfo("m/");
  ASSERT_TRUE(infos.ok()) << infos.status().ToString();
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ(infos->at(0).key, "m/a");
  EXPECT_EQ(infos->at(0).size_bytes, 3u);
  EXPECT_EQ(infos->at(1).key, "m/b/c");
  EXPECT_EQ(infos->at(1).size_bytes, 1000u);
  for (const ObjectInfo& o : infos.value()) {
    EXPECT_GE(o.modified_ms, before - 2000) << o.key;
    EXPECT_LE(o.modified_ms, after + 2000) << o.key;
  }
}

TEST_P(ObjectStoreContractTest, DeletePrefix) {
  for (const char* k : {"s/1/a", "s/1/b", "s/10/a", "s/2/a", "t"}) Put(k, "v");
  ASSERT_TRUE(store_->DeletePrefix("s/1/").ok());
  EXPECT_EQ(List(""), (Keys{"s/10/a", "s/2/a", "t"}));
  ASSERT_TRUE(store_->DeletePrefix("s/").ok());
  EXPECT_EQ(List(""), Keys{"t"});
  EXPECT_TRUE(store_->DeletePrefix("none/").ok());
}

TEST_P(ObjectStoreContractTest, BadKeysAreRejected) {
  for (const char* bad : {"", "/a", "a//b", "a/../b", "a b", "a/", "\xc3\xa9"}) {
    Status st = store_->Put(bad, "x");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "'" << bad << "': " << st.ToString();
  }
  EXPECT_EQ(store_->List("a b").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ObjectStoreContractTest, ConcurrentPutsOfOneKeyAreAtomic) {
  const std::string a(200000, 'a'), b(200000, 'b');
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) EXPECT_TRUE(store_->Put("same", t % 2 ? a : b).ok());
    });
  }
  for (auto& t : threads) t.join();
  std::string got = Get("same");
  EXPECT_TRUE(got == a || got == b) << "a mix of two Puts, size " << got.size();
}

INSTANTIATE_TEST_SUITE_P(Engines, ObjectStoreContractTest, ::testing::Values("local", "s3"),
                         [](const auto& info) { return info.param; });

// ------------------------------------------------------------ S3 only

class S3ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status st = server_.Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::unique_ptr<ObjectStore> Open(const S3Options& o) {
    auto s = OpenS3ObjectStore(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  VersityServer server_;
};

TEST_F(S3ObjectStoreTest, MultipartUploadFromPartsReadsBack) {
  S3Options o = OptionsFor(server_);
  o.multipart_threshold_bytes = 6u << 20;
  o.part_bytes = 5u << 20;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  // 13 MiB in uneven caller buffers: three parts, two of them spanning buffers.
  std::string x(3u << 20, 'x'), y(7u << 20, 'y'), z((3u << 20) + 17, 'z');
  for (size_t i = 0; i < y.size(); i += 4096) y[i] = static_cast<char>(i / 4096);
  ASSERT_TRUE(store->PutParts("seg/big", {x, y, z}).ok());
  auto reader = store->Open("seg/big");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->size(), x.size() + y.size() + z.size());
  std::string all = x + y + z;
  std::string buf(8192, '\0');
  for (uint64_t off : {uint64_t{0}, uint64_t{(5u << 20) - 100}, uint64_t{all.size() - 8192}}) {
    ASSERT_TRUE((*reader)->ReadAt(off, buf.size(), buf.data()).ok());
    EXPECT_EQ(buf, all.substr(off, buf.size())) << "offset " << off;
  }
  auto whole = store->Get("seg/big");
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(*whole == all);
}

TEST_F(S3ObjectStoreTest, ListFollowsContinuationTokens) {
  S3Options o = OptionsFor(server_);
  o.list_max_keys = 3;  // pages of 3 keys
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  Keys expected;
  for (int i = 0; i < 11; ++i) {
    std::string key = "page/" + std::to_string(i * 7 % 11);
    ASSERT_TRUE(store->Put(key, "v").ok());
    expected.push_back(key);
  }
  std::sort(expected.begin(), expected.end());
  auto keys = store->List("page/");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, expected);
  ASSERT_TRUE(store->DeletePrefix("page/").ok());
  EXPECT_TRUE(store->List("page/")->empty());
}

TEST_F(S3ObjectStoreTest, DeletePrefixBatchesPastOneRequest) {
  S3Options o = OptionsFor(server_);
  o.delete_batch_max = 4;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Put("batch/" + std::to_string(i), "v").ok());
  ASSERT_TRUE(store->Put("kept", "v").ok());
  ASSERT_TRUE(store->DeletePrefix("batch/").ok());
  EXPECT_EQ(*store->List(""), Keys{"kept"});
}

TEST_F(S3ObjectStoreTest, RootPathsKeepStoresApart) {
  S3Options a = OptionsFor(server_), b = OptionsFor(server_);
  a.root_path = "cluster-a";
  b.root_path = "cluster-b/nested";
  auto sa = Open(a), sb = Open(b);
  ASSERT_TRUE(sa && sb);
  ASSERT_TRUE(sa->Put("k", "a").ok());
  ASSERT_TRUE(sb->Put("k", "b").ok());
  EXPECT_EQ(*sa->Get("k"), "a");
  EXPECT_EQ(*sb->Get("k"), "b");
  EXPECT_EQ(*sa->List(""), Keys{"k"});
  ASSERT_TRUE(sa->DeletePrefix("").ok());
  EXPECT_EQ(*sb->Get("k"), "b");
}

TEST_F(S3ObjectStoreTest, WrongSecretIsAClearErrorWithoutTheSecret) {
  S3Options o = OptionsFor(server_);
  o.secret_access_key = "wrong-secret-value-123";
  auto s = OpenS3ObjectStore(o);
  ASSERT_FALSE(s.ok());
  const std::string msg = s.status().ToString();
  EXPECT_NE(msg.find("403"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("wrong-secret-value-123"), std::string::npos) << msg;
}

TEST_F(S3ObjectStoreTest, BadOptionsAreRejectedBeforeAnyRequest) {
  S3Options o = OptionsFor(server_);
  o.cloud_provider = "azure";
  EXPECT_EQ(OpenS3ObjectStore(o).status().code(), StatusCode::kInvalidArgument);
  o = OptionsFor(server_);
  o.address = "http://127.0.0.1";
  EXPECT_EQ(OpenS3ObjectStore(o).status().code(), StatusCode::kInvalidArgument);
  o = OptionsFor(server_);
  o.port = 0;
  EXPECT_EQ(OpenS3ObjectStore(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(S3ObjectStoreTest, ServerDownFailsBoundedThenRecovers) {
  S3Options o = OptionsFor(server_);
  o.max_attempts = 4;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("before", "1").ok());
  server_.Stop();
  auto start = std::chrono::steady_clock::now();
  Status st = store->Put("during", "2");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("after 4 attempts"), std::string::npos) << st.ToString();
  // Three waits of at most 20, 40 and 80 ms plus refused connects.
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(store->Get("before").status().code(), StatusCode::kIOError);
  ASSERT_TRUE(server_.Start().ok());
  ASSERT_TRUE(store->Put("during", "2").ok());
  EXPECT_EQ(*store->Get("before"), "1");
  EXPECT_EQ(*store->Get("during"), "2");
}

TEST_F(S3ObjectStoreTest, RequestsRetriedAcrossAShortOutage) {
  S3Options o = OptionsFor(server_);
  o.max_attempts = 30;
  o.backoff_base_ms = 50;
  o.backoff_max_ms = 200;
  auto store = Open(o);
  ASSERT_NE(store, nullptr);
  server_.Stop();
  // The server comes back while the Put is retrying.
  std::thread restarter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(server_.Start().ok());
  });
  Status st = store->Put("retried", "v");
  restarter.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*store->Get("retried"), "v");
}


// A self-signed certificate for 127.0.0.1 (openssl CLI) in a temp dir.
struct TestCert {
  std::string dir, cert, key;
  TestCert() {
    std::string tmpl = ::testing::TempDir() + "kite_cert_XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  ~TestCert() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

TEST(S3ObjectStoreTlsTest, HttpsWithACaFile) {
  TestCert cert;
  VersityServer server({"--cert", cert.cert, "--key", cert.key});
  ASSERT_TRUE(server.Start().ok());
  S3Options o = OptionsFor(server);
  o.use_ssl = true;
  o.ca_cert_path = cert.cert;
  auto store = OpenS3ObjectStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("tls/a", "secret bytes").ok());
  EXPECT_EQ(*(*store)->Get("tls/a"), "secret bytes");
  // Without the CA the server's certificate is refused.
  o.ca_cert_path = "";
  o.max_attempts = 1;
  auto refused = OpenS3ObjectStore(o);
  EXPECT_EQ(refused.status().code(), StatusCode::kIOError) << refused.status().ToString();
  // Plain http to an https port fails too, clearly.
  o = OptionsFor(server);
  o.max_attempts = 1;
  EXPECT_FALSE(OpenS3ObjectStore(o).ok());
}

TEST(S3ObjectStoreAddressingTest, VirtualHostStyle) {
  // <bucket>.localhost resolves to the loopback address (libcurl does so itself).
  VersityServer server({"--virtual-domain", "localhost"});
  ASSERT_TRUE(server.Start().ok());
  S3Options o = OptionsFor(server);
  o.address = "localhost";
  o.use_virtual_host = true;
  auto store = OpenS3ObjectStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Put("vh/k=1", "v").ok());
  EXPECT_EQ(*(*store)->List("vh/"), Keys{"vh/k=1"});
  EXPECT_EQ(*(*store)->Get("vh/k=1"), "v");
  // The object sits in the bucket's directory on the server.
  EXPECT_TRUE(std::filesystem::exists(server.dir() + "/data/kite-test/files/vh/k=1"));
}

// A stand-in HTTP server that answers each request with what `answer` returns
// for its head (request line and headers), to check behaviour on answers a
// healthy S3 server does not give on demand (503, 429, a refused part).
// Records the request lines it answered.
class ScriptedServer {
 public:
  using Answer = std::function<std::string(const std::string& head)>;
  explicit ScriptedServer(Answer answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  // Answers every request with `status` and no body.
  static Answer Fixed(int status) {
    return [status](const std::string&) { return Reply(status, ""); };
  }
  static std::string Reply(int status, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nETag: \"e\"\r\nConnection: close\r\n\r\n" + body;
  }
  ~ScriptedServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  void Serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[65536];
      size_t head_end;
      while ((head_end = req.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      if (head_end == std::string::npos) {
        ::close(c);
        continue;
      }
      std::string head = req.substr(0, head_end);
      // Read the body, so that the client never sees a reset.
      size_t body = 0;
      std::string lower = head;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (size_t cl = lower.find("content-length:"); cl != std::string::npos) body = std::stoull(head.substr(cl + 15));
      size_t have = req.size() - head_end - 4;
      while (have < body) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        have += static_cast<size_t>(n);
      }
      {
        std::lock_guard lock(mu_);
        lines_.push_back(head.substr(0, head.find("\r\n")));
      }
      std::string resp = answer_(head);
      (void)::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  Answer answer_;
  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> lines_;
  std::thread thread_;
};

S3Options OptionsForPort(int port) {
  S3Options o;
  o.address = "127.0.0.1";
  o.port = port;
  o.access_key_id = "a";
  o.secret_access_key = "s";
  o.max_attempts = 4;
  o.backoff_base_ms = 5;
  o.backoff_max_ms = 20;
  return o;
}

TEST(S3RetryPolicyTest, ServerErrorsAndThrottlingAreRetriedThenFail) {
  for (int status : {500, 503, 429}) {
    ScriptedServer server(ScriptedServer::Fixed(status));
    auto s = OpenS3ObjectStore(OptionsForPort(server.port()));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kIOError);
    EXPECT_NE(s.status().message().find("HTTP " + std::to_string(status)), std::string::npos)
        << s.status().ToString();
    EXPECT_EQ(server.requests().size(), 4u) << "status " << status;
  }
}

TEST(S3RetryPolicyTest, ClientErrorsAreNotRetried) {
  ScriptedServer server(ScriptedServer::Fixed(403));
  auto s = OpenS3ObjectStore(OptionsForPort(server.port()));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("HTTP 403"), std::string::npos) << s.status().ToString();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(S3MultipartTest, ARefusedPartAbortsTheUpload) {
  // The bucket exists, the upload starts, part 2 is refused: the store must
  // send AbortMultipartUpload for that upload and report the failure.
  ScriptedServer server([](const std::string& head) {
    const std::string line = head.substr(0, head.find("\r\n"));
    if (line.starts_with("POST") && line.find("uploads=") != std::string::npos) {
      return ScriptedServer::Reply(200, "<InitiateMultipartUploadResult><Bucket>a-bucket</Bucket><Key>k</Key>"
                                        "<UploadId>up+1/=</UploadId></InitiateMultipartUploadResult>");
    }
    if (line.starts_with("PUT") && line.find("partNumber=2") != std::string::npos) {
      return ScriptedServer::Reply(400, "<Error><Code>InvalidPart</Code><Message>refused</Message></Error>");
    }
    if (line.starts_with("DELETE")) return ScriptedServer::Reply(204, "");
    return ScriptedServer::Reply(200, "");
  });
  S3Options o = OptionsForPort(server.port());
  o.multipart_threshold_bytes = 6u << 20;
  o.part_bytes = 5u << 20;
  auto store = OpenS3ObjectStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string big(12u << 20, 'm');
  Status st = (*store)->Put("mp/k", big);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_NE(st.message().find("InvalidPart"), std::string::npos) << st.ToString();
  std::vector<std::string> lines = server.requests();
  ASSERT_FALSE(lines.empty());
  // The upload id is sent encoded as AWS encodes query values.
  EXPECT_EQ(lines.back(), "DELETE /a-bucket/files/mp/k?uploadId=up%2B1%2F%3D HTTP/1.1");
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("PUT"); }), 2);
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.find("uploadId=") != std::string::npos &&
                                                            l.starts_with("POST"); }), 0)
      << "the upload must not be completed";
}

}  // namespace
}  // namespace kite
