// Who may call the role services (role_grpc.h) and how their traffic is
// protected: the transport and call credentials of every internal RPC
// between Kite processes (issue 17: internal RPCs authenticate each other; a
// client cannot call an internal service).
//
// Two independent layers, both off by default as in Milvus:
//   - internal TLS (Milvus's common.security.internaltlsEnabled with
//     internaltls.serverPemPath / serverKeyPath / caPemPath / sni): role
//     servers present a certificate, role clients verify it against the CA
//     (and the SNI name, when set); one-way, as Milvus's internal TLS.
//   - the cluster credential (common.security.authorizationEnabled, with the
//     shared secret kite.clusterSecret; Milvus has no such key): every call a
//     role client makes carries HMAC-SHA256(secret, "kite internal rpc v1")
//     in the `kite-cluster-credential` metadata entry, and a role server
//     answers any call without the right one UNAUTHENTICATED before its
//     handler runs. The secret itself never crosses the wire.
//
// Use RoleServerCredentials() where a role server listens and
// RoleChannelCredentials() + CreateRoleChannel() where a role client dials.
// All functions are thread-safe; the returned objects are immutable.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace kite {

struct RoleSecurity {
  bool tls = false;              // common.security.internaltlsEnabled
  std::string server_pem_path;   // internaltls.serverPemPath (role servers)
  std::string server_key_path;   // internaltls.serverKeyPath (role servers)
  std::string ca_pem_path;       // internaltls.caPemPath (role clients verify servers with it)
  std::string sni;               // internaltls.sni: the name checked in the server certificate ("" = the target's host)
  bool authenticate = false;     // common.security.authorizationEnabled
  std::string cluster_secret;    // kite.clusterSecret; required when authenticate
};

// The metadata entry that carries the cluster credential.
inline constexpr char kRoleCredentialHeader[] = "kite-cluster-credential";

// The credential derived from a cluster secret (lowercase hex HMAC-SHA256).
std::string RoleCredential(const std::string& cluster_secret);

// Server credentials for a role server: TLS when `tls` (fails when the
// certificate or key cannot be read), and with `authenticate` a check of the
// cluster credential on every call. InvalidArgument names the config key.
Result<std::shared_ptr<grpc::ServerCredentials>> RoleServerCredentials(const RoleSecurity& security);

// Channel credentials for a role client: TLS verifying the server against
// internaltls.caPemPath when `tls` (fails when the CA cannot be read), else
// plaintext. Build once; pass to CreateRoleChannel for every peer.
Result<std::shared_ptr<grpc::ChannelCredentials>> RoleChannelCredentials(const RoleSecurity& security);

// A channel to a role server at `target` that attaches the cluster
// credential to every call when `security.authenticate` (and sets the SNI
// name when `security.sni` is set).
std::shared_ptr<grpc::Channel> CreateRoleChannel(const std::string& target,
                                                 const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                                 grpc::ChannelArguments args, const RoleSecurity& security);

}  // namespace kite
