// Proxy: the stateless front role (DESIGN.md §1). Validates requests against
// Kite's limits and the collection schema, then routes them: DDL to the
// coordinator, DML to the streaming node of each row's shard (rows are routed
// by a hash of their primary key), reads to the streaming node (growing data)
// and query node (sealed data), merging the partial results with the one
// merge function (query/retrieve.h). It speaks Kite's types only; src/rpc
// adapts the Milvus wire format to it.
// Thread-safe; borrows every role, which must outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/limits.h"
#include "expr/expr.h"
#include "query/order_by.h"
#include "query/reduce.h"
#include "query/rerank.h"
#include "query/retrieve.h"
#include "query/search.h"
#include "query/search_part.h"
#include "roles/api/role_api.h"
#include "roles/coordinator/coordinator.h"
#include "roles/coordinator/resource_groups.h"
#include "text/analyzer.h"

namespace kite {

struct InsertParams {
  std::string db;
  std::string collection;
  std::string partition;  // empty: _default (or routed by partition key)
  ColumnBatch rows;       // the fields the request carried, by field id ($meta included)
  bool upsert = false;
  // Partial updates (Milvus 2.6 field_ops): ARRAY fields whose given elements
  // are appended to / removed from the stored array instead of replacing it.
  enum class ArrayOp : uint8_t { kReplace, kAppend, kRemove };
  std::map<std::string, ArrayOp> field_ops;  // by field name
  // Bulk import: the rows carry their auto-id keys, allocated beforehand with
  // Proxy::AllocRowIds (so an interrupted job knows which keys it wrote).
  bool ids_assigned = false;
};

struct MutationOutcome {
  Column ids;  // primary keys written or deleted
  int64_t insert_count = 0;
  int64_t delete_count = 0;
  int64_t upsert_count = 0;
  Timestamp ts = 0;
};

// How fresh a read must be (Milvus consistency levels, as pymilvus sends them).
struct ReadConsistency {
  bool use_default = true;  // use the collection's level
  ConsistencyLevel level = ConsistencyLevel::kBounded;
  Timestamp guarantee_ts = 0;  // Session: the client's last write; Customized: the user's value
  bool pin = false;            // iterators: read exactly at guarantee_ts (an MVCC snapshot)
};

struct QueryParams {
  std::string db;
  std::string collection;
  std::string expr;
  expr::TemplateValues expr_values;
  ReadConsistency consistency;
  std::vector<std::string> output_fields;
  std::vector<std::string> partitions;
  int64_t limit = -1;
  int64_t offset = 0;
  bool ignore_growing = false;  // sealed segments only
  // order_by_fields as sent ("f:asc,g:desc:nulls_first"; ResolveQueryOrderBy):
  // matching rows ordered by these keys (ties by primary key) before offset
  // and limit.
  std::string order_by;
  // The request's `timezone` ("": the collection's, see Proxy::Timezone).
  std::string timezone;
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
  std::string timezone;  // TIMESTAMPTZ values are shown in it
};

struct SearchParams {
  std::string db;
  std::string collection;
  std::vector<std::string> partitions;
  std::string filter;
  expr::TemplateValues filter_values;
  ReadConsistency consistency;
  std::string anns_field;    // empty: the only vector field
  std::string metric_type;   // empty: the index's metric
  DataType query_type = DataType::kFloatVector;  // placeholder type
  std::vector<std::string> query_vectors;        // one raw vector per query
  // search(ids=[...]): the stored vectors of these rows are the queries.
  std::optional<std::vector<PrimaryKey>> ids;
  int64_t topk = 10;
  int64_t offset = 0;
  int round_decimal = -1;
  std::optional<float> radius;
  std::optional<float> range_filter;
  std::map<std::string, std::string> index_params;  // ef, nprobe, ... as strings
  std::string hints;  // search_params "hints": "", "disable" or "iterative_filter"
  int64_t collection_id = 0;  // an iterator's: the collection its first page read (0: none)
  std::string group_by_field;
  int64_t group_size = 1;
  bool strict_group_size = false;
  bool ignore_growing = false;
  std::vector<std::string> output_fields;
  // order_by_fields: the kept hits reordered by scalar fields.
  std::vector<OrderBySpec> order_by;
  // search(ranker=Function(type=RERANK, ...)): rescored after the search.
  std::optional<RerankRequest> rerank;
  // Boost rankers of the request's FunctionScore (applied per segment), and
  // the FunctionScore's own params (boost_mode).
  std::vector<RerankRequest> boosts;
  std::vector<std::pair<std::string, std::string>> function_score_params;
  // search_iterator v2: continue after the last returned distance.
  bool iterator_v2 = false;
  std::optional<float> iterator_last_bound;
  int64_t iterator_batch_size = 0;
  // Polled between steps of a long search: true once the client cancelled,
  // its deadline passed or the server is shutting down (set by the RPC layer;
  // empty = never). The search then stops with a Cancelled status.
  std::function<bool()> cancelled;
  // The request's `timezone` ("": the collection's, see Proxy::Timezone).
  std::string timezone;
  // BM25 search on a field with multi_analyzer_params: the analyzer of the
  // query texts ("": "default").
  std::string analyzer_name;
};

struct SearchOutcome {
  std::shared_ptr<const CollectionSchema> schema;
  int64_t nq = 0;
  int64_t topk = 0;
  std::vector<HitList> hits;               // per query, after offset
  std::vector<FieldId> fields;             // output columns (pk first)
  std::vector<std::string> dynamic_keys;
  bool include_all_dynamic = false;
  // The caller named the primary key (or "*") in output_fields: Milvus then
  // returns it among the hit's fields too, not only as the hit's id.
  bool pk_requested = false;
  ColumnBatch rows;                        // output columns, one row per hit (queries concatenated)
  std::optional<Column> group_values;      // group-by field value per hit
  const FieldSchema* group_field = nullptr;
  std::string metric;
  Timestamp ts = 0;
  std::string timezone;  // TIMESTAMPTZ values are shown in it
};

// A search checked and planned by Proxy::PrepareSearch, not yet run.
struct PreparedSearch {
  SearchPlan plan;
  SearchOutcome out;                        // schema, fields, ts, ... (hits not yet)
  std::unique_ptr<const expr::Plan> filter;  // plan.filter points into it (checked here, compiled again where it runs)
  Timestamp guarantee_ts = 0;                // the shards' tsafe must reach it first
  Timestamp expire_before = 0;               // collection TTL: rows written earlier are not read
  CollectionId collection;
  std::vector<std::string> channels;         // one per shard, in shard order
  bool higher = false;                       // larger scores are better
  std::optional<Reranker> reranker;          // fields borrowed from out.schema
  std::vector<OrderByKey> order_by;          // likewise
  std::vector<BoostRanker> boosts;
  // Estimated distance work in dimension-operations (~1 ns each).
  double cost = 0;

