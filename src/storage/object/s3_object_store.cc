// The S3 object store (s3_object_store.h).
//
// Signing: libcurl's SigV4 signer (CURLOPT_AWS_SIGV4) signs each request. We
// hand it a request that is already canonical, because older libcurl releases
// (Debian 12 ships 7.88) sign the path and the query string exactly as given:
// - the path is URI-encoded as AWS does (unreserved bytes kept, '/' kept,
//   everything else %XX upper-case), so '=' in a key is sent as %3D;
// - the query parameters are sorted by name and URI-encoded, and a parameter
//   without a value is written "name=" (AWS's canonical form of "?uploads");
// - x-amz-content-sha256 carries the SHA-256 of the body, computed here
//   (strict servers such as Versity require it, and a body streamed from the
//   caller's buffers is not visible to the signer).
//
// XML responses (ListObjectsV2, multipart, DeleteObjects, errors) are read
// with expat into (parent, element, text) leaves.
#include "storage/object/s3_object_store.h"

#include <curl/curl.h>
#include <expat.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "storage/object/object_key.h"

namespace kite {
namespace {

constexpr size_t kPartBytesMin = 5u << 20;  // S3's minimum part size (all parts but the last)
constexpr int kPartsMax = 10000;            // S3's limit on parts per upload
constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---------------------------------------------------------------- encoding

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// AWS's URI encoding; '/' kept when keep_slash (paths), encoded otherwise.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A canonical query string: parameters sorted by name, names and values encoded.
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += UriEncode(k, false);
    out.push_back('=');
    out += UriEncode(v, false);
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

// Digest of the concatenation of `views` (EVP_sha256 / EVP_md5).
std::string Digest(const EVP_MD* md, const std::vector<std::string_view>& views) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  for (std::string_view v : views) EVP_DigestUpdate(ctx, v.data(), v.size());
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// ---------------------------------------------------------------- XML

struct XmlLeaf {
  std::string parent;  // "" for the root element
  std::string name;
  std::string text;
};

struct XmlState {
  std::vector<std::string> stack;
  std::vector<bool> has_child;
  std::string text;
  std::vector<XmlLeaf> leaves;
  std::string root;
};

void XMLCALL OnStart(void* ud, const XML_Char* name, const XML_Char**) {
  auto* s = static_cast<XmlState*>(ud);
  if (s->stack.empty()) s->root = name;
  if (!s->has_child.empty()) s->has_child.back() = true;
  s->stack.emplace_back(name);
  s->has_child.push_back(false);
  s->text.clear();
}

void XMLCALL OnEnd(void* ud, const XML_Char*) {
  auto* s = static_cast<XmlState*>(ud);
  if (!s->has_child.back()) {
    std::string parent = s->stack.size() >= 2 ? s->stack[s->stack.size() - 2] : "";
    s->leaves.push_back(XmlLeaf{std::move(parent), s->stack.back(), s->text});
  }
  s->stack.pop_back();
  s->has_child.pop_back();
  s->text.clear();
}

void XMLCALL OnText(void* ud, const XML_Char* t, int len) {
  static_cast<XmlState*>(ud)->text.append(t, static_cast<size_t>(len));
}

// The leaf elements of an XML document, in document order, and its root name.
Result<XmlState> ParseXml(std::string_view xml) {
  XmlState state;
  XML_Parser p = XML_ParserCreate(nullptr);
  if (!p) return Internal("cannot create an XML parser");
  XML_SetUserData(p, &state);
  XML_SetElementHandler(p, OnStart, OnEnd);
  XML_SetCharacterDataHandler(p, OnText);
  const bool ok = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(p));
  XML_ParserFree(p);
  if (!ok) return IOError("S3 answered malformed XML: {}", err);
  return state;
}

std::string LeafText(const XmlState& x, std::string_view parent, std::string_view name) {
  for (const auto& l : x.leaves) {
    if (l.parent == parent && l.name == name) return l.text;
  }
  return "";
}

// An S3 timestamp ("2026-12-07T03:08:05.123Z", ISO 8601 in UTC) as Unix
// ms; ObjectInfo::kUnknownModified when it does not parse.
int64_t ParseS3Time(const std::string& text) {
  struct tm tm = {};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return ObjectInfo::kUnknownModified;
  int64_t ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (*rest == '.') {
    int64_t scale = 100;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
      ms += (*rest - '0') * scale;
      scale /= 10;
    }
  }
  return ms;
}

