#include "rpc/import/parquet_reader.h"

#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <set>

#include <arrow/api.h>
#include <arrow/io/interfaces.h>
#include <nlohmann/json.hpp>
#include <parquet/arrow/reader.h>
#include <parquet/properties.h>

#include "common/json_scan.h"
#include "rpc/rest/rest_rows.h"

namespace kite::import {

namespace {

using Json = nlohmann::json;
using arrow::Type;

constexpr int kMaxJsonDepth = 1024;  // as the proxy bounds a JSON field value

Status ImportFailed(const std::string& msg) {
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone, "{}: importing data failed", msg);
}

// An object of Kite's store as an Arrow file. Arrow reads through ReadAt only
// (no pre-buffering, no threads), but the lock keeps Seek/Read and ReadAt
// consistent if it ever does not.
class ObjectFile final : public arrow::io::RandomAccessFile {
 public:
  explicit ObjectFile(std::unique_ptr<ObjectReader> reader) : reader_(std::move(reader)) {}

  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return pos_; }
  arrow::Status Seek(int64_t position) override {
    if (position < 0) return arrow::Status::Invalid("negative seek position ", position);
    pos_ = position;
    return arrow::Status::OK();
  }
  arrow::Result<int64_t> GetSize() override { return static_cast<int64_t>(reader_->size()); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t got, ReadAt(pos_, nbytes, out));
    pos_ += got;
    return got;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buf, ReadAt(pos_, nbytes));
    pos_ += buf->size();
    return buf;
  }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    std::lock_guard lock(mu_);
    if (position < 0 || nbytes < 0) return arrow::Status::Invalid("bad read range ", position, "+", nbytes);
    const int64_t size = static_cast<int64_t>(reader_->size());
    if (position >= size) return 0;
    const int64_t n = std::min(nbytes, size - position);
    Status st = reader_->ReadAt(static_cast<uint64_t>(position), static_cast<size_t>(n), out);
    if (!st.ok()) return arrow::Status::IOError(st.message());
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ResizableBuffer> buf,
                          arrow::AllocateResizableBuffer(nbytes, arrow::system_memory_pool()));
    ARROW_ASSIGN_OR_RAISE(int64_t got, ReadAt(position, nbytes, buf->mutable_data()));
    ARROW_RETURN_NOT_OK(buf->Resize(got));
    return std::shared_ptr<arrow::Buffer>(std::move(buf));
  }

 private:
  std::unique_ptr<ObjectReader> reader_;
  std::mutex mu_;
  int64_t pos_ = 0;
  bool closed_ = false;
};

// ------------------------------------------------- Milvus's type matching
// The Arrow type a Milvus field is written as (Milvus convertToArrowDataType).
struct ArrowForm {
  Type::type id;
  Type::type element = Type::NA;  // lists only
};

ArrowForm FormOf(DataType t, DataType element) {
  switch (t) {
    case DataType::kBool: return {Type::BOOL};
    case DataType::kInt8: return {Type::INT8};
    case DataType::kInt16: return {Type::INT16};
    case DataType::kInt32: return {Type::INT32};
    case DataType::kInt64: return {Type::INT64};
    case DataType::kFloat: return {Type::FLOAT};
    case DataType::kDouble: return {Type::DOUBLE};
    case DataType::kArray: return {Type::LIST, FormOf(element, DataType::kNone).id};
    case DataType::kBinaryVector:
    case DataType::kFloat16Vector:
    case DataType::kBFloat16Vector: return {Type::LIST, Type::UINT8};
    case DataType::kFloatVector: return {Type::LIST, Type::FLOAT};
    case DataType::kInt8Vector: return {Type::LIST, Type::INT8};
    default: return {Type::STRING};  // VarChar, Text, JSON, SparseFloatVector, Timestamptz, Geometry
  }
}

bool IsInteger(Type::type t) { return t == Type::INT8 || t == Type::INT16 || t == Type::INT32 || t == Type::INT64; }
bool IsFloating(Type::type t) { return t == Type::FLOAT || t == Type::DOUBLE; }
bool IsArithmetic(Type::type t) { return IsInteger(t) || IsFloating(t); }
bool IsString(Type::type t) { return t == Type::STRING || t == Type::LARGE_STRING; }

