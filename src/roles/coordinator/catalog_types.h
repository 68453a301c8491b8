// Metadata records owned by the coordinator: databases, collections (with
// their partitions and load state), aliases and index definitions. Plain
// values, copied out to callers. Persisted as JSON under the keys listed in
// docs/formats/meta_keys.md (catalog_codec.cc).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
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
