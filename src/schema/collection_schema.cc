#include "schema/collection_schema.h"

#include "schema/geometry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace kite {

int64_t FieldSchema::IntParam(const std::string& key) const {
  auto it = type_params.find(key);
  if (it == type_params.end()) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || p != it->second.data() + it->second.size()) return 0;
  return v;
}

const FieldSchema* CollectionSchema::FindField(std::string_view n) const {
  for (const auto& f : fields) {
    if (f.name == n) return &f;
  }
  return nullptr;
}
const FieldSchema* CollectionSchema::FindField(FieldId id) const {
  for (const auto& f : fields) {
    if (f.id == id) return &f;
  }
  return nullptr;
}
const FieldSchema* CollectionSchema::PrimaryField() const {
  for (const auto& f : fields) {
    if (f.is_primary) return &f;
  }
  return nullptr;
}
const FieldSchema* CollectionSchema::DynamicField() const {
  for (const auto& f : fields) {
    if (f.is_dynamic) return &f;
  }
  return nullptr;
}
std::vector<const FieldSchema*> CollectionSchema::VectorFields() const {
  std::vector<const FieldSchema*> out;
  for (const auto& f : fields) {
    if (IsVectorType(f.type)) out.push_back(&f);
  }
  return out;
}

std::string StructSubFieldName(std::string_view struct_name, std::string_view sub) {
  return fmt::format("{}[{}]", struct_name, sub);
}

std::string_view ShortFieldName(const FieldSchema& f) {
  std::string_view n = f.name;
  if (f.struct_name.empty() || n.size() < f.struct_name.size() + 2) return n;
  return n.substr(f.struct_name.size() + 1, n.size() - f.struct_name.size() - 2);
}

const StructFieldSchema* CollectionSchema::FindStruct(std::string_view n) const {
  for (const auto& st : structs) {
    if (st.name == n) return &st;
  }
  return nullptr;
}

std::vector<const FieldSchema*> CollectionSchema::SubFields(std::string_view struct_name) const {
  std::vector<const FieldSchema*> out;
  for (const auto& f : fields) {
    if (!f.struct_name.empty() && f.struct_name == struct_name) out.push_back(&f);
  }
  return out;
}

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status Invalid(Reason r, std::string msg) {
  return Status(StatusCode::kInvalidArgument, r, std::move(msg));
}

// Parses a decimal type param; distinguishes "absent" from "not a number".
enum class ParamState { kAbsent, kBad, kOk };
ParamState IntTypeParam(const FieldSchema& f, const std::string& key, int64_t* out) {
  auto it = f.type_params.find(key);
  if (it == f.type_params.end()) return ParamState::kAbsent;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec != std::errc() || p != s.data() + s.size()) return ParamState::kBad;
  return ParamState::kOk;
}

Status ValidateDimension(const FieldSchema& f, const Limits& limits) {
  int64_t dim = 0;
  ParamState st = IntTypeParam(f, "dim", &dim);
  if (f.type == DataType::kSparseFloatVector) {
    if (st != ParamState::kAbsent) {
      return InvalidArgument("dim should not be specified for sparse vector field {}", f.name);
    }
    return Status::OK();
  }
  if (st == ParamState::kAbsent) {
    return InvalidArgument(
        "dimension is not defined in field type params of field {}, check type param `dim` for vector field",
        f.name);
  }
  if (st == ParamState::kBad) {
    return InvalidArgument("invalid dimension of field {}: '{}' is not an integer", f.name,
                           f.type_params.at("dim"));
  }
  if (dim <= 1) {
    return InvalidArgument("invalid dimension: {}. should be in range 2 ~ {}", dim, limits.max_dimension);
  }
  if (f.type == DataType::kBinaryVector) {
    if (dim % 8 != 0) {
      return InvalidArgument(
          "invalid dimension: {} of field {}. binary vector dimension should be multiple of 8. ", dim, f.name);
    }
    if (dim > limits.max_dimension * 8) {
      return InvalidArgument("invalid dimension: {} of field {}. binary vector dimension should be in range 2 ~ {}",
                             dim, f.name, limits.max_dimension * 8);
    }
  } else if (dim > limits.max_dimension) {
    return InvalidArgument("invalid dimension: {} of field {}. float vector dimension should be in range 2 ~ {}",
                           dim, f.name, limits.max_dimension);
  }
  return Status::OK();
}

