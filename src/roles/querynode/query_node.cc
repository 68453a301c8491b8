#include "roles/querynode/query_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "roles/api/read_exec.h"
#include "roles/api/role_codec.h"
#include "segment/index_file.h"
#include "segment/segment_file.h"

namespace kite {

Status QueryNode::Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) {
  std::lock_guard load_lock(load_mu_);
  std::vector<SegmentPtr> segments;
  for (const SegmentRecord& rec : registry_->ListSegments(c.id)) {
    ColumnBatch columns;
    std::vector<Timestamp> ts;
    KITE_RETURN_IF_ERROR(ReadSegmentFiles(store_, rec.files, &columns, &ts));
    SegmentMeta meta{rec.id, rec.collection_id, rec.partition_id, rec.channel};
    KITE_ASSIGN_OR_RETURN(SegmentPtr seg, Segment::FromColumns(meta, schema, std::move(columns), std::move(ts)));
    segments.push_back(std::move(seg));
  }
  for (const auto& channel : c.channels) {
    for (const auto& key : registry_->GetCheckpoint(channel).delta_keys) {
      KITE_ASSIGN_OR_RETURN(auto deletes, ReadDeltaFile(store_, key));
      for (const auto& d : deletes) {
        for (auto& seg : segments) {
          if (seg->meta().channel == channel && (d.partition == 0 || seg->meta().partition_id.value == d.partition)) {
            seg->ApplyDelete(d.pk, d.ts);
          }
        }
      }
    }
  }
  KITE_RETURN_IF_ERROR(LoadIndexes(c.id, segments));
  {
    std::unique_lock lock(mu_);
    loaded_[c.id.value] = segments;
    schemas_[c.id.value] = schema;
  }
  // A build that committed after the first pass but attached before the
  // collection was registered above would be missed: look once more.
  return LoadIndexes(c.id, segments);
}

namespace {

// Reads one segment index file and attaches the index to `seg`.
Status LoadIndexFile(ObjectStore* store, const SegmentIndexRecord& r, Segment* seg) {
  // Read as a stream: a vector index is built while its bytes arrive (an HNSW
  // graph is never held twice); the file checksum is checked before it is used.
  std::unique_ptr<FramedReader> payload;
  KITE_ASSIGN_OR_RETURN(IndexFileHeader h, OpenIndexFile(store, r.key, &payload));
  if (h.rows != seg->num_rows()) {
    return Corruption("index file {} covers {} rows, segment {} has {}", r.key, h.rows, r.segment.value,
                      seg->num_rows());
  }
  if (h.kind == "emb_list") {
    // An embedding-list index (struct vector sub-field): searched exactly,
    // nothing to attach; the file only records that the segment is indexed.
    KITE_RETURN_IF_ERROR(payload->ReadToEnd().status());
    return Status::OK();
  }
  if (h.kind == "scalar") {
    KITE_ASSIGN_OR_RETURN(std::string bytes, payload->ReadToEnd());
    KITE_ASSIGN_OR_RETURN(auto idx, index::LoadScalarIndex(h.params, bytes));
    seg->AttachScalarIndex(r.field, r.index, std::shared_ptr<const index::ScalarIndex>(std::move(idx)));
    return Status::OK();
  }
  auto idx = index::LoadVectorIndexFrom(h.params, payload.get());
  // A damaged file shows as its checksum mismatch, whatever the loader tripped on.
  if (!idx.ok()) KITE_RETURN_IF_ERROR(payload->SkipRest());
  KITE_RETURN_IF_ERROR(payload->Finish());
  if (!idx.ok()) return idx.status();
  seg->AttachVectorIndex(r.field, r.index, std::shared_ptr<const index::VectorIndex>(std::move(idx).value()));
  return Status::OK();
}

}  // namespace

Status QueryNode::LoadIndexes(CollectionId collection, const std::vector<SegmentPtr>& segments) {
  std::map<int64_t, const SegmentPtr*> by_id;
  for (const auto& s : segments) by_id[s->id().value] = &s;
  for (const SegmentIndexRecord& r : registry_->ListSegmentIndexes(collection)) {
    auto it = by_id.find(r.segment.value);
    if (it == by_id.end() || (*it->second)->HasIndex(r.index)) continue;
    Status st = LoadIndexFile(store_, r, it->second->get());
    if (st.code() == StatusCode::kCorruption || st.code() == StatusCode::kNotFound) {
      // An index is derived data: a damaged or missing file costs a rebuild
      // (the data node's next scan), never the collection or the server's
      // start. Until then the segment is searched exactly.
      spdlog::error("segment {} index {}: {}; the index will be rebuilt", r.segment.value, r.index.value,
                    st.message());
      KITE_RETURN_IF_ERROR(registry_->ForgetSegmentIndex(collection, r.segment, r.index));
      continue;
    }
    KITE_RETURN_IF_ERROR(st);
  }
  return Status::OK();
}

