// Access control at the two front doors, over auth::AccessControl (the one
// privilege check): the gRPC side reads the caller from the `authorization`
// metadata (base64 of "user:password", as pymilvus and the Node SDK send it)
// and the database / objects from the request by protobuf reflection; the
// REST side (rest_service.cc) reads `Authorization: Bearer user:password`
// and the JSON body, and both call AccessControl::Authenticate and
// Authorize. Every gRPC handler, the generated "not implemented" defaults
// included, starts with MilvusServiceDefaults::Admit (defined here), so no
// RPC runs unchecked; rpc/access_test.cc and tests/e2e/test_auth.py walk every
// RPC of the service descriptor to show it.
//
// Errors are Milvus's: a missing or bad credential is gRPC UNAUTHENTICATED
// ("missing authorization in header", "invalid token format", "auth check
// failure, please check username and password are correct"); a missing
// privilege is gRPC PERMISSION_DENIED ("PrivilegeInsert: permission deny to
// u in the `default` database").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>

#include "roles/auth/access_control.h"

namespace kite::rpc {

// The caller of a gRPC call (authenticates again; verified credentials are
// cached, so this costs microseconds). Anonymous when access control is off.
auth::Decision CallerOf(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx, auth::Caller* caller);

// Authenticates a raw `authorization` value (base64 of "user:password").
auth::Decision AuthenticateToken(auth::AccessControl* ac, std::string_view token, std::string_view peer,
                                 auth::Caller* caller);

// The objects a request names for `rule` (collection names, a user name).
std::vector<std::string> RequestObjects(const auth::PrivilegeRule* rule, const google::protobuf::Message& req);

// What ShowCollections (in `db`) / ListDatabases may list for the caller of
// `ctx` (everything when access control is off; nothing for a caller that
// does not authenticate, though Admit refuses those first).
auth::Visibility VisibleCollections(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx, std::string_view db);
auth::Visibility VisibleDatabases(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx);

::grpc::Status ToGrpcStatus(const auth::Decision& d);
// The Milvus code a refused call is recorded with (1800 unauthenticated, 65535 denied).
int32_t AdmitFailureCode(const ::grpc::Status& st);

}  // namespace kite::rpc
