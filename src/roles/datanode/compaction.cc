// DataNode compaction: planning, execution and manual jobs (see data_node.h).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "roles/datanode/data_node.h"
#include "roles/api/role_codec.h"
#include "roles/coordinator/catalog_codec.h"
#include "segment/segment.h"
#include "segment/segment_file.h"

namespace kite {
namespace {

struct DeleteEntry {
  Timestamp ts;
  int64_t partition;
};

std::string PkKey(const PrimaryKey& pk) {
  if (const auto* i = std::get_if<int64_t>(&pk)) return "i" + std::to_string(*i);
  return "s" + std::get<std::string>(pk);
}

// Every persisted delete of a channel, by key.
Result<std::map<std::string, std::vector<DeleteEntry>>> ChannelDeletes(ObjectStore* store,
                                                                       const ChannelCheckpoint& chk) {
  std::map<std::string, std::vector<DeleteEntry>> out;
  for (const auto& key : chk.delta_keys) {
    KITE_ASSIGN_OR_RETURN(auto deletes, ReadDeltaFile(store, key));
    for (const auto& d : deletes) out[PkKey(d.pk)].push_back({d.ts, d.partition});
  }
  return out;
}

bool RowDeleted(const std::map<std::string, std::vector<DeleteEntry>>& deletes, const PrimaryKey& pk, Timestamp ts,
                int64_t partition) {
  auto it = deletes.find(PkKey(pk));
  if (it == deletes.end()) return false;
  for (const auto& d : it->second) {
    if ((d.partition == 0 || d.partition == partition) && ts < d.ts) return true;
  }
  return false;
}

}  // namespace

Result<int64_t> DataNode::RequestCompaction(CollectionId collection) {
  int64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_job_++;
    CompactionJob job;
    job.state = CompactionJobState::kExecuting;
    jobs_[id] = {collection.value, job};
  }
  Kick();
  return id;
}

CompactionJob DataNode::GetCompaction(int64_t job) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job);
  return it == jobs_.end() ? CompactionJob{} : it->second.second;
}

bool DataNode::CompactionPass(const std::vector<CollectionView>& collections) {
  std::vector<std::pair<int64_t, int64_t>> manual;  // (job, collection)
  bool auto_due = false;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, j] : jobs_) {
      if (j.second.state == CompactionJobState::kExecuting && j.second.plans == 0) manual.push_back({id, j.first});
    }
    auto now = std::chrono::steady_clock::now();
    if (options_.compaction_interval_ms > 0 &&
        now - last_auto_compaction_ >= std::chrono::milliseconds(options_.compaction_interval_ms)) {
      auto_due = true;
      last_auto_compaction_ = now;
    }
  }
  bool worked = false;
  auto find = [&](int64_t cid) -> const CollectionView* {
    for (const auto& c : collections) {
      if (c.info.id.value == cid) return &c;
    }
    return nullptr;
  };
  for (const auto& [job, cid] : manual) {
    const CollectionView* c = find(cid);
    std::vector<Plan> plans;
    if (c) {
      auto p = PlanCompactions(*c, /*manual=*/true);
      if (p.ok()) {
        plans = std::move(p).value();
      } else if (p.status().code() == StatusCode::kIOError) {
        spdlog::warn("compaction of {} deferred: {}", c->info.schema.name, p.status().ToString());
        continue;  // still executing and unplanned: a later pass plans it
      }
    }
    {
      std::lock_guard lock(mu_);
      jobs_[job].second.plans = static_cast<int64_t>(plans.size());
    }
    bool deferred = false;
    for (const Plan& plan : plans) {
      Status st = RunCompaction(*c, plan);
      std::lock_guard lock(mu_);
      storage_failing_ = st.code() == StatusCode::kIOError;
      if (st.ok()) {
        worked = true;
        ++jobs_[job].second.completed;
      } else if (st.code() == StatusCode::kIOError) {
        // The object store is unreachable (S3 down): the job stays executing
        // and a later pass plans what is left again.
        spdlog::warn("compaction of {} deferred: {}", c->info.schema.name, st.ToString());
        deferred = true;
        break;
      } else {
        worked = true;
        spdlog::warn("compaction of {} failed: {}", c->info.schema.name, st.ToString());
        ++jobs_[job].second.failed;
      }
    }
    std::lock_guard lock(mu_);
    if (deferred) {
      jobs_[job].second.plans = 0;
      jobs_[job].second.completed = 0;
      continue;
    }
    jobs_[job].second.state = CompactionJobState::kCompleted;
  }
  if (auto_due) {
    for (const auto& c : collections) {
      if (!AutoCompactionOn(c)) continue;
      auto plans = PlanCompactions(c, /*manual=*/false);
      if (!plans.ok()) continue;
      for (const Plan& plan : plans.value()) {
        Status st = RunCompaction(c, plan);
        worked = true;
        if (!st.ok()) spdlog::warn("compaction of {} failed: {}", c.info.schema.name, st.ToString());
      }
    }
  }
  return worked;
}

