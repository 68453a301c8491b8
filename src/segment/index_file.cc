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

Result<IndexFileHeader> ReadIndexFile(ObjectStore* store, const std::string& key, std::string* payload) {
  KITE_ASSIGN_OR_RETURN(std::string body, GetFramedBody(store, key, FileKind::kIndex));
  if (body.size() < 4) return Corruption("{}: index header missing", key);
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(body[i])) << (8 * i);
  if (body.size() - 4 < n) return Corruption("{}: index header length {} exceeds the file", key, n);
  IndexFileHeader h;
  try {
    json j = json::parse(std::string_view(body).substr(4, n));
    h.segment = SegmentId(j.at("segment").get<int64_t>());
    h.index = IndexId(j.at("index").get<int64_t>());
    h.field = FieldId(j.at("field").get<int64_t>());
    h.kind = j.at("kind").get<std::string>();
    h.params = j.at("params").get<std::map<std::string, std::string>>();
    h.rows = j.at("rows").get<int64_t>();
  } catch (const json::exception& e) {
    return Corruption("{}: bad index header: {}", key, e.what());
  }
  body.erase(0, 4 + static_cast<size_t>(n));  // in place: the payload is not copied
  *payload = std::move(body);
  return h;
}

}  // namespace kite
