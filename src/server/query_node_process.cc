#include "server/query_node_process.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "cluster/session.h"
#include "roles/api/role_grpc.h"
#include "roles/querynode/query_node.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

class QueryNodeProcessImpl final : public QueryNodeProcess {
 public:
  QueryNodeProcessImpl(const ServerConfig& config, int port) : config_(config), port_(port) {}

  Status Open() {
    if (!config_.etcd.enabled) {
      return InvalidArgument(
          "kite querynode needs etcd (etcd.endpoints in the config): its session there is how the coordinator "
          "finds it");
    }
    KITE_ASSIGN_OR_RETURN(meta_, OpenMetaStoreFor(config_));
    KITE_ASSIGN_OR_RETURN(objects_, OpenObjectStoreFor(config_));
    node_ = std::make_unique<QueryNode>(objects_.get(), nullptr);
    service_ = MakeQueryNodeService(node_.get());
    const std::string addr = config_.host + ":" + std::to_string(port_);
    grpc::ServerBuilder b;
    int bound = 0;
    b.AddListeningPort(addr, grpc::InsecureServerCredentials(), &bound);
    b.RegisterService(service_.get());
    b.SetMaxReceiveMessageSize(-1);
    b.SetMaxSendMessageSize(-1);
    server_ = b.BuildAndStart();
    if (!server_ || bound == 0) return IOError("kite querynode: cannot listen on {}", addr);
    SessionOptions o;
    o.role = "querynode";
    o.address = addr;
    o.ttl_s = config_.session.ttl_s;
    o.retry_times = config_.session.retry_times;
    o.version = "2.6.6";
    o.on_lost = [this] {
      spdlog::error("query node session lease lost: stopping (the coordinator moves its segments)");
      lost_ = true;
      Shutdown();
    };
    KITE_ASSIGN_OR_RETURN(session_, Session::Register(meta_.get(), o));
    spdlog::info("kite querynode {} serving on {}, objects from {}", session_->server_id(), addr,
                 config_.object_storage.IsS3() ? config_.object_storage.s3.bucket : config_.data_dir + "/objects");
    return Status::OK();
  }

  Status Run() override {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return stop_; });
    l.unlock();
    if (session_) session_->Stop();
    server_->Shutdown();
    return lost_ ? IOError("query node session lost") : Status::OK();
  }

  void Shutdown() override {
    std::lock_guard l(mu_);
    stop_ = true;
    cv_.notify_all();
  }

  ~QueryNodeProcessImpl() override {
    if (server_) server_->Shutdown();
    session_.reset();
    server_.reset();
    service_.reset();
    node_.reset();
  }

 private:
  ServerConfig config_;
  int port_;
  std::unique_ptr<MetaStore> meta_;
  std::unique_ptr<ObjectStore> objects_;
  std::unique_ptr<QueryNode> node_;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Session> session_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<bool> lost_{false};
};

}  // namespace

Result<std::unique_ptr<QueryNodeProcess>> QueryNodeProcess::Open(const ServerConfig& config, int port) {
  auto p = std::make_unique<QueryNodeProcessImpl>(config, port);
  KITE_RETURN_IF_ERROR(p->Open());
  return std::unique_ptr<QueryNodeProcess>(std::move(p));
}

}  // namespace kite
