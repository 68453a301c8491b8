// Conversion between Milvus wire schemas and Kite's CollectionSchema.
#pragma once

#include <map>
#include <string>

#include "common.pb.h"
#include "common/status.h"
#include "schema.pb.h"
#include "schema/collection_schema.h"

namespace kite::rpc {

// Reads a wire schema; fails only on things Kite's schema cannot represent
// (validation proper is ValidateSchema's job).
Result<CollectionSchema> SchemaFromProto(const ::milvus::proto::schema::CollectionSchema& in);
// Writes a schema as Milvus's DescribeCollection does: the hidden dynamic field
// is omitted.
void SchemaToProto(const CollectionSchema& in, ::milvus::proto::schema::CollectionSchema* out);

// The collection's `timezone` property (TIMESTAMPTZ text without an offset is
// read, and values are shown, in it), "UTC" when unset.
std::string CollectionTimezone(const CollectionSchema& s);

// Rewrites the TIMESTAMPTZ defaults SchemaToProto wrote as text in `timezone`
// (Milvus shows them in the collection's zone, which may be inherited).
void ShowTimestamptzDefaults(const CollectionSchema& in, std::string_view timezone,
                             ::milvus::proto::schema::CollectionSchema* out);

using KvList = ::google::protobuf::RepeatedPtrField<::milvus::proto::common::KeyValuePair>;
std::map<std::string, std::string> KvToMap(const KvList& kvs);
void MapToKv(const std::map<std::string, std::string>& m, KvList* out);

}  // namespace kite::rpc
