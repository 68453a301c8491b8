// The coordinator's catalog over gRPC (catalog_service.proto): what a proxy
// in another process (`kite proxy`, server/proxy_process.h) needs of the
// coordinator besides the data plane — the whole CoordinatorApi (DDL, the
// catalog's reads, load intent, TSO and ids) and the data node scheduler's
// DataNodeApi (index progress, compaction jobs).
//
// The clients take a ChannelSource instead of a channel: each call asks it
// for the channel of the coordinator that is active now
// (server/coordinator_link.h follows session/mixcoord), so a proxy keeps
// working across a coordinator's failover with no wrapper in between; while
// none is active the source answers null and the call fails as an
// unreachable peer ("role peer unavailable"). Each call carries the calling
// thread's request context (role_call.h): its deadline bounds the call
// (min with kite.roleDdlTimeoutMs for DDL, kite.roleCallTimeoutMs for
// reads), and an expired one answers Milvus's 10001.
//
// Errors keep their Kite code, reason and message across the wire (role_grpc.h).
#pragma once

#include <functional>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "roles/api/role_api.h"
#include "roles/coordinator/coordinator.h"

namespace kite {

using ChannelSource = std::function<std::shared_ptr<grpc::Channel>()>;

// Serves `coordinator` and `data_node` (either may be null: its calls answer kUnimplemented).
std::unique_ptr<grpc::Service> MakeCatalogService(CoordinatorApi* coordinator, DataNodeApi* data_node);

std::unique_ptr<CoordinatorApi> MakeRemoteCoordinator(ChannelSource channel);
std::unique_ptr<DataNodeApi> MakeRemoteDataNode(ChannelSource channel);

}  // namespace kite
