#include "server/admin_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/request_observer.h"

namespace kite {
namespace {

using Json = nlohmann::json;
constexpr char kJson[] = "application/json";
constexpr int32_t kCodeParameterInvalid = 1100;  // Milvus merr: what Kite's REST answers for unknown paths

void SendJson(httplib::Response& res, const Json& body) {
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), kJson);
}

void SendData(httplib::Response& res, Json data) { SendJson(res, Json{{"code", 0}, {"data", std::move(data)}}); }

std::string ErrorMessage(const httplib::Request& req, int status) {
  switch (status) {
    case 404: return "404 page not found: " + req.method + " " + req.path;
    case 413: return "request body is too large";
    case 400: return "malformed request";
    default: return "HTTP " + std::to_string(status);
  }
}

Json SlowRequestsJson() {
  Json rows = Json::array();
  for (const RequestRecord& r : RequestObserver::Global().SlowRequests()) {
    rows.push_back({{"time", r.start_unix_ms},
                    {"request_id", r.request_id},
                    {"protocol", r.protocol},
                    {"rpc", r.function_name},
                    {"path", r.path},
                    {"db", r.db.empty() ? "default" : r.db},
                    {"collection", r.collection},
                    {"latency_ms", r.latency_ms},
                    {"status", r.code == 0 ? "success" : "fail"},
                    {"code", r.code},
                    {"error", r.error}});
  }
  return rows;
}

}  // namespace

namespace {
std::unique_ptr<httplib::Server> MakeServer(const AdminOptions& o) {
  if (o.tls_cert_path.empty()) return std::make_unique<httplib::Server>();
  return std::make_unique<httplib::SSLServer>(o.tls_cert_path.c_str(), o.tls_key_path.c_str(),
                                              o.tls_client_ca_path.empty() ? nullptr : o.tls_client_ca_path.c_str());
}
}  // namespace

AdminServer::AdminServer(AdminOptions options, const ClusterView* view)
    : options_(std::move(options)), view_(view), http_(MakeServer(options_)) {}

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const AdminOptions& options, const ClusterView* view) {
  std::unique_ptr<AdminServer> s(new AdminServer(options, view));
  if (!s->http_->is_valid()) {
    return InvalidArgument("cannot serve TLS on the metrics port with {} / {}", options.tls_cert_path,
                           options.tls_key_path);
  }
  s->Route();
  if (!s->http_->bind_to_port(options.host, options.port)) {
    return IOError("cannot listen for HTTP on {}:{}", options.host, options.port);
  }
  s->thread_ = std::thread([srv = s->http_.get()] { srv->listen_after_bind(); });
  return s;
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void AdminServer::Route() {
  httplib::Server& h = *http_;
  h.set_payload_max_length(options_.max_body_bytes);
  // The web UI and its API need credentials when authorization is on.
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!options_.authenticate || !(req.path == "/webui" || req.path.starts_with("/webui/"))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    std::string peer = req.remote_addr.find(':') == std::string::npos ? "ipv4:" + req.remote_addr
                                                                       : "ipv6:[" + req.remote_addr + "]";
    if (options_.authenticate(req.get_header_value("Authorization"), peer)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"kite\", charset=\"UTF-8\"");
    SendJson(res, Json{{"code", 1800}, {"message", "user hasn't authenticated"}});
    return httplib::Server::HandlerResponse::Handled;
  });
  h.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("OK", "text/plain"); });
  h.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics::DefaultRegistry().Render(), metrics::kTextContentType);
  });
  auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(kWebUiHtml, "text/html; charset=utf-8");
  };
  h.Get("/webui", page);
  h.Get("/webui/", page);
  h.Get("/webui/index.html", page);
  h.Get("/webui/api/overview", [this](const httplib::Request&, httplib::Response& res) {
    SendData(res, view_->Overview());
  });
  h.Get("/webui/api/collections", [this](const httplib::Request&, httplib::Response& res) {
    SendData(res, view_->Collections());
  });
  h.Get("/webui/api/segments", [this](const httplib::Request&, httplib::Response& res) {
    SendData(res, view_->Segments());
  });
  h.Get("/webui/api/indexes", [this](const httplib::Request&, httplib::Response& res) {
    SendData(res, view_->Indexes());
  });
  h.Get("/webui/api/slow_requests", [](const httplib::Request&, httplib::Response& res) {
    Json body = {{"code", 0}, {"data", SlowRequestsJson()}};
    body["threshold_ms"] = RequestObserver::Global().slow_threshold_ms();
    body["capacity"] = RequestObserverOptions{}.slow_ring_size;
    SendJson(res, body);
  });
  h.Get("/webui/api/config", [this](const httplib::Request&, httplib::Response& res) {
    Json rows = Json::array();
    for (const auto& [k, v] : options_.config) rows.push_back({{"key", k}, {"value", v}});
    SendData(res, std::move(rows));
  });
  // Every non-2xx answer that no handler wrote (unknown path, wrong method,
  // oversized body, malformed request) becomes a JSON error.
  h.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // already a JSON error
    SendJson(res, Json{{"code", kCodeParameterInvalid}, {"message", ErrorMessage(req, res.status)}});
    return httplib::Server::HandlerResponse::Handled;
  }));
  h.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    SendJson(res, Json{{"code", 5}, {"message", "unexpected error: " + what}});
  });
}

}  // namespace kite
