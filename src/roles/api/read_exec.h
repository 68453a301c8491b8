// Runs the read messages over segments: what a query node does with its
// sealed segments and a shard delegator with its growing ones (level 1 of
// the reduce). Filters are compiled here, against the node's schema.
#pragma once

#include <vector>

#include "common/status.h"
#include "query/retrieve.h"
#include "query/search_part.h"
#include "role_api.pb.h"
#include "roles/api/role_api.h"
#include "schema/collection_schema.h"
#include "segment/segment.h"

namespace kite {

// The reduce parameters of a search request, for merging answers (levels 2
// and 3: no carried fields to gather, no boosts).
PartSpec ReduceSpecOf(const rolepb::SearchRequest& req);
// The same plus what a search over segments needs: carried fields and the
// boosts with their filters compiled (level 1).
Result<PartSpec> PartSpecOf(const rolepb::SearchRequest& req, const CollectionSchema& schema);

Result<SearchPart> ExecuteSearch(const rolepb::SearchRequest& req, const CollectionSchema& schema,
                                 const std::vector<SegmentPtr>& segments, const CancelHook& cancelled);

Result<Retrieved> ExecuteRetrieve(const rolepb::RetrieveRequest& req, const CollectionSchema& schema,
                                  const std::vector<SegmentPtr>& segments);

// Adds the segments' statistics (rows, index of the field, BM25 counts) to `resp`.
void AddReadStats(const rolepb::ReadStatsRequest& req, const std::vector<SegmentPtr>& segments,
                  rolepb::ReadStatsResponse* resp);

// Whether segment `seg` is read by `scope` (its channel and partitions).
bool InScope(const Segment& seg, const rolepb::ReadScope& scope);

}  // namespace kite
