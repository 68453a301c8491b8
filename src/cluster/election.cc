#include "cluster/election.h"

#include <spdlog/spdlog.h>

namespace kite {
namespace {

constexpr std::chrono::milliseconds kPoll{100};  // how often waits check stop / session loss

}  // namespace

std::string ActiveTermKey(std::string_view role) { return "kite/activeterm/" + std::string(role); }
std::string ActiveKey(std::string_view role) { return SessionKey(role, 0, /*exclusive=*/true); }

Result<std::optional<SessionInfo>> ReadActive(MetaStore* store, std::string_view role) {
  KITE_ASSIGN_OR_RETURN(MetaRead read, store->Read(ActiveKey(role), false));
  if (read.kvs.empty()) return std::optional<SessionInfo>();
  KITE_ASSIGN_OR_RETURN(SessionInfo s, DecodeSession(read.kvs[0].value));
  return std::optional<SessionInfo>(std::move(s));
}

Result<int64_t> ReadActiveTerm(MetaStore* store, std::string_view role) {
  const std::string key = ActiveTermKey(role);
  KITE_ASSIGN_OR_RETURN(std::optional<std::string> v, store->Get(key));
  if (!v) return int64_t{0};
  try {
    size_t used = 0;
    long long t = std::stoll(*v, &used);
    if (used == v->size() && t >= 0) return static_cast<int64_t>(t);
  } catch (const std::exception&) {
  }
  return Corruption("meta key {}: '{}' is not a term", key, *v);
}

std::string_view ElectionStateName(Election::State s) {
  switch (s) {
    case Election::State::kStandby: return "standby";
    case Election::State::kActive: return "active";
    case Election::State::kLost: return "lost";
    case Election::State::kResigned: return "resigned";
  }
  return "?";
}

Election::Election(Session* session, ElectionOptions options)
    : session_(session),
      role_(session->role()),
      active_key_(ActiveKey(session->role())),
      term_key_(ActiveTermKey(session->role())),
      options_(std::move(options)) {}

Result<std::unique_ptr<Election>> Election::Start(Session* session, ElectionOptions options) {
  if (session->info().exclusive) {
    return InvalidArgument("election for {}: the candidate's session must not be exclusive (its key is "
                           "session/{}-<id>; session/{} is the active key)",
                           session->role(), session->role(), session->role());
  }
  if (session->stopped() || session->lost()) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "election for {}: session {} is not alive",
                      session->role(), session->key());
  }
  std::unique_ptr<Election> e(new Election(session, std::move(options)));
  e->thread_ = std::thread([p = e.get()] { p->Run(); });
  return e;
}

Election::~Election() {
  if (active()) {
    if (Status st = Resign(); !st.ok()) spdlog::warn("election {}: resign failed: {}", role_, st.ToString());
  }
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (state_ == State::kStandby) state_ = State::kResigned;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Election::State Election::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int64_t Election::term() const {
  std::lock_guard lock(mu_);
  return term_;
}

bool Election::WaitActive(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return state_ != State::kStandby; });
  return state_ == State::kActive;
}

bool Election::StopRequested() {
  std::lock_guard lock(mu_);
  return stop_;
}

Result<bool> Election::TryAcquire(int64_t* revision) {
  KITE_ASSIGN_OR_RETURN(MetaRead term_read, session_->store()->Read(term_key_, false));
  int64_t term = 0;
  int64_t term_mod = 0;
  if (!term_read.kvs.empty()) {
    term_mod = term_read.kvs[0].mod_revision;
    try {
      term = std::stoll(term_read.kvs[0].value);
    } catch (const std::exception&) {
      return Corruption("meta key {}: '{}' is not a term", term_key_, term_read.kvs[0].value);
    }
  }
  MetaBatch b;
  b.RequireModRevision(active_key_, 0);
  b.RequireModRevision(term_key_, term_mod);
  b.PutWithLease(active_key_, EncodeSession(session_->info()), session_->lease());
  b.Put(term_key_, std::to_string(term + 1));
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, session_->store()->Txn(b));
  *revision = r.revision;
  if (!r.succeeded) return false;
  // The key's revision is what fences: read it back rather than assume the
  // txn's revision is the key's (it is, on every store; this also checks the
  // lease did not lapse meanwhile).
  KITE_ASSIGN_OR_RETURN(MetaRead mine, session_->store()->Read(active_key_, false));
  if (mine.kvs.empty() || mine.kvs[0].lease != session_->lease()) {
    *revision = mine.revision;
    return false;
  }
  {
    std::lock_guard lock(mu_);
    held_revision_ = mine.kvs[0].mod_revision;
    term_ = term + 1;
  }
  return true;
}

void Election::WaitForVacancy(int64_t revision) {
  // Waits for a delete of the active key after `revision`; re-tries the
  // campaign at least once per TTL in case a watch missed it.
  auto watch = session_->store()->Watch(active_key_, revision + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(session_->ttl_s());
  while (std::chrono::steady_clock::now() < deadline) {
    if (StopRequested() || session_->lost() || session_->stopped()) return;
    if (!watch.ok()) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kPoll, [&] { return stop_; });
      return;
    }
    auto events = (*watch)->Next(kPoll);
    if (!events.ok()) return;
    for (const MetaEvent& e : *events) {
      if (e.kv.key == active_key_ && e.type == MetaEvent::Type::kDelete) return;
    }
  }
}

