#include "rpc/field_data.h"

#include "schema/geometry.h"
#include "schema/timestamptz.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <cctype>
#include <cmath>
#include <limits>

namespace kite::rpc {

namespace ms = ::milvus::proto::schema;

namespace {

std::string_view ScalarKind(ms::ScalarField::DataCase c) {
  switch (c) {
    case ms::ScalarField::kBoolData: return "bool_data";
    case ms::ScalarField::kIntData: return "int_data";
    case ms::ScalarField::kLongData: return "long_data";
    case ms::ScalarField::kFloatData: return "float_data";
    case ms::ScalarField::kDoubleData: return "double_data";
    case ms::ScalarField::kStringData: return "string_data";
    case ms::ScalarField::kBytesData: return "bytes_data";
    case ms::ScalarField::kArrayData: return "array_data";
    case ms::ScalarField::kJsonData: return "json_data";
    case ms::ScalarField::kGeometryData: return "geometry_data";
    case ms::ScalarField::kGeometryWktData: return "geometry_wkt_data";
    case ms::ScalarField::kTimestamptzData: return "timestamptz_data";
    case ms::ScalarField::DATA_NOT_SET: return "no data";
    default: return "unsupported data";
  }
}

ms::ScalarField::DataCase ExpectedScalar(DataType t) {
  switch (t) {
    case DataType::kBool: return ms::ScalarField::kBoolData;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: return ms::ScalarField::kIntData;
    case DataType::kInt64: return ms::ScalarField::kLongData;
    case DataType::kFloat: return ms::ScalarField::kFloatData;
    case DataType::kDouble: return ms::ScalarField::kDoubleData;
    case DataType::kVarChar: return ms::ScalarField::kStringData;
    case DataType::kArray: return ms::ScalarField::kArrayData;
    case DataType::kJson: return ms::ScalarField::kJsonData;
    case DataType::kTimestamptz: return ms::ScalarField::kStringData;  // ISO text (pymilvus); int64 also taken
    case DataType::kGeometry: return ms::ScalarField::kGeometryWktData;
    default: return ms::ScalarField::DATA_NOT_SET;
  }
}

int64_t ScalarCount(const ms::ScalarField& s) {
  switch (s.data_case()) {
    case ms::ScalarField::kBoolData: return s.bool_data().data_size();
    case ms::ScalarField::kIntData: return s.int_data().data_size();
    case ms::ScalarField::kLongData: return s.long_data().data_size();
    case ms::ScalarField::kFloatData: return s.float_data().data_size();
    case ms::ScalarField::kDoubleData: return s.double_data().data_size();
    case ms::ScalarField::kStringData: return s.string_data().data_size();
    case ms::ScalarField::kArrayData: return s.array_data().data_size();
    case ms::ScalarField::kJsonData: return s.json_data().data_size();
    case ms::ScalarField::kGeometryData: return s.geometry_data().data_size();
    case ms::ScalarField::kGeometryWktData: return s.geometry_wkt_data().data_size();
    case ms::ScalarField::kTimestamptzData: return s.timestamptz_data().data_size();
    default: return 0;
  }
}

// Encodes one array cell in Kite's array encoding; checks the element kind.
Status EncodeArrayCell(const ms::ScalarField& cell, const FieldSchema& f, int64_t row, std::string* out) {
  ms::ScalarField::DataCase want = ExpectedScalar(f.element_type);
  if (cell.data_case() != want && !(cell.data_case() == ms::ScalarField::DATA_NOT_SET)) {
    return InvalidArgument("the element type of array field {} is {}, but row {} holds {}", f.name,
                           DataTypeName(f.element_type), row, ScalarKind(cell.data_case()));
  }
  auto put = [&](const auto& v) { out->append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  switch (f.element_type) {
    case DataType::kBool:
      for (bool b : cell.bool_data().data()) put(static_cast<uint8_t>(b ? 1 : 0));
      break;
    case DataType::kInt8:
      for (int32_t v : cell.int_data().data()) {
        if (v < INT8_MIN || v > INT8_MAX) return InvalidArgument("value {} in array field {} row {} overflows Int8", v, f.name, row);
        put(static_cast<int8_t>(v));
      }
      break;
    case DataType::kInt16:
      for (int32_t v : cell.int_data().data()) {
        if (v < INT16_MIN || v > INT16_MAX) return InvalidArgument("value {} in array field {} row {} overflows Int16", v, f.name, row);
        put(static_cast<int16_t>(v));
      }
      break;
    case DataType::kInt32:
      for (int32_t v : cell.int_data().data()) put(v);
      break;
    case DataType::kInt64:
      for (int64_t v : cell.long_data().data()) put(v);
      break;
    case DataType::kFloat:
      for (float v : cell.float_data().data()) put(v);
      break;
    case DataType::kDouble:
      for (double v : cell.double_data().data()) put(v);
      break;
    case DataType::kVarChar:
      for (const auto& s : cell.string_data().data()) {
        PutU32(out, static_cast<uint32_t>(s.size()));
        out->append(s);
      }
      break;
    default: return InvalidArgument("unsupported element type of array field {}", f.name);
  }
  return Status::OK();
}

// A JSON cell of zero bytes is how SDKs that keep the column dense (the Node
// SDK: Buffer.alloc(0)) send a JSON null, with or without valid_data saying so.
// In a nullable field it is a null; in the dynamic field, which is never null,
// it is a row without dynamic keys ("{}", what pymilvus sends for one). Zero
// bytes in any other JSON field are left for the proxy to refuse as not JSON.
void AppendJsonCell(const std::string& bytes, const FieldSchema& f, Column* c) {
  if (bytes.empty() && f.is_dynamic) {
    c->AppendVar("{}");
  } else if (bytes.empty() && f.nullable) {
    c->AppendNull();
  } else {
    c->AppendVar(bytes);
  }
}

// A row that valid_data marks null. The dynamic field has no nulls: such a
// row carries no dynamic keys (stored as "{}", never as a null that a reader
// would have to decode as an empty JSON document).
void AppendNullCell(const FieldSchema& f, Column* c) {
  if (f.is_dynamic) {
    c->AppendVar("{}");
  } else {
    c->AppendNull();
  }
}

// `timezone`: where TIMESTAMPTZ text without an offset is read.
Status AppendScalar(const ms::ScalarField& s, const FieldSchema& f, int i, int64_t row, std::string_view timezone,
                    Column* c) {
  switch (f.type) {
    case DataType::kBool: {
      uint8_t v = s.bool_data().data(i) ? 1 : 0;
      c->AppendFixed(&v);
      return Status::OK();
    }
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: {
      int32_t v = s.int_data().data(i);
      if (f.type == DataType::kInt8 && (v < INT8_MIN || v > INT8_MAX)) {
        return InvalidArgument("value {} of field {} at row {} is out of range of Int8", v, f.name, row);
      }
      if (f.type == DataType::kInt16 && (v < INT16_MIN || v > INT16_MAX)) {
        return InvalidArgument("value {} of field {} at row {} is out of range of Int16", v, f.name, row);
      }
      if (f.type == DataType::kInt8) {
        auto x = static_cast<int8_t>(v);
        c->AppendFixed(&x);
      } else if (f.type == DataType::kInt16) {
        auto x = static_cast<int16_t>(v);
        c->AppendFixed(&x);
      } else {
        c->AppendFixed(&v);
      }
      return Status::OK();
    }
    case DataType::kInt64: {
      int64_t v = s.long_data().data(i);
      c->AppendFixed(&v);
      return Status::OK();
    }
    case DataType::kFloat: {
      float v = s.float_data().data(i);
      if (!std::isfinite(v)) return InvalidArgument("value of field {} at row {} is NaN or infinite", f.name, row);
      c->AppendFixed(&v);
      return Status::OK();
    }
    case DataType::kDouble: {
      double v = s.double_data().data(i);
      if (!std::isfinite(v)) return InvalidArgument("value of field {} at row {} is NaN or infinite", f.name, row);
      c->AppendFixed(&v);
      return Status::OK();
    }
    case DataType::kVarChar: c->AppendVar(s.string_data().data(i)); return Status::OK();
    case DataType::kJson: AppendJsonCell(s.json_data().data(i), f, c); return Status::OK();
    case DataType::kTimestamptz: {
      int64_t micros = 0;
      if (s.has_timestamptz_data()) {
        micros = s.timestamptz_data().data(i);
      } else {
        const std::string& text = s.string_data().data(i);
        auto parsed = tz::ParseTimestamp(text, timezone);
        if (!parsed.ok()) {
          // Milvus's checkTimestamptzFieldData answers every parse failure so.
          return InvalidArgument(
              "got invalid timestamptz string '{}': invalid timezone name; must be a valid IANA Time Zone ID (e.g., "
              "'Asia/Shanghai' or 'UTC'): invalid parameter",
              text);
        }
        micros = *parsed;
      }
      c->AppendFixed(&micros);
      return Status::OK();
    }
    case DataType::kGeometry: {
      auto wkb = geo::WktToWkb(s.geometry_wkt_data().data(i));
      if (!wkb.ok()) {
        return InvalidArgument("invalid Geometry data, transform to wkb failed: {}: invalid parameter",
                               wkb.status().message());
      }
      c->AppendVar(*wkb);
      return Status::OK();
    }
    case DataType::kArray: {
      std::string cell;
      KITE_RETURN_IF_ERROR(EncodeArrayCell(s.array_data().data(i), f, row, &cell));
      c->AppendVar(cell);
      return Status::OK();
    }
    default: return InvalidArgument("unsupported data type {} of field {}", DataTypeName(f.type), f.name);
  }
}

// Milvus's checkAligned answer for a column whose row count is not the
// request's num_rows (errNumRowsMismatch, wrapped as ErrParameterInvalid).
Status NumRowsMismatch(std::string_view field, int64_t rows, int64_t n) {
  return InvalidArgument(
      "the num_rows ({}) of field ({}) is not equal to passed num_rows ({}): invalid parameter[expected={}][actual={}]",
      rows, field, n, n, rows);
}

// A dense vector payload that holds a whole number of vectors, but not one per
// row (an SDK that leaves a row's vector out, as the Node SDK does for a row
// without the key, lands here).
Status CheckVectorRows(const FieldSchema& f, int64_t rows, int64_t n) {
  return rows == n ? Status::OK() : NumRowsMismatch(f.name, rows, n);
}

Result<Column> VectorRows(const ms::FieldData& in, const FieldSchema& f, int64_t n) {
  Column c = Column::ForField(f);
  if (in.field_case() != ms::FieldData::kVectors) {
    return InvalidArgument("field {} is a {} field, but the data sent is not a vector", f.name, DataTypeName(f.type));
  }
  const ms::VectorField& v = in.vectors();
  if (f.type == DataType::kSparseFloatVector) {
    if (v.data_case() != ms::VectorField::kSparseFloatVector) {
      return InvalidArgument("field {} expects sparse float vectors", f.name);
    }
    const auto& rows = v.sparse_float_vector().contents();
    if (rows.size() != n) {
      return NumRowsMismatch(f.name, rows.size(), n);
    }
    for (int64_t r = 0; r < n; ++r) {
      const std::string& b = rows[static_cast<int>(r)];
      if (b.size() % 8 != 0) return InvalidArgument("sparse vector of field {} row {} has a malformed payload", f.name, r);
      int64_t prev = -1;
      for (size_t k = 0; k < b.size(); k += 8) {
        uint32_t idx;
        float val;
        std::memcpy(&idx, b.data() + k, 4);
        std::memcpy(&val, b.data() + k + 4, 4);
        if (static_cast<int64_t>(idx) <= prev) {
          return InvalidArgument("sparse vector of field {} row {}: indices must be unique and ascending", f.name, r);
        }
        if (idx == std::numeric_limits<uint32_t>::max()) {
          return InvalidArgument("sparse vector of field {} row {}: index {} out of range", f.name, r, idx);
        }
        if (!std::isfinite(val)) return InvalidArgument("sparse vector of field {} row {}: value is NaN or infinite", f.name, r);
        prev = idx;
      }
      c.AppendVar(b);
    }
    return c;
  }
  int64_t dim = f.dim();
  // Milvus's checkAligned counts the rows against the schema's dim first
  // (GetNumRowsOfFloatVectorField), then compares the data's own dim.
  if (f.type == DataType::kFloatVector && v.data_case() == ms::VectorField::kFloatVector && dim > 0 &&
      v.float_vector().data().size() % dim != 0) {
    return InvalidArgument("the length({}) of float data should divide the dim({}), field name: {}",
                           v.float_vector().data().size(), dim, f.name);
  }
  if (v.dim() != 0 && v.dim() != dim) {
    // merr.WrapErrParameterInvalid(schemaDim, dataDim, msg)
    return InvalidArgument("the dim ({}) of field data({}) is not equal to schema dim ({}): invalid parameter[expected={}][actual={}]",
                           v.dim(), f.name, dim, dim, v.dim());
  }
  std::string_view bytes;
  std::string floats;
  size_t expect = static_cast<size_t>(n) * c.row_bytes;
  switch (f.type) {
    case DataType::kFloatVector: {
      if (v.data_case() != ms::VectorField::kFloatVector) {
        return InvalidArgument("field {} expects float vectors", f.name);
      }
      const auto& d = v.float_vector().data();
      if (d.size() % dim != 0) {
        return InvalidArgument("the length({}) of float data should divide the dim({}), field name: {}", d.size(), dim,
                               f.name);
      }
      KITE_RETURN_IF_ERROR(CheckVectorRows(f, d.size() / dim, n));
      for (int i = 0; i < d.size(); ++i) {
        if (!std::isfinite(d[i])) {
          return InvalidArgument("float vector of field {} row {} has NaN or infinite values", f.name, i / dim);
        }
      }
      bytes = std::string_view(reinterpret_cast<const char*>(d.data()), static_cast<size_t>(d.size()) * 4);
      break;
    }
    case DataType::kBinaryVector:
      if (v.data_case() != ms::VectorField::kBinaryVector) return InvalidArgument("field {} expects binary vectors", f.name);
      bytes = v.binary_vector();
      if ((8 * static_cast<int64_t>(bytes.size())) % dim != 0) {
        return InvalidArgument("the num({}) of all bits should divide the dim({}), field name: {}", 8 * bytes.size(), dim,
                               f.name);
      }
      KITE_RETURN_IF_ERROR(CheckVectorRows(f, 8 * static_cast<int64_t>(bytes.size()) / dim, n));
      break;
    case DataType::kFloat16Vector:
      if (v.data_case() != ms::VectorField::kFloat16Vector) return InvalidArgument("field {} expects float16 vectors", f.name);
      bytes = v.float16_vector();
      if (static_cast<int64_t>(bytes.size()) % dim != 0) {
        return InvalidArgument("the length({}) of float16 data should divide the dim({}), field name: {}", bytes.size(),
                               dim, f.name);
      }
      KITE_RETURN_IF_ERROR(CheckVectorRows(f, static_cast<int64_t>(bytes.size()) / dim / 2, n));
      break;
    case DataType::kBFloat16Vector:
      if (v.data_case() != ms::VectorField::kBfloat16Vector) return InvalidArgument("field {} expects bfloat16 vectors", f.name);
      bytes = v.bfloat16_vector();
      if (static_cast<int64_t>(bytes.size()) % dim != 0) {
        return InvalidArgument("the length({}) of bfloat data should divide the dim({}), field name: {}", bytes.size(),
                               dim, f.name);
      }
      KITE_RETURN_IF_ERROR(CheckVectorRows(f, static_cast<int64_t>(bytes.size()) / dim / 2, n));
      break;
    case DataType::kInt8Vector:
      if (v.data_case() != ms::VectorField::kInt8Vector) return InvalidArgument("field {} expects int8 vectors", f.name);
      bytes = v.int8_vector();
      if (static_cast<int64_t>(bytes.size()) % dim == 0) {
        KITE_RETURN_IF_ERROR(CheckVectorRows(f, static_cast<int64_t>(bytes.size()) / dim, n));
      }
      break;
    default: return InvalidArgument("unsupported vector type of field {}", f.name);
  }
  if (bytes.size() != expect) {
    return InvalidArgument("the length ({} bytes) of {} data of field {} does not match dim {} x {} rows ({} bytes)",
                           bytes.size(), DataTypeName(f.type), f.name, dim, n, expect);
  }
  c.fixed.assign(bytes.begin(), bytes.end());
  c.num_rows = n;
  return c;
}

// Rows of vectors the payload holds (-1 when it is not the field's kind).
int64_t VectorPayloadRows(const ms::FieldData& in, const FieldSchema& f) {
  if (in.field_case() != ms::FieldData::kVectors) return -1;
  const ms::VectorField& v = in.vectors();
  if (f.type == DataType::kSparseFloatVector) {
    return v.data_case() == ms::VectorField::kSparseFloatVector ? v.sparse_float_vector().contents_size() : -1;
  }
  const auto row_bytes = static_cast<int64_t>(FixedRowBytes(f.type, f.dim()));
  if (row_bytes <= 0) return -1;
  switch (v.data_case()) {
    case ms::VectorField::kFloatVector: return v.float_vector().data_size() * 4 / row_bytes;
    case ms::VectorField::kBinaryVector: return static_cast<int64_t>(v.binary_vector().size()) / row_bytes;
    case ms::VectorField::kFloat16Vector: return static_cast<int64_t>(v.float16_vector().size()) / row_bytes;
    case ms::VectorField::kBfloat16Vector: return static_cast<int64_t>(v.bfloat16_vector().size()) / row_bytes;
    case ms::VectorField::kInt8Vector: return static_cast<int64_t>(v.int8_vector().size()) / row_bytes;
    default: return -1;
  }
}

// A vector column with valid_data (nullable vector fields, Milvus 2.6). The
// payload holds the vectors of the valid rows only, as Milvus's proxy and the
// SDKs (pymilvus, Node) send them; one vector per row (a placeholder at each
// null) is accepted too.
Result<Column> VectorColumn(const ms::FieldData& in, const FieldSchema& f, int64_t n) {
  const auto& valid = in.valid_data();
  if (valid.empty()) return VectorRows(in, f, n);
  if (valid.size() != n) {
    return InvalidArgument("the length of valid_data of field({}) is wrong: invalid parameter[expected={}][actual={}]",
                           f.name, n, valid.size());
  }
  const auto valid_count = static_cast<int64_t>(std::count(valid.begin(), valid.end(), true));
  Column c = Column::ForField(f);
  c.Reserve(n);
  if (valid_count == 0 && VectorPayloadRows(in, f) <= 0) {
    for (int64_t r = 0; r < n; ++r) c.AppendNull();
    return c;
  }
  const int64_t payload_rows = VectorPayloadRows(in, f);
  const bool dense = payload_rows == n && valid_count != n;
  KITE_ASSIGN_OR_RETURN(Column packed, VectorRows(in, f, dense ? n : valid_count));
  int64_t i = 0;
  for (int64_t r = 0; r < n; ++r) {
    if (!valid[static_cast<int>(r)]) {
      c.AppendNull();
      if (dense) ++i;
      continue;
    }
    c.AppendFrom(packed, i++);
  }
  return c;
}

// An ArrayOfVector column (a struct's vector sub-field): one VectorField per
// row holding that row's vectors back to back.
Result<Column> VectorArrayColumn(const ms::FieldData& in, const FieldSchema& f, int64_t n) {
  if (in.field_case() != ms::FieldData::kVectors || !in.vectors().has_vector_array()) {
    return InvalidArgument("field {} is an ArrayOfVector field, but the data sent is not a vector array",
                           ShortFieldName(f));
  }
  const ms::VectorArray& va = in.vectors().vector_array();
  if (va.data_size() != n) {
    return NumRowsMismatch(ShortFieldName(f), va.data_size(), n);
  }
  const int64_t dim = f.dim();
  Column c = Column::ForField(f);
  c.Reserve(n);
  for (int64_t r = 0; r < n; ++r) {
    const ms::VectorField& v = va.data(static_cast<int>(r));
    if (v.data_case() != ms::VectorField::kFloatVector && v.data_case() != ms::VectorField::DATA_NOT_SET) {
      return InvalidArgument("the element type of field {} is {}, but row {} holds another vector type",
                             ShortFieldName(f), DataTypeName(f.element_type), r);
    }
    if (v.dim() != 0 && v.dim() != dim) {
      return InvalidArgument("the dim ({}) of field data({}) is not equal to schema dim ({})", v.dim(),
                             ShortFieldName(f), dim);
    }
    const auto& d = v.float_vector().data();
    if (dim <= 0 || d.size() % dim != 0) {
      return InvalidArgument("the length ({}) of row {} of field {} is not a multiple of its dim ({})", d.size(), r,
                             ShortFieldName(f), dim);
    }
    c.AppendVar(std::string_view(reinterpret_cast<const char*>(d.data()), d.size() * sizeof(float)));
  }
  return c;
}

}  // namespace

Result<Column> ColumnFromFieldData(const ms::FieldData& in, const FieldSchema& f, int64_t n,
                                   std::string_view timezone) {
  if (IsVectorType(f.type)) return VectorColumn(in, f, n);
  if (f.type == DataType::kArrayOfVector) return VectorArrayColumn(in, f, n);
  if (in.field_case() != ms::FieldData::kScalars) {
    return InvalidArgument("field {} is a {} field, but the data sent is not scalar", f.name, DataTypeName(f.type));
  }
  const ms::ScalarField& s = in.scalars();
  ms::ScalarField::DataCase want = ExpectedScalar(f.type);
  int64_t count = ScalarCount(s);
  bool int_timestamps = f.type == DataType::kTimestamptz && s.data_case() == ms::ScalarField::kTimestamptzData;
  if (s.data_case() != want && !int_timestamps && !(s.data_case() == ms::ScalarField::DATA_NOT_SET && count == 0)) {
    return InvalidArgument("the data type of field {} is {}, but the data sent is {}", f.name, DataTypeName(f.type),
                           ScalarKind(s.data_case()));
  }
  Column c = Column::ForField(f);
  c.Reserve(n);
  const auto& valid = in.valid_data();
  if (!valid.empty()) {
    if (valid.size() != n) {
      return InvalidArgument("the length of valid_data of field {} ({}) does not match the number of rows ({})", f.name,
                             valid.size(), n);
    }
    int64_t valid_count = std::count(valid.begin(), valid.end(), true);
    bool compact = count == valid_count;
    if (!compact && count != n) {
      return NumRowsMismatch(f.name, count, n);
    }
    int i = 0;
    for (int64_t r = 0; r < n; ++r) {
      if (!valid[static_cast<int>(r)]) {
        AppendNullCell(f, &c);
        if (!compact) ++i;
        continue;
      }
      KITE_RETURN_IF_ERROR(AppendScalar(s, f, i++, r, timezone, &c));
    }
    return c;
  }
  if (count != n) {
    return NumRowsMismatch(f.name, count, n);
  }
  for (int64_t r = 0; r < n; ++r) KITE_RETURN_IF_ERROR(AppendScalar(s, f, static_cast<int>(r), r, timezone, &c));
  return c;
}

namespace {

void ArrayCellToProto(std::string_view b, DataType et, ms::ScalarField* out) {
  auto take = [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, b.data(), sizeof(T));
    b.remove_prefix(sizeof(T));
    return v;
  };
  switch (et) {
    case DataType::kBool:
      while (!b.empty()) out->mutable_bool_data()->add_data(take(uint8_t{}) != 0);
      out->mutable_bool_data();
      break;
    case DataType::kInt8:
      while (!b.empty()) out->mutable_int_data()->add_data(take(int8_t{}));
      out->mutable_int_data();
      break;
    case DataType::kInt16:
      while (!b.empty()) out->mutable_int_data()->add_data(take(int16_t{}));
      out->mutable_int_data();
      break;
    case DataType::kInt32:
      while (!b.empty()) out->mutable_int_data()->add_data(take(int32_t{}));
      out->mutable_int_data();
      break;
    case DataType::kInt64:
      while (!b.empty()) out->mutable_long_data()->add_data(take(int64_t{}));
      out->mutable_long_data();
      break;
    case DataType::kFloat:
      while (!b.empty()) out->mutable_float_data()->add_data(take(float{}));
      out->mutable_float_data();
      break;
    case DataType::kDouble:
      while (!b.empty()) out->mutable_double_data()->add_data(take(double{}));
      out->mutable_double_data();
      break;
    case DataType::kVarChar:
      out->mutable_string_data();
      while (b.size() >= 4) {
        uint32_t len = 0;
        GetU32(&b, &len);
        out->mutable_string_data()->add_data(std::string(b.substr(0, len)));
        b.remove_prefix(std::min<size_t>(len, b.size()));
      }
      break;
    default: break;
  }
}

std::string FilterJson(std::string_view text, const std::vector<std::string>& keys) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "{}";
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : keys) {
    auto it = j.find(k);
    if (it != j.end()) out[k] = *it;
  }
  return out.dump();
}

}  // namespace

