#include "segment/segment_file.h"

#include <zlib.h>

#include <algorithm>

namespace kite {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'T', 'E', 'S', 'E', 'G', '1'};
constexpr uint32_t kVersion = 1;

constexpr size_t kFrameHeadBytes = sizeof(kMagic) + 16;  // magic, version, kind, body length
constexpr size_t kFrameBytes = kFrameHeadBytes + 4;        // ... and the CRC after the body

uint32_t CrcUpdate(uint32_t crc, const void* p, size_t n) {
  // Not for n == 0: an empty vector's data() may be null, and zlib answers a
  // null buffer with the initial CRC, forgetting what came before.
  if (n == 0) return crc;
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(p), n));
}
uint32_t Crc(std::string_view b) { return CrcUpdate(0, b.data(), b.size()); }

// A framed file as pieces: head and tail owned here, the body's parts borrowed.
struct Framed {
  std::string head, tail;
  std::vector<std::string_view> parts;
};

void FrameParts(FileKind kind, const std::vector<std::string_view>& body, Framed* out) {
  uint64_t len = 0;
  uint32_t crc = 0;
  for (std::string_view p : body) {
    len += p.size();
    crc = CrcUpdate(crc, p.data(), p.size());
  }
  out->head.assign(kMagic, sizeof(kMagic));
  PutU32(&out->head, kVersion);
  PutU32(&out->head, static_cast<uint32_t>(kind));
  PutU64(&out->head, len);
  out->tail.clear();
  PutU32(&out->tail, crc);
  out->parts.clear();
  out->parts.push_back(out->head);
  out->parts.insert(out->parts.end(), body.begin(), body.end());
  out->parts.push_back(out->tail);
}

}  // namespace

// FramedReader: Open checks the head (magic, version, kind, length against the
// object's size) before any body byte is read; Finish checks that the body was
// read to its end and that its CRC matches.

Result<std::unique_ptr<FramedReader>> FramedReader::Open(ObjectStore* store, const std::string& key,
                                                         FileKind expected) {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<ObjectReader> reader, store->Open(key));
  std::unique_ptr<FramedReader> f(new FramedReader(std::move(reader), key));
  ObjectReader* r = f->r_.get();
  if (r->size() < kFrameBytes) return Corruption("{}: not a Kite data file (bad magic or too short)", key);
  char head[kFrameHeadBytes];
  KITE_RETURN_IF_ERROR(r->ReadAt(0, sizeof(head), head));
  std::string_view in(head, sizeof(head));
  if (in.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic))) {
    return Corruption("{}: not a Kite data file (bad magic or too short)", key);
  }
  in.remove_prefix(sizeof(kMagic));
  uint32_t version = 0, kind = 0;
  uint64_t len = 0;
  GetU32(&in, &version);
  GetU32(&in, &kind);
  GetU64(&in, &len);
  if (version != kVersion) return Corruption("{}: unsupported format version {}", key, version);
  if (kind != static_cast<uint32_t>(expected)) {
    return Corruption("{}: file kind {} where {} expected", key, kind, static_cast<uint32_t>(expected));
  }
  if (len != r->size() - kFrameBytes) return Corruption("{}: body length {} does not match file size", key, len);
  f->pos_ = kFrameHeadBytes;
  f->end_ = kFrameHeadBytes + len;
  return f;
}

Status FramedReader::Read(void* dst, size_t n) {
  if (n > remaining()) return Corruption("{}: truncated body", name_);
  KITE_RETURN_IF_ERROR(r_->ReadAt(pos_, n, dst));
  crc_ = CrcUpdate(crc_, dst, n);
  pos_ += n;
  return Status::OK();
}

Result<std::string> FramedReader::ReadToEnd() {
  KITE_ASSIGN_OR_RETURN(std::string body, ReadRemaining(this));
  KITE_RETURN_IF_ERROR(Finish());
  return body;
}

Status FramedReader::SkipRest() {
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(remaining(), 1 << 20)));
  while (remaining() > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining(), buf.size()));
    KITE_RETURN_IF_ERROR(Read(buf.data(), n));
  }
  return Status::OK();
}

Status FramedReader::Finish() {
  if (remaining() != 0) return Corruption("{}: {} trailing bytes in the body", name_, remaining());
  char b[4];
  KITE_RETURN_IF_ERROR(r_->ReadAt(end_, 4, b));
  std::string_view tail(b, 4);
  uint32_t crc = 0;
  GetU32(&tail, &crc);
  if (crc != crc_) return Corruption("{}: checksum mismatch", name_);
  return Status::OK();
}

std::string SegmentPrefix(CollectionId c, SegmentId s) {
  return "collections/" + std::to_string(c.value) + "/segments/" + std::to_string(s.value) + "/";
}

std::string DeltaKey(CollectionId c, const std::string& channel, uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(lsn));
  return "collections/" + std::to_string(c.value) + "/deltas/" + channel + "/" + buf + ".del";
}

std::string FrameFile(FileKind kind, std::string_view body) {
  Framed f;
  FrameParts(kind, {body}, &f);
  std::string out;
  out.reserve(kFrameBytes + body.size());
  for (std::string_view p : f.parts) out.append(p);
  return out;
}

Result<std::string_view> UnframeFile(std::string_view file, FileKind expected, const std::string& name) {
  if (file.size() < kFrameBytes || file.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic))) {
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

size_t FramedSize(size_t body_bytes) { return kFrameBytes + body_bytes; }

Status PutFramed(ObjectStore* store, const std::string& key, FileKind kind, const std::vector<std::string_view>& body) {
  Framed f;
  FrameParts(kind, body, &f);
  return store->PutParts(key, f.parts);
}

Result<std::string> GetFramedBody(ObjectStore* store, const std::string& key, FileKind expected) {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<FramedReader> src, FramedReader::Open(store, key, expected));
  return src->ReadToEnd();
}

Result<std::vector<std::string>> WriteSegmentFiles(ObjectStore* store, const std::string& prefix,
                                                    const ColumnBatch& columns,
                                                    const std::vector<Timestamp>& timestamps) {
  std::vector<std::string> keys;
  for (const auto& c : columns.columns) {
    // Streamed from the column's own buffers: a large column is never copied.
    ColumnEncoding enc;
    EncodeColumnParts(c, &enc);
    std::string key = prefix + std::to_string(c.field_id.value) + ".col";
    KITE_RETURN_IF_ERROR(PutFramed(store, key, FileKind::kColumn, enc.parts));
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
    if (EndsWith(key, "ts.bin")) {
      KITE_ASSIGN_OR_RETURN(std::string file_body, GetFramedBody(store, key, FileKind::kTimestamps));
      std::string_view body = file_body;
      uint64_t n = 0;
      if (!GetU64(&body, &n) || body.size() != n * 8) return Corruption("{}: bad timestamp count", key);
      timestamps->resize(n);
      for (uint64_t i = 0; i < n; ++i) GetU64(&body, &(*timestamps)[i]);
      have_ts = true;
    } else {
      // Read straight into the column's buffers: a large column is never held twice.
      KITE_ASSIGN_OR_RETURN(std::unique_ptr<FramedReader> src, FramedReader::Open(store, key, FileKind::kColumn));
      auto c = DecodeColumnFrom(src.get());
      if (!c.ok()) {
        if (c.status().code() != StatusCode::kCorruption) return c.status();
        return Corruption("{}: {}", key, c.status().message());
      }
      KITE_RETURN_IF_ERROR(src->Finish());
      columns->num_rows = c->num_rows;
      columns->columns.push_back(std::move(c).value());
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
