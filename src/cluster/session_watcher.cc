#include "cluster/session_watcher.h"

#include <spdlog/spdlog.h>

namespace kite {

Result<std::unique_ptr<SessionWatcher>> SessionWatcher::Start(MetaStore* store, std::string role) {
  if (role.empty() || role.find('/') != std::string::npos) {
    return InvalidArgument("session role '{}': must be non-empty and contain no '/'", role);
  }
  std::unique_ptr<SessionWatcher> w(new SessionWatcher(store, std::move(role)));
  std::vector<SessionEvent> ignored;  // the first list is sessions(), not events
  KITE_RETURN_IF_ERROR(w->Relist(&ignored));
  return w;
}

bool SessionWatcher::IsRoleKey(std::string_view key, std::string* name) const {
  if (key.substr(0, kSessionPrefix.size()) != kSessionPrefix) return false;
  std::string_view rest = key.substr(kSessionPrefix.size());
  if (rest.substr(0, role_.size()) != role_) return false;
  std::string_view tail = rest.substr(role_.size());
  if (!tail.empty()) {
    if (tail.size() < 2 || tail[0] != '-') return false;
    for (char c : tail.substr(1)) {
      if (c < '0' || c > '9') return false;
    }
  }
  *name = std::string(rest);
  return true;
}

Status SessionWatcher::Relist(std::vector<SessionEvent>* events) {
  watch_.reset();
  const std::string prefix = std::string(kSessionPrefix) + role_;
  KITE_ASSIGN_OR_RETURN(MetaRead read, store_->Read(prefix, /*prefix=*/true));
  std::map<std::string, SessionInfo> now;
  for (const MetaKv& kv : read.kvs) {
    std::string name;
    if (!IsRoleKey(kv.key, &name)) continue;
    auto s = DecodeSession(kv.value);
    if (!s.ok()) {
      spdlog::warn("session watcher: ignoring {}: {}", kv.key, s.status().ToString());
      continue;
    }
    now.emplace(std::move(name), std::move(*s));
  }
  for (const auto& [name, old] : sessions_) {
    auto it = now.find(name);
    if (it == now.end() || it->second.lease_id != old.lease_id) {
      events->push_back({SessionEvent::Type::kRemoved, name, old});
    }
  }
  for (const auto& [name, s] : now) {
    auto it = sessions_.find(name);
    bool is_new = it == sessions_.end() || it->second.lease_id != s.lease_id;
    if (is_new) {
      events->push_back({SessionEvent::Type::kAdded, name, s});
      if (s.stopping) events->push_back({SessionEvent::Type::kStopping, name, s});
    } else if (s.stopping && !it->second.stopping) {
      events->push_back({SessionEvent::Type::kStopping, name, s});
    }
  }
  sessions_ = std::move(now);
  KITE_ASSIGN_OR_RETURN(watch_, store_->Watch(prefix, read.revision + 1));
  return Status::OK();
}

void SessionWatcher::Apply(const MetaEvent& e, std::vector<SessionEvent>* events) {
  std::string name;
  if (!IsRoleKey(e.kv.key, &name)) return;
  auto it = sessions_.find(name);
  if (e.type == MetaEvent::Type::kDelete) {
    if (it == sessions_.end()) return;
    events->push_back({SessionEvent::Type::kRemoved, name, it->second});
    sessions_.erase(it);
    return;
  }
  auto s = DecodeSession(e.kv.value);
  if (!s.ok()) {
    spdlog::warn("session watcher: ignoring {}: {}", e.kv.key, s.status().ToString());
    return;
  }
  if (it != sessions_.end() && it->second.lease_id != s->lease_id) {
    // Re-registered under a new lease: the old session is gone.
    events->push_back({SessionEvent::Type::kRemoved, name, it->second});
    sessions_.erase(it);
    it = sessions_.end();
  }
  if (it == sessions_.end()) {
    events->push_back({SessionEvent::Type::kAdded, name, *s});
    if (s->stopping) events->push_back({SessionEvent::Type::kStopping, name, *s});
  } else if (s->stopping && !it->second.stopping) {
    events->push_back({SessionEvent::Type::kStopping, name, *s});
  }
  sessions_[name] = std::move(*s);
}

Result<std::vector<SessionEvent>> SessionWatcher::Next(std::chrono::milliseconds timeout) {
  std::vector<SessionEvent> events;
  if (watch_ == nullptr) {
    KITE_RETURN_IF_ERROR(Relist(&events));
    if (!events.empty()) return events;
  }
  auto got = watch_->Next(timeout);
  if (!got.ok()) {
    // Compacted history or a broken stream: catch up from a fresh list.
    spdlog::info("session watcher ({}): {}; re-listing", role_, got.status().ToString());
    KITE_RETURN_IF_ERROR(Relist(&events));
    return events;
  }
  for (const MetaEvent& e : *got) Apply(e, &events);
  return events;
}

}  // namespace kite