  // About a millisecond of CPU or less: fine to run on the receiving thread.
  bool light() const { return cost <= 4e6; }
};

// hybrid_search: several searches of one collection (usually over different
// vector fields), fused into one ranking by a reranker (query/rerank.h).
struct HybridSearchParams {
  std::string db;
  std::string collection;
  std::vector<std::string> partitions;
  ReadConsistency consistency;
  std::vector<std::string> output_fields;
  // One per AnnSearchRequest: anns_field, vectors, limit, filter and params
  // (their db, collection, partitions, consistency and outputs are ignored).
  std::vector<SearchParams> requests;
  RerankRequest rerank;
  int64_t limit = 10;
  int64_t offset = 0;
  int round_decimal = -1;
  std::string group_by_field;
  int64_t group_size = 1;
  bool strict_group_size = false;
  std::string group_scorer = "max";
  std::string timezone;  // the request's `timezone` ("": the collection's)
};

struct CollectionStats {
  int64_t row_count = 0;
};

class Proxy {
 public:
  // The proxy reaches the other roles only through their APIs (role_api.h):
  // reads go to each shard's delegator (the streaming node leading it).
  Proxy(CoordinatorApi* coordinator, StreamingNodeApi* streaming, DataNodeApi* data_node, const Limits& limits)
      : coord_(coordinator), streaming_(streaming), data_node_(data_node), limits_(limits) {}
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  const Limits& limits() const { return limits_; }
  // DDL and catalog reads that need no data-plane work, forwarded to the
  // coordinator: the front doors (gRPC, REST) reach every role through the
  // proxy only, so a request context and authorization have one way in.
  template <typename... A>
  auto AllocTimestamp(A&&... a) { return coord_->AllocTimestamp(std::forward<A>(a)...); }
  template <typename... A>
  auto CreateDatabase(A&&... a) { return coord_->CreateDatabase(std::forward<A>(a)...); }
  template <typename... A>
  auto DropDatabase(A&&... a) { return coord_->DropDatabase(std::forward<A>(a)...); }
  template <typename... A>
  auto ListDatabases(A&&... a) { return coord_->ListDatabases(std::forward<A>(a)...); }
  template <typename... A>
  auto DescribeDatabase(A&&... a) { return coord_->DescribeDatabase(std::forward<A>(a)...); }
  template <typename... A>
  auto DescribeCollection(A&&... a) { return coord_->DescribeCollection(std::forward<A>(a)...); }
  // The collection-name check Milvus's proxy runs before HasCollection,
  // DescribeCollection, Load/Release (collection and partitions) reach the
  // catalog: a malformed name is 1100 "Invalid collection name: ...", not
  // "collection not found" (task.go validateCollectionName).
  Status CheckCollectionName(const std::string& name) const;
  // Milvus's validatePartitionTag (strict), run before DropPartition and
  // HasPartition look the partition up.
  Status CheckPartitionName(const std::string& name) const;
  template <typename... A>
  auto ListCollections(A&&... a) { return coord_->ListCollections(std::forward<A>(a)...); }
  template <typename... A>
  auto RenameCollection(A&&... a) { return coord_->RenameCollection(std::forward<A>(a)...); }
  template <typename... A>
  auto CreatePartition(A&&... a) { return coord_->CreatePartition(std::forward<A>(a)...); }
  template <typename... A>
  auto CreateAlias(A&&... a) { return coord_->CreateAlias(std::forward<A>(a)...); }
  template <typename... A>
  auto AlterAlias(A&&... a) { return coord_->AlterAlias(std::forward<A>(a)...); }
  template <typename... A>
  auto DropAlias(A&&... a) { return coord_->DropAlias(std::forward<A>(a)...); }
  template <typename... A>
  auto DescribeAlias(A&&... a) { return coord_->DescribeAlias(std::forward<A>(a)...); }
  template <typename... A>
  auto ListAliases(A&&... a) { return coord_->ListAliases(std::forward<A>(a)...); }
  template <typename... A>
  auto GetLoadProgress(A&&... a) { return coord_->GetLoadProgress(std::forward<A>(a)...); }
  template <typename... A>
  auto ListAllCollections(A&&... a) { return coord_->ListAllCollections(std::forward<A>(a)...); }
  Status AlterDatabase(const std::string& name, const std::map<std::string, std::string>& set,
                       const std::vector<std::string>& delete_keys) {
    return coord_->AlterDatabase(name, set, delete_keys);
  }
  Status AlterCollection(const std::string& db, const std::string& name, const std::map<std::string, std::string>& set,
                         const std::vector<std::string>& delete_keys) {
    return coord_->AlterCollection(db, name, set, delete_keys);
  }
  Status AlterIndex(const std::string& db, const std::string& collection, const std::string& index_name,
                    const std::map<std::string, std::string>& set, const std::vector<std::string>& delete_keys) {
    return coord_->AlterIndex(db, collection, index_name, set, delete_keys);
  }
  template <typename... A>
  auto DescribeIndexDefinitions(A&&... a) { return coord_->DescribeIndex(std::forward<A>(a)...); }

