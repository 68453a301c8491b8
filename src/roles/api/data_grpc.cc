#include "roles/api/data_grpc.h"

#include <atomic>
#include <mutex>
#include <set>

#include "data_service.grpc.pb.h"
#include "roles/api/role_grpc.h"

namespace kite {

namespace {

class DataNodeServiceImpl final : public datapb::DataNodeService::Service {
 public:
  explicit DataNodeServiceImpl(IndexWorkerApi* worker) : worker_(worker) {}

  grpc::Status BuildIndex(grpc::ServerContext*, const datapb::BuildIndexRequest* req,
                          datapb::BuildIndexResponse* resp) override {
    Result<BuiltIndex> r = worker_->BuildIndex(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    *resp = std::move(r->file);
    return grpc::Status::OK;
  }

 private:
  IndexWorkerApi* worker_;
};

class RemoteIndexWorker final : public IndexWorkerApi {
 public:
  RemoteIndexWorker(std::shared_ptr<grpc::Channel> channel, IndexWorkerClientOptions options)
      : stub_(datapb::DataNodeService::NewStub(std::move(channel))), options_(options) {}

  Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    {
      std::lock_guard lock(mu_);
      if (abandoned_) return IOError("role peer unavailable: the data node's session ended");
      in_flight_.insert(&ctx);
    }
    BuiltIndex out;
    const grpc::Status st = stub_->BuildIndex(&ctx, req, &out.file);
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(&ctx);
    }
    if (!st.ok() && abandoned_.load()) {
      return IOError("role peer unavailable: the data node's session ended during the build");
    }
    KITE_RETURN_IF_ERROR(FromGrpcStatus(st));
    return out;
  }

  void CancelInFlight() override {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    for (grpc::ClientContext* c : in_flight_) c->TryCancel();
  }

 private:
  std::unique_ptr<datapb::DataNodeService::Stub> stub_;
  IndexWorkerClientOptions options_;
  std::mutex mu_;
  std::set<grpc::ClientContext*> in_flight_;
  std::atomic<bool> abandoned_{false};
};

}  // namespace

std::unique_ptr<grpc::Service> MakeDataNodeService(IndexWorkerApi* worker) {
  return std::make_unique<DataNodeServiceImpl>(worker);
}

std::unique_ptr<IndexWorkerApi> MakeRemoteIndexWorker(std::shared_ptr<grpc::Channel> channel,
                                                      IndexWorkerClientOptions options) {
  return std::make_unique<RemoteIndexWorker>(std::move(channel), options);
}

}  // namespace kite
