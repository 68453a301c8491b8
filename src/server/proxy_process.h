// `kite proxy`: a proxy in its own process (issue 16). It serves the Milvus
// gRPC API and the RESTful API v2 on --port (the front door, front_door.h)
// and holds no catalog, no WAL and no segment: its Proxy reaches the active
// coordinator's catalog and data node scheduler through catalog_grpc.h and
// the coordinator's streaming side (its streaming node, or its view of the
// streaming node processes) through role_grpc.h, all found through the
// coordinator's session in etcd and followed when another coordinator takes
// over (coordinator_link.h). Users, roles and grants are read from etcd and
// followed (AccessControl::Follow), so any proxy authenticates and
// authorizes as the coordinator does. It registers a `proxy` session with
// its address; several proxies may serve the same cluster, each stateless.
// With --metrics-port it serves /healthz and /metrics (role_process.h).
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "server/role_process.h"

namespace kite {

Result<std::unique_ptr<RoleProcess>> OpenProxyProcess(const ServerConfig& config, int port, int metrics_port);

}  // namespace kite
