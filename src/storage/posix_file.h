// Small POSIX file helpers shared by the local WAL and the local object store.
// Internal to src/storage: not part of any storage contract.
//
// Every helper turns a failed system call into StatusCode::kIOError whose
// message names the operation, the path and strerror(errno). None of them
// retry beyond EINTR and short writes. Thread-safe (they hold no state).
//
// Until Kite has an Env interface (CONVENTIONS.md, "All I/O through an
// environment interface"), this is the one place that calls open/write/fsync
// for storage, so the later Env can replace it in one move.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kite::storage_internal {

// IOError "<op> <path>: <strerror(err)>".
Status PosixError(std::string_view op, const std::string& path, int err);

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// open(2) of path with O_CLOEXEC added, retrying on EINTR.
Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode);

// Writes all of data at `offset` (pwrite, looping over short writes).
Status PwriteAll(int fd, const std::string& path, uint64_t offset, std::string_view data);

// Writes all of data at the current position (write, looping over short writes).
Status WriteAll(int fd, const std::string& path, std::string_view data);

// Reads up to n bytes at offset into *out (resized to what was read; shorter
// only at end of file).
Status PreadUpTo(int fd, const std::string& path, uint64_t offset, size_t n, std::string* out);

// Reads exactly n bytes at offset into dst; IOError naming the path when the
// file ends first.
Status PreadExact(int fd, const std::string& path, uint64_t offset, size_t n, void* dst);

// fsync(2) / fdatasync(2) of an open descriptor.
Status Fsync(int fd, const std::string& path);
Status Fdatasync(int fd, const std::string& path);

// Opens the directory and fsyncs it, making entries created, renamed or
// removed in it durable.
Status FsyncDir(const std::string& dir);

// mkdir -p. Every directory it creates is made durable by fsyncing its
// parent. Existing directories are fine; an existing non-directory is IOError.
Status CreateDirs(const std::string& dir);

}  // namespace kite::storage_internal