// ---------------------------------------------------------------- requests

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string path;            // inside the bucket, unencoded ("" = the bucket)
  std::string query;           // canonical (CanonicalQuery)
  std::vector<std::string_view> body;
  std::vector<std::string> headers;  // "Name: value"
  std::string range;                 // "first-last" or ""
};

struct Response {
  long http = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  // The S3 error code and message of a non-2xx answer ("" when none).
  std::string code, message;
};

// Streams a request body from the caller's buffers; rewinds for a retry.
struct BodyCursor {
  const std::vector<std::string_view>* views = nullptr;
  size_t index = 0, offset = 0;
  void SeekTo(uint64_t pos) {
    index = 0;
    offset = 0;
    while (index < views->size() && pos >= (*views)[index].size()) {
      pos -= (*views)[index].size();
      ++index;
    }
    offset = static_cast<size_t>(pos);
  }
};

size_t ReadBody(char* buf, size_t size, size_t nitems, void* ud) {
  auto* c = static_cast<BodyCursor*>(ud);
  size_t room = size * nitems, n = 0;
  while (n < room && c->index < c->views->size()) {
    std::string_view v = (*c->views)[c->index];
    size_t take = std::min(room - n, v.size() - c->offset);
    std::memcpy(buf + n, v.data() + c->offset, take);
    n += take;
    c->offset += take;
    if (c->offset == v.size()) {
      ++c->index;
      c->offset = 0;
    }
  }
  return n;
}

int SeekBody(void* ud, curl_off_t offset, int origin) {
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  static_cast<BodyCursor*>(ud)->SeekTo(static_cast<uint64_t>(offset));
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* p, size_t size, size_t nmemb, void* ud) {
  static_cast<std::string*>(ud)->append(p, size * nmemb);
  return size * nmemb;
}

size_t OnHeader(char* p, size_t size, size_t nitems, void* ud) {
  std::string_view line(p, size * nitems);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    (*static_cast<std::map<std::string, std::string>*>(ud))[name] = std::string(value);
  }
  return size * nitems;
}

bool IsRetriableCurl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool IsRetriableHttp(const Response& r) {
  return r.http >= 500 || r.http == 429 || r.code == "SlowDown" || r.code == "RequestTimeout" ||
         r.code == "InternalError" || r.code == "ServiceUnavailable";
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Bounded pool of curl easy handles; a handle keeps its connections alive
// between requests. The share handle holds DNS and TLS sessions for all.
class HandlePool {
 public:
  explicit HandlePool(int max) : max_(max) {
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
    curl_share_cleanup(share_);
  }
  HandlePool(const HandlePool&) = delete;
  HandlePool& operator=(const HandlePool&) = delete;

  CURL* Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || created_ < max_; });
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
    ++created_;
    return curl_easy_init();
  }
  void Release(CURL* h) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(h);
    }
    cv_.notify_one();
  }
  CURLSH* share() const { return share_; }

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* ud) {
    static_cast<HandlePool*>(ud)->share_mu_[data % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* ud) {
    static_cast<HandlePool*>(ud)->share_mu_[data % kLocks].unlock();
  }
  static constexpr int kLocks = 16;

  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CURL*> idle_;
  int created_ = 0;
  CURLSH* share_ = nullptr;
  std::mutex share_mu_[kLocks];
};

class S3ObjectStore;

