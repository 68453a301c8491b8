// The local object store: object <key> is the file <root>/<key>. Layout and
// key rules: docs/formats/object_store.md.
//
// Put writes <dir>/~tmp.<pid>.<n>, fsyncs it, renames it over the target and
// fsyncs the directory, so a reader (or a restart) sees the old object or the
// whole new one. '~' is not a key character, so temp files never collide with
// keys; List skips them and OpenLocalObjectStore removes leftovers of a crash.
//
// Directories are created on Put and removed again when a Delete or
// DeletePrefix empties them. dirs_mu_ keeps the two from racing: Put holds it
// shared from mkdir until its temp file exists in the directory (a directory
// with a file in it cannot be removed) and again from the rename to the
// directory fsync; the removal holds it exclusively.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "storage/object/object_key.h"
#include "storage/object/object_store.h"
#include "storage/posix_file.h"

namespace kite {
namespace {

using storage_internal::CreateDirs;
using storage_internal::FsyncDir;
using storage_internal::Fsync;
using storage_internal::OpenFile;
using storage_internal::PosixError;
using storage_internal::PreadUpTo;
using storage_internal::UniqueFd;
using storage_internal::WriteAll;

constexpr std::string_view kTempPrefix = "~tmp.";

std::atomic<uint64_t> g_temp_counter{0};

Status ValidateKeyOrPrefix(std::string_view what, const std::string& s, bool is_prefix) {
  return ValidateObjectKey(what, s, is_prefix);
}

Status NotFound(const std::string& key) {
  return MakeStatus(StatusCode::kNotFound, Reason::kNone, "object '{}' not found", key);
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

class LocalObjectStore final : public ObjectStore {
 public:
  explicit LocalObjectStore(std::string root) : root_(std::move(root)) {}
  LocalObjectStore(const LocalObjectStore&) = delete;
  LocalObjectStore& operator=(const LocalObjectStore&) = delete;

  Status Put(const std::string& key, std::string_view data) override { return PutParts(key, {data}); }
  Status PutParts(const std::string& key, const std::vector<std::string_view>& parts) override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::unique_ptr<ObjectReader>> Open(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Status DeletePrefix(const std::string& prefix) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Result<std::vector<ObjectInfo>> ListInfo(const std::string& prefix) override;

  // Removes temp files a crash left behind.
  Status RemoveTempFiles(const std::string& dir);

 private:
  // Appends the keys of regular files under <root>/<rel> (rel is "" or ends
  // with '/') that start with prefix.
  Status Walk(const std::string& rel, const std::string& prefix,
              std::vector<std::string>* keys) const;
  // Removes dir and then its parents while they are empty, up to root_.
  // Returns the deepest directory left, whose entries changed.
  std::string RemoveEmptyDirsLocked(std::string dir) const;

  const std::string root_;
  std::shared_mutex dirs_mu_;
};

Status LocalObjectStore::PutParts(const std::string& key, const std::vector<std::string_view>& parts) {
  KITE_RETURN_IF_ERROR(ValidateKeyOrPrefix("key", key, false));
  const std::string path = root_ + "/" + key;
  const std::string dir = ParentDir(path);
  const std::string tmp = fmt::format("{}/{}{}.{}", dir, kTempPrefix, ::getpid(),
                                      g_temp_counter.fetch_add(1, std::memory_order_relaxed));
  UniqueFd fd;
  {
    std::shared_lock<std::shared_mutex> lock(dirs_mu_);
    KITE_RETURN_IF_ERROR(CreateDirs(dir));
    KITE_ASSIGN_OR_RETURN(fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644));
  }
  Status st;
  for (std::string_view part : parts) {
    if (st.ok()) st = WriteAll(fd.get(), tmp, part);
  }
  if (st.ok()) st = Fsync(fd.get(), tmp);
  fd = UniqueFd();  // close before the rename
  if (st.ok()) {
    // Shared again: once renamed, the object may be deleted at once, and its
    // directory must survive until it is fsynced.
    std::shared_lock<std::shared_mutex> lock(dirs_mu_);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      st = PosixError("rename", path, errno);
    } else {
      return FsyncDir(dir);
    }
  }
  ::unlink(tmp.c_str());
  return st;
}

// The object's file opened for reading: NotFound when missing or a directory.
Result<UniqueFd> OpenObjectFile(const std::string& key, const std::string& path, uint64_t* size) {
  int raw;
  do {
    raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (raw < 0 && errno == EINTR);
  if (raw < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(key);
    return PosixError("open", path, errno);
  }
  UniqueFd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat", path, errno);
  if (!S_ISREG(st.st_mode)) return NotFound(key);  // a directory: only a key prefix
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

class FileReader final : public ObjectReader {
 public:
  FileReader(UniqueFd fd, std::string path, uint64_t size) : fd_(std::move(fd)), path_(std::move(path)), size_(size) {}
  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, size_t n, void* dst) override {
    return storage_internal::PreadExact(fd_.get(), path_, offset, n, dst);
  }

 private:
  UniqueFd fd_;
  std::string path_;
  uint64_t size_;
};

Result<std::string> LocalObjectStore::Get(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateKeyOrPrefix("key", key, false));
  const std::string path = root_ + "/" + key;
  uint64_t size = 0;
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenObjectFile(key, path, &size));
  std::string data;
  KITE_RETURN_IF_ERROR(PreadUpTo(fd.get(), path, 0, static_cast<size_t>(size), &data));
  if (data.size() != size) {
    return IOError("read {}: got {} of {} bytes", path, data.size(), size);
  }
  return data;
}

Result<std::unique_ptr<ObjectReader>> LocalObjectStore::Open(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateKeyOrPrefix("key", key, false));
  std::string path = root_ + "/" + key;
  uint64_t size = 0;
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenObjectFile(key, path, &size));
  return std::unique_ptr<ObjectReader>(std::make_unique<FileReader>(std::move(fd), std::move(path), size));
}

