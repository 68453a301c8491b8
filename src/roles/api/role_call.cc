#include "roles/api/role_call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <string_view>
#include <mutex>

#include "common/call_context.h"
#include "common/log.h"

namespace kite {

namespace {

// Read on every role call: atomics, no lock.
std::atomic<int64_t> g_call_ms{RoleCallTimeouts{}.call.count()};
std::atomic<int64_t> g_ddl_ms{RoleCallTimeouts{}.ddl.count()};
std::atomic<int64_t> g_probe_ms{RoleCallTimeouts{}.probe.count()};

std::mutex g_mu;

struct RefusalEntry {
  PeerRefusal r;
  std::chrono::steady_clock::time_point last_logged{};
  bool logged = false;
};
std::map<std::string, RefusalEntry> g_refusals;  // by peer; guarded by g_mu

int64_t NowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void SetRoleCallTimeouts(const RoleCallTimeouts& t) {
  g_call_ms = t.call.count();
  g_ddl_ms = t.ddl.count();
  g_probe_ms = t.probe.count();
}

RoleCallTimeouts GetRoleCallTimeouts() {
  RoleCallTimeouts t;
  t.call = std::chrono::milliseconds(g_call_ms.load(std::memory_order_relaxed));
  t.ddl = std::chrono::milliseconds(g_ddl_ms.load(std::memory_order_relaxed));
  t.probe = std::chrono::milliseconds(g_probe_ms.load(std::memory_order_relaxed));
  return t;
}

int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FillRequestContext(rolepb::RequestContext* ctx) {
  ctx->set_request_id(CurrentRequestId());
  const CallContext& call = CurrentCallContext();
  ctx->set_caller(call.caller);
  ctx->set_deadline_unix_us(call.deadline_unix_us);
}

bool DeadlinePassed(const rolepb::RequestContext& ctx) {
  return ctx.deadline_unix_us() > 0 && ctx.deadline_unix_us() <= NowUnixMicros();
}

bool CurrentDeadlinePassed() {
  const int64_t deadline = CurrentCallContext().deadline_unix_us;
  return deadline > 0 && deadline <= NowUnixMicros();
}

Status DeadlineExceededStatus() { return Status(StatusCode::kCancelled, Reason::kNone, kDeadlineExceededMessage); }

bool IsDeadlineExceeded(const Status& st) {
  return st.code() == StatusCode::kCancelled && st.message() == kDeadlineExceededMessage;
}

namespace {
constexpr std::string_view kRefusalPrefix = "role peer refused the call: ";
}  // namespace

bool IsPeerRefusal(const Status& st) {
  return st.code() == StatusCode::kInternal && st.message().starts_with(kRefusalPrefix);
}

Status PeerRefusalStatus(const std::string& peer, const std::string& detail) {
  return MakeStatus(StatusCode::kInternal, Reason::kNone,
                    "{}{} refused the cluster credential (kite.clusterSecret) or the internal TLS settings of this "
                    "process: {}",
                    kRefusalPrefix, peer.empty() ? "(unknown address)" : peer, detail);
}

void RecordPeerRefusal(const std::string& peer, const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  bool log = false;
  {
    std::lock_guard l(g_mu);
    if (g_refusals.size() >= 64 && !g_refusals.count(peer)) {
      // Bounded: drop the oldest entry.
      auto oldest = std::min_element(g_refusals.begin(), g_refusals.end(), [](const auto& a, const auto& b) {
        return a.second.r.last_unix_ms < b.second.r.last_unix_ms;
      });
      g_refusals.erase(oldest);
    }
    RefusalEntry& e = g_refusals[peer];
    e.r.peer = peer;
    e.r.message = message;
    e.r.last_unix_ms = NowUnixMillis();
    ++e.r.count;
    if (!e.logged || now - e.last_logged >= std::chrono::seconds(10)) {
      e.logged = true;
      e.last_logged = now;
      log = true;
    }
  }
  if (log) spdlog::error("REFUSED by a cluster peer (not counted as a dead node): {}", message);
}

std::vector<PeerRefusal> RecentPeerRefusals(std::chrono::seconds window) {
  const int64_t since = NowUnixMillis() - std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
  std::vector<PeerRefusal> out;
  {
    std::lock_guard l(g_mu);
    for (const auto& [peer, e] : g_refusals) {
      if (e.r.last_unix_ms >= since) out.push_back(e.r);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.last_unix_ms > b.last_unix_ms; });
  return out;
}

void ClearPeerRefusals() {
  std::lock_guard l(g_mu);
  g_refusals.clear();
}

}  // namespace kite