Status ValidateMaxLength(const CollectionSchema& s, const FieldSchema& f, const Limits& limits) {
  int64_t len = 0;
  ParamState st = IntTypeParam(f, "max_length", &len);
  if (st == ParamState::kAbsent) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                  fmt::format("type param(max_length) should be specified for the field({}) of collection {}",
                              f.name, s.name));
  }
  if (st == ParamState::kBad || len <= 0 || len > limits.max_varchar_length) {
    return InvalidArgument(
        "the maximum length specified for the field({}) should be in (0, {}], but got {} instead: invalid parameter",
        f.name, limits.max_varchar_length, f.type_params.at("max_length"));
  }
  return Status::OK();
}

bool IsValidArrayElement(DataType t) {
  return t == DataType::kBool || IsIntegerType(t) || IsFloatingType(t) || t == DataType::kVarChar;
}

Status ValidateArray(const CollectionSchema& s, const FieldSchema& f, const Limits& limits) {
  if (!IsValidArrayElement(f.element_type)) {
    return InvalidArgument("element type {} is not supported for array field {}", DataTypeName(f.element_type),
                           f.name);
  }
  if (f.element_type == DataType::kVarChar) KITE_RETURN_IF_ERROR(ValidateMaxLength(s, f, limits));
  int64_t cap = 0;
  ParamState st = IntTypeParam(f, "max_capacity", &cap);
  if (st == ParamState::kAbsent) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter,
                  fmt::format("type param(max_capacity) should be specified for array field {} of collection {}",
                              f.name, s.name));
  }
  if (st == ParamState::kBad) {
    return InvalidArgument("the value for max_capacity of field {} must be an integer", f.name);
  }
  if (cap <= 0 || cap > limits.max_array_capacity) {
    return InvalidArgument("the maximum capacity specified for a Array should be in (0, {}]: invalid parameter",
                           limits.max_array_capacity);
  }
  return Status::OK();
}

bool DefaultMatchesType(const ScalarValue& v, DataType t) {
  switch (t) {
    case DataType::kBool: return std::holds_alternative<bool>(v);
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64: return std::holds_alternative<int64_t>(v);
    case DataType::kFloat:
    case DataType::kDouble: return std::holds_alternative<double>(v);
    case DataType::kVarChar:
    case DataType::kGeometry: return std::holds_alternative<std::string>(v);
    case DataType::kTimestamptz: return std::holds_alternative<int64_t>(v);  // UTC microseconds
    default: return false;
  }
}

Status ValidateDefault(const FieldSchema& f) {
  if (!f.default_value) return Status::OK();
  if (f.is_primary) return InvalidArgument("primary field not support default_value, field name = {}", f.name);
  if (f.type == DataType::kJson || f.type == DataType::kArray || IsVectorType(f.type)) {
    return InvalidArgument("{} field not support default_value, field name = {}", DataTypeName(f.type), f.name);
  }
  if (!DefaultMatchesType(*f.default_value, f.type)) {
    return InvalidArgument("type of default value does not match the data type {} of field {}",
                           DataTypeName(f.type), f.name);
  }
  const auto* iv = std::get_if<int64_t>(&*f.default_value);
  if (iv && f.type != DataType::kTimestamptz) {
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (f.type == DataType::kInt8) lo = INT8_MIN, hi = INT8_MAX;
    if (f.type == DataType::kInt16) lo = INT16_MIN, hi = INT16_MAX;
    if (f.type == DataType::kInt32) lo = INT32_MIN, hi = INT32_MAX;
    if (*iv < lo || *iv > hi) {
      return InvalidArgument("default value {} out of range of {} for field {}", *iv, DataTypeName(f.type), f.name);
    }
  }
  const auto* dv = std::get_if<double>(&*f.default_value);
  if (dv && !std::isfinite(*dv)) {
    return InvalidArgument("default value of field {} must be a finite number", f.name);
  }
  const auto* sv = std::get_if<std::string>(&*f.default_value);
  std::string why;
  if (sv && f.type == DataType::kGeometry && !geo::IsValidWkt(*sv, &why)) {
    return InvalidArgument("invalid default value of field {}: invalid Geometry data, transform to wkb failed: {}",
                           f.name, why);
  }
  if (sv && f.max_length() > 0 && static_cast<int64_t>(sv->size()) > f.max_length()) {
    return InvalidArgument("the length ({}) of string exceeds max length ({}) of default value of field {}",
                           sv->size(), f.max_length(), f.name);
  }
  return Status::OK();
}