class S3Reader final : public ObjectReader {
 public:
  S3Reader(S3ObjectStore* store, std::string key, uint64_t size)
      : store_(store), key_(std::move(key)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, size_t n, void* dst) override;

 private:
  S3ObjectStore* store_;
  std::string key_;
  uint64_t size_;
};

class S3ObjectStore final : public ObjectStore {
 public:
  explicit S3ObjectStore(S3Options o) : o_(std::move(o)), pool_(o_.max_connections) {
    const std::string scheme = o_.use_ssl ? "https://" : "http://";
    const std::string port = ":" + std::to_string(o_.port);
    if (o_.use_virtual_host) {
      base_url_ = scheme + o_.bucket + "." + o_.address + port + "/";
    } else {
      base_url_ = scheme + o_.address + port + "/" + UriEncode(o_.bucket, false);
    }
    sigv4_ = "aws:amz:" + (o_.region.empty() ? std::string("us-east-1") : o_.region) + ":s3";
    userpwd_ = o_.access_key_id + ":" + o_.secret_access_key;
    root_ = o_.root_path;
    while (!root_.empty() && root_.back() == '/') root_.pop_back();
    while (!root_.empty() && root_.front() == '/') root_.erase(0, 1);
    if (!root_.empty()) root_ += "/";
  }
  S3ObjectStore(const S3ObjectStore&) = delete;
  S3ObjectStore& operator=(const S3ObjectStore&) = delete;

