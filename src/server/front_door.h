// The front door of a process that serves clients (`kite standalone`, `kite
// proxy`): the Milvus gRPC API and the RESTful API v2 on one port, as Milvus
// does (PortMux owns the socket and hands HTTP/2 connections to gRPC through
// an external connection acceptor, so gRPC itself listens on no port), TLS
// per common.security.tlsMode, request observation (metrics, logs, the
// slow-request ring, request ids) for both protocols, and the start-up lines
// that say how the port is protected. Both processes reach the roles only
// through the Proxy they hand it.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "server/config.h"
#include "server/port_mux.h"

namespace kite {

class Proxy;
namespace auth {
class AccessControl;
}
namespace import {
class ImportApi;
}
namespace rpc {
class MilvusService;
}
namespace rest {
class RestService;
}

class FrontDoor {
 public:
  // Serves `proxy` on config.host:config.port. `imports` may be null (the
  // bulk import calls then answer that they are not served here).
  static Result<std::unique_ptr<FrontDoor>> Start(const ServerConfig& config, Proxy* proxy,
                                                  auth::AccessControl* access, import::ImportApi* imports,
                                                  const std::string& process_name);
  ~FrontDoor();

  // For what a process adds to its answers (GetMetrics' topology).
  rpc::MilvusService* service() { return service_.get(); }
  std::string address() const { return config_.host + ":" + std::to_string(config_.port); }
  // Blocks until Shutdown().
  void Wait();
  // No new connections, then gRPC drains (5 s). Thread-safe, idempotent.
  void Shutdown();

 private:
  explicit FrontDoor(const ServerConfig& config);
  Status Open(Proxy* proxy, auth::AccessControl* access, import::ImportApi* imports, const std::string& process_name);
  void HandOffToGrpc(int listener_fd, int fd, const std::string& bytes);
  HttpResponse ServeRest(const HttpRequest& req);

  ServerConfig config_;
  std::atomic<bool> stopped_{false};
  std::unique_ptr<rpc::MilvusService> service_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc_acceptor_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rest::RestService> rest_;
  std::unique_ptr<PortMux> mux_;
  std::atomic<int64_t> rest_inflight_bytes_{0};  // request body bytes the port's HTTP/1 connections hold
};

}  // namespace kite
