// A collection schema with a field of (almost) every type, shared by the
// fuzzers that decode rows against a schema (rest_rows_fuzzer,
// field_data_fuzzer). Header-only; fuzzing support code.
#pragma once

#include "schema/collection_schema.h"

namespace kite::fuzz {

inline FieldSchema Field(int64_t id, const char* name, DataType type, bool nullable = false,
                         DataType elem = DataType::kNone) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = name;
  f.type = type;
  f.nullable = nullable;
  f.element_type = elem;
  return f;
}

inline CollectionSchema AllTypesSchema() {
  CollectionSchema s;
  s.name = "fuzz";
  s.enable_dynamic_field = true;
  s.fields = {
      Field(100, "id", DataType::kInt64),
      Field(101, "b", DataType::kBool, true),
      Field(102, "i8", DataType::kInt8),
      Field(103, "i16", DataType::kInt16),
      Field(104, "i32", DataType::kInt32, true),
      Field(105, "f", DataType::kFloat),
      Field(106, "d", DataType::kDouble),
      Field(107, "s", DataType::kVarChar, true),
      Field(108, "arr", DataType::kArray, true, DataType::kVarChar),
      Field(109, "nums", DataType::kArray, false, DataType::kInt64),
      Field(110, "j", DataType::kJson, true),
      Field(111, "fv", DataType::kFloatVector),
      Field(112, "bv", DataType::kBinaryVector),
      Field(113, "hv", DataType::kFloat16Vector),
      Field(114, "sv", DataType::kSparseFloatVector),
      Field(115, "$meta", DataType::kJson),
  };
  s.fields[0].is_primary = true;
  s.fields[7].type_params["max_length"] = "16";
  s.fields[8].type_params["max_capacity"] = "4";
  s.fields[8].type_params["max_length"] = "8";
  s.fields[9].type_params["max_capacity"] = "8";
  s.fields[11].type_params["dim"] = "4";
  s.fields[12].type_params["dim"] = "16";
  s.fields[13].type_params["dim"] = "2";
  s.fields[15].is_dynamic = true;
  return s;
}

}  // namespace kite::fuzz
