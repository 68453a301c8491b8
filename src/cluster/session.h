// Session: one process's (or role's) registration in the cluster, as Milvus
// 2.6's sessionutil does it (reference: shared/reference/distributed.md §1).
//
// Keys (Kite meta keys, so on etcd under <etcd.rootPath>/<etcd.metaSubPath>/,
// i.e. Milvus's by-dev/meta/session/...; docs/formats/meta_keys.md):
//   session/id            decimal: the next server id. Created as "1" when
//                         absent; a process reads it and raises it by one with a
//                         compare-and-swap; the value it read is its id.
//   session/<role>-<id>   the session of a non-exclusive role (querynode-12)
//   session/<role>        the session of an exclusive role, and the active key
//                         of an election (election.h)
// A session's value is Milvus's session JSON (EncodeSession) and is put with a
// lease of TTL common.session.ttl (30 s), kept alive by a LeaseKeeper: the key
// vanishes when the process dies or stops renewing for a whole TTL, which is
// how the others learn a node is dead (SessionWatcher).
//
// Lost lease: lost() turns true and SessionOptions::on_lost runs (once, on the
// keep-alive thread). The process must then stop acting as that session
// (Milvus exits); nothing re-registers by itself.
//
// Graceful stop (Stop): the value is rewritten with Stopping=true (watchers
// see kStopping and drain the node), then the lease is revoked, so the key
// and every key under the lease (an election's active key) vanish at once.
//
// Thread-safe. The store must outlive the session.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/meta/lease_keeper.h"
#include "storage/meta/meta_store.h"

namespace kite {

// Milvus's defaults (common.session.ttl, common.session.retryTimes).
inline constexpr int64_t kDefaultSessionTtlSeconds = 30;
inline constexpr int64_t kDefaultSessionRetryTimes = 30;

// The meta key prefix of every session, and the server id counter.
inline constexpr std::string_view kSessionPrefix = "session/";
inline constexpr std::string_view kServerIdKey = "session/id";

// The value stored under a session key: Milvus's SessionRaw JSON fields.
struct SessionInfo {
  int64_t server_id = 0;    // ServerID
  std::string server_name;  // ServerName: the role (querynode, mixcoord, ...)
  std::string address;      // Address: host:port the others dial
  bool exclusive = false;   // Exclusive
  bool stopping = false;    // Stopping: gracefully stopping, drain it
  bool trigger_kill = false;  // TriggerKill
  std::string version;      // Version (semver)
  LeaseId lease_id = 0;     // LeaseID (0: not written)
  std::string host_name;    // HostName
  std::map<std::string, std::string> server_labels;  // ServerLabels
};

// Milvus's encoding (Go's encoding/json of SessionRaw: field order, omitempty).
std::string EncodeSession(const SessionInfo& info);
// Reads a session value; unknown fields are ignored. kCorruption when the text
// is not a JSON object or a known field has the wrong type.
Result<SessionInfo> DecodeSession(std::string_view json);

// The key of a session: session/<role> (exclusive) or session/<role>-<id>.
std::string SessionKey(std::string_view role, int64_t server_id, bool exclusive);

// Allocates a cluster-unique server id from session/id (creating it as "1"
// when absent): ids are 1, 2, 3, ... in allocation order, never handed out
// twice however many processes allocate at once.
Result<int64_t> AllocateServerId(MetaStore* store);

struct SessionOptions {
  std::string role;     // ServerName; required, no '/'
  std::string address;  // Address
  bool exclusive = false;
  int64_t ttl_s = kDefaultSessionTtlSeconds;           // common.session.ttl (>= 1)
  int64_t retry_times = kDefaultSessionRetryTimes;     // common.session.retryTimes (>= 1)
  int64_t server_id = 0;  // 0: allocate one; else reuse (roles of one process share one id)
  std::string version;    // Version
  std::string host_name;  // empty: gethostname()
  std::map<std::string, std::string> server_labels;
  std::function<void()> on_lost;  // the lease was lost (keep-alive thread, once)
};

class Session {
 public:
  // Allocates the server id (unless given), grants the lease and puts the
  // session key if absent (etcd txn "version(key) == 0"). When the key is held
  // (an exclusive role, or a reused id), retries up to retry_times, waiting up
  // to 1 s each time for the key to go; a key left by an earlier run of this
  // process (same Address, smaller ServerID) is removed first, as Milvus does.
  // Then kAlreadyExists naming the key and its holder.
  static Result<std::unique_ptr<Session>> Register(MetaStore* store, SessionOptions options);
  // Stop() unless already stopped.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The registered value (Stopping false; see stopping()).
  const SessionInfo& info() const { return info_; }
  int64_t server_id() const { return info_.server_id; }
  const std::string& role() const { return info_.server_name; }
  const std::string& key() const { return key_; }
  LeaseId lease() const { return info_.lease_id; }
  int64_t ttl_s() const { return ttl_s_; }
  MetaStore* store() const { return store_; }

  // The lease is gone (expired or revoked by someone else): the session is
  // dead for the cluster.
  bool lost() const;
  bool stopping() const { return stopping_.load(); }
  bool stopped() const;

  // Rewrites the value with Stopping=true (under the same lease). OK when the
  // key is already gone.
  Status GoingStop();
  // GoingStop, then revokes the lease (the key and every key under the lease
  // vanish now). Idempotent.
  void Stop();

 private:
  Session(MetaStore* store, SessionInfo info, std::string key, int64_t ttl_s, std::function<void()> on_lost);
  void OnLeaseLost();

  MetaStore* const store_;
  SessionInfo info_;
  const std::string key_;
  const int64_t ttl_s_;
  std::function<void()> on_lost_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::unique_ptr<LeaseKeeper> keeper_;  // null once stopped
};

}  // namespace kite
