// EmbeddedMetaStore: the in-process MetaStore semantics (revisions, compares,
// leases with TTL expiry, watch history) over an in-memory ordered map, shared
// by the memory store and the RocksDB store. A subclass makes batches durable
// by overriding Persist(); leased puts are never persisted (see meta_store.h).
//
// Thread-safe. One background thread expires leases. The watch history keeps
// the last kHistoryEvents events and at most kHistoryBytes of keys and values;
// older revisions answer "compacted".
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "storage/meta/meta_store.h"

namespace kite {

class EmbeddedMetaStore : public MetaStore {
 public:
  static constexpr size_t kHistoryEvents = 10000;
  static constexpr size_t kHistoryBytes = 8 << 20;

  EmbeddedMetaStore();
  ~EmbeddedMetaStore() override;
  EmbeddedMetaStore(const EmbeddedMetaStore&) = delete;
  EmbeddedMetaStore& operator=(const EmbeddedMetaStore&) = delete;

  Result<std::optional<std::string>> Get(std::string_view key) override;
  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override;
  Status Commit(const MetaBatch& batch) override;
  Result<MetaRead> Read(std::string_view key, bool prefix) override;
  Result<MetaTxnResult> Txn(const MetaBatch& batch) override;
  Result<LeaseId> GrantLease(int64_t ttl_s) override;
  Status KeepAliveLease(LeaseId lease) override;
  Status RevokeLease(LeaseId lease) override;
  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override;

 protected:
  // Loads a persisted key at open (before any other call), at revision 1.
  void LoadKey(std::string key, std::string value);
  // Makes the durable part of a batch durable: puts without a lease and
  // deletes (a leased put deletes any persisted value of its key). Called
  // with the store locked, after the compares passed; an error leaves the
  // in-memory state unchanged.
  virtual Status Persist(const std::vector<MetaBatch::Op>& durable_ops) = 0;
  // Stops the lease thread; a subclass calls it first in its destructor.
  void StopLeaseThread();

 private:
  friend class EmbeddedMetaWatch;
  struct Entry {
    std::string value;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
    int64_t version = 0;
    LeaseId lease = 0;
  };
  struct Lease {
    int64_t ttl_s = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  using Clock = std::chrono::steady_clock;

  static Status NotFoundLease(LeaseId lease);
  MetaKv ToKv(const std::string& key, const Entry& e) const;
  void ApplyLocked(const std::vector<MetaBatch::Op>& ops);
  void DeleteLeaseKeysLocked(LeaseId lease);
  void ExpireLoop();

  std::mutex mu_;
  std::condition_variable changed_;  // new events or leases
  std::map<std::string, Entry, std::less<>> kv_;
  int64_t revision_ = 1;
  std::deque<MetaEvent> history_;
  size_t history_bytes_ = 0;  // keys and values in history_
  int64_t compacted_revision_ = 0;  // events at or below this were dropped from history_
  std::map<LeaseId, Lease> leases_;
  LeaseId next_lease_ = 1;
  bool stop_ = false;
  std::thread lease_thread_;
};

}  // namespace kite