bool DataNode::AutoCompactionOn(const CollectionView& c) const {
  if (options_.compaction_interval_ms <= 0) return false;
  auto it = c.info.properties.find("collection.autocompaction.enabled");
  return it == c.info.properties.end() || it->second != "false";
}

bool DataNode::MergeBeforeBuild(const CollectionView& c, const std::set<std::pair<int64_t, int64_t>>& built) {
  if (!AutoCompactionOn(c)) return false;
  std::set<int64_t> indexed;  // segments with any index
  for (const auto& [seg, idx] : built) indexed.insert(seg);
  Result<std::vector<SegmentRecord>> listed = registry_->ListSegments(c.info.id);
  if (!listed.ok()) return false;
  const std::vector<SegmentRecord>& segs = *listed;
  int64_t fresh = 0;
  for (const auto& s : segs) fresh += !indexed.count(s.id.value);
  if (fresh < 2) return false;  // nothing to merge before building
  auto plans = PlanCompactions(c, /*manual=*/false);
  if (!plans.ok()) return false;
  bool merged = false;
  for (const Plan& plan : plans.value()) {
    if (plan.segments.size() < 2) continue;
    bool all_fresh = std::none_of(plan.segments.begin(), plan.segments.end(),
                                  [&](const SegmentRecord& s) { return indexed.count(s.id.value) > 0; });
    if (!all_fresh) continue;  // left to the periodic check
    Status st = RunCompaction(c, plan);
    if (!st.ok()) {
      spdlog::warn("compaction of {} before its index build failed: {}", c.info.schema.name, st.ToString());
      continue;
    }
    merged = true;
  }
  return merged;
}

