// The one top-k merge (CONVENTIONS.md "One merge primitive"): used to merge
// the hits of segments on a node, of nodes on a shard and of shards at the
// proxy. Hits carry their primary key so that duplicates (the same key found
// in two segments) collapse to the best-scoring one.
#pragma once

#include <cstdint>
#include <vector>

#include "schema/column_batch.h"

namespace kite {

// Where a hit came from: a segment (index into the caller's segment list) and
// a row in it. Opaque to the merge.
struct HitSource {
  int32_t segment = -1;
  int64_t row = -1;
};

struct Hit {
  float distance = 0;
  PrimaryKey pk;
  HitSource source;
};

// Hits of one query, best first.
using HitList = std::vector<Hit>;

struct MergeOptions {
  int64_t k = 10;                 // hits to keep (offset + limit)
  bool higher_is_better = false;  // IP / COSINE: larger distance is better
};

// True if a is strictly better than b (ties broken by primary key ascending).
bool HitBetter(const Hit& a, const Hit& b, bool higher_is_better);

// Merges sorted lists into one sorted list of at most k hits with distinct
// primary keys. Inputs must each be sorted best first.
HitList MergeHits(std::vector<HitList> lists, const MergeOptions& options);

}  // namespace kite
