#include "roles/querynode/query_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "roles/api/read_exec.h"
#include "roles/api/role_codec.h"
#include "segment/index_file.h"
#include "roles/coordinator/catalog_codec.h"
#include "segment/segment_file.h"

namespace kite {

Status QueryNode::Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) {
  std::lock_guard load_lock(load_mu_);
  std::vector<SegmentPtr> segments;
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentRecord> records, registry_->ListSegments(c.id));
  for (const SegmentRecord& rec : records) {
    ColumnBatch columns;
    std::vector<Timestamp> ts;
    KITE_RETURN_IF_ERROR(ReadSegmentFiles(store_, rec.files, &columns, &ts));
    SegmentMeta meta{rec.id, rec.collection_id, rec.partition_id, rec.channel};
    KITE_ASSIGN_OR_RETURN(SegmentPtr seg, Segment::FromColumns(meta, schema, std::move(columns), std::move(ts)));
    segments.push_back(std::move(seg));
  }
  for (const auto& channel : c.channels) {
    KITE_ASSIGN_OR_RETURN(ChannelCheckpoint checkpoint, registry_->GetCheckpoint(channel));
    for (const auto& key : checkpoint.delta_keys) {
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
  if (!registry_) return Status::OK();
  std::map<int64_t, const SegmentPtr*> by_id;
  for (const auto& s : segments) by_id[s->id().value] = &s;
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentIndexRecord> indexes, registry_->ListSegmentIndexes(collection));
  for (const SegmentIndexRecord& r : indexes) {
    auto it = by_id.find(r.segment.value);
    if (it == by_id.end() || (*it->second)->HasIndex(r.index)) continue;
    Status st = LoadIndexFile(store_, r, it->second->get());
    if (st.code() == StatusCode::kCorruption || st.code() == StatusCode::kNotFound) {
      // An index is derived data: a damaged or missing file costs a rebuild
      // (the data node's next scan), never the collection or the server's
      // start. Until then the segment is searched exactly.
      spdlog::error("segment {} index {}: {}; the index will be rebuilt", r.segment.value, r.index.value,
                    st.message());
      if (registry_) KITE_RETURN_IF_ERROR(registry_->ForgetSegmentIndex(collection, r.segment, r.index));
      continue;
    }
    KITE_RETURN_IF_ERROR(st);
  }
  return Status::OK();
}

Result<SegmentPtr> QueryNode::ReadSegment(CollectionId collection, const rolepb::SegmentLoad& load,
                                          std::shared_ptr<const CollectionSchema> schema,
                                          const std::vector<DeleteRecord>& deltas,
                                          rolepb::LoadSegmentsResponse* resp) {
  ColumnBatch columns;
  std::vector<Timestamp> ts;
  std::vector<std::string> files(load.files().begin(), load.files().end());
  KITE_RETURN_IF_ERROR(ReadSegmentFiles(store_, files, &columns, &ts));
  SegmentMeta meta{SegmentId(load.id()), collection, PartitionId(load.partition()), load.channel()};
  KITE_ASSIGN_OR_RETURN(SegmentPtr seg, Segment::FromColumns(meta, std::move(schema), std::move(columns), std::move(ts)));
  for (const auto& d : deltas) {
    if (d.partition == 0 || d.partition == load.partition()) seg->ApplyDelete(d.pk, d.ts);
  }
  for (const rolepb::IndexLoad& il : load.indexes()) {
    SegmentIndexRecord r;
    r.segment = SegmentId(il.segment());
    r.index = IndexId(il.index());
    r.collection = collection;
    r.field = FieldId(il.field());
    r.key = il.key();
    r.num_rows = il.num_rows();
    Status st = LoadIndexFile(store_, r, seg.get());
    if (st.code() == StatusCode::kCorruption || st.code() == StatusCode::kNotFound) {
      // Derived data: searched exactly until it is rebuilt (the sender has
      // the record forgotten, so the data node builds it again).
      spdlog::error("segment {} index {}: {}; searched without it", r.segment.value, r.index.value, st.message());
      if (resp) {
        rolepb::DamagedIndex* d = resp->add_damaged();
        *d->mutable_index() = il;
        d->set_error(st.message());
      }
      continue;
    }
    KITE_RETURN_IF_ERROR(st);
  }
  return seg;
}

