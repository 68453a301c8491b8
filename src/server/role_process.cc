#include "server/role_process.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "roles/api/role_call.h"
#include "server/role_security.h"

namespace kite {

RoleProcessHost::RoleProcessHost(const ServerConfig& config, std::string role, int port, int metrics_port)
    : config_(config), role_(std::move(role)), port_(port), metrics_port_(metrics_port) {
  address_ = config_.host + ":" + std::to_string(port_);
}

RoleProcessHost::~RoleProcessHost() {
  if (mux_) mux_->Shutdown();
  mux_.reset();
  if (server_) server_->Shutdown();
  session_.reset();
  server_.reset();
}

Status RoleProcessHost::Start(std::vector<grpc::Service*> services, MetaStore* meta,
                              std::function<void(metrics::Exposition&, const std::string&)> metrics) {
  metrics_ = std::move(metrics);
  if (!services.empty()) {
    grpc::ServerBuilder b;
    int bound = 0;
    KITE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                          RoleServerCredentials(RoleSecurityOf(config_)));
    b.AddListeningPort(address_, creds, &bound);
    for (grpc::Service* s : services) b.RegisterService(s);
    b.SetMaxReceiveMessageSize(-1);
    b.SetMaxSendMessageSize(-1);
    server_ = b.BuildAndStart();
    if (!server_ || bound == 0) return IOError("kite {}: cannot listen on {}", role_, address_);
  }
  SessionOptions o;
  o.role = role_;
  o.address = address_;
  o.ttl_s = config_.session.ttl_s;
  o.retry_times = config_.session.retry_times;
  o.version = "2.6.6";
  o.on_lost = [this] {
    spdlog::error("{} session lease lost: stopping (the coordinator moves its work)", role_);
    lost_ = true;
    Shutdown();
  };
  KITE_ASSIGN_OR_RETURN(session_, Session::Register(meta, o));
  if (metrics_port_ > 0) {
    PortMuxOptions mo;
    mo.host = config_.host;
    mo.port = metrics_port_;
    auto mux = PortMux::Start(
        mo, [](int, int fd, std::string) { ::close(fd); },  // HTTP/1 only
        [this](const HttpRequest& req) { return ServeHttp(req); });
    if (!mux.ok()) {
      return IOError("kite {}: cannot listen on metrics port {}: {}", role_, metrics_port_, mux.status().message());
    }
    mux_ = std::move(mux).value();
  }
  return Status::OK();
}

HttpResponse RoleProcessHost::ServeHttp(const HttpRequest& req) {
  HttpResponse res;
  res.content_type = "text/plain";
  if (req.path == "/healthz") {
    const bool session_ok = session_ && !session_->lost() && !lost_;
    std::vector<std::string> problems;
    for (const auto& check : health_checks_) {
      std::string p = check();
      if (!p.empty()) problems.push_back(std::move(p));
    }
    const bool ok = session_ok && problems.empty();
    res.status = ok ? 200 : 500;
    res.body = ok ? "OK" : "Not all components are healthy, 0/1";
    for (const std::string& p : problems) res.body += "\n" + p;
    // Peers that refused this process's credentials (roles/api/role_call.h).
    for (const PeerRefusal& r : RecentPeerRefusals()) res.body += "\n" + r.message;
    return res;
  }
  if (req.path == "/metrics") {
    metrics::Exposition out;
    if (metrics_) metrics_(out, std::to_string(server_id()));
    res.content_type = metrics::kTextContentType;
    res.body = metrics::DefaultRegistry().Render() + out.Render();
    return res;
  }
  res.status = 404;
  res.body = "404 page not found";
  return res;
}

Status RoleProcessHost::Run() {
  std::unique_lock l(mu_);
  cv_.wait(l, [this] { return stop_; });
  l.unlock();
  if (mux_) mux_->Shutdown();
  if (session_) session_->Stop();
  if (server_) server_->Shutdown();
  return lost_ ? IOError("{} session lost", role_) : Status::OK();
}

void RoleProcessHost::Shutdown() {
  std::lock_guard l(mu_);
  stop_ = true;
  cv_.notify_all();
}

}  // namespace kite
