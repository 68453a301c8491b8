// What every single-role process (`kite querynode`, `kite streamingnode`)
// does besides its role: serve its role's gRPC services on --port, register
// its session in etcd (cluster/session.h) with that address, which is how
// the coordinator finds it, stop when that session's lease is lost (the
// coordinator has moved its work by then), as Milvus's nodes exit, and with
// --metrics-port serve /healthz ("OK" while its session holds and its health
// checks pass; peers that refused its credentials are named) and /metrics
// (the process's registry plus what the role adds, labelled with its node_id
// and role).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cluster/session.h"
#include "common/metrics.h"
#include "common/status.h"
#include "server/config.h"
#include "server/port_mux.h"

namespace kite {

class RoleProcessHost {
 public:
  // `role`: the session's role name (querynode, streamingnode).
  RoleProcessHost(const ServerConfig& config, std::string role, int port, int metrics_port);
  ~RoleProcessHost();

  // Serves `services` on config.host:port, registers the session, starts the
  // metrics port. `metrics` adds the role's own series (node_id labelled).
  Status Start(std::vector<grpc::Service*> services, MetaStore* meta,
               std::function<void(metrics::Exposition&, const std::string& node_id)> metrics);
  // A check /healthz runs besides the session's: an empty answer when healthy,
  // else what is wrong (the process answers 500 and names it). Call before Start.
  void AddHealthCheck(std::function<std::string()> check) { health_checks_.push_back(std::move(check)); }
  int64_t server_id() const { return session_ ? session_->server_id() : 0; }
  const std::string& address() const { return address_; }
  // Blocks until Shutdown() or the loss of the session; then stops serving.
  Status Run();
  void Shutdown();

 private:
  HttpResponse ServeHttp(const HttpRequest& req);

  ServerConfig config_;
  std::string role_;
  int port_;
  int metrics_port_;
  std::string address_;
  std::function<void(metrics::Exposition&, const std::string&)> metrics_;
  std::vector<std::function<std::string()>> health_checks_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<PortMux> mux_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> lost_{false};
};

}  // namespace kite
