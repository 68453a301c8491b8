// CollectionSchema: Kite's own description of a collection's fields.
// Plain value types, copyable, not thread-safe. Converted from/to the Milvus
// wire schema only in src/rpc; persisted as JSON (schema_codec.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "common/limits.h"
#include "common/status.h"
#include "schema/data_type.h"

namespace kite {

// A scalar default value. Integers of every width are int64, Float and Double
// are double; the field's type says how to present it.
using ScalarValue = std::variant<bool, int64_t, double, std::string>;

struct FieldSchema {
  FieldId id;
  std::string name;
  std::string description;
  DataType type = DataType::kNone;
  DataType element_type = DataType::kNone;  // kArray only
  bool is_primary = false;
  bool auto_id = false;
  bool nullable = false;
  bool is_dynamic = false;  // the hidden "$meta" JSON field
  bool is_partition_key = false;
  bool is_clustering_key = false;
  bool is_function_output = false;
  std::map<std::string, std::string> type_params;   // dim, max_length, max_capacity, ...
  std::map<std::string, std::string> index_params;  // legacy per-field index params
  std::optional<ScalarValue> default_value;
  // Set on a sub-field of an Array of Structs field (Milvus 2.6): the struct
  // field's name. Such a field is stored as its own column, typed Array
  // (scalar elements) or ArrayOfVector (vector elements), one element per
  // struct of the row, and named "struct[sub]" as Milvus stores it
  // (StructSubFieldName); the wire shows it under its short name.
  std::string struct_name;

  // Typed accessors for the well-known type params; 0 when absent or not a number.
  int64_t dim() const { return IntParam("dim"); }
  int64_t max_length() const { return IntParam("max_length"); }
  int64_t max_capacity() const { return IntParam("max_capacity"); }
  int64_t IntParam(const std::string& key) const;
  // VARCHAR text analysis (type params "enable_analyzer" / "enable_match" = "true").
  bool enable_analyzer() const;
  bool enable_match() const;
  // The analyzer_params JSON ("" = the standard analyzer).
  std::string analyzer_params() const {
    auto it = type_params.find("analyzer_params");
    return it == type_params.end() ? std::string() : it->second;
  }
};

inline constexpr int32_t kFunctionTypeBM25 = 1;

struct FunctionSchema {
  std::string name;
  int64_t id = 0;
  std::string description;
  int32_t type = 0;  // Milvus FunctionType: BM25=1, TextEmbedding=2, Rerank=3
  std::vector<std::string> input_field_names;
  std::vector<std::string> output_field_names;
  std::map<std::string, std::string> params;
};

// An Array of Structs field (Milvus 2.6 StructArrayFieldSchema). Its
// sub-fields are ordinary entries of CollectionSchema::fields whose
// struct_name is this name, in declaration order.
struct StructFieldSchema {
  FieldId id;
  std::string name;
  std::string description;
  std::map<std::string, std::string> type_params;
};

// "struct[sub]": the stored name of a struct sub-field (Milvus's ConcatStructFieldName).
std::string StructSubFieldName(std::string_view struct_name, std::string_view sub);
// The short name of a field: "sub" for a struct sub-field, else its name.
std::string_view ShortFieldName(const FieldSchema& f);

struct CollectionSchema {
  std::string name;
  std::string description;
  bool auto_id = false;  // legacy schema-level flag; the pk field's flag wins
  bool enable_dynamic_field = false;
  std::vector<FieldSchema> fields;
  std::vector<FunctionSchema> functions;
  std::map<std::string, std::string> properties;
  std::vector<StructFieldSchema> structs;  // Array of Structs fields

  const FieldSchema* FindField(std::string_view name) const;
  const FieldSchema* FindField(FieldId id) const;
  const FieldSchema* PrimaryField() const;
  const FieldSchema* DynamicField() const;
  std::vector<const FieldSchema*> VectorFields() const;
  const StructFieldSchema* FindStruct(std::string_view name) const;
  // The sub-fields of struct field `struct_name`, in declaration order.
  std::vector<const FieldSchema*> SubFields(std::string_view struct_name) const;
  // The BM25 function whose output is `output_field`, or nullptr.
  const FunctionSchema* Bm25FunctionFor(std::string_view output_field) const;
};

inline constexpr char kDynamicFieldName[] = "$meta";

// Validates a user-supplied schema (before ids are assigned) with Milvus's
// rules and messages: names, one Int64/VarChar primary key, dims, max_length,
// max_capacity, defaults, nullability, field and vector counts.
Status ValidateSchema(const CollectionSchema& schema, const Limits& limits);
// Checks a field that AddCollectionField adds to `schema` (Milvus 2.6
// addCollectionFieldTask: not primary/partition key/auto id/system name, a new
// name, nullable, within the field and vector-field limits, then the checks of
// a field at creation).
Status ValidateAddedField(const CollectionSchema& schema, const FieldSchema& field, const Limits& limits);

// Name rules shared by collections, aliases, fields, partitions, databases.
// `what` is e.g. "collection name" or "alias" and appears in the message.
Status ValidateCollectionName(std::string_view name, std::string_view what, const Limits& limits);
Status ValidateFieldName(std::string_view name, const Limits& limits);
Status ValidatePartitionName(std::string_view name, const Limits& limits);
Status ValidateDatabaseName(std::string_view name, const Limits& limits);

}  // namespace kite
