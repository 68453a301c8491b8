// Milvus's check of the schema a write was encoded with (insertTask /
// upsertTask PreExecute): a request whose schema_timestamp is set and differs
// from the collection's update timestamp is refused with
// ErrCollectionSchemaMismatch (code 109, legacy error_code SchemaMismatch),
// on which pymilvus refreshes its cached schema and sends the write again.
// Without it a client that cached the schema before add_collection_field
// would put the new field's values into the dynamic field.
#pragma once

#include <cstdint>
#include <string>

#include "common.pb.h"
#include "roles/proxy/proxy.h"

namespace kite::rpc {

// True (and `out` filled) when the write must be refused as stale.
bool RefuseStaleSchema(Proxy* proxy, const std::string& db, const std::string& collection, uint64_t schema_ts,
                       ::milvus::proto::common::Status* out);

}  // namespace kite::rpc
