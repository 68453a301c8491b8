// Election: exactly one active process of a role (the coordinator), the
// others standing by, as Milvus's active-standby (sessionutil
// ProcessActiveStandBy; reference: shared/reference/distributed.md §1).
//
// Each candidate registers its own session (session/<role>-<id>, not
// exclusive) and starts an Election on it. A background thread tries
//   txn: if mod_revision(session/<role>) == 0            (absent)
//        and mod_revision(kite/activeterm/<role>) == r   (the term read)
//        then put(session/<role>, <its session JSON>, <its session lease>)
//             put(kite/activeterm/<role>, term + 1)
// and, when that fails, watches the active key and tries again as soon as it
// is deleted: when the holder's lease expires (it died, or stopped renewing
// for a TTL), when it resigns, or when its session stops (revoking the lease).
// So a stand-by takes over within the TTL after a crash and at once after a
// graceful stop. Each leadership gets a term one above the last (term()).
//
// Fencing: FencedTxn / FencedCommit apply a meta batch only if the active key
// still has the mod revision this process created it with, checked in the
// same txn as the writes. Once the lease lapses, the key is deleted (and
// maybe re-created by the successor, with a new revision), so an old active
// that resumes after a pause, still believing it leads, can change nothing.
//
// Leadership, once lost (the key vanished or the session's lease was lost),
// is not campaigned for again by this object: the holder's in-memory state
// may be stale, so the process should stop (Milvus exits) or start over with
// a new session. ElectionOptions::on_lost tells it.
//
// Thread-safe. The session (and its store) must outlive the election. To stop
// gracefully, destroy (or Resign) the election first, then stop the session:
// a session stopped under an active election ends it as kLost (on_lost runs),
// though the hand-over is just as immediate (the lease is revoked).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "cluster/session.h"
#include "common/status.h"
#include "storage/meta/meta_store.h"

namespace kite {

// The meta key holding the newest term handed out for `role`'s active key.
std::string ActiveTermKey(std::string_view role);
// The active key of `role` (session/<role>).
std::string ActiveKey(std::string_view role);

// The current active session of `role` (none while no one holds it).
Result<std::optional<SessionInfo>> ReadActive(MetaStore* store, std::string_view role);
// The newest term handed out for `role` (0: never).
Result<int64_t> ReadActiveTerm(MetaStore* store, std::string_view role);

struct ElectionOptions {
  // Both run on the election's thread, at most once each.
  std::function<void(int64_t term)> on_elected;  // this process became active
  std::function<void()> on_lost;                 // it lost leadership (not called after Resign)
};

class Election {
 public:
  enum class State {
    kStandby,   // campaigning / waiting for the active key to go
    kActive,    // holds the active key
    kLost,      // held it and lost it, or the session died while waiting
    kResigned,  // Resign() or destruction
  };

  // Starts campaigning for the role of `session` (its role and lease).
  static Result<std::unique_ptr<Election>> Start(Session* session, ElectionOptions options);
  // Resigns if active; stops campaigning.
  ~Election();
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  State state() const;
  // Holds the active key as far as this process knows (FencedTxn is the proof).
  bool active() const { return state() == State::kActive; }
  // The term of this process's leadership (0 until elected).
  int64_t term() const;
  // Waits until the state is no longer kStandby or `timeout` passed; true when active.
  bool WaitActive(std::chrono::milliseconds timeout);

  // Deletes the active key (only if still this process's) so that a stand-by
  // takes over now; stops campaigning (a stand-by that resigns just leaves).
  Status Resign();

  // Applies `batch` (its own compares included) in one txn together with the
  // fence. kFailedPrecondition "... is not the active <role>" when this
  // process is not (or no longer) the active one: nothing was written. A
  // failed compare of the batch itself is succeeded = false, as MetaStore::Txn.
  Result<MetaTxnResult> FencedTxn(const MetaBatch& batch);
  // FencedTxn that also fails with kFailedPrecondition when a compare of the
  // batch fails (as MetaStore::Commit).
  Status FencedCommit(const MetaBatch& batch);

 private:
  Election(Session* session, ElectionOptions options);
  void Run();
  // One campaign attempt: Result true when elected; false with *revision set
  // to the store revision to watch the active key from.
  Result<bool> TryAcquire(int64_t* revision);
  void WaitForVacancy(int64_t revision);
  void HoldUntilLost();
  // Deletes the active key if it is still the one this process created.
  Status ReleaseKey();
  bool StopRequested();
  Status NotActive(std::string_view why) const;

  Session* const session_;
  const std::string role_;
  const std::string active_key_;
  const std::string term_key_;
  ElectionOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::kStandby;
  bool stop_ = false;
  int64_t term_ = 0;
  int64_t held_revision_ = 0;  // the active key's mod revision while active
  std::thread thread_;
};

std::string_view ElectionStateName(Election::State s);

}  // namespace kite
