// The embedded WAL: see local_wal.h for behaviour and
// docs/formats/wal_record.md for the bytes.
//
// Group commit follows LevelDB's DBImpl::Write: every Append enqueues a
// Writer; the writer at the front of the queue is the leader. The leader
// encodes the records of the writers queued behind it (up to kBatchBytesMax)
// under the lock, assigns their LSNs, then writes and fdatasyncs them with
// the lock released so that more writers can queue, and finally wakes the
// writers it served and hands leadership to the next front writer.
#include "storage/wal/local_wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <system_error>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "storage/posix_file.h"

namespace kite {

namespace wal_format {
std::string FileName(Lsn first_lsn) { return fmt::format("{:020}.log", first_lsn); }
}  // namespace wal_format

namespace {

using storage_internal::CreateDirs;
using storage_internal::Fdatasync;
using storage_internal::FsyncDir;
using storage_internal::OpenFile;
using storage_internal::PosixError;
using storage_internal::PreadUpTo;
using storage_internal::PwriteAll;
using storage_internal::UniqueFd;
using wal_format::kFileHeaderBytes;
using wal_format::kFileMagic;
using wal_format::kFileVersion;
using wal_format::kPayloadBytesMax;
using wal_format::kRecordHeaderBytes;
using wal_format::kRecordMagic;

constexpr size_t kBatchBytesMax = 4 << 20;  // one group commit writes at most this (or one record)
constexpr size_t kReadChunkBytes = 1 << 20;
constexpr size_t kChannelNameMax = 255;

std::atomic<uint64_t> g_append_syncs{0};

// ---- Encoding ---------------------------------------------------------------

void PutFixed32(std::string* dst, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  dst->append(b, 4);
}

void PutFixed64(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  dst->append(b, 8);
}

uint32_t DecodeFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint64_t DecodeFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t Crc32(uint32_t crc, std::string_view data) {
  // Payloads are bounded by kPayloadBytesMax, so the length fits zlib's uInt.
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

// CRC-32 over the 8 little-endian LSN bytes followed by the payload.
uint32_t RecordCrc(Lsn lsn, std::string_view payload) {
  std::string lsn_bytes;
  PutFixed64(&lsn_bytes, lsn);
  return Crc32(Crc32(0, lsn_bytes), payload);
}

void EncodeRecord(Lsn lsn, std::string_view payload, std::string* dst) {
  PutFixed32(dst, kRecordMagic);
  PutFixed32(dst, static_cast<uint32_t>(payload.size()));
  PutFixed64(dst, lsn);
  PutFixed32(dst, RecordCrc(lsn, payload));
  dst->append(payload);
}

std::string EncodeFileHeader(Lsn first_lsn) {
  std::string h;
  PutFixed32(&h, kFileMagic);
  PutFixed32(&h, kFileVersion);
  PutFixed64(&h, first_lsn);
  PutFixed32(&h, Crc32(0, h));
  return h;
}

Status CheckFileHeader(std::string_view h, Lsn first_lsn, const std::string& path) {
  if (h.size() < kFileHeaderBytes) return Corruption("{}: file header cut short", path);
  if (DecodeFixed32(h.data()) != kFileMagic) return Corruption("{}: bad file magic", path);
  if (Crc32(0, h.substr(0, 16)) != DecodeFixed32(h.data() + 16)) {
    return Corruption("{}: bad file header checksum", path);
  }
  uint32_t version = DecodeFixed32(h.data() + 4);
  if (version != kFileVersion) {
    return Corruption("{}: unsupported WAL format version {} (this build reads {})", path, version,
                      kFileVersion);
  }
  Lsn header_lsn = DecodeFixed64(h.data() + 8);
  if (header_lsn != first_lsn) {
    return Corruption("{}: header says first LSN {}, file name says {}", path, header_lsn,
                      first_lsn);
  }
  return Status::OK();
}

enum class Parse { kOk, kIncomplete, kBad };

struct Record {
  Lsn lsn = kNoLsn;
  std::string_view payload;
  size_t bytes = 0;  // header + payload
};

// Parses the record at the start of buf. kIncomplete: buf ends before the
// record does (the length field is plausible). kBad: wrong magic, impossible
// length or checksum mismatch.
Parse ParseRecord(std::string_view buf, Record* rec) {
  if (buf.size() < kRecordHeaderBytes) return Parse::kIncomplete;
  if (DecodeFixed32(buf.data()) != kRecordMagic) return Parse::kBad;
  uint32_t length = DecodeFixed32(buf.data() + 4);
  if (length > kPayloadBytesMax) return Parse::kBad;
  if (buf.size() - kRecordHeaderBytes < length) return Parse::kIncomplete;
  rec->lsn = DecodeFixed64(buf.data() + 8);
  rec->payload = buf.substr(kRecordHeaderBytes, length);
  rec->bytes = kRecordHeaderBytes + length;
  if (RecordCrc(rec->lsn, rec->payload) != DecodeFixed32(buf.data() + 16)) return Parse::kBad;
  return Parse::kOk;
}

// The first offset >= from where a complete, checksum-valid record with an
// LSN above min_lsn starts, if any.
std::optional<size_t> FindValidRecord(std::string_view data, size_t from, Lsn min_lsn) {
  std::string magic;
  PutFixed32(&magic, kRecordMagic);
  for (size_t pos = data.find(magic, from); pos != std::string_view::npos;
       pos = data.find(magic, pos + 1)) {
    Record rec;
    if (ParseRecord(data.substr(pos), &rec) == Parse::kOk && rec.lsn > min_lsn) return pos;
  }
  return std::nullopt;
}

// ---- Files --------------------------------------------------------------------

struct LogFile {
  Lsn first_lsn = kNoLsn;
  std::string path;
  uint64_t size = 0;  // bytes that hold complete records (for the last file: committed end)
};

std::optional<Lsn> ParseFileName(const std::string& name) {
  constexpr size_t kDigits = 20;
  if (name.size() != kDigits + 4 || name.compare(kDigits, 4, ".log") != 0) return std::nullopt;
  Lsn lsn = 0;
  const char* end = name.data() + kDigits;
  auto [ptr, ec] = std::from_chars(name.data(), end, lsn);
  if (ec != std::errc() || ptr != end || lsn == kNoLsn) return std::nullopt;
  return lsn;
}

// The channel's log files, sorted by first LSN. Other names are ignored.
Result<std::vector<LogFile>> ListLogFiles(const std::string& dir) {
  std::vector<LogFile> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::optional<Lsn> lsn = ParseFileName(it->path().filename().string());
    if (!lsn) continue;
    LogFile f{*lsn, it->path().string(), 0};
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0) return PosixError("stat", f.path, errno);
    f.size = static_cast<uint64_t>(st.st_size);
    files.push_back(std::move(f));
  }
  if (ec) return IOError("list {}: {}", dir, ec.message());
  std::sort(files.begin(), files.end(),
            [](const LogFile& a, const LogFile& b) { return a.first_lsn < b.first_lsn; });
  return files;
}

// Creates <dir>/<first_lsn>.log holding just a file header, durably. The
// header is written and synced under a temporary name first and the file is
// then renamed, so a log file's name never exists without a complete header:
// a bad header is always damage, never a crash in the middle of a roll.
Result<UniqueFd> CreateLogFile(const std::string& dir, Lsn first_lsn, std::string* path) {
  *path = dir + "/" + wal_format::FileName(first_lsn);
  const std::string tmp = *path + wal_format::kTempSuffix;
  ::unlink(tmp.c_str());  // left by a crash during an earlier try
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_RDWR | O_CREAT | O_EXCL, 0644));
  Status st = PwriteAll(fd.get(), tmp, 0, EncodeFileHeader(first_lsn));
  if (st.ok()) st = Fdatasync(fd.get(), tmp);
  if (st.ok() && ::rename(tmp.c_str(), path->c_str()) != 0) st = PosixError("rename", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  KITE_RETURN_IF_ERROR(FsyncDir(dir));
  return fd;
}

