#include "storage/meta/embedded_meta_store.h"

namespace kite {

class EmbeddedMetaWatch final : public MetaWatch {
 public:
  EmbeddedMetaWatch(EmbeddedMetaStore* store, std::string prefix, int64_t next)
      : store_(store), prefix_(std::move(prefix)), next_(next) {}

  Result<std::vector<MetaEvent>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(store_->mu_);
    auto deadline = EmbeddedMetaStore::Clock::now() + timeout;
    while (true) {
      if (store_->stop_) return MakeStatus(StatusCode::kCancelled, Reason::kNone, "meta store watch: store closed");
      if (next_ <= store_->compacted_revision_) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                          "meta store watch: revision {} is compacted (history starts after {})", next_,
                          store_->compacted_revision_);
      }
      std::vector<MetaEvent> out;
      int64_t last = next_ - 1;
      for (const MetaEvent& e : store_->history_) {
        if (e.kv.mod_revision < next_) continue;
        last = e.kv.mod_revision;
        if (std::string_view(e.kv.key).starts_with(prefix_)) out.push_back(e);
      }
      next_ = std::max(next_, last + 1);
      if (!out.empty()) return out;
      if (store_->changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
          EmbeddedMetaStore::Clock::now() >= deadline) {
        return out;
      }
    }
  }

 private:
  EmbeddedMetaStore* store_;
  std::string prefix_;
  int64_t next_;  // the first revision not yet returned
};

EmbeddedMetaStore::EmbeddedMetaStore() : lease_thread_([this] { ExpireLoop(); }) {}

EmbeddedMetaStore::~EmbeddedMetaStore() { StopLeaseThread(); }

void EmbeddedMetaStore::StopLeaseThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  if (lease_thread_.joinable()) lease_thread_.join();
}

void EmbeddedMetaStore::LoadKey(std::string key, std::string value) {
  std::lock_guard lock(mu_);
  Entry e;
  e.value = std::move(value);
  e.create_revision = e.mod_revision = 1;
  e.version = 1;
  kv_[std::move(key)] = std::move(e);
  compacted_revision_ = 1;  // revision 1 is the loaded state: no events
}

MetaKv EmbeddedMetaStore::ToKv(const std::string& key, const Entry& e) const {
  return MetaKv{key, e.value, e.create_revision, e.mod_revision, e.version, e.lease};
}

Result<std::optional<std::string>> EmbeddedMetaStore::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second.value);
}

Status EmbeddedMetaStore::Scan(std::string_view prefix,
                               const std::function<void(std::string_view, std::string_view)>& fn) {
  KITE_ASSIGN_OR_RETURN(MetaRead read, Read(prefix, true));
  for (const MetaKv& kv : read.kvs) fn(kv.key, kv.value);
  return Status::OK();
}

Result<MetaRead> EmbeddedMetaStore::Read(std::string_view key, bool prefix) {
  std::lock_guard lock(mu_);
  MetaRead out;
  out.revision = revision_;
  if (!prefix) {
    auto it = kv_.find(key);
    if (it != kv_.end()) out.kvs.push_back(ToKv(it->first, it->second));
    return out;
  }
  for (auto it = kv_.lower_bound(key); it != kv_.end() && std::string_view(it->first).starts_with(key); ++it) {
    out.kvs.push_back(ToKv(it->first, it->second));
  }
  return out;
}

Status EmbeddedMetaStore::Commit(const MetaBatch& batch) {
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, Txn(batch));
  if (!r.succeeded) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "meta store commit: a compare failed (another writer changed a key first)");
  }
  return Status::OK();
}

Result<MetaTxnResult> EmbeddedMetaStore::Txn(const MetaBatch& batch) {
  std::lock_guard lock(mu_);
  for (const auto& c : batch.compares()) {
    auto it = kv_.find(c.key);
    int64_t mod = it == kv_.end() ? 0 : it->second.mod_revision;
    if (mod != c.mod_revision) return MetaTxnResult{false, revision_};
  }
  for (const auto& op : batch.ops()) {
    if (op.lease != 0 && !leases_.contains(op.lease)) {
      return NotFoundLease(op.lease);
    }
  }
  if (batch.ops().empty()) return MetaTxnResult{true, revision_};
  std::vector<MetaBatch::Op> durable;
  durable.reserve(batch.ops().size());
  for (const auto& op : batch.ops()) {
    if (op.lease != 0) {
      durable.push_back({op.key, {}, true, 0});
    } else {
      durable.push_back(op);
    }
  }
  KITE_RETURN_IF_ERROR(Persist(durable));
  ApplyLocked(batch.ops());
  return MetaTxnResult{true, revision_};
}

