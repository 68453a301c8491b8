// MetaStore: the strongly consistent key-value store holding Kite's metadata
// (schemas, ids, segment topology, checkpoints). Standalone uses RocksDB under
// the data dir by default, or etcd (etcd_meta_store.h) when configured.
//
// Contract (every implementation, tested by meta_store_test.cc against all):
//  - Commit()/Txn() apply all operations of a batch atomically and durably or
//    none of them. Get/Scan/Read see every committed batch. Thread-safe.
//  - Revisions (etcd's model): the store has one revision counter; every
//    successful non-empty batch advances it by one, and each key records the
//    revision of its last change (mod_revision), of its creation
//    (create_revision) and how often it changed since (version). Revisions of
//    the embedded stores count from the process start (they are not
//    persisted; everything that holds one lives in the same process).
//  - Compare-and-swap: a batch may require keys to have a given mod revision
//    (0: the key must not exist). The batch applies only if every compare
//    holds, decided atomically with the writes, so two writers that read the
//    same revision can never both win.
//  - Leases: GrantLease(ttl) returns a lease; a key put with it is deleted
//    (a DELETE event, a new revision) when the lease expires (no keep-alive
//    within ttl) or is revoked. Keys with a lease are never persisted by the
//    embedded stores (a lease cannot outlive its process).
//  - Watch(prefix, from_revision): the changes to keys under prefix from that
//    revision on, in revision order (within a batch: in operation order).
//    A revision older than the retained history fails with kFailedPrecondition
//    ("compacted"), then the caller re-reads and watches from the read's
//    revision + 1.
//  - Values of any size: a store whose server limits request sizes (etcd)
//    splits large values transparently; callers never see the split.
// Keys are documented in docs/formats/meta_keys.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite {

using LeaseId = int64_t;  // 0: no lease

class MetaBatch {
 public:
  void Put(std::string key, std::string value) {
    ops_.push_back({std::move(key), std::move(value), false, 0});
  }
  // A put whose key is deleted when `lease` expires or is revoked.
  void PutWithLease(std::string key, std::string value, LeaseId lease) {
    ops_.push_back({std::move(key), std::move(value), false, lease});
  }
  void Delete(std::string key) { ops_.push_back({std::move(key), {}, true, 0}); }
  // The batch applies only if `key`'s mod revision is `mod_revision` when it
  // commits; 0 requires the key to be absent.
  void RequireModRevision(std::string key, int64_t mod_revision) {
    compares_.push_back({std::move(key), mod_revision});
  }
  bool empty() const { return ops_.empty() && compares_.empty(); }

  struct Op {
    std::string key;
    std::string value;
    bool is_delete;
    LeaseId lease;
  };
  struct Compare {
    std::string key;
    int64_t mod_revision;
  };
  const std::vector<Op>& ops() const { return ops_; }
  const std::vector<Compare>& compares() const { return compares_; }

 private:
  std::vector<Op> ops_;
  std::vector<Compare> compares_;
};

struct MetaKv {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  LeaseId lease = 0;
};

// The result of a read: the matching keys (key order) and the store revision
// the read was taken at.
struct MetaRead {
  int64_t revision = 0;
  std::vector<MetaKv> kvs;
};

struct MetaTxnResult {
  bool succeeded = false;  // false: a compare failed, nothing was written
  int64_t revision = 0;    // the store revision after the batch (or at the failed compare)
};

struct MetaEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  MetaKv kv;  // for kDelete: key and mod_revision (the revision of the delete) only
};

// The changes under one prefix. Not thread-safe: one consumer. Must not
// outlive the store that made it.
class MetaWatch {
 public:
  virtual ~MetaWatch() = default;
  // The next events in revision order; waits up to `timeout` for at least
  // one, returns an empty list when none came. An error ends the watch.
  virtual Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Calls fn(key, value) for every key starting with prefix, in key order,
  // all from one revision.
  virtual Status Scan(std::string_view prefix,
                      const std::function<void(std::string_view, std::string_view)>& fn) = 0;
  // Txn() that fails with kFailedPrecondition when a compare fails.
  virtual Status Commit(const MetaBatch& batch) = 0;

  // One key (prefix = false) or every key under a prefix, with revisions.
  virtual Result<MetaRead> Read(std::string_view key, bool prefix) = 0;
  // Applies the batch iff all its compares hold.
  virtual Result<MetaTxnResult> Txn(const MetaBatch& batch) = 0;

  virtual Result<LeaseId> GrantLease(int64_t ttl_s) = 0;
  // Renews the lease for its full TTL; kNotFound once it has expired.
  virtual Status KeepAliveLease(LeaseId lease) = 0;
  // Ends the lease now, deleting its keys; an unknown lease is not an error.
  virtual Status RevokeLease(LeaseId lease) = 0;

  // from_revision 0: from the next change on.
  virtual Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) = 0;
};

// Opens (creating if needed) a RocksDB meta store in dir. Writes are fsync'd.
// The whole store is also held in memory (metadata is small) to serve
// revisions, compares and watches.
Result<std::unique_ptr<MetaStore>> OpenRocksDbMetaStore(const std::string& dir);
// A process-local store for tests; contents vanish with the object.
std::unique_ptr<MetaStore> NewMemoryMetaStore();

}  // namespace kite
