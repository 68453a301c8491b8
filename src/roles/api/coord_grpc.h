// The coordinator service (ARCHITECTURE.md "The coordinator service"): the
// segment meta and the timestamp oracle (segment_meta_api.h) over gRPC
// (coord_service.proto), so that a streaming node, a data node or a query
// view in another process holds the coordinator's SegmentRegistry and TSO
// through the same interfaces as one in its process.
//
// Conventions as in role_grpc.h: a Kite Status crosses the wire with its
// code, reason and message (RoleStatus in the error details); a peer that
// cannot be reached, or does not answer within the call's deadline, is
// kIOError "role peer unavailable: ...". Every call carries a deadline.
//
// Timestamps: MakeRemoteTso makes one call per AllocTimestamp. A batch
// fetched ahead and handed out locally would break the TSO's guarantee that
// timestamps grow strictly across every allocator of the cluster (another
// process's later timestamp could be below one handed out here afterwards:
// a strong read's snapshot would change behind it), so there is no batching.
// AllocIds(count) is one call for `count` ids.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "roles/api/segment_meta_api.h"

namespace kite {

// Called by the service after a commit succeeded (on the serving thread:
// must not block), e.g. to kick the coordinator process's data node as the
// in-process flush listener does.
struct CoordinatorServiceHooks {
  std::function<void(CollectionId)> on_flush_committed;  // after every CommitFlush that succeeded
  std::function<void(CollectionId)> on_index_committed;  // CommitSegmentIndex
};

// Serves `meta` and `tso` (either may be null: its calls answer kUnimplemented).
std::unique_ptr<grpc::Service> MakeCoordinatorService(SegmentMetaApi* meta, TsoApi* tso,
                                                      CoordinatorServiceHooks hooks = {});

struct CoordClientOptions {
  // Deadline of every call (a flush commit waits on the meta store's write).
  std::chrono::milliseconds deadline{30'000};
};

std::unique_ptr<SegmentMetaApi> MakeRemoteSegmentMeta(std::shared_ptr<grpc::Channel> channel,
                                                      CoordClientOptions options = {});
std::unique_ptr<TsoApi> MakeRemoteTso(std::shared_ptr<grpc::Channel> channel, CoordClientOptions options = {});

}  // namespace kite
