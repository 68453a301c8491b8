// The RocksDB meta store (OpenRocksDbMetaStore in meta_store.h): the durable
// half of an EmbeddedMetaStore, which serves every read from its in-memory
// copy (loaded here at open) and calls Persist() for each batch.
//
// Damage and failure handling (ARCHITECTURE.md, "Damaged files and full
// disks"):
//  - The log is replayed with kTolerateCorruptedTailRecords: a record cut
//    short by a crash is dropped (it was never acknowledged: commits are
//    synced), any checksum mismatch is corruption and the store refuses to
//    open. RocksDB's default (kPointInTimeRecovery) silently stops at the
//    first bad record and drops every later commit.
//  - A clean close flushes the memtable to a table file, so that after a
//    clean stop the metadata does not depend on the log at all.
//  - RocksDB's info log goes to Kite's log, not to a file in the data dir:
//    the Debian build keeps RocksDB's assertions, and its file logger aborts
//    the process on the line after a failed write (ENOSPC).
//  - A failed commit puts RocksDB in a read-only error state. The next commit
//    first reopens the database (which also drops a torn record the failure
//    left) and puts back the previous values of the failed batch's keys if
//    any of its operations did land, so a failed commit never reappears after
//    a restart; when the reopen fails (the disk is still full), the commit
//    fails with that error and the next one tries again.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <shared_mutex>

#include "storage/meta/embedded_meta_store.h"

namespace kite {
namespace {

class SpdlogRocksLogger final : public rocksdb::Logger {
 public:
  SpdlogRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    spdlog::warn("meta store (rocksdb): {}", buf);
  }
};

rocksdb::Options MetaOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  options.info_log = std::make_shared<SpdlogRocksLogger>();
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  return options;
}

Result<std::unique_ptr<rocksdb::DB>> OpenDb(const std::string& dir) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MetaOptions(), dir, &raw);
  if (!s.ok()) return IOError("cannot open meta store at {}: {}", dir, s.ToString());
  return std::unique_ptr<rocksdb::DB>(raw);
}

// A failed write: ENOSPC is Milvus's "disk limit exceeded" (code 7).
Status CommitError(const rocksdb::Status& s) {
  if (s.IsNoSpace() || s.ToString().find("No space left") != std::string::npos) {
    return MakeStatus(StatusCode::kIOError, Reason::kDiskFull, "disk limit exceeded: meta store commit: {}",
                      s.ToString());
  }
  return IOError("meta store commit: {}", s.ToString());
}

class RocksDbMetaStore final : public EmbeddedMetaStore {
 public:
  RocksDbMetaStore(std::string dir, std::unique_ptr<rocksdb::DB> db) : dir_(std::move(dir)), db_(std::move(db)) {}

  ~RocksDbMetaStore() override {
    StopLeaseThread();
    std::unique_lock lock(mu_);
    if (db_ && !broken_) {
      rocksdb::FlushOptions fo;
      rocksdb::Status s = db_->Flush(fo);
      if (!s.ok()) spdlog::warn("meta store: flush at close failed: {}", s.ToString());
    }
    if (db_) (void)db_->Close();
  }

  // Reads the whole store into the in-memory copy (at open).
  Status LoadAll() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) LoadKey(it->key().ToString(), it->value().ToString());
    if (!it->status().ok()) return IOError("meta store {}: reading at open: {}", dir_, it->status().ToString());
    return Status::OK();
  }

  Status Persist(const std::vector<MetaBatch::Op>& ops) override {
    std::unique_lock lock(mu_);
    if (broken_) KITE_RETURN_IF_ERROR(RecoverLocked());
    // The keys' current values, to put back if this commit fails but lands.
    std::vector<std::pair<std::string, std::optional<std::string>>> before;
    rocksdb::WriteBatch wb;
    for (const auto& op : ops) {
      std::string value;
      rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), op.key, &value);
      if (!g.ok() && !g.IsNotFound()) return IOError("meta store get {}: {}", op.key, g.ToString());
      before.emplace_back(op.key, g.ok() ? std::optional<std::string>(std::move(value)) : std::nullopt);
      if (op.is_delete) {
        wb.Delete(op.key);
      } else {
        wb.Put(op.key, op.value);
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, &wb);
    if (s.ok()) return Status::OK();
    broken_ = true;
    last_error_ = s.ToString();
    undo_ = std::move(before);
    spdlog::error("meta store commit failed ({}); the store reopens before the next commit", last_error_);
    return CommitError(s);
  }

 private:
  // Reopens the database after a failed commit and takes back whatever of
  // the failed batch landed. Called with mu_ held exclusively.
  Status RecoverLocked() {
    if (db_) {
      (void)db_->Close();
      db_.reset();
    }
    auto db = OpenDb(dir_);
    if (!db.ok() && db.status().message().find("No space left") != std::string::npos) {
      last_error_ = db.status().message();
      return MakeStatus(StatusCode::kIOError, Reason::kDiskFull, "disk limit exceeded: {}", last_error_);
    }
    if (!db.ok()) {
      last_error_ = db.status().message();
      return db.status();
    }
    db_ = std::move(db).value();
    rocksdb::WriteBatch wb;
    for (const auto& [key, value] : undo_) {
      std::string now;
      rocksdb::Status g = db_->Get(rocksdb::ReadOptions(), key, &now);
      if (!g.ok() && !g.IsNotFound()) return IOError("meta store get {}: {}", key, g.ToString());
      std::optional<std::string> current = g.ok() ? std::optional<std::string>(std::move(now)) : std::nullopt;
      if (current == value) continue;
      if (value) {
        wb.Put(key, *value);
      } else {
        wb.Delete(key);
      }
    }
    if (wb.Count() > 0) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      rocksdb::Status s = db_->Write(wo, &wb);
      if (!s.ok()) {
        last_error_ = s.ToString();
        return CommitError(s);
      }
      spdlog::warn("meta store: took back {} keys of a commit that failed but landed", wb.Count());
    }
    undo_.clear();
    broken_ = false;
    spdlog::info("meta store: reopened after a failed commit");
    return Status::OK();
  }

  const std::string dir_;
  std::shared_mutex mu_;  // exclusive for commits and reopening
  std::unique_ptr<rocksdb::DB> db_;
  bool broken_ = false;  // a commit failed: reopen before the next one
  std::string last_error_;
  std::vector<std::pair<std::string, std::optional<std::string>>> undo_;
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenRocksDbMetaStore(const std::string& dir) {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenDb(dir));
  auto store = std::make_unique<RocksDbMetaStore>(dir, std::move(db));
  KITE_RETURN_IF_ERROR(store->LoadAll());
  return std::unique_ptr<MetaStore>(std::move(store));
}

}  // namespace kite
