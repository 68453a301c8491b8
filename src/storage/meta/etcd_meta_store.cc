// EtcdMetaStore (etcd_meta_store.h): etcd's v3 gRPC API, C++ generated at
// build time from the descriptors in the pinned etcd3 PyPI package
// (cmake/EtcdProto.cmake).
#include "storage/meta/etcd_meta_store.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "rpc.grpc.pb.h"
#include "storage/meta/etcd_security.h"

namespace kite {
namespace {

namespace pb = etcdserverpb;

constexpr char kInline = '\x00';
constexpr char kChunked = '\x01';
constexpr std::string_view kUnavailable = "meta store (etcd) unavailable: ";

// Milvus's merr.WrapErrServiceUnavailable text ("service unavailable: "
// + reason), code 2 and retriable at the RPC edge.
constexpr std::string_view kServiceUnavailable = "service unavailable: ";

Status Unavailable(const std::string& what) {
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "{}{}{}", kServiceUnavailable, kUnavailable,
                    what);
}

bool IsUnavailable(const Status& st) {
  return st.code() == StatusCode::kIOError && st.Is(Reason::kServiceUnavailable) &&
         st.message().find(kUnavailable) != std::string::npos;
}

// The smallest key greater than every key starting with prefix (etcd's
// range_end for a prefix); "\0" (all keys) for the empty prefix.
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (uint8_t(prefix.back()) < 0xff) {
      prefix.back() = char(uint8_t(prefix.back()) + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

// ---- chunked values

struct ChunkHeader {
  std::string gen;
  int64_t count = 0;
  int64_t size = 0;
};

std::optional<ChunkHeader> ParseHeader(std::string_view stored) {
  if (stored.empty() || stored[0] != kChunked) return std::nullopt;
  ChunkHeader h;
  std::string body(stored.substr(1));
  char gen[65] = {};
  long long count = 0, size = 0;
  if (std::sscanf(body.c_str(), "%64s %lld %lld", gen, &count, &size) != 3) return std::nullopt;
  h.gen = gen;
  h.count = count;
  h.size = size;
  return h;
}

class EtcdMetaStore;

class EtcdMetaWatch final : public MetaWatch {
 public:
  // Returns once etcd registered the watch (or the stream failed, or
  // `create_timeout` passed): a watch "from now" then sees every later change.
  //
  // A stream that breaks (etcd restarted, a connection lost) is resumed by
  // the next Next from the revision after the last one received, as etcd's
  // own client does; when that revision is compacted meanwhile, Next fails
  // with kFailedPrecondition ("compacted") and the caller re-lists.
  EtcdMetaWatch(EtcdMetaStore* store, std::shared_ptr<grpc::Channel> channel, pb::WatchCreateRequest create,
                std::chrono::milliseconds create_timeout);
  ~EtcdMetaWatch() override;
  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) override;

 private:
  void StartStream();  // a new stream from create_; waits for its creation
  void Run(grpc::ClientContext* ctx);
  // After a broken stream: a new one from next_rev_.
  Status Resume();
  bool BrokenLocked() const {
    return results_.empty() && error_.has_value() && error_->code() == StatusCode::kIOError && next_rev_ > 0;
  }

  EtcdMetaStore* store_;
  std::unique_ptr<pb::Watch::Stub> stub_;
  pb::WatchCreateRequest create_;
  const std::chrono::milliseconds create_timeout_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pb::WatchResponse> results_;
  std::optional<Status> error_;  // the stream ended
  bool created_ = false;          // etcd confirmed the watch
  int64_t next_rev_ = 0;          // the first revision not yet received (0: unknown)
  std::thread thread_;
};

class EtcdMetaStore final : public MetaStore {
 public:
  EtcdMetaStore(EtcdMetaStoreOptions o, const EtcdTlsFiles& tls) : o_(std::move(o)) {
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (o_.tls.enabled) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = tls.ca_pem;
      ssl.pem_cert_chain = tls.cert_pem;
      ssl.pem_private_key = tls.key_pem;
      creds = grpc::SslCredentials(ssl);
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    for (auto e : o_.endpoints) {
      if (auto p = e.find("://"); p != std::string::npos) e = e.substr(p + 3);
      while (!e.empty() && e.back() == '/') e.pop_back();
      Endpoint ep;
      ep.address = e;
      ep.channel = grpc::CreateCustomChannel(e, creds, args);
      ep.kv = pb::KV::NewStub(ep.channel);
      ep.lease = pb::Lease::NewStub(ep.channel);
      ep.maintenance = pb::Maintenance::NewStub(ep.channel);
      ep.auth = pb::Auth::NewStub(ep.channel);
      endpoints_.push_back(std::move(ep));
    }
    std::random_device rd;
    rng_.seed((uint64_t(rd()) << 32) ^ rd());
  }

  const EtcdMetaStoreOptions& options() const { return o_; }

  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Lease::Stub> lease;
    std::unique_ptr<pb::Maintenance::Stub> maintenance;
    std::unique_ptr<pb::Auth::Stub> auth;
  };

  bool UsesAuth() const { return !o_.user_name.empty(); }

  std::string Token() {
    std::lock_guard lock(token_mu_);
    return token_;
  }

  // etcd's Authenticate on endpoint e: a new token for every later request.
  // An etcd without auth enabled answers "authentication is not enabled":
  // no token is needed then (as etcd's own Go client treats it).
  grpc::Status Authenticate(Endpoint& e) {
    pb::AuthenticateRequest req;
    req.set_name(o_.user_name);
    req.set_password(o_.password);
    pb::AuthenticateResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o_.request_timeout_ms));
    grpc::Status s = e.auth->Authenticate(&ctx, req, &resp);
    if (!s.ok() && s.error_message().find("authentication is not enabled") != std::string::npos) {
      std::lock_guard lock(token_mu_);
      token_.clear();
      return grpc::Status::OK;
    }
    if (s.ok()) {
      std::lock_guard lock(token_mu_);
      token_ = resp.token();
    }
    return s;
  }

  static bool IsTokenRefused(const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
           s.error_message().find("invalid auth token") != std::string::npos ||
           s.error_message().find("auth: revision in header is old") != std::string::npos;
  }

  // The open-time login: a clear error for a wrong user or password.
  Status Login() {
    std::string errors;
    for (auto& e : endpoints_) {
      grpc::Status s = Authenticate(e);
      if (s.ok()) return Status::OK();
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        if (!errors.empty()) errors += "; ";
        errors += e.address + ": " + s.error_message();
        continue;
      }
      return InvalidArgument(
          "meta store (etcd): login as user '{}' refused by etcd at {}: {} (check etcd.auth.userName and "
          "etcd.auth.password)",
          o_.user_name, e.address, s.error_message());
    }
    return Unavailable(fmt::format("{} (authenticate, deadline {} ms)", errors, o_.request_timeout_ms));
  }

  // Runs call(endpoint, ctx) on the first endpoint that answers, each try
  // with the request deadline. call returns the grpc::Status.
  Status Call(const char* what, const std::function<grpc::Status(Endpoint&, grpc::ClientContext*)>& call) {
    size_t n = endpoints_.size();
    size_t first = preferred_.load();
    std::string errors;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (first + k) % n;
      grpc::Status s;
      for (int attempt = 0; attempt < 2; ++attempt) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o_.request_timeout_ms));
        if (UsesAuth()) {
          if (std::string t = Token(); !t.empty()) ctx.AddMetadata("token", t);
        }
        s = call(endpoints_[i], &ctx);
        // A token this member does not know (expired, or issued by another
        // member): log in again on this endpoint and retry once.
        if (attempt > 0 || !UsesAuth() || !IsTokenRefused(s)) break;
        if (grpc::Status a = Authenticate(endpoints_[i]); !a.ok()) {
          s = a;
          break;
        }
      }
      if (s.ok()) {
        preferred_ = i;
        return Status::OK();
      }
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        if (!errors.empty()) errors += "; ";
        errors += endpoints_[i].address + ": " + s.error_message();
        continue;
      }
      return ServerError(what, s.error_message());
    }
    return Unavailable(fmt::format("{} ({}, deadline {} ms)", errors, what, o_.request_timeout_ms));
  }

  Status ServerError(const std::string& what, const std::string& msg) {
    if (msg.find("user name is empty") != std::string::npos || msg.find("permission denied") != std::string::npos ||
        msg.find("authentication failed") != std::string::npos) {
      return InvalidArgument(
          "meta store (etcd) {}: {} (etcd has authentication enabled: set etcd.auth.enabled, etcd.auth.userName and "
          "etcd.auth.password to a user whose role may read and write under '{}')",
          what, msg, o_.key_prefix);
    }
    if (msg.find("lease not found") != std::string::npos) {
      return MakeStatus(StatusCode::kNotFound, Reason::kNone, "meta store (etcd): lease not found (expired or revoked)");
    }
    if (msg.find("too many operations in txn request") != std::string::npos) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone,
                        "meta store (etcd) refused a batch: {} (nothing was applied; start etcd with a larger "
                        "--max-txn-ops)",
                        msg);
    }
    if (msg.find("required revision has been compacted") != std::string::npos) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "meta store (etcd) {}: {}", what, msg);
    }
    if (msg.find("request is too large") != std::string::npos ||
        msg.find("larger than max") != std::string::npos) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone,
                        "meta store (etcd) refused a request: {} (nothing was applied)", msg);
    }
    return IOError("meta store (etcd) {}: {}", what, msg);
  }

  Status Probe() {
    KITE_RETURN_IF_ERROR(Call("status", [](Endpoint& e, grpc::ClientContext* ctx) {
      pb::StatusRequest req;
      pb::StatusResponse resp;
      return e.maintenance->Status(ctx, req, &resp);
    }));
    // A read under the prefix: an etcd with auth enabled answers it only to
    // an authenticated user with read permission (Status needs neither).
    // (etcd refuses an empty key: "\0" with range end "\0" is every key.)
    std::string first = o_.key_prefix.empty() ? std::string(1, '\0') : o_.key_prefix;
    return Range(first, PrefixEnd(o_.key_prefix), 0, 1).status();
  }

  // ---- reads

  Result<pb::RangeResponse> Range(const std::string& key, const std::string& range_end, int64_t revision,
                                  int64_t limit) {
    pb::RangeRequest req;
    req.set_key(key);
    if (!range_end.empty()) req.set_range_end(range_end);
    if (revision > 0) req.set_revision(revision);
    if (limit > 0) req.set_limit(limit);
    pb::RangeResponse resp;
    KITE_RETURN_IF_ERROR(Call("range", [&](Endpoint& e, grpc::ClientContext* ctx) {
      return e.kv->Range(ctx, req, &resp);
    }));
    return resp;
  }

  // The value a stored value stands for (resolving chunks at `revision`).
  Result<std::string> Decode(const std::string& stored, int64_t revision) {
    if (stored.empty()) return Corruption("meta store (etcd): a stored value has no tag byte");
    if (stored[0] == kInline) return stored.substr(1);
    auto h = ParseHeader(stored);
    if (!h) return Corruption("meta store (etcd): unreadable chunk header");
    std::string prefix = o_.chunk_prefix + h->gen + "/";
    std::string value;
    value.reserve(size_t(h->size));
    int64_t got = 0;
    std::string from = prefix;
    while (true) {
      // One chunk per request: a chunk is up to chunk_bytes.
      KITE_ASSIGN_OR_RETURN(pb::RangeResponse r, Range(from, PrefixEnd(prefix), revision, 1));
      if (r.kvs_size() == 0) break;
      value += r.kvs(0).value();
      ++got;
      from = r.kvs(0).key() + std::string(1, '\0');
      if (!r.more()) break;
    }
    if (got != h->count || int64_t(value.size()) != h->size) {
      return Corruption("meta store (etcd): chunked value {} has {} chunks / {} bytes, header says {} / {}", h->gen, got,
                        value.size(), h->count, h->size);
    }
    return value;
  }

  Result<MetaKv> ToKv(const mvccpb::KeyValue& kv, int64_t revision) {
    MetaKv out;
    out.key = kv.key().substr(std::min(kv.key().size(), o_.key_prefix.size()));
    KITE_ASSIGN_OR_RETURN(out.value, Decode(kv.value(), revision));
    out.create_revision = kv.create_revision();
    out.mod_revision = kv.mod_revision();
    out.version = kv.version();
    out.lease = kv.lease();
    return out;
  }

  Result<MetaRead> Read(std::string_view key, bool prefix) override {
    const std::string full = o_.key_prefix + std::string(key);
    MetaRead out;
    if (!prefix) {
      KITE_ASSIGN_OR_RETURN(pb::RangeResponse r, Range(full, "", 0, 0));
      out.revision = r.header().revision();
      if (r.kvs_size() > 0) {
        KITE_ASSIGN_OR_RETURN(MetaKv kv, ToKv(r.kvs(0), out.revision));
        out.kvs.push_back(std::move(kv));
      }
      return out;
    }
    // Pages, all at the revision of the first one (one consistent snapshot).
    const std::string end = PrefixEnd(full);
    std::string from = full;
    while (true) {
      KITE_ASSIGN_OR_RETURN(pb::RangeResponse r, Range(from, end, out.revision, o_.scan_page));
      if (out.revision == 0) out.revision = r.header().revision();
      for (const auto& kv : r.kvs()) {
        KITE_ASSIGN_OR_RETURN(MetaKv m, ToKv(kv, out.revision));
        out.kvs.push_back(std::move(m));
      }
      if (!r.more() || r.kvs_size() == 0) break;
      from = r.kvs(r.kvs_size() - 1).key() + std::string(1, '\0');
    }
    return out;
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    KITE_ASSIGN_OR_RETURN(MetaRead r, Read(key, false));
    if (r.kvs.empty()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(r.kvs[0].value));
  }

  Status Scan(std::string_view prefix, const std::function<void(std::string_view, std::string_view)>& fn) override {
    KITE_ASSIGN_OR_RETURN(MetaRead r, Read(prefix, true));
    for (const MetaKv& kv : r.kvs) fn(kv.key, kv.value);
    return Status::OK();
  }

  // ---- writes

  std::string NewGeneration() {
    std::lock_guard lock(rng_mu_);
    return fmt::format("{:016x}{:016x}", rng_(), rng_());
  }

  // Writes value as chunks under a new generation; the header to store.
  Result<std::string> WriteChunks(const std::string& value, LeaseId lease, std::vector<std::string>* gens) {
    std::string gen = NewGeneration();
    gens->push_back(gen);
    int64_t count = 0;
    size_t off = 0;
    do {
      pb::PutRequest put;
      put.set_key(fmt::format("{}{}/{:08d}", o_.chunk_prefix, gen, count));
      put.set_value(value.substr(off, o_.chunk_bytes));
      if (lease != 0) put.set_lease(lease);
      pb::PutResponse resp;
      KITE_RETURN_IF_ERROR(
          Call("put", [&](Endpoint& e, grpc::ClientContext* ctx) { return e.kv->Put(ctx, put, &resp); }));
      ++count;
      off += o_.chunk_bytes;
    } while (off < value.size());
    return fmt::format("{}{} {} {}", kChunked, gen, count, value.size());
  }

  Status DeleteGenerations(const std::vector<std::string>& gens) {
    Status first = Status::OK();
    for (const std::string& gen : gens) {
      pb::DeleteRangeRequest req;
      req.set_key(o_.chunk_prefix + gen + "/");
      req.set_range_end(PrefixEnd(req.key()));
      pb::DeleteRangeResponse resp;
      Status st = Call("delete", [&](Endpoint& e, grpc::ClientContext* ctx) { return e.kv->DeleteRange(ctx, req, &resp); });
      if (!st.ok() && first.ok()) first = st;
    }
    return first;
  }

  // etcd refuses a Txn that names a key twice; the last operation on a key
  // decides its outcome, so only that one is sent.
  static std::vector<MetaBatch::Op> LastOpPerKey(const std::vector<MetaBatch::Op>& ops) {
    std::map<std::string_view, size_t> last;
    for (size_t i = 0; i < ops.size(); ++i) last[ops[i].key] = i;
    std::vector<MetaBatch::Op> out;
    out.reserve(last.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      if (last[ops[i].key] == i) out.push_back(ops[i]);
    }
    return out;
  }

  Result<MetaTxnResult> Txn(const MetaBatch& batch) override {
    const std::vector<MetaBatch::Op> ops = LastOpPerKey(batch.ops());
    // Which puts go out as chunks: every value above chunk_bytes, then the
    // largest ones while the inline part is above txn_inline_bytes.
    std::vector<bool> chunk(ops.size(), false);
    size_t inline_bytes = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!ops[i].is_delete && ops[i].value.size() > o_.chunk_bytes) {
        chunk[i] = true;
      } else {
        inline_bytes += ops[i].key.size() + o_.key_prefix.size() + ops[i].value.size() + 1;
      }
    }
    while (inline_bytes > o_.txn_inline_bytes) {
      size_t best = ops.size();
      for (size_t i = 0; i < ops.size(); ++i) {
        if (!ops[i].is_delete && !chunk[i] && (best == ops.size() || ops[i].value.size() > ops[best].value.size())) {
          best = i;
        }
      }
      if (best == ops.size()) break;  // only keys left: etcd decides
      chunk[best] = true;
      inline_bytes -= ops[best].value.size();
    }
    std::vector<std::string> new_gens;
    pb::TxnRequest txn;
    for (const auto& c : batch.compares()) {
      pb::Compare* cmp = txn.add_compare();
      cmp->set_key(o_.key_prefix + c.key);
      cmp->set_target(pb::Compare::MOD);
      cmp->set_result(pb::Compare::EQUAL);
      cmp->set_mod_revision(c.mod_revision);
    }
    for (size_t i = 0; i < ops.size(); ++i) {
      const auto& op = ops[i];
      if (op.is_delete) {
        pb::DeleteRangeRequest* del = txn.add_success()->mutable_request_delete_range();
        del->set_key(o_.key_prefix + op.key);
        del->set_prev_kv(true);
        continue;
      }
      pb::PutRequest* put = txn.add_success()->mutable_request_put();
      put->set_key(o_.key_prefix + op.key);
      put->set_prev_kv(true);
      if (op.lease != 0) put->set_lease(op.lease);
      if (chunk[i]) {
        auto header = WriteChunks(op.value, op.lease, &new_gens);
        if (!header.ok()) {
          (void)DeleteGenerations(new_gens);
          return header.status();
        }
        put->set_value(std::move(header).value());
      } else {
        std::string* v = put->mutable_value();
        v->reserve(op.value.size() + 1);
        v->push_back(kInline);
        v->append(op.value);
      }
    }
    pb::TxnResponse resp;
    Status st = Call("txn", [&](Endpoint& e, grpc::ClientContext* ctx) { return e.kv->Txn(ctx, txn, &resp); });
    if (!st.ok()) {
      // Unknown whether it landed when etcd went away mid-request: keep the
      // chunks then (a header may reference them); drop them on a refusal.
      if (!IsUnavailable(st)) (void)DeleteGenerations(new_gens);
      return st;
    }
    MetaTxnResult out;
    out.succeeded = resp.succeeded();
    out.revision = resp.header().revision();
    if (!out.succeeded) {
      (void)DeleteGenerations(new_gens);
      return out;
    }
    // Chunks of the values this batch replaced or deleted.
    std::vector<std::string> old_gens;
    auto collect = [&](const mvccpb::KeyValue& kv) {
      if (auto h = ParseHeader(kv.value())) old_gens.push_back(h->gen);
    };
    for (const auto& r : resp.responses()) {
      if (r.has_response_put() && r.response_put().has_prev_kv()) collect(r.response_put().prev_kv());
      if (r.has_response_delete_range()) {
        for (const auto& kv : r.response_delete_range().prev_kvs()) collect(kv);
      }
    }
    Status gc = DeleteGenerations(old_gens);
    if (!gc.ok()) spdlog::warn("meta store (etcd): deleting replaced chunks failed: {}", gc.ToString());
    return out;
  }

  Status Commit(const MetaBatch& batch) override {
    KITE_ASSIGN_OR_RETURN(MetaTxnResult r, Txn(batch));
    if (!r.succeeded) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                        "meta store commit: a compare failed (another writer changed a key first)");
    }
    return Status::OK();
  }

  // ---- leases

  Result<LeaseId> GrantLease(int64_t ttl_s) override {
    if (ttl_s <= 0) return InvalidArgument("meta store: lease ttl {} s is not positive", ttl_s);
    pb::LeaseGrantRequest req;
    req.set_ttl(ttl_s);
    pb::LeaseGrantResponse resp;
    KITE_RETURN_IF_ERROR(
        Call("lease grant", [&](Endpoint& e, grpc::ClientContext* ctx) { return e.lease->LeaseGrant(ctx, req, &resp); }));
    if (!resp.error().empty()) return ServerError("lease grant", resp.error());
    return resp.id();
  }

  // One round trip on etcd's keep-alive stream.
  Status KeepAliveLease(LeaseId lease) override {
    pb::LeaseKeepAliveResponse resp;
    KITE_RETURN_IF_ERROR(Call("lease keepalive", [&](Endpoint& e, grpc::ClientContext* ctx) {
      auto stream = e.lease->LeaseKeepAlive(ctx);
      pb::LeaseKeepAliveRequest req;
      req.set_id(lease);
      if (!stream->Write(req) || !stream->Read(&resp)) {
        stream->WritesDone();
        grpc::Status s = stream->Finish();
        return s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keep-alive stream closed") : s;
      }
      stream->WritesDone();
      return stream->Finish();
    }));
    if (resp.ttl() <= 0) {
      return MakeStatus(StatusCode::kNotFound, Reason::kNone, "meta store (etcd): lease {} not found (expired or revoked)",
                        lease);
    }
    return Status::OK();
  }

  Status RevokeLease(LeaseId lease) override {
    pb::LeaseRevokeRequest req;
    req.set_id(lease);
    pb::LeaseRevokeResponse resp;
    Status st =
        Call("lease revoke", [&](Endpoint& e, grpc::ClientContext* ctx) { return e.lease->LeaseRevoke(ctx, req, &resp); });
    if (st.code() == StatusCode::kNotFound) return Status::OK();
    return st;
  }

  // ---- watch

  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override {
    const std::string full = o_.key_prefix + prefix;
    pb::WatchCreateRequest create;
    create.set_key(full);
    create.set_range_end(PrefixEnd(full));
    if (from_revision > 0) {
      KITE_RETURN_IF_ERROR(CheckNotCompacted(full, from_revision));
      create.set_start_revision(from_revision);
    } else if (UsesAuth()) {
      // A unary call first, so that an expired token is renewed before the
      // stream is opened with it.
      KITE_RETURN_IF_ERROR(Range(full, PrefixEnd(full), 0, 1).status());
    }
    return std::unique_ptr<MetaWatch>(std::make_unique<EtcdMetaWatch>(
        this, endpoints_[preferred_.load() % endpoints_.size()].channel, std::move(create),
        std::chrono::milliseconds(o_.request_timeout_ms)));
  }

  // etcd registers a watch from a compacted revision and cancels it right
  // after; a read at that revision fails at once instead, so the caller
  // learns it here, as from the embedded stores (a compaction between the
  // two still ends the watch with the same error at Next).
  Status CheckNotCompacted(const std::string& full, int64_t revision) {
    auto at = Range(full, PrefixEnd(full), revision, 1);
    if (!at.ok() && at.status().code() == StatusCode::kFailedPrecondition) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "meta store watch: revision {} is compacted ({})",
                        revision, at.status().message());
    }
    return Status::OK();
  }

  Result<MetaEvent> ToEvent(const mvccpb::Event& ev) {
    MetaEvent out;
    out.type = ev.type() == mvccpb::Event::DELETE ? MetaEvent::Type::kDelete : MetaEvent::Type::kPut;
    if (out.type == MetaEvent::Type::kDelete) {
      out.kv.key = ev.kv().key().substr(std::min(ev.kv().key().size(), o_.key_prefix.size()));
      out.kv.mod_revision = ev.kv().mod_revision();
      return out;
    }
    KITE_ASSIGN_OR_RETURN(out.kv, ToKv(ev.kv(), ev.kv().mod_revision()));
    return out;
  }

 private:
  EtcdMetaStoreOptions o_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> preferred_{0};
  std::mutex token_mu_;
  std::string token_;  // etcd auth token (guarded by token_mu_); empty without auth
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

