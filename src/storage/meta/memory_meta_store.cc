#include "storage/meta/embedded_meta_store.h"

namespace kite {
namespace {

class MemoryMetaStore final : public EmbeddedMetaStore {
 public:
  ~MemoryMetaStore() override { StopLeaseThread(); }

 protected:
  Status Persist(const std::vector<MetaBatch::Op>&) override { return Status::OK(); }
};

}  // namespace

std::unique_ptr<MetaStore> NewMemoryMetaStore() { return std::make_unique<MemoryMetaStore>(); }

}  // namespace kite