  // Reopens every collection's shards (WAL replay) and reloads loaded ones.
  Status Recover();

  // DDL with data-plane side effects.
  Status CreateCollection(const CreateCollectionParams& params);
  Status DropCollection(const std::string& db, const std::string& name);
  // Drops the partition from meta, then its growing and sealed data and files.
  Status DropPartition(const std::string& db, const std::string& collection, const std::string& name);
  Status Load(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions);
  Status Release(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions);
  Result<CollectionStats> Stats(const std::string& db, const std::string& collection, const std::string& partition);
  // AddCollectionField (proxy_schema.cc): the coordinator records the field,
  // then the streaming and query nodes take the new schema.
  // upsert(partial_update=True) (proxy_partial.cc): the request's fields
  // replace those of the stored rows of its keys; other keys are inserted.
  Result<MutationOutcome> PartialUpsert(InsertParams p);
  Status AddCollectionField(const std::string& db, const std::string& collection, const FieldSchema& field);
  // AlterCollectionField (proxy_schema.cc): the coordinator checks and records
  // the field's new properties; the data nodes take the new schema as they do
  // for AddCollectionField.
  Status AlterCollectionField(const std::string& db, const std::string& collection, const std::string& field,
                              const std::map<std::string, std::string>& set,
                              const std::vector<std::string>& delete_keys);
  // TruncateCollection (proxy_schema.cc): every row goes, the schema, indexes,
  // partitions and load state stay.
  Status TruncateCollection(const std::string& db, const std::string& collection);
  // Segments of a collection as GetPersistentSegmentInfo / GetQuerySegmentInfo
  // list them (proxy_schema.cc).
  using SegmentSummary = kite::SegmentSummary;
  Result<std::vector<SegmentSummary>> PersistentSegments(const std::string& db, const std::string& collection);
  Result<std::vector<SegmentSummary>> LoadedSegments(const std::string& db, const std::string& collection);

