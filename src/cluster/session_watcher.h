// SessionWatcher: the live sessions of one role and their changes, as
// Milvus's GetSessions + WatchServices (list the prefix and its revision, then
// watch from that revision, so no change between the two is lost).
//
// It watches session/<role> and reports only that role's keys: session/<role>
// (exclusive role, or an election's active key) and session/<role>-<id>.
// Events:
//   kAdded     a session appeared (or was re-registered under a new lease)
//   kStopping  a session was rewritten with Stopping=true (graceful stop:
//              drain it; Milvus's SessionUpdateEvent)
//   kRemoved   the key vanished: lease expired (dead), revoked (stopped) or
//              deleted; `session` is its last value seen
// When the store no longer has the history to continue from (a compacted
// revision) or the watch breaks, Next re-lists the prefix, reports the
// difference with what it knew as events, and watches again from the new
// list's revision: a consumer that applies every event always ends with the
// store's set.
//
// Not thread-safe: one consumer (like MetaWatch). The store must outlive it.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/session.h"
#include "common/status.h"
#include "storage/meta/meta_store.h"

namespace kite {

struct SessionEvent {
  enum class Type { kAdded, kStopping, kRemoved };
  Type type = Type::kAdded;
  std::string name;     // the key under session/: "querynode-12", "mixcoord"
  SessionInfo session;  // the value (kRemoved: the last one seen)
};

class SessionWatcher {
 public:
  // Lists the role's sessions (sessions()) and starts watching after them.
  static Result<std::unique_ptr<SessionWatcher>> Start(MetaStore* store, std::string role);

  // The sessions known now, by name: the list at Start with every event
  // returned by Next applied.
  const std::map<std::string, SessionInfo>& sessions() const { return sessions_; }

  // The next changes; waits up to `timeout` for at least one, empty when none
  // came. An error (the store unreachable) leaves the watcher usable: the
  // next call re-lists.
  Result<std::vector<SessionEvent>> Next(std::chrono::milliseconds timeout);

 private:
  SessionWatcher(MetaStore* store, std::string role) : store_(store), role_(std::move(role)) {}
  bool IsRoleKey(std::string_view key, std::string* name) const;
  // Lists the prefix, appends the difference with sessions_ to `events`,
  // replaces sessions_ and watches from after the list.
  Status Relist(std::vector<SessionEvent>* events);
  void Apply(const MetaEvent& e, std::vector<SessionEvent>* events);

  MetaStore* const store_;
  const std::string role_;
  std::map<std::string, SessionInfo> sessions_;
  std::unique_ptr<MetaWatch> watch_;  // null: re-list before the next wait
};

}  // namespace kite
