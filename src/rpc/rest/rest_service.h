// Milvus's RESTful API v2 (POST /v2/vectordb/<category>/<action>, JSON in and
// out) on top of the proxy role: the REST sibling of rpc/milvus_service.h.
// Wire compatibility lives here; below it everything is Kite's types.
//
// Contract
//  * Every answer is a JSON envelope with HTTP status 200, as Milvus answers:
//    {"code": 0, "data": ...} on success (plus "cost", and "topks" for search),
//    {"code": <merr code>, "message": "..."} on failure. Kite statuses map to
//    codes through rpc::MilvusCode; REST-only codes are Milvus's: 1801 body is
//    not JSON or a parameter has the wrong JSON type, 1802 a required parameter
//    is missing, 1804 rows cannot be decoded, 1806 bad primary keys, 1102 body
//    over the size limit. Endpoints Milvus has but Kite does not implement yet
//    answer code 10 ("not implemented"), like the gRPC service; paths Milvus
//    does not have answer code 1100 (Milvus itself answers a plain-text 404).
//  * The database is the body's `dbName`, else the `DB-Name` header, else
//    "default". `Accept-Type-Allow-Int64: false` renders Int64 values as
//    strings; absent or true keeps them JSON numbers (Milvus's default,
//    proxy.http.acceptTypeAllowInt64=true).
//  * With authorization enabled (auth::AccessControl), every call needs
//    `Authorization: Bearer user:password` (or Basic): a missing or wrong one
//    answers HTTP 401 {"code": 1800, "message": "user hasn't authenticated"}
//    and a missing privilege HTTP 403, as Milvus answers; the privilege is the
//    one of the RPC the path stands for (RestFunctionName), checked by the
//    same AccessControl::Authorize as gRPC.
//  * Requests must be `Content-Type: application/json`: a text/plain or
//    form-encoded POST is what a foreign web page can send without a CORS
//    preflight, so it is refused (code 1801) before anything runs. No CORS
//    header is ever sent, so browsers do not let other origins read answers.
//    `Request-Timeout` is ignored: every call is synchronous and bounded by
//    the proxy's own limits.
//
// Thread-safe and stateless; borrows the proxy, which must outlive it. Handle()
// never throws.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "roles/auth/access_control.h"
#include "roles/proxy/proxy.h"
#include "rpc/import/import_jobs.h"

namespace kite::rest {

struct RestRequest {
  std::string method;                         // "POST"
  std::string path;                           // "/v2/vectordb/collections/list" (no query string)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string_view body;                       // borrowed for the duration of Handle()
  bool body_too_large = false;  // the transport refused to read an oversized body
  bool over_budget = false;     // the transport's in-flight body budget was spent: body not read
  std::string peer;             // client address (rate limits failed logins)
};

// What the request did, for metrics and logs (common/request_observer.h).
struct RestSummary {
  int32_t code = 0;        // the envelope's code
  std::string db;          // as the request named it (empty: default)
  std::string collection;  // the body's collectionName, if any
  int64_t inserted = 0;    // rows of a successful insert / upsert / delete
  int64_t upserted = 0;
  int64_t deleted = 0;
  int64_t nq = 0;          // queries of a successful search
};

struct RestResponse {
  int http_status = 200;
  std::string body;  // JSON
  RestSummary summary;
};

// The Milvus RPC a REST path stands for ("/v2/vectordb/entities/insert" ->
// "Insert"), as Milvus's REST handlers call the proxy; empty for paths that
// are not Milvus REST v2 endpoints.
std::string_view RestFunctionName(std::string_view path);

struct RestOptions {
  int64_t max_body_bytes = 64 << 20;      // for the message of the "too large" answer
  int64_t max_inflight_bytes = 256 << 20;  // for the message of the "over budget" answer
  auth::AccessControl* access_control = nullptr;  // null: no access control; must outlive the service
  import::ImportApi* imports = nullptr;           // null: jobs/import/* unavailable; must outlive the service
};

class RestService {
 public:
  RestService(Proxy* proxy, RestOptions options) : proxy_(proxy), options_(options) {}
  RestService(const RestService&) = delete;
  RestService& operator=(const RestService&) = delete;

  RestResponse Handle(const RestRequest& request) const;

 private:
  Proxy* proxy_;
  RestOptions options_;
};

}  // namespace kite::rest