  Status Put(const std::string& key, std::string_view data) override { return PutParts(key, {data}); }
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::unique_ptr<ObjectReader>> Open(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Status DeletePrefix(const std::string& prefix) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Result<std::vector<ObjectInfo>> ListInfo(const std::string& prefix) override;

  Status EnsureBucket();
  Status ReadRange(const std::string& key, uint64_t offset, size_t n, void* dst);

 private:
  // Sends `req`, retrying transient failures; any HTTP answer that is not
  // retriable (or the last one) is returned, a transport failure is IOError.
  Result<Response> Execute(const Request& req);
  Status Attempt(CURL* h, const Request& req, const std::string& sha256, Response* resp, CURLcode* cc,
                 std::string* curl_error);
  Status HttpError(const Request& req, const Response& r) const;
  std::string Describe(const Request& req) const { return req.method + " " + o_.bucket + "/" + req.path; }

  Status PutSingle(const std::string& path, const std::vector<std::string_view>& parts);
  Status PutMultipart(const std::string& path, const std::vector<std::string_view>& parts, size_t total);

  const S3Options o_;
  HandlePool pool_;
  std::string base_url_, sigv4_, userpwd_, root_;
};

Status S3ObjectStore::HttpError(const Request& req, const Response& r) const {
  std::string what = r.code.empty() ? "" : " " + r.code;
  if (!r.message.empty()) what += ": " + r.message;
  return IOError("S3 {}: HTTP {}{}", Describe(req), r.http, what);
}

Status S3ObjectStore::Attempt(CURL* h, const Request& req, const std::string& sha256, Response* resp,
                              CURLcode* cc, std::string* curl_error) {
  curl_easy_reset(h);
  std::string url = base_url_;
  if (!req.path.empty()) {
    if (url.back() != '/') url.push_back('/');
    url += UriEncode(req.path, true);
  }
  if (!req.query.empty()) url += "?" + req.query;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SHARE, pool_.share());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.request_timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(o_.request_timeout_ms, 5000)));
  curl_easy_setopt(h, CURLOPT_USERPWD, userpwd_.c_str());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  if (!o_.ca_cert_path.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o_.ca_cert_path.c_str());
  BodyCursor cursor;
  cursor.views = &req.body;
  uint64_t body_bytes = 0;
  for (std::string_view v : req.body) body_bytes += v.size();
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_bytes));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &cursor);
    if (req.method == "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  struct curl_slist* headers = nullptr;
  std::string sha_header = "x-amz-content-sha256: " + sha256;
  headers = curl_slist_append(headers, sha_header.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  for (const std::string& hd : req.headers) headers = curl_slist_append(headers, hd.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (!req.range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, req.range.c_str());
  resp->body.clear();
  resp->headers.clear();
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp->body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp->headers);
  *cc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  // Drop the borrowed pointers before the handle goes back to the pool.
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  if (*cc != CURLE_OK) {
    *curl_error = errbuf[0] ? errbuf : curl_easy_strerror(*cc);
    return Status::OK();
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->http);
  resp->code.clear();
  resp->message.clear();
  if (resp->http >= 300 && !resp->body.empty()) {
    auto x = ParseXml(resp->body);
    if (x.ok()) {
      resp->code = LeafText(*x, "Error", "Code");
      resp->message = LeafText(*x, "Error", "Message");
    }
  }
  return Status::OK();
}

Result<Response> S3ObjectStore::Execute(const Request& req) {
  const std::string sha256 = req.body.empty() ? kEmptySha256 : Hex(
      reinterpret_cast<const unsigned char*>(Digest(EVP_sha256(), req.body).data()), 32);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  Response resp;
  for (int attempt = 1;; ++attempt) {
    CURL* h = pool_.Acquire();
    CURLcode cc = CURLE_OK;
    std::string curl_error;
    Status st = Attempt(h, req, sha256, &resp, &cc, &curl_error);
    pool_.Release(h);
    KITE_RETURN_IF_ERROR(st);
    const bool transport_failed = cc != CURLE_OK;
    const bool retriable = transport_failed ? IsRetriableCurl(cc) : IsRetriableHttp(resp);
    if (!retriable || attempt >= o_.max_attempts) {
      if (transport_failed) {
        return IOError("S3 {} at {}:{}: {} (after {} attempt{})", Describe(req), o_.address, o_.port, curl_error,
                       attempt, attempt == 1 ? "" : "s");
      }
      return resp;
    }
    // Full jitter: a uniform wait in [0, min(cap, base * 2^(attempt-1))].
    const int64_t ceiling =
        std::min<int64_t>(o_.backoff_max_ms, static_cast<int64_t>(o_.backoff_base_ms) << std::min(attempt - 1, 20));
    const int64_t wait_ms = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(rng);
    spdlog::debug("S3 {}: attempt {} failed ({}), retrying in {} ms", Describe(req), attempt,
                  transport_failed ? curl_error : fmt::format("HTTP {} {}", resp.http, resp.code), wait_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
}

Status S3ObjectStore::EnsureBucket() {
  Request head;
  head.method = "HEAD";
  KITE_ASSIGN_OR_RETURN(Response r, Execute(head));
  if (r.http == 200) return Status::OK();
  if (r.http != 404) return HttpError(head, r);
  Request create;
  create.method = "PUT";
  std::string config;
  if (!o_.region.empty() && o_.region != "us-east-1") {
    config = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>" +
             XmlEscape(o_.region) + "</LocationConstraint></CreateBucketConfiguration>";
    create.body = {config};
  }
  KITE_ASSIGN_OR_RETURN(Response c, Execute(create));
  if (c.http == 200 || c.code == "BucketAlreadyOwnedByYou") return Status::OK();
  return HttpError(create, c);
}

Status S3ObjectStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts) {
  KITE_RETURN_IF_ERROR(ValidateObjectKey("key", key, false));
  size_t total = 0;
  for (std::string_view p : parts) total += p.size();
  const std::string path = root_ + key;
  if (total >= o_.multipart_threshold_bytes && total > o_.part_bytes) return PutMultipart(path, parts, total);
  return PutSingle(path, parts);
}

Status S3ObjectStore::PutSingle(const std::string& path, const std::vector<std::string_view>& parts) {
  Request req;
  req.method = "PUT";
  req.path = path;
  req.body = parts;
  KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
  if (r.http != 200) return HttpError(req, r);
  return Status::OK();
}

// The views covering bytes [begin, begin + len) of the concatenation of `parts`.
std::vector<std::string_view> Slice(const std::vector<std::string_view>& parts, size_t begin, size_t len) {
  std::vector<std::string_view> out;
  for (std::string_view p : parts) {
    if (len == 0) break;
    if (begin >= p.size()) {
      begin -= p.size();
      continue;
    }
    std::string_view piece = p.substr(begin, len);
    out.push_back(piece);
    len -= piece.size();
    begin = 0;
  }
  return out;
}

Status S3ObjectStore::PutMultipart(const std::string& path, const std::vector<std::string_view>& parts,
                                   size_t total) {
  const size_t part_bytes = std::max({o_.part_bytes, kPartBytesMin, (total + kPartsMax - 1) / kPartsMax});
  Request init;
  init.method = "POST";
  init.path = path;
  init.query = CanonicalQuery({{"uploads", ""}});
  KITE_ASSIGN_OR_RETURN(Response ir, Execute(init));
  if (ir.http != 200) return HttpError(init, ir);
  KITE_ASSIGN_OR_RETURN(XmlState ix, ParseXml(ir.body));
  const std::string upload_id = LeafText(ix, "InitiateMultipartUploadResult", "UploadId");
  if (upload_id.empty()) return IOError("S3 {}: the answer has no UploadId", Describe(init));

  auto abort = [&](Status st) {
    Request del;
    del.method = "DELETE";
    del.path = path;
    del.query = CanonicalQuery({{"uploadId", upload_id}});
    auto r = Execute(del);
    if (!r.ok() || (r->http != 204 && r->http != 200 && r->http != 404)) {
      spdlog::warn("S3 {}: abort of multipart upload failed; the bucket's lifecycle rules must remove it",
                   Describe(del));
    }
    return st;
  };
  std::string complete = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  int number = 0;
  for (size_t begin = 0; begin < total; begin += part_bytes) {
    ++number;
    Request up;
    up.method = "PUT";
    up.path = path;
    up.query = CanonicalQuery({{"partNumber", std::to_string(number)}, {"uploadId", upload_id}});
    up.body = Slice(parts, begin, std::min(part_bytes, total - begin));
    auto r = Execute(up);
    if (!r.ok()) return abort(r.status());
    if (r->http != 200) return abort(HttpError(up, *r));
    auto etag = r->headers.find("etag");
    if (etag == r->headers.end()) return abort(IOError("S3 {}: the answer has no ETag", Describe(up)));
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number,
                            XmlEscape(etag->second));
  }
  complete += "</CompleteMultipartUpload>";
  Request done;
  done.method = "POST";
  done.path = path;
  done.query = CanonicalQuery({{"uploadId", upload_id}});
  done.body = {complete};
  done.headers = {"Content-Type: application/xml"};
  auto r = Execute(done);
  if (!r.ok()) return abort(r.status());
  if (r->http != 200) return abort(HttpError(done, *r));
  // S3 may answer 200 and then report an error in the body.
  auto x = ParseXml(r->body);
  if (!x.ok()) return abort(x.status());
  if (x->root == "Error") {
    Response err = *r;
    err.code = LeafText(*x, "Error", "Code");
    err.message = LeafText(*x, "Error", "Message");
    return abort(HttpError(done, err));
  }
  return Status::OK();
}

Status NotFound(const std::string& key) {
  return MakeStatus(StatusCode::kNotFound, Reason::kNone, "object '{}' not found", key);
}

Result<std::string> S3ObjectStore::Get(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateObjectKey("key", key, false));
  Request req;
  req.path = root_ + key;
  KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
  if (r.http == 404) return NotFound(key);
  if (r.http != 200) return HttpError(req, r);
  return std::move(r.body);
}