// ---- watch stream

EtcdMetaWatch::EtcdMetaWatch(EtcdMetaStore* store, std::shared_ptr<grpc::Channel> channel,
                             pb::WatchCreateRequest create, std::chrono::milliseconds create_timeout)
    : store_(store), stub_(pb::Watch::NewStub(channel)), create_(std::move(create)), create_timeout_(create_timeout) {
  next_rev_ = create_.start_revision();
  StartStream();
}

EtcdMetaWatch::~EtcdMetaWatch() {
  if (ctx_) ctx_->TryCancel();
  if (thread_.joinable()) thread_.join();
}

void EtcdMetaWatch::StartStream() {
  ctx_ = std::make_unique<grpc::ClientContext>();
  // With etcd auth, every stream carries the store's current token (renewed
  // by a unary call before: Watch's first range, Resume's compaction check).
  if (std::string token = store_->Token(); !token.empty()) ctx_->AddMetadata("token", token);
  grpc::ClientContext* ctx = ctx_.get();
  thread_ = std::thread([this, ctx] { Run(ctx); });
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, create_timeout_, [this] { return created_ || error_.has_value(); });
}

Status EtcdMetaWatch::Resume() {
  if (thread_.joinable()) thread_.join();  // its stream has ended
  int64_t from = 0;
  {
    std::lock_guard lock(mu_);
    from = next_rev_;
    spdlog::info("meta store watch on {}: {}; resuming from revision {}", create_.key(), error_->message(), from);
  }
  KITE_RETURN_IF_ERROR(store_->CheckNotCompacted(create_.key(), from));
  create_.set_start_revision(from);
  {
    std::lock_guard lock(mu_);
    error_.reset();
    created_ = false;
  }
  StartStream();
  std::lock_guard lock(mu_);
  if (!created_ && error_) return *error_;
  return Status::OK();
}

