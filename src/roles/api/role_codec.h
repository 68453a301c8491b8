// Conversions between Kite's in-memory types and the role messages
// (role_api.proto): template values, column batches, search and retrieve
// answers, read scopes. Used on both sides of every role call.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "common/status.h"
#include "expr/expr.h"
#include "query/retrieve.h"
#include "query/search_part.h"
#include "role_api.pb.h"
#include "roles/api/segment_meta_api.h"
#include "segment/segment_file.h"

namespace kite {

void FilterToPb(const std::string& text, const expr::TemplateValues& values, const std::string& timezone,
                rolepb::Filter* out);
Result<expr::TemplateValues> TemplateValuesFromPb(const rolepb::Filter& f);

// Column batches as bytes (EncodeColumn per column).
std::string EncodeBatch(const ColumnBatch& b);
Result<ColumnBatch> DecodeBatch(std::string_view in);

void SearchPartToPb(const SearchPart& part, rolepb::SearchResponse* out);
Result<SearchPart> SearchPartFromPb(const rolepb::SearchResponse& in);

void RetrievedToPb(const Retrieved& r, rolepb::RetrieveResponse* out);
Result<Retrieved> RetrievedFromPb(const rolepb::RetrieveResponse& in);

std::set<int64_t> PartitionsOf(const rolepb::ReadScope& scope);

// Segment hand-over messages from the coordinator's records.
rolepb::IndexLoad IndexLoadOf(const SegmentIndexRecord& r);
SegmentIndexRecord IndexRecordOf(CollectionId collection, const rolepb::IndexLoad& il);
rolepb::SegmentLoad SegmentLoadOf(const SegmentRecord& rec, const std::vector<SegmentIndexRecord>& indexes);
void DeletesToPb(CollectionId collection, const std::string& channel, const std::vector<DeleteRecord>& deletes,
                 rolepb::DeletesRequest* out);
std::vector<DeleteRecord> DeletesFromPb(const rolepb::DeletesRequest& in);

}  // namespace kite
