// `kite querynode`: a query node in its own process. It holds no catalog and
// no registry: it serves QueryNodeService (role_grpc.h) on its port and loads
// the sealed segments and indexes the coordinator's query view names
// (LoadSegments, LoadIndex) from the shared object store. It registers a
// `querynode` session in etcd (cluster/session.h) with its address, which is
// how the coordinator finds it, and stops when that session's lease is lost
// (the coordinator has moved its segments by then), as Milvus's nodes do.
// With --metrics-port it serves /healthz ("OK" while its session holds) and
// /metrics (the process's registry plus kite_querynode_segments and
// kite_querynode_rows per collection, labelled with its node_id).
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "server/role_process.h"

namespace kite {

// metrics_port 0: no health/metrics port.
Result<std::unique_ptr<RoleProcess>> OpenQueryNodeProcess(const ServerConfig& config, int port, int metrics_port);

}  // namespace kite
