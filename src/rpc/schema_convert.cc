#include "rpc/schema_convert.h"

#include "schema/timestamptz.h"

namespace kite::rpc {

namespace ms = ::milvus::proto::schema;

std::map<std::string, std::string> KvToMap(const KvList& kvs) {
  std::map<std::string, std::string> m;
  for (const auto& kv : kvs) m[kv.key()] = kv.value();
  return m;
}

void MapToKv(const std::map<std::string, std::string>& m, KvList* out) {
  for (const auto& [k, v] : m) {
    auto* kv = out->Add();
    kv->set_key(k);
    kv->set_value(v);
  }
}

std::string CollectionTimezone(const CollectionSchema& s) {
  auto it = s.properties.find(tz::kTimezoneKey);
  return it == s.properties.end() || it->second.empty() ? std::string(tz::kDefaultTimezone) : it->second;
}

namespace {

// Milvus requires the ValueField member that matches the field type exactly:
// int_data for Int8/16/32, long_data for Int64, float_data for Float, ...
bool DefaultKindMatches(ms::ValueField::DataCase k, DataType t) {
  switch (k) {
    case ms::ValueField::kBoolData: return t == DataType::kBool;
    case ms::ValueField::kIntData: return t == DataType::kInt8 || t == DataType::kInt16 || t == DataType::kInt32;
    case ms::ValueField::kLongData: return t == DataType::kInt64;
    case ms::ValueField::kFloatData: return t == DataType::kFloat;
    case ms::ValueField::kDoubleData: return t == DataType::kDouble;
    case ms::ValueField::kStringData:
      return t == DataType::kVarChar || t == DataType::kTimestamptz || t == DataType::kGeometry;
    case ms::ValueField::kTimestamptzData: return t == DataType::kTimestamptz;
    default: return false;
  }
}

// `timezone`: the collection's, for TIMESTAMPTZ defaults given as naive text.
Result<ScalarValue> DefaultFromProto(const ms::ValueField& v, DataType type, const std::string& field,
                                     std::string_view timezone) {
  if (type == DataType::kTimestamptz && !DefaultKindMatches(v.data_case(), type)) {
    // Milvus 2.6 CheckAndRewriteTimestampTzDefaultValue: only text is a TIMESTAMPTZ default.
    const char* given = v.data_case() == ms::ValueField::kBoolData     ? "DataType_Bool"
                        : v.data_case() == ms::ValueField::kIntData    ? "DataType_Int32"
                        : v.data_case() == ms::ValueField::kLongData   ? "DataType_Int64"
                        : v.data_case() == ms::ValueField::kFloatData  ? "DataType_Float"
                        : v.data_case() == ms::ValueField::kDoubleData ? "DataType_Double"
                                                                       : "DataType_None";
    return InvalidArgument("type (Timestamptz) of field ({}) is not equal to the type({}) of default_value: invalid "
                           "parameter",
                           field, given);
  }
  if (!DefaultKindMatches(v.data_case(), type)) {
    return InvalidArgument("default value type mismatches field schema type, field name = {}, field type = {}", field,
                           DataTypeName(type));
  }
  if (type == DataType::kTimestamptz) {
    // Milvus keeps TIMESTAMPTZ defaults as UTC microseconds (CheckAndRewriteTimestampTzDefaultValue).
    if (v.data_case() == ms::ValueField::kTimestamptzData) return ScalarValue(static_cast<int64_t>(v.timestamptz_data()));
    KITE_ASSIGN_OR_RETURN(int64_t micros, tz::ParseTimestamp(v.string_data(), timezone));
    return ScalarValue(micros);
  }
  switch (v.data_case()) {
    case ms::ValueField::kBoolData: return ScalarValue(v.bool_data());
    case ms::ValueField::kIntData: return ScalarValue(static_cast<int64_t>(v.int_data()));
    case ms::ValueField::kLongData: return ScalarValue(static_cast<int64_t>(v.long_data()));
    case ms::ValueField::kFloatData: return ScalarValue(static_cast<double>(v.float_data()));
    case ms::ValueField::kDoubleData: return ScalarValue(v.double_data());
    case ms::ValueField::kStringData: return ScalarValue(v.string_data());
    default: return InvalidArgument("default value of field {} has a type Kite does not support", field);
  }
}

// `timezone`: the collection's; TIMESTAMPTZ defaults are shown as text in it.
void DefaultToProto(const ScalarValue& v, DataType t, std::string_view timezone, ms::ValueField* out) {
  if (t == DataType::kTimestamptz) {
    if (const auto* i = std::get_if<int64_t>(&v)) out->set_string_data(tz::FormatTimestamp(*i, timezone));
    return;
  }
  if (const auto* b = std::get_if<bool>(&v)) out->set_bool_data(*b);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (t == DataType::kInt64) {
      out->set_long_data(*i);
    } else {
      out->set_int_data(static_cast<int32_t>(*i));
    }
  }
  if (const auto* d = std::get_if<double>(&v)) {
    if (t == DataType::kFloat) {
      out->set_float_data(static_cast<float>(*d));
    } else {
      out->set_double_data(*d);
    }
  }
  if (const auto* s = std::get_if<std::string>(&v)) out->set_string_data(*s);
}

}  // namespace

void ShowTimestamptzDefaults(const CollectionSchema& in, std::string_view timezone, ms::CollectionSchema* out) {
  for (auto& pf : *out->mutable_fields()) {
    const FieldSchema* f = in.FindField(pf.name());
    if (!f || f->type != DataType::kTimestamptz || !f->default_value) continue;
    if (const auto* i = std::get_if<int64_t>(&*f->default_value)) {
      pf.mutable_default_value()->set_string_data(tz::FormatTimestamp(*i, timezone));
    }
  }
}