  // Index definitions; the data node builds them in the background.
  Status CreateIndex(const CreateIndexParams& params);
  Status DropIndex(const std::string& db, const std::string& collection, const std::string& field_name,
                   const std::string& index_name);
  struct IndexStatus {
    IndexInfo info;
    IndexProgress progress;
  };
  // Manual compaction (by name, or by id when the name is empty); returns the job id.
  Result<int64_t> Compact(const std::string& db, const std::string& collection, int64_t collection_id);
  CompactionJob GetCompaction(int64_t job);

  // `as_of`: see DataNode::Progress (0: each index's creation time).
  Result<std::vector<IndexStatus>> DescribeIndex(const std::string& db, const std::string& collection,
                                                 const std::string& field_name, const std::string& index_name, Timestamp as_of = 0);

  // DML.
  Result<MutationOutcome> Insert(InsertParams params);
  // Every check Insert makes on `params` (partition, defaults, nulls, lengths,
  // JSON, ...) without writing anything: bulk import checks all its rows
  // before it writes the first (proxy_import.cc).
  Status ValidateInsert(InsertParams params);
  // `n` consecutive auto-id keys (the first), for InsertParams::ids_assigned.
  Result<int64_t> AllocRowIds(int64_t n);
  // Bulk import writes sealed segments itself instead of going through the
  // WAL, so that its rows become visible only when the job completes
  // (proxy_import.cc). PrepareImportRows makes every change Insert makes to
  // `params` (auto ids, defaults, nulls, function outputs, the dynamic
  // field) and splits the rows by target partition (partition key routing
  // included) and shard, as Insert routes them.
  struct ImportPiece {
    int shard = 0;
    std::string channel;
    PartitionId partition;
    ColumnBatch rows;
  };
  Result<std::vector<ImportPiece>> PrepareImportRows(InsertParams params);
  // Registers the segments an import wrote (their files in the object store)
  // in one atomic step and hands them to the query side; refused if
  // `collection` no longer has the id `collection_id` (dropped meanwhile).
  Status CommitImport(const std::string& db, const std::string& collection, CollectionId collection_id,
                      const std::vector<SegmentRecord>& segments);
  Result<MutationOutcome> Delete(const std::string& db, const std::string& collection, const std::string& partition,
                                 const std::string& expr, const expr::TemplateValues& values);
  Result<std::vector<SegmentId>> Flush(const std::string& db, const std::string& collection);

  // DQL.
  Result<QueryOutcome> Query(const QueryParams& params);
  // The IANA zone a request reads and shows TIMESTAMPTZ text in, as Milvus
  // resolves it: the request's `timezone` (checked), else the collection's
  // `timezone` property, else its database's, else "UTC".
  Result<std::string> Timezone(const CollectionView& collection, std::string_view request_timezone);
  // PrepareSearch then RunSearch.
  Result<SearchOutcome> Search(const SearchParams& params);
  // The checks, the plan and the read timestamp, with the segments to search
  // and an estimate of the work (cheap: no distance is computed). The gRPC
  // front door runs a light one (PreparedSearch::light) on its own thread and
  // hands a heavy one to a worker (rpc/milvus_service.cc).
  Result<PreparedSearch> PrepareSearch(const SearchParams& params);
  // Searches the prepared segments; `params` are the ones it was prepared from.
  Result<SearchOutcome> RunSearch(const SearchParams& params, PreparedSearch prepared);
  // Runs each request (all at one MVCC timestamp) and fuses their hits; the
  // outcome's rows hold the output fields of the fused hits.
  Result<SearchOutcome> HybridSearch(const HybridSearchParams& params);

