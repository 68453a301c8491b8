// MetaStore: the strongly consistent key-value store holding Kite's metadata
// (schemas, ids, segment topology, checkpoints). Standalone uses RocksDB under
// the data dir; the distributed mode will put etcd behind the same interface.
//
// Contract: Commit() applies all operations of a batch atomically and durably
// (synced) or none of them. Get/Scan see every committed batch. Thread-safe.
// Keys are documented in docs/formats/meta_keys.md.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite {

class MetaBatch {
 public:
  void Put(std::string key, std::string value) {
    ops_.push_back({std::move(key), std::move(value), false});
  }
  void Delete(std::string key) { ops_.push_back({std::move(key), {}, true}); }
  bool empty() const { return ops_.empty(); }

  struct Op {
    std::string key;
    std::string value;
    bool is_delete;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Calls fn(key, value) for every key starting with prefix, in key order.
  virtual Status Scan(std::string_view prefix,
                      const std::function<void(std::string_view, std::string_view)>& fn) = 0;
  virtual Status Commit(const MetaBatch& batch) = 0;
};

// Opens (creating if needed) a RocksDB meta store in dir. Writes are fsync'd.
Result<std::unique_ptr<MetaStore>> OpenRocksDbMetaStore(const std::string& dir);
// A process-local store for tests; contents vanish with the object.
std::unique_ptr<MetaStore> NewMemoryMetaStore();

}  // namespace kite
