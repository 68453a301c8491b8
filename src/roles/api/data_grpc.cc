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
  explicit DataNodeServiceImpl(DataWorkerApi* worker) : worker_(worker) {}

  grpc::Status BuildIndex(grpc::ServerContext*, const datapb::BuildIndexRequest* req,
                          datapb::BuildIndexResponse* resp) override {
    Result<BuiltIndex> r = worker_->BuildIndex(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    *resp = std::move(r->file);
    return grpc::Status::OK;
  }

  grpc::Status Compact(grpc::ServerContext*, const datapb::CompactRequest* req,
                       datapb::CompactResponse* resp) override {
    Result<CompactedSegment> r = worker_->Compact(*req);
    if (!r.ok()) return ToGrpcStatus(r.status());
    *resp = std::move(r->result);
    return grpc::Status::OK;
  }

 private:
  DataWorkerApi* worker_;
};

class RemoteDataWorker final : public DataWorkerApi {
 public:
  RemoteDataWorker(std::shared_ptr<grpc::Channel> channel, DataWorkerClientOptions options)
      : stub_(datapb::DataNodeService::NewStub(std::move(channel))), options_(options) {}

  Result<BuiltIndex> BuildIndex(const datapb::BuildIndexRequest& req) override {
    BuiltIndex out;
    KITE_RETURN_IF_ERROR(Call(&datapb::DataNodeService::Stub::BuildIndex, req, &out.file));
    return out;
  }

  Result<CompactedSegment> Compact(const datapb::CompactRequest& req) override {
    CompactedSegment out;
    KITE_RETURN_IF_ERROR(Call(&datapb::DataNodeService::Stub::Compact, req, &out.result));
    return out;
  }

  void CancelInFlight() override {
    std::lock_guard lock(mu_);
    abandoned_ = true;
    for (grpc::ClientContext* c : in_flight_) c->TryCancel();
  }

 private:
  template <typename Method, typename Req, typename Resp>
  Status Call(Method method, const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    {
      std::lock_guard lock(mu_);
      if (abandoned_) return IOError("role peer unavailable: the data node's session ended");
      in_flight_.insert(&ctx);
    }
    const grpc::Status st = (stub_.get()->*method)(&ctx, req, resp);
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(&ctx);
    }
    if (!st.ok() && abandoned_.load()) {
      return IOError("role peer unavailable: the data node's session ended during the task");
    }
    return FromGrpcStatus(st);
  }

  std::unique_ptr<datapb::DataNodeService::Stub> stub_;
  DataWorkerClientOptions options_;
  std::mutex mu_;
  std::set<grpc::ClientContext*> in_flight_;
  std::atomic<bool> abandoned_{false};
};

}  // namespace

std::unique_ptr<grpc::Service> MakeDataNodeService(DataWorkerApi* worker) {
  return std::make_unique<DataNodeServiceImpl>(worker);
}

std::unique_ptr<DataWorkerApi> MakeRemoteDataWorker(std::shared_ptr<grpc::Channel> channel,
                                                      DataWorkerClientOptions options) {
  return std::make_unique<RemoteDataWorker>(std::move(channel), options);
}

}  // namespace kite
