#include "schema/schema_codec.h"

#include <nlohmann/json.hpp>

namespace kite {

using nlohmann::json;

namespace {

json EncodeDefault(const ScalarValue& v) {
  return std::visit([](const auto& x) -> json { return json(x); }, v);
}

ScalarValue DecodeDefault(const json& j) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_number()) return j.get<double>();
  return j.get<std::string>();
}

}  // namespace

std::string EncodeSchema(const CollectionSchema& s) {
  json fields = json::array();
  for (const auto& f : s.fields) {
    json jf = {{"id", f.id.value},
               {"name", f.name},
               {"description", f.description},
               {"type", static_cast<int32_t>(f.type)},
               {"element_type", static_cast<int32_t>(f.element_type)},
               {"is_primary", f.is_primary},
               {"auto_id", f.auto_id},
               {"nullable", f.nullable},
               {"is_dynamic", f.is_dynamic},
               {"is_partition_key", f.is_partition_key},
               {"is_clustering_key", f.is_clustering_key},
               {"is_function_output", f.is_function_output},
               {"type_params", f.type_params},
               {"index_params", f.index_params}};
    if (f.default_value) jf["default_value"] = EncodeDefault(*f.default_value);
    if (!f.struct_name.empty()) jf["struct_name"] = f.struct_name;
    fields.push_back(std::move(jf));
  }
  json functions = json::array();
  for (const auto& fn : s.functions) {
    functions.push_back({{"name", fn.name},
                         {"id", fn.id},
                         {"description", fn.description},
                         {"type", fn.type},
                         {"input_field_names", fn.input_field_names},
                         {"output_field_names", fn.output_field_names},
                         {"params", fn.params}});
  }
  json structs = json::array();
  for (const auto& st : s.structs) {
    structs.push_back(
        {{"id", st.id.value}, {"name", st.name}, {"description", st.description}, {"type_params", st.type_params}});
  }
  json j = {{"version", 1},
            {"name", s.name},
            {"description", s.description},
            {"auto_id", s.auto_id},
            {"enable_dynamic_field", s.enable_dynamic_field},
            {"fields", fields},
            {"functions", functions},
            {"properties", s.properties}};
  if (!structs.empty()) j["structs"] = std::move(structs);  // absent before Array of Structs fields existed
  return j.dump();
}

Result<CollectionSchema> DecodeSchema(const std::string& text) {
  try {
    json j = json::parse(text);
    if (j.at("version").get<int>() != 1) {
      return Corruption("schema document version {} is not supported", j.at("version").get<int>());
    }
    CollectionSchema s;
    s.name = j.at("name").get<std::string>();
    s.description = j.at("description").get<std::string>();
    s.auto_id = j.at("auto_id").get<bool>();
    s.enable_dynamic_field = j.at("enable_dynamic_field").get<bool>();
    s.properties = j.at("properties").get<std::map<std::string, std::string>>();
    for (const auto& jf : j.at("fields")) {
      FieldSchema f;
      f.id = FieldId(jf.at("id").get<int64_t>());
      f.name = jf.at("name").get<std::string>();
      f.description = jf.at("description").get<std::string>();
      f.type = static_cast<DataType>(jf.at("type").get<int32_t>());
      f.element_type = static_cast<DataType>(jf.at("element_type").get<int32_t>());
      f.is_primary = jf.at("is_primary").get<bool>();
      f.auto_id = jf.at("auto_id").get<bool>();
      f.nullable = jf.at("nullable").get<bool>();
      f.is_dynamic = jf.at("is_dynamic").get<bool>();
      f.is_partition_key = jf.at("is_partition_key").get<bool>();
      f.is_clustering_key = jf.at("is_clustering_key").get<bool>();
      f.is_function_output = jf.at("is_function_output").get<bool>();
      f.type_params = jf.at("type_params").get<std::map<std::string, std::string>>();
      f.index_params = jf.at("index_params").get<std::map<std::string, std::string>>();
      if (jf.contains("default_value")) f.default_value = DecodeDefault(jf.at("default_value"));
      if (jf.contains("struct_name")) f.struct_name = jf.at("struct_name").get<std::string>();
      s.fields.push_back(std::move(f));
    }
    for (const auto& jfn : j.at("functions")) {
      FunctionSchema fn;
      fn.name = jfn.at("name").get<std::string>();
      fn.id = jfn.at("id").get<int64_t>();
      fn.description = jfn.at("description").get<std::string>();
      fn.type = jfn.at("type").get<int32_t>();
      fn.input_field_names = jfn.at("input_field_names").get<std::vector<std::string>>();
      fn.output_field_names = jfn.at("output_field_names").get<std::vector<std::string>>();
      fn.params = jfn.at("params").get<std::map<std::string, std::string>>();
      s.functions.push_back(std::move(fn));
    }
    if (j.contains("structs")) {
      for (const auto& jst : j.at("structs")) {
        StructFieldSchema st;
        st.id = FieldId(jst.at("id").get<int64_t>());
        st.name = jst.at("name").get<std::string>();
        st.description = jst.at("description").get<std::string>();
        st.type_params = jst.at("type_params").get<std::map<std::string, std::string>>();
        s.structs.push_back(std::move(st));
      }
    }
    return s;
  } catch (const json::exception& e) {
    return Corruption("cannot decode schema document: {}", e.what());
  }
}

}  // namespace kite