  // run_analyzer: the tokens of each text under `analyzer_params` (empty: the
  // standard analyzer), or under the analyzer of `field` of `collection` when
  // a collection is named (proxy_text.cc).
  struct AnalyzeParams {
    std::string db;
    std::string collection;
    std::string field;
    std::string analyzer_params;
    std::vector<std::string> texts;
    // A field with multi_analyzer_params: the analyzer of each text (one name: all).
    std::vector<std::string> analyzer_names;
  };
  Result<std::vector<std::vector<text::Token>>> RunAnalyzer(const AnalyzeParams& params);

  // Replicas and resource groups (proxy_replicas.cc), answered as Milvus
  // standalone answers them: one query node, one replica per collection.
  // `rgs` (standalone's, outlives the proxy) is attached once at start; with
  // none attached Load ignores replica arguments and the RG calls fail.
  void AttachResourceGroups(ResourceGroupManager* rgs) { rgs_ = rgs; }
  struct LoadRequest {
    std::string db;
    std::string collection;
    std::vector<std::string> partitions;  // empty: the whole collection
    int32_t replica_number = 0;           // <= 0: 1
    std::vector<std::string> resource_groups;
  };
  Status LoadWithReplicas(const LoadRequest& req);
  struct ReplicaView {
    int64_t id = 0;
    int64_t collection = 0;
    std::vector<int64_t> partitions;
    std::vector<std::string> channels;
    std::vector<int64_t> nodes;
    std::string resource_group;
  };
  // The replicas of a loaded collection (none when it is not loaded);
  // `collection_id` is used when `collection` is empty.
  Result<std::vector<ReplicaView>> GetReplicas(const std::string& db, const std::string& collection,
                                               int64_t collection_id);
  Status CreateResourceGroup(const std::string& name, const std::optional<ResourceGroupConfig>& config);
  Status UpdateResourceGroups(const std::map<std::string, ResourceGroupConfig>& configs);
  Status DropResourceGroup(const std::string& name);
  Status TransferNode(const std::string& source, const std::string& target, int32_t num_node);
  Status TransferReplica(const std::string& source, const std::string& target, const std::string& db,
                         const std::string& collection, int64_t num_replica);
  Result<std::vector<std::string>> ListResourceGroups();
  struct ResourceGroupDescription {
    ResourceGroupView group;
    std::map<std::string, int32_t> loaded_replicas;  // collection name -> replicas in the group
  };
  Result<ResourceGroupDescription> DescribeResourceGroup(const std::string& name);

