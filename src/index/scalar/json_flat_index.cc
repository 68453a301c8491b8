// JsonFlatIndex (json_flat_index.h): one JsonPathIndex per key and type found
// below the path; persisted as in docs/formats/scalar_index.md ("JSON flat
// indexes").
#include "index/scalar/json_flat_index.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

namespace kite::index {
namespace {

constexpr char kMagic[4] = {'K', 'J', 'F', 'X'};
constexpr uint32_t kVersion = 1;
constexpr int kMaxDepth = 8;          // keys deeper below the path are not indexed
constexpr size_t kMaxCandidates = 4096;  // distinct (key, type) pairs counted

using Json = nlohmann::json;

uint32_t Crc32(std::string_view b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!b.empty()) {
    auto n = static_cast<uInt>(std::min<size_t>(b.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data()), n);
    b.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

std::string EscapeStep(std::string_view step) {
  std::string out;
  for (char c : step) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

const char* CastOf(const Json& v) {
  if (v.is_boolean()) return "BOOL";
  if (v.is_number()) return "DOUBLE";
  if (v.is_string()) return "VARCHAR";
  return nullptr;
}

// Counts the (pointer below `base`, cast type) pairs of the scalar values in
// `v`, walking objects only.
void Collect(const Json& v, const std::string& pointer, int depth, std::map<std::pair<std::string, std::string>, int64_t>* seen) {
  if (const char* cast = CastOf(v)) {
    auto key = std::make_pair(pointer, std::string(cast));
    auto it = seen->find(key);
    if (it != seen->end()) {
      ++it->second;
    } else if (seen->size() < kMaxCandidates) {
      seen->emplace(std::move(key), 1);
    }
    return;
  }
  if (!v.is_object() || depth >= kMaxDepth) return;
  for (const auto& [k, child] : v.items()) Collect(child, pointer + "/" + EscapeStep(k), depth + 1, seen);
}

const Json* At(const Json& root, const std::vector<std::string>& steps) {
  const Json* cur = &root;
  for (const auto& s : steps) {
    if (cur->is_object()) {
      auto it = cur->find(s);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      size_t i = std::stoul(s);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
  }
  return cur;
}

std::string Param(const std::map<std::string, std::string>& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

}  // namespace

Result<std::unique_ptr<JsonFlatIndex>> JsonFlatIndex::Build(const std::map<std::string, std::string>& params,
                                                            const Column& column) {
  if (column.type != DataType::kJson) {
    return InvalidArgument("a JSON flat index needs a JSON column, not {}", DataTypeName(column.type));
  }
  std::unique_ptr<JsonFlatIndex> idx(new JsonFlatIndex());
  idx->pointer_ = Param(params, "json_pointer");
  idx->steps_ = JsonPointerSteps(idx->pointer_);
  idx->rows_ = column.num_rows;
  std::map<std::pair<std::string, std::string>, int64_t> seen;
  for (int64_t r = 0; r < column.num_rows; ++r) {
    if (column.IsNull(r)) continue;
    Json j = Json::parse(column.GetBytes(r), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;
    if (const Json* v = At(j, idx->steps_)) Collect(*v, idx->pointer_, 0, &seen);
  }
  std::vector<std::pair<int64_t, std::pair<std::string, std::string>>> ranked;
  for (auto& [key, n] : seen) ranked.emplace_back(n, key);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  if (ranked.size() > kMaxJsonFlatPaths) ranked.resize(kMaxJsonFlatPaths);
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const auto& [n, key] : ranked) {
    (void)n;
    KITE_ASSIGN_OR_RETURN(auto sub, JsonPathIndex::Build({{"index_type", "INVERTED"},
                                                          {"json_cast_type", key.second},
                                                          {"json_pointer", key.first}},
                                                         column));
    idx->keys_.push_back(std::move(sub));
  }
  return idx;
}

Result<std::unique_ptr<JsonFlatIndex>> JsonFlatIndex::Load(const std::map<std::string, std::string>& params,
                                                           std::string_view bytes) {
  if (bytes.size() < 8) return Corruption("JSON flat index: {} bytes is too short", bytes.size());
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + body.size(), 4);
  if (crc != Crc32(body)) return Corruption("JSON flat index: checksum mismatch");
  if (std::memcmp(body.data(), kMagic, 4) != 0) return Corruption("JSON flat index: bad magic");
  body.remove_prefix(4);
  auto take = [&](void* p, size_t n) {
    if (body.size() < n) return false;
    std::memcpy(p, body.data(), n);
    body.remove_prefix(n);
    return true;
  };
  uint32_t version = 0, plen = 0, count = 0;
  uint64_t rows = 0;
  if (!take(&version, 4) || !take(&plen, 4) || body.size() < plen) return Corruption("JSON flat index: truncated header");
  std::unique_ptr<JsonFlatIndex> idx(new JsonFlatIndex());
  idx->pointer_.assign(body.data(), plen);
  body.remove_prefix(plen);
  if (!take(&rows, 8) || !take(&count, 4)) return Corruption("JSON flat index: truncated header");
  if (version != kVersion) return Corruption("JSON flat index: unsupported version {}", version);
  if (count > kMaxJsonFlatPaths) return Corruption("JSON flat index: {} keys", count);
  if (params.count("json_pointer") && Param(params, "json_pointer") != idx->pointer_) {
    return InvalidArgument("JSON flat index param json_pointer {} does not match the stored {}",
                           Param(params, "json_pointer"), idx->pointer_);
  }
  idx->steps_ = JsonPointerSteps(idx->pointer_);
  idx->rows_ = static_cast<int64_t>(rows);
  for (uint32_t k = 0; k < count; ++k) {
    uint64_t len = 0;
    if (!take(&len, 8) || body.size() < len) return Corruption("JSON flat index: truncated key {}", k);
    KITE_ASSIGN_OR_RETURN(auto sub, JsonPathIndex::Load({}, body.substr(0, len)));
    body.remove_prefix(len);
    if (sub->rows() != idx->rows_ || !sub->pointer().starts_with(idx->pointer_)) {
      return Corruption("JSON flat index: key {} does not match the header", k);
    }
    idx->keys_.push_back(std::move(sub));
  }
  if (!body.empty()) return Corruption("JSON flat index: {} trailing bytes", body.size());
  return idx;
}

Status JsonFlatIndex::Serialize(std::string* out) const {
  const size_t start = out->size();
  auto put = [&](const void* p, size_t n) { out->append(static_cast<const char*>(p), n); };
  put(kMagic, 4);
  put(&kVersion, 4);
  auto plen = static_cast<uint32_t>(pointer_.size());
  put(&plen, 4);
  put(pointer_.data(), pointer_.size());
  auto rows = static_cast<uint64_t>(rows_);
  put(&rows, 8);
  auto count = static_cast<uint32_t>(keys_.size());
  put(&count, 4);
  for (const auto& k : keys_) {
    std::string sub;
    KITE_RETURN_IF_ERROR(k->Serialize(&sub));
    uint64_t len = sub.size();
    put(&len, 8);
    put(sub.data(), sub.size());
  }
  uint32_t crc = Crc32(std::string_view(*out).substr(start));
  put(&crc, 4);
  return Status::OK();
}

size_t JsonFlatIndex::MemoryBytes() const {
  size_t n = sizeof(*this);
  for (const auto& k : keys_) n += k->MemoryBytes();
  return n;
}

std::vector<std::pair<std::string, std::string>> JsonFlatIndex::Keys() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : keys_) out.emplace_back(k->pointer(), k->cast_type());
  return out;
}

const JsonPathIndex* JsonFlatIndex::Find(const expr::IndexLeaf& leaf) const {
  if (!leaf.json || leaf.json_path.size() < steps_.size() ||
      !std::equal(steps_.begin(), steps_.end(), leaf.json_path.begin())) {
    return nullptr;
  }
  for (const auto& k : keys_) {
    if (k->Supports(leaf)) return k.get();
  }
  return nullptr;
}

bool JsonFlatIndex::Supports(const expr::IndexLeaf& leaf) const { return Find(leaf) != nullptr; }

bool JsonFlatIndex::Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const {
  const JsonPathIndex* k = Find(leaf);
  return k != nullptr && k->Search(leaf, rows, out);
}

bool JsonFlatIndex::PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const {
  (void)leaf, (void)rows;
  return false;
}

}  // namespace kite::index