Result<std::unique_ptr<ObjectReader>> S3ObjectStore::Open(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateObjectKey("key", key, false));
  Request req;
  req.method = "HEAD";
  req.path = root_ + key;
  KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
  if (r.http == 404) return NotFound(key);
  if (r.http != 200) return HttpError(req, r);
  auto len = r.headers.find("content-length");
  if (len == r.headers.end()) return IOError("S3 {}: the answer has no Content-Length", Describe(req));
  uint64_t size = 0;
  try {
    size = std::stoull(len->second);
  } catch (const std::exception&) {
    return IOError("S3 {}: bad Content-Length '{}'", Describe(req), len->second);
  }
  return std::unique_ptr<ObjectReader>(std::make_unique<S3Reader>(this, key, size));
}

Status S3ObjectStore::ReadRange(const std::string& key, uint64_t offset, size_t n, void* dst) {
  Request req;
  req.path = root_ + key;
  req.range = fmt::format("{}-{}", offset, offset + n - 1);
  KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
  if (r.http == 404) return NotFound(key);
  if (r.http != 206 && r.http != 200) return HttpError(req, r);
  if (r.http == 200) {  // the whole object: a server that ignores Range
    if (r.body.size() < offset + n) {
      return IOError("object read of {} bytes at offset {}: the object has {}", n, offset, r.body.size());
    }
    std::memcpy(dst, r.body.data() + offset, n);
    return Status::OK();
  }
  if (r.body.size() != n) {
    return IOError("S3 {}: asked for {} bytes at offset {}, got {}", Describe(req), n, offset, r.body.size());
  }
  std::memcpy(dst, r.body.data(), n);
  return Status::OK();
}