void QueryNode::AttachVectorIndex(CollectionId collection, SegmentId segment, FieldId field, IndexId index,
                                  std::shared_ptr<const index::VectorIndex> idx) {
  for (const auto& seg : Segments(collection)) {
    if (seg->id() == segment) seg->AttachVectorIndex(field, index, idx);
  }
}

void QueryNode::ReplaceSegments(CollectionId collection, const std::vector<SegmentId>& removed,
                                SegmentPtr replacement) {
  std::lock_guard load_lock(load_mu_);
  std::unique_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return;
  std::vector<SegmentPtr> kept;
  for (auto& seg : it->second) {
    if (std::find(removed.begin(), removed.end(), seg->id()) == removed.end()) {
      kept.push_back(std::move(seg));
    } else if (replacement) {
      // Deletes that reached the old segment after the compaction read its files.
      replacement->CopyDeletesFrom(*seg);
    }
  }
  if (replacement) kept.push_back(std::move(replacement));
  it->second = std::move(kept);
}

SegmentPtr QueryNode::FindSegment(CollectionId collection, SegmentId segment) const {
  for (auto& seg : Segments(collection)) {
    if (seg->id() == segment) return seg;
  }
  return nullptr;
}

void QueryNode::AttachScalarIndex(CollectionId collection, SegmentId segment, FieldId field, IndexId index,
                                  std::shared_ptr<const index::ScalarIndex> idx) {
  for (const auto& seg : Segments(collection)) {
    if (seg->id() == segment) seg->AttachScalarIndex(field, index, idx);
  }
}

void QueryNode::DetachIndex(CollectionId collection, IndexId index) {
  for (const auto& seg : Segments(collection)) seg->DetachIndex(index);
}

void QueryNode::Release(CollectionId collection) {
  std::unique_lock lock(mu_);
  loaded_.erase(collection.value);
  schemas_.erase(collection.value);
}

bool QueryNode::IsLoaded(CollectionId collection) const {
  std::shared_lock lock(mu_);
  return loaded_.count(collection.value) > 0;
}

void QueryNode::AddSealed(CollectionId collection, SegmentPtr segment) {
  std::unique_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it != loaded_.end()) it->second.push_back(std::move(segment));
}

void QueryNode::ApplyDelete(CollectionId collection, int64_t partition, const PrimaryKey& pk, Timestamp ts) {
  std::shared_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return;
  for (const auto& seg : it->second) {
    if (partition == 0 || seg->meta().partition_id.value == partition) seg->ApplyDelete(pk, ts);
  }
}

std::vector<SegmentPtr> QueryNode::Segments(CollectionId collection) const {
  std::shared_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  return it == loaded_.end() ? std::vector<SegmentPtr>{} : it->second;
}

std::pair<std::shared_ptr<const CollectionSchema>, std::vector<SegmentPtr>> QueryNode::ScopeSegments(
    const rolepb::ReadScope& scope) const {
  std::shared_lock lock(mu_);
  auto s = schemas_.find(scope.collection());
  auto it = loaded_.find(scope.collection());
  if (s == schemas_.end() || it == loaded_.end()) return {};
  std::vector<SegmentPtr> segs;
  for (const SegmentPtr& seg : it->second) {
    if (InScope(*seg, scope)) segs.push_back(seg);
  }
  return {s->second, std::move(segs)};
}

namespace {
Status NotLoadedHere(int64_t collection) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                    "collection not loaded[collection={}]", collection);
}
}  // namespace

Status QueryNode::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  auto [schema, segs] = ScopeSegments(req.scope());
  if (!schema) return NotLoadedHere(req.scope().collection());
  KITE_ASSIGN_OR_RETURN(*out, ExecuteSearch(req, *schema, segs, cancelled));
  return Status::OK();
}

Status QueryNode::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  auto [schema, segs] = ScopeSegments(req.scope());
  if (!schema) return NotLoadedHere(req.scope().collection());
  KITE_ASSIGN_OR_RETURN(*out, ExecuteRetrieve(req, *schema, segs));
  return Status::OK();
}

Status QueryNode::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  auto [schema, segs] = ScopeSegments(req.scope());
  if (!schema) return NotLoadedHere(req.scope().collection());
  AddReadStats(req, segs, resp);
  return Status::OK();
}

}  // namespace kite
