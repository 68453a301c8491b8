#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/meta/meta_store.h"

namespace kite {
namespace {

class RocksDbMetaStore final : public MetaStore {
 public:
  explicit RocksDbMetaStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return IOError("meta store get {}: {}", key, s.ToString());
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view prefix,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    rocksdb::Slice p(prefix.data(), prefix.size());
    for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
      fn(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
    }
    if (!it->status().ok()) return IOError("meta store scan {}: {}", prefix, it->status().ToString());
    return Status::OK();
  }

  Status Commit(const MetaBatch& batch) override {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      if (op.is_delete) {
        wb.Delete(op.key);
      } else {
        wb.Put(op.key, op.value);
      }
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, &wb);
    if (!s.ok()) return IOError("meta store commit: {}", s.ToString());
    return Status::OK();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

Result<std::unique_ptr<MetaStore>> OpenRocksDbMetaStore(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) return IOError("cannot open meta store at {}: {}", dir, s.ToString());
  return std::unique_ptr<MetaStore>(std::make_unique<RocksDbMetaStore>(std::unique_ptr<rocksdb::DB>(raw)));
}

}  // namespace kite