// ---- Clean-stop marker ----------------------------------------------------------

// What a clean close recorded: where the last file ended.
struct CleanMarker {
  Lsn file_first_lsn = kNoLsn;  // the last file (by its first LSN)
  uint64_t end = 0;             // its size: the end of its last record
  Lsn last_lsn = kNoLsn;        // the channel's last LSN
};

std::string EncodeCleanMarker(const CleanMarker& m) {
  std::string b;
  PutFixed32(&b, wal_format::kCleanMagic);
  PutFixed32(&b, wal_format::kCleanVersion);
  PutFixed64(&b, m.file_first_lsn);
  PutFixed64(&b, m.end);
  PutFixed64(&b, m.last_lsn);
  PutFixed32(&b, Crc32(0, b));
  return b;
}

// Reads <dir>/CLEAN if present. A marker that is there but cannot be read is
// corruption: without it a damaged tail could pass for a crash.
Result<std::optional<CleanMarker>> ReadCleanMarker(const std::string& dir) {
  const std::string path = dir + "/" + wal_format::kCleanMarkerName;
  auto fd = OpenFile(path, O_RDONLY, 0);
  if (!fd.ok()) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return std::optional<CleanMarker>();
    return fd.status();
  }
  std::string b;
  KITE_RETURN_IF_ERROR(PreadUpTo(fd->get(), path, 0, wal_format::kCleanMarkerBytes + 1, &b));
  if (b.size() != wal_format::kCleanMarkerBytes || DecodeFixed32(b.data()) != wal_format::kCleanMagic ||
      Crc32(0, std::string_view(b).substr(0, 32)) != DecodeFixed32(b.data() + 32)) {
    return Corruption("{}: damaged clean-stop marker ({} bytes)", path, b.size());
  }
  if (DecodeFixed32(b.data() + 4) != wal_format::kCleanVersion) {
    return Corruption("{}: unsupported clean-stop marker version {}", path, DecodeFixed32(b.data() + 4));
  }
  CleanMarker m{DecodeFixed64(b.data() + 8), DecodeFixed64(b.data() + 16), DecodeFixed64(b.data() + 24)};
  return std::optional<CleanMarker>(m);
}