// Milvus isArrowDataTypeConvertible: may a column of type `src` fill a field
// whose Arrow form has id `dst` (and element `dst_element` for lists)?
bool Convertible(const arrow::DataType& src, Type::type dst, Type::type dst_element, const FieldSchema& f) {
  switch (src.id()) {
    case Type::BOOL: return dst == Type::BOOL;
    case Type::UINT8: return dst == Type::UINT8;
    case Type::INT8: return IsArithmetic(dst);
    case Type::INT16: return IsArithmetic(dst) && dst != Type::INT8;
    case Type::INT32: return IsArithmetic(dst) && dst != Type::INT8 && dst != Type::INT16;
    case Type::INT64: return IsFloating(dst) || dst == Type::INT64;
    case Type::FLOAT:
    case Type::DOUBLE: return IsFloating(dst);
    case Type::STRING:
    case Type::LARGE_STRING: return dst == Type::STRING;
    case Type::BINARY:
    case Type::LARGE_BINARY: return dst == Type::LIST && dst_element == Type::UINT8;
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::FIXED_SIZE_LIST: {
      if (dst != Type::LIST) return false;
      const auto& child = *src.field(0)->type();
      return Convertible(child, dst_element, Type::NA, f);
    }
    case Type::NA: return f.nullable || f.default_value.has_value();
    default: return false;
  }
}

bool SparseStruct(const arrow::DataType& t) {
  if (t.id() != Type::STRUCT) return false;
  bool indices = false, values = false;
  for (const auto& c : t.fields()) {
    indices = indices || c->name() == "indices";
    values = values || c->name() == "values";
  }
  return indices && values;
}

// Fields read straight into Kite's column layout; the others (ARRAY, sparse
// vectors, TIMESTAMPTZ, GEOMETRY) go through the REST row decoder.
bool Direct(DataType t) {
  switch (t) {
    case DataType::kBool:
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kFloat:
    case DataType::kDouble:
    case DataType::kVarChar:
    case DataType::kString:
    case DataType::kText:
    case DataType::kJson:
    case DataType::kFloatVector:
    case DataType::kBinaryVector:
    case DataType::kFloat16Vector:
    case DataType::kBFloat16Vector:
    case DataType::kInt8Vector: return true;
    default: return false;
  }
}

// Calls fn(array) with `a` cast to its numeric Arrow array class; false when
// `a` is not a numeric array.
template <typename Fn>
bool VisitNumeric(const arrow::Array& a, Fn&& fn) {
  switch (a.type_id()) {
    case Type::INT8: fn(static_cast<const arrow::Int8Array&>(a)); return true;
    case Type::INT16: fn(static_cast<const arrow::Int16Array&>(a)); return true;
    case Type::INT32: fn(static_cast<const arrow::Int32Array&>(a)); return true;
    case Type::INT64: fn(static_cast<const arrow::Int64Array&>(a)); return true;
    case Type::UINT8: fn(static_cast<const arrow::UInt8Array&>(a)); return true;
    case Type::UINT16: fn(static_cast<const arrow::UInt16Array&>(a)); return true;
    case Type::UINT32: fn(static_cast<const arrow::UInt32Array&>(a)); return true;
    case Type::UINT64: fn(static_cast<const arrow::UInt64Array&>(a)); return true;
    case Type::FLOAT: fn(static_cast<const arrow::FloatArray&>(a)); return true;
    case Type::DOUBLE: fn(static_cast<const arrow::DoubleArray&>(a)); return true;
    default: return false;
  }
}

// Calls fn(i, view) for each row of a string or binary array; false otherwise.
template <typename Fn>
bool VisitBytes(const arrow::Array& a, Fn&& fn) {
  auto each = [&](const auto& arr) {
    for (int64_t i = 0; i < arr.length(); ++i) fn(i, arr.IsNull(i), arr.GetView(i));
  };
  switch (a.type_id()) {
    case Type::STRING: each(static_cast<const arrow::StringArray&>(a)); return true;
    case Type::LARGE_STRING: each(static_cast<const arrow::LargeStringArray&>(a)); return true;
    case Type::BINARY: each(static_cast<const arrow::BinaryArray&>(a)); return true;
    case Type::LARGE_BINARY: each(static_cast<const arrow::LargeBinaryArray&>(a)); return true;
    default: return false;
  }
}

