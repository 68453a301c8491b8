// Vector search over one segment under a filter, producing per-query hit
// lists for the shared merge (reduce.h). The filter bitset of a segment is
// visibility at the read timestamp AND partition AND the compiled filter
// expression; the index attached to a sealed segment (index/vector_index.h)
// or the exact kernels (index/flat) consume it directly. Growing segments are
// always searched exactly, so fresh rows are always found.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "expr/expr.h"
#include "index/flat/flat_search.h"
#include "index/vector_index.h"
#include "query/reduce.h"
#include "segment/segment.h"

namespace kite {

struct VectorQueries {
  FieldId field;
  DataType type = DataType::kFloatVector;
  int64_t dim = 0;
  int64_t nq = 0;
  Column rows;  // nq rows laid out like the field's column (Column::ForField)
};

struct SearchPlan {
  Timestamp ts = 0;
  Timestamp expire_before = 0;         // collection TTL: rows written earlier are expired (0: none)
  const expr::Plan* filter = nullptr;  // nullptr: no filter
  std::set<int64_t> partitions;        // empty: all
  VectorQueries queries;
  flat::Metric metric = flat::Metric::kL2;
  int64_t k = 10;                      // candidates per query per segment
  std::optional<float> radius;
  std::optional<float> range_filter;
  std::map<std::string, std::string> index_params;  // search params for indexes (ef, nprobe, ...)
};

// Whether a segment search goes through `idx` rather than the exact kernels:
// only for the index's metric, never for range search, and not when fewer
// than 2048 rows (or k or fewer) pass the filter. A selective filter on a
// larger segment is the index's own call
// (VectorIndex::Search gets the passing count and scans those rows exactly
// when that is cheaper); an index answer short of min(k, passing) rows for a
// query sends the batch to the exact kernels, so k true neighbours are found.
bool UseIndex(const index::VectorIndex* idx, const SearchPlan& plan, int64_t passing);

// The rows of `batch` that pass visibility (`visible`; empty = every row) and
// the filter (answered from the segment's scalar indexes where they cover a
// leaf; nullptr = no filter).
Status FilterMask(const ColumnBatch& batch, const std::vector<uint8_t>& visible, const expr::Plan* filter,
                  const expr::IndexLookup* indexes, std::vector<uint8_t>* mask);

// Searches one segment; appends one sorted HitList per query (source.segment = segment_index).
Status SearchSegment(const Segment& segment, int32_t segment_index, const SearchPlan& plan,
                     std::vector<HitList>* per_query);

flat::Metric MetricFromName(const std::string& name, bool* ok);

}  // namespace kite
