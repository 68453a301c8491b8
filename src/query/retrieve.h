// Retrieval (query/get): rows that pass a plan's filter at a read timestamp,
// per segment, then merged across segments, nodes and shards by one function
// (MergeRetrieved) used at every level.
//
// The filter is, for now, an optional primary-key list (what get() and
// delete(ids) send); the full expression language plugs in here.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "common/timestamp.h"
#include "expr/expr.h"
#include "schema/column_batch.h"
#include "segment/segment.h"

namespace kite {

struct RetrievePlan {
  Timestamp ts = 0;                                // MVCC read timestamp
  Timestamp expire_before = 0;                     // collection TTL: rows written earlier are expired (0: none)
  std::optional<std::vector<PrimaryKey>> pks;      // fast path: pk in list
  const expr::Plan* filter = nullptr;              // general filter (when pks is unset); nullptr = all rows
  std::set<int64_t> partitions;                    // partition ids; empty = all
  std::vector<FieldId> output_fields;              // pk is always returned
  bool count_only = false;
  int64_t limit = -1;                              // rows wanted after offset; -1 = unlimited
  int64_t offset = 0;
};

struct Retrieved {
  ColumnBatch rows;                // pk column first, then output fields
  std::vector<Timestamp> ts;       // per row
  int64_t count = 0;               // count_only plans
};

// Appends the rows of `segment` that match `plan` (or counts them).
Status RetrieveFromSegment(const Segment& segment, const RetrievePlan& plan, Retrieved* out);

// Merges partial results: one row per primary key (the newest version wins),
// ordered by primary key, then offset/limit applied. Counts are summed.
Retrieved MergeRetrieved(std::vector<Retrieved> parts, const RetrievePlan& plan);

}  // namespace kite