// Row i of a string or binary array; nullopt for other arrays.
std::optional<std::string_view> StringAt(const arrow::Array& a, int64_t i) {
  switch (a.type_id()) {
    case Type::STRING: return static_cast<const arrow::StringArray&>(a).GetView(i);
    case Type::LARGE_STRING: return static_cast<const arrow::LargeStringArray&>(a).GetView(i);
    case Type::BINARY: return static_cast<const arrow::BinaryArray&>(a).GetView(i);
    case Type::LARGE_BINARY: return static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
    default: return std::nullopt;
  }
}

// Offsets of row i of a list array (ListArray, LargeListArray, FixedSizeListArray).
struct ListView {
  const arrow::Array* values = nullptr;
  std::function<std::pair<int64_t, int64_t>(int64_t)> range;  // [begin, length)
};

bool AsList(const arrow::Array& a, ListView* out) {
  switch (a.type_id()) {
    case Type::LIST: {
      const auto& l = static_cast<const arrow::ListArray&>(a);
      out->values = l.values().get();
      out->range = [&l](int64_t i) { return std::pair<int64_t, int64_t>(l.value_offset(i), l.value_length(i)); };
      return true;
    }
    case Type::LARGE_LIST: {
      const auto& l = static_cast<const arrow::LargeListArray&>(a);
      out->values = l.values().get();
      out->range = [&l](int64_t i) { return std::pair<int64_t, int64_t>(l.value_offset(i), l.value_length(i)); };
      return true;
    }
    case Type::FIXED_SIZE_LIST: {
      const auto& l = static_cast<const arrow::FixedSizeListArray&>(a);
      out->values = l.values().get();
      out->range = [&l](int64_t i) { return std::pair<int64_t, int64_t>(l.value_offset(i), l.value_length(i)); };
      return true;
    }
    default: return false;
  }
}

// One Arrow value as JSON (for the REST row decoder).
Json CellJson(const arrow::Array& a, int64_t i) {
  if (a.IsNull(i)) return nullptr;
  Json out;
  if (a.type_id() == Type::BOOL) return static_cast<const arrow::BooleanArray&>(a).Value(i);
  if (VisitNumeric(a, [&](const auto& arr) {
        using V = std::decay_t<decltype(arr.Value(0))>;
        if constexpr (std::is_floating_point_v<V>) {
          out = static_cast<double>(arr.Value(i));
        } else if constexpr (std::is_signed_v<V>) {
          out = static_cast<int64_t>(arr.Value(i));
        } else {
          out = static_cast<uint64_t>(arr.Value(i));
        }
      })) {
    return out;
  }
  if (auto v = StringAt(a, i)) return std::string(*v);
  ListView lv;
  if (AsList(a, &lv)) {
    out = Json::array();
    auto [begin, len] = lv.range(i);
    for (int64_t k = 0; k < len; ++k) out.push_back(CellJson(*lv.values, begin + k));
    return out;
  }
  if (a.type_id() == Type::STRUCT) {
    const auto& s = static_cast<const arrow::StructArray&>(a);
    out = Json::object();
    for (int c = 0; c < s.num_fields(); ++c) out[s.struct_type()->field(c)->name()] = CellJson(*s.field(c), i);
    return out;
  }
  return nullptr;
}

class ParquetReader final : public FileReader {
 public:
  ParquetReader(std::string path, const CollectionSchema& schema, int64_t batch)
      : path_(std::move(path)), schema_(schema), batch_(batch) {}

  Status Init(ObjectStore* objects) {
    auto r = objects->Open(path_);
    if (!r.ok()) return ImportFailed(fmt::format("failed to read file {}: {}", path_, r.status().message()));
    size_ = static_cast<int64_t>(r.value()->size());
    auto file = std::make_shared<ObjectFile>(std::move(r).value());
    try {
      parquet::ReaderProperties props(arrow::system_memory_pool());
      parquet::ArrowReaderProperties arrow_props;
      arrow_props.set_batch_size(batch_);
      arrow_props.set_pre_buffer(false);
      arrow_props.set_use_threads(false);
      parquet::arrow::FileReaderBuilder builder;
      arrow::Status st = builder.Open(file, props);
      if (!st.ok()) return ImportFailed(fmt::format("file {}: new parquet reader failed, err={}", path_, st.message()));
      auto built = builder.memory_pool(arrow::system_memory_pool())->properties(arrow_props)->Build();
      if (!built.ok()) {
        return ImportFailed(fmt::format("file {}: new parquet file reader failed, err={}", path_, built.status().message()));
      }
      reader_ = std::move(built).ValueUnsafe();
      std::shared_ptr<arrow::Schema> arrow_schema;
      st = reader_->GetSchema(&arrow_schema);
      if (!st.ok()) return ImportFailed(fmt::format("file {}: get parquet schema failed, err={}", path_, st.message()));
      KITE_RETURN_IF_ERROR(MatchSchema(*arrow_schema));
      auto batches = reader_->GetRecordBatchReader();
      if (!batches.ok()) {
        return ImportFailed(fmt::format("file {}: new parquet reader failed, err={}", path_, batches.status().message()));
      }
      batches_ = std::move(batches).ValueUnsafe();
    } catch (const std::exception& e) {
      return ImportFailed(fmt::format("file {}: new parquet reader failed, err={}", path_, e.what()));
    }
    return Status::OK();
  }

