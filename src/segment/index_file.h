// Segment index files in the object store (docs/formats/index_file.md): the
// bytes of one built index of one sealed segment, framed like every Kite data
// file (magic, version, kind 4, CRC-32), with a JSON header saying what was
// built from what. Pure functions over the ObjectStore; thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/ids.h"
#include "common/status.h"
#include "segment/segment_file.h"
#include "storage/object/object_store.h"

namespace kite {

struct IndexFileHeader {
  SegmentId segment;
  IndexId index;
  FieldId field;
  std::string kind = "vector";                // "vector" or "scalar"
  std::map<std::string, std::string> params;  // resolved build params
  int64_t rows = 0;
};

// collections/<coll_id>/indexes/<index_id>/<seg_id>.idx
std::string IndexFileKey(CollectionId collection, IndexId index, SegmentId segment);
// Writes header + payload; returns the file size.
Result<int64_t> WriteIndexFile(ObjectStore* store, const std::string& key, const IndexFileHeader& header,
                               std::string_view payload);
// Reads the header and leaves `*payload` positioned at the index's own bytes:
// a loader builds the index straight from the stream, or takes them whole
// with ReadToEnd(); the file's checksum is checked by Finish() (ReadToEnd
// calls it) once they are read.
Result<IndexFileHeader> OpenIndexFile(ObjectStore* store, const std::string& key,
                                      std::unique_ptr<FramedReader>* payload);

}  // namespace kite
