#include "rpc/rest/rest_rows.h"

#include "schema/geometry.h"
#include "schema/timestamptz.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

namespace kite::rest {

namespace {

constexpr char kTypeNames[][8] = {"null", "object", "array", "string", "boolean", "number", "number", "number",
                                  "binary", "invalid"};

const char* JsonTypeName(const Json& v) { return kTypeNames[static_cast<int>(v.type())]; }

// "row 3, field `age`" or "field `vector`" (for search vectors).
std::string Where(int64_t row, std::string_view field) {
  if (row < 0) return fmt::format("field `{}`", field);
  return fmt::format("row {}, field `{}`", row, field);
}

bool JsonToInt64(const Json& v, int64_t* out) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  return false;
}

Status IntInRange(const Json& v, int64_t lo, int64_t hi, const std::string& where, DataType t, int64_t* out) {
  if (!JsonToInt64(v, out) || *out < lo || *out > hi) {
    return InvalidArgument("{}: expected an integer of type {} (in [{}, {}]), got {}", where, DataTypeName(t), lo, hi,
                           v.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  return Status::OK();
}

Status Number(const Json& v, const std::string& where, double* out) {
  if (!v.is_number()) return InvalidArgument("{}: expected a number, got {}", where, JsonTypeName(v));
  *out = v.get<double>();
  if (!std::isfinite(*out)) return InvalidArgument("{}: the value is NaN or infinite", where);
  return Status::OK();
}

Status FloatValue(const Json& v, const std::string& where, float* out) {
  double d = 0;
  KITE_RETURN_IF_ERROR(Number(v, where, &d));
  if (std::fabs(d) > std::numeric_limits<float>::max()) {
    return InvalidArgument("{}: value {} is out of the range of Float", where, d);
  }
  *out = static_cast<float>(d);
  return Status::OK();
}

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Appends one fixed-width scalar of type `t` to `out`.
Status EncodeFixedScalar(const Json& v, DataType t, const std::string& where, std::string* out) {
  int64_t i = 0;
  switch (t) {
    case DataType::kBool:
      if (!v.is_boolean()) return InvalidArgument("{}: expected a boolean, got {}", where, JsonTypeName(v));
      Put<uint8_t>(out, v.get<bool>() ? 1 : 0);
      return Status::OK();
    case DataType::kInt8:
      KITE_RETURN_IF_ERROR(IntInRange(v, INT8_MIN, INT8_MAX, where, t, &i));
      Put(out, static_cast<int8_t>(i));
      return Status::OK();
    case DataType::kInt16:
      KITE_RETURN_IF_ERROR(IntInRange(v, INT16_MIN, INT16_MAX, where, t, &i));
      Put(out, static_cast<int16_t>(i));
      return Status::OK();
    case DataType::kInt32:
      KITE_RETURN_IF_ERROR(IntInRange(v, INT32_MIN, INT32_MAX, where, t, &i));
      Put(out, static_cast<int32_t>(i));
      return Status::OK();
    case DataType::kInt64:
      KITE_RETURN_IF_ERROR(IntInRange(v, INT64_MIN, INT64_MAX, where, t, &i));
      Put(out, i);
      return Status::OK();
    case DataType::kFloat: {
      float f = 0;
      KITE_RETURN_IF_ERROR(FloatValue(v, where, &f));
      Put(out, f);
      return Status::OK();
    }
    case DataType::kDouble: {
      double d = 0;
      KITE_RETURN_IF_ERROR(Number(v, where, &d));
      Put(out, d);
      return Status::OK();
    }
    default: return InvalidArgument("{}: unsupported scalar type {}", where, DataTypeName(t));
  }
}

Status EncodeArray(const Json& v, const FieldSchema& f, const std::string& where, std::string* out) {
  if (!v.is_array()) return InvalidArgument("{}: expected an array, got {}", where, JsonTypeName(v));
  for (size_t k = 0; k < v.size(); ++k) {
    std::string at = fmt::format("{}[{}]", where, k);
    const Json& e = v[k];
    if (f.element_type == DataType::kVarChar) {
      if (!e.is_string()) return InvalidArgument("{}: expected a string, got {}", at, JsonTypeName(e));
      const auto& s = e.get_ref<const std::string&>();
      PutU32(out, static_cast<uint32_t>(s.size()));
      out->append(s);
    } else {
      KITE_RETURN_IF_ERROR(EncodeFixedScalar(e, f.element_type, at, out));
    }
  }
  return Status::OK();
}

bool Base64Decode(std::string_view in, std::string* out) {
  static const auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = static_cast<int8_t>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int8_t d = kTable[static_cast<unsigned char>(c)];
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

Status DenseArrayOf(const Json& v, const FieldSchema& f, const std::string& where, size_t expect) {
  if (!v.is_array()) {
    return InvalidArgument("{}: expected a {} as an array of {} numbers, got {}", where, DataTypeName(f.type), expect,
                           JsonTypeName(v));
  }
  if (v.size() != expect) {
    return InvalidArgument("{}: the length ({}) of the {} does not match the dimension ({}) of the field", where,
                           v.size(), DataTypeName(f.type), f.dim());
  }
  return Status::OK();
}

Status EncodeSparse(const Json& v, const std::string& where, std::string* out) {
  if (!v.is_object()) {
    return InvalidArgument("{}: expected a sparse vector as an object {{\"index\": value}}, got {}", where,
                           JsonTypeName(v));
  }
  std::vector<std::pair<uint32_t, float>> items;
  auto add = [&](uint64_t idx, const Json& val, const std::string& at) -> Status {
    if (idx >= std::numeric_limits<uint32_t>::max()) {
      return InvalidArgument("{}: sparse index {} is out of range [0, 4294967294]", at, idx);
    }
    float f = 0;
    KITE_RETURN_IF_ERROR(FloatValue(val, at, &f));
    items.emplace_back(static_cast<uint32_t>(idx), f);
    return Status::OK();
  };
  if (v.size() == 2 && v.contains("indices") && v.contains("values")) {
    const Json& idx = v.at("indices");
    const Json& val = v.at("values");
    if (!idx.is_array() || !val.is_array() || idx.size() != val.size()) {
      return InvalidArgument("{}: sparse `indices` and `values` must be arrays of the same length", where);
    }
    for (size_t k = 0; k < idx.size(); ++k) {
      int64_t i = 0;
      if (!JsonToInt64(idx[k], &i) || i < 0) {
        return InvalidArgument("{}: sparse index {} is not a non-negative integer", where, idx[k].dump());
      }
      KITE_RETURN_IF_ERROR(add(static_cast<uint64_t>(i), val[k], fmt::format("{}[{}]", where, i)));
    }
  } else {
    for (const auto& [key, val] : v.items()) {
      uint64_t i = 0;
      auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), i);
      if (key.empty() || ec != std::errc() || p != key.data() + key.size()) {
        return InvalidArgument("{}: sparse index \"{}\" is not a non-negative integer", where, key);
      }
      KITE_RETURN_IF_ERROR(add(i, val, fmt::format("{}[{}]", where, key)));
    }
  }
  std::sort(items.begin(), items.end());
  for (size_t k = 1; k < items.size(); ++k) {
    if (items[k].first == items[k - 1].first) {
      return InvalidArgument("{}: sparse index {} appears twice", where, items[k].first);
    }
  }
  for (const auto& [i, f] : items) {
    Put(out, i);
    Put(out, f);
  }
  return Status::OK();
}

Status EncodeVector(const Json& v, const FieldSchema& f, const std::string& where, std::string* out) {
  size_t dim = static_cast<size_t>(std::max<int64_t>(f.dim(), 0));
  switch (f.type) {
    case DataType::kFloatVector: {
      KITE_RETURN_IF_ERROR(DenseArrayOf(v, f, where, dim));
      for (size_t k = 0; k < dim; ++k) {
        float x = 0;
        KITE_RETURN_IF_ERROR(FloatValue(v[k], fmt::format("{}[{}]", where, k), &x));
        Put(out, x);
      }
      return Status::OK();
    }
    case DataType::kFloat16Vector:
    case DataType::kBFloat16Vector: {
      bool half = f.type == DataType::kFloat16Vector;
      if (v.is_string()) {
        std::string raw;
        if (!Base64Decode(v.get_ref<const std::string&>(), &raw) || raw.size() != 2 * dim) {
          return InvalidArgument("{}: a {} given as a string must be the base64 of its {} bytes", where,
                                 DataTypeName(f.type), 2 * dim);
        }
        out->append(raw);
        return Status::OK();
      }
      KITE_RETURN_IF_ERROR(DenseArrayOf(v, f, where, dim));
      for (size_t k = 0; k < dim; ++k) {
        std::string at = fmt::format("{}[{}]", where, k);
        float x = 0;
        KITE_RETURN_IF_ERROR(FloatValue(v[k], at, &x));
        uint16_t h = half ? FloatToHalf(x) : FloatToBFloat16(x);
        float back = half ? HalfToFloat(h) : BFloat16ToFloat(h);
        if (!std::isfinite(back)) return InvalidArgument("{}: value {} overflows {}", at, x, DataTypeName(f.type));
        Put(out, h);
      }
      return Status::OK();
    }
    case DataType::kBinaryVector: {
      KITE_RETURN_IF_ERROR(DenseArrayOf(v, f, where, dim / 8));
      for (size_t k = 0; k < dim / 8; ++k) {
        int64_t b = 0;
        if (!JsonToInt64(v[k], &b) || b < 0 || b > 255) {
          return InvalidArgument("{}[{}]: a BinaryVector is an array of bytes (integers 0..255), got {}", where, k,
                                 v[k].dump());
        }
        Put(out, static_cast<uint8_t>(b));
      }
      return Status::OK();
    }
    case DataType::kInt8Vector: {
      KITE_RETURN_IF_ERROR(DenseArrayOf(v, f, where, dim));
      for (size_t k = 0; k < dim; ++k) {
        int64_t b = 0;
        std::string at = fmt::format("{}[{}]", where, k);
        KITE_RETURN_IF_ERROR(IntInRange(v[k], INT8_MIN, INT8_MAX, at, DataType::kInt8, &b));
        Put(out, static_cast<int8_t>(b));
      }
      return Status::OK();
    }
    case DataType::kSparseFloatVector: return EncodeSparse(v, where, out);
    default: return InvalidArgument("{}: unsupported vector type {}", where, DataTypeName(f.type));
  }
}

// Appends the value of `f` in one row to `c`.
Status AppendValue(const Json& v, const FieldSchema& f, const std::string& where, Column* c) {
  std::string cell;
  if (IsVectorType(f.type)) {
    KITE_RETURN_IF_ERROR(EncodeVector(v, f, where, &cell));
    if (c->is_fixed()) {
      c->AppendFixed(cell.data());
    } else {
      c->AppendVar(cell);
    }
    return Status::OK();
  }
  switch (f.type) {
    case DataType::kVarChar:
      if (!v.is_string()) return InvalidArgument("{}: expected a string, got {}", where, JsonTypeName(v));
      c->AppendVar(v.get_ref<const std::string&>());
      return Status::OK();
    case DataType::kJson: c->AppendVar(v.dump(-1, ' ', false, Json::error_handler_t::replace)); return Status::OK();
    case DataType::kTimestamptz: {
      if (!v.is_string()) return InvalidArgument("{}: expected a string, got {}", where, JsonTypeName(v));
      const std::string& text = v.get_ref<const std::string&>();
      auto micros = tz::ParseTimestamp(text, tz::kDefaultTimezone);
      if (!micros.ok()) {
        return InvalidArgument(
            "got invalid timestamptz string '{}': invalid timezone name; must be a valid IANA Time Zone ID (e.g., "
            "'Asia/Shanghai' or 'UTC'): invalid parameter",
            text);
      }
      c->AppendFixed(&*micros);
      return Status::OK();
    }
    case DataType::kGeometry: {
      if (!v.is_string()) return InvalidArgument("{}: expected a WKT string, got {}", where, JsonTypeName(v));
      auto wkb = geo::WktToWkb(v.get_ref<const std::string&>());
      if (!wkb.ok()) {
        return InvalidArgument("invalid Geometry data, transform to wkb failed: {}: invalid parameter",
                               wkb.status().message());
      }
      c->AppendVar(*wkb);
      return Status::OK();
    }
    case DataType::kArray:
      KITE_RETURN_IF_ERROR(EncodeArray(v, f, where, &cell));
      c->AppendVar(cell);
      return Status::OK();
    default:
      KITE_RETURN_IF_ERROR(EncodeFixedScalar(v, f.type, where, &cell));
      c->AppendFixed(cell.data());
      return Status::OK();
  }
}

// One element of sub-field `f` of an Array of Structs field, appended to the
// row's cell in `f`'s column layout (Array elements / vectors back to back).
// Messages as Milvus's REST parseStructArrayRow.
Status AppendStructElement(const Json& v, const FieldSchema& f, std::string* cell) {
  std::string_view name = ShortFieldName(f);
  auto parse_error = [&](std::string_view what) {
    return InvalidArgument("sub-field {} parse error: {} (value={}): invalid parameter", name, what,
                           v.dump(-1, ' ', false, Json::error_handler_t::replace));
  };
  std::string where = fmt::format("sub-field `{}`", name);
  if (f.type == DataType::kArrayOfVector) {
    if (!v.is_array()) return parse_error("expect float vector array");
    const int64_t dim = f.dim();
    if (static_cast<int64_t>(v.size()) != dim) {
      return InvalidArgument("sub-field {} vector dim mismatch: expect {}, got {}: invalid parameter", name, dim,
                             v.size());
    }
    for (const Json& x : v) {
      if (!x.is_number()) return parse_error("expect float vector array");
      float fx = x.get<float>();
      Put(cell, fx);
    }
    return Status::OK();
  }
  switch (f.element_type) {
    case DataType::kBool:
      if (!v.is_boolean()) return parse_error("expect bool");
      break;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
      if (!v.is_number()) return parse_error("expect integer");
      break;
    case DataType::kFloat:
      if (!v.is_number()) return parse_error("expect float");
      break;
    case DataType::kDouble:
      if (!v.is_number()) return parse_error("expect double");
      break;
    case DataType::kVarChar:
    case DataType::kString: {
      if (!v.is_string()) return parse_error("expect string");
      const auto& text = v.get_ref<const std::string&>();
      PutU32(cell, static_cast<uint32_t>(text.size()));
      cell->append(text);
      return Status::OK();
    }
    default:
      return InvalidArgument("sub-field {} has unsupported array element type {}: invalid parameter", name,
                             DataTypeName(f.element_type));
  }
  return EncodeFixedScalar(v, f.element_type, where, cell);
}

// The sub-field columns of Array of Structs field `st` from each row's value
// under the struct's name: a JSON array of objects, one per struct, each
// holding every sub-field by its short name (other keys are ignored, as Milvus does).
Status StructRowsToColumns(const Json& rows, const CollectionSchema& schema, const StructFieldSchema& st,
                           ColumnBatch* out) {
  std::vector<const FieldSchema*> subs = schema.SubFields(st.name);
  const int64_t n = static_cast<int64_t>(rows.size());
  std::vector<Column> cols;
  for (const FieldSchema* sub : subs) {
    cols.push_back(Column::ForField(*sub));
    cols.back().Reserve(n);
  }
  std::vector<std::string> cells(subs.size());
  for (int64_t r = 0; r < n; ++r) {
    auto it = rows[r].find(st.name);
    if (it == rows[r].end() || it->is_null()) {
      return InvalidArgument("missing struct array field: {}: invalid parameter", st.name);
    }
    if (!it->is_array()) {
      return InvalidArgument("struct array field {} expects a JSON array of objects: invalid parameter", st.name);
    }
    for (auto& c : cells) c.clear();
    for (size_t e = 0; e < it->size(); ++e) {
      const Json& elem = (*it)[e];
      if (!elem.is_object()) {
        return InvalidArgument("struct array field {} element #{} must be a JSON object: invalid parameter", st.name,
                               e);
      }
      for (size_t k = 0; k < subs.size(); ++k) {
        auto v = elem.find(std::string(ShortFieldName(*subs[k])));
        if (v == elem.end()) {
          return InvalidArgument("struct array field {} element #{} missing sub-field {}: invalid parameter", st.name,
                                 e, ShortFieldName(*subs[k]));
        }
        KITE_RETURN_IF_ERROR(AppendStructElement(*v, *subs[k], &cells[k]));
      }
    }
    for (size_t k = 0; k < subs.size(); ++k) cols[k].AppendVar(cells[k]);
  }
  for (auto& c : cols) out->columns.push_back(std::move(c));
  return Status::OK();
}

Json ArrayCellToJson(std::string_view b, DataType et, bool int64_as_number) {
  Json out = Json::array();
  auto take = [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, b.data(), sizeof(T));
    b.remove_prefix(sizeof(T));
    return v;
  };
  size_t width = ElementBytes(et);
  while (!b.empty()) {
    if (et == DataType::kVarChar) {
      uint32_t len = 0;
      if (!GetU32(&b, &len)) break;
      out.push_back(std::string(b.substr(0, len)));
      b.remove_prefix(std::min<size_t>(len, b.size()));
      continue;
    }
    if (width == 0 || b.size() < width) break;
    switch (et) {
      case DataType::kBool: out.push_back(take(uint8_t{}) != 0); break;
      case DataType::kInt8: out.push_back(take(int8_t{})); break;
      case DataType::kInt16: out.push_back(take(int16_t{})); break;
      case DataType::kInt32: out.push_back(take(int32_t{})); break;
      case DataType::kInt64: {
        int64_t v = take(int64_t{});
        out.push_back(int64_as_number ? Json(v) : Json(std::to_string(v)));
        break;
      }
      case DataType::kFloat: out.push_back(FloatToJson(take(float{}))); break;
      case DataType::kDouble: out.push_back(take(double{})); break;
      default: return out;
    }
  }
  return out;
}

Json VectorCellToJson(const Column& c, const FieldSchema& f, int64_t row) {
  Json out = Json::array();
  if (f.type == DataType::kSparseFloatVector) {
    out = Json::object();
    std::string_view b = c.GetBytes(row);
    for (size_t k = 0; k + 8 <= b.size(); k += 8) {
      uint32_t idx;
      float val;
      std::memcpy(&idx, b.data() + k, 4);
      std::memcpy(&val, b.data() + k + 4, 4);
      out[std::to_string(idx)] = FloatToJson(val);
    }
    return out;
  }
  const uint8_t* p = c.RowPtr(row);
  size_t dim = static_cast<size_t>(std::max<int64_t>(f.dim(), 0));
  switch (f.type) {
    case DataType::kFloatVector:
      for (size_t k = 0; k < dim; ++k) {
        float v;
        std::memcpy(&v, p + 4 * k, 4);
        out.push_back(FloatToJson(v));
      }
      break;
    case DataType::kFloat16Vector:
    case DataType::kBFloat16Vector:
      for (size_t k = 0; k < dim; ++k) {
        uint16_t h;
        std::memcpy(&h, p + 2 * k, 2);
        out.push_back(FloatToJson(f.type == DataType::kFloat16Vector ? HalfToFloat(h) : BFloat16ToFloat(h)));
      }
      break;
    case DataType::kBinaryVector:
      for (size_t k = 0; k < dim / 8; ++k) out.push_back(static_cast<int>(p[k]));
      break;
    case DataType::kInt8Vector:
      for (size_t k = 0; k < dim; ++k) out.push_back(static_cast<int>(static_cast<int8_t>(p[k])));
      break;
    default: break;
  }
  return out;
}

}  // namespace

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x007fffffu;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff);
  if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0u));
  int32_t e = exp - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x00800000u;
    int shift = 14 - e;
    uint32_t m = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (m & 1u))) ++m;
    return static_cast<uint16_t>(sign | m);
  }
  uint32_t h = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still right
  return static_cast<uint16_t>(h);
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  uint32_t x = exp == 0x1f ? (sign | 0x7f800000u | (mant << 13)) : (sign | ((exp + 112) << 23) | (mant << 13));
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