  Result<bool> Next(ColumnBatch* out) override {
    for (;;) {
      std::shared_ptr<arrow::RecordBatch> rb;
      try {
        arrow::Status st = batches_->ReadNext(&rb);
        if (!st.ok()) return ImportFailed(fmt::format("file {}: failed to read a record batch: {}", path_, st.message()));
      } catch (const std::exception& e) {
        return ImportFailed(fmt::format("file {}: failed to read a record batch: {}", path_, e.what()));
      }
      if (!rb) return false;
      if (rb->num_rows() == 0) continue;
      KITE_RETURN_IF_ERROR(Convert(*rb, out));
      next_row_ += rb->num_rows();
      return true;
    }
  }
  int64_t size_bytes() const override { return size_; }

 private:
  struct Slot {
    const FieldSchema* field;
    int column;
  };

  // Milvus's CreateFieldReaders / isSchemaEqual, with their messages.
  Status MatchSchema(const arrow::Schema& s) {
    for (const FieldSchema& f : schema_.fields) {
      if ((f.is_primary && f.auto_id) || f.is_function_output || !f.struct_name.empty()) continue;
      const std::string& name = f.is_dynamic ? std::string(kDynamicFieldName) : f.name;
      auto af = s.GetFieldByName(name);
      if (!af) {
        if (f.is_dynamic) continue;
        return ImportFailed(fmt::format("schema not equal, err=field '{}' not in arrow schema: importing data failed", f.name));
      }
      const ArrowForm form = FormOf(f.type, f.element_type);
      const bool ok = Convertible(*af->type(), form.id, form.element, f) ||
                      (f.type == DataType::kSparseFloatVector && SparseStruct(*af->type()));
      if (!ok) {
        return ImportFailed(fmt::format(
            "schema not equal, err=field '{}' type mis-match, milvus data type '{}', arrow data type get '{}': "
            "importing data failed",
            f.name, DataTypeName(f.type), af->type()->ToString()));
      }
    }
    KITE_RETURN_IF_ERROR(MatchStructs(s));
    std::set<std::string> seen;
    for (int i = 0; i < s.num_fields(); ++i) {
      const std::string& name = s.field(i)->name();
      if (const StructFieldSchema* st = schema_.FindStruct(name)) {
        if (!seen.insert(name).second) return ImportFailed(fmt::format("there is multi field with name: {}", name));
        structs_.push_back(StructSlot{st, i});
        json_schema_.structs.push_back(*st);
        for (const FieldSchema* sub : schema_.SubFields(st->name)) json_schema_.fields.push_back(*sub);
        continue;
      }
      const FieldSchema* f = name == kDynamicFieldName ? schema_.DynamicField() : schema_.FindField(name);
      if (!f || (f->is_dynamic && name != kDynamicFieldName) || !f->struct_name.empty()) {
        return ImportFailed(fmt::format(
            "the field: {} is not in schema, if it's a dynamic field, please reformat data by bulk_writer", name));
      }
      if (f->is_primary && f->auto_id) {
        return ImportFailed(fmt::format("the primary key '{}' is auto-generated, no need to provide", f->name));
      }
      if (f->is_function_output) {
        return ImportFailed(fmt::format("file {}: field '{}' is the output of a function and cannot be imported", path_, name));
      }
      if (!seen.insert(name).second) {
        return ImportFailed(fmt::format("there is multi field with name: {}", name));
      }
      if (f->is_dynamic) {
        meta_column_ = i;
      } else if (Direct(f->type)) {
        direct_.push_back(Slot{f, i});
      } else {
        via_json_.push_back(Slot{f, i});
        json_schema_.fields.push_back(*f);
      }
    }
    json_schema_.name = schema_.name;
    return Status::OK();
  }