Status ValidateField(const CollectionSchema& s, const FieldSchema& f, const Limits& limits) {
  KITE_RETURN_IF_ERROR(ValidateFieldName(f.name, limits));
  switch (f.type) {
    case DataType::kNone: return InvalidArgument("data type None is not valid, field name = {}", f.name);
    case DataType::kString:
      return InvalidArgument("string data type not supported yet, please use VarChar type instead");
    case DataType::kArrayOfVector:
      return InvalidArgument("array of vector can only be in the struct array field, field name: {}", f.name);
    case DataType::kText:
    case DataType::kArrayOfStruct:
    case DataType::kStruct:
      return InvalidArgument("data type {} of field {} is not supported by Kite yet", DataTypeName(f.type), f.name);
    default: break;
  }
  if (static_cast<int32_t>(DataTypeFromName(DataTypeName(f.type))) != static_cast<int32_t>(f.type)) {
    return InvalidArgument("unknown data type {} of field {}", static_cast<int32_t>(f.type), f.name);
  }
  if (f.is_dynamic) return InvalidArgument("cannot explicitly set a field as a dynamic field");
  if (IsVectorType(f.type)) KITE_RETURN_IF_ERROR(ValidateDimension(f, limits));
  if (f.type == DataType::kVarChar) KITE_RETURN_IF_ERROR(ValidateMaxLength(s, f, limits));
  if (f.type == DataType::kArray) KITE_RETURN_IF_ERROR(ValidateArray(s, f, limits));
  if (f.nullable && f.is_primary) return InvalidArgument("primary field not support null, field name = {}", f.name);
  // Nullable vector fields (Milvus 2.6): a row without a vector is stored,
  // never searched and read back as null.
  if (f.auto_id && !f.is_primary) {
    return InvalidArgument("only primary field can speficy AutoID with true, field name = {}", f.name);
  }
  if (f.is_partition_key) {
    if (f.is_primary) return InvalidArgument("the partition key field must not be primary field");
    if (f.type != DataType::kInt64 && f.type != DataType::kVarChar) {
      return InvalidArgument("the data type of partition key should be Int64 or VarChar, field name = {}", f.name);
    }
    if (f.nullable) return InvalidArgument("partition key field not support nullable, field name = {}", f.name);
  }
  return ValidateDefault(f);
}

}  // namespace

Status ValidateCollectionName(std::string_view name, std::string_view what, const Limits& limits) {
  // Milvus answers these through merr.WrapErrParameterInvalidMsg, whose text
  // ends in ": invalid parameter"; a name of blanks only is "empty" (its
  // proxy trimmed the name before this check).
  if (name.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return InvalidArgument("collection {} should not be empty: invalid parameter", what);
  }
  std::string invalid = fmt::format("Invalid collection {}: {}. ", what, name);
  if (static_cast<int>(name.size()) > limits.max_name_length) {
    return Invalid(Reason::kInvalidName,
                   fmt::format("{}the length of a collection {} must be less than {} characters: invalid parameter",
                               invalid, what, limits.max_name_length));
  }
  if (name[0] != '_' && !IsAlpha(name[0])) {
    return Invalid(Reason::kInvalidName,
                   fmt::format("{}the first character of a collection {} must be an underscore or letter: invalid parameter",
                               invalid, what));
  }
  for (char c : name.substr(1)) {
    if (c != '_' && !IsAlpha(c) && !IsDigit(c)) {
      return Invalid(Reason::kInvalidName,
                     fmt::format("{}collection {} can only contain numbers, letters and underscores: invalid parameter",
                                 invalid, what));
    }
  }
  return Status::OK();
}