// Writes <dir>/CLEAN durably (temp file, fdatasync, rename, directory fsync).
Status WriteCleanMarker(const std::string& dir, const CleanMarker& m) {
  const std::string path = dir + "/" + wal_format::kCleanMarkerName;
  const std::string tmp = path + wal_format::kTempSuffix;
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  Status st = PwriteAll(fd.get(), tmp, 0, EncodeCleanMarker(m));
  if (st.ok()) st = Fdatasync(fd.get(), tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = PosixError("rename", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(dir);
}

// Removes the marker durably: from now on the log may be written, so a later
// start must judge its tail as after a crash.
Status RemoveCleanMarker(const std::string& dir) {
  const std::string path = dir + "/" + wal_format::kCleanMarkerName;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError("remove", path, errno);
  return FsyncDir(dir);
}

// Removes "*.tmp" files a crash left behind (a roll or a marker never renamed).
void RemoveTempFiles(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > std::string_view(wal_format::kTempSuffix).size() && name.ends_with(wal_format::kTempSuffix)) {
      std::filesystem::remove(it->path(), ec);
    }
  }
}

Status TruncateFile(int fd, const std::string& path, uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return PosixError("truncate", path, errno);
  return Fdatasync(fd, path);
}

struct Recovered {
  uint64_t end = 0;      // where the next record goes
  Lsn last_lsn = kNoLsn;  // the last complete record's LSN (first_lsn - 1 if none)
};