  // An Array of Structs field is one column, list<struct<sub-field, ...>>, as
  // pymilvus's bulk writer writes it (a vector sub-field a list of floats).
  // Its values go through the REST row decoder (rest_rows.h).
  Status MatchStructs(const arrow::Schema& s) const {
    for (const StructFieldSchema& st : schema_.structs) {
      auto af = s.GetFieldByName(st.name);
      if (!af) {
        return ImportFailed(
            fmt::format("schema not equal, err=field '{}' not in arrow schema: importing data failed", st.name));
      }
      const arrow::DataType& t = *af->type();
      const arrow::DataType* elem = nullptr;
      if (t.id() == Type::LIST || t.id() == Type::LARGE_LIST || t.id() == Type::FIXED_SIZE_LIST) {
        elem = t.field(0)->type().get();
      }
      std::string missing;
      if (elem && elem->id() == Type::STRUCT) {
        const auto& stype = static_cast<const arrow::StructType&>(*elem);
        for (const FieldSchema* sub : schema_.SubFields(st.name)) {
          if (stype.GetFieldIndex(std::string(ShortFieldName(*sub))) < 0 && missing.empty()) {
            missing = std::string(ShortFieldName(*sub));
          }
        }
      }
      if (!elem || elem->id() != Type::STRUCT) {
        return ImportFailed(fmt::format(
            "schema not equal, err=field '{}' type mis-match, milvus data type '{}', arrow data type get '{}': "
            "importing data failed",
            st.name, DataTypeName(DataType::kArrayOfStruct), t.ToString()));
      }
      if (!missing.empty()) {
        return ImportFailed(fmt::format(
            "schema not equal, err=sub-field '{}' of struct field '{}' not in arrow schema '{}': importing data failed",
            missing, st.name, t.ToString()));
      }
    }
    return Status::OK();
  }

  std::string At(const FieldSchema& f, int64_t row) const {
    return fmt::format("file {}: field '{}': row {}", path_, f.name, next_row_ + row);
  }

  Status NullAt(const FieldSchema& f, int64_t row, Column* c) const {
    if (!f.nullable && !f.default_value) {
      return ImportFailed(fmt::format("{}: not nullable, but has null value: invalid parameter", At(f, row)));
    }
    c->AppendNull();
    return Status::OK();
  }

  Status TypeError(const FieldSchema& f, const char* expect, const arrow::Array& a) const {
    return ImportFailed(fmt::format("file {}: expect '{}' type for field '{}', but got '{}' type", path_, expect, f.name,
                                    a.type()->ToString()));
  }

  Status Convert(const arrow::RecordBatch& rb, ColumnBatch* out) {
    const int64_t n = rb.num_rows();
    *out = ColumnBatch{};
    out->num_rows = n;
    for (const Slot& s : direct_) {
      Column c = Column::ForField(*s.field);
      c.Reserve(n);
      KITE_RETURN_IF_ERROR(ConvertDirect(*s.field, *rb.column(s.column), &c));
      out->columns.push_back(std::move(c));
    }
    if (!via_json_.empty() || !structs_.empty()) {
      Json rows = Json::array();
      for (int64_t r = 0; r < n; ++r) {
        Json row = Json::object();
        for (const StructSlot& s : structs_) row[s.st->name] = CellJson(*rb.column(s.column), r);
        for (const Slot& s : via_json_) {
          const arrow::Array& a = *rb.column(s.column);
          Json v = CellJson(a, r);
          if (s.field->type == DataType::kSparseFloatVector && v.is_string()) {
            const std::string text = v.get<std::string>();
            v = Json::parse(text, nullptr, false);
            if (v.is_discarded() || JsonNestingDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
              return ImportFailed(fmt::format("{}: Invalid JSON string for SparseFloatVector: '{}'", At(*s.field, r), text));
            }
          }
          row[s.field->name] = std::move(v);
        }
        rows.push_back(std::move(row));
      }
      ColumnBatch decoded;
      Status st = rest::RowsToColumnsFrom(rows, json_schema_, /*upsert=*/false, next_row_, &decoded);
      if (!st.ok()) return ImportFailed(fmt::format("file {}: {}", path_, st.message()));
      for (Column& c : decoded.columns) out->columns.push_back(std::move(c));
    }
    if (const FieldSchema* meta = schema_.DynamicField()) {
      Column c = Column::ForField(*meta);
      c.Reserve(n);
      if (meta_column_ >= 0) {
        KITE_RETURN_IF_ERROR(ConvertJson(*meta, *rb.column(meta_column_), /*object=*/true, &c));
      } else {
        for (int64_t r = 0; r < n; ++r) c.AppendVar("{}");
      }
      out->columns.push_back(std::move(c));
    }
    return Status::OK();
  }

