// libFuzzer target: Kite's readers of persisted files, fed damaged bytes.
// The first input byte picks the reader, the rest is the file:
//   0: a segment column file      (ReadSegmentFiles, docs/formats/segment_file.md)
//   1: a segment timestamps file  (ReadSegmentFiles)
//   2: a delta (delete) file      (ReadDeltaFile)
//   3: an index file              (OpenIndexFile + ReadToEnd, docs/formats/index_file.md)
//   4: a WAL log file             (LocalWal open + Replay, docs/formats/wal_record.md)
// Invariants: no crash, no sanitizer report, no allocation beyond libFuzzer's
// -rss_limit_mb (lengths are checked against the file before allocating);
// damage is reported as an error (Corruption / IOError / NotFound), never as
// Internal; a WAL that opened accepts an append and replays it last.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "segment/index_file.h"
#include "segment/segment_file.h"
#include "storage/wal/wal.h"

namespace {

class MemoryStore final : public kite::ObjectStore {
 public:
  kite::Status Put(const std::string& key, std::string_view data) override {
    objects_[key] = std::string(data);
    return kite::Status::OK();
  }
  kite::Result<std::string> Get(const std::string& key) override {
    auto it = objects_.find(key);
    if (it == objects_.end()) return kite::MakeStatus(kite::StatusCode::kNotFound, kite::Reason::kNone, "{}", key);
    return it->second;
  }
  kite::Status Delete(const std::string& key) override {
    objects_.erase(key);
    return kite::Status::OK();
  }
  kite::Status DeletePrefix(const std::string& prefix) override {
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0;) {
      it = objects_.erase(it);
    }
    return kite::Status::OK();
  }
  kite::Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> keys;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      keys.push_back(it->first);
    }
    return keys;
  }

 private:
  std::map<std::string, std::string> objects_;
};

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "file_readers_fuzzer invariant violated: %s\n", what);
  std::abort();
}

void CheckError(const kite::Status& st) {
  Check(st.ok() || st.code() != kite::StatusCode::kInternal, "a damaged file reported as an internal error");
}

const std::string& WalRoot() {
  static const std::string* root = [] {
    char tmpl[] = "/tmp/kite_wal_fuzz_XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    if (dir == nullptr) std::abort();
    return new std::string(dir);
  }();
  return *root;
}

void FuzzWal(std::string_view file) {
  namespace fs = std::filesystem;
  const std::string channel_dir = WalRoot() + "/ch";
  std::error_code ec;
  fs::remove_all(channel_dir, ec);
  fs::create_directories(channel_dir, ec);
  {
    FILE* f = std::fopen((channel_dir + "/00000000000000000001.log").c_str(), "wb");
    if (f == nullptr) return;
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
  }
  kite::WalOptions options;
  options.sync = kite::WalSyncPolicy::kNoSync;
  auto wal = kite::OpenLocalWal(WalRoot(), options);
  if (!wal.ok()) return CheckError(wal.status());
  auto ch = (*wal)->OpenChannel("ch", 1);
  if (!ch.ok()) return CheckError(ch.status());
  kite::Lsn last = kite::kNoLsn;
  kite::Status st = (*ch)->Replay(kite::kNoLsn, [&](kite::Lsn lsn, std::string_view) {
    Check(lsn > last, "replayed LSNs not increasing");
    last = lsn;
    return kite::Status::OK();
  });
  if (!st.ok()) return CheckError(st);
  auto appended = (*ch)->Append("fuzz");
  if (!appended.ok()) return CheckError(appended.status());
  std::string tail;
  st = (*ch)->Replay(last, [&](kite::Lsn, std::string_view payload) {
    tail = std::string(payload);
    return kite::Status::OK();
  });
  CheckError(st);
  if (st.ok()) Check(tail == "fuzz", "an appended record is not replayed last");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int which = data[0] % 5;
  std::string_view file(reinterpret_cast<const char*>(data + 1), size - 1);
  MemoryStore store;
  switch (which) {
    case 0:
    case 1: {
      const std::string key = which == 0 ? "collections/1/segments/2/101.col" : "collections/1/segments/2/ts.bin";
      (void)store.Put(key, file);
      kite::ColumnBatch columns;
      std::vector<kite::Timestamp> ts;
      CheckError(kite::ReadSegmentFiles(&store, {key}, &columns, &ts));
      break;
    }
    case 2: {
      (void)store.Put("d.del", file);
      auto r = kite::ReadDeltaFile(&store, "d.del");
      if (!r.ok()) CheckError(r.status());
      break;
    }
    case 3: {
      (void)store.Put("i.idx", file);
      std::unique_ptr<kite::FramedReader> payload;
      auto header = kite::OpenIndexFile(&store, "i.idx", &payload);
      if (!header.ok()) {
        CheckError(header.status());
        break;
      }
      auto body = payload->ReadToEnd();
      if (!body.ok()) CheckError(body.status());
      break;
    }
    case 4: FuzzWal(file); break;
  }
  return 0;
}
