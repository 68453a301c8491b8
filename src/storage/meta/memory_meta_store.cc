#include <map>
#include <mutex>

#include "storage/meta/meta_store.h"

namespace kite {
namespace {

class MemoryMetaStore final : public MetaStore {
 public:
  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = kv_.find(std::string(key));
    if (it == kv_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::lock_guard lock(mu_);
    for (auto it = kv_.lower_bound(std::string(prefix));
         it != kv_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
      fn(it->first, it->second);
    }
    return Status::OK();
  }
  Status Commit(const MetaBatch& batch) override {
    std::lock_guard lock(mu_);
    for (const auto& op : batch.ops()) {
      if (op.is_delete) {
        kv_.erase(op.key);
      } else {
        kv_[op.key] = op.value;
      }
    }
    return Status::OK();
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> kv_;
};

}  // namespace

std::unique_ptr<MetaStore> NewMemoryMetaStore() { return std::make_unique<MemoryMetaStore>(); }

}  // namespace kite
