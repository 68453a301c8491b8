// Persisted form of a CollectionSchema: a JSON document (described in
// docs/formats/meta_keys.md). Encode never fails; Decode returns Corruption
// for a document it cannot read.
#pragma once

#include <string>

#include "common/status.h"
#include "schema/collection_schema.h"

namespace kite {

std::string EncodeSchema(const CollectionSchema& schema);
Result<CollectionSchema> DecodeSchema(const std::string& json);

}  // namespace kite