void Election::HoldUntilLost() {
  int64_t from;
  {
    std::lock_guard lock(mu_);
    from = held_revision_ + 1;
  }
  std::unique_ptr<MetaWatch> watch;
  for (;;) {
    if (StopRequested()) return;
    if (session_->lost() || session_->stopped()) break;
    if (watch == nullptr) {
      auto w = session_->store()->Watch(active_key_, from);
      if (!w.ok()) {
        // Compacted or unreachable: look at the key itself.
        auto read = session_->store()->Read(active_key_, false);
        int64_t held;
        {
          std::lock_guard lock(mu_);
          held = held_revision_;
        }
        if (read.ok()) {
          if (read->kvs.empty() || read->kvs[0].mod_revision != held) break;
          from = read->revision + 1;
        }
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, kPoll, [&] { return stop_; });
        continue;
      }
      watch = std::move(w).value();
    }
    auto events = watch->Next(kPoll);
    if (!events.ok()) {
      watch.reset();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kPoll, [&] { return stop_; });
      continue;
    }
    // This process never rewrites the key it holds: any change to it after
    // the revision it created it at (a delete, or a put by a successor) means
    // it is no longer this process's.
    bool gone = false;
    for (const MetaEvent& e : *events) {
      if (e.kv.key == active_key_) gone = true;
    }
    if (gone) break;
  }
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kActive) return;  // resigned meanwhile
    state_ = State::kLost;
  }
  cv_.notify_all();
  spdlog::error("election {}: ServerID {} lost the active key (term {})", role_, session_->server_id(), term());
  if (options_.on_lost) options_.on_lost();
}

void Election::Run() {
  while (!StopRequested()) {
    if (session_->lost() || session_->stopped()) {
      {
        std::lock_guard lock(mu_);
        if (state_ == State::kStandby) state_ = State::kLost;
      }
      cv_.notify_all();
      spdlog::warn("election {}: session {} is gone; no longer a candidate", role_, session_->key());
      if (options_.on_lost) options_.on_lost();
      return;
    }
    int64_t revision = 0;
    auto won = TryAcquire(&revision);
    if (!won.ok()) {
      spdlog::warn("election {}: campaign failed: {}", role_, won.status().ToString());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kPoll, [&] { return stop_; });
      continue;
    }
    if (*won) {
      bool stopping;
      {
        std::lock_guard lock(mu_);
        stopping = stop_;
        if (!stopping) state_ = State::kActive;
      }
      if (stopping) {
        // Stopped (destroyed or resigned while standing by) as the txn won:
        // give the key back at once rather than hold it for nobody.
        ReleaseKey();
        return;
      }
      cv_.notify_all();
      spdlog::info("election {}: ServerID {} is active (term {})", role_, session_->server_id(), term());
      if (options_.on_elected) options_.on_elected(term());
      HoldUntilLost();
      return;
    }
    WaitForVacancy(revision);
  }
}

Status Election::Resign() {
  bool was_active;
  {
    std::lock_guard lock(mu_);
    was_active = state_ == State::kActive;
    if (state_ == State::kStandby || state_ == State::kActive) state_ = State::kResigned;
    stop_ = true;
  }
  cv_.notify_all();
  if (!was_active) return Status::OK();
  return ReleaseKey();
}

Status Election::ReleaseKey() {
  int64_t held;
  {
    std::lock_guard lock(mu_);
    held = held_revision_;
  }
  MetaBatch b;
  b.RequireModRevision(active_key_, held);  // never a successor's key
  b.Delete(active_key_);
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, session_->store()->Txn(b));
  spdlog::info("election {}: ServerID {} resigned (term {}){}", role_, session_->server_id(), term(),
               r.succeeded ? "" : "; the key was no longer its own");
  return Status::OK();
}

Status Election::NotActive(std::string_view why) const {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                    "ServerID {} is not the active {} ({}): the write was not applied", session_->server_id(),
                    role_, why);
}

Result<MetaTxnResult> Election::FencedTxn(const MetaBatch& batch) {
  int64_t held;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kActive) return NotActive(ElectionStateName(state_));
    held = held_revision_;
  }
  MetaBatch fenced = batch;
  fenced.RequireModRevision(active_key_, held);
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, session_->store()->Txn(fenced));
  if (r.succeeded) return r;
  // Whose compare failed? The fence's if the key is not the one we created.
  KITE_ASSIGN_OR_RETURN(MetaRead read, session_->store()->Read(active_key_, false));
  if (read.kvs.empty() || read.kvs[0].mod_revision != held) {
    return NotActive(read.kvs.empty() ? "the active key is gone" : "the active key belongs to another server");
  }
  return r;
}

Status Election::FencedCommit(const MetaBatch& batch) {
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, FencedTxn(batch));
  if (!r.succeeded) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "meta store: a compare of the batch failed");
  }
  return Status::OK();
}

}  // namespace kite