Status ValidateFieldName(std::string_view name, const Limits& limits) {
  if (name.empty()) return Invalid(Reason::kInvalidFieldName, "field name should not be empty");
  std::string invalid = fmt::format("Invalid field name: {}. ", name);
  if (static_cast<int>(name.size()) > limits.max_name_length) {
    return Invalid(Reason::kInvalidFieldName, fmt::format("{}The length of a field name must be less than {} characters.",
                                                     invalid, limits.max_name_length));
  }
  if (name[0] != '_' && !IsAlpha(name[0])) {
    return Invalid(Reason::kInvalidFieldName,
                   invalid + "The first character of a field name must be an underscore or letter.");
  }
  for (char c : name.substr(1)) {
    if (c != '_' && !IsAlpha(c) && !IsDigit(c)) {
      return Invalid(Reason::kInvalidFieldName, invalid + "Field name can only contain numbers, letters, and underscores.");
    }
  }
  return Status::OK();
}

Status ValidatePartitionName(std::string_view name, const Limits& limits) {
  // Milvus's validatePartitionTag: the name is trimmed first, and each text
  // goes through merr.WrapErrParameterInvalidMsg (": invalid parameter").
  const size_t first = name.find_first_not_of(" \t\r\n");
  name = first == std::string_view::npos ? std::string_view() : name.substr(first, name.find_last_not_of(" \t\r\n") - first + 1);
  std::string invalid = fmt::format("Invalid partition name: {}. ", name);
  if (name.empty()) return InvalidArgument("{}Partition name should not be empty.: invalid parameter", invalid);
  if (static_cast<int>(name.size()) > limits.max_name_length) {
    return InvalidArgument("{}The length of a partition name must be less than {} characters.: invalid parameter",
                           invalid, limits.max_name_length);
  }
  if (name[0] != '_' && !IsAlpha(name[0]) && !IsDigit(name[0])) {
    return InvalidArgument("{}The first character of a partition name must be an underscore or letter.: invalid parameter",
                           invalid);
  }
  for (char c : name.substr(1)) {
    if (c != '_' && c != '-' && !IsAlpha(c) && !IsDigit(c)) {
      return InvalidArgument("{}Partition name can only contain numbers, letters and underscores.: invalid parameter",
                             invalid);
    }
  }
  return Status::OK();
}

Status ValidateDatabaseName(std::string_view name, const Limits& limits) {
  auto bad = [&](std::string_view why) {
    // merr.WrapErrDatabaseNameInvalid(name, why): the reason first, then the error.
    return Invalid(Reason::kInvalidDatabaseName, fmt::format("{}: invalid database name[database={}]", why, name));
  };
  if (name.empty()) return bad("database name couldn't be empty");
  if (static_cast<int>(name.size()) > limits.max_name_length) {
    return bad(fmt::format("the length of a database name must be less than {} characters", limits.max_name_length));
  }
  if (name[0] != '_' && !IsAlpha(name[0])) {
    return bad("the first character of a database name must be an underscore or letter");
  }
  for (char c : name.substr(1)) {
    if (c != '_' && !IsAlpha(c) && !IsDigit(c)) return bad("database name can only contain numbers, letters and underscores");
  }
  return Status::OK();
}

