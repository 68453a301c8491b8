// Conversion between Milvus FieldData (the wire's columns) and Kite Columns,
// with the input validation only the wire can do: the payload kind matches the
// field type, vector payloads match the dimension, row counts agree, integer
// widths fit. Errors name the field, and the row where there is one.
#pragma once

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