Status S3Reader::ReadAt(uint64_t offset, size_t n, void* dst) {
  if (offset > size_ || n > size_ - offset) {
    return IOError("object read of {} bytes at offset {}: the object has {}", n, offset, size_);
  }
  if (n == 0) return Status::OK();
  return store_->ReadRange(key_, offset, n, dst);
}

Status S3ObjectStore::Delete(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateObjectKey("key", key, false));
  Request req;
  req.method = "DELETE";
  req.path = root_ + key;
  KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
  if (r.http == 204 || r.http == 200 || r.http == 404) return Status::OK();
  return HttpError(req, r);
}

Result<std::vector<std::string>> S3ObjectStore::List(const std::string& prefix) {
  KITE_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, ListInfo(prefix));
  std::vector<std::string> keys;
  keys.reserve(objects.size());
  for (ObjectInfo& o : objects) keys.push_back(std::move(o.key));
  return keys;
}

Result<std::vector<ObjectInfo>> S3ObjectStore::ListInfo(const std::string& prefix) {
  KITE_RETURN_IF_ERROR(ValidateObjectKey("prefix", prefix, true));
  std::vector<ObjectInfo> objects;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> params = {{"list-type", "2"}, {"prefix", root_ + prefix}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    if (o_.list_max_keys > 0) params.emplace_back("max-keys", std::to_string(o_.list_max_keys));
    Request req;
    req.query = CanonicalQuery(std::move(params));
    KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
    if (r.http != 200) return HttpError(req, r);
    KITE_ASSIGN_OR_RETURN(XmlState x, ParseXml(r.body));
    // A <Contents> element's leaves (Key, LastModified, Size, ...) arrive
    // together; a leaf already seen starts the next element's.
    ObjectInfo cur;
    bool has_key = false, has_time = false, has_size = false, in_root = false;
    auto close = [&] {
      if (has_key && in_root) objects.push_back(std::move(cur));
      cur = ObjectInfo{};
      has_key = has_time = has_size = in_root = false;
    };
    for (const XmlLeaf& l : x.leaves) {
      if (l.parent != "Contents") continue;
      if (l.name == "Key") {
        if (has_key) close();
        has_key = true;
        in_root = l.text.starts_with(root_);
        if (in_root) cur.key = l.text.substr(root_.size());
      } else if (l.name == "LastModified") {
        if (has_time) close();
        has_time = true;
        cur.modified_ms = ParseS3Time(l.text);
      } else if (l.name == "Size") {
        if (has_size) close();
        has_size = true;
        cur.size_bytes = std::strtoull(l.text.c_str(), nullptr, 10);
      }
    }
    close();
    if (LeafText(x, "ListBucketResult", "IsTruncated") != "true") break;
    token = LeafText(x, "ListBucketResult", "NextContinuationToken");
    if (token.empty()) return IOError("S3 {}: a truncated listing without NextContinuationToken", Describe(req));
  }
  std::sort(objects.begin(), objects.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

Status S3ObjectStore::DeletePrefix(const std::string& prefix) {
  KITE_ASSIGN_OR_RETURN(std::vector<std::string> keys, List(prefix));
  const size_t batch = std::clamp<size_t>(o_.delete_batch_max, 1, 1000);
  for (size_t begin = 0; begin < keys.size(); begin += batch) {
    std::string body = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>";
    for (size_t i = begin; i < std::min(keys.size(), begin + batch); ++i) {
      body += "<Object><Key>" + XmlEscape(root_ + keys[i]) + "</Key></Object>";
    }
    body += "</Delete>";
    Request req;
    req.method = "POST";
    req.query = CanonicalQuery({{"delete", ""}});
    req.body = {body};
    req.headers = {"Content-Type: application/xml", "Content-MD5: " + Base64(Digest(EVP_md5(), {body}))};
    KITE_ASSIGN_OR_RETURN(Response r, Execute(req));
    if (r.http != 200) return HttpError(req, r);
    KITE_ASSIGN_OR_RETURN(XmlState x, ParseXml(r.body));
    std::string key, code, message;
    for (const XmlLeaf& l : x.leaves) {
      if (l.parent != "Error") continue;
      if (l.name == "Key") key = l.text;
      if (l.name == "Code") code = l.text;
      if (l.name == "Message") message = l.text;
    }
    if (!code.empty() && code != "NoSuchKey") {
      return IOError("S3 delete of '{}' in {}: {}: {}", key, o_.bucket, code, message);
    }
  }
  return Status::OK();
}

Status Validate(const S3Options& o) {
  if (o.address.empty()) return InvalidArgument("config key minio.address is empty");
  if (o.address.find("://") != std::string::npos) {
    return InvalidArgument("config key minio.address: '{}' must be a host name without a scheme (set minio.useSSL "
                           "for https)", o.address);
  }
  if (o.port <= 0 || o.port > 65535) return InvalidArgument("config key minio.port: {} is not a port", o.port);
  if (o.bucket.empty()) return InvalidArgument("config key minio.bucketName is empty");
  if (o.cloud_provider != "aws" && o.cloud_provider != "minio" && o.cloud_provider != "gcp") {
    return InvalidArgument("config key minio.cloudProvider: '{}' is not supported (aws, minio or gcp: any "
                           "SigV4 S3 API)", o.cloud_provider);
  }
  if (o.request_timeout_ms <= 0) {
    return InvalidArgument("config key minio.requestTimeoutMs: {} is not a positive time", o.request_timeout_ms);
  }
  if (o.max_attempts < 1 || o.max_connections < 1) {
    return InvalidArgument("S3 store needs at least one attempt and one connection");
  }
  std::string root = o.root_path;
  while (!root.empty() && root.back() == '/') root.pop_back();
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  if (!root.empty()) KITE_RETURN_IF_ERROR(ValidateObjectKey("root path (minio.rootPath)", root, false));
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const S3Options& options) {
  KITE_RETURN_IF_ERROR(Validate(options));
  InitCurlOnce();
  auto store = std::make_unique<S3ObjectStore>(options);
  KITE_RETURN_IF_ERROR(store->EnsureBucket());
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace kite
