// EtcdMetaStore (etcd_meta_store.h): etcd's v3 JSON gateway over libcurl.
#include "storage/meta/etcd_meta_store.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

namespace kite {
namespace {

using json = nlohmann::json;

constexpr char kInline = '\x00';
constexpr char kChunked = '\x01';

// ---- base64 (the gateway's encoding of bytes fields)

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string B64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> UnB64(std::string_view in) {
  static const auto table = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[uint8_t(kB64[i])] = int8_t(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int8_t v = table[uint8_t(c)];
    if (v < 0) return Corruption("etcd: bad base64 in a response");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
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

int64_t I64(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;  // the gateway omits zero values
  if (it->is_string()) return std::stoll(it->get<std::string>());
  return it->get<int64_t>();
}

constexpr std::string_view kUnavailable = "meta store (etcd) unavailable: ";

Status Unavailable(const std::string& what) { return IOError("{}{}", kUnavailable, what); }

bool IsUnavailable(const Status& st) {
  return st.code() == StatusCode::kIOError && st.message().starts_with(kUnavailable);
}

size_t AppendToString(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

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
  EtcdMetaWatch(EtcdMetaStore* store, std::string endpoint, std::string body, int64_t timeout_ms);
  ~EtcdMetaWatch() override;
  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) override;

 private:
  static size_t OnData(char* data, size_t size, size_t n, void* self);
  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  void Run();

  EtcdMetaStore* store_;
  std::string endpoint_;
  std::string body_;
  int64_t timeout_ms_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::string buffer_;          // bytes of an incomplete JSON object
  std::deque<json> results_;    // parsed watch responses
  std::optional<Status> error_;  // the stream ended
  std::thread thread_;
};

class EtcdMetaStore final : public MetaStore {
 public:
  explicit EtcdMetaStore(EtcdMetaStoreOptions o) : o_(std::move(o)) {
    for (auto& e : o_.endpoints) {
      if (e.find("://") == std::string::npos) e = "http://" + e;
      while (!e.empty() && e.back() == '/') e.pop_back();
    }
    std::random_device rd;
    rng_.seed((uint64_t(rd()) << 32) ^ rd());
  }
  ~EtcdMetaStore() override {
    for (CURL* c : idle_) curl_easy_cleanup(c);
  }

  const EtcdMetaStoreOptions& options() const { return o_; }

  // POSTs body to path on the first endpoint that answers; the parsed JSON.
  Result<json> Call(const std::string& path, const json& body) {
    const std::string payload = body.dump();
    size_t n = o_.endpoints.size();
    size_t first = preferred_.load();
    std::string errors;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (first + k) % n;
      long http = 0;
      std::string response;
      CURLcode rc = Post(o_.endpoints[i] + path, payload, &response, &http);
      if (rc != CURLE_OK) {
        if (!errors.empty()) errors += "; ";
        errors += o_.endpoints[i] + ": " + curl_easy_strerror(rc);
        continue;
      }
      preferred_ = i;
      json j = json::parse(response, nullptr, false);
      if (j.is_discarded()) return IOError("etcd {}: unreadable response (HTTP {}): {}", path, http, response.substr(0, 200));
      if (http != 200) {
        std::string msg = j.value("message", j.value("error", response));
        return ServerError(path, msg);
      }
      return j;
    }
    return Unavailable(fmt::format("{} (request {}, deadline {} ms)", errors, path, o_.request_timeout_ms));
  }

  Status ServerError(const std::string& path, const std::string& msg) {
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
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "meta store (etcd) {}: {}", path, msg);
    }
    if (msg.find("request is too large") != std::string::npos) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kNone,
                        "meta store (etcd) refused a request: {} (nothing was applied)", msg);
    }
    return Unavailable(fmt::format("{}: {}", path, msg));
  }

  // ---- reads

  // One range request: [key, range_end) at revision (0: latest).
  Result<json> Range(const std::string& key, const std::string& range_end, int64_t revision, int64_t limit) {
    json req = {{"key", B64(key)}};
    if (!range_end.empty()) req["range_end"] = B64(range_end);
    if (revision > 0) req["revision"] = std::to_string(revision);
    if (limit > 0) req["limit"] = std::to_string(limit);
    return Call("/v3/kv/range", req);
  }

  // The value a stored value stands for (resolving chunks at `revision`).
  Result<std::string> Decode(std::string stored, int64_t revision) {
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
      KITE_ASSIGN_OR_RETURN(json r, Range(from, PrefixEnd(prefix), revision, 1));
      if (!r.contains("kvs")) break;
      const json& kv = r["kvs"][0];
      KITE_ASSIGN_OR_RETURN(std::string chunk, UnB64(kv.value("value", "")));
      value += chunk;
      ++got;
      KITE_ASSIGN_OR_RETURN(std::string k, UnB64(kv.value("key", "")));
      from = k + std::string(1, '\0');
      if (!r.value("more", false)) break;
    }
    if (got != h->count || int64_t(value.size()) != h->size) {
      return Corruption("meta store (etcd): chunked value {} has {} chunks / {} bytes, header says {} / {}", h->gen, got,
                        value.size(), h->count, h->size);
    }
    return value;
  }

  Result<MetaKv> ToKv(const json& kv, int64_t revision) {
    MetaKv out;
    KITE_ASSIGN_OR_RETURN(std::string key, UnB64(kv.value("key", "")));
    out.key = key.substr(o_.key_prefix.size());
    KITE_ASSIGN_OR_RETURN(std::string stored, UnB64(kv.value("value", "")));
    KITE_ASSIGN_OR_RETURN(out.value, Decode(std::move(stored), revision));
    out.create_revision = I64(kv, "create_revision");
    out.mod_revision = I64(kv, "mod_revision");
    out.version = I64(kv, "version");
    out.lease = I64(kv, "lease");
    return out;
  }

  Result<MetaRead> Read(std::string_view key, bool prefix) override {
    const std::string full = o_.key_prefix + std::string(key);
    MetaRead out;
    if (!prefix) {
      KITE_ASSIGN_OR_RETURN(json r, Range(full, "", 0, 0));
      out.revision = I64(r["header"], "revision");
      if (r.contains("kvs")) {
        KITE_ASSIGN_OR_RETURN(MetaKv kv, ToKv(r["kvs"][0], out.revision));
        out.kvs.push_back(std::move(kv));
      }
      return out;
    }
    // Pages, all at the revision of the first one (one consistent snapshot).
    const std::string end = PrefixEnd(full);
    std::string from = full;
    while (true) {
      KITE_ASSIGN_OR_RETURN(json r, Range(from, end, out.revision, o_.scan_page));
      if (out.revision == 0) out.revision = I64(r["header"], "revision");
      if (!r.contains("kvs")) break;
      for (const json& kv : r["kvs"]) {
        KITE_ASSIGN_OR_RETURN(MetaKv m, ToKv(kv, out.revision));
        out.kvs.push_back(std::move(m));
      }
      if (!r.value("more", false)) break;
      from = o_.key_prefix + out.kvs.back().key + std::string(1, '\0');
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
    for (size_t off = 0; off < value.size() || count == 0; off += o_.chunk_bytes) {
      json put = {{"key", B64(fmt::format("{}{}/{:08d}", o_.chunk_prefix, gen, count))},
                  {"value", B64(std::string_view(value).substr(off, o_.chunk_bytes))}};
      if (lease != 0) put["lease"] = std::to_string(lease);
      KITE_ASSIGN_OR_RETURN(json r, Call("/v3/kv/put", put));
      (void)r;
      ++count;
      if (value.empty()) break;
    }
    return fmt::format("{}{} {} {}", kChunked, gen, count, value.size());
  }

  Status DeleteGenerations(const std::vector<std::string>& gens) {
    Status first = Status::OK();
    for (const std::string& gen : gens) {
      std::string p = o_.chunk_prefix + gen + "/";
      auto r = Call("/v3/kv/deleterange", json{{"key", B64(p)}, {"range_end", B64(PrefixEnd(p))}});
      if (!r.ok() && first.ok()) first = r.status();
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
    json success = json::array();
    for (size_t i = 0; i < ops.size(); ++i) {
      const auto& op = ops[i];
      std::string key = B64(o_.key_prefix + op.key);
      if (op.is_delete) {
        success.push_back({{"request_delete_range", {{"key", key}, {"prev_kv", true}}}});
        continue;
      }
      std::string stored;
      if (chunk[i]) {
        auto header = WriteChunks(op.value, op.lease, &new_gens);
        if (!header.ok()) {
          (void)DeleteGenerations(new_gens);
          return header.status();
        }
        stored = std::move(header).value();
      } else {
        stored.reserve(op.value.size() + 1);
        stored += kInline;
        stored += op.value;
      }
      json put = {{"key", key}, {"value", B64(stored)}, {"prev_kv", true}};
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      success.push_back({{"request_put", std::move(put)}});
    }
    json compare = json::array();
    for (const auto& c : batch.compares()) {
      compare.push_back({{"key", B64(o_.key_prefix + c.key)},
                         {"target", "MOD"},
                         {"result", "EQUAL"},
                         {"mod_revision", std::to_string(c.mod_revision)}});
    }
    auto r = Call("/v3/kv/txn", json{{"compare", compare}, {"success", success}});
    if (!r.ok()) {
      // Unknown whether it landed when etcd went away mid-request: keep the
      // chunks then (a header may reference them); drop them on a refusal.
      if (!IsUnavailable(r.status())) (void)DeleteGenerations(new_gens);
      return r.status();
    }
    MetaTxnResult out;
    out.succeeded = r->value("succeeded", false);
    out.revision = I64((*r)["header"], "revision");
    if (!out.succeeded) {
      (void)DeleteGenerations(new_gens);
      return out;
    }
    // Chunks of the values this batch replaced or deleted.
    std::vector<std::string> old_gens;
    if (r->contains("responses")) {
      for (const json& resp : (*r)["responses"]) {
        const json* body = nullptr;
        if (resp.contains("response_put")) body = &resp["response_put"];
        if (resp.contains("response_delete_range")) body = &resp["response_delete_range"];
        if (body == nullptr) continue;
        auto collect = [&](const json& kv) {
          auto stored = UnB64(kv.value("value", ""));
          if (!stored.ok()) return;
          if (auto h = ParseHeader(*stored)) old_gens.push_back(h->gen);
        };
        if (body->contains("prev_kv")) collect((*body)["prev_kv"]);
        if (body->contains("prev_kvs")) {
          for (const json& kv : (*body)["prev_kvs"]) collect(kv);
        }
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
    KITE_ASSIGN_OR_RETURN(json r, Call("/v3/lease/grant", json{{"TTL", std::to_string(ttl_s)}}));
    if (r.contains("error") && !r["error"].get<std::string>().empty()) {
      return ServerError("/v3/lease/grant", r["error"].get<std::string>());
    }
    return I64(r, "ID");
  }

  Status KeepAliveLease(LeaseId lease) override {
    KITE_ASSIGN_OR_RETURN(json r, Call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}));
    const json& res = r.contains("result") ? r["result"] : r;
    if (I64(res, "TTL") <= 0) {
      return MakeStatus(StatusCode::kNotFound, Reason::kNone, "meta store (etcd): lease {} not found (expired or revoked)",
                        lease);
    }
    return Status::OK();
  }

  Status RevokeLease(LeaseId lease) override {
    auto r = Call("/v3/lease/revoke", json{{"ID", std::to_string(lease)}});
    if (!r.ok() && r.status().code() == StatusCode::kNotFound) return Status::OK();
    return r.status();
  }

  // ---- watch

  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override {
    const std::string full = o_.key_prefix + prefix;
    json create = {{"key", B64(full)}, {"range_end", B64(PrefixEnd(full))}};
    if (from_revision > 0) create["start_revision"] = std::to_string(from_revision);
    json body = {{"create_request", create}};
    return std::unique_ptr<MetaWatch>(std::make_unique<EtcdMetaWatch>(
        this, o_.endpoints[preferred_.load() % o_.endpoints.size()] + "/v3/watch", body.dump(), o_.request_timeout_ms));
  }

  Result<MetaEvent> ToEvent(const json& ev) {
    MetaEvent out;
    out.type = ev.value("type", std::string("PUT")) == "DELETE" ? MetaEvent::Type::kDelete : MetaEvent::Type::kPut;
    const json& kv = ev["kv"];
    if (out.type == MetaEvent::Type::kDelete) {
      KITE_ASSIGN_OR_RETURN(std::string key, UnB64(kv.value("key", "")));
      out.kv.key = key.substr(o_.key_prefix.size());
      out.kv.mod_revision = I64(kv, "mod_revision");
      return out;
    }
    KITE_ASSIGN_OR_RETURN(out.kv, ToKv(kv, I64(kv, "mod_revision")));
    return out;
  }

 private:
  CURLcode Post(const std::string& url, const std::string& payload, std::string* response, long* http) {
    CURL* c = nullptr;
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
      }
    }
    if (c == nullptr) c = curl_easy_init();
    curl_easy_reset(c);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, AppendToString);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(o_.request_timeout_ms));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min<int64_t>(o_.request_timeout_ms, 3000)));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    curl_slist_free_all(headers);
    std::lock_guard lock(pool_mu_);
    if (idle_.size() < 16) {
      idle_.push_back(c);
    } else {
      curl_easy_cleanup(c);
    }
    return rc;
  }

  EtcdMetaStoreOptions o_;
  std::atomic<size_t> preferred_{0};
  std::mutex pool_mu_;
  std::vector<CURL*> idle_;  // reusable handles (keep their connections)
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