  template <typename T>
  Status ConvertNumbers(const FieldSchema& f, const arrow::Array& a, Column* c) {
    Status st = Status::OK();
    if (a.type_id() == Type::NA) {
      for (int64_t r = 0; r < a.length() && st.ok(); ++r) st = NullAt(f, r, c);
      return st;
    }
    if (a.type_id() == Type::BOOL) {
      const auto& b = static_cast<const arrow::BooleanArray&>(a);
      for (int64_t r = 0; r < b.length() && st.ok(); ++r) {
        if (b.IsNull(r)) {
          st = NullAt(f, r, c);
        } else {
          const T v = static_cast<T>(b.Value(r));
          c->AppendFixed(&v);
        }
      }
      return st;
    }
    if (!VisitNumeric(a, [&](const auto& arr) {
          for (int64_t r = 0; r < arr.length() && st.ok(); ++r) {
            if (arr.IsNull(r)) {
              st = NullAt(f, r, c);
            } else {
              const T v = static_cast<T>(arr.Value(r));
              c->AppendFixed(&v);
            }
          }
        })) {
      return TypeError(f, "integer|float", a);
    }
    return st;
  }

  Status ConvertJson(const FieldSchema& f, const arrow::Array& a, bool object, Column* c) {
    Status st = Status::OK();
    if (a.type_id() == Type::NA) {
      for (int64_t r = 0; r < a.length() && st.ok(); ++r) {
        if (f.is_dynamic) {
          c->AppendVar("{}");
        } else {
          st = NullAt(f, r, c);
        }
      }
      return st;
    }
    if (!IsString(a.type_id())) return TypeError(f, "string", a);
    VisitBytes(a, [&](int64_t r, bool null, std::string_view v) {
      if (!st.ok()) return;
      if (null) {
        if (f.is_dynamic) {
          c->AppendVar("{}");
        } else {
          st = NullAt(f, r, c);
        }
        return;
      }
      if (JsonNestingDepth(v, kMaxJsonDepth) > kMaxJsonDepth) {
        st = ImportFailed(fmt::format("{}: the JSON value nests deeper than {} levels", At(f, r), kMaxJsonDepth));
        return;
      }
      Json j = Json::parse(v, nullptr, false);
      if (j.is_discarded()) {
        st = ImportFailed(fmt::format("{}: invalid JSON: {}", At(f, r), v.substr(0, 64)));
        return;
      }
      if (object && !j.is_object()) {
        st = ImportFailed(fmt::format("{}: $meta must be a JSON object", At(f, r)));
        return;
      }
      c->AppendVar(v);
    });
    return st;
  }