void EtcdMetaWatch::Run(grpc::ClientContext* ctx) {
  auto stream = stub_->Watch(ctx);
  pb::WatchRequest req;
  *req.mutable_create_request() = create_;
  bool ok = stream->Write(req);
  pb::WatchResponse resp;
  while (ok && stream->Read(&resp)) {
    std::lock_guard lock(mu_);
    if (resp.created()) {
      created_ = true;
      // A watch "from now" starts after the revision etcd had at creation.
      if (next_rev_ == 0) next_rev_ = resp.header().revision() + 1;
    }
    for (const auto& ev : resp.events()) next_rev_ = std::max(next_rev_, ev.kv().mod_revision() + 1);
    results_.push_back(std::move(resp));
    resp = pb::WatchResponse();
    cv_.notify_all();
  }
  grpc::Status s = stream->Finish();
  std::lock_guard lock(mu_);
  if (s.error_code() == grpc::StatusCode::CANCELLED) {
    error_ = MakeStatus(StatusCode::kCancelled, Reason::kNone, "meta store watch: closed");
  } else {
    error_ = Unavailable(fmt::format("watch stream ended: {}", s.ok() ? "closed by etcd" : s.error_message()));
  }
  cv_.notify_all();
}

Result<std::vector<MetaEvent>> EtcdMetaWatch::Next(std::chrono::milliseconds timeout) {
  bool broken = false;
  {
    std::lock_guard lock(mu_);
    broken = BrokenLocked();
  }
  if (broken) KITE_RETURN_IF_ERROR(Resume());
  broken = false;
  std::vector<pb::WatchResponse> got;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& r : results_) {
        if (r.events_size() > 0 || r.canceled()) return true;
      }
      return error_.has_value();
    });
    while (!results_.empty()) {
      got.push_back(std::move(results_.front()));
      results_.pop_front();
    }
    if (got.empty() && error_) {
      if (!BrokenLocked()) return *error_;
      broken = true;
    }
  }
  if (got.empty() && broken) {
    // The stream broke while we waited: resume it now (a failure ends the watch).
    KITE_RETURN_IF_ERROR(Resume());
    return std::vector<MetaEvent>{};
  }
  std::vector<MetaEvent> out;
  for (const auto& r : got) {
    if (r.canceled()) {
      if (r.compact_revision() > 0) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                          "meta store watch: revision is compacted (history starts at {})", r.compact_revision());
      }
      return Unavailable("watch canceled by etcd: " + r.cancel_reason());
    }
    for (const auto& ev : r.events()) {
      KITE_ASSIGN_OR_RETURN(MetaEvent e, store_->ToEvent(ev));
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenEtcdMetaStore(const EtcdMetaStoreOptions& options) {
  if (options.endpoints.empty()) return InvalidArgument("etcd.endpoints is empty");
  if (options.chunk_bytes == 0) return InvalidArgument("etcd meta store: chunk size 0");
  EtcdTlsFiles files;
  if (options.tls.enabled) {
    KITE_ASSIGN_OR_RETURN(files, ReadEtcdTlsFiles(options.tls));
    // A handshake of our own first: it enforces tlsMinVersion and names why a
    // certificate is refused. An endpoint that does not answer is left to the
    // probe below (it reports every endpoint).
    for (const std::string& raw : options.endpoints) {
      std::string e = raw;
      if (auto p = e.find("://"); p != std::string::npos) e = e.substr(p + 3);
      while (!e.empty() && e.back() == '/') e.pop_back();
      Status st = EtcdTlsHandshakeCheck(e, options.tls, int(std::min<int64_t>(options.request_timeout_ms, 30000)));
      if (st.ok()) break;
      if (st.code() != StatusCode::kIOError) return st;
    }
  }
  auto store = std::make_unique<EtcdMetaStore>(options, files);
  if (store->UsesAuth()) KITE_RETURN_IF_ERROR(store->Login());
  KITE_RETURN_IF_ERROR(store->Probe());  // etcd answers
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace kite
