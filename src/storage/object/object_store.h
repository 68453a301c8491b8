// Object store: immutable named blobs (segment column files, delete logs,
// index files). Standalone uses a local directory; the distributed mode will
// use S3/MinIO behind the same interface.
//
// Contract: Put is atomic and durable when it returns OK (readers see the old
// object, no object, or the whole new one; never a prefix). Keys are
// '/'-separated relative paths of [A-Za-z0-9_.=-] segments. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite {

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // NotFound (StatusCode::kNotFound) if the key does not exist.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Deleting a missing key is OK.
  virtual Status Delete(const std::string& key) = 0;
  // Deletes every object whose key starts with prefix.
  virtual Status DeletePrefix(const std::string& prefix) = 0;
  // Keys starting with prefix, sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
};

// Objects as files under `root` (written to a temp file, fsync'd, renamed).
Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& root);

}  // namespace kite
