// Readers of bulk-import files in Kite's object store, each yielding a
// collection's rows as Kite columns in batches (import_jobs.h).
//
//  * JSON: one file, `{"rows": [{...}, ...]}` (pymilvus LocalBulkWriter) or a
//    top-level array of row objects; values as in the REST insert
//    (rest/rest_rows.h); a row's "$meta" object holds its dynamic keys.
//  * NumPy: one `<field>.npy` per field (and optionally `$meta.npy` of JSON
//    texts), format version 1-3, C order, little-endian numbers, vectors as
//    2-D arrays, strings as fixed-width unicode ('<U') or bytes ('|S').
//  * CSV: one file, a header row of field names; vectors, arrays and JSON as
//    JSON texts; options `sep` (default ",") and `nullkey` (default "").
//  * Parquet: one file, one column per field (parquet_reader.h).
//
// Every error is the file's fault and names the file, row and field.
// Not thread-safe; a reader borrows the store and the schema.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"
#include "storage/object/object_store.h"

namespace kite::import {

enum class FileType { kJson, kNumpy, kCsv, kParquet };

// Milvus's importutilv2.GetFileType: one type per import file (JSON, CSV
// and Parquet alone), with its "...: importing data failed" messages.
Result<FileType> FileTypeOf(const std::vector<std::string>& paths);

class FileReader {
 public:
  virtual ~FileReader() = default;
  // The next batch (at most the batch size); false when there is none left.
  virtual Result<bool> Next(ColumnBatch* out) = 0;
  // Bytes of the file(s).
  virtual int64_t size_bytes() const = 0;
};

// Opens an import file (FileTypeOf(paths) must have succeeded) for `schema`.
Result<std::unique_ptr<FileReader>> OpenFileReader(ObjectStore* objects, const std::vector<std::string>& paths,
                                                   const CollectionSchema& schema,
                                                   const std::map<std::string, std::string>& options,
                                                   int64_t batch_rows);

}  // namespace kite::import
