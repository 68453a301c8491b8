#include "server/data_node_process.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "roles/api/data_grpc.h"
#include "roles/datanode/data_worker.h"
#include "server/role_process.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

// Counts the tasks for /metrics and logs each one.
class CountingWorker final : public DataWorkerApi {
 public:
  explicit CountingWorker(DataWorkerApi* inner) : inner_(inner) {}
  Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) override {
    spdlog::info("building index {} of segment {} (collection {}, {} rows)", req.index().name(), req.segment().id(),
                 req.collection_name(), req.segment().num_rows());
    running_++;
    Result<BuiltIndex> r = inner_->BuildIndex(req);
    running_--;
    if (r.ok()) {
      built_++;
      spdlog::info("index built: collection={} index={} type={} segment={} rows={} ms={}", req.collection_name(),
                   req.index().name(), r->file.index_type(), req.segment().id(), r->file.num_rows(),
                   r->file.build_ms());
    } else {
      spdlog::warn("index build failed: collection={} index={} segment={}: {}", req.collection_name(),
                   req.index().name(), req.segment().id(), r.status().ToString());
    }
    return r;
  }
  Result<CompactedSegment> Compact(const datapb::CompactRequest& req) override {
    spdlog::info("compacting {} segments of collection {} into segment {}", req.inputs_size(), req.collection_name(),
                 req.result_segment());
    running_++;
    Result<CompactedSegment> r = inner_->Compact(req);
    running_--;
    if (r.ok()) {
      compacted_++;
      spdlog::info("compacted: collection={} segments={} rows={} -> segment={} rows={}", req.collection_name(),
                   req.inputs_size(), r->result.input_rows(), req.result_segment(), r->result.num_rows());
    } else {
      spdlog::warn("compaction failed: collection={} segment={}: {}", req.collection_name(), req.result_segment(),
                   r.status().ToString());
    }
    return r;
  }
  int64_t built() const { return built_.load(); }
  int64_t compacted() const { return compacted_.load(); }
  int64_t running() const { return running_.load(); }

 private:
  DataWorkerApi* inner_;
  std::atomic<int64_t> built_{0};
  std::atomic<int64_t> compacted_{0};
  std::atomic<int64_t> running_{0};
};

class DataNodeProcessImpl final : public RoleProcess {
 public:
  DataNodeProcessImpl(const ServerConfig& config, int port, int metrics_port)
      : config_(config), host_(config, "datanode", port, metrics_port) {}

  Status Open() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "kite datanode needs etcd (etcd.endpoints in the config): its session there is how the coordinator "
          "finds it");
    }
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(objects_, OpenObjectStoreFor(config_));
    int threads = config_.data_node.build_threads;
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    worker_ = std::make_unique<LocalDataWorker>(objects_.get(), nullptr, threads);
    counting_ = std::make_unique<CountingWorker>(worker_.get());
    service_ = MakeDataNodeService(counting_.get());
    KITE_RETURN_IF_ERROR(host_.Start({service_.get()}, meta_.get(), [this](metrics::Exposition& out,
                                                                           const std::string& id) {
      const std::vector<std::pair<std::string, std::string>> node = {{"node_id", id}, {"role", "datanode"}};
      out.Declare("kite_datanode_index_builds_total", "index builds this data node process completed",
                  metrics::Type::kCounter);
      out.Add("kite_datanode_index_builds_total", node, static_cast<double>(counting_->built()));
      out.Declare("kite_datanode_compactions_total", "compactions this data node process completed",
                  metrics::Type::kCounter);
      out.Add("kite_datanode_compactions_total", node, static_cast<double>(counting_->compacted()));
      out.Declare("kite_datanode_index_builds_running", "index builds and compactions running on this data node process",
                  metrics::Type::kGauge);
      out.Add("kite_datanode_index_builds_running", node, static_cast<double>(counting_->running()));
    }));
    spdlog::info("kite datanode {} serving on {}, {} build threads", host_.server_id(), host_.address(), threads);
    return Status::OK();
  }

  Status Run() override { return host_.Run(); }
  void Shutdown() override { host_.Shutdown(); }

 private:
  ServerConfig config_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<LocalDataWorker> worker_;
  std::unique_ptr<CountingWorker> counting_;
  std::unique_ptr<grpc::Service> service_;
  RoleProcessHost host_;  // destroyed first: stops serving before the worker goes
};

}  // namespace

Result<std::unique_ptr<RoleProcess>> OpenDataNodeProcess(const ServerConfig& config, int port, int metrics_port) {
  return OpenRoleProcess<DataNodeProcessImpl>(config, port, metrics_port);
}

}  // namespace kite