Result<std::vector<DataNode::Plan>> DataNode::PlanCompactions(const CollectionView& c, bool manual) {
  const FieldSchema* pk_field = c.info.schema.PrimaryField();
  // Segments by (channel, partition).
  std::map<std::pair<std::string, int64_t>, std::vector<SegmentRecord>> groups;
  KITE_ASSIGN_OR_RETURN(std::vector<SegmentRecord> listed, registry_->ListSegments(c.info.id));
  for (auto& s : listed) groups[{s.channel, s.partition_id.value}].push_back(s);

  std::vector<Plan> plans;
  const int64_t small = static_cast<int64_t>(options_.small_proportion * static_cast<double>(options_.segment_bytes_max));
  for (auto& [key, segs] : groups) {
    KITE_ASSIGN_OR_RETURN(ChannelCheckpoint chk, registry_->GetCheckpoint(key.first));
    std::map<std::string, std::vector<DeleteEntry>> deletes;
    if (!chk.delta_keys.empty()) {
      KITE_ASSIGN_OR_RETURN(deletes, ChannelDeletes(store_, chk));
    }
    // Deleted rows per segment, from its keys and timestamps only.
    std::map<int64_t, int64_t> deleted;
    if (!deletes.empty()) {
      for (const auto& s : segs) {
        std::vector<std::string> keys = SegmentFilesFor(s.files, {pk_field->id});
        ColumnBatch cols;
        std::vector<Timestamp> ts;
        KITE_RETURN_IF_ERROR(ReadSegmentFiles(store_, keys, &cols, &ts));
        const Column* pks = cols.Find(pk_field->id);
        if (!pks) return Corruption("segment {} lacks its primary key column", s.id.value);
        int64_t n = 0;
        for (int64_t r = 0; r < pks->num_rows; ++r) n += RowDeleted(deletes, PkAt(*pks, r), ts[r], key.second);
        deleted[s.id.value] = n;
      }
    }
    auto size_of = [&](const SegmentRecord& s) {
      int64_t bytes = s.size_bytes > 0 ? s.size_bytes : 1;
      // Purged rows leave the result.
      if (s.num_rows > 0) bytes = bytes * (s.num_rows - deleted[s.id.value]) / s.num_rows;
      return bytes;
    };
    std::vector<SegmentRecord> small_segs;
    for (const auto& s : segs) {
      int64_t d = deleted[s.id.value];
      bool purge = manual ? d > 0 : static_cast<double>(d) > options_.delete_ratio * static_cast<double>(s.num_rows);
      if (size_of(s) < small) {
        small_segs.push_back(s);
      } else if (purge) {
        plans.push_back(Plan{{s}});
      }
    }
    // Pack small segments, oldest first, into results below the max size.
    std::sort(small_segs.begin(), small_segs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    Plan cur;
    int64_t cur_bytes = 0;
    auto close = [&] {
      bool has_deletes = std::any_of(cur.segments.begin(), cur.segments.end(),
                                     [&](const SegmentRecord& s) { return deleted[s.id.value] > 0; });
      if (cur.segments.size() >= 2 || (cur.segments.size() == 1 && has_deletes &&
                                       (manual || static_cast<double>(deleted[cur.segments[0].id.value]) >
                                                      options_.delete_ratio *
                                                          static_cast<double>(cur.segments[0].num_rows)))) {
        plans.push_back(std::move(cur));
      }
      cur = Plan{};
      cur_bytes = 0;
    };
    for (const auto& s : small_segs) {
      int64_t b = size_of(s);
      if (!cur.segments.empty() && cur_bytes + b > static_cast<int64_t>(options_.segment_bytes_max)) close();
      cur.segments.push_back(s);
      cur_bytes += b;
    }
    if (!cur.segments.empty()) close();
  }
  return plans;
}

Result<CompactedSegment> RunCompactionTask(ObjectStore* store, const datapb::CompactRequest& req) {
  if (req.inputs().empty()) return InvalidArgument("compaction task without inputs");
  if (req.input_lsns_size() != req.inputs_size()) return InvalidArgument("compaction task: one lsn per input");
  KITE_ASSIGN_OR_RETURN(CollectionInfo info, DecodeCollection(req.collection_info()));
  auto schema = std::make_shared<const CollectionSchema>(std::move(info.schema));
  const rolepb::SegmentLoad& first = req.inputs(0);
  SegmentMeta meta{SegmentId(req.result_segment()), CollectionId(req.collection()), PartitionId(first.partition()),
                   first.channel()};
  auto merged = std::make_shared<Segment>(meta, schema);
  ChannelCheckpoint chk;
  chk.delta_keys.assign(req.delta_keys().begin(), req.delta_keys().end());
  KITE_ASSIGN_OR_RETURN(auto deletes, ChannelDeletes(store, chk));
  CompactedSegment out;
  uint64_t lsn = 0;
  int64_t input_rows = 0;
  int64_t most_rows = 0;
  for (const rolepb::SegmentLoad& in : req.inputs()) most_rows += in.num_rows();
  merged->Reserve(most_rows);  // grown once, not by doubling (old + new buffers at each step)
  for (int i = 0; i < req.inputs_size(); ++i) {
    const rolepb::SegmentLoad& in = req.inputs(i);
    ColumnBatch cols;
    std::vector<Timestamp> tss;
    const std::vector<std::string> files(in.files().begin(), in.files().end());
    KITE_RETURN_IF_ERROR(ReadSegmentFiles(store, files, &cols, &tss));
    for (const Column& col : cols.columns) {
      const FieldSchema* f = schema->FindField(col.field_id);
      if (col.num_rows != static_cast<int64_t>(tss.size()) || (f && f->type != col.type)) {
        return Corruption("segment {} column {} has {} rows of type {}, expected {} rows of the schema's type",
                          in.id(), col.field_id.value, col.num_rows, static_cast<int>(col.type), tss.size());
      }
    }
    const Column* pks = cols.Find(schema->PrimaryField()->id);
    if (!pks) return Corruption("segment {} lacks its primary key column", in.id());
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < cols.num_rows; ++r) {
      if (!RowDeleted(deletes, PkAt(*pks, r), tss[r], in.partition())) keep.push_back(r);
    }
    if (static_cast<int64_t>(keep.size()) == cols.num_rows) {
      merged->Append(cols, tss);  // nothing purged: no selected copy
    } else {
      ColumnBatch sel;
      sel.num_rows = static_cast<int64_t>(keep.size());
      for (const auto& col : cols.columns) sel.columns.push_back(col.Select(keep));
      std::vector<Timestamp> sel_ts;
      sel_ts.reserve(keep.size());
      for (int64_t r : keep) sel_ts.push_back(tss[r]);
      merged->Append(sel, sel_ts);
    }
    lsn = std::max(lsn, req.input_lsns(i));
    input_rows += in.num_rows();
  }
  merged->Seal();
  datapb::CompactResponse& r = out.result;
  r.set_num_rows(merged->num_rows());
  r.set_max_ts(merged->max_timestamp());
  r.set_size_bytes(static_cast<int64_t>(merged->MemoryBytes()));
  r.set_checkpoint_lsn(lsn);
  r.set_input_rows(input_rows);
  if (merged->num_rows() > 0) {
    Status st;
    merged->WithColumns([&](const ColumnBatch& cols, const std::vector<Timestamp>& ts) {
      auto keys = WriteSegmentFiles(store, SegmentPrefix(meta.collection_id, meta.id), cols, ts);
      if (!keys.ok()) {
        st = keys.status();
        return;
      }
      for (std::string& k : *keys) r.add_files(std::move(k));
    });
    KITE_RETURN_IF_ERROR(st);
  }
  out.merged = std::move(merged);
  return out;
}

