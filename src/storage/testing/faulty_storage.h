// Fault-injecting doubles of the storage interfaces (MetaStore, ObjectStore,
// Wal), for tests of the roles above them: each wraps a real implementation
// and fails, or slows down, the calls a FaultPlan selects. Test-only (built
// into kite_storage_testing when KITE_BUILD_TESTS is on).
//
//   auto objects = FaultyObjectStore(real_store);
//   objects.writes().FailNth(2, DiskFull("objects/x"));   // the 2nd write fails
//   objects.writes().FailAfterBytes(1 << 20, DiskFull()); // a disk with 1 MiB free
//   objects.writes().Clear();                             // space freed
//
// A failed call does nothing to the wrapped store (the failure happens
// before it is called), except FailAfterBytes on a WAL append, which lets the
// wrapped channel see nothing either: the doubles model "the write did not
// happen", the state a real store must get back to after a failed write.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"
#include "storage/wal/wal.h"

namespace kite::testing {

// The status the local stores report for ENOSPC on `path` (Reason::kDiskFull).
Status DiskFull(const std::string& path = "<test>");
// IOError as the local stores report EIO for `path`.
Status IoFailure(const std::string& path = "<test>");

// Which calls of one kind (e.g. an object store's writes) fail or wait.
class FaultPlan {
 public:
  // The nth call from now (1 = the next) fails with `error`; with sticky,
  // every call after it fails too, until Clear().
  void FailNth(int64_t n, Status error, bool sticky = false);
  // Every call from now fails with `error`, until Clear().
  void FailAlways(Status error) { FailNth(1, std::move(error), true); }
  // Calls succeed until they have carried `bytes` bytes in all; the call that
  // would go past it, and every later one, fails with `error` (a disk with
  // `bytes` bytes free), until Clear().
  void FailAfterBytes(uint64_t bytes, Status error);
  // Every call first sleeps this long (0: no delay).
  void SetDelay(std::chrono::milliseconds delay);
  // Calls from now wait (after being counted in calls()) until Release():
  // a store that hangs, for tests of what the roles do meanwhile.
  void Hold();
  void Release();
  // Back to "everything succeeds, no delay"; counters are kept.
  void Clear();

  // Called by the doubles before each call; returns the injected failure or OK.
  Status OnCall(uint64_t bytes = 0);

  int64_t calls() const { return calls_.load(); }
  int64_t failures() const { return failures_.load(); }

 private:
  std::mutex mu_;
  int64_t fail_at_ = 0;  // call number (calls_ value) that fails; 0 = none
  bool sticky_ = false;
  Status error_;
  bool byte_limit_ = false;
  uint64_t bytes_left_ = 0;
  Status byte_error_;
  std::chrono::milliseconds delay_{0};
  bool held_ = false;
  std::condition_variable released_;
  std::atomic<int64_t> calls_{0};
  std::atomic<int64_t> failures_{0};
};

class FaultyMetaStore final : public MetaStore {
 public:
  explicit FaultyMetaStore(MetaStore* inner) : inner_(inner) {}
  FaultPlan& commits() { return commits_; }
  FaultPlan& reads() { return reads_; }

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Status Scan(std::string_view prefix, const std::function<void(std::string_view, std::string_view)>& fn) override;
  // Bytes of a commit: the sum of its keys and values.
  Status Commit(const MetaBatch& batch) override;
  // Read counts as a read, Txn as a commit; leases and watches pass through.
  Result<MetaRead> Read(std::string_view key, bool prefix) override;
  Result<MetaTxnResult> Txn(const MetaBatch& batch) override;
  Result<LeaseId> GrantLease(int64_t ttl_s) override { return inner_->GrantLease(ttl_s); }
  Status KeepAliveLease(LeaseId lease) override { return inner_->KeepAliveLease(lease); }
  Status RevokeLease(LeaseId lease) override { return inner_->RevokeLease(lease); }
  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override {
    return inner_->Watch(std::move(prefix), from_revision);
  }

 private:
  MetaStore* inner_;
  FaultPlan commits_;
  FaultPlan reads_;
};

class FaultyObjectStore final : public ObjectStore {
 public:
  explicit FaultyObjectStore(ObjectStore* inner) : inner_(inner) {}
  FaultPlan& writes() { return writes_; }  // Put, PutParts
  FaultPlan& reads() { return reads_; }    // Get, Open, List, ListInfo
  FaultPlan& deletes() { return deletes_; }

  Status Put(const std::string& key, std::string_view data) override;
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::unique_ptr<ObjectReader>> Open(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Status DeletePrefix(const std::string& prefix) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Result<std::vector<ObjectInfo>> ListInfo(const std::string& prefix) override;

 private:
  ObjectStore* inner_;
  FaultPlan writes_;
  FaultPlan reads_;
  FaultPlan deletes_;
};

// Every channel it opens shares the wal's plans.
class FaultyWal final : public Wal {
 public:
  explicit FaultyWal(Wal* inner) : inner_(inner) {}
  FaultPlan& appends() { return appends_; }  // bytes: the payload
  FaultPlan& syncs() { return syncs_; }
  FaultPlan& opens() { return opens_; }
  FaultPlan& truncates() { return truncates_; }
  FaultPlan& drops() { return drops_; }  // DropChannel

  Result<std::shared_ptr<WalChannel>> OpenChannel(const std::string& channel, WalTerm term) override;
  Status DropChannel(const std::string& channel) override;

 private:
  Wal* inner_;
  FaultPlan appends_;
  FaultPlan syncs_;
  FaultPlan opens_;
  FaultPlan truncates_;
  FaultPlan drops_;
};

}  // namespace kite::testing