Status LocalObjectStore::Delete(const std::string& key) {
  KITE_RETURN_IF_ERROR(ValidateKeyOrPrefix("key", key, false));
  const std::string path = root_ + "/" + key;
  if (::unlink(path.c_str()) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Status::OK();  // missing
    struct stat st;
    if ((err == EISDIR || err == EPERM) && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::OK();  // a directory: a prefix of other keys, not an object
    }
    return PosixError("remove", path, err);
  }
  std::string changed;
  {
    std::unique_lock<std::shared_mutex> lock(dirs_mu_);
    changed = RemoveEmptyDirsLocked(ParentDir(path));
  }
  return FsyncDir(changed);
}

Status LocalObjectStore::DeletePrefix(const std::string& prefix) {
  KITE_ASSIGN_OR_RETURN(std::vector<std::string> keys, List(prefix));
  std::set<std::string> dirs;
  for (const std::string& key : keys) {
    const std::string path = root_ + "/" + key;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("remove", path, errno);
    dirs.insert(ParentDir(path));
  }
  std::set<std::string> changed;
  {
    std::unique_lock<std::shared_mutex> lock(dirs_mu_);
    // Deepest first (reverse lexicographic order puts "a/b" before "a").
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      changed.insert(RemoveEmptyDirsLocked(*it));
    }
  }
  for (const std::string& dir : changed) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) continue;  // removed by a later RemoveEmptyDirsLocked
    KITE_RETURN_IF_ERROR(FsyncDir(dir));
  }
  return Status::OK();
}

Result<std::vector<std::string>> LocalObjectStore::List(const std::string& prefix) {
  KITE_RETURN_IF_ERROR(ValidateKeyOrPrefix("prefix", prefix, true));
  std::vector<std::string> keys;
  KITE_RETURN_IF_ERROR(Walk("", prefix, &keys));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Result<std::vector<ObjectInfo>> LocalObjectStore::ListInfo(const std::string& prefix) {
  KITE_ASSIGN_OR_RETURN(std::vector<std::string> keys, List(prefix));
  std::vector<ObjectInfo> out;
  out.reserve(keys.size());
  for (std::string& key : keys) {
    const std::string path = root_ + "/" + key;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // deleted since it was listed
      return PosixError("stat", path, errno);
    }
    const int64_t mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    out.push_back(ObjectInfo{std::move(key), static_cast<uint64_t>(st.st_size), mtime_ms});
  }
  return out;
}

Status LocalObjectStore::Walk(const std::string& rel, const std::string& prefix,
                              std::vector<std::string>* keys) const {
  const std::string dir = rel.empty() ? root_ : root_ + "/" + rel.substr(0, rel.size() - 1);
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    // Gone (a concurrent delete) or never created: no keys there.
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
      return Status::OK();
    }
    return IOError("list {}: {}", dir, ec.message());
  }
  for (std::filesystem::directory_iterator end; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find('~') != std::string::npos) continue;  // temp file of a Put
    std::error_code type_ec;
    std::filesystem::file_status type = it->symlink_status(type_ec);
    if (type_ec) continue;  // removed since it was listed
    const std::string key = rel + name;
    if (std::filesystem::is_directory(type)) {
      const std::string sub = key + "/";
      // Descend only where keys matching the prefix can be.
      if (sub.starts_with(prefix) || prefix.starts_with(sub)) {
        KITE_RETURN_IF_ERROR(Walk(sub, prefix, keys));
      }
    } else if (std::filesystem::is_regular_file(type) && key.starts_with(prefix)) {
      keys->push_back(key);
    }
  }
  if (ec) return IOError("list {}: {}", dir, ec.message());
  return Status::OK();
}

std::string LocalObjectStore::RemoveEmptyDirsLocked(std::string dir) const {
  while (dir != root_ && dir.size() > root_.size() && ::rmdir(dir.c_str()) == 0) {
    dir = ParentDir(dir);
  }
  return dir;
}

Status LocalObjectStore::RemoveTempFiles(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  for (std::filesystem::directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    std::filesystem::file_status type = it->symlink_status(type_ec);
    if (type_ec) return IOError("stat {}: {}", it->path().string(), type_ec.message());
    const std::string path = it->path().string();
    if (std::filesystem::is_directory(type)) {
      KITE_RETURN_IF_ERROR(RemoveTempFiles(path));
    } else if (it->path().filename().string().starts_with(kTempPrefix)) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("remove", path, errno);
    }
  }
  if (ec) return IOError("list {}: {}", dir, ec.message());
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenLocalObjectStore(const std::string& root) {
  if (root.empty()) return InvalidArgument("object store root is empty");
  std::string normalized = root;
  while (normalized.size() > 1 && normalized.back() == '/') normalized.pop_back();
  KITE_RETURN_IF_ERROR(CreateDirs(normalized));
  auto store = std::make_unique<LocalObjectStore>(normalized);
  KITE_RETURN_IF_ERROR(store->RemoveTempFiles(normalized));
  return std::unique_ptr<ObjectStore>(std::move(store));
}

}  // namespace kite