void ColumnToFieldData(const Column& c, const FieldSchema& f, const std::vector<std::string>& dynamic_keys,
                       std::string_view timezone, ms::FieldData* out) {
  out->set_type(static_cast<ms::DataType>(f.type));
  out->set_field_name(f.name);
  out->set_field_id(f.id.value);
  out->set_is_dynamic(f.is_dynamic);
  int64_t n = c.num_rows;
  if (IsVectorType(f.type) && f.nullable && !c.valid.empty()) {
    // Nullable vectors go out as Milvus sends them: valid_data for every row
    // and the vectors of the valid rows only (what pymilvus and the Node SDK
    // index through valid_data).
    std::vector<int64_t> rows;
    for (int64_t r = 0; r < n; ++r) {
      if (!c.IsNull(r)) rows.push_back(r);
    }
    Column packed = c.Select(rows);
    packed.valid.clear();
    FieldSchema dense = f;
    dense.nullable = false;
    ColumnToFieldData(packed, dense, dynamic_keys, timezone, out);
    for (int64_t r = 0; r < n; ++r) out->add_valid_data(!c.IsNull(r));
    return;
  }
  if (f.nullable) {
    for (int64_t r = 0; r < n; ++r) out->add_valid_data(!c.IsNull(r));
  }
  if (f.type == DataType::kArrayOfVector) {
    auto* va = out->mutable_vectors()->mutable_vector_array();
    out->mutable_vectors()->set_dim(f.dim());
    va->set_dim(f.dim());
    va->set_element_type(static_cast<ms::DataType>(f.element_type));
    for (int64_t r = 0; r < n; ++r) {
      auto* v = va->add_data();
      v->set_dim(f.dim());
      std::string_view b = c.GetBytes(r);
      auto* d = v->mutable_float_vector()->mutable_data();
      d->Resize(static_cast<int>(b.size() / sizeof(float)), 0.0f);
      if (!b.empty()) std::memcpy(d->mutable_data(), b.data(), b.size() / sizeof(float) * sizeof(float));
    }
    return;
  }
  if (IsVectorType(f.type)) {
    auto* v = out->mutable_vectors();
    v->set_dim(f.dim());
    // An empty column's data() may be null: never hand it to memcpy.
    std::string raw = c.fixed.empty() ? std::string()
                                      : std::string(reinterpret_cast<const char*>(c.fixed.data()), c.fixed.size());
    switch (f.type) {
      case DataType::kFloatVector: {
        auto* d = v->mutable_float_vector()->mutable_data();
        d->Resize(static_cast<int>(c.fixed.size() / 4), 0.0f);
        if (!c.fixed.empty()) std::memcpy(d->mutable_data(), c.fixed.data(), c.fixed.size());
        break;
      }
      case DataType::kBinaryVector: v->set_binary_vector(std::move(raw)); break;
      case DataType::kFloat16Vector: v->set_float16_vector(std::move(raw)); break;
      case DataType::kBFloat16Vector: v->set_bfloat16_vector(std::move(raw)); break;
      case DataType::kInt8Vector: v->set_int8_vector(std::move(raw)); break;
      case DataType::kSparseFloatVector: {
        auto* sp = v->mutable_sparse_float_vector();
        int64_t max_dim = 0;
        for (int64_t r = 0; r < n; ++r) {
          std::string_view b = c.GetBytes(r);
          sp->add_contents(std::string(b));
          if (b.size() >= 8) {
            uint32_t idx;
            std::memcpy(&idx, b.data() + b.size() - 8, 4);
            max_dim = std::max<int64_t>(max_dim, static_cast<int64_t>(idx) + 1);
          }
        }
        sp->set_dim(max_dim);
        v->set_dim(max_dim);
        break;
      }
      default: break;
    }
    return;
  }
  auto* s = out->mutable_scalars();
  switch (f.type) {
    case DataType::kBool:
      s->mutable_bool_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_bool_data()->add_data(c.Get<uint8_t>(r) != 0);
      break;
    case DataType::kInt8:
      s->mutable_int_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_int_data()->add_data(c.Get<int8_t>(r));
      break;
    case DataType::kInt16:
      s->mutable_int_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_int_data()->add_data(c.Get<int16_t>(r));
      break;
    case DataType::kInt32:
      s->mutable_int_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_int_data()->add_data(c.Get<int32_t>(r));
      break;
    case DataType::kInt64:
      s->mutable_long_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_long_data()->add_data(c.Get<int64_t>(r));
      break;
    case DataType::kFloat:
      s->mutable_float_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_float_data()->add_data(c.Get<float>(r));
      break;
    case DataType::kDouble:
      s->mutable_double_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_double_data()->add_data(c.Get<double>(r));
      break;
    case DataType::kVarChar:
      s->mutable_string_data();
      for (int64_t r = 0; r < n; ++r) s->mutable_string_data()->add_data(std::string(c.GetBytes(r)));
      break;
    case DataType::kJson:
      s->mutable_json_data();
      for (int64_t r = 0; r < n; ++r) {
        std::string_view b = c.GetBytes(r);
        if (f.is_dynamic && !dynamic_keys.empty()) {
          s->mutable_json_data()->add_data(FilterJson(b, dynamic_keys));
        } else {
          s->mutable_json_data()->add_data(std::string(b));
        }
      }
      break;
    case DataType::kTimestamptz:
      // Milvus answers ISO text in the request's zone (timestamptzUTC2IsoStr).
      s->mutable_string_data();
      for (int64_t r = 0; r < n; ++r) {
        s->mutable_string_data()->add_data(c.IsNull(r) ? std::string() : tz::FormatTimestamp(c.Get<int64_t>(r), timezone));
      }
      break;
    case DataType::kGeometry:
      s->mutable_geometry_wkt_data();
      for (int64_t r = 0; r < n; ++r) {
        s->mutable_geometry_wkt_data()->add_data(c.IsNull(r) ? std::string() : geo::WkbToWkt(c.GetBytes(r)));
      }
      break;
    case DataType::kArray: {
      auto* arr = s->mutable_array_data();
      arr->set_element_type(static_cast<ms::DataType>(f.element_type));
      for (int64_t r = 0; r < n; ++r) ArrayCellToProto(c.GetBytes(r), f.element_type, arr->add_data());
      break;
    }
    default: break;
  }
}

