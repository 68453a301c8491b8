// `kite streamingnode`: a streaming node in its own process, for a
// coordinator (kite standalone) configured with kite.streamingNodes: remote.
// It leads the WAL channels of the collections the coordinator's streaming
// view binds to it: it serves StreamingNodeService (role_grpc.h: channel
// lifecycle, writes, flush, the shard delegator's reads) on its port, holds
// the coordinator's segment meta and TSO over gRPC (coord_grpc.h) and the
// coordinator's query side (its query view or embedded query node) as a
// remote QueryNodeApi, all at the address of the coordinator's `mixcoord`
// session. Its WAL is the configured one: Kafka, shared by every streaming
// node, so that another can replay a channel this one led; with the local
// WAL (its own --data-dir) its channels cannot move. It registers a
// `streamingnode` session and stops when that session's lease is lost
// (server/role_process.h).
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "server/role_process.h"

namespace kite {

// metrics_port 0: no health/metrics port.
Result<std::unique_ptr<RoleProcess>> OpenStreamingNodeProcess(const ServerConfig& config, int port, int metrics_port);

}  // namespace kite
