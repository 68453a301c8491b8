// Reading a column's values as index keys: the canonical conversions of
// expr/index_lookup.h (Bool rows as their raw byte, Bool array elements as
// 0/1, Float widened to double, strings as bytes), nulls and NaNs set aside.
// Array rows are read like expr/array_reader.h reads them (a truncated VarChar
// element ends the row). Internal to src/index/scalar.
#pragma once

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "index/scalar/scalar_index_internal.h"

namespace kite::index::scalar {

template <typename T>
T LoadAt(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// The numeric key of a fixed-width value of `type` at `p`. `element`: an
// Array element (Bool reads as 0/1), else a scalar row (Bool's raw byte).
template <typename V>
V NumericKey(DataType type, const uint8_t* p, bool element) {
  switch (type) {
    case DataType::kBool: return static_cast<V>(element ? (p[0] != 0) : p[0]);
    case DataType::kInt8: return static_cast<V>(LoadAt<int8_t>(p));
    case DataType::kInt16: return static_cast<V>(LoadAt<int16_t>(p));
    case DataType::kInt32: return static_cast<V>(LoadAt<int32_t>(p));
    case DataType::kInt64:
    case DataType::kTimestamptz: return static_cast<V>(LoadAt<int64_t>(p));
    case DataType::kFloat: return static_cast<V>(LoadAt<float>(p));
    default: return static_cast<V>(LoadAt<double>(p));
  }
}

inline size_t ElementWidth(DataType t) {
  switch (t) {
    case DataType::kBool:
    case DataType::kInt8: return 1;
    case DataType::kInt16: return 2;
    case DataType::kInt32:
    case DataType::kFloat: return 4;
    case DataType::kInt64:
    case DataType::kTimestamptz:
    case DataType::kDouble: return 8;
    default: return 0;
  }
}

// Calls f(V key) for each element of an encoded Array row.
template <typename V, typename F>
void ForEachElement(DataType elem, std::string_view row, F&& f) {
  const auto* p = reinterpret_cast<const uint8_t*>(row.data());
  if constexpr (std::is_same_v<V, std::string_view>) {
    size_t pos = 0;
    while (pos + 4 <= row.size()) {
      uint32_t len = static_cast<uint32_t>(p[pos]) | (static_cast<uint32_t>(p[pos + 1]) << 8) |
                     (static_cast<uint32_t>(p[pos + 2]) << 16) | (static_cast<uint32_t>(p[pos + 3]) << 24);
      pos += 4;
      if (len > row.size() - pos) return;
      f(row.substr(pos, len));
      pos += len;
    }
  } else {
    size_t w = ElementWidth(elem);
    size_t n = row.size() / w;
    for (size_t k = 0; k < n; ++k) f(NumericKey<V>(elem, p + k * w, true));
  }
}

template <typename V>
bool IsNanKey(V v) {
  if constexpr (std::is_floating_point_v<V>) return std::isnan(v);
  return false;
}

// (key, row) entries of a column sorted by (key, row), distinct; V is
// int64_t, double or std::string_view (viewing the column's bytes).
template <typename V>
struct Entries {
  Bitmap nulls;
  Bitmap nans;
  std::vector<std::pair<V, uint32_t>> items;
};

template <typename V>
Entries<V> ExtractEntries(const Column& col) {
  Entries<V> e;
  std::vector<uint32_t> nulls, nans;
  const auto n = static_cast<uint32_t>(col.num_rows);
  const bool array = col.type == DataType::kArray;
  if (!array) e.items.reserve(n);
  for (uint32_t r = 0; r < n; ++r) {
    if (col.IsNull(r)) {
      nulls.push_back(r);
      continue;
    }
    if (array) {
      ForEachElement<V>(col.element_type, col.GetBytes(r), [&](V v) {
        if (!IsNanKey(v)) e.items.emplace_back(v, r);
      });
      continue;
    }
    V v;
    if constexpr (std::is_same_v<V, std::string_view>) {
      v = col.GetBytes(r);
    } else {
      v = NumericKey<V>(col.type, col.RowPtr(r), false);
    }
    if (IsNanKey(v)) {
      nans.push_back(r);
    } else {
      e.items.emplace_back(v, r);
    }
  }
  // No NaN is left, so (key, row) order is a strict weak order (-0.0 == 0.0).
  std::sort(e.items.begin(), e.items.end());
  if (array) {
    auto same = [](const auto& a, const auto& b) { return !(a.first < b.first) && !(b.first < a.first) && a.second == b.second; };
    e.items.erase(std::unique(e.items.begin(), e.items.end(), same), e.items.end());
  }
  e.nulls = Bitmap::Of(nulls);
  e.nans = Bitmap::Of(nans);
  return e;
}

}  // namespace kite::index::scalar
