// JSON <-> Kite columns for the RESTful API: the JSON counterpart of
// rpc/field_data.h. Rows arrive as JSON objects keyed by field name
// ({"id": 1, "vector": [0.1, ...], "color": "red"}); results leave the same way.
//
// Value shapes, in and out:
//   Bool: true/false          Int8..Int64: integers (range-checked)
//   Float/Double: numbers     VarChar: strings        JSON: any JSON value
//   Array: JSON array of the element type
//   FloatVector: [numbers] of length dim
//   Float16Vector / BFloat16Vector: [numbers] of length dim (converted with
//     round-to-nearest-even); on input also a base64 string of the 2*dim raw bytes
//   BinaryVector: [bytes 0..255] of length dim/8
//   Int8Vector: [integers -128..127] of length dim
//   SparseFloatVector: {"index": value, ...} or {"indices": [...], "values": [...]}
//   Array of Structs: [{"sub": value, ...}, ...], one object per struct, each
//     sub-field's value in its element type's shape (a vector sub-field's as
//     [numbers] of length dim)
//   Dynamic keys (enable_dynamic_field): every key that is not a schema field
//     goes into the hidden $meta object; on output they are flattened back.
// Output Int64 values are JSON numbers, or decimal strings when the client
// sent `Accept-Type-Allow-Int64: false` (Milvus's switch for JavaScript).
//
// Every error here is the caller's (InvalidArgument naming the row and field).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"

namespace kite::rest {

using Json = nlohmann::json;

// Decodes `rows` (a JSON array of objects) into one column per provided field
// of `schema`, plus $meta for dynamic keys. Fields missing from a row are null
// there (the proxy then fills defaults and rejects nulls where they are not
// allowed); an auto-id primary key is skipped on insert. `upsert` keeps the
// primary key even when it is auto-id.
Status RowsToColumns(const Json& rows, const CollectionSchema& schema, bool upsert, ColumnBatch* out);
// The same, for rows numbered from `first_row` in error messages.
Status RowsToColumnsFrom(const Json& rows, const CollectionSchema& schema, bool upsert, int64_t first_row,
                         ColumnBatch* out);

// Bounded-memory decoding of a large insert/upsert body (rest_rows_stream.cc,
// issue 20 #17). ParseBodyEnvelope parses a request body's top-level value
// like Json::parse, except that the value of a top-level "data" key that is an
// array is not built: it becomes an empty array and *data_deferred is set.
// False on malformed JSON, with the parser's message in *error.
bool ParseBodyEnvelope(std::string_view body, Json* out, bool* data_deferred, std::string* error);
// Decodes the top-level "data" array of `body` row by row, with the rules and
// messages of RowsToColumns, holding only a small batch of rows as JSON.
Status StreamRowsToColumns(std::string_view body, const CollectionSchema& schema, bool upsert, ColumnBatch* out);

// Encodes one vector (a search query) for `field` as raw bytes in Kite's row
// layout (column_batch.h): float32s, halves, packed bits, int8s, or sparse
// (uint32 index, float32 value) pairs.
Result<std::string> VectorFromJson(const Json& value, const FieldSchema& field);

// Row `row` of `column` (of `field`) as JSON; null rows are JSON null.
Json CellToJson(const Column& column, const FieldSchema& field, int64_t row, bool int64_as_number);

// Row `row` of an Array of Structs field whose sub-fields `subs` are in
// `cols` (parallel): [{"sub": value, ...}, ...], one object per struct.
Json StructCellToJson(const std::vector<const FieldSchema*>& subs, const std::vector<const Column*>& cols, int64_t row,
                      bool int64_as_number);

// Adds the keys of a $meta cell to `row`: all of them, or only `keys` when not empty.
void FlattenDynamic(std::string_view meta_text, const std::vector<std::string>& keys, Json* row);

// A float as the JSON number its shortest decimal spells (0.1f -> 0.1, not 0.10000000149).
Json FloatToJson(float v);

// IEEE half / bfloat16 conversions (exposed for tests).
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);
uint16_t FloatToBFloat16(float f);
float BFloat16ToFloat(uint16_t b);

}  // namespace kite::rest
