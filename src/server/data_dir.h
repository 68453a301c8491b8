// The data directory of a standalone server and its exclusive lock.
//
// Layout (docs/formats/meta_keys.md): <dir>/LOCK (flock'd, holds the owner's
// pid), <dir>/meta (RocksDB meta store); later <dir>/wal and <dir>/objects.
// A second process opening the same directory fails with Reason::kDataDirInUse.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace kite {

class DataDirLock {
 public:
  // Creates `dir` if needed and takes the lock; released by the destructor
  // (and by the kernel if the process dies).
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace kite