std::vector<std::string> TimeFieldsParam(
    const ::google::protobuf::RepeatedPtrField<::milvus::proto::common::KeyValuePair>& params) {
  std::vector<std::string> parts;
  for (const auto& kv : params) {
    if (kv.key() != "time_fields") continue;
    parts.clear();
    std::string cur;
    for (char ch : kv.value() + ",") {
      if (ch == ',' || ch == ' ') {
        if (!cur.empty()) parts.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
  }
  return parts;
}

Status ExtractTimeFields(const std::vector<std::string>& parts, ms::FieldData* out) {
  if (parts.empty() || out->type() != ms::Timestamptz || !out->scalars().has_string_data()) return Status::OK();
  std::vector<int> which;
  for (const std::string& p : parts) {
    std::string l = p;
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    static const char* kParts[] = {"year", "month", "day", "hour", "minute", "second", "microsecond"};
    auto it = std::find_if(std::begin(kParts), std::end(kParts), [&](const char* k) { return l == k; });
    if (it == std::end(kParts)) {
      return InvalidArgument(
          "unsupported field for extraction: {}, fields should be seprated by ',' or ' ': invalid parameter", p);
    }
    which.push_back(static_cast<int>(it - std::begin(kParts)));
  }
  ms::ArrayArray arr;
  arr.set_element_type(ms::Int64);
  for (const std::string& text : out->scalars().string_data().data()) {
    // FormatTimestamp's text: YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+hh:mm) in the zone; null rows are "".
    int64_t v[7] = {1970, 1, 1, 0, 0, 0, 0};
    if (text.size() >= 19) {
      auto num = [&](size_t pos, size_t len) { return std::stoll(text.substr(pos, len)); };
      v[0] = num(0, 4), v[1] = num(5, 2), v[2] = num(8, 2), v[3] = num(11, 2), v[4] = num(14, 2), v[5] = num(17, 2);
      if (text.size() > 20 && text[19] == '.') {
        size_t end = text.find_first_not_of("0123456789", 20);
        std::string frac = text.substr(20, end - 20);
        frac.resize(6, '0');
        v[6] = std::stoll(frac);
      }
    }
    auto* row = arr.add_data()->mutable_long_data();
    for (int w : which) row->add_data(v[w]);
  }
  *out->mutable_scalars()->mutable_array_data() = std::move(arr);
  out->set_type(ms::Array);
  return Status::OK();
}

void PksToIds(const Column& pks, ms::IDs* out) {
  if (pks.type == DataType::kInt64) {
    auto* d = out->mutable_int_id()->mutable_data();
    for (int64_t r = 0; r < pks.num_rows; ++r) d->Add(pks.Get<int64_t>(r));
  } else {
    auto* d = out->mutable_str_id()->mutable_data();
    for (int64_t r = 0; r < pks.num_rows; ++r) d->Add(std::string(pks.GetBytes(r)));
  }
}

}  // namespace kite::rpc

namespace kite::rpc {

namespace {

// Elements in row `r` of a struct sub-field column.
int64_t ElementCount(const FieldSchema& f, const Column& c, int64_t r) {
  if (c.IsNull(r)) return 0;
  std::string_view b = c.GetBytes(r);
  if (f.type == DataType::kArrayOfVector) {
    size_t w = FixedRowBytes(f.element_type, f.dim());
    return w == 0 ? 0 : static_cast<int64_t>(b.size() / w);
  }
  size_t ew = ElementBytes(f.element_type);
  if (ew > 0) return static_cast<int64_t>(b.size() / ew);
  int64_t n = 0;
  while (b.size() >= 4) {
    uint32_t len = 0;
    GetU32(&b, &len);
    b.remove_prefix(std::min<size_t>(len, b.size()));
    ++n;
  }
  return n;
}

}  // namespace

Status StructColumnsFromFieldData(const ms::FieldData& in, const CollectionSchema& schema,
                                  const StructFieldSchema& st, int64_t n, std::string_view timezone,
                                  std::vector<Column>* out) {
  if (in.field_case() != ms::FieldData::kStructArrays) {
    return InvalidArgument("field {} is an Array of Structs field, but the data sent is not struct arrays", st.name);
  }
  std::vector<const FieldSchema*> subs = schema.SubFields(st.name);
  std::vector<const ms::FieldData*> given(subs.size(), nullptr);
  for (const auto& fd : in.struct_arrays().fields()) {
    size_t k = 0;
    for (; k < subs.size(); ++k) {
      if (fd.field_name() == ShortFieldName(*subs[k]) || fd.field_name() == subs[k]->name) break;
    }
    if (k == subs.size()) {
      return InvalidArgument("field {} is not a sub-field of struct array field {}", fd.field_name(), st.name);
    }
    if (given[k]) return InvalidArgument("duplicated sub-field {} of struct array field {}", fd.field_name(), st.name);
    given[k] = &fd;
  }
  std::vector<Column> cols;
  for (size_t k = 0; k < subs.size(); ++k) {
    if (!given[k]) {
      return InvalidArgument("sub-field {} of struct array field {} is missing in the data", ShortFieldName(*subs[k]),
                             st.name);
    }
    KITE_ASSIGN_OR_RETURN(Column c, ColumnFromFieldData(*given[k], *subs[k], n, timezone));
    cols.push_back(std::move(c));
  }
  // Every sub-field holds one element per struct of the row.
  for (int64_t r = 0; r < n; ++r) {
    int64_t first = ElementCount(*subs[0], cols[0], r);
    for (size_t k = 1; k < subs.size(); ++k) {
      int64_t cnt = ElementCount(*subs[k], cols[k], r);
      if (cnt != first) {
        return InvalidArgument(
            "the sub-fields of struct array field {} hold different numbers of elements in row {}: {} has {}, {} has {}",
            st.name, r, ShortFieldName(*subs[0]), first, ShortFieldName(*subs[k]), cnt);
      }
    }
  }
  for (auto& c : cols) out->push_back(std::move(c));
  return Status::OK();
}

void StructColumnsToFieldData(const StructFieldSchema& st, const std::vector<const FieldSchema*>& subs,
                              const std::vector<const Column*>& columns, std::string_view timezone,
                              ms::FieldData* out) {
  out->set_type(ms::ArrayOfStruct);
  out->set_field_name(st.name);
  out->set_field_id(st.id.value);
  auto* sa = out->mutable_struct_arrays();
  for (size_t k = 0; k < subs.size() && k < columns.size(); ++k) {
    auto* fd = sa->add_fields();
    ColumnToFieldData(*columns[k], *subs[k], {}, timezone, fd);
    fd->set_field_name(std::string(ShortFieldName(*subs[k])));
  }
}

bool StructOutputAt(const CollectionSchema& schema, const std::vector<FieldId>& fields,
                    const std::vector<Column>& columns, size_t i, std::string_view timezone,
                    const std::function<ms::FieldData*()>& add) {
  const FieldSchema* f = schema.FindField(fields[i]);
  for (size_t j = 0; j < i; ++j) {
    const FieldSchema* g = schema.FindField(fields[j]);
    if (g && g->struct_name == f->struct_name) return false;  // encoded with the first one
  }
  const StructFieldSchema* st = schema.FindStruct(f->struct_name);
  if (!st) return false;
  std::vector<const FieldSchema*> subs;
  std::vector<Column> empties;
  std::vector<size_t> at;
  for (size_t j = i; j < fields.size(); ++j) {
    const FieldSchema* g = schema.FindField(fields[j]);
    if (g && g->struct_name == f->struct_name) {
      subs.push_back(g);
      at.push_back(j);
    }
  }
  empties.reserve(subs.size());
  std::vector<const Column*> cols;
  for (size_t k = 0; k < subs.size(); ++k) {
    if (at[k] < columns.size()) {
      cols.push_back(&columns[at[k]]);
    } else {
      empties.push_back(Column::ForField(*subs[k]));
      cols.push_back(&empties.back());
    }
  }
  StructColumnsToFieldData(*st, subs, cols, timezone, add());
  return true;
}

}  // namespace kite::rpc