float BFloat16ToFloat(uint16_t b) {
  uint32_t x = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

Json FloatToJson(float v) {
  if (!std::isfinite(v)) return nullptr;
  double d = 0;
  std::string s = fmt::format("{}", v);  // shortest text that reads back as the same float
  std::from_chars(s.data(), s.data() + s.size(), d);
  return d;
}

Status RowsToColumnsFrom(const Json& rows, const CollectionSchema& schema, bool upsert, int64_t first_row,
                         ColumnBatch* out) {
  if (!rows.is_array()) return InvalidArgument("data must be an array of rows, got {}", JsonTypeName(rows));
  int64_t n = static_cast<int64_t>(rows.size());
  for (int64_t r = 0; r < n; ++r) {
    if (!rows[r].is_object()) {
      return InvalidArgument("row {}: a row must be a JSON object keyed by field name, got {}", first_row + r,
                             JsonTypeName(rows[r]));
    }
  }
  out->num_rows = n;
  std::set<std::string, std::less<>> consumed;  // keys that are schema fields
  for (const FieldSchema& f : schema.fields) {
    if (f.is_dynamic || !f.struct_name.empty()) continue;
    consumed.insert(f.name);
    if (f.is_function_output) {
      for (int64_t r = 0; r < n; ++r) {
        if (rows[r].contains(f.name)) {
          return InvalidArgument("{}: the field is the output of a function and cannot be given", Where(first_row + r, f.name));
        }
      }
      continue;
    }
    // Milvus's REST insert ignores a value given for an auto-id primary key.
    if (f.is_primary && f.auto_id && !upsert) continue;
    Column c = Column::ForField(f);
    c.Reserve(n);
    bool any = false;
    for (int64_t r = 0; r < n; ++r) {
      auto it = rows[r].find(f.name);
      if (it == rows[r].end() || it->is_null()) {
        bool may_be_absent = f.nullable || f.default_value.has_value();
        if (!may_be_absent) {
          return InvalidArgument("{}: the field is missing (it is not nullable and has no default value)",
                                 Where(first_row + r, f.name));
        }
        c.AppendNull();
        continue;
      }
      any = true;
      KITE_RETURN_IF_ERROR(AppendValue(*it, f, Where(first_row + r, f.name), &c));
    }
    // A nullable/defaulted field no row mentions is left to the proxy to fill.
    if (any || !(f.nullable || f.default_value)) out->columns.push_back(std::move(c));
  }
  for (const StructFieldSchema& st : schema.structs) {
    if (schema.SubFields(st.name).empty()) continue;  // e.g. a partial upsert's schema without it
    consumed.insert(st.name);
    KITE_RETURN_IF_ERROR(StructRowsToColumns(rows, schema, st, out));
  }
  const FieldSchema* meta = schema.DynamicField();
  Column meta_col;
  if (meta) {
    meta_col = Column::ForField(*meta);
    meta_col.Reserve(n);
  }
  for (int64_t r = 0; r < n; ++r) {
    Json extra = Json::object();
    for (const auto& [key, value] : rows[r].items()) {
      if (consumed.count(key)) continue;
      if (!meta || key == kDynamicFieldName) {
        return InvalidArgument(
            "row {}: `{}` is not a field of collection {}{}", first_row + r, key, schema.name,
            meta ? "" : " and the collection has no dynamic field (enableDynamicField is false)");
      }
      extra[key] = value;
    }
    if (meta) meta_col.AppendVar(extra.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  if (meta) out->columns.push_back(std::move(meta_col));
  return Status::OK();
}

Status RowsToColumns(const Json& rows, const CollectionSchema& schema, bool upsert, ColumnBatch* out) {
  return RowsToColumnsFrom(rows, schema, upsert, 0, out);
}

Result<std::string> VectorFromJson(const Json& value, const FieldSchema& field) {
  std::string out;
  KITE_RETURN_IF_ERROR(EncodeVector(value, field, Where(-1, field.name), &out));
  return out;
}

Json CellToJson(const Column& c, const FieldSchema& f, int64_t row, bool int64_as_number) {
  if (c.IsNull(row)) return nullptr;
  if (IsVectorType(f.type)) return VectorCellToJson(c, f, row);
  switch (f.type) {
    case DataType::kBool: return c.Get<uint8_t>(row) != 0;
    case DataType::kInt8: return c.Get<int8_t>(row);
    case DataType::kInt16: return c.Get<int16_t>(row);
    case DataType::kInt32: return c.Get<int32_t>(row);
    case DataType::kInt64: {
      int64_t v = c.Get<int64_t>(row);
      return int64_as_number ? Json(v) : Json(std::to_string(v));
    }
    case DataType::kFloat: return FloatToJson(c.Get<float>(row));
    case DataType::kDouble: return c.Get<double>(row);
    case DataType::kVarChar: return std::string(c.GetBytes(row));
    case DataType::kJson: {
      std::string_view text = c.GetBytes(row);
      Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
      return j.is_discarded() ? Json(std::string(text)) : j;
    }
    case DataType::kArray: return ArrayCellToJson(c.GetBytes(row), f.element_type, int64_as_number);
    case DataType::kTimestamptz: return tz::FormatTimestamp(c.Get<int64_t>(row), tz::kDefaultTimezone);
    case DataType::kGeometry: return geo::WkbToWkt(c.GetBytes(row));
    default: return nullptr;
  }
}

Json StructCellToJson(const std::vector<const FieldSchema*>& subs, const std::vector<const Column*>& cols, int64_t row,
                      bool int64_as_number) {
  std::vector<Json> elems;
  size_t count = 0;
  for (size_t k = 0; k < subs.size() && k < cols.size(); ++k) {
    const FieldSchema& f = *subs[k];
    Json e = Json::array();
    if (!cols[k]->IsNull(row) && row < cols[k]->num_rows) {
      std::string_view b = cols[k]->GetBytes(row);
      if (f.type == DataType::kArrayOfVector) {
        const size_t dim = static_cast<size_t>(std::max<int64_t>(f.dim(), 1));
        for (size_t at = 0; at + dim * 4 <= b.size(); at += dim * 4) {
          Json vec = Json::array();
          for (size_t d = 0; d < dim; ++d) {
            float x;
            std::memcpy(&x, b.data() + at + 4 * d, 4);
            vec.push_back(FloatToJson(x));
          }
          e.push_back(std::move(vec));
        }
      } else {
        e = ArrayCellToJson(b, f.element_type, int64_as_number);
      }
    }
    count = k == 0 ? e.size() : std::min(count, e.size());
    elems.push_back(std::move(e));
  }
  Json out = Json::array();
  for (size_t j = 0; j < count; ++j) {
    Json obj = Json::object();
    for (size_t k = 0; k < elems.size(); ++k) obj[std::string(ShortFieldName(*subs[k]))] = elems[k][j];
    out.push_back(std::move(obj));
  }
  return out;
}

void FlattenDynamic(std::string_view meta_text, const std::vector<std::string>& keys, Json* row) {
  Json j = Json::parse(meta_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return;
  if (keys.empty()) {
    for (auto& [k, v] : j.items()) (*row)[k] = std::move(v);
    return;
  }
  for (const auto& k : keys) {
    auto it = j.find(k);
    if (it != j.end()) (*row)[k] = *it;
  }
}

}  // namespace kite::rest
