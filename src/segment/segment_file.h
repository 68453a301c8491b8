// Sealed segment files in the object store (docs/formats/segment_file.md).
//
// A flushed segment is one object per stored field plus one for the row
// timestamps; deletes are kept per shard channel in delta files covering one
// checkpoint interval each. Every file carries a magic, a format version, its
// kind and a CRC-32 of its body; a mismatch is reported as Corruption, never
// read as data. Pure functions over the ObjectStore; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/timestamp.h"
#include "schema/column_batch.h"
#include "storage/object/object_store.h"

namespace kite {

struct DeleteRecord {
  PrimaryKey pk;
  Timestamp ts = 0;
  int64_t partition = 0;  // partition id the delete is limited to; 0 = every partition
};

// Object key prefix of a segment: collections/<cid>/segments/<segid>/
std::string SegmentPrefix(CollectionId collection, SegmentId segment);
// Key of a delta file: collections/<cid>/deltas/<channel>/<lsn>.del
std::string DeltaKey(CollectionId collection, const std::string& channel, uint64_t lsn);

// Writes every column and the timestamps; returns the keys written.
Result<std::vector<std::string>> WriteSegmentFiles(ObjectStore* store, const std::string& prefix,
                                                    const ColumnBatch& columns,
                                                    const std::vector<Timestamp>& timestamps);
// The keys among a segment's `files` that hold the columns of `fields`, plus
// its timestamps: what ReadSegmentFiles needs to read only those columns.
std::vector<std::string> SegmentFilesFor(const std::vector<std::string>& files, const std::vector<FieldId>& fields);
// Reads the files listed in `keys` back (columns by field id, timestamps).
Status ReadSegmentFiles(ObjectStore* store, const std::vector<std::string>& keys, ColumnBatch* columns,
                        std::vector<Timestamp>* timestamps);

Status WriteDeltaFile(ObjectStore* store, const std::string& key, const std::vector<DeleteRecord>& deletes);
Result<std::vector<DeleteRecord>> ReadDeltaFile(ObjectStore* store, const std::string& key);

// The framing shared by all Kite data files, exposed for tests and fuzzers.
enum class FileKind : uint32_t { kColumn = 1, kTimestamps = 2, kDelta = 3, kIndex = 4 };
std::string FrameFile(FileKind kind, std::string_view body);
Result<std::string_view> UnframeFile(std::string_view file, FileKind expected, const std::string& name);
// Bytes of a framed file holding `body_bytes` of body.
size_t FramedSize(size_t body_bytes);
// Writes the framed concatenation of `body` without building it (PutParts).
Status PutFramed(ObjectStore* store, const std::string& key, FileKind kind, const std::vector<std::string_view>& body);
// The body of a framed object, read once into the returned string (the file
// is never held as a whole besides it); Corruption as UnframeFile.
Result<std::string> GetFramedBody(ObjectStore* store, const std::string& key, FileKind expected);

// The body of a framed object as a stream, for readers that build their
// structure straight from it (a column, a graph). Open checks the frame's
// head; the CRC is only known once the whole body was read: call Finish()
// then, and trust nothing built from the bytes before it returns OK.
class FramedReader final : public ByteSource {
 public:
  static Result<std::unique_ptr<FramedReader>> Open(ObjectStore* store, const std::string& key, FileKind expected);
  uint64_t remaining() const override { return end_ - pos_; }
  Status Read(void* dst, size_t n) override;
  // Corruption when bytes are left unread or the CRC does not match.
  Status Finish();
  // The rest of the body as one string, its CRC checked (Finish).
  Result<std::string> ReadToEnd();
  // Reads (and checksums) the rest of the body, discarding it: after a reader
  // gave up on the body, Finish() can still tell a damaged file.
  Status SkipRest();
  const std::string& name() const { return name_; }

 private:
  FramedReader(std::unique_ptr<ObjectReader> r, std::string name) : r_(std::move(r)), name_(std::move(name)) {}
  std::unique_ptr<ObjectReader> r_;
  std::string name_;
  uint64_t pos_ = 0, end_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace kite
