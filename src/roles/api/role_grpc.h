// gRPC adapters of the role APIs (role_api.h): a server side that serves a
// role object, and a client side that implements the same interface over a
// channel, so that a role holds a peer in another process exactly as it holds
// one in its own (issue 16 puts the processes behind them).
//
// QueryNodeApi crosses the wire whole: the read path and the segment
// hand-over (LoadSegments, ReleaseSegments, ApplyDeletes, LoadIndex,
// DetachIndex, ListSegments), whose messages name the data in the object
// store, so a query node in its own process (`kite querynode`) loads it from
// there. With a non-null `local` (standalone with kite.roleTransport: grpc)
// only the read path goes over the wire and the hand-over stays in memory.
// StreamingNodeApi crosses the wire whole too (`kite streamingnode`): the
// channels' lifecycle (Open, Drop, Load, Release, ApplySchema with the
// collection's catalog record), writes (a DmlMessage encoded as in the WAL),
// flush and the delegator's reads. QueryNodeService also takes a whole
// collection (Load, Release): what a remote streaming node asks of the
// coordinator's query side. With a non-null `local` only the read path
// crosses the wire.
//
// Errors keep their Kite code, reason and message across the wire
// (rolepb::RoleStatus in the call's error details); a peer that cannot be
// reached is kIOError "role peer unavailable: ...". A CancelHook that fires
// cancels the call in flight; the server sees it as the call's cancellation.
// Every client call has a deadline: min(the request's, RequestContext
// deadline_unix_us, and a per-call limit), and a peer that refuses this
// process's credentials is reported as such, never as unreachable
// (role_call.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "roles/api/role_api.h"
#include "roles/api/role_call.h"

namespace kite {

std::unique_ptr<grpc::Service> MakeQueryNodeService(QueryNodeApi* node);
std::unique_ptr<grpc::Service> MakeStreamingNodeService(StreamingNodeApi* node);

std::unique_ptr<QueryNodeApi> MakeRemoteQueryNode(std::shared_ptr<grpc::Channel> channel, QueryNodeApi* local);
std::unique_ptr<StreamingNodeApi> MakeRemoteStreamingNode(std::shared_ptr<grpc::Channel> channel,
                                                          StreamingNodeApi* local);

// One unary call of a role client without a liveness probe (catalog_grpc.h):
// the deadline min(`context`'s, the per-call limit: kite.roleDdlTimeoutMs
// when `ddl`, else kite.roleCallTimeoutMs), Kite's status from gRPC's.
Status RunRoleCall(const std::function<grpc::Status(grpc::ClientContext*)>& fn, bool ddl,
                   const rolepb::RequestContext* context);

// Kite Status <-> grpc::Status (exposed for tests). A refusal (role_call.h)
// becomes kInternal "role peer refused the call: <peer> ..." and is
// recorded for /healthz; other transport failures are kIOError "role peer
// unavailable: ...".
grpc::Status ToGrpcStatus(const Status& st);
Status FromGrpcStatus(const grpc::Status& st, const std::string& peer = "");

}  // namespace kite
