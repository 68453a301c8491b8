// `kite datanode`: a data node in its own process (kite.dataNodes: remote).
// It holds no catalog and no registry: it serves DataNodeService
// (roles/api/data_grpc.h) on its port and runs the tasks the coordinator's
// scheduler hands it — an index build, a compaction — from the segment files
// in the shared object store, writing the index or segment files there; the
// scheduler commits them. It registers a `datanode`
// session in etcd, which is how the coordinator finds it, and stops when the
// session's lease is lost (the coordinator has given its builds to another
// data node by then). --metrics-port: /healthz and /metrics
// (kite_datanode_index_builds_total, kite_datanode_compactions_total,
// kite_datanode_index_builds_running, labelled with its node_id).
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "server/role_process.h"

namespace kite {

// metrics_port 0: no health/metrics port.
Result<std::unique_ptr<RoleProcess>> OpenDataNodeProcess(const ServerConfig& config, int port, int metrics_port);

}  // namespace kite
