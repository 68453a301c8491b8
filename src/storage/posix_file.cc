#include "storage/posix_file.h"

#include <cerrno>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace kite::storage_internal {

Status PosixError(std::string_view op, const std::string& path, int err) {
  // std::generic_category().message() is strerror without its thread-safety issue.
  if (err == ENOSPC || err == EDQUOT) {
    return MakeStatus(StatusCode::kIOError, Reason::kDiskFull, "disk limit exceeded: {} {}: {}", op, path,
                      std::generic_category().message(err));
  }
  return IOError("{} {}: {}", op, path, std::generic_category().message(err));
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return PosixError("open", path, errno);
  return UniqueFd(fd);
}

Status PwriteAll(int fd, const std::string& path, uint64_t offset, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status WriteAll(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

namespace {
// Reads up to n bytes at offset into dst; *got is short only at end of file.
Status PreadInto(int fd, const std::string& path, uint64_t offset, size_t n, char* dst, size_t* got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = ::pread(fd, dst + *got, n - *got, static_cast<off_t>(offset + *got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return PosixError("read", path, errno);
    }
    if (r == 0) break;  // end of file
    *got += static_cast<size_t>(r);
  }
  return Status::OK();
}
}  // namespace

Status PreadUpTo(int fd, const std::string& path, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t got = 0;
  Status st = PreadInto(fd, path, offset, n, out->data(), &got);
  out->resize(got);
  return st;
}

Status PreadExact(int fd, const std::string& path, uint64_t offset, size_t n, void* dst) {
  size_t got = 0;
  KITE_RETURN_IF_ERROR(PreadInto(fd, path, offset, n, static_cast<char*>(dst), &got));
  if (got < n) return IOError("read {}: file ends at {} bytes, {} wanted at offset {}", path, offset + got, n, offset);
  return Status::OK();
}

Status Fsync(int fd, const std::string& path) {
  if (::fsync(fd) != 0) return PosixError("fsync", path, errno);
  return Status::OK();
}

Status Fdatasync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return PosixError("fdatasync", path, errno);
  return Status::OK();
}

Status FsyncDir(const std::string& dir) {
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY, 0));
  return Fsync(fd.get(), dir);
}

Status CreateDirs(const std::string& dir) {
  std::filesystem::path target(dir);
  std::filesystem::path current;
  for (const auto& part : target) {
    std::filesystem::path parent = current.empty() ? std::filesystem::path(".") : current;
    current /= part;
    if (part == "/" || part == "." || part.empty()) continue;
    const std::string cur = current.string();
    if (::mkdir(cur.c_str(), 0755) == 0) {
      KITE_RETURN_IF_ERROR(FsyncDir(parent.string()));
      continue;
    }
    if (errno != EEXIST) return PosixError("mkdir", cur, errno);
    struct stat st;
    if (::stat(cur.c_str(), &st) != 0) return PosixError("stat", cur, errno);
    if (!S_ISDIR(st.st_mode)) return PosixError("mkdir", cur, ENOTDIR);
  }
  return Status::OK();
}

}  // namespace kite::storage_internal
