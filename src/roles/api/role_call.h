// What every role call carries besides its request (ARCHITECTURE.md "Role
// transport"): the request context (caller, deadline, request id) the proxy
// fills from the front door's request, the per-call time limits of the gRPC
// role clients, and the record of peers that refused this process's
// credentials (shown by /healthz).
//
// A role call over gRPC gets the deadline min(request deadline, per-call
// limit): `kite.roleCallTimeoutMs` for reads, writes and listings (30 s),
// `kite.roleDdlTimeoutMs` for the channel lifecycle, flushes and the segment
// hand-over (600 s). A call that runs out of time is followed by a short probe
// of the peer (`kite.roleProbeTimeoutMs`, 2 s): a peer that does not answer
// it either is unreachable (kIOError "role peer unavailable": the views evict
// it, as a dead node); one that answers was only slow. When the request's
// deadline ended the call, it fails at once with Milvus's timeout (kCancelled
// "context deadline exceeded", answered as code 10001 by rpc/status_map.cc)
// and the probe runs in the background: a silent peer makes the next call to
// it fail "unavailable" at once. When the per-call limit ended it, the probe
// runs before the call returns.
//
// A peer that refuses the call (UNAUTHENTICATED / PERMISSION_DENIED from its
// credential check, a failed TLS handshake) is not a dead node: the call
// fails kInternal "role peer refused the call: <peer> refused the cluster
// credential ..." (IsPeerRefusal), the refusal is logged (at most once per
// peer every 10 s) and listed here for /healthz, and the views never evict
// for it.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "role_api.pb.h"

namespace kite {

struct RoleCallTimeouts {
  std::chrono::milliseconds call{30000};   // kite.roleCall.timeoutMs: reads, writes, listings
  std::chrono::milliseconds ddl{600000};   // kite.roleCall.ddlTimeoutMs: lifecycle, flush, segment hand-over
  std::chrono::milliseconds probe{2000};   // kite.roleCall.probeTimeoutMs: is a peer that timed out alive?
};

// Process-wide (set once at start from the config; tests may change them).
void SetRoleCallTimeouts(const RoleCallTimeouts& t);
RoleCallTimeouts GetRoleCallTimeouts();

int64_t NowUnixMicros();

// The calling thread's request (log.h: request id, caller, deadline) as a
// role call's context.
void FillRequestContext(rolepb::RequestContext* ctx);

// True when the context has a deadline and it has passed.
bool DeadlinePassed(const rolepb::RequestContext& ctx);
// The same for the request the calling thread serves (common/call_context.h):
// work about to start for a client that gave up is refused
// (StreamingNode::Write before it takes a timestamp).
bool CurrentDeadlinePassed();

// Milvus's answer for an expired deadline: merr.TimeoutCode (10001) with
// context.DeadlineExceeded's text (common/call_context.h).
Status DeadlineExceededStatus();
bool IsDeadlineExceeded(const Status& st);

// A peer refused this process's credentials (never a sign that it is down).
bool IsPeerRefusal(const Status& st);
Status PeerRefusalStatus(const std::string& peer, const std::string& detail);

struct PeerRefusal {
  std::string peer;
  std::string message;
  int64_t last_unix_ms = 0;
  int64_t count = 0;
};
// Records (and logs, rate-limited) a refusal.
void RecordPeerRefusal(const std::string& peer, const std::string& message);
// Refusals seen in the last `window`, newest first.
std::vector<PeerRefusal> RecentPeerRefusals(std::chrono::seconds window = std::chrono::seconds(300));
// Forgets every recorded refusal (tests).
void ClearPeerRefusals();

}  // namespace kite
