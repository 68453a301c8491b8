// gRPC adapters of the role APIs (role_api.h): a server side that serves a
// role object, and a client side that implements the same interface over a
// channel, so that a role holds a peer in another process exactly as it holds
// one in its own (issue 16 puts the processes behind them).
//
// What crosses the wire today is the read path (Search, Retrieve, ReadStats of
// QueryNodeApi and StreamingNodeApi). The client adapters forward every other
// call to `local`: segment hand-over (AddSealed, ApplyDelete, Attach*Index,
// ReplaceSegments) still passes in-memory objects until query nodes load
// segments and indexes from the object store by id; a null `local` answers
// those calls with kUnimplemented (or does nothing where they return void).
//
// Errors keep their Kite code, reason and message across the wire
// (rolepb::RoleStatus in the call's error details); a peer that cannot be
// reached is kIOError "role peer unavailable: ...". A CancelHook that fires
// cancels the call in flight; the server sees it as the call's cancellation.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "roles/api/role_api.h"

namespace kite {

std::unique_ptr<grpc::Service> MakeQueryNodeService(QueryNodeApi* node);
std::unique_ptr<grpc::Service> MakeStreamingNodeService(StreamingNodeApi* node);

std::unique_ptr<QueryNodeApi> MakeRemoteQueryNode(std::shared_ptr<grpc::Channel> channel, QueryNodeApi* local);
std::unique_ptr<StreamingNodeApi> MakeRemoteStreamingNode(std::shared_ptr<grpc::Channel> channel,
                                                          StreamingNodeApi* local);

// Kite Status <-> grpc::Status (exposed for tests).
grpc::Status ToGrpcStatus(const Status& st);
Status FromGrpcStatus(const grpc::Status& st);

}  // namespace kite
