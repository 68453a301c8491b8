#include "server/streaming_node_process.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "roles/api/role_grpc.h"
#include "roles/streaming/streaming_node.h"
#include "server/coordinator_link.h"
#include "server/role_process.h"
#include "server/role_security.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

class StreamingNodeProcessImpl final : public RoleProcess {
 public:
  StreamingNodeProcessImpl(const ServerConfig& config, int port, int metrics_port)
      : config_(config), host_(config, "streamingnode", port, metrics_port) {}

  Status Open() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "kite streamingnode needs etcd (etcd.endpoints in the config): its session there is how the "
          "coordinator finds it, and the coordinator's session how it finds the coordinator");
    }
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(objects_, OpenObjectStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(wal_, OpenWalFor(config_));
    // The active coordinator's services, followed when another one takes over
    // (mixCoord.enableActiveStandby); a node may start before the coordinator.
    KITE_ASSIGN_OR_RETURN(coordinator_, CoordinatorLink::Start(meta_.get(), config_, std::chrono::seconds(60)));
    node_ = std::make_unique<StreamingNode>(wal_.get(), objects_.get(), coordinator_->segment_meta(),
                                            coordinator_->tso(), coordinator_->query(), config_.streaming);
    service_ = MakeStreamingNodeService(node_.get());
    KITE_RETURN_IF_ERROR(host_.Start({service_.get()}, meta_.get(), [this](metrics::Exposition& out,
                                                                           const std::string& id) {
      const std::vector<std::pair<std::string, std::string>> node = {{"node_id", id}, {"role", "streamingnode"}};
      out.Declare("kite_streaming_flush_failing_channels", "WAL channels whose last flush failed",
                  metrics::Type::kGauge);
      out.Add("kite_streaming_flush_failing_channels", node, static_cast<double>(node_->Health().failing_channels));
      out.Declare("kite_streamingnode_growing_rows", "rows of the growing segments this streaming node holds",
                  metrics::Type::kGauge);
      for (CollectionId c : node_->OpenCollections()) {
        int64_t rows = 0;
        for (const SegmentPtr& s : node_->GrowingSegments(c)) rows += s->num_rows();
        auto labels = node;
        labels.emplace_back("collection_id", std::to_string(c.value));
        out.Add("kite_streamingnode_growing_rows", labels, static_cast<double>(rows));
      }
    }));
    spdlog::info("kite streamingnode {} serving on {}, coordinator at {}", host_.server_id(), host_.address(),
                 coordinator_->address());
    return Status::OK();
  }

  Status Run() override { return host_.Run(); }
  void Shutdown() override { host_.Shutdown(); }

 private:
  ServerConfig config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<CoordinatorLink> coordinator_;
  std::unique_ptr<StreamingNode> node_;
  std::unique_ptr<grpc::Service> service_;
  RoleProcessHost host_;  // destroyed first: stops serving before the node goes
};

}  // namespace

Result<std::unique_ptr<RoleProcess>> OpenStreamingNodeProcess(const ServerConfig& config, int port, int metrics_port) {
  return OpenRoleProcess<StreamingNodeProcessImpl>(config, port, metrics_port);
}

}  // namespace kite