 private:
  Result<Timestamp> WriteByShard(const CollectionInfo& c, DmlType type, PartitionId partition, ColumnBatch rows,
                                 const Column* delete_pks, PartitionId delete_partition);
  Status CompleteRows(const CollectionInfo& c, InsertParams* params, Column* ids, Column* old_ids);
  // The collection is loaded and so is every named partition; fills their ids.
  Status CheckReadable(const CollectionInfo& c, const std::vector<std::string>& partitions,
                       std::set<int64_t>* partition_ids);
  // The MVCC timestamp a read runs at, per its consistency level, the
  // timestamp every shard's tsafe must reach before it runs (0: no wait), and,
  // under a collection TTL, the timestamp before which rows have expired (0: none).
  struct ReadAt {
    Timestamp ts = 0;
    Timestamp guarantee = 0;
    Timestamp expire_before = 0;
  };
  Result<ReadAt> ReadTimestamp(const CollectionInfo& c, const ReadConsistency& consistency);
  Result<ReadAt> ReadTimestampIgnoringTtl(const CollectionInfo& c, const ReadConsistency& consistency);
  // Rows written before the returned timestamp have outlived the collection's
  // TTL (collection.ttl.seconds) for a read at `ts`; 0 when it has none.
  static Timestamp ExpireBefore(const CollectionInfo& c, Timestamp ts);
  static void FillScope(CollectionId collection, const std::set<int64_t>& partitions, const ReadAt& at,
                        bool include_growing, rolepb::ReadScope* scope);
  // A retrieve sent to every shard's delegator, merged here (the reduce's
  // last level): `plan.pks` when set, else the filter text.
  Result<Retrieved> RetrieveShards(const CollectionInfo& c, const RetrievePlan& plan, const ReadAt& at,
                                   const std::string& expr, const expr::TemplateValues& values,
                                   const std::string& timezone, bool include_growing);
  // The statistics of every shard's data for a search (segment sizes and
  // indexes; BM25 counts of `terms`).
  Result<rolepb::ReadStatsResponse> ShardStats(const CollectionInfo& c, const SearchPlan& plan, const ReadAt& at,
                                               bool include_growing, const std::vector<uint32_t>& terms);
  // ShardStats without BM25 terms, reused for kStatsMaxAge: what only plans
  // (the cost estimate) may read. Saves a round trip to every delegator per search.
  Result<std::shared_ptr<const rolepb::ReadStatsResponse>> RecentShardStats(const CollectionInfo& c,
                                                                          const SearchPlan& plan, const ReadAt& at,
                                                                          bool include_growing);
  // search(ids=...): the anns field's stored vectors of `ids` at `ts`, as raw query vectors.
  Status VectorsOfIds(const CollectionInfo& c, const FieldSchema& field, const SearchPlan& plan, const ReadAt& at,
                      const std::vector<PrimaryKey>& ids, SearchParams* out);
  Status ResolveOutputFields(const CollectionSchema& s, const std::vector<std::string>& names,
                             std::vector<FieldId>* fields, std::vector<std::string>* dynamic_keys,
                             bool* include_all_dynamic, bool* count_only);
  Result<Column> MatchingKeys(const CollectionInfo& c, const std::string& expr, const expr::TemplateValues& values,
                              int64_t partition, const ReadAt& at);

  CoordinatorApi* coord_;
  StreamingNodeApi* streaming_;
  DataNodeApi* data_node_;
  Limits limits_;

  struct StatsEntry {
    std::chrono::steady_clock::time_point at;
    std::shared_ptr<const rolepb::ReadStatsResponse> stats;
  };
  std::mutex stats_mu_;
  std::map<std::string, StatsEntry> stats_cache_;  // key: collection, field, growing, partitions
  ResourceGroupManager* rgs_ = nullptr;
  // Replica records of loaded collections whose collection still exists and
  // is loaded; records of released or dropped ones are stale (proxy_replicas.cc).
  Result<std::vector<std::pair<ReplicaRecord, CollectionView>>> LiveReplicas();
};

// Full-text search (proxy_text.cc).
// Marks function outputs and checks the analyzer params of analyzer-enabled fields.
Status PrepareTextSchema(CollectionSchema* schema);
// Computes every BM25 function's output column from its input text; a request
// that carries an output column is refused with Milvus's message.
Status FillFunctionOutputs(const CollectionSchema& schema, ColumnBatch* rows);
// Corpus statistics of a BM25 field over the data a search reads: rows,
// tokens, and the document frequency of each term asked about.
struct Bm25Corpus {
  int64_t rows = 0;
  double tokens = 0;
  std::vector<int64_t> df;  // parallel to the terms
};
using Bm25StatsFn = std::function<Result<Bm25Corpus>(const std::vector<uint32_t>& terms)>;
// Analyzes the raw query texts of a search on a BM25 output field into
// idf-weighted sparse queries (plan->queries) with corpus statistics from
// `stats`, and puts avgdl into plan->index_params.
Status PrepareBm25Queries(const CollectionSchema& schema, const FieldSchema& field, const SearchParams& params,
                          const Bm25StatsFn& stats, const Limits& limits, SearchPlan* plan);

// Shard of a primary key: a stable hash (same across restarts and builds).
int ShardOf(const PrimaryKey& pk, int num_shards);
// Ids of the partitions `c` has (dropped ones are gone from its meta).
std::set<int64_t> PartitionIds(const CollectionInfo& c);
// The named partition of `c`, or Milvus's "partition not found" error.
Result<const PartitionInfo*> FindPartitionOrError(const CollectionInfo& c, const std::string& name);

}  // namespace kite
