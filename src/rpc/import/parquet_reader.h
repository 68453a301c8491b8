// Parquet import files (import_readers.h), read with Apache Arrow C++ from the
// pinned pyarrow wheel (cmake/Arrow.cmake). The file is read through the
// object store (ObjectReader::ReadAt), one record batch at a time, so memory
// is bounded by a row group's columns and not by the file.
//
// Layout, as pymilvus's LocalBulkWriter(file_type=PARQUET) writes it and
// Milvus 2.6 reads it (internal/util/importutilv2/parquet): one column per
// schema field, named after it; scalars as Arrow booleans / integers /
// floats / strings (a narrower integer widens as Milvus allows), JSON and the
// dynamic field `$meta` as JSON texts, ARRAY as lists of the element type,
// FloatVector as lists of float, BinaryVector / Float16Vector / BFloat16Vector
// as lists of uint8 (or binary), Int8Vector as lists of int8,
// SparseFloatVector as JSON texts, TIMESTAMPTZ / GEOMETRY as strings. Nulls
// where the field is nullable or has a default value.
//
// Errors carry Milvus's texts ("schema not equal, err=field 'x' type
// mis-match, ...", "the field: x is not in schema, ...", "not nullable, but has
// null value", ...) and name the file. Not thread-safe; borrows the store and
// the schema.
#pragma once

#include <memory>
#include <string>

#include "rpc/import/import_readers.h"

namespace kite::import {

Result<std::unique_ptr<FileReader>> OpenParquet(ObjectStore* objects, const std::string& path,
                                                const CollectionSchema& schema, int64_t batch_rows);

}  // namespace kite::import