// Scans the last log file (open read-write as fd): finds the end of the last
// complete record and cuts a torn tail after it. See local_wal.h for which bad
// bytes count as a torn tail and which as corruption left for Replay. With a
// clean-stop marker there is no torn tail: the file must end exactly where
// the marker says, and any other bad byte is corruption.
Result<Recovered> RecoverLastFile(int fd, const LogFile& file, const std::optional<CleanMarker>& clean) {
  std::string data;
  KITE_RETURN_IF_ERROR(PreadUpTo(fd, file.path, 0, file.size, &data));
  Recovered r{kFileHeaderBytes, file.first_lsn - 1};

  // Continues the chain at the valid record found at pos (after bad bytes).
  auto resume_at = [&](size_t pos) {
    Record rec;
    ParseRecord(std::string_view(data).substr(pos), &rec);
    r.end = pos + rec.bytes;
    r.last_lsn = rec.lsn;
  };

  // Log files are created whole (CreateLogFile): a bad header is damage.
  Status header = CheckFileHeader(data, file.first_lsn, file.path);
  if (!header.ok()) return Corruption("{} (offset 0)", header.message());

  while (r.end < data.size()) {
    Record rec;
    if (ParseRecord(std::string_view(data).substr(r.end), &rec) == Parse::kOk &&
        rec.lsn == r.last_lsn + 1) {
      r.end += rec.bytes;
      r.last_lsn = rec.lsn;
      continue;
    }
    if (clean) {
      return Corruption("{}: damaged record at offset {} (after LSN {}); the server was stopped "
                        "cleanly with the log ending at offset {} (LSN {}), so this is not a torn "
                        "write from a crash",
                        file.path, r.end, r.last_lsn, clean->end, clean->last_lsn);
    }
    std::optional<size_t> next = FindValidRecord(data, r.end + 1, r.last_lsn);
    if (!next) {
      spdlog::warn("wal: {}: cutting a torn tail of {} bytes at offset {} (last LSN {})",
                   file.path, data.size() - r.end, r.end, r.last_lsn);
      KITE_RETURN_IF_ERROR(TruncateFile(fd, file.path, r.end));
      break;
    }
    spdlog::error("wal: {}: bad record at offset {} followed by valid records; Replay will "
                  "report corruption",
                  file.path, r.end);
    resume_at(*next);
  }
  if (clean && (r.end != clean->end || r.last_lsn != clean->last_lsn)) {
    return Corruption("{}: the log ends at offset {} (LSN {}) but the server was stopped cleanly "
                      "with it ending at offset {} (LSN {}): records were lost",
                      file.path, r.end, r.last_lsn, clean->end, clean->last_lsn);
  }
  return r;
}

// Buffered sequential reads of [0, limit) of a file.
class FileReader {
 public:
  FileReader(int fd, const std::string& path, uint64_t limit)
      : fd_(fd), path_(path), limit_(limit) {}

  uint64_t offset() const { return buf_offset_ + pos_; }

  // Sets *out to the next n bytes, or to fewer if the limit comes first.
  Status Peek(size_t n, std::string_view* out) {
    if (buf_.size() - pos_ < n) {
      buf_.erase(0, pos_);
      buf_offset_ += pos_;
      pos_ = 0;
      uint64_t file_left = limit_ - (buf_offset_ + buf_.size());
      uint64_t want = std::min<uint64_t>(std::max(n - buf_.size(), kReadChunkBytes), file_left);
      if (want > 0) {
        KITE_RETURN_IF_ERROR(
            PreadUpTo(fd_, path_, buf_offset_ + buf_.size(), static_cast<size_t>(want), &chunk_));
        buf_.append(chunk_);
      }
    }
    *out = std::string_view(buf_).substr(pos_, n);
    return Status::OK();
  }

  void Skip(size_t n) { pos_ += n; }

 private:
  const int fd_;
  const std::string& path_;
  const uint64_t limit_;
  std::string buf_;
  std::string chunk_;
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  size_t pos_ = 0;           // read position in buf_
};

std::string fs_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }

