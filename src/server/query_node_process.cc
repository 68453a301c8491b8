#include "server/query_node_process.h"

#include <spdlog/spdlog.h>

#include "roles/api/role_grpc.h"
#include "roles/querynode/query_node.h"
#include "server/object_store_probe.h"
#include "server/role_process.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

class QueryNodeProcessImpl final : public RoleProcess {
 public:
  QueryNodeProcessImpl(const ServerConfig& config, int port, int metrics_port)
      : config_(config), host_(config, "querynode", port, metrics_port) {}

  Status Open() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "kite querynode needs etcd (etcd.endpoints in the config): its session there is how the coordinator "
          "finds it");
    }
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(objects_, OpenObjectStoreFor(config_));
    // /healthz also checks the object store the segments are loaded from.
    KITE_ASSIGN_OR_RETURN(object_probe_, ObjectStoreProbe::Open(config_, ObjectStoreProbeOptions{}));
    host_.AddHealthCheck([p = object_probe_.get()]() -> std::string {
      return p->Reachable() ? std::string() : "object store unreachable";
    });
    node_ = std::make_unique<QueryNode>(objects_.get(), nullptr);
    service_ = MakeQueryNodeService(node_.get());
    KITE_RETURN_IF_ERROR(host_.Start({service_.get()}, meta_.get(), [this](metrics::Exposition& out,
                                                                           const std::string& node) {
      out.Declare("kite_querynode_segments", "sealed segments this query node process holds", metrics::Type::kGauge);
      out.Declare("kite_querynode_rows", "rows of the sealed segments this query node process holds",
                  metrics::Type::kGauge);
      for (CollectionId c : node_->LoadedCollections()) {
        int64_t rows = 0;
        const auto segs = node_->LoadedSegments(c);
        for (const SegmentSummary& s : segs) rows += s.num_rows;
        const std::vector<std::pair<std::string, std::string>> labels = {
            {"node_id", node}, {"role", "querynode"}, {"collection_id", std::to_string(c.value)}};
        out.Add("kite_querynode_segments", labels, static_cast<double>(segs.size()));
        out.Add("kite_querynode_rows", labels, static_cast<double>(rows));
      }
    }));
    spdlog::info("kite querynode {} serving on {}, objects from {}", host_.server_id(), host_.address(),
                 config_.object_storage.IsS3() ? config_.object_storage.s3.bucket : config_.data_dir + "/objects");
    return Status::OK();
  }

  Status Run() override { return host_.Run(); }
  void Shutdown() override { host_.Shutdown(); }

 private:
  ServerConfig config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<ObjectStoreProbe> object_probe_;
  std::unique_ptr<QueryNode> node_;
  std::unique_ptr<grpc::Service> service_;
  RoleProcessHost host_;  // destroyed first: stops serving before the node goes
};

}  // namespace

Result<std::unique_ptr<RoleProcess>> OpenQueryNodeProcess(const ServerConfig& config, int port, int metrics_port) {
  return OpenRoleProcess<QueryNodeProcessImpl>(config, port, metrics_port);
}

}  // namespace kite
