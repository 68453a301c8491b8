// AdminServer: the metrics port (Milvus: 9091). Serves
//   GET /healthz                 200 "OK"; 500 "Not all components are healthy, 4/5" while a
//                                component is not (Milvus's text; its JSON form with
//                                Content-Type: application/json). See ClusterView::ComponentStates.
//   GET /metrics                 Prometheus text format 0.0.4 (metrics::DefaultRegistry)
//   GET /webui                   the web UI: one self-contained page (webui/index.html,
//                                embedded at build time) that renders the JSON below
//   GET /webui/api/overview      {"data": {version, uptime_s, rss_bytes, start_unix_ms}}
//   GET /webui/api/collections   {"data": [...]}   see ClusterView
//   GET /webui/api/segments      {"data": [...]}
//   GET /webui/api/indexes       {"data": [...]}
//   GET /webui/api/slow_requests {"data": [...], "threshold_ms", "capacity"}
//   GET /webui/api/config        {"data": [{key, value}]}, secrets masked; paths hidden
//                                unless the caller authenticated
// With `authenticate` set (authorization enabled), /webui and /webui/api/*
// need `Authorization: Basic` (the browser's login prompt, asked for by
// WWW-Authenticate) or `Bearer user:password`; without it they answer 401.
// /healthz and /metrics stay open, as Milvus's do, and show no secret. Nothing
// here evaluates anything a caller sends.
// Anything else answers HTTP 404 with a Milvus-style JSON error
// {"code": 1100, "message": "404 page not found: ..."}; malformed requests,
// bodies over 1 MiB and handler exceptions answer 400 / 413 / 500 the same
// way. Never crashes the server.
//
// Served by Kite's own HTTP/1.1 code behind a PortMux (port_mux.h, http1.h),
// one thread per connection up to `max_connections`, with whole-request
// header/body deadlines and strict framing: eight clients trickling one
// header byte every 2 s used to take all eight threads of cpp-httplib's pool,
// so /healthz stopped answering, and a request with bare-LF line endings got
// no answer for 15 s (issue 20 #16). Start() binds and serves on background
// threads; Stop() (also the destructor) stops and joins. Borrows the
// ClusterView.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/cluster_view.h"
#include "server/port_mux.h"

namespace kite {

struct AdminOptions {
  std::string host = "0.0.0.0";
  int port = 9091;
  std::vector<std::pair<std::string, std::string>> config;  // shown by /webui/api/config (already masked)
  // Checks an Authorization header value from `peer`; null = the web UI is open.
  std::function<bool(const std::string& authorization, const std::string& peer)> authenticate;
  // TLS (common.security.tlsMode 1/2): PEM paths; a client CA makes client
  // certificates mandatory. Empty = plain HTTP.
  std::string tls_cert_path, tls_key_path, tls_client_ca_path;
  size_t max_body_bytes = 1 << 20;
  int max_connections = 256;
  int header_timeout_ms = 10000;
};

// The embedded web UI page (generated from webui/index.html).
extern const char kWebUiHtml[];

class AdminServer {
 public:
  static Result<std::unique_ptr<AdminServer>> Start(const AdminOptions& options, const ClusterView* view);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void Stop();

 private:
  AdminServer(AdminOptions options, const ClusterView* view);
  HttpResponse Route(const HttpRequest& req) const;
  HttpResponse Healthz(const HttpRequest& req) const;

  AdminOptions options_;
  const ClusterView* view_;
  std::unique_ptr<PortMux> mux_;
};

}  // namespace kite