  // Dense vectors: one list (or binary value) per row holding exactly the row's elements.
  Status ConvertVector(const FieldSchema& f, const arrow::Array& a, Column* c) {
    const int64_t n = a.length();
    int64_t want = f.dim();
    if (f.type == DataType::kBinaryVector) want = f.dim() / 8;
    if (f.type == DataType::kFloat16Vector || f.type == DataType::kBFloat16Vector) want = 2 * f.dim();
    auto misaligned = [&](int64_t r, int64_t got) {
      return ImportFailed(fmt::format("{}: length of vector is not aligned: expected {} but got {}, data type: {}", At(f, r),
                                      want, got, DataTypeName(f.type)));
    };
    const bool bytes_per_element = f.type != DataType::kFloatVector;  // uint8 / int8 elements, one byte each
    if (bytes_per_element) {
      Status st = Status::OK();
      if (VisitBytes(a, [&](int64_t r, bool null, std::string_view v) {
            if (!st.ok()) return;
            if (null) {
              st = NullAt(f, r, c);
            } else if (static_cast<int64_t>(v.size()) != want) {
              st = misaligned(r, static_cast<int64_t>(v.size()));
            } else {
              c->AppendFixed(v.data());
            }
          })) {
        return st;
      }
    }
    if (a.type_id() == Type::NA) {
      Status st = Status::OK();
      for (int64_t r = 0; r < n && st.ok(); ++r) st = NullAt(f, r, c);
      return st;
    }
    ListView lv;
    if (!AsList(a, &lv)) return TypeError(f, bytes_per_element ? "binary" : "list", a);
    const arrow::Array& values = *lv.values;
    std::vector<uint8_t> row(c->row_bytes);
    for (int64_t r = 0; r < n; ++r) {
      if (a.IsNull(r)) {
        KITE_RETURN_IF_ERROR(NullAt(f, r, c));
        continue;
      }
      auto [begin, len] = lv.range(r);
      if (len != want) return misaligned(r, len);
      if (values.null_count() > 0) {
        for (int64_t k = 0; k < len; ++k) {
          if (values.IsNull(begin + k)) {
            return ImportFailed(fmt::format("{}: element {} of the vector is null", At(f, r), k));
          }
        }
      }
      bool ok = VisitNumeric(values, [&](const auto& arr) {
        using V = std::decay_t<decltype(arr.Value(0))>;
        const V* src = arr.raw_values() + begin;
        if (f.type == DataType::kFloatVector) {
          if constexpr (std::is_same_v<V, float>) {
            std::memcpy(row.data(), src, len * sizeof(float));
          } else {
            for (int64_t k = 0; k < len; ++k) {
              const float x = static_cast<float>(src[k]);
              std::memcpy(row.data() + k * sizeof(float), &x, sizeof(float));
            }
          }
        } else {
          for (int64_t k = 0; k < len; ++k) row[k] = static_cast<uint8_t>(src[k]);
        }
      });
      if (!ok) return TypeError(f, bytes_per_element ? "binary" : "float", values);
      c->AppendFixed(row.data());
    }
    return Status::OK();
  }

  Status ConvertDirect(const FieldSchema& f, const arrow::Array& a, Column* c) {
    switch (f.type) {
      case DataType::kBool: {
        if (a.type_id() != Type::BOOL && a.type_id() != Type::NA) return TypeError(f, "bool", a);
        return ConvertNumbers<uint8_t>(f, a, c);
      }
      case DataType::kInt8: return ConvertNumbers<int8_t>(f, a, c);
      case DataType::kInt16: return ConvertNumbers<int16_t>(f, a, c);
      case DataType::kInt32: return ConvertNumbers<int32_t>(f, a, c);
      case DataType::kInt64: return ConvertNumbers<int64_t>(f, a, c);
      case DataType::kFloat: return ConvertNumbers<float>(f, a, c);
      case DataType::kDouble: return ConvertNumbers<double>(f, a, c);
      case DataType::kJson: return ConvertJson(f, a, /*object=*/false, c);
      case DataType::kVarChar:
      case DataType::kString:
      case DataType::kText: {
        Status st = Status::OK();
        if (a.type_id() == Type::NA) {
          for (int64_t r = 0; r < a.length() && st.ok(); ++r) st = NullAt(f, r, c);
          return st;
        }
        if (!IsString(a.type_id())) return TypeError(f, "string", a);
        VisitBytes(a, [&](int64_t r, bool null, std::string_view v) {
          if (!st.ok()) return;
          if (null) {
            st = NullAt(f, r, c);
          } else {
            c->AppendVar(v);
          }
        });
        return st;
      }
      default: return ConvertVector(f, a, c);
    }
  }

  std::string path_;
  const CollectionSchema& schema_;
  int64_t batch_;
  int64_t size_ = 0;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  std::vector<Slot> direct_;
  std::vector<Slot> via_json_;
  struct StructSlot {
    const StructFieldSchema* st;
    int column;
  };
  std::vector<StructSlot> structs_;
  CollectionSchema json_schema_;  // the via_json_ fields alone, for the REST decoder
  int meta_column_ = -1;
  int64_t next_row_ = 0;
};

}  // namespace

Result<std::unique_ptr<FileReader>> OpenParquet(ObjectStore* objects, const std::string& path,
                                                const CollectionSchema& schema, int64_t batch_rows) {
  auto r = std::make_unique<ParquetReader>(path, schema, batch_rows);
  KITE_RETURN_IF_ERROR(r->Init(objects));
  return std::unique_ptr<FileReader>(std::move(r));
}

}  // namespace kite::import
