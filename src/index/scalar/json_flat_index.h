// JsonFlatIndex: Milvus 2.6's JSON path index with `json_cast_type` JSON (an
// INVERTED index on a JSON field or dynamic key that indexes every key below
// `json_path`, not one value of one type) over one sealed segment's JSON column.
//
// What it holds: for the keys found below the path in the segment's rows
// (objects are walked, arrays are values; at most kMaxJsonFlatPaths keys,
// the most frequent), one JsonPathIndex (json_path_index.h) per key and per
// scalar type seen there (DOUBLE for numbers, VARCHAR for strings, BOOL).
//
// Contract: a filter leaf on a key below the path is answered by the
// JsonPathIndex of that key and of the leaf's key type, hence exactly as a
// scan of the JSON column answers it; leaves on other keys, of another type or
// of a kind no JsonPathIndex answers are declined (and scanned).
//
// Thread-safety and ownership: as ScalarIndex (immutable once built).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/scalar/json_path_index.h"

namespace kite::index {

inline constexpr size_t kMaxJsonFlatPaths = 32;

class JsonFlatIndex final : public ScalarIndex {
 public:
  // `params`: json_cast_type JSON and json_pointer; `column` a JSON column.
  static Result<std::unique_ptr<JsonFlatIndex>> Build(const std::map<std::string, std::string>& params,
                                                      const Column& column);
  // Serialize's bytes; damage is Corruption, a pointer that differs from
  // `params`' is InvalidArgument.
  static Result<std::unique_ptr<JsonFlatIndex>> Load(const std::map<std::string, std::string>& params,
                                                     std::string_view bytes);

  std::string_view type() const override { return "INVERTED"; }
  DataType data_type() const override { return DataType::kJson; }
  DataType element_type() const override { return DataType::kNone; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override;
  bool Supports(const expr::IndexLeaf& leaf) const override;
  bool Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const override;
  bool PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const override;
  Status Serialize(std::string* out) const override;
  const std::vector<std::string>* json_path() const override { return &steps_; }

  // The keys indexed, as JSON Pointers below the field, with their cast types.
  std::vector<std::pair<std::string, std::string>> Keys() const;

 private:
  JsonFlatIndex() = default;
  const JsonPathIndex* Find(const expr::IndexLeaf& leaf) const;

  std::string pointer_;
  std::vector<std::string> steps_;
  int64_t rows_ = 0;
  std::vector<std::unique_ptr<JsonPathIndex>> keys_;
};

}  // namespace kite::index