namespace {

bool TypeParamTrue(const FieldSchema& f, const char* key) {
  auto it = f.type_params.find(key);
  if (it == f.type_params.end()) return false;
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "true";
}

// Milvus's validateFunction (internal/proxy/util.go): names, inputs and outputs.
Status ValidateFunctions(const CollectionSchema& s) {
  std::set<std::string> used_outputs;
  std::set<std::string> used_names;
  for (const auto& fn : s.functions) {
    if (fn.name.empty()) return InvalidArgument("function name cannot be empty");
    if (fn.input_field_names.empty()) {
      return InvalidArgument("function input field names cannot be empty, function: {}", fn.name);
    }
    if (fn.output_field_names.empty()) {
      return InvalidArgument("function output field names cannot be empty, function: {}", fn.name);
    }
    auto count = [](const std::vector<std::string>& v, const std::string& x) {
      return std::count(v.begin(), v.end(), x);
    };
    for (const auto& in : fn.input_field_names) {
      if (in.empty()) return InvalidArgument("function input field name cannot be empty string, function: {}", fn.name);
      if (count(fn.input_field_names, in) > 1) {
        return InvalidArgument(
            "each function input field should be used exactly once in the same function, function: {}, input field: {}",
            fn.name, in);
      }
    }
    for (const auto& out : fn.output_field_names) {
      if (out.empty()) {
        return InvalidArgument("function output field name cannot be empty string, function: {}", fn.name);
      }
      if (count(fn.input_field_names, out) > 0) {
        return InvalidArgument(
            "a single field cannot be both input and output in the same function, function: {}, field: {}", fn.name,
            out);
      }
      if (count(fn.output_field_names, out) > 1) {
        return InvalidArgument(
            "each function output field should be used exactly once in the same function, function: {}, output "
            "field: {}",
            fn.name, out);
      }
    }
    if (fn.type != kFunctionTypeBM25) return InvalidArgument("check function params with unknown function type");
    if (!fn.params.empty()) return InvalidArgument("BM25 function accepts no params");
    if (!used_names.insert(fn.name).second) return InvalidArgument("duplicate function name: {}", fn.name);
    std::vector<const FieldSchema*> inputs;
    for (const auto& name : fn.input_field_names) {
      const FieldSchema* f = s.FindField(name);
      if (!f) return InvalidArgument("function input field not found: {}", name);
      if (f->nullable) {
        return InvalidArgument("function input field cannot be nullable: function {}, field {}", fn.name, f->name);
      }
      inputs.push_back(f);
    }
    if (inputs.size() != 1 || inputs[0]->type != DataType::kVarChar) {
      return InvalidArgument("BM25 function input field must be a VARCHAR field, got {} field with type {}",
                             inputs.size(), DataTypeName(inputs[0]->type));
    }
    if (!TypeParamTrue(*inputs[0], "enable_analyzer")) {
      return InvalidArgument("BM25 function input field must set enable_analyzer to true");
    }
    std::vector<const FieldSchema*> outputs;
    for (const auto& name : fn.output_field_names) {
      const FieldSchema* f = s.FindField(name);
      if (!f) return InvalidArgument("function output field not found: {}", name);
      if (f->is_primary) {
        return InvalidArgument("function output field cannot be primary key: function {}, field {}", fn.name, f->name);
      }
      if (f->is_partition_key || f->is_clustering_key) {
        return InvalidArgument(
            "function output field cannot be partition key or clustering key: function {}, field {}", fn.name,
            f->name);
      }
      if (f->nullable) {
        return InvalidArgument("function output field cannot be nullable: function {}, field {}", fn.name, f->name);
      }
      if (!used_outputs.insert(name).second) {
        return InvalidArgument("duplicate function output field: function {}, field {}", fn.name, name);
      }
      outputs.push_back(f);
    }
    if (outputs.size() != 1) {
      return InvalidArgument("BM25 function only need 1 output field, but got {}", outputs.size());
    }
    if (outputs[0]->type != DataType::kSparseFloatVector) {
      return InvalidArgument("BM25 function output field must be a SparseFloatVector field, but got {}",
                             DataTypeName(outputs[0]->type));
    }
  }
  return Status::OK();
}

}  // namespace

bool FieldSchema::enable_analyzer() const { return TypeParamTrue(*this, "enable_analyzer"); }
bool FieldSchema::enable_match() const { return TypeParamTrue(*this, "enable_match"); }

const FunctionSchema* CollectionSchema::Bm25FunctionFor(std::string_view output_field) const {
  for (const auto& fn : functions) {
    if (fn.type == kFunctionTypeBM25 && fn.output_field_names.size() == 1 && fn.output_field_names[0] == output_field) {
      return &fn;
    }
  }
  return nullptr;
}

