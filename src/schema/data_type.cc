#include "schema/data_type.h"

#include <array>
#include <utility>

namespace kite {
namespace {
constexpr std::array<std::pair<DataType, std::string_view>, 23> kNames = {{
    {DataType::kNone, "None"},
    {DataType::kBool, "Bool"},
    {DataType::kInt8, "Int8"},
    {DataType::kInt16, "Int16"},
    {DataType::kInt32, "Int32"},
    {DataType::kInt64, "Int64"},
    {DataType::kFloat, "Float"},
    {DataType::kDouble, "Double"},
    {DataType::kString, "String"},
    {DataType::kVarChar, "VarChar"},
    {DataType::kArray, "Array"},
    {DataType::kJson, "JSON"},
    {DataType::kGeometry, "Geometry"},
    {DataType::kText, "Text"},
    {DataType::kTimestamptz, "Timestamptz"},
    {DataType::kBinaryVector, "BinaryVector"},
    {DataType::kFloatVector, "FloatVector"},
    {DataType::kFloat16Vector, "Float16Vector"},
    {DataType::kBFloat16Vector, "BFloat16Vector"},
    {DataType::kSparseFloatVector, "SparseFloatVector"},
    {DataType::kInt8Vector, "Int8Vector"},
    {DataType::kArrayOfVector, "ArrayOfVector"},
    {DataType::kArrayOfStruct, "ArrayOfStruct"},
}};
}  // namespace

std::string_view DataTypeName(DataType t) {
  for (const auto& [type, name] : kNames) {
    if (type == t) return name;
  }
  return "Unknown";
}

DataType DataTypeFromName(std::string_view name) {
  for (const auto& [type, n] : kNames) {
    if (n == name) return type;
  }
  return DataType::kNone;
}

}  // namespace kite
