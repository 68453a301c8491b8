#include "segment/segment_file.h"

#include <zlib.h>

namespace kite {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'T', 'E', 'S', 'E', 'G', '1'};
constexpr uint32_t kVersion = 1;

uint32_t Crc(std::string_view b) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size())));
}

}  // namespace

std::string SegmentPrefix(CollectionId c, SegmentId s) {
  return "collections/" + std::to_string(c.value) + "/segments/" + std::to_string(s.value) + "/";
}

std::string DeltaKey(CollectionId c, const std::string& channel, uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(lsn));
  return "collections/" + std::to_string(c.value) + "/deltas/" + channel + "/" + buf + ".del";
}

std::string FrameFile(FileKind kind, std::string_view body) {
  std::string out(kMagic, sizeof(kMagic));
  PutU32(&out, kVersion);
  PutU32(&out, static_cast<uint32_t>(kind));
  PutU64(&out, body.size());
  out.append(body);
  PutU32(&out, Crc(body));
  return out;
}

Result<std::string_view> UnframeFile(std::string_view file, FileKind expected, const std::string& name) {
  if (file.size() < sizeof(kMagic) + 20 || file.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic))) {
    return Corruption("{}: not a Kite data file (bad magic or too short)", name);
  }
  std::string_view in = file.substr(sizeof(kMagic));
  uint32_t version = 0, kind = 0, crc = 0;
  uint64_t len = 0;
  GetU32(&in, &version);
  GetU32(&in, &kind);
  GetU64(&in, &len);
  if (version != kVersion) return Corruption("{}: unsupported format version {}", name, version);
  if (kind != static_cast<uint32_t>(expected)) return Corruption("{}: file kind {} where {} expected", name, kind, static_cast<uint32_t>(expected));
  if (in.size() != len + 4) return Corruption("{}: body length {} does not match file size", name, len);
  std::string_view body = in.substr(0, len);
  in.remove_prefix(len);
  GetU32(&in, &crc);
  if (crc != Crc(body)) return Corruption("{}: checksum mismatch", name);
  return body;
}

Result<std::vector<std::string>> WriteSegmentFiles(ObjectStore* store, const std::string& prefix,
                                                    const ColumnBatch& columns,
                                                    const std::vector<Timestamp>& timestamps) {
  std::vector<std::string> keys;
  for (const auto& c : columns.columns) {
    std::string body;
    EncodeColumn(c, &body);
    std::string key = prefix + std::to_string(c.field_id.value) + ".col";
    KITE_RETURN_IF_ERROR(store->Put(key, FrameFile(FileKind::kColumn, body)));
    keys.push_back(std::move(key));
  }
  std::string body;
  PutU64(&body, timestamps.size());
  for (Timestamp t : timestamps) PutU64(&body, t);
  std::string key = prefix + "ts.bin";
  KITE_RETURN_IF_ERROR(store->Put(key, FrameFile(FileKind::kTimestamps, body)));
  keys.push_back(std::move(key));
  return keys;
}

namespace {
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

std::vector<std::string> SegmentFilesFor(const std::vector<std::string>& files, const std::vector<FieldId>& fields) {
  std::vector<std::string> out;
  for (const auto& key : files) {
    bool wanted = EndsWith(key, "/ts.bin");
    for (FieldId f : fields) wanted = wanted || EndsWith(key, "/" + std::to_string(f.value) + ".col");
    if (wanted) out.push_back(key);
  }
  return out;
}

Status ReadSegmentFiles(ObjectStore* store, const std::vector<std::string>& keys, ColumnBatch* columns,
                        std::vector<Timestamp>* timestamps) {
  bool have_ts = false;
  for (const auto& key : keys) {
    KITE_ASSIGN_OR_RETURN(std::string file, store->Get(key));
    bool is_ts = EndsWith(key, "ts.bin");
    KITE_ASSIGN_OR_RETURN(std::string_view body,
                          UnframeFile(file, is_ts ? FileKind::kTimestamps : FileKind::kColumn, key));
    if (is_ts) {
      uint64_t n = 0;
      if (!GetU64(&body, &n) || body.size() != n * 8) return Corruption("{}: bad timestamp count", key);
      timestamps->resize(n);
      for (uint64_t i = 0; i < n; ++i) GetU64(&body, &(*timestamps)[i]);
      have_ts = true;
    } else {
      KITE_ASSIGN_OR_RETURN(Column c, DecodeColumn(&body));
      if (!body.empty()) return Corruption("{}: trailing bytes after column", key);
      columns->num_rows = c.num_rows;
      columns->columns.push_back(std::move(c));
    }
  }
  if (!have_ts) return Corruption("segment files {} lack timestamps", keys.empty() ? "" : keys[0]);
  for (const auto& c : columns->columns) {
    if (c.num_rows != static_cast<int64_t>(timestamps->size())) {
      return Corruption("segment column {} has {} rows, timestamps {}", c.field_id.value, c.num_rows,
                        timestamps->size());
    }
  }
  columns->num_rows = static_cast<int64_t>(timestamps->size());
  return Status::OK();
}

Status WriteDeltaFile(ObjectStore* store, const std::string& key, const std::vector<DeleteRecord>& deletes) {
  std::string body;
  PutU64(&body, deletes.size());
  for (const auto& d : deletes) {
    if (const auto* i = std::get_if<int64_t>(&d.pk)) {
      body.push_back(0);
      PutU64(&body, static_cast<uint64_t>(*i));
    } else {
      body.push_back(1);
      PutBytes(&body, std::get<std::string>(d.pk));
    }
    PutU64(&body, d.ts);
    PutU64(&body, static_cast<uint64_t>(d.partition));
  }
  return store->Put(key, FrameFile(FileKind::kDelta, body));
}

Result<std::vector<DeleteRecord>> ReadDeltaFile(ObjectStore* store, const std::string& key) {
  KITE_ASSIGN_OR_RETURN(std::string file, store->Get(key));
  KITE_ASSIGN_OR_RETURN(std::string_view body, UnframeFile(file, FileKind::kDelta, key));
  uint64_t n = 0;
  if (!GetU64(&body, &n)) return Corruption("{}: truncated", key);
  std::vector<DeleteRecord> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (body.empty()) return Corruption("{}: truncated", key);
    char kind = body[0];
    body.remove_prefix(1);
    DeleteRecord d;
    if (kind == 0) {
      uint64_t v = 0;
      if (!GetU64(&body, &v)) return Corruption("{}: truncated", key);
      d.pk = static_cast<int64_t>(v);
    } else {
      std::string_view s;
      if (!GetBytes(&body, &s)) return Corruption("{}: truncated", key);
      d.pk = std::string(s);
    }
    uint64_t part = 0;
    if (!GetU64(&body, &d.ts) || !GetU64(&body, &part)) return Corruption("{}: truncated", key);
    d.partition = static_cast<int64_t>(part);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace kite
