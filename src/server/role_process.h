// What every single-role process (`kite querynode`, `kite streamingnode`,
// `kite datanode`, `kite proxy`)
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

// A single-role process as main() runs it.
class RoleProcess {
 public:
  virtual ~RoleProcess() = default;
  // Serves until Shutdown() or the loss of the session; returns why it stopped.
  virtual Status Run() = 0;
  // Thread-safe; may be called from a signal-handling thread.
  virtual void Shutdown() = 0;
};

// Makes an `Impl(config, port, metrics_port)` and opens it (its Open()).
template <typename Impl>
Result<std::unique_ptr<RoleProcess>> OpenRoleProcess(const ServerConfig& config, int port, int metrics_port) {
  auto p = std::make_unique<Impl>(config, port, metrics_port);
  KITE_RETURN_IF_ERROR(p->Open());
  return std::unique_ptr<RoleProcess>(std::move(p));
}

class RoleProcessHost {
 public:
  // `role`: the session's role name (querynode, streamingnode).
  RoleProcessHost(const ServerConfig& config, std::string role, int port, int metrics_port);
  ~RoleProcessHost();

  // Serves `services` on config.host:port (none: the process serves its port
  // itself, as `kite proxy` its front door), registers the session with
  // that address, starts the metrics port. `metrics` adds the role's own
  // series (node_id labelled).
  Status Start(std::vector<grpc::Service*> services, MetaStore* meta,
               std::function<void(metrics::Exposition&, const std::string& node_id)> metrics);
  // A check /healthz runs besides the session's: an empty answer when healthy,
  // else what is wrong (the process answers 500 and names it). Call before Start.
  void AddHealthCheck(std::function<std::string()> check) { health_checks_.push_back(std::move(check)); }
  int64_t server_id() const { return session_ ? session_->server_id() : 0; }
  const std::string& address() const { return address_; }
  // The address the session names, when the process serves its port itself
  // (Start with no services). Call before Start.
  void set_address(std::string address) { address_ = std::move(address); }
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
