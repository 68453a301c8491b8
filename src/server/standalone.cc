#include "server/standalone.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>

#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/datanode/data_node.h"
#include "roles/proxy/proxy.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"
#include "rpc/milvus_service.h"
#include "rpc/rest/rest_service.h"
#include "server/data_dir.h"
#include "server/port_mux.h"
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
    DataNodeOptions dn = config_.data_node;
    dn.segment_bytes_max = config_.streaming.segment_bytes_max;
    data_node_ = std::make_unique<DataNode>(objects_.get(), registry_.get(), coordinator_.get(), query_node_.get(), dn);
    streaming_->SetFlushListener([dn = data_node_.get()](CollectionId) { dn->Kick(); });
    proxy_ = std::make_unique<Proxy>(coordinator_.get(), streaming_.get(), query_node_.get(), data_node_.get(),
                                     config_.limits);
    auto recover_start = std::chrono::steady_clock::now();
    KITE_RETURN_IF_ERROR(proxy_->Recover());
    spdlog::info("recovered in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - recover_start)
                                           .count());
    // Builds start once recovery has loaded what was already built.
    data_node_->Start();
    rpc::ServerIdentity id;
    id.version = "v2.6.6";
    id.build_tags = std::string("kite ") + KITE_VERSION;
    service_ = std::make_unique<rpc::MilvusService>(proxy_.get(), id);

    // The main port serves gRPC and the RESTful API together, as Milvus does:
    // PortMux owns the socket and hands HTTP/2 connections to gRPC through an
    // external connection acceptor, so gRPC itself listens on no port.
    grpc::ServerBuilder builder;
    std::string addr = config_.host + ":" + std::to_string(config_.port);
    grpc_acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    builder.SetMaxReceiveMessageSize(static_cast<int>(config_.limits.max_request_bytes + (1 << 20)));
    builder.SetMaxSendMessageSize(static_cast<int>(config_.limits.max_response_bytes));
    // pymilvus pings every 10 s even when idle; accept that instead of GOAWAY.
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    server_ = builder.BuildAndStart();
    if (!server_) return IOError("cannot start the gRPC server for {}", addr);

    rest_ = std::make_unique<rest::RestService>(proxy_.get(), rest::RestOptions{config_.limits.max_request_bytes});
    PortMuxOptions mux_options;
    mux_options.host = config_.host;
    mux_options.port = config_.port;
    mux_options.http.max_body_bytes = config_.limits.max_request_bytes;
    auto mux = PortMux::Start(
        mux_options, [this](int listener_fd, int fd, std::string bytes) { HandOffToGrpc(listener_fd, fd, bytes); },
        [this](const HttpRequest& req) { return ServeRest(req); });
    if (!mux.ok()) {
      server_->Shutdown();
      return IOError("cannot listen for gRPC/REST on {}: {}", addr, mux.status().message());
    }
    mux_ = std::move(mux).value();

    http_ = std::make_unique<httplib::Server>();
    http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("OK", "text/plain"); });
    if (!http_->bind_to_port(config_.host, config_.metrics_port)) {
      mux_->Shutdown();
      server_->Shutdown();
      return IOError("cannot listen for HTTP on {}:{}", config_.host, config_.metrics_port);
    }
    http_thread_ = std::thread([this] { http_->listen_after_bind(); });
    spdlog::info("kite standalone serving Milvus gRPC and REST on {}, health on {}:{}, data in {}", addr,
                 config_.host, config_.metrics_port, config_.data_dir);
    return Status::OK();
  }

  ~StandaloneImpl() override {
    Shutdown();
    if (http_thread_.joinable()) http_thread_.join();
    // Roles go down before the storage they borrow.
    mux_.reset();
    rest_.reset();
    server_.reset();
    service_.reset();
    proxy_.reset();
    data_node_.reset();
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
    // No new connections first, then drain gRPC.
    if (mux_) mux_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

 private:
  void HandOffToGrpc(int listener_fd, int fd, const std::string& bytes) {
    grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
    p.listener_fd = listener_fd;
    p.fd = fd;
    grpc::Slice slice(bytes.data(), bytes.size());
    p.read_buffer = grpc::ByteBuffer(&slice, 1);
    grpc_acceptor_->HandleNewConnection(&p);  // gRPC owns fd from here (closes it if stopped)
  }

  HttpResponse ServeRest(const HttpRequest& req) {
    rest::RestRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
    r.body = req.body;
    r.body_too_large = req.body_too_large;
    rest::RestResponse res = rest_->Handle(r);
    HttpResponse out;
    out.status = res.http_status;
    out.body = std::move(res.body);
    return out;
  }

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
  std::unique_ptr<DataNode> data_node_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<rpc::MilvusService> service_;
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc_acceptor_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rest::RestService> rest_;
  std::unique_ptr<PortMux> mux_;
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
