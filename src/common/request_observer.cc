#include "common/request_observer.h"

#include <fmt/format.h>

#include "common/log.h"
#include "common/metrics.h"

namespace kite {
namespace {

constexpr char kNodeId[] = "1";  // standalone: one node

struct ProxyMetrics {
  metrics::Family<metrics::Counter>& req_count;
  metrics::Family<metrics::Histogram>& req_latency;
  metrics::Family<metrics::Counter>& insert_vectors;
  metrics::Family<metrics::Counter>& upsert_vectors;
  metrics::Family<metrics::Counter>& delete_vectors;
  metrics::Family<metrics::Counter>& search_vectors;
  metrics::Family<metrics::Counter>& slow_queries;
  metrics::Family<metrics::Counter>& rest_count;
  metrics::Family<metrics::Histogram>& rest_latency;

  static ProxyMetrics& Get() {
    static ProxyMetrics m = [] {
      metrics::Registry& r = metrics::DefaultRegistry();
      auto buckets = metrics::MilvusLatencyBucketsMs();
      return ProxyMetrics{
          r.AddCounter("milvus_proxy_req_count", "count of operation executed",
                       {"node_id", "function_name", "status", "db_name", "collection_name"}),
          r.AddHistogram("milvus_proxy_req_latency", "latency of each request", {"node_id", "function_name"},
                         buckets),
          r.AddCounter("milvus_proxy_insert_vectors_count", "counter of vectors successfully inserted",
                       {"node_id", "db_name", "collection_name"}),
          r.AddCounter("milvus_proxy_upsert_vectors_count", "counter of vectors successfully upserted",
                       {"node_id", "db_name", "collection_name"}),
          r.AddCounter("milvus_proxy_delete_vectors_count", "counter of vectors successfully deleted",
                       {"node_id", "db_name", "collection_name"}),
          r.AddCounter("milvus_proxy_search_vectors_count", "counter of vectors successfully searched",
                       {"node_id", "db_name", "collection_name"}),
          r.AddCounter("milvus_proxy_slow_query_count", "count of slow query executed", {"node_id", "msg_type"}),
          r.AddCounter("milvus_proxy_restful_api_req_count", "count of operation executed", {"node_id", "path"}),
          r.AddHistogram("milvus_proxy_restful_api_req_latency", "latency of each request", {"node_id", "path"},
                         buckets),
      };
    }();
    return m;
  }
};

std::string FormatMs(double ms) { return fmt::format("{:.3f}", ms); }

}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RequestObserver::RequestObserver() { ProxyMetrics::Get(); }

RequestObserver& RequestObserver::Global() {
  static RequestObserver* o = new RequestObserver();  // never destroyed (used until exit)
  return *o;
}

void RequestObserver::Configure(const RequestObserverOptions& options) {
  std::lock_guard lock(mu_);
  options_ = options;
  while (slow_.size() > options_.slow_ring_size) slow_.pop_back();
}

double RequestObserver::slow_threshold_ms() const {
  std::lock_guard lock(mu_);
  return options_.slow_threshold_ms;
}

std::vector<RequestRecord> RequestObserver::SlowRequests() const {
  std::lock_guard lock(mu_);
  return {slow_.begin(), slow_.end()};
}

void RequestObserver::Finish(const RequestRecord& r) {
  ProxyMetrics& m = ProxyMetrics::Get();
  const std::string db = r.db.empty() ? "default" : r.db;
  const bool ok = r.code == 0;
  m.req_count.With({kNodeId, r.function_name, "total", db, r.collection}).Inc();
  m.req_count.With({kNodeId, r.function_name, ok ? "success" : "fail", db, r.collection}).Inc();
  m.req_latency.With({kNodeId, r.function_name}).Observe(r.latency_ms);
  if (!r.path.empty()) {
    m.rest_count.With({kNodeId, r.path}).Inc();
    m.rest_latency.With({kNodeId, r.path}).Observe(r.latency_ms);
  }
  if (ok) {
    if (r.inserted > 0) m.insert_vectors.With({kNodeId, db, r.collection}).Inc(static_cast<double>(r.inserted));
    if (r.upserted > 0) m.upsert_vectors.With({kNodeId, db, r.collection}).Inc(static_cast<double>(r.upserted));
    if (r.deleted > 0) m.delete_vectors.With({kNodeId, db, r.collection}).Inc(static_cast<double>(r.deleted));
    if (r.nq > 0) m.search_vectors.With({kNodeId, db, r.collection}).Inc(static_cast<double>(r.nq));
  }

  bool slow;
  {
    std::lock_guard lock(mu_);
    slow = r.latency_ms > options_.slow_threshold_ms;
    if (slow && options_.slow_ring_size > 0) {
      slow_.push_front(r);
      if (slow_.size() > options_.slow_ring_size) slow_.pop_back();
    }
  }
  if (slow) m.slow_queries.With({kNodeId, r.function_name}).Inc();

  auto level = slow ? spdlog::level::warn : spdlog::level::debug;
  if (!LogEnabled(level)) return;
  LogFields f = {
      {"request_id", r.request_id},
      {"protocol", r.protocol},
      {"rpc", r.function_name},
      {"db", db},
      {"collection", r.collection},
      {"status", ok ? "success" : "fail"},
      {"code", std::to_string(r.code)},
      {"latency_ms", FormatMs(r.latency_ms)},
  };
  if (!r.path.empty()) f.emplace_back("path", r.path);
  if (r.inserted) f.emplace_back("inserted", std::to_string(r.inserted));
  if (r.upserted) f.emplace_back("upserted", std::to_string(r.upserted));
  if (r.deleted) f.emplace_back("deleted", std::to_string(r.deleted));
  if (r.nq) f.emplace_back("nq", std::to_string(r.nq));
  if (!ok) f.emplace_back("error", r.error);
  LogEvent(level, slow ? "slow request" : "request", f);
}

}  // namespace kite
