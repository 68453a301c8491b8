// JsonPathIndex: Milvus 2.6's JSON path index (an INVERTED or NGRAM index
// created with `json_path` and `json_cast_type` on a JSON field or on a key of
// the dynamic field) over one sealed segment's JSON column.
//
// What it holds: the value at the path of every row, cast to the index's type
// (json_cast_type), in an INVERTED index (posting_index.cc) over a column of
// that type:
//   BOOL          rows whose value is a JSON bool
//   DOUBLE        rows whose value is a JSON number (int or double)
//   VARCHAR       rows whose value is a JSON string
//   ARRAY_BOOL / ARRAY_DOUBLE / ARRAY_VARCHAR
//                 rows whose value is a JSON array: its elements of that type
// Rows whose value is of another type, or that lack the path, are not in it
// (the index's "null" rows); rows whose JSON is null are kept apart.
// With json_cast_function STRING_TO_DOUBLE (DOUBLE only), a JSON string at
// the path is indexed as the number it starts with (Milvus 2.6's std::stod
// reading; a string without one is not in the index).
//
// Contract (the one of scalar_index.h): Search answers a JSON leaf
// (expr/index_lookup.h, `json` set, on this index's path) exactly as scanning
// the JSON column answers it: a row outside the cast type never equals, is
// never ordered against and never contains a literal of the index's type, and
// is `!=` every such literal; null JSON rows are null. So answers are the
// same with and without the index, whatever the rows hold -- except with
// STRING_TO_DOUBLE, where (as in Milvus, whose sealed segments answer from
// the index and growing ones by scanning) numeric leaves also match the
// strings the function converted. It declines leaves
// of another key type (a string literal on a DOUBLE index, say), and numeric
// leaves when some int at the path does not convert to a double exactly.
//
// Thread-safety and ownership: as ScalarIndex (immutable once built).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/scalar/scalar_index.h"

namespace kite::index {

// JSON Pointer (RFC 6901, "" = the whole value) -> the filter's path steps.
std::vector<std::string> JsonPointerSteps(std::string_view pointer);

class JsonPathIndex final : public ScalarIndex {
 public:
  // `params`: json_cast_type (BOOL, DOUBLE, VARCHAR, ARRAY_BOOL, ARRAY_DOUBLE,
  // ARRAY_VARCHAR), json_pointer and the optional json_cast_function
  // (STRING_TO_DOUBLE, with DOUBLE); `column` a JSON column.
  static Result<std::unique_ptr<JsonPathIndex>> Build(const std::map<std::string, std::string>& params,
                                                      const Column& column);
  // Serialize's bytes; damage is Corruption, a cast type or path that differs
  // from `params`' is InvalidArgument.
  static Result<std::unique_ptr<JsonPathIndex>> Load(const std::map<std::string, std::string>& params,
                                                     std::string_view bytes);

  std::string_view type() const override { return "INVERTED"; }
  DataType data_type() const override { return DataType::kJson; }
  DataType element_type() const override { return DataType::kNone; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override;
  bool Supports(const expr::IndexLeaf& leaf) const override;
  bool Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const override;
  // Never: a scan parses the JSON text of every row.
  bool PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const override;
  Status Serialize(std::string* out) const override;
  const std::vector<std::string>* json_path() const override { return &steps_; }

  const std::string& cast_type() const { return cast_; }
  const std::string& pointer() const { return pointer_; }
  // Rows whose value at the path has the cast type.
  int64_t cast_rows() const;

 private:
  JsonPathIndex() = default;
  // The leaf the inner index answers: `leaf` on a plain column of the cast type.
  expr::IndexLeaf InnerLeaf(const expr::IndexLeaf& leaf) const;

  std::string cast_;
  std::string pointer_;
  std::vector<std::string> steps_;
  int64_t rows_ = 0;
  bool inexact_ = false;                 // an int at the path that no double equals
  bool string_to_double_ = false;        // json_cast_function STRING_TO_DOUBLE
  std::vector<uint32_t> null_rows_;      // rows whose JSON is null, ascending
  std::unique_ptr<ScalarIndex> inner_;   // INVERTED over the cast column
};

}  // namespace kite::index