namespace {

// Milvus 2.6's checks of an Array of Structs field (proxy
// ValidateStructArrayField / ValidateFieldsInStruct, validatePrimaryKey,
// ValidateFieldAutoID), on the sub-fields' short names as the user gave them.
Status ValidateStruct(const CollectionSchema& s, const StructFieldSchema& st, const Limits& limits) {
  KITE_RETURN_IF_ERROR(ValidateFieldName(st.name, limits));
  std::vector<const FieldSchema*> subs = s.SubFields(st.name);
  if (subs.empty()) return InvalidArgument("struct array field {} has no sub-fields", st.name);
  int64_t expected_capacity = -1;
  for (const FieldSchema* sub : subs) {
    FieldSchema f = *sub;  // checked under its short name, as Milvus does before renaming
    f.name = std::string(ShortFieldName(*sub));
    KITE_RETURN_IF_ERROR(ValidateFieldName(f.name, limits));
    if (f.is_primary) return InvalidArgument("primary key is not supported for struct field, field name = {}", f.name);
    if (f.auto_id) return InvalidArgument("autoID is not supported for struct field, field name = {}", f.name);
    if (f.type != DataType::kArray && f.type != DataType::kArrayOfVector) {
      return InvalidArgument("fields in StructArrayField can only be array or array of struct, but field {} is {}",
                             f.name, DataTypeName(f.type));
    }
    if (f.element_type == DataType::kArrayOfVector) {
      return InvalidArgument("nested ArrayOfVector is not supported for field {}", f.name);
    }
    if (f.element_type == DataType::kArrayOfStruct) {
      return InvalidArgument("nested ArrayOfStruct is not supported for field {}", f.name);
    }
    if (f.type == DataType::kArray) {
      KITE_RETURN_IF_ERROR(ValidateArray(s, f, limits));
    } else {
      // Milvus 2.6 takes float vectors only in a struct, whatever the type.
      if (f.element_type != DataType::kFloatVector) {
        return InvalidArgument("now only float vector is supported, field {} has element type {}", f.name,
                               DataTypeName(f.element_type));
      }
      FieldSchema as_vector = f;
      as_vector.type = f.element_type;
      KITE_RETURN_IF_ERROR(ValidateDimension(as_vector, limits));
      FieldSchema as_array = f;
      as_array.element_type = DataType::kInt64;  // only the capacity is checked here
      KITE_RETURN_IF_ERROR(ValidateArray(s, as_array, limits));
    }
    int64_t cap = f.max_capacity();
    if (expected_capacity < 0) {
      expected_capacity = cap;
    } else if (cap != expected_capacity) {
      return InvalidArgument(
          "all sub-fields in struct array field must have the same max_capacity: structName={}, subFieldName={}, "
          "max_capacity={}, expected={}",
          st.name, f.name, cap, expected_capacity);
    }
    if (f.nullable) {
      return InvalidArgument(
          "sub-field in non-nullable struct cannot be nullable individually, set nullable on the struct instead: "
          "structName={}, subFieldName={}",
          st.name, f.name);
    }
    if (f.is_partition_key) {
      return InvalidArgument("partition key is not supported for struct field, field name = {}", f.name);
    }
    if (f.is_clustering_key) {
      return InvalidArgument("clustering key is not supported for struct field, field name = {}", f.name);
    }
    if (f.default_value) {
      return InvalidArgument("default value is not supported for struct field, field name = {}", f.name);
    }
    if (f.is_dynamic) return InvalidArgument("cannot explicitly set a field as a dynamic field");
  }
  return Status::OK();
}

}  // namespace

