#include "server/query_node_process.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <unistd.h>

#include "cluster/session.h"
#include "common/metrics.h"
#include "roles/api/role_grpc.h"
#include "roles/querynode/query_node.h"
#include "server/port_mux.h"
#include "server/role_security.h"
#include "server/storage_factory.h"

namespace kite {

namespace {

class QueryNodeProcessImpl final : public QueryNodeProcess {
 public:
  QueryNodeProcessImpl(const ServerConfig& config, int port, int metrics_port)
      : config_(config), port_(port), metrics_port_(metrics_port) {}

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
    KITE_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                          RoleServerCredentials(RoleSecurityOf(config_)));
    b.AddListeningPort(addr, creds, &bound);
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
    if (metrics_port_ > 0) {
      PortMuxOptions mo;
      mo.host = config_.host;
      mo.port = metrics_port_;
      auto mux = PortMux::Start(
          mo, [](int, int fd, std::string) { ::close(fd); },  // HTTP/1 only
          [this](const HttpRequest& req) { return ServeHttp(req); });
      if (!mux.ok()) return IOError("kite querynode: cannot listen on metrics port {}: {}", metrics_port_,
                                    mux.status().message());
      mux_ = std::move(mux).value();
    }
    spdlog::info("kite querynode {} serving on {}, objects from {}", session_->server_id(), addr,
                 config_.object_storage.IsS3() ? config_.object_storage.s3.bucket : config_.data_dir + "/objects");
    return Status::OK();
  }

  HttpResponse ServeHttp(const HttpRequest& req) {
    HttpResponse res;
    res.content_type = "text/plain";
    if (req.path == "/healthz") {
      const bool ok = session_ && !session_->lost() && !lost_;
      res.status = ok ? 200 : 500;
      res.body = ok ? "OK" : "Not all components are healthy, 0/1";
      return res;
    }
    if (req.path == "/metrics") {
      metrics::Exposition out;
      const std::string node = std::to_string(session_ ? session_->server_id() : 0);
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
      res.content_type = metrics::kTextContentType;
      res.body = metrics::DefaultRegistry().Render() + out.Render();
      return res;
    }
    res.status = 404;
    res.body = "404 page not found";
    return res;
  }

  Status Run() override {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return stop_; });
    l.unlock();
    if (mux_) mux_->Shutdown();
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
    if (mux_) mux_->Shutdown();
    mux_.reset();
    if (server_) server_->Shutdown();
    session_.reset();
    server_.reset();
    service_.reset();
    node_.reset();
  }

 private:
  ServerConfig config_;
  int port_;
  int metrics_port_;
  std::unique_ptr<PortMux> mux_;
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

Result<std::unique_ptr<QueryNodeProcess>> QueryNodeProcess::Open(const ServerConfig& config, int port,
                                                                  int metrics_port) {
  auto p = std::make_unique<QueryNodeProcessImpl>(config, port, metrics_port);
  KITE_RETURN_IF_ERROR(p->Open());
  return std::unique_ptr<QueryNodeProcess>(std::move(p));
}

}  // namespace kite