Status QueryNode::LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                               rolepb::LoadSegmentsResponse* resp) {
  const CollectionId collection(req.collection());
  std::shared_ptr<const CollectionSchema> schema;
  if (!req.collection_info().empty()) {
    KITE_ASSIGN_OR_RETURN(CollectionInfo info, DecodeCollection(req.collection_info()));
    schema = std::make_shared<const CollectionSchema>(std::move(info.schema));
  } else {
    std::shared_lock lock(mu_);
    auto it = schemas_.find(collection.value);
    if (it == schemas_.end()) return Status::OK();  // not loaded here: nothing to add
    schema = it->second;
  }
  // Deltas of each channel, read once, and only for segments read from
  // files (a segment passed in memory has its deletes applied already).
  std::map<std::string, std::vector<DeleteRecord>> deltas;
  bool deltas_read = false;
  auto read_deltas = [&]() -> Status {
    if (deltas_read) return Status::OK();
    deltas_read = true;
    for (const rolepb::ChannelDeltas& cd : req.deltas()) {
      auto& out = deltas[cd.channel()];
      for (const std::string& key : cd.keys()) {
        KITE_ASSIGN_OR_RETURN(auto d, ReadDeltaFile(store_, key));
        out.insert(out.end(), std::make_move_iterator(d.begin()), std::make_move_iterator(d.end()));
      }
    }
    return Status::OK();
  };
  std::vector<SegmentPtr> added;
  for (const rolepb::SegmentLoad& load : req.segments()) {
    SegmentPtr seg;
    for (const SegmentPtr& l : local) {
      if (l && l->id().value == load.id()) seg = l;
    }
    if (!seg) {
      KITE_RETURN_IF_ERROR(read_deltas());
      KITE_ASSIGN_OR_RETURN(seg, ReadSegment(collection, load, schema, deltas[load.channel()], resp));
    }
    added.push_back(std::move(seg));
  }
  std::lock_guard load_lock(load_mu_);
  std::unique_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) {
    if (req.collection_info().empty() && !req.register_collection()) return Status::OK();
    it = loaded_.emplace(collection.value, std::vector<SegmentPtr>{}).first;
  }
  if (!req.collection_info().empty()) schemas_[collection.value] = schema;
  std::vector<SegmentPtr> kept;
  for (auto& seg : it->second) {
    const bool replaced = std::find(req.replace().begin(), req.replace().end(), seg->id().value) != req.replace().end();
    bool reloaded = false;
    for (const SegmentPtr& a : added) reloaded = reloaded || a->id() == seg->id();
    if (!replaced && !reloaded) {
      kept.push_back(std::move(seg));
    } else if (replaced && added.size() == 1) {
      // Deletes that reached the old segment after the compaction read its files.
      added[0]->CopyDeletesFrom(*seg);
    }
  }
  for (auto& a : added) kept.push_back(std::move(a));
  it->second = std::move(kept);
  return Status::OK();
}

Status QueryNode::ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) {
  if (segments.empty()) {
    Release(collection);
    return Status::OK();
  }
  std::lock_guard load_lock(load_mu_);
  std::unique_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return Status::OK();
  std::erase_if(it->second, [&](const SegmentPtr& seg) {
    return std::find(segments.begin(), segments.end(), seg->id()) != segments.end();
  });
  return Status::OK();
}

Status QueryNode::ApplyDeletes(CollectionId collection, const std::string& channel,
                               const std::vector<DeleteRecord>& deletes) {
  std::shared_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  if (it == loaded_.end()) return Status::OK();
  for (const auto& seg : it->second) {
    if (!channel.empty() && seg->meta().channel != channel) continue;
    for (const DeleteRecord& d : deletes) {
      if (d.partition == 0 || seg->meta().partition_id.value == d.partition) seg->ApplyDelete(d.pk, d.ts);
    }
  }
  return Status::OK();
}

Status QueryNode::LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                            std::shared_ptr<const index::VectorIndex> local_vector,
                            std::shared_ptr<const index::ScalarIndex> local_scalar) {
  SegmentPtr seg = FindSegment(collection, rec.segment);
  if (!seg || seg->HasIndex(rec.index)) return Status::OK();
  if (local_vector) {
    seg->AttachVectorIndex(rec.field, rec.index, std::move(local_vector));
    return Status::OK();
  }
  if (local_scalar) {
    seg->AttachScalarIndex(rec.field, rec.index, std::move(local_scalar));
    return Status::OK();
  }
  return LoadIndexFile(store_, rec, seg.get());
}