bool ValidChannelName(const std::string& name) {
  if (name.empty() || name.size() > kChannelNameMax) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// ---- Channel --------------------------------------------------------------------

class LocalWalChannel final : public WalChannel {
 public:
  static Result<std::shared_ptr<LocalWalChannel>> Open(const std::string& dir,
                                                       const WalOptions& options);

  LocalWalChannel(std::string dir, WalOptions options, std::vector<LogFile> files, UniqueFd fd,
                  Lsn last_lsn)
      : dir_(std::move(dir)),
        options_(options),
        files_(std::move(files)),
        fd_(std::move(fd)),
        last_lsn_(last_lsn) {}
  LocalWalChannel(const LocalWalChannel&) = delete;
  LocalWalChannel& operator=(const LocalWalChannel&) = delete;
  ~LocalWalChannel() override { WriteCleanMarkerOnClose(); }

  Result<Lsn> Append(std::string_view payload) override;
  Status Sync() override;
  Status Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) override;
  Lsn LastLsn() const override;
  Status TruncateBefore(Lsn upto) override;

  // Makes every later Append and Replay fail (the channel's files are gone).
  void MarkDropped();

 private:
  struct Writer {
    explicit Writer(std::string_view p) : payload(p) {}
    std::string_view payload;
    Lsn lsn = kNoLsn;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };

  Status RollIfFullLocked();
  // After a failed write or sync: cuts the last file back to its committed
  // end and syncs it; clears error_ when that works (the failed batch was
  // never acknowledged, and its bytes are gone).
  void TryRecoverLocked();
  // A clean close: makes the log durable and records where it ends.
  void WriteCleanMarkerOnClose();
  Status ReplayFile(const LogFile& file, Lsn after, Lsn* expected,
                    const std::function<Status(Lsn, std::string_view)>& fn) const;

  const std::string dir_;
  const WalOptions options_;

  mutable std::mutex mu_;
  std::deque<Writer*> writers_;  // guarded by mu_; front() is the leader
  // Guarded by mu_. Sorted by first LSN, never empty; back() is the file being
  // written and its size is the end of the last committed record.
  std::vector<LogFile> files_;
  // The descriptor of files_.back(). Replaced (under mu_) only by the leader,
  // which also uses it with mu_ released while it writes.
  UniqueFd fd_;
  Lsn last_lsn_;         // guarded by mu_: the last committed LSN
  Status error_;         // guarded by mu_: sticky write failure or drop
  bool dropped_ = false;  // guarded by mu_
  std::string batch_;    // used only by the leader
};

Result<std::shared_ptr<LocalWalChannel>> LocalWalChannel::Open(const std::string& dir,
                                                              const WalOptions& options) {
  KITE_RETURN_IF_ERROR(CreateDirs(dir));
  RemoveTempFiles(dir);
  KITE_ASSIGN_OR_RETURN(std::optional<CleanMarker> clean, ReadCleanMarker(dir));
  KITE_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListLogFiles(dir));
  UniqueFd fd;
  Lsn last_lsn = kNoLsn;
  if (files.empty()) {
    if (clean) {
      return Corruption("{}: every log file is gone, but the server was stopped cleanly with the "
                        "log at LSN {} in {}",
                        dir, clean->last_lsn, wal_format::FileName(clean->file_first_lsn));
    }
    LogFile first{1, "", kFileHeaderBytes};
    KITE_ASSIGN_OR_RETURN(fd, CreateLogFile(dir, first.first_lsn, &first.path));
    files.push_back(std::move(first));
  } else {
    LogFile& last = files.back();
    if (clean && clean->file_first_lsn != last.first_lsn) {
      return Corruption("{}: the last log file is {} but the server was stopped cleanly with {} "
                        "as its last file",
                        dir, fs_name(last.path), wal_format::FileName(clean->file_first_lsn));
    }
    KITE_ASSIGN_OR_RETURN(fd, OpenFile(last.path, O_RDWR, 0));
    KITE_ASSIGN_OR_RETURN(Recovered r, RecoverLastFile(fd.get(), last, clean));
    last.size = r.end;
    last_lsn = r.last_lsn;
  }
  if (clean) KITE_RETURN_IF_ERROR(RemoveCleanMarker(dir));
  return std::make_shared<LocalWalChannel>(dir, options, std::move(files), std::move(fd),
                                           last_lsn);
}