Result<CollectionSchema> SchemaFromProto(const ms::CollectionSchema& in) {
  CollectionSchema s;
  s.name = in.name();
  s.description = in.description();
  s.auto_id = in.autoid();
  s.enable_dynamic_field = in.enable_dynamic_field();
  s.properties = KvToMap(in.properties());
  auto field_from_proto = [&](const ms::FieldSchema& pf) -> Result<FieldSchema> {
    FieldSchema f;
    f.name = pf.name();
    f.description = pf.description();
    f.type = static_cast<DataType>(pf.data_type());
    f.element_type = static_cast<DataType>(pf.element_type());
    f.is_primary = pf.is_primary_key();
    f.auto_id = pf.autoid() || (pf.is_primary_key() && in.autoid());
    f.nullable = pf.nullable();
    f.is_dynamic = pf.is_dynamic();
    f.is_partition_key = pf.is_partition_key();
    f.is_clustering_key = pf.is_clustering_key();
    f.is_function_output = pf.is_function_output();
    f.type_params = KvToMap(pf.type_params());
    f.index_params = KvToMap(pf.index_params());
    if (pf.has_default_value()) {
      KITE_ASSIGN_OR_RETURN(f.default_value, DefaultFromProto(pf.default_value(), f.type, f.name, CollectionTimezone(s)));
    }
    return f;
  };
  for (const auto& pf : in.fields()) {
    KITE_ASSIGN_OR_RETURN(FieldSchema f, field_from_proto(pf));
    s.fields.push_back(std::move(f));
  }
  // Array of Structs fields: each sub-field becomes a field of its own named
  // "struct[sub]" (a name given in that form already is kept).
  for (const auto& pst : in.struct_array_fields()) {
    StructFieldSchema st;
    st.name = pst.name();
    st.description = pst.description();
    st.type_params = KvToMap(pst.type_params());
    for (const auto& pf : pst.fields()) {
      KITE_ASSIGN_OR_RETURN(FieldSchema f, field_from_proto(pf));
      std::string prefix = st.name + "[";
      if (!(f.name.starts_with(prefix) && f.name.ends_with("]"))) f.name = StructSubFieldName(st.name, f.name);
      f.struct_name = st.name;
      s.fields.push_back(std::move(f));
    }
    s.structs.push_back(std::move(st));
  }
  for (const auto& pfn : in.functions()) {
    FunctionSchema fn;
    fn.name = pfn.name();
    fn.id = pfn.id();
    fn.description = pfn.description();
    fn.type = static_cast<int32_t>(pfn.type());
    fn.input_field_names.assign(pfn.input_field_names().begin(), pfn.input_field_names().end());
    fn.output_field_names.assign(pfn.output_field_names().begin(), pfn.output_field_names().end());
    fn.params = KvToMap(pfn.params());
    s.functions.push_back(std::move(fn));
  }
  return s;
}

void SchemaToProto(const CollectionSchema& in, ms::CollectionSchema* out) {
  out->set_name(in.name);
  out->set_description(in.description);
  const FieldSchema* pk = in.PrimaryField();
  out->set_autoid(pk && pk->auto_id);
  out->set_enable_dynamic_field(in.enable_dynamic_field);
  MapToKv(in.properties, out->mutable_properties());
  auto field_to_proto = [&](const FieldSchema& f, ms::FieldSchema* pf) {
    pf->set_fieldid(f.id.value);
    pf->set_name(f.name);
    pf->set_description(f.description);
    pf->set_data_type(static_cast<ms::DataType>(f.type));
    pf->set_element_type(static_cast<ms::DataType>(f.element_type));
    pf->set_is_primary_key(f.is_primary);
    pf->set_autoid(f.auto_id);
    pf->set_nullable(f.nullable);
    pf->set_is_dynamic(f.is_dynamic);
    pf->set_is_partition_key(f.is_partition_key);
    pf->set_is_clustering_key(f.is_clustering_key);
    pf->set_is_function_output(f.is_function_output);
    MapToKv(f.type_params, pf->mutable_type_params());
    MapToKv(f.index_params, pf->mutable_index_params());
    if (f.default_value) DefaultToProto(*f.default_value, f.type, CollectionTimezone(in), pf->mutable_default_value());
  };
  for (const auto& f : in.fields) {
    if (f.is_dynamic || !f.struct_name.empty()) continue;
    field_to_proto(f, out->add_fields());
  }
  // Sub-fields under their short names, as Milvus's describe shows them (restoreStructFieldNames).
  for (const auto& st : in.structs) {
    auto* pst = out->add_struct_array_fields();
    pst->set_fieldid(st.id.value);
    pst->set_name(st.name);
    pst->set_description(st.description);
    MapToKv(st.type_params, pst->mutable_type_params());
    for (const FieldSchema* f : in.SubFields(st.name)) {
      auto* pf = pst->add_fields();
      field_to_proto(*f, pf);
      pf->set_name(std::string(ShortFieldName(*f)));
    }
  }
  for (const auto& fn : in.functions) {
    auto* pfn = out->add_functions();
    pfn->set_name(fn.name);
    pfn->set_id(fn.id);
    pfn->set_description(fn.description);
    pfn->set_type(static_cast<ms::FunctionType>(fn.type));
    for (const auto& n : fn.input_field_names) pfn->add_input_field_names(n);
    for (const auto& n : fn.output_field_names) pfn->add_output_field_names(n);
    MapToKv(fn.params, pfn->mutable_params());
  }
}

}  // namespace kite::rpc