SegmentPtr QueryNode::FindSegment(CollectionId collection, SegmentId segment) const {
  for (auto& seg : Segments(collection)) {
    if (seg->id() == segment) return seg;
  }
  return nullptr;
}

Status QueryNode::DetachIndex(CollectionId collection, IndexId index) {
  for (const auto& seg : Segments(collection)) seg->DetachIndex(index);
  return Status::OK();
}

void QueryNode::Release(CollectionId collection) {
  std::unique_lock lock(mu_);
  loaded_.erase(collection.value);
  schemas_.erase(collection.value);
}

std::vector<CollectionId> QueryNode::LoadedCollections() const {
  std::shared_lock lock(mu_);
  std::vector<CollectionId> out;
  for (const auto& [id, segs] : loaded_) out.emplace_back(id);
  return out;
}

bool QueryNode::IsLoaded(CollectionId collection) const {
  std::shared_lock lock(mu_);
  return loaded_.count(collection.value) > 0;
}

std::vector<SegmentSummary> QueryNode::LoadedSegments(CollectionId collection) const {
  std::vector<SegmentSummary> out;
  for (const SegmentPtr& seg : Segments(collection)) {
    out.push_back({seg->id(), seg->meta().partition_id, seg->num_rows(), static_cast<int64_t>(seg->MemoryBytes()),
                   false, seg->meta().channel});
  }
  return out;
}

std::vector<SegmentPtr> QueryNode::Segments(CollectionId collection) const {
  std::shared_lock lock(mu_);
  auto it = loaded_.find(collection.value);
  return it == loaded_.end() ? std::vector<SegmentPtr>{} : it->second;
}

std::pair<std::shared_ptr<const CollectionSchema>, std::vector<SegmentPtr>> QueryNode::ScopeSegments(
    const rolepb::ReadScope& scope, bool* missing) const {
  std::shared_lock lock(mu_);
  auto s = schemas_.find(scope.collection());
  auto it = loaded_.find(scope.collection());
  if (s == schemas_.end() || it == loaded_.end()) return {};
  std::vector<SegmentPtr> segs;
  for (const SegmentPtr& seg : it->second) {
    if (InScope(*seg, scope)) segs.push_back(seg);
  }
  if (scope.segments_size() > 0 && static_cast<int>(segs.size()) != scope.segments_size()) {
    // The sender's view names a segment this node does not hold (it was
    // released, or this node restarted): refuse rather than answer without it.
    *missing = true;
  }
  return {s->second, std::move(segs)};
}

namespace {
Status NotLoadedHere(int64_t collection) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded,
                    "collection not loaded[collection={}]", collection);
}
Status SegmentsMissing(const rolepb::ReadScope& scope) {
  return MakeStatus(StatusCode::kNotFound, Reason::kNone,
                    "query node does not hold every segment asked for[collection={}, channel={}]", scope.collection(),
                    scope.channel());
}
}  // namespace

Status QueryNode::Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
  bool missing = false;
  auto [schema, segs] = ScopeSegments(req.scope(), &missing);
  if (!schema) return NotLoadedHere(req.scope().collection());
  if (missing) return SegmentsMissing(req.scope());
  KITE_ASSIGN_OR_RETURN(*out, ExecuteSearch(req, *schema, segs, cancelled));
  return Status::OK();
}

Status QueryNode::Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
  bool missing = false;
  auto [schema, segs] = ScopeSegments(req.scope(), &missing);
  if (!schema) return NotLoadedHere(req.scope().collection());
  if (missing) return SegmentsMissing(req.scope());
  KITE_ASSIGN_OR_RETURN(*out, ExecuteRetrieve(req, *schema, segs));
  return Status::OK();
}

Status QueryNode::ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
  bool missing = false;
  auto [schema, segs] = ScopeSegments(req.scope(), &missing);
  if (!schema) return NotLoadedHere(req.scope().collection());
  if (missing) return SegmentsMissing(req.scope());
  AddReadStats(req, segs, resp);
  return Status::OK();
}

}  // namespace kite
