// The role services' security settings from the server configuration
// (roles/api/role_auth.h does the work): Milvus's
// common.security.internaltlsEnabled and internaltls.*, and with
// common.security.authorizationEnabled the cluster credential derived from
// kite.clusterSecret. Every place that serves role services or dials them
// (standalone's role transport and query view, `kite querynode`, the other
// role processes) goes through these, so no internal service ever answers an
// unauthenticated caller while authorization is on.
#pragma once

#include "roles/api/role_auth.h"
#include "roles/auth/access_control.h"
#include "server/config.h"

namespace kite {

// As configured: processes of one cluster must share kite.clusterSecret.
RoleSecurity RoleSecurityOf(const ServerConfig& config);

// For role services that only this process dials (standalone's
// kite.roleTransport: grpc on a unix-abstract socket, which any local user
// could connect to): as configured, with a random per-process secret when
// authorization is on and kite.clusterSecret is not set.
RoleSecurity LoopbackRoleSecurityOf(const ServerConfig& config);

// The users-and-roles options of a process that serves clients (standalone, proxy).
auth::SecurityOptions AccessOptionsOf(const ServerConfig& config);

}  // namespace kite
