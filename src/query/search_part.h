// The three levels of a search's reduce (ARCHITECTURE.md "Search path"): a
// query node merges its segments' hits (SearchSegments), a shard delegator
// merges its query nodes' and its growing data's answers, and the proxy merges
// the shards' (both ReduceParts). Every level keeps the best k hits per query
// (or, with group-by, the best group_size hits of each group) and
// carries each kept hit's row (primary key first, then the fields the proxy
// asked for), so that the rows are read once, where the segments are.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "expr/expr.h"
#include "query/reduce.h"
#include "query/rerank.h"
#include "query/search.h"
#include "segment/segment.h"

namespace kite {

// A partial answer: per query, hits best first; hit.source.row is the hit's
// row in `rows` (queries concatenated, so rows grow with the hits).
struct SearchPart {
  int64_t nq = 0;
  std::vector<HitList> hits;
  ColumnBatch rows;  // pk, then the carried fields
};

struct PartSpec {
  int64_t k = 10;                  // hits (or groups) kept per query
  bool higher_is_better = false;
  std::vector<FieldId> carry;      // fields gathered for every kept hit
  FieldId group_field;             // 0: no group-by
  int64_t group_size = 1;          // hits kept per group
  // Groups kept per query. Only the last level (the proxy, which sees every
  // shard) may cut groups: a group's best hit may be in another part, so a
  // part keeps the best group_size hits of every group it holds.
  int64_t groups = INT64_MAX;
  std::vector<BoostRanker> boosts;                          // applied per segment (ApplyBoosts)
  std::vector<std::unique_ptr<const expr::Plan>> boost_filters;  // one per boost; nullptr: every row
  int64_t max_output_bytes = INT64_MAX;                    // carried rows beyond this: refused
  std::function<bool()> cancelled;                          // polled between segments
};

// A comparable key for a group-by value (nulls form their own group).
std::string GroupKey(const Column& c, int64_t row);

// Level 1: searches every segment under `plan`, applies the boosts, merges
// and gathers the carried fields of the kept hits.
Result<SearchPart> SearchSegments(const std::vector<SegmentPtr>& segments, SearchPlan plan, const PartSpec& spec);

// Levels 2 and 3: merges answers (duplicate keys collapse to the best hit).
Result<SearchPart> ReduceParts(std::vector<SearchPart> parts, const PartSpec& spec);

Status SearchCancelledStatus();

}  // namespace kite