Status ValidateSchema(const CollectionSchema& s, const Limits& limits) {
  KITE_RETURN_IF_ERROR(ValidateCollectionName(s.name, "name", limits));
  if (static_cast<int>(s.fields.size()) > limits.max_field_num) {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kNone,
                      "maximum field's number should be limited to {}", limits.max_field_num);
  }
  std::set<std::string> names;
  for (const auto& f : s.fields) {
    if (!f.struct_name.empty()) continue;
    if (!names.insert(f.name).second) return InvalidArgument("duplicated field name {} found", f.name);
  }
  for (const auto& st : s.structs) {
    if (!names.insert(st.name).second) return InvalidArgument("duplicated field name {} found", st.name);
    // Sub-fields are checked under their full names, struct[sub], as Milvus
    // checks them after transformStructFieldNames: a sub-field may share its
    // short name with a top-level field or a sub-field of another struct.
    for (const FieldSchema* sub : s.SubFields(st.name)) {
      if (!names.insert(sub->name).second) return InvalidArgument("duplicated field name {} found", sub->name);
    }
  }
  const FieldSchema* pk = nullptr;
  int auto_ids = 0;
  int partition_keys = 0;
  int clustering_keys = 0;
  int vectors = 0;
  for (const auto& st : s.structs) KITE_RETURN_IF_ERROR(ValidateStruct(s, st, limits));
  for (const auto& f : s.fields) {
    if (!f.struct_name.empty()) {
      vectors += f.type == DataType::kArrayOfVector ? 1 : 0;
      continue;
    }
    KITE_RETURN_IF_ERROR(ValidateField(s, f, limits));
    if (f.is_primary) {
      if (pk) {
        return InvalidArgument("there are more than one primary key, field name = {}, {}", pk->name, f.name);
      }
      if (f.type != DataType::kInt64 && f.type != DataType::kVarChar) {
        return InvalidArgument("the data type of primary key should be Int64 or VarChar");
      }
      pk = &f;
    }
    auto_ids += f.auto_id ? 1 : 0;
    partition_keys += f.is_partition_key ? 1 : 0;
    clustering_keys += f.is_clustering_key ? 1 : 0;
    vectors += IsVectorType(f.type) ? 1 : 0;
  }
  if (!pk) {
    return Status(StatusCode::kInvalidArgument, Reason::kMissingParameter, "primary key is not specified");
  }
  if (auto_ids > 1) return InvalidArgument("only one field can speficy AutoID with true");
  if (partition_keys > 1) return InvalidArgument("there are more than one partition key");
  if (clustering_keys > 1) return InvalidArgument("there are more than one clustering key");
  if (vectors == 0) return InvalidArgument("schema does not contain vector field");
  if (vectors > limits.max_vector_field_num) {
    return InvalidArgument("maximum vector field's number should be limited to {}", limits.max_vector_field_num);
  }
  return ValidateFunctions(s);
}

Status ValidateAddedField(const CollectionSchema& s, const FieldSchema& f, const Limits& limits) {
  // Milvus 2.6 addCollectionFieldTask.PreExecute, in its order. Its texts go
  // through merr.WrapErrParameterInvalidMsg (": invalid parameter"); the
  // duplicate-name and clustering-key texts are the 2.6 ones (typo included),
  // which Milvus's suites assert.
  // The dynamic field ($meta) does not count, as in Milvus (a quick-setup
  // collection takes 62 added fields).
  const auto user_fields = std::count_if(s.fields.begin(), s.fields.end(), [](const FieldSchema& g) { return !g.is_dynamic; });
  if (static_cast<int>(user_fields) >= limits.max_field_num) {
    return InvalidArgument("The number of fields has reached the maximum value {}: invalid parameter",
                           limits.max_field_num);
  }
  if (s.FindField(f.name) || s.FindStruct(f.name)) {
    return InvalidArgument("duplicate field name: {}: invalid parameter", f.name);
  }
  if (f.type == DataType::kNone) return InvalidArgument("field data type: None is not supported");
  if (f.name == kDynamicFieldName || f.name == "RowID" || f.name == "Timestamp") {
    return InvalidArgument("not support to add system field, field name = {}: invalid parameter", f.name);
  }
  if (f.is_primary) return InvalidArgument("not support to add pk field, field name = {}: invalid parameter", f.name);
  if (f.auto_id) {
    return InvalidArgument("only primary field can speficy AutoID with true, field name = {}: invalid parameter",
                           f.name);
  }
  if (f.is_partition_key) {
    return InvalidArgument("not support to add partition key field, field name  = {}: invalid parameter", f.name);
  }
  if (f.is_clustering_key) {
    for (const auto& g : s.fields) {
      if (g.is_clustering_key) {
        return InvalidArgument("already has another clutering key field, field name: {}: invalid parameter", f.name);
      }
    }
  }
  if (IsVectorType(f.type) && static_cast<int>(s.VectorFields().size()) >= limits.max_vector_field_num) {
    return InvalidArgument("maximum vector field's number should be limited to {}", limits.max_vector_field_num);
  }
  if (!f.nullable) {
    return InvalidArgument("added field must be nullable, please check it, field name = {}: invalid parameter", f.name);
  }
  KITE_RETURN_IF_ERROR(ValidateFieldName(f.name, limits));
  return ValidateField(s, f, limits);
}

}  // namespace kite