Result<Lsn> LocalWalChannel::Append(std::string_view payload) {
  if (payload.size() > kPayloadBytesMax) {
    return InvalidArgument("WAL record of {} bytes exceeds the {} byte limit", payload.size(),
                           kPayloadBytesMax);
  }
  Writer w(payload);
  std::unique_lock<std::mutex> lock(mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.wait(lock);
  if (w.done) {
    if (!w.status.ok()) return w.status;
    return w.lsn;
  }

  // This writer leads: commit it and the writers queued behind it.
  Writer* last_served = &w;
  if (!error_.ok() && !dropped_) TryRecoverLocked();
  Status st = error_;
  if (st.ok()) {
    st = RollIfFullLocked();
    if (!st.ok()) error_ = st;  // a half-made roll leaves the file list unknown
  }
  if (st.ok()) {
    batch_.clear();
    Lsn lsn = last_lsn_;
    for (Writer* x : writers_) {
      if (x != &w && batch_.size() + kRecordHeaderBytes + x->payload.size() > kBatchBytesMax) break;
      x->lsn = ++lsn;
      EncodeRecord(x->lsn, x->payload, &batch_);
      last_served = x;
    }
    LogFile& file = files_.back();
    const int fd = fd_.get();
    const std::string path = file.path;
    const uint64_t offset = file.size;
    lock.unlock();
    st = PwriteAll(fd, path, offset, batch_);
    if (st.ok() && options_.sync == WalSyncPolicy::kFsyncEveryAppend) {
      st = Fdatasync(fd, path);
      g_append_syncs.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
    if (st.ok()) {
      files_.back().size = offset + batch_.size();
      last_lsn_ = lsn;
    } else if (error_.ok()) {
      // After a failed write or fsync the file's contents are unknown.
      error_ = st;
    }
  }

  for (;;) {
    Writer* x = writers_.front();
    writers_.pop_front();
    if (x != &w) {
      x->status = st;
      x->done = true;
      x->cv.notify_one();
    }
    if (x == last_served) break;
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  if (!st.ok()) return st;
  return w.lsn;
}

void LocalWalChannel::TryRecoverLocked() {
  const LogFile& file = files_.back();
  if (::ftruncate(fd_.get(), static_cast<off_t>(file.size)) != 0) return;
  if (!Fdatasync(fd_.get(), file.path).ok()) return;
  RemoveTempFiles(dir_);
  spdlog::info("wal: {}: recovered from an earlier write error ({}); appends resume at LSN {}", dir_,
               error_.message(), last_lsn_ + 1);
  error_ = Status::OK();
}

Status LocalWalChannel::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  return Fdatasync(fd_.get(), files_.back().path);
}

void LocalWalChannel::WriteCleanMarkerOnClose() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dropped_ || !error_.ok() || !fd_.valid()) return;
  const LogFile& file = files_.back();
  Status st = Fdatasync(fd_.get(), file.path);
  if (st.ok()) st = WriteCleanMarker(dir_, CleanMarker{file.first_lsn, file.size, last_lsn_});
  if (!st.ok()) spdlog::warn("wal: {}: no clean-stop marker written: {}", dir_, st.ToString());
}

// Starts a new file when the current one is full. Called by the leader.
Status LocalWalChannel::RollIfFullLocked() {
  LogFile& current = files_.back();
  if (current.size < options_.file_bytes_max || last_lsn_ < current.first_lsn) return Status::OK();
  // The old file is final: make it complete on disk whatever the sync policy,
  // so that only the last file can ever have a torn tail.
  KITE_RETURN_IF_ERROR(Fdatasync(fd_.get(), current.path));
  LogFile next{last_lsn_ + 1, "", kFileHeaderBytes};
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, CreateLogFile(dir_, next.first_lsn, &next.path));
  files_.push_back(std::move(next));
  fd_ = std::move(fd);
  return Status::OK();
}

