// Segment: the rows of one (collection, partition, shard) unit, in memory.
//
// A segment is growing while the streaming node appends to it, and sealed once
// flushed: then it is immutable and lives in object storage (segment_file.h),
// loaded back by query nodes. Both states share this class and its read side
// (SegmentReader), so search and retrieval code does not care which it reads.
//
// Visibility is MVCC: row r is visible at read timestamp T iff ts[r] <= T and
// no delete (pk, d) recorded here has ts[r] < d <= T. An upsert is a delete and
// an insert with the same timestamp, so exactly one version is visible. A read
// under a collection TTL also passes `expire_before` (E): rows with ts[r] < E
// have expired and are not visible either (E = 0: nothing expires). An upsert
// writes a new version, so it restarts the row's TTL, as in Milvus.
//
// Thread-safety: Append and ApplyDelete may run concurrently with readers; all
// methods lock internally. Readers get consistent row counts via Snapshot().
// Owned by shared_ptr: a search pins a segment while a release drops it.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/ids.h"
#include "index/scalar/scalar_index.h"
#include "index/vector_index.h"
#include "common/timestamp.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"

namespace kite {

struct SegmentMeta {
  SegmentId id;
  CollectionId collection_id;
  PartitionId partition_id;
  std::string channel;
};

class Segment {
 public:
  // An empty growing segment for `schema` (kept by shared_ptr, immutable).
  Segment(SegmentMeta meta, std::shared_ptr<const CollectionSchema> schema);
  // A sealed segment from loaded columns (pk and every stored field) and timestamps.
  static Result<std::shared_ptr<Segment>> FromColumns(SegmentMeta meta, std::shared_ptr<const CollectionSchema> schema,
                                                      ColumnBatch columns, std::vector<Timestamp> timestamps);
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const SegmentMeta& meta() const { return meta_; }
  SegmentId id() const { return meta_.id; }
  const CollectionSchema& schema() const { return *schema_; }

  // ---- writer side (growing segments only)
  // Appends rows (one column per stored field, pk included) with one timestamp each.
  void Append(const ColumnBatch& rows, const std::vector<Timestamp>& timestamps);
  // Whether `rows` fits this segment's columns (each column it carries of
  // the same type, element type and dim, with at least rows.num_rows rows):
  // what Append assumes. kCorruption naming the field otherwise — a WAL
  // record written for another schema (a reused Kafka topic, a damaged
  // log) must fail the replay, not corrupt memory.
  Status CheckAppendable(const ColumnBatch& rows) const;
  // Room for `rows` rows in all, so that appending up to that many never
  // regrows a column or the key index (a regrowth holds the old and the new
  // buffer at once: 1.5x the column at the peak). Variable-width bytes are
  // not reserved.
  void Reserve(int64_t rows);
  void Seal();
  bool sealed() const;

  // Records a delete of `pk` at `ts` if this segment holds the key (any version
  // older than ts). Returns whether it did.
  bool ApplyDelete(const PrimaryKey& pk, Timestamp ts);
  // Applies every delete recorded in `other` (compaction carries the deletes
  // of the segments it replaces over to their successor).
  void CopyDeletesFrom(const Segment& other);

  // ---- reader side
  int64_t num_rows() const;
  size_t MemoryBytes() const;
  Timestamp max_timestamp() const;

  // Rows holding `pk` that are visible at `ts` (and not expired, see above).
  std::vector<int64_t> FindVisible(const PrimaryKey& pk, Timestamp ts, Timestamp expire_before) const;
  // Every row visible at ts, in row order.
  std::vector<int64_t> AllVisible(Timestamp ts, Timestamp expire_before) const;
  bool IsVisible(int64_t row, Timestamp ts, Timestamp expire_before) const;

  // Copies `rows` of the given fields into a batch (pk always included first),
  // with their timestamps.
  void Gather(const std::vector<int64_t>& rows, const std::vector<FieldId>& fields, ColumnBatch* out,
              std::vector<Timestamp>* timestamps) const;

  // Runs fn with shared access to the raw columns and the rows visible at ts
  // (one byte per row, 1 = visible). Everything is valid only inside fn.
  void WithSnapshot(Timestamp ts, Timestamp expire_before,
                    const std::function<void(const ColumnBatch&, const std::vector<uint8_t>&)>& fn) const;

  // The column of `field` of a sealed segment, or nullptr (not sealed, or no
  // such column). A sealed segment's columns never change (deletes are kept
  // apart), so the pointer stays valid, without a lock, for as long as the
  // segment lives: hold the SegmentPtr.
  const Column* SealedColumn(FieldId field) const;

  // As WithSnapshot, except that `visible` is empty when every row is visible
  // at ts (no delete recorded, no row newer than ts or expired): no per-row pass. The
  // check and fn run under one lock, so rows appended meanwhile (newer than
  // ts) are never seen unmasked.
  void WithVisibleRows(Timestamp ts, Timestamp expire_before,
                       const std::function<void(const ColumnBatch&, const std::vector<uint8_t>&)>& fn) const;

