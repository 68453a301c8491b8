#include "server/standalone.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "roles/coordinator/coordinator.h"
#include "roles/proxy/proxy.h"
#include "rpc/milvus_service.h"
#include "server/data_dir.h"
#include "storage/meta/meta_store.h"

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
    proxy_ = std::make_unique<Proxy>(coordinator_.get(), config_.limits);
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