Status LocalWalChannel::Replay(Lsn after,
                               const std::function<Status(Lsn, std::string_view)>& fn) {
  std::vector<LogFile> files;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dropped_) return error_;
    files = files_;
  }
  // Skip files whose records all have LSN <= after.
  size_t start = 0;
  while (start + 1 < files.size() && files[start + 1].first_lsn - 1 <= after) ++start;
  Lsn expected = files[start].first_lsn;
  for (size_t i = start; i < files.size(); ++i) {
    if (files[i].first_lsn != expected) {
      return Corruption("{}: starts at LSN {} but the previous file ended at LSN {}",
                        files[i].path, files[i].first_lsn, expected - 1);
    }
    KITE_RETURN_IF_ERROR(ReplayFile(files[i], after, &expected, fn));
  }
  return Status::OK();
}

Status LocalWalChannel::ReplayFile(const LogFile& file, Lsn after, Lsn* expected,
                                   const std::function<Status(Lsn, std::string_view)>& fn) const {
  KITE_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(file.path, O_RDONLY, 0));
  FileReader reader(fd.get(), file.path, file.size);
  std::string_view view;
  KITE_RETURN_IF_ERROR(reader.Peek(kFileHeaderBytes, &view));
  KITE_RETURN_IF_ERROR(CheckFileHeader(view, file.first_lsn, file.path));
  reader.Skip(kFileHeaderBytes);
  while (reader.offset() < file.size) {
    KITE_RETURN_IF_ERROR(reader.Peek(kRecordHeaderBytes, &view));
    Record rec;
    Parse p = ParseRecord(view, &rec);
    if (p == Parse::kIncomplete && view.size() == kRecordHeaderBytes) {
      KITE_RETURN_IF_ERROR(
          reader.Peek(kRecordHeaderBytes + DecodeFixed32(view.data() + 4), &view));
      p = ParseRecord(view, &rec);
    }
    if (p != Parse::kOk) {
      return Corruption("{}: {} at offset {}", file.path,
                        p == Parse::kIncomplete ? "record cut short" : "bad record",
                        reader.offset());
    }
    if (rec.lsn != *expected) {
      return Corruption("{}: LSN {} at offset {} where LSN {} was expected", file.path, rec.lsn,
                        reader.offset(), *expected);
    }
    if (rec.lsn > after) KITE_RETURN_IF_ERROR(fn(rec.lsn, rec.payload));
    ++*expected;
    reader.Skip(rec.bytes);
  }
  return Status::OK();
}

Lsn LocalWalChannel::LastLsn() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_lsn_;
}

Status LocalWalChannel::TruncateBefore(Lsn upto) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dropped_) return error_;
  size_t removed = 0;
  Status st;
  // A file's records end just before the next file's first LSN; the last file
  // is being written and always stays.
  while (removed + 1 < files_.size() && files_[removed + 1].first_lsn - 1 <= upto) {
    const std::string& path = files_[removed].path;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      st = PosixError("remove", path, errno);
      break;
    }
    ++removed;
  }
  files_.erase(files_.begin(), files_.begin() + static_cast<std::ptrdiff_t>(removed));
  if (removed > 0) {
    Status synced = FsyncDir(dir_);
    if (st.ok()) st = synced;
  }
  return st;
}

void LocalWalChannel::MarkDropped() {
  std::lock_guard<std::mutex> lock(mu_);
  dropped_ = true;
  error_ = MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "WAL channel {} was dropped", dir_);
}

// ---- Wal ----------------------------------------------------------------------------

// The term of a channel (wal.h, "Ownership and fencing"), shared by every
// writer handle of the channel in this process. A writer appends while
// holding `mu` shared, so raising the term (mu exclusive) waits for appends in
// flight and fences every later one of a lower term: nothing of a fenced writer
// reaches the log once a newer term opened.
struct ChannelTerm {
  std::shared_mutex mu;
  WalTerm newest = 0;  // guarded by mu
};