  // Runs fn with shared access to the raw columns (valid only inside fn).
  void WithColumns(const std::function<void(const ColumnBatch&, const std::vector<Timestamp>&)>& fn) const;

  // ---- indexes of sealed segments, attached by the query node once built or
  // loaded (one per field, but one per definition for JSON path indexes; a
  // newer one replaces an older one). Searches pin
  // the index they got, so detaching never pulls it from under a search.
  void AttachVectorIndex(FieldId field, IndexId index, std::shared_ptr<const index::VectorIndex> idx);
  void AttachScalarIndex(FieldId field, IndexId index, std::shared_ptr<const index::ScalarIndex> idx);
  // Detaches whatever was built from index definition `index`.
  void DetachIndex(IndexId index);
  std::shared_ptr<const index::VectorIndex> VectorIndexOf(FieldId field) const;
  bool HasIndex(IndexId index) const;
  // The scalar indexes for filter evaluation, pinned for as long as the
  // returned object lives; nullptr when the segment has none.
  struct FilterIndexes {
    std::vector<std::shared_ptr<const index::ScalarIndex>> pinned;
    index::ScalarIndexLookup lookup;
  };
  std::unique_ptr<FilterIndexes> ScalarIndexes() const;

  // ---- BM25 corpus statistics of a sparse term-frequency column (a BM25
  // function's output): the rows, their total length (sum of the values) and,
  // for each of `terms`, the number of rows holding it. Every stored row
  // counts, deleted ones too, as in Milvus (until compaction rewrites the
  // segment). Kept per field and folded forward as a growing segment gains
  // rows, under a lock of its own (taken before the segment's).
  struct Bm25Counts {
    int64_t rows = 0;
    double tokens = 0;
    std::vector<int64_t> df;  // parallel to `terms`
  };
  Bm25Counts Bm25Stats(FieldId field, const std::vector<uint32_t>& terms) const;

 private:
  using RowList = absl::InlinedVector<int64_t, 1>;
  bool IsVisibleLocked(int64_t row, Timestamp ts, Timestamp expire_before) const;
  const RowList* RowsOf(const PrimaryKey& pk) const;
  void IndexRowLocked(int64_t row);
  void ReserveKeysLocked(int64_t rows);

  SegmentMeta meta_;
  std::shared_ptr<const CollectionSchema> schema_;
  FieldId pk_field_;
  mutable std::shared_mutex mu_;
  bool sealed_ = false;
  ColumnBatch columns_;
  std::vector<Timestamp> ts_;
  Timestamp max_ts_ = 0;
  Timestamp min_ts_ = ~Timestamp{0};  // of every row; the maximum while there is none
  absl::flat_hash_map<int64_t, RowList> int_pks_;
  absl::flat_hash_map<std::string, RowList> str_pks_;
  // pk -> delete timestamps that hit it (usually one).
  absl::flat_hash_map<int64_t, absl::InlinedVector<Timestamp, 1>> int_deletes_;
  absl::flat_hash_map<std::string, absl::InlinedVector<Timestamp, 1>> str_deletes_;

  struct AttachedVectorIndex {
    IndexId id;
    std::shared_ptr<const index::VectorIndex> index;
  };
  struct AttachedScalarIndex {
    IndexId id;
    std::shared_ptr<const index::ScalarIndex> index;
  };
  struct Bm25Acc {
    int64_t rows = 0;
    double tokens = 0;
    absl::flat_hash_map<uint32_t, int64_t> df;
  };
  // Text indexes (TEXT_MATCH) of a sealed segment's enable_match fields,
  // built at the first filter that may use them (text_mu_ held meanwhile).
  mutable std::mutex text_mu_;
  mutable bool text_built_ = false;
  mutable std::vector<std::pair<FieldId, std::shared_ptr<const index::ScalarIndex>>> text_indexes_;
  void BuildTextIndexesOnce() const;
  mutable std::mutex bm25_mu_;
  mutable std::map<int64_t, Bm25Acc> bm25_;  // field id -> stats of rows [0, rows)

  mutable std::mutex index_mu_;  // guards the index maps below only
  std::map<int64_t, AttachedVectorIndex> vector_indexes_;  // field id ->
  std::map<int64_t, AttachedScalarIndex> scalar_indexes_;  // field id ->
  // JSON path indexes (several per JSON field): index id -> (field, index).
  std::map<int64_t, std::pair<FieldId, AttachedScalarIndex>> json_path_indexes_;
};

using SegmentPtr = std::shared_ptr<Segment>;

// Fields a segment stores: every schema field except function outputs that
// are computed (none yet), in schema order.
std::vector<const FieldSchema*> StoredFields(const CollectionSchema& schema);

}  // namespace kite