// ---- watch stream

EtcdMetaWatch::EtcdMetaWatch(EtcdMetaStore* store, std::string endpoint, std::string body, int64_t timeout_ms)
    : store_(store), endpoint_(std::move(endpoint)), body_(std::move(body)), timeout_ms_(timeout_ms) {
  thread_ = std::thread([this] { Run(); });
}

EtcdMetaWatch::~EtcdMetaWatch() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

size_t EtcdMetaWatch::OnData(char* data, size_t size, size_t n, void* p) {
  auto* self = static_cast<EtcdMetaWatch*>(p);
  std::lock_guard lock(self->mu_);
  self->buffer_.append(data, size * n);
  // The gateway sends one JSON object per line.
  size_t pos;
  while ((pos = self->buffer_.find('\n')) != std::string::npos) {
    std::string line = self->buffer_.substr(0, pos);
    self->buffer_.erase(0, pos + 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) self->results_.push_back(std::move(j));
  }
  self->cv_.notify_all();
  return size * n;
}

int EtcdMetaWatch::OnProgress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<EtcdMetaWatch*>(p)->stop_.load() ? 1 : 0;
}

void EtcdMetaWatch::Run() {
  CURL* c = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, endpoint_.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min<int64_t>(timeout_ms_, 3000)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  std::lock_guard lock(mu_);
  if (!stop_) {
    error_ = Unavailable(fmt::format("watch stream ended: {}", curl_easy_strerror(rc)));
  } else {
    error_ = MakeStatus(StatusCode::kCancelled, Reason::kNone, "meta store watch: closed");
  }
  cv_.notify_all();
}