Status EmbeddedMetaStore::NotFoundLease(LeaseId lease) {
  return MakeStatus(StatusCode::kNotFound, Reason::kNone, "meta store: lease {} not found (expired or revoked)",
                    lease);
}

// Applies ops as one new revision and records their events.
void EmbeddedMetaStore::ApplyLocked(const std::vector<MetaBatch::Op>& ops) {
  const int64_t rev = ++revision_;
  for (const auto& op : ops) {
    MetaEvent ev;
    if (op.is_delete) {
      auto it = kv_.find(op.key);
      if (it == kv_.end()) continue;
      kv_.erase(it);
      ev.type = MetaEvent::Type::kDelete;
      ev.kv.key = op.key;
      ev.kv.mod_revision = rev;
    } else {
      Entry& e = kv_[op.key];
      if (e.version == 0) e.create_revision = rev;
      e.value = op.value;
      e.mod_revision = rev;
      e.version++;
      e.lease = op.lease;
      ev.type = MetaEvent::Type::kPut;
      ev.kv = ToKv(op.key, e);
    }
    history_bytes_ += ev.kv.key.size() + ev.kv.value.size();
    history_.push_back(std::move(ev));
  }
  // The newest revision always stays, however large: a watcher at it must see it.
  while ((history_.size() > kHistoryEvents || history_bytes_ > kHistoryBytes) &&
         history_.front().kv.mod_revision < rev) {
    compacted_revision_ = history_.front().kv.mod_revision;
    // Drop whole revisions only, so a watcher never sees half a batch.
    while (!history_.empty() && history_.front().kv.mod_revision == compacted_revision_) {
      history_bytes_ -= history_.front().kv.key.size() + history_.front().kv.value.size();
      history_.pop_front();
    }
  }
  changed_.notify_all();
}

Result<LeaseId> EmbeddedMetaStore::GrantLease(int64_t ttl_s) {
  if (ttl_s <= 0) return InvalidArgument("meta store: lease ttl {} s is not positive", ttl_s);
  std::lock_guard lock(mu_);
  LeaseId id = next_lease_++;
  leases_[id] = Lease{ttl_s, Clock::now() + std::chrono::seconds(ttl_s)};
  changed_.notify_all();
  return id;
}

Status EmbeddedMetaStore::KeepAliveLease(LeaseId lease) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(lease);
  if (it == leases_.end()) return NotFoundLease(lease);
  it->second.deadline = Clock::now() + std::chrono::seconds(it->second.ttl_s);
  return Status::OK();
}

Status EmbeddedMetaStore::RevokeLease(LeaseId lease) {
  std::lock_guard lock(mu_);
  if (leases_.erase(lease) == 0) return Status::OK();
  DeleteLeaseKeysLocked(lease);
  return Status::OK();
}

// Leased keys are never persisted, so their deletion needs no Persist().
void EmbeddedMetaStore::DeleteLeaseKeysLocked(LeaseId lease) {
  std::vector<MetaBatch::Op> dels;
  for (const auto& [key, e] : kv_) {
    if (e.lease == lease) dels.push_back({key, {}, true, 0});
  }
  if (!dels.empty()) ApplyLocked(dels);
}

void EmbeddedMetaStore::ExpireLoop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (it->second.deadline <= now) {
        LeaseId id = it->first;
        it = leases_.erase(it);
        DeleteLeaseKeysLocked(id);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    changed_.wait_until(lock, next);
  }
}

Result<std::unique_ptr<MetaWatch>> EmbeddedMetaStore::Watch(std::string prefix, int64_t from_revision) {
  std::lock_guard lock(mu_);
  int64_t next = from_revision <= 0 ? revision_ + 1 : from_revision;
  if (next <= compacted_revision_) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "meta store watch: revision {} is compacted (history starts after {})", next,
                      compacted_revision_);
  }
  return std::unique_ptr<MetaWatch>(std::make_unique<EmbeddedMetaWatch>(this, std::move(prefix), next));
}

}  // namespace kite
