#include "server/streaming_node_process.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "cluster/session_watcher.h"
#include "roles/api/coord_grpc.h"
#include "roles/api/role_grpc.h"
#include "roles/streaming/streaming_node.h"
#include "server/role_process.h"
#include "server/role_security.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

// The coordinator's address: its `mixcoord` session's, waited for up to
// `wait` (a streaming node may start before the coordinator).
Result<std::string> CoordinatorAddress(MetaStore* meta, std::chrono::milliseconds wait) {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<SessionWatcher> watcher, SessionWatcher::Start(meta, "mixcoord"));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    for (const auto& [name, info] : watcher->sessions()) {
      if (!info.stopping && !info.address.empty()) return info.address;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    (void)watcher->Next(std::min(left, std::chrono::milliseconds(500)));
  }
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable,
                    "kite streamingnode: no coordinator (mixcoord session) registered in etcd after {} s",
                    wait.count() / 1000);
}

class StreamingNodeProcessImpl final : public StreamingNodeProcess {
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
    KITE_ASSIGN_OR_RETURN(std::string coord, CoordinatorAddress(meta_.get(), std::chrono::seconds(60)));
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    const RoleSecurity security = RoleSecurityOf(config_);
    KITE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds, RoleChannelCredentials(security));
    coord_channel_ = CreateRoleChannel(coord, creds, args, security);
    segment_meta_ = MakeRemoteSegmentMeta(coord_channel_);
    tso_ = MakeRemoteTso(coord_channel_);
    query_ = MakeRemoteQueryNode(coord_channel_, nullptr);
    node_ = std::make_unique<StreamingNode>(wal_.get(), objects_.get(), segment_meta_.get(), tso_.get(), query_.get(),
                                            config_.streaming);
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
    spdlog::info("kite streamingnode {} serving on {}, coordinator at {}", host_.server_id(), host_.address(), coord);
    return Status::OK();
  }

  Status Run() override { return host_.Run(); }
  void Shutdown() override { host_.Shutdown(); }

 private:
  ServerConfig config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<Wal> wal_;
  std::shared_ptr<grpc::Channel> coord_channel_;
  std::unique_ptr<SegmentMetaApi> segment_meta_;
  std::unique_ptr<TsoApi> tso_;
  std::unique_ptr<QueryNodeApi> query_;
  std::unique_ptr<StreamingNode> node_;
  std::unique_ptr<grpc::Service> service_;
  RoleProcessHost host_;  // destroyed first: stops serving before the node goes
};

}  // namespace

Result<std::unique_ptr<StreamingNodeProcess>> StreamingNodeProcess::Open(const ServerConfig& config, int port,
                                                                          int metrics_port) {
  auto p = std::make_unique<StreamingNodeProcessImpl>(config, port, metrics_port);
  KITE_RETURN_IF_ERROR(p->Open());
  return std::unique_ptr<StreamingNodeProcess>(std::move(p));
}

}  // namespace kite
