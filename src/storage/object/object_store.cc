// The ObjectStore defaults for stores that cannot stream (object_store.h).
#include "storage/object/object_store.h"

#include <cstring>

namespace kite {
namespace {

class MemoryReader final : public ObjectReader {
 public:
  explicit MemoryReader(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, size_t n, void* dst) override {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      return IOError("object read of {} bytes at offset {}: the object has {}", n, offset, bytes_.size());
    }
    if (n > 0) std::memcpy(dst, bytes_.data() + offset, n);
    return Status::OK();
  }

 private:
  std::string bytes_;
};

}  // namespace

Status ObjectStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts) {
  size_t total = 0;
  for (std::string_view p : parts) total += p.size();
  std::string all;
  all.reserve(total);
  for (std::string_view p : parts) all.append(p);
  return Put(key, all);
}

Result<std::unique_ptr<ObjectReader>> ObjectStore::Open(const std::string& key) {
  KITE_ASSIGN_OR_RETURN(std::string bytes, Get(key));
  return std::unique_ptr<ObjectReader>(std::make_unique<MemoryReader>(std::move(bytes)));
}

Result<std::vector<ObjectInfo>> ObjectStore::ListInfo(const std::string& prefix) {
  KITE_ASSIGN_OR_RETURN(std::vector<std::string> keys, List(prefix));
  std::vector<ObjectInfo> out;
  out.reserve(keys.size());
  for (auto& k : keys) out.push_back(ObjectInfo{std::move(k), 0, ObjectInfo::kUnknownModified});
  return out;
}

}  // namespace kite
