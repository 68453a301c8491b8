// Object store: immutable named blobs (segment column files, delete logs,
// index files). Standalone uses a local directory; the distributed mode will
// use S3/MinIO behind the same interface.
//
// Contract: Put is atomic and durable when it returns OK (readers see the old
// object, no object, or the whole new one; never a prefix). Keys are
// '/'-separated relative paths of [A-Za-z0-9_.=-] segments. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite {

// Reads one object piece by piece, so that a large object is never held
// twice (once as bytes, once decoded). Not thread-safe; the object it reads
// is immutable, so a reader sees one version of it throughout.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  virtual uint64_t size() const = 0;
  // Copies exactly n bytes at offset into dst; IOError when the object ends first.
  virtual Status ReadAt(uint64_t offset, size_t n, void* dst) = 0;
};

// One object of a listing (ObjectStore::ListInfo).
struct ObjectInfo {
  std::string key;
  uint64_t size_bytes = 0;
  // Last modification (the local file's mtime, S3's LastModified), Unix ms;
  // kUnknownModified when the store cannot tell.
  int64_t modified_ms = kUnknownModified;
  static constexpr int64_t kUnknownModified = -1;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // Put of the concatenation of `parts`. Stores that can write the parts one
  // after the other (the local store does) never build the concatenation;
  // the default does, then calls Put.
  virtual Status PutParts(const std::string& key, const std::vector<std::string_view>& parts);
  // NotFound (StatusCode::kNotFound) if the key does not exist.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // A reader over the object; NotFound if the key does not exist. The default
  // reads the whole object with Get and serves the pieces from memory.
  virtual Result<std::unique_ptr<ObjectReader>> Open(const std::string& key);
  // Deleting a missing key is OK.
  virtual Status Delete(const std::string& key) = 0;
  // Deletes every object whose key starts with prefix.
  virtual Status DeletePrefix(const std::string& prefix) = 0;
  // Keys starting with prefix, sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  // List with each object's size and modification time (the garbage
  // collector ages orphans by it), sorted by key. The default lists keys with
  // sizes 0 and times unknown (such objects are never old enough to collect).
  virtual Result<std::vector<ObjectInfo>> ListInfo(const std::string& prefix);
};

// Objects as files under `root` (written to a temp file, fsync'd, renamed).
Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& root);

}  // namespace kite
