#include "cluster/fenced_meta_store.h"

namespace kite {

namespace {

class FencedMetaStore final : public MetaStore {
 public:
  FencedMetaStore(MetaStore* inner, Election* election) : inner_(inner), election_(election) {}

  Result<std::optional<std::string>> Get(std::string_view key) override { return inner_->Get(key); }
  Status Scan(std::string_view prefix, const std::function<void(std::string_view, std::string_view)>& fn) override {
    return inner_->Scan(prefix, fn);
  }
  Status Commit(const MetaBatch& batch) override { return election_->FencedCommit(batch); }
  Result<MetaRead> Read(std::string_view key, bool prefix) override { return inner_->Read(key, prefix); }
  Result<MetaTxnResult> Txn(const MetaBatch& batch) override { return election_->FencedTxn(batch); }
  Result<LeaseId> GrantLease(int64_t ttl_s) override { return inner_->GrantLease(ttl_s); }
  Status KeepAliveLease(LeaseId lease) override { return inner_->KeepAliveLease(lease); }
  Status RevokeLease(LeaseId lease) override { return inner_->RevokeLease(lease); }
  Result<std::unique_ptr<MetaWatch>> Watch(std::string prefix, int64_t from_revision) override {
    return inner_->Watch(std::move(prefix), from_revision);
  }

 private:
  MetaStore* const inner_;
  Election* const election_;
};

}  // namespace

std::unique_ptr<MetaStore> MakeFencedMetaStore(MetaStore* inner, Election* election) {
  return std::make_unique<FencedMetaStore>(inner, election);
}

}  // namespace kite
