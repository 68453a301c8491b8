#include "server/standalone.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/proxy/proxy.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"
#include "rpc/milvus_service.h"
#include "server/data_dir.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

#ifndef KITE_VERSION
#define KITE_VERSION "0.1.0"
#endif

namespace kite {
namespace {

class StandaloneImpl final : public Standalone {
 public:
  explicit StandaloneImpl(const ServerConfig& config) : config_(config) {}

  Status Open() {
    KITE_ASSIGN_OR_RETURN(lock_, DataDirLock::Acquire(config_.data_dir));
    KITE_ASSIGN_OR_RETURN(meta_, OpenRocksDbMetaStore(config_.data_dir + "/meta"));
    KITE_ASSIGN_OR_RETURN(coordinator_, OpenCoordinator(meta_.get(), config_.limits));
    KITE_ASSIGN_OR_RETURN(registry_, SegmentRegistry::Open(meta_.get()));
    WalOptions wal_options;
    wal_options.sync = config_.wal_sync;
    KITE_ASSIGN_OR_RETURN(wal_, OpenLocalWal(config_.data_dir + "/wal", wal_options));
    KITE_ASSIGN_OR_RETURN(objects_, OpenLocalObjectStore(config_.data_dir + "/objects"));
    query_node_ = std::make_unique<QueryNode>(objects_.get(), registry_.get());
    streaming_ = std::make_unique<StreamingNode>(wal_.get(), objects_.get(), registry_.get(), coordinator_.get(),
                                                 query_node_.get(), config_.streaming);
    proxy_ = std::make_unique<Proxy>(coordinator_.get(), streaming_.get(), query_node_.get(), config_.limits);
    auto recover_start = std::chrono::steady_clock::now();
    KITE_RETURN_IF_ERROR(proxy_->Recover());
    spdlog::info("recovered in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - recover_start)
                                           .count());
    rpc::ServerIdentity id;
    id.version = "v2.6.6";
    id.build_tags = std::string("kite ") + KITE_VERSION;
    service_ = std::make_unique<rpc::MilvusService>(proxy_.get(), id);

    grpc::ServerBuilder builder;
    std::string addr = config_.host + ":" + std::to_string(config_.port);
    int bound_port = 0;
    builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &bound_port);
    builder.RegisterService(service_.get());
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.limits.max_request_bytes + (1 << 20)));
    builder.SetMaxSendMessageSize(static_cast<int>(config_.limits.max_response_bytes));
    // pymilvus pings every 10 s even when idle; accept that instead of GOAWAY.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    server_ = builder.BuildAndStart();
    if (!server_ || bound_port == 0) return IOError("cannot listen for gRPC on {}", addr);

    http_ = std::make_unique<httplib::Server>();
    http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("OK", "text/plain"); });
    if (!http_->bind_to_port(config_.host, config_.metrics_port)) {
      server_->Shutdown();
      return IOError("cannot listen for HTTP on {}:{}", config_.host, config_.metrics_port);
    }
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
    spdlog::info("kite standalone serving Milvus gRPC on {}, health on {}:{}, data in {}", addr, config_.host,
                 config_.metrics_port, config_.data_dir);
    return Status::OK();
  }

  ~StandaloneImpl() override {
    Shutdown();
    if (http_thread_.joinable()) http_thread_.join();
    // Roles go down before the storage they borrow.
    service_.reset();
    proxy_.reset();
    streaming_.reset();
    query_node_.reset();
  }

  Status Run() override {
    server_->Wait();
    return Status::OK();
  }

  void Shutdown() override {
    if (stopping_.exchange(true)) return;
    spdlog::info("shutting down");
    if (http_) http_->stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

 private:
  ServerConfig config_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<DataDirLock> lock_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<CoordinatorApi> coordinator_;
  std::unique_ptr<SegmentRegistry> registry_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<QueryNode> query_node_;
  std::unique_ptr<StreamingNode> streaming_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<rpc::MilvusService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<httplib::Server> http_;
  std::thread http_thread_;
};

}  // namespace

Result<std::unique_ptr<Standalone>> Standalone::Open(const ServerConfig& config) {
  auto s = std::make_unique<StandaloneImpl>(config);
  KITE_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<Standalone>(std::move(s));
}

}  // namespace kite
