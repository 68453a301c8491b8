// The data node's worker API (data_worker_api.h) over gRPC
// (data_service.proto): `kite datanode` serves it, the coordinator's
// scheduler holds each data node process through MakeRemoteDataWorker.
// Conventions as role_grpc.h: a Kite Status crosses the wire with its code,
// reason and message; a peer that cannot be reached, that does not answer
// within the deadline, or whose session ended during the call
// (CancelInFlight) is kIOError "role peer unavailable: ...".
#pragma once

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "roles/api/data_worker_api.h"

namespace kite {

std::unique_ptr<grpc::Service> MakeDataNodeService(DataWorkerApi* worker);

struct DataWorkerClientOptions {
  // A build of a large segment takes minutes; a worker that stops answering
  // is found sooner by its session (CancelInFlight).
  std::chrono::milliseconds deadline{30 * 60 * 1000};
};

std::unique_ptr<DataWorkerApi> MakeRemoteDataWorker(std::shared_ptr<grpc::Channel> channel,
                                                      DataWorkerClientOptions options = {});

}  // namespace kite
