// Reading one row of an Array column in Kite's array encoding
// (schema/column_batch.h): fixed-width elements packed back to back, VarChar
// elements each a little-endian uint32 length followed by the bytes.
// Malformed rows (truncated lengths) read as having fewer elements; reading
// never goes outside the row. Header-only, stateless. Internal to src/expr.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "expr/expr.h"
#include "expr/json_column.h"
#include "schema/data_type.h"

namespace kite::expr::internal {

// One element, widened: Bool -> b, Int8..Int64 -> i, Float/Double -> d
// (is_float32 for Float, whose literals compare after rounding to float),
// VarChar -> s.
struct ElemRef {
  enum class Kind : uint8_t { kBool, kInt, kDouble, kString } kind = Kind::kInt;
  bool is_float32 = false;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view s;
};

class ArrayReader {
 public:
  ArrayReader(DataType elem, std::string_view row) : elem_(elem), row_(row), width_(ElemWidth(elem)) {}

  // Calls f(const ElemRef&) for each element until f returns false.
  template <typename F>
  void ForEach(F&& f) const {
    if (width_ > 0) {
      size_t n = row_.size() / width_;
      for (size_t k = 0; k < n; ++k) {
        if (!f(Fixed(k))) return;
      }
      return;
    }
    size_t p = 0;
    while (p + 4 <= row_.size()) {
      uint32_t len = ReadU32(p);
      p += 4;
      if (len > row_.size() - p) return;
      ElemRef e;
      e.kind = ElemRef::Kind::kString;
      e.s = row_.substr(p, len);
      p += len;
      if (!f(e)) return;
    }
  }

  size_t Size() const {
    if (width_ > 0) return row_.size() / width_;
    size_t n = 0;
    ForEach([&](const ElemRef&) {
      ++n;
      return true;
    });
    return n;
  }

  bool At(int64_t index, ElemRef* out) const {
    if (index < 0) return false;
    if (width_ > 0) {
      if (static_cast<size_t>(index) >= row_.size() / width_) return false;
      *out = Fixed(static_cast<size_t>(index));
      return true;
    }
    int64_t k = 0;
    bool found = false;
    ForEach([&](const ElemRef& e) {
      if (k++ == index) {
        *out = e;
        found = true;
        return false;
      }
      return true;
    });
    return found;
  }

  static size_t ElemWidth(DataType t) {
    switch (t) {
      case DataType::kBool:
      case DataType::kInt8: return 1;
      case DataType::kInt16: return 2;
      case DataType::kInt32:
      case DataType::kFloat: return 4;
      case DataType::kInt64:
      case DataType::kDouble: return 8;
      default: return 0;  // VarChar / String
    }
  }

 private:
  template <typename T>
  T Load(size_t k) const {
    T v;
    std::memcpy(&v, row_.data() + k * sizeof(T), sizeof(T));
    return v;
  }
  uint32_t ReadU32(size_t p) const {
    uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<uint32_t>(static_cast<uint8_t>(row_[p + b])) << (8 * b);
    return v;
  }
  ElemRef Fixed(size_t k) const {
    ElemRef e;
    switch (elem_) {
      case DataType::kBool:
        e.kind = ElemRef::Kind::kBool;
        e.b = Load<uint8_t>(k) != 0;
        break;
      case DataType::kInt8: e.i = Load<int8_t>(k); break;
      case DataType::kInt16: e.i = Load<int16_t>(k); break;
      case DataType::kInt32: e.i = Load<int32_t>(k); break;
      case DataType::kInt64: e.i = Load<int64_t>(k); break;
      case DataType::kFloat:
        e.kind = ElemRef::Kind::kDouble;
        e.is_float32 = true;
        e.d = Load<float>(k);
        break;
      default:
        e.kind = ElemRef::Kind::kDouble;
        e.d = Load<double>(k);
        break;
    }
    return e;
  }

  DataType elem_;
  std::string_view row_;
  size_t width_;
};

// Whether element `e` equals literal `lit` (numbers exactly; a Float element
// against the literal rounded to float). Arrays never equal a scalar element.
inline bool ElemEquals(const ElemRef& e, const TemplateValue& lit) {
  switch (e.kind) {
    case ElemRef::Kind::kBool: return lit.is_bool() && lit.as_bool() == e.b;
    case ElemRef::Kind::kString: return lit.is_string() && lit.as_string() == e.s;
    case ElemRef::Kind::kInt:
      if (lit.is_int()) return lit.as_int() == e.i;
      if (lit.is_double()) {
        auto c = CompareNumbers(e.i, lit.as_double());
        return c && *c == 0;
      }
      return false;
    case ElemRef::Kind::kDouble: {
      if (!lit.is_number()) return false;
      if (e.is_float32) return static_cast<float>(e.d) == ToFloat32(lit.as_number());
      auto c = lit.is_int() ? CompareNumbers(e.d, lit.as_int()) : CompareNumbers(e.d, lit.as_double());
      return c && *c == 0;
    }
  }
  return false;
}

}  // namespace kite::expr::internal
