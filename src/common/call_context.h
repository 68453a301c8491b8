// The caller and deadline of the request the calling thread is serving
// (beside its request id, common/log.h): what the proxy puts in every role
// call's RequestContext (roles/api/role_call.h). The front doors set them
// (the gRPC handlers' Admit and call observers, the REST service) after the
// request id; setting or clearing the request id (SetCurrentRequestId,
// ScopedRequestId) clears them too, so they never outlive the request.
#pragma once

#include <cstdint>
#include <string>

namespace kite {

struct CallContext {
  std::string caller;             // the authenticated user; empty without authorization
  int64_t deadline_unix_us = 0;   // 0: none
};

const CallContext& CurrentCallContext();
void SetCurrentCaller(std::string caller);
void SetCurrentDeadline(int64_t deadline_unix_us);
void SetCurrentCallContext(CallContext ctx);

// The text of Milvus's answer to a request whose deadline passed
// (Go's context.DeadlineExceeded, code merr.TimeoutCode 10001).
inline constexpr char kDeadlineExceededMessage[] = "context deadline exceeded";

}  // namespace kite