Status FencedError(const std::string& channel, WalTerm mine, WalTerm newest) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kChannelNotAvailable,
                    "channel not available[channel={}]: WAL channel is owned by term {}, this writer has term {} "
                    "(fenced)",
                    channel, newest, mine);
}

// A writer's handle: the channel's log, checked against the channel's term.
class TermedLocalChannel final : public WalChannel {
 public:
  TermedLocalChannel(std::string name, std::shared_ptr<LocalWalChannel> log, std::shared_ptr<ChannelTerm> state,
                     WalTerm term)
      : name_(std::move(name)), log_(std::move(log)), state_(std::move(state)), term_(term) {}

  Result<Lsn> Append(std::string_view payload) override {
    std::shared_lock lock(state_->mu);
    if (state_->newest != term_) return FencedError(name_, term_, state_->newest);
    return log_->Append(payload);
  }
  Status Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) override {
    return log_->Replay(after, fn);
  }
  Status Sync() override { return log_->Sync(); }
  Lsn LastLsn() const override { return log_->LastLsn(); }
  Status TruncateBefore(Lsn upto) override {
    std::shared_lock lock(state_->mu);
    if (state_->newest != term_) return FencedError(name_, term_, state_->newest);
    return log_->TruncateBefore(upto);
  }

 private:
  const std::string name_;
  const std::shared_ptr<LocalWalChannel> log_;
  const std::shared_ptr<ChannelTerm> state_;
  const WalTerm term_;
};

class LocalWal final : public Wal {
 public:
  LocalWal(std::string dir, const WalOptions& options) : dir_(std::move(dir)), options_(options) {}

  Result<std::shared_ptr<WalChannel>> OpenChannel(const std::string& channel, WalTerm term) override {
    if (!ValidChannelName(channel)) return BadName(channel);
    if (term == 0) return InvalidArgument("WAL channel {}: term must be >= 1", channel);
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<ChannelTerm>& state = terms_[channel];
    if (!state) state = std::make_shared<ChannelTerm>();
    {
      std::unique_lock term_lock(state->mu);
      if (term < state->newest) return FencedError(channel, term, state->newest);
      state->newest = term;
    }
    std::shared_ptr<LocalWalChannel> log;
    auto it = open_.find(channel);
    if (it != open_.end()) log = it->second.lock();
    if (!log) {
      KITE_ASSIGN_OR_RETURN(log, LocalWalChannel::Open(dir_ + "/" + channel, options_));
      open_[channel] = log;
    }
    return std::shared_ptr<WalChannel>(std::make_shared<TermedLocalChannel>(channel, std::move(log), state, term));
  }

  Status DropChannel(const std::string& channel) override {
    if (!ValidChannelName(channel)) return BadName(channel);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = open_.find(channel);
    if (it != open_.end()) {
      if (std::shared_ptr<LocalWalChannel> ch = it->second.lock()) ch->MarkDropped();
      open_.erase(it);
    }
    const std::string path = dir_ + "/" + channel;
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) return IOError("remove {}: {}", path, ec.message());
    return FsyncDir(dir_);
  }

 private:
  static Status BadName(const std::string& channel) {
    return InvalidArgument("invalid WAL channel name '{}': use 1 to {} of [A-Za-z0-9_-]", channel,
                           kChannelNameMax);
  }

  const std::string dir_;
  const WalOptions options_;
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<LocalWalChannel>> open_;  // guarded by mu_
  // Guarded by mu_. Kept after a drop: a writer of the dropped channel's term
  // must not come back as the owner of a channel of the same name.
  std::map<std::string, std::shared_ptr<ChannelTerm>> terms_;
};

}  // namespace

uint64_t LocalWalAppendSyncCount() { return g_append_syncs.load(std::memory_order_relaxed); }

Result<std::unique_ptr<Wal>> OpenLocalWal(const std::string& dir, const WalOptions& options) {
  KITE_RETURN_IF_ERROR(CreateDirs(dir));
  return std::unique_ptr<Wal>(std::make_unique<LocalWal>(dir, options));
}

}  // namespace kite
