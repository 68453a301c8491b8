// Field data types. Numeric values equal Milvus's schema.DataType so that the
// persisted schema and the wire agree without a table; names are Kite's own.
#pragma once

#include <cstdint>
#include <string_view>

namespace kite {

enum class DataType : int32_t {
  kNone = 0,
  kBool = 1,
  kInt8 = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kFloat = 10,
  kDouble = 11,
  kString = 20,  // reserved by Milvus, not usable in schemas
  kVarChar = 21,
  kArray = 22,
  kJson = 23,
  kGeometry = 24,
  kText = 25,
  kTimestamptz = 26,
  kBinaryVector = 100,
  kFloatVector = 101,
  kFloat16Vector = 102,
  kBFloat16Vector = 103,
  kSparseFloatVector = 104,
  kInt8Vector = 105,
  kArrayOfVector = 106,
  kArrayOfStruct = 200,
  kStruct = 201,
};

constexpr bool IsVectorType(DataType t) {
  return t == DataType::kBinaryVector || t == DataType::kFloatVector ||
         t == DataType::kFloat16Vector || t == DataType::kBFloat16Vector ||
         t == DataType::kSparseFloatVector || t == DataType::kInt8Vector;
}
constexpr bool IsDenseVectorType(DataType t) {
  return IsVectorType(t) && t != DataType::kSparseFloatVector;
}
// Per-row lists of fixed-dimension vectors (struct sub-fields, embedding lists).
constexpr bool IsArrayOfVectorType(DataType t) { return t == DataType::kArrayOfVector; }
constexpr bool IsIntegerType(DataType t) {
  return t == DataType::kInt8 || t == DataType::kInt16 || t == DataType::kInt32 ||
         t == DataType::kInt64;
}
constexpr bool IsFloatingType(DataType t) {
  return t == DataType::kFloat || t == DataType::kDouble;
}
constexpr bool IsStringType(DataType t) {
  return t == DataType::kVarChar || t == DataType::kString || t == DataType::kText;
}

// Milvus's enum name ("Int64", "FloatVector", ...), used in messages and REST.
std::string_view DataTypeName(DataType t);
// Parses the name back; returns kNone for an unknown name.
DataType DataTypeFromName(std::string_view name);

}  // namespace kite
