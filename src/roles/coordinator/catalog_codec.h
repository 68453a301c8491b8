// JSON encodings of the coordinator's records (docs/formats/meta_keys.md).
#pragma once

#include <string>

#include "common/status.h"
#include "roles/coordinator/catalog_types.h"

namespace kite {

std::string EncodeDatabase(const DatabaseInfo& db);
Result<DatabaseInfo> DecodeDatabase(const std::string& json);
std::string EncodeCollection(const CollectionInfo& c);
Result<CollectionInfo> DecodeCollection(const std::string& json);
std::string EncodeIndex(const IndexInfo& index);
Result<IndexInfo> DecodeIndex(const std::string& json);

}  // namespace kite
