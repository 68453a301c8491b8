// Metadata records owned by the coordinator: databases, collections (with
// their partitions and load state), aliases and index definitions. Plain
// values, copied out to callers. Persisted as JSON under the keys listed in
// docs/formats/meta_keys.md (catalog_codec.cc).
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "schema/collection_schema.h"

namespace kite {

inline constexpr char kDefaultDatabaseName[] = "default";
inline constexpr DatabaseId kDefaultDatabaseId{1};
inline constexpr char kDefaultPartitionName[] = "_default";

// Milvus's consistency levels; numeric values match the wire enum.
enum class ConsistencyLevel : int32_t {
  kStrong = 0,
  kSession = 1,
  kBounded = 2,
  kEventually = 3,
  kCustomized = 4,
};

enum class LoadState : int32_t { kNotExist = 0, kNotLoad = 1, kLoading = 2, kLoaded = 3 };

struct DatabaseInfo {
  DatabaseId id;
  std::string name;
  Timestamp created_ts = 0;
  std::map<std::string, std::string> properties;
};

struct PartitionInfo {
  PartitionId id;
  std::string name;
  Timestamp created_ts = 0;
  bool loaded = false;
};

struct CollectionInfo {
  CollectionId id;
  DatabaseId db_id;
  CollectionSchema schema;  // schema.name is the collection name
  int32_t num_shards = 1;
  ConsistencyLevel consistency = ConsistencyLevel::kBounded;
  int64_t num_partitions = 0;  // partition-key collections only
  std::map<std::string, std::string> properties;
  std::vector<PartitionInfo> partitions;
  std::vector<std::string> channels;  // one WAL channel per shard
  Timestamp created_ts = 0;
  Timestamp update_ts = 0;
  bool load_requested = false;  // LoadCollection was called and not released

  const PartitionInfo* FindPartition(std::string_view name) const;
  // Loaded when at least one partition is loaded (Milvus reports a collection
  // with loaded partitions as Loaded).
  LoadState load_state() const;
};

// The collection property that turns on partition-key isolation.
inline constexpr char kPartitionKeyIsolationKey[] = "partitionkey.isolation";

// Whether `props` turn partition-key isolation on. The value is read as Go's
// strconv.ParseBool reads its lower-cased text, as Milvus does
// (common.IsPartitionKeyIsolationKvEnabled); another text is the user's error.
inline Result<bool> PartitionKeyIsolationEnabled(const std::map<std::string, std::string>& props) {
  auto it = props.find(kPartitionKeyIsolationKey);
  if (it == props.end()) return false;
  std::string v = it->second;
  for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (v == "1" || v == "t" || v == "true") return true;
  if (v == "0" || v == "f" || v == "false") return false;
  return InvalidArgument("failed to parse partition key isolation: strconv.ParseBool: parsing \"{}\": invalid syntax",
                         v);
}

// Milvus's validatePartitionKeyIsolation: `props` may turn isolation on only
// for a schema with a partition key (create and alter collection).
inline Status CheckIsolationHasPartitionKey(const std::map<std::string, std::string>& props,
                                            const CollectionSchema& schema) {
  KITE_ASSIGN_OR_RETURN(bool isolated, PartitionKeyIsolationEnabled(props));
  for (const auto& f : schema.fields) {
    if (f.is_partition_key) return Status::OK();
  }
  if (!isolated) return Status::OK();
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kIllegalSchema,
                    "partition key isolation mode is enabled but no partition key field is set. Please set the "
                    "partition key first: illegal collection schema[collection={}]",
                    schema.name);
}

// What DescribeCollection returns: the record plus the names that point at it.
struct CollectionView {
  CollectionInfo info;
  std::string db_name;
  std::vector<std::string> aliases;
};

struct IndexInfo {
  IndexId id;
  CollectionId collection_id;
  FieldId field_id;
  std::string name;
  // Parameters as the user gave them (index_type, metric_type, M, ...).
  std::map<std::string, std::string> user_params;
  // What Kite builds: AUTOINDEX resolved, defaults filled in.
  std::map<std::string, std::string> resolved_params;
  Timestamp created_ts = 0;
};

struct AliasInfo {
  std::string db_name;
  std::string alias;
  std::string collection;
};

}  // namespace kite