Status DataNode::RunCompaction(const CollectionView& c, const Plan& plan) {
  auto start = std::chrono::steady_clock::now();
  const SegmentRecord& first = plan.segments.front();
  KITE_ASSIGN_OR_RETURN(int64_t new_id, coord_->AllocIds(1));
  KITE_ASSIGN_OR_RETURN(ChannelCheckpoint chk, registry_->GetCheckpoint(first.channel));
  datapb::CompactRequest task;
  task.set_collection(c.info.id.value);
  task.set_collection_name(c.info.schema.name);
  task.set_collection_info(EncodeCollection(c.info));
  task.set_result_segment(new_id);
  std::vector<SegmentId> removed;
  for (const SegmentRecord& rec : plan.segments) {
    *task.add_inputs() = SegmentLoadOf(rec, {});
    task.add_input_lsns(rec.checkpoint_lsn);
    removed.push_back(rec.id);
  }
  for (const std::string& k : chk.delta_keys) task.add_delta_keys(k);
  // The merge runs on a worker (this process's, or a data node process's:
  // UseWorkers); the result is committed and handed over here.
  DataWorkerApi* worker = workers_ ? workers_ : local_worker_.get();
  KITE_ASSIGN_OR_RETURN(CompactedSegment done, worker->Compact(task));

  SegmentRecord added;
  added.id = SegmentId(new_id);
  added.collection_id = c.info.id;
  added.partition_id = first.partition_id;
  added.channel = first.channel;
  added.checkpoint_lsn = done.result.checkpoint_lsn();
  added.num_rows = done.result.num_rows();
  added.max_ts = done.result.max_ts();
  added.size_bytes = done.result.size_bytes();
  added.files.assign(done.result.files().begin(), done.result.files().end());
  auto garbage = registry_->CommitCompaction(c.info.id, removed, added);
  if (!garbage.ok()) {
    // An input went away meanwhile (dropped collection): the result is garbage.
    (void)store_->DeletePrefix(SegmentPrefix(c.info.id, added.id));
    return garbage.status().code() == StatusCode::kFailedPrecondition ? Status::OK() : garbage.status();
  }
  // Hand the result to the query nodes in one step for readers: the inputs
  // leave as the merged segment arrives (its files are committed above).
  Status handed;
  if (added.num_rows > 0) {
    rolepb::LoadSegmentsRequest req;
    req.set_collection(c.info.id.value);
    *req.add_segments() = SegmentLoadOf(added, {});
    for (SegmentId r : removed) req.add_replace(r.value);
    std::vector<SegmentPtr> local;
    if (done.merged) local.push_back(std::move(done.merged));
    handed = query_node_->LoadSegments(req, std::move(local), nullptr);
  } else {
    handed = query_node_->ReleaseSegments(c.info.id, removed);
  }
  if (!handed.ok()) spdlog::warn("compaction of {}: hand-over failed: {}", c.info.schema.name, handed.ToString());
  // The inputs' files are garbage recorded by the commit: a reader that
  // listed them (an index build, a loading node) still finds them until the
  // garbage collector's dropTolerance has passed.
  spdlog::info("compacted: collection={} segments={} rows={} -> segment={} rows={} ms={}", c.info.schema.name,
               removed.size(), done.result.input_rows(), new_id, added.num_rows,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                   .count());
  return Status::OK();
}

}  // namespace kite
