// Proxy: the stateless front role (DESIGN.md §1). Validates requests against
// Kite's limits and the collection schema, then routes them: DDL to the
// coordinator, DML to the streaming node of each row's shard (rows are routed
// by a hash of their primary key), reads to the streaming node (growing data)
// and query node (sealed data), merging the partial results with the one
// merge function (query/retrieve.h). It speaks Kite's types only; src/rpc
// adapts the Milvus wire format to it.
// Thread-safe; borrows every role, which must outlive it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/limits.h"
#include "query/retrieve.h"
#include "roles/coordinator/coordinator.h"
#include "roles/querynode/query_node.h"
#include "roles/streaming/streaming_node.h"

namespace kite {

struct InsertParams {
  std::string db;
  std::string collection;
  std::string partition;  // empty: _default (or routed by partition key)
  ColumnBatch rows;       // the fields the request carried, by field id ($meta included)
  bool upsert = false;
};

struct MutationOutcome {
  Column ids;  // primary keys written or deleted
  int64_t insert_count = 0;
  int64_t delete_count = 0;
  int64_t upsert_count = 0;
  Timestamp ts = 0;
};

struct QueryParams {
  std::string db;
  std::string collection;
  std::string expr;
  std::vector<std::string> output_fields;
  std::vector<std::string> partitions;
  int64_t limit = -1;
  int64_t offset = 0;
};

struct QueryOutcome {
  std::shared_ptr<const CollectionSchema> schema;
  bool count_only = false;
  int64_t count = 0;
  std::vector<FieldId> fields;             // output columns in order (pk first)
  std::vector<std::string> dynamic_keys;   // keys of $meta to return; empty with include_all_dynamic
  bool include_all_dynamic = false;
  Retrieved data;
  Timestamp ts = 0;
};

struct CollectionStats {
  int64_t row_count = 0;
};

class Proxy {
 public:
  Proxy(CoordinatorApi* coordinator, StreamingNode* streaming, QueryNode* query_node, const Limits& limits)
      : coord_(coordinator), streaming_(streaming), query_node_(query_node), limits_(limits) {}
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  const Limits& limits() const { return limits_; }
  // DDL calls that need no proxy-side work go straight to the coordinator.
  CoordinatorApi& coordinator() { return *coord_; }

  // Reopens every collection's shards (WAL replay) and reloads loaded ones.
  Status Recover();

  // DDL with data-plane side effects.
  Status CreateCollection(const CreateCollectionParams& params);
  Status DropCollection(const std::string& db, const std::string& name);
  Status Load(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions);
  Status Release(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions);
  Result<CollectionStats> Stats(const std::string& db, const std::string& collection, const std::string& partition);

  // DML.
  Result<MutationOutcome> Insert(InsertParams params);
  Result<MutationOutcome> Delete(const std::string& db, const std::string& collection, const std::string& partition,
                                 const std::string& expr);
  Result<std::vector<SegmentId>> Flush(const std::string& db, const std::string& collection);

  // DQL.
  Result<QueryOutcome> Query(const QueryParams& params);

 private:
  Result<Timestamp> WriteByShard(const CollectionInfo& c, DmlType type, PartitionId partition, ColumnBatch rows,
                                 const Column* delete_pks, PartitionId delete_partition);
  Status CompleteRows(const CollectionInfo& c, InsertParams* params, Column* ids);
  Result<Timestamp> ReadTimestamp(CollectionId collection);

  CoordinatorApi* coord_;
  StreamingNode* streaming_;
  QueryNode* query_node_;
  Limits limits_;
};

// Shard of a primary key: a stable hash (same across restarts and builds).
int ShardOf(const PrimaryKey& pk, int num_shards);
// The stopgap filter parser: `pk in [..]` / `pk == v`; nullopt for an empty
// expression. Replaced by the expression engine (src/expr) when it lands.
Result<std::optional<std::vector<PrimaryKey>>> ParsePkFilter(const std::string& expr, const FieldSchema& pk);

}  // namespace kite
