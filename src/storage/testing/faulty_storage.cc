#include "storage/testing/faulty_storage.h"

#include <thread>

namespace kite::testing {

Status DiskFull(const std::string& path) {
  return MakeStatus(StatusCode::kIOError, Reason::kDiskFull, "disk limit exceeded: write {}: No space left on device",
                    path);
}
Status IoFailure(const std::string& path) { return IOError("write {}: Input/output error", path); }

void FaultPlan::FailNth(int64_t n, Status error, bool sticky) {
  std::lock_guard lock(mu_);
  fail_at_ = calls_.load() + n;
  sticky_ = sticky;
  error_ = std::move(error);
}

void FaultPlan::FailAfterBytes(uint64_t bytes, Status error) {
  std::lock_guard lock(mu_);
  byte_limit_ = true;
  bytes_left_ = bytes;
  byte_error_ = std::move(error);
}

void FaultPlan::SetDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_ = delay;
}

void FaultPlan::Hold() {
  std::lock_guard lock(mu_);
  held_ = true;
}

void FaultPlan::Release() {
  {
    std::lock_guard lock(mu_);
    held_ = false;
  }
  released_.notify_all();
}

void FaultPlan::Clear() {
  std::lock_guard lock(mu_);
  fail_at_ = 0;
  sticky_ = false;
  error_ = Status::OK();
  byte_limit_ = false;
  bytes_left_ = 0;
  byte_error_ = Status::OK();
  delay_ = std::chrono::milliseconds(0);
}

Status FaultPlan::OnCall(uint64_t bytes) {
  std::chrono::milliseconds delay{0};
  Status st;
  {
    std::unique_lock lock(mu_);
    const int64_t n = ++calls_;
    released_.wait(lock, [this] { return !held_; });
    delay = delay_;
    if (fail_at_ != 0 && (n == fail_at_ || (sticky_ && n > fail_at_))) {
      st = error_;
    } else if (byte_limit_) {
      if (bytes > bytes_left_) {
        bytes_left_ = 0;
        st = byte_error_;
      } else {
        bytes_left_ -= bytes;
      }
    }
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  if (!st.ok()) ++failures_;
  return st;
}

// ---- meta store

Result<std::optional<std::string>> FaultyMetaStore::Get(std::string_view key) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->Get(key);
}

Status FaultyMetaStore::Scan(std::string_view prefix,
                             const std::function<void(std::string_view, std::string_view)>& fn) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->Scan(prefix, fn);
}

Status FaultyMetaStore::Commit(const MetaBatch& batch) {
  uint64_t bytes = 0;
  for (const auto& op : batch.ops()) bytes += op.key.size() + op.value.size();
  KITE_RETURN_IF_ERROR(commits_.OnCall(bytes));
  return inner_->Commit(batch);
}

Result<MetaRead> FaultyMetaStore::Read(std::string_view key, bool prefix) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->Read(key, prefix);
}

Result<MetaTxnResult> FaultyMetaStore::Txn(const MetaBatch& batch) {
  uint64_t bytes = 0;
  for (const auto& op : batch.ops()) bytes += op.key.size() + op.value.size();
  KITE_RETURN_IF_ERROR(commits_.OnCall(bytes));
  return inner_->Txn(batch);
}

// ---- object store

Status FaultyObjectStore::Put(const std::string& key, std::string_view data) {
  KITE_RETURN_IF_ERROR(writes_.OnCall(data.size()));
  return inner_->Put(key, data);
}

Status FaultyObjectStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts) {
  uint64_t bytes = 0;
  for (auto p : parts) bytes += p.size();
  KITE_RETURN_IF_ERROR(writes_.OnCall(bytes));
  return inner_->PutParts(key, parts);
}

Result<std::string> FaultyObjectStore::Get(const std::string& key) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->Get(key);
}

Result<std::unique_ptr<ObjectReader>> FaultyObjectStore::Open(const std::string& key) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->Open(key);
}

Status FaultyObjectStore::Delete(const std::string& key) {
  KITE_RETURN_IF_ERROR(deletes_.OnCall());
  return inner_->Delete(key);
}

Status FaultyObjectStore::DeletePrefix(const std::string& prefix) {
  KITE_RETURN_IF_ERROR(deletes_.OnCall());
  return inner_->DeletePrefix(prefix);
}

Result<std::vector<std::string>> FaultyObjectStore::List(const std::string& prefix) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->List(prefix);
}

Result<std::vector<ObjectInfo>> FaultyObjectStore::ListInfo(const std::string& prefix) {
  KITE_RETURN_IF_ERROR(reads_.OnCall());
  return inner_->ListInfo(prefix);
}

// ---- WAL

namespace {

class FaultyWalChannel final : public WalChannel {
 public:
  FaultyWalChannel(std::shared_ptr<WalChannel> inner, FaultyWal* wal) : inner_(std::move(inner)), wal_(wal) {}

  Result<Lsn> Append(std::string_view payload) override {
    KITE_RETURN_IF_ERROR(wal_->appends().OnCall(payload.size()));
    return inner_->Append(payload);
  }
  Status Sync() override {
    KITE_RETURN_IF_ERROR(wal_->syncs().OnCall());
    return inner_->Sync();
  }
  Status Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) override {
    return inner_->Replay(after, fn);
  }
  Lsn LastLsn() const override { return inner_->LastLsn(); }
  Status TruncateBefore(Lsn upto) override {
    KITE_RETURN_IF_ERROR(wal_->truncates().OnCall());
    return inner_->TruncateBefore(upto);
  }

 private:
  std::shared_ptr<WalChannel> inner_;
  FaultyWal* wal_;
};

}  // namespace

Result<std::shared_ptr<WalChannel>> FaultyWal::OpenChannel(const std::string& channel, WalTerm term) {
  KITE_RETURN_IF_ERROR(opens_.OnCall());
  KITE_ASSIGN_OR_RETURN(std::shared_ptr<WalChannel> inner, inner_->OpenChannel(channel, term));
  return std::shared_ptr<WalChannel>(std::make_shared<FaultyWalChannel>(std::move(inner), this));
}

Status FaultyWal::DropChannel(const std::string& channel) {
  KITE_RETURN_IF_ERROR(drops_.OnCall());
  return inner_->DropChannel(channel);
}

}  // namespace kite::testing
