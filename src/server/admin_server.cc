#include "server/admin_server.h"

#include <unistd.h>

#include <exception>

#include <nlohmann/json.hpp>

#include "common/metrics.h"
#include "common/request_observer.h"
#include "roles/api/role_call.h"

namespace kite {
namespace {

using Json = nlohmann::json;
constexpr char kJson[] = "application/json";
constexpr int32_t kCodeParameterInvalid = 1100;  // Milvus merr: what Kite's REST answers for unknown paths

HttpResponse JsonResponse(const Json& body, int status = 200) {
  HttpResponse res;
  res.status = status;
  res.content_type = kJson;
  res.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return res;
}

HttpResponse Data(Json data) { return JsonResponse(Json{{"code", 0}, {"data", std::move(data)}}); }

HttpResponse Error(int status, const std::string& message) {
  return JsonResponse(Json{{"code", kCodeParameterInvalid}, {"message", message}}, status);
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

AdminServer::AdminServer(AdminOptions options, const ClusterView* view) : options_(std::move(options)), view_(view) {}

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const AdminOptions& options, const ClusterView* view) {
  std::unique_ptr<AdminServer> s(new AdminServer(options, view));
  PortMuxOptions mux;
  mux.host = options.host;
  mux.port = options.port;
  mux.max_http_connections = options.max_connections;
  mux.http.max_body_bytes = static_cast<int64_t>(options.max_body_bytes);
  mux.http.max_drain_bytes = static_cast<int64_t>(options.max_body_bytes);
  mux.http.header_timeout_ms = options.header_timeout_ms;
  mux.http.io_timeout_ms = 30000;
  // TLS (common.security.tlsMode 1/2) terminated by the mux, as on the main port.
  if (!options.tls_cert_path.empty()) {
    TlsOptions tls;
    tls.mode = options.tls_client_ca_path.empty() ? 1 : 2;
    tls.server_pem_path = options.tls_cert_path;
    tls.server_key_path = options.tls_key_path;
    tls.ca_pem_path = options.tls_client_ca_path;
    auto ctx = TlsContext::Create(tls);
    if (!ctx.ok()) {
      return InvalidArgument("cannot serve TLS on the metrics port with {} / {}: {}", options.tls_cert_path,
                             options.tls_key_path, ctx.status().message());
    }
    mux.tls = std::move(ctx).value();
  }
  AdminServer* self = s.get();
  // The metrics port speaks no gRPC: an HTTP/2 preface is just closed.
  auto no_http2 = [](int, int fd, std::string) { ::close(fd); };
  auto handler = [self](const HttpRequest& req) {
    try {
      return self->Route(req);
    } catch (const std::exception& e) {
      return JsonResponse(Json{{"code", 5}, {"message", std::string("unexpected error: ") + e.what()}}, 500);
    }
  };
  auto started = PortMux::Start(mux, no_http2, handler);
  if (!started.ok()) {
    return IOError("cannot listen for HTTP on {}:{}: {}", options.host, options.port, started.status().message());
  }
  s->mux_ = std::move(*started);
  return s;
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  if (mux_) mux_->Shutdown();
}

// Milvus's healthz handler: "OK" (200) when every component is Healthy (or
// StandBy), else 500 "Not all components are healthy, <healthy>/<all>"; as
// JSON {"state", "detail": [{"name", "code"}]} when the request's
// Content-Type is application/json.
HttpResponse AdminServer::Healthz(const HttpRequest& req) const {
  auto states = view_->ComponentStates();
  size_t healthy = 0;
  Json detail = Json::array();
  for (const auto& c : states) {
    if (c.code == 1 || c.code == 3) healthy++;
    detail.push_back(Json{{"name", c.name}, {"code", c.code}});
  }
  std::string state = healthy == states.size()
                          ? "OK"
                          : "Not all components are healthy, " + std::to_string(healthy) + "/" +
                                std::to_string(states.size());
  HttpResponse res;
  res.status = state == "OK" ? 200 : 500;
  // Peers that refused this process's credentials lately (Kite's own
  // addition, roles/api/role_call.h): named, without changing the state.
  const std::vector<PeerRefusal> refusals = RecentPeerRefusals();
  if (req.Header("content-type") == "application/json") {
    res.content_type = "application/json";
    Json body{{"state", state}, {"detail", detail}};
    if (!refusals.empty()) {
      Json list = Json::array();
      for (const PeerRefusal& r : refusals) {
        list.push_back(Json{{"peer", r.peer}, {"message", r.message}, {"count", r.count},
                            {"last_unix_ms", r.last_unix_ms}});
      }
      body["refusals"] = std::move(list);
    }
    res.body = body.dump();
  } else {
    res.content_type = "text/plain";
    res.body = state;
    for (const PeerRefusal& r : refusals) res.body += "\n" + r.message;
  }
  return res;
}

HttpResponse AdminServer::Route(const HttpRequest& req) const {
  if (req.body_too_large) return Error(413, "request body is too large");
  const std::string& path = req.path;
  // The web UI and its API need credentials when authorization is on.
  if (options_.authenticate && (path == "/webui" || path.starts_with("/webui/")) &&
      !options_.authenticate(std::string(req.Header("authorization")), req.peer)) {
    HttpResponse res = JsonResponse(Json{{"code", 1800}, {"message", "user hasn't authenticated"}}, 401);
    res.headers.emplace_back("WWW-Authenticate", "Basic realm=\"kite\", charset=\"UTF-8\"");
    return res;
  }
  if (req.method != "GET") return Error(404, "404 page not found: " + req.method + " " + path);
  if (path == "/healthz") return Healthz(req);
  if (path == "/metrics") {
    HttpResponse res;
    res.content_type = metrics::kTextContentType;
    res.body = metrics::DefaultRegistry().Render();
    return res;
  }
  if (path == "/webui" || path == "/webui/" || path == "/webui/index.html") {
    HttpResponse res;
    res.content_type = "text/html; charset=utf-8";
    res.headers.emplace_back("Cache-Control", "no-store");
    res.body = kWebUiHtml;
    return res;
  }
  if (path == "/webui/api/overview") return Data(view_->Overview());
  if (path == "/webui/api/collections") return Data(view_->Collections());
  if (path == "/webui/api/segments") return Data(view_->Segments());
  if (path == "/webui/api/query_nodes") return Data(view_->QueryNodes());
  if (path == "/webui/api/streaming_nodes") return Data(view_->StreamingNodes());
  if (path == "/webui/api/sessions") return Data(view_->Sessions());
  if (path == "/webui/api/indexes") return Data(view_->Indexes());
  if (path == "/webui/api/slow_requests") {
    Json body = {{"code", 0}, {"data", SlowRequestsJson()}};
    body["threshold_ms"] = RequestObserver::Global().slow_threshold_ms();
    body["capacity"] = RequestObserverOptions{}.slow_ring_size;
    return JsonResponse(body);
  }
  if (path == "/webui/api/config") {
    Json rows = Json::array();
    for (const auto& [k, v] : options_.config) rows.push_back({{"key", k}, {"value", v}});
    return Data(std::move(rows));
  }
  return Error(404, "404 page not found: " + req.method + " " + path);
}

}  // namespace kite