Result<std::vector<MetaEvent>> EtcdMetaWatch::Next(std::chrono::milliseconds timeout) {
  std::vector<json> got;
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] {
      for (const json& r : results_) {
        const json& res = r.contains("result") ? r["result"] : r;
        if (res.contains("events") || res.value("canceled", false) || r.contains("error")) return true;
      }
      return error_.has_value();
    });
    while (!results_.empty()) {
      got.push_back(std::move(results_.front()));
      results_.pop_front();
    }
    if (got.empty() && error_) return *error_;
  }
  std::vector<MetaEvent> out;
  for (const json& r : got) {
    if (r.contains("error")) {
      return Unavailable(fmt::format("watch: {}", r["error"].value("message", r["error"].dump())));
    }
    const json& res = r.contains("result") ? r["result"] : r;
    if (res.value("canceled", false)) {
      if (I64(res, "compact_revision") > 0) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                          "meta store watch: revision is compacted (history starts at {})",
                          I64(res, "compact_revision"));
      }
      return Unavailable("watch canceled by etcd: " + res.value("cancel_reason", std::string()));
    }
    if (!res.contains("events")) continue;
    for (const json& ev : res["events"]) {
      KITE_ASSIGN_OR_RETURN(MetaEvent e, store_->ToEvent(ev));
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenEtcdMetaStore(const EtcdMetaStoreOptions& options) {
  static CurlGlobal curl_global;
  if (options.endpoints.empty()) return InvalidArgument("etcd.endpoints is empty");
  if (options.chunk_bytes == 0) return InvalidArgument("etcd meta store: chunk size 0");
  auto store = std::make_unique<EtcdMetaStore>(options);
  // Proves that etcd answers (and that the gateway is on).
  auto probe = store->Call("/v3/maintenance/status", json::object());
  if (!probe.ok()) return probe.status();
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace kite
