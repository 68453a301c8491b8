// RequestObserver: what happens when a client request (gRPC or REST) ends.
// The front doors fill a RequestRecord per request (src/rpc/grpc_observer.h
// for gRPC, the REST hook in src/server/standalone.cc) and call Finish, which
//   * counts it in Milvus's proxy metrics (milvus_proxy_req_count,
//     milvus_proxy_req_latency, rows inserted/upserted/deleted, search nq,
//     slow queries; milvus_proxy_restful_api_* for REST),
//   * logs one debug line per request and one warn line per slow request
//     (latency above proxy.slowQuerySpanInSeconds), in logfmt (common/log.h),
//   * keeps the most recent slow requests in a ring for the web UI.
//
// Metric names and label names are Milvus's (pkg/metrics/proxy_metrics.go);
// node_id is always "1" in standalone. Status label values: "total" for
// every request, then "success" or "fail" (Milvus's TotalLabel, SuccessLabel,
// FailLabel).
//
// Thread-safe; one process-wide instance (Global()).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace kite {

struct RequestRecord {
  std::string request_id;
  std::string protocol;       // "grpc" or "rest"
  std::string function_name;  // Milvus RPC name: "Insert", "Search", ...
  std::string path;           // REST path ("/v2/vectordb/entities/insert"); empty for gRPC
  std::string db;             // empty: "default"
  std::string collection;
  int32_t code = 0;           // Milvus error code; 0 = success
  std::string error;          // message of a failure
  int64_t inserted = 0;       // rows, successful mutations only
  int64_t upserted = 0;
  int64_t deleted = 0;
  int64_t nq = 0;             // search vectors of a successful search
  int64_t start_unix_ms = 0;
  double latency_ms = 0;
};

struct RequestObserverOptions {
  double slow_threshold_ms = 5000;  // Milvus proxy.slowQuerySpanInSeconds = 5
  size_t slow_ring_size = 128;
};

class RequestObserver {
 public:
  static RequestObserver& Global();

  void Configure(const RequestObserverOptions& options);
  void Finish(const RequestRecord& r);
  // Most recent slow requests, newest first.
  std::vector<RequestRecord> SlowRequests() const;
  double slow_threshold_ms() const;

 private:
  RequestObserver();
  mutable std::mutex mu_;
  RequestObserverOptions options_;
  std::deque<RequestRecord> slow_;  // newest at the front
};

// Milliseconds since the Unix epoch (for RequestRecord::start_unix_ms).
int64_t UnixMillisNow();

}  // namespace kite
