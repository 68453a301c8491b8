// Index parameter checking and AUTOINDEX resolution (Milvus's rules), shared by
// the coordinator (at CreateIndex) and, later, the index builders.
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "schema/collection_schema.h"

namespace kite {

using ParamMap = std::map<std::string, std::string>;

// Checks user index params for `field` and returns the resolved parameters Kite
// will build with: index_type and metric_type always present, AUTOINDEX mapped
// to its concrete type with Milvus's defaults. Unknown index types, metrics
// that do not fit the vector type, and scalar indexes on unsupported types are
// InvalidArgument (Reason::kIndexNotSupported where Milvus says so).
Result<ParamMap> ResolveIndexParams(const FieldSchema& field, const ParamMap& user_params);

// A JSON path index (on a JSON field or the dynamic field's keys): resolved
// params carry `json_path`, `json_cast_type` (upper case) and `json_pointer`
// (the path below the field, RFC 6901, "" for the whole value).
inline bool IsJsonPathIndex(const ParamMap& resolved) { return resolved.count("json_pointer") > 0; }

// Index params a scalar builder is given for a resolved definition: NGRAM on
// VARCHAR is built as INVERTED (its sorted dictionary answers every LIKE
// pattern exactly). A JSON path index is built (index/scalar/json_path_index.h)
// from index_type INVERTED, json_cast_type, json_pointer and the optional
// json_cast_function (STRING_TO_DOUBLE); with cast type JSON it is a JSON flat
// index (index/scalar/json_flat_index.h) over every key below the path.
ParamMap ScalarBuildParams(const ParamMap& resolved);
// A definition that no segment builds (ScalarBuildParams is empty for it).
inline bool IsUnbuiltJsonPathIndex(const ParamMap& resolved) {
  return IsJsonPathIndex(resolved) && ScalarBuildParams(resolved).empty();
}

}  // namespace kite
