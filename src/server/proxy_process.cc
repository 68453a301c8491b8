#include "server/proxy_process.h"

#include <spdlog/spdlog.h>

#include "roles/api/catalog_grpc.h"
#include "roles/auth/access_control.h"
#include "roles/proxy/proxy.h"
#include "server/coordinator_link.h"
#include "server/front_door.h"
#include "server/role_security.h"
#include "server/storage_factory.h"
#include "storage/meta/meta_store.h"

namespace kite {
namespace {

class ProxyProcessImpl final : public RoleProcess {
 public:
  ProxyProcessImpl(const ServerConfig& config, int port, int metrics_port)
      : config_(config), host_(config, "proxy", port, metrics_port) {
    config_.port = port;
  }

  Status Open() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "kite proxy needs etcd (etcd.endpoints in the config): it finds the coordinator through its session "
          "there, and reads the users and roles from there");
    }
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    // The active coordinator, followed when another one takes over; a proxy
    // may start before it.
    KITE_ASSIGN_OR_RETURN(link_, CoordinatorLink::Start(meta_.get(), config_, std::chrono::seconds(60)));
    CoordinatorLink* link = link_.get();
    ChannelSource channel = [link] { return link->channel(); };
    coordinator_ = MakeRemoteCoordinator(channel);
    data_node_ = MakeRemoteDataNode(channel);
    const auth::SecurityOptions security = AccessOptionsOf(config_);
    KITE_ASSIGN_OR_RETURN(access_, auth::AccessControl::Open(meta_.get(), security));
    KITE_RETURN_IF_ERROR(access_->Follow());
    proxy_ = std::make_unique<Proxy>(coordinator_.get(), link->streaming(), data_node_.get(), config_.limits);
    KITE_ASSIGN_OR_RETURN(front_, FrontDoor::Start(config_, proxy_.get(), access_.get(), /*imports=*/nullptr,
                                                   "kite proxy"));
    host_.set_address(front_->address());
    KITE_RETURN_IF_ERROR(host_.Start({}, meta_.get(), nullptr));
    spdlog::info("kite proxy {} serving on {}, coordinator at {}", host_.server_id(), front_->address(),
                 link->address());
    return Status::OK();
  }

  Status Run() override {
    Status st = host_.Run();
    front_->Shutdown();
    return st;
  }
  void Shutdown() override { host_.Shutdown(); }

 private:
  ServerConfig config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorLink> link_;
  std::unique_ptr<CoordinatorApi> coordinator_;
  std::unique_ptr<DataNodeApi> data_node_;
  std::unique_ptr<auth::AccessControl> access_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<FrontDoor> front_;  // before the proxy goes: its calls end first
  RoleProcessHost host_;              // the session and the metrics port
};

}  // namespace

Result<std::unique_ptr<RoleProcess>> OpenProxyProcess(const ServerConfig& config, int port, int metrics_port) {
  return OpenRoleProcess<ProxyProcessImpl>(config, port, metrics_port);
}

}  // namespace kite
