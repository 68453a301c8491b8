// Coordinator: the one active brain (DESIGN.md §1). Owns DDL (databases,
// collections, partitions, aliases, index definitions), the timestamp oracle,
// id allocation, shard-channel naming and the load/release intent that query
// nodes act on.
//
// CoordinatorApi is the role boundary: standalone calls it in-process; the
// distributed mode will put gRPC behind it. All methods are thread-safe. A
// database argument that is empty means "default". Collection arguments accept
// an alias wherever Milvus does (describe, load, release, stats, index calls).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/limits.h"
#include "common/status.h"
#include "roles/api/segment_meta_api.h"
#include "roles/coordinator/catalog_types.h"
#include "storage/meta/meta_store.h"

namespace kite {

struct CreateCollectionParams {
  std::string db;
  CollectionSchema schema;  // validated by the caller (proxy), ids unassigned
  int32_t num_shards = 1;
  ConsistencyLevel consistency = ConsistencyLevel::kBounded;
  int64_t num_partitions = 0;
  std::map<std::string, std::string> properties;
};

struct CreateIndexParams {
  std::string db;
  std::string collection;
  std::string field_name;
  std::string index_name;  // empty: the field name
  std::map<std::string, std::string> params;
};

struct LoadProgress {
  LoadState state = LoadState::kNotLoad;
  int64_t progress = 0;  // percent
};

// Timestamps and ids: AllocTimestamp / AllocIds of TsoApi
// (roles/api/segment_meta_api.h), which a role that needs only those holds.
class CoordinatorApi : public TsoApi {
 public:

  // Databases.
  virtual Status CreateDatabase(const std::string& name, const std::map<std::string, std::string>& props) = 0;
  virtual Status DropDatabase(const std::string& name) = 0;
  virtual Result<std::vector<DatabaseInfo>> ListDatabases() = 0;
  virtual Result<DatabaseInfo> DescribeDatabase(const std::string& name) = 0;
  virtual Status AlterDatabase(const std::string& name, const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& delete_keys) = 0;

  // Collections.
  virtual Status CreateCollection(const CreateCollectionParams& params) = 0;
  virtual Status DropCollection(const std::string& db, const std::string& name) = 0;
  virtual Result<CollectionView> DescribeCollection(const std::string& db, const std::string& name_or_alias) = 0;
  virtual Result<std::vector<CollectionView>> ListCollections(const std::string& db) = 0;
  virtual Status RenameCollection(const std::string& db, const std::string& old_name, const std::string& new_db,
                                  const std::string& new_name) = 0;
  virtual Status AlterCollection(const std::string& db, const std::string& name,
                                 const std::map<std::string, std::string>& set,
                                 const std::vector<std::string>& delete_keys) = 0;
  // Adds a nullable field (AddCollectionField): the next field id, a new
  // update timestamp. Rows written before read its default value, else null.
  virtual Status AddCollectionField(const std::string& db, const std::string& name, const FieldSchema& field) {
    (void)db, (void)name, (void)field;
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "AddCollectionField is not implemented by this coordinator");
  }

  // AlterCollectionField (Milvus 2.6): field properties `max_length`
  // (VARCHAR, ARRAY of VARCHAR), `max_capacity` (ARRAY), `mmap.enabled`
  // (released collections only), with Milvus's checks and messages.
  virtual Status AlterCollectionField(const std::string& db, const std::string& name, const std::string& field_name,
                                      const std::map<std::string, std::string>& set,
                                      const std::vector<std::string>& delete_keys) {
    (void)db, (void)name, (void)field_name, (void)set, (void)delete_keys;
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone,
                      "AlterCollectionField is not implemented by this coordinator");
  }

  // Partitions.
  virtual Status CreatePartition(const std::string& db, const std::string& collection, const std::string& name) = 0;
  virtual Status DropPartition(const std::string& db, const std::string& collection, const std::string& name) = 0;

  // Aliases.
  virtual Status CreateAlias(const std::string& db, const std::string& collection, const std::string& alias) = 0;
  virtual Status AlterAlias(const std::string& db, const std::string& collection, const std::string& alias) = 0;
  virtual Status DropAlias(const std::string& db, const std::string& alias) = 0;
  virtual Result<AliasInfo> DescribeAlias(const std::string& db, const std::string& alias) = 0;
  virtual Result<std::vector<std::string>> ListAliases(const std::string& db, const std::string& collection) = 0;

  // Index definitions (building arrives with the index issue).
  virtual Status CreateIndex(const CreateIndexParams& params) = 0;
  // Indexes of a collection, filtered by field and/or index name when given.
  virtual Result<std::vector<IndexInfo>> DescribeIndex(const std::string& db, const std::string& collection,
                                                       const std::string& field_name,
                                                       const std::string& index_name) = 0;
  virtual Status DropIndex(const std::string& db, const std::string& collection, const std::string& field_name,
                           const std::string& index_name) = 0;
  virtual Status AlterIndex(const std::string& db, const std::string& collection, const std::string& index_name,
                            const std::map<std::string, std::string>& set,
                            const std::vector<std::string>& delete_keys) = 0;

  // Load / release intent (partitions empty = whole collection).
  virtual Status Load(const std::string& db, const std::string& collection,
                      const std::vector<std::string>& partitions) = 0;
  virtual Status Release(const std::string& db, const std::string& collection,
                         const std::vector<std::string>& partitions) = 0;
  // Collections whose load was requested (reloaded after a restart).
  virtual Result<std::vector<CollectionView>> ListAllCollections() = 0;
  virtual Result<LoadProgress> GetLoadProgress(const std::string& db, const std::string& collection,
                                               const std::vector<std::string>& partitions) = 0;
};

// Opens the coordinator over `meta`, loading every persisted record. `meta`
// must outlive the coordinator.
Result<std::unique_ptr<CoordinatorApi>> OpenCoordinator(MetaStore* meta, const Limits& limits);

}  // namespace kite
