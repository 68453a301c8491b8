#include "segment/index_file.h"

#include <nlohmann/json.hpp>

#include "segment/segment_file.h"

namespace kite {

using nlohmann::json;

std::string IndexFileKey(CollectionId collection, IndexId index, SegmentId segment) {
  return "collections/" + std::to_string(collection.value) + "/indexes/" + std::to_string(index.value) + "/" +
         std::to_string(segment.value) + ".idx";
}

Result<int64_t> WriteIndexFile(ObjectStore* store, const std::string& key, const IndexFileHeader& h,
                               std::string_view payload) {
  std::string head = json{{"segment", h.segment.value}, {"index", h.index.value}, {"field", h.field.value},
                          {"kind", h.kind},             {"params", h.params},     {"rows", h.rows}}
                         .dump();
  char len[4];
  uint32_t n = static_cast<uint32_t>(head.size());
  for (int i = 0; i < 4; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  // Streamed: the payload (a whole graph) is not copied into a file image.
  KITE_RETURN_IF_ERROR(PutFramed(store, key, FileKind::kIndex, {std::string_view(len, 4), head, payload}));
  return static_cast<int64_t>(FramedSize(4 + head.size() + payload.size()));
}

namespace {

// The 4-byte length and the JSON header at the start of an index file's body.
Result<IndexFileHeader> ReadHeader(ByteSource* in, const std::string& key) {
  char len[4];
  if (in->remaining() < 4) return Corruption("{}: index header missing", key);
  KITE_RETURN_IF_ERROR(in->Read(len, 4));
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(len[i])) << (8 * i);
  if (in->remaining() < n) return Corruption("{}: index header length {} exceeds the file", key, n);
  std::string head(n, '\0');
  KITE_RETURN_IF_ERROR(in->Read(head.data(), n));
  IndexFileHeader h;
  try {
    json j = json::parse(head);
    h.segment = SegmentId(j.at("segment").get<int64_t>());
    h.index = IndexId(j.at("index").get<int64_t>());
    h.field = FieldId(j.at("field").get<int64_t>());
    h.kind = j.at("kind").get<std::string>();
    h.params = j.at("params").get<std::map<std::string, std::string>>();
    h.rows = j.at("rows").get<int64_t>();
  } catch (const json::exception& e) {
    return Corruption("{}: bad index header: {}", key, e.what());
  }
  return h;
}

}  // namespace

Result<IndexFileHeader> OpenIndexFile(ObjectStore* store, const std::string& key,
                                      std::unique_ptr<FramedReader>* payload) {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<FramedReader> in, FramedReader::Open(store, key, FileKind::kIndex));
  KITE_ASSIGN_OR_RETURN(IndexFileHeader h, ReadHeader(in.get(), key));
  *payload = std::move(in);
  return h;
}

}  // namespace kite
