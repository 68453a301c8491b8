// JsonColumn: one JSON path extracted from every row of a JSON column for a
// batch, so that predicates on the path run as loops over compact per-row
// values instead of re-parsing text. Rows are parsed with simdjson (DOM); the
// value at the path is flattened into JNodes (arrays keep their elements,
// nested arrays included; objects are opaque).
//
// Path steps follow JSON Pointer rules (what Milvus uses): on an object a step
// is a key; on an array it must be a decimal index. A row whose text is null
// (column validity) is invalid; a row without the path, or with unparsable
// text, has a kMissing value.
//
// Built once per (field, path) per Evaluate call and then read-only; not
// shared across threads. Also holds the literal-comparison helpers for JSON
// values (numbers compare numerically across int/double: 1 == 1.0).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "expr/expr.h"
#include "schema/column_batch.h"

namespace kite::expr::internal {

enum class JType : uint8_t { kMissing, kNull, kBool, kInt, kDouble, kString, kArray, kObject };

struct JNode {
  JType type = JType::kMissing;
  bool b = false;
  uint32_t count = 0;  // kArray: number of elements
  union {
    int64_t i;
    double d;
    uint64_t off;  // kString: offset in the arena; kArray: index of the first element
  } u{};
  uint64_t len = 0;  // kString: bytes
};

class JsonColumn {
 public:
  // Extracts `path` from rows [0, n) of `col` (a JSON column).
  static JsonColumn Extract(const Column& col, int64_t n, const std::vector<std::string>& path);

  int64_t rows() const { return static_cast<int64_t>(root_.size()); }
  bool IsNull(int64_t r) const { return !valid_.empty() && valid_[r] == 0; }
  const std::vector<uint8_t>& valid() const { return valid_; }
  const JNode& Row(int64_t r) const { return nodes_[root_[r]]; }
  const JNode& Element(const JNode& array, uint32_t k) const { return nodes_[array.u.off + k]; }
  std::string_view Str(const JNode& n) const { return std::string_view(arena_).substr(n.u.off, n.len); }

 private:
  uint32_t Add();
  std::vector<JNode> nodes_;  // nodes_[0] is the shared kMissing node
  std::vector<uint32_t> root_;
  std::vector<uint8_t> valid_;
  std::string arena_;

  friend class JsonFlattener;
};

// -1/0/1 when `n` and `lit` are comparable (number~number, string~string,
// bool~bool); nullopt otherwise (missing, null, arrays, objects, type
// mismatch, NaN).
std::optional<int> CompareJson(const JsonColumn& col, const JNode& n, const TemplateValue& lit);
// Deep equality; arrays equal element-wise; numbers numerically.
bool JsonEquals(const JsonColumn& col, const JNode& n, const TemplateValue& lit);

// Exact three-way comparisons between int64 and double; nullopt for NaN.
std::optional<int> CompareNumbers(int64_t a, double b);
std::optional<int> CompareNumbers(double a, int64_t b);
std::optional<int> CompareNumbers(double a, double b);
inline int CompareNumbers(int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }
// double -> float rounding without the undefined behaviour of casting an
// out-of-range value (those become +-infinity).
inline float ToFloat32(double d) {
  if (d > 3.4028234663852886e38) return std::numeric_limits<float>::infinity();
  if (d < -3.4028234663852886e38) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

// Literal numbers (int or double) compared exactly.
std::optional<int> CompareLiteralNumbers(const TemplateValue& a, const TemplateValue& b);

}  // namespace kite::expr::internal
