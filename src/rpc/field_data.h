// Conversion between Milvus FieldData (the wire's columns) and Kite Columns,
// with the input validation only the wire can do: the payload kind matches the
// field type, vector payloads match the dimension, row counts agree, integer
// widths fit. Errors name the field, and the row where there is one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common.pb.h"
#include "common/status.h"
#include "schema.pb.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"

namespace kite::rpc {

// Decodes one wire column for `field`, expecting `num_rows` rows. TIMESTAMPTZ
// text (ISO 8601) without an offset is read in `timezone`; GEOMETRY WKT is
// stored as WKB.
Result<Column> ColumnFromFieldData(const ::milvus::proto::schema::FieldData& in, const FieldSchema& field,
                                   int64_t num_rows, std::string_view timezone);

// Encodes `column` as a wire column for `field`. For the dynamic field,
// `dynamic_keys` (when not empty) limits the JSON objects to those keys.
// TIMESTAMPTZ values are written as ISO 8601 text in `timezone`, GEOMETRY as WKT.
void ColumnToFieldData(const Column& column, const FieldSchema& field, const std::vector<std::string>& dynamic_keys,
                       std::string_view timezone, ::milvus::proto::schema::FieldData* out);

// Decodes an Array of Structs wire column (FieldData.struct_arrays, sub-fields
// named short or "struct[sub]") into one column per sub-field of `st`, in
// SubFields order, appended to `out`. Every sub-field must be given once and
// hold the same number of elements in each row.
Status StructColumnsFromFieldData(const ::milvus::proto::schema::FieldData& in, const CollectionSchema& schema,
                                  const StructFieldSchema& st, int64_t num_rows, std::string_view timezone,
                                  std::vector<Column>* out);
// Encodes columns of sub-fields `subs` of `st` (columns[k] holds subs[k]) as
// one Array of Structs wire column, sub-fields under their short names.
void StructColumnsToFieldData(const StructFieldSchema& st, const std::vector<const FieldSchema*>& subs,
                              const std::vector<const Column*>& columns, std::string_view timezone,
                              ::milvus::proto::schema::FieldData* out);

// Output rows hold one column per field of `fields` (columns[i], absent =
// empty). When fields[i] is the first listed sub-field of its struct, encodes
// every listed sub-field of that struct as one Array of Structs column into
// add() and returns true; for later sub-fields of it returns false.
bool StructOutputAt(const CollectionSchema& schema, const std::vector<FieldId>& fields,
                    const std::vector<Column>& columns, size_t i, std::string_view timezone,
                    const std::function<::milvus::proto::schema::FieldData*()>& add);

// The `time_fields` request param ("year,month day ..."): the parts split at
// ',' and ' ' (empty when the param is absent).
std::vector<std::string> TimeFieldsParam(
    const ::google::protobuf::RepeatedPtrField<::milvus::proto::common::KeyValuePair>& params);
// Milvus's extractFieldsFromResults: each TIMESTAMPTZ column of `out` (written
// by ColumnToFieldData as text in its zone) becomes an Array of Int64 per row,
// the requested parts (year, month, day, hour, minute, second, microsecond) of
// the local time. InvalidArgument for an unknown part.
Status ExtractTimeFields(const std::vector<std::string>& parts, ::milvus::proto::schema::FieldData* out);

// Encodes a primary-key column as Milvus IDs.
void PksToIds(const Column& pks, ::milvus::proto::schema::IDs* out);

}  // namespace kite::rpc
