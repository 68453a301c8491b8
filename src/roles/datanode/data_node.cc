#include "roles/datanode/data_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "index/index_params.h"
#include "index/scalar/scalar_index.h"
#include "index/vector_index.h"
#include "segment/index_file.h"
#include "segment/segment_file.h"

namespace kite {

DataNode::DataNode(ObjectStore* store, SegmentMetaApi* registry, CoordinatorApi* coordinator, QueryNodeApi* query_node,
                   DataNodeOptions options)
    : store_(store), registry_(registry), coord_(coordinator), query_node_(query_node), options_(options) {
  if (options_.build_threads <= 0) {
    options_.build_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  local_worker_ = std::make_unique<LocalDataWorker>(store_, query_node_, options_.build_threads);
}

DataNode::~DataNode() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DataNode::Start() { worker_ = std::thread([this] { Loop(); }); }

void DataNode::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void DataNode::WaitIdle() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The first pass to start after this kick must end; if it found nothing
    // to do, everything visible now is built.
    uint64_t target = passes_ + (in_pass_ ? 2 : 1);
    kicked_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return stopping_ || passes_ >= target; });
    if (last_pass_idle_) return;
  }
}

void DataNode::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    kicked_ = false;
    in_pass_ = true;
    lock.unlock();
    bool worked = Pass();
    lock.lock();
    in_pass_ = false;
    ++passes_;
    last_pass_idle_ = !worked;
    cv_.notify_all();
    if (worked) continue;  // more may be waiting
    cv_.wait_for(lock, std::chrono::milliseconds(options_.scan_interval_ms), [&] { return stopping_ || kicked_; });
  }
}

bool DataNode::Pass() {
  auto all = coord_->ListAllCollections();
  if (!all.ok()) return false;
  bool worked = CompactionPass(all.value());
  for (const CollectionView& c : all.value()) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return worked;
    }
    worked |= PassCollection(c);
  }
  return worked;
}

bool DataNode::PassCollection(const CollectionView& c) {
  auto defs_or = coord_->DescribeIndex(c.db_name, c.info.schema.name, "", "");
  std::vector<IndexInfo> defs = defs_or.ok() ? defs_or.value() : std::vector<IndexInfo>{};
  // Definitions no segment builds (see ScalarBuildParams).
  defs.erase(std::remove_if(defs.begin(), defs.end(),
                            [](const IndexInfo& d) { return IsUnbuiltJsonPathIndex(d.resolved_params); }),
             defs.end());
  std::set<int64_t> defined;
  for (const auto& d : defs) defined.insert(d.id.value);

  // Indexes whose definition is gone: forget records, files and attached copies.
  bool worked = false;
  std::set<int64_t> orphaned;
  Result<std::vector<SegmentIndexRecord>> seg_indexes = registry_->ListSegmentIndexes(c.info.id);
  if (!seg_indexes.ok()) {
    spdlog::warn("collection {}: segment indexes not listed: {}", c.info.schema.name, seg_indexes.status().ToString());
    return false;
  }
  for (const auto& r : *seg_indexes) {
    if (!defined.count(r.index.value)) orphaned.insert(r.index.value);
  }
  for (int64_t idx : orphaned) {
    auto keys = registry_->DropIndex(c.info.id, IndexId(idx));
    if (!keys.ok()) {
      spdlog::warn("cannot drop records of index {}: {}", idx, keys.status().ToString());
      continue;
    }
    (void)query_node_->DetachIndex(c.info.id, IndexId(idx));
    // The files are garbage recorded by DropIndex, deleted by the garbage collector.
    worked = true;
  }

  // Missing builds.
  std::set<std::pair<int64_t, int64_t>> built;  // (segment, index)
  seg_indexes = registry_->ListSegmentIndexes(c.info.id);
  if (!seg_indexes.ok()) {
    spdlog::warn("collection {}: segment indexes not listed: {}", c.info.schema.name, seg_indexes.status().ToString());
    return worked;
  }
  for (const auto& r : *seg_indexes) built.insert({r.segment.value, r.index.value});
  if (!defs.empty() && MergeBeforeBuild(c, built)) {
    // The inputs are gone; the merged segment is built now, in this pass
    // (the segment list below is read again): waiting for the next pass let
    // a continuous insert-and-flush load merge it again with each new
    // segment before it was ever built, so create_index never finished.
    worked = true;
  }
  for (const auto& def : defs) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return worked;
      if (failed_.count(def.id.value)) continue;
    }
    const FieldSchema* f = c.info.schema.FindField(def.field_id);
    if (!f) continue;
    Result<std::vector<SegmentRecord>> segments = registry_->ListSegments(c.info.id);
    if (!segments.ok()) {
      spdlog::warn("collection {}: segments not listed: {}", c.info.schema.name, segments.status().ToString());
      return worked;
    }
    std::vector<const SegmentRecord*> todo;
    for (const SegmentRecord& seg : *segments) {
      if (!built.count({seg.id.value, def.id.value})) todo.push_back(&seg);
    }
    // Builds run `width` at a time: one in this process (its build uses
    // every core), one per data node process with kite.dataNodes: remote.
    const size_t width = static_cast<size_t>(std::max(1, (workers_ ? workers_ : local_worker_.get())->Parallelism()));
    bool stop_def = false;
    for (size_t first = 0; first < todo.size() && !stop_def; first += width) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return worked;
      }
      const size_t n = std::min(width, todo.size() - first);
      std::vector<Status> results(n);
      if (n == 1) {
        results[0] = Build(c, def, *todo[first]);
      } else {
        std::vector<std::thread> threads;
        for (size_t i = 0; i < n; ++i) {
          threads.emplace_back([&, i] { results[i] = Build(c, def, *todo[first + i]); });
        }
        for (std::thread& t : threads) t.join();
      }
      for (size_t i = 0; i < n; ++i) {
        const Status& st = results[i];
        const SegmentRecord& seg = *todo[first + i];
        // No data node process to build on is not the object store's fault.
        if (st.reason() != Reason::kServiceUnavailable) storage_failing_ = st.code() == StatusCode::kIOError;
        if (st.code() == StatusCode::kIOError) {
          // The object store is unreachable (S3 down, a full disk): not the
          // index's fault, so it is not marked failed; a later pass retries.
          spdlog::warn("index build deferred: collection={} index={} segment={}: {}", c.info.schema.name, def.name,
                       seg.id.value, st.ToString());
          stop_def = true;
          continue;
        }
        worked = true;
        if (!st.ok()) {
          spdlog::warn("index build failed: collection={} index={} segment={}: {}", c.info.schema.name, def.name,
                       seg.id.value, st.ToString());
          std::lock_guard lock(mu_);
          failed_.emplace(def.id.value, st.message());
          stop_def = true;
        }
      }
    }
  }
  return worked;
}

Status DataNode::Build(const CollectionView& c, const IndexInfo& def, const SegmentRecord& seg) {
  // The build runs on a worker (this process's, or a data node process's:
  // UseWorkers); the result is committed and handed over here.
  DataWorkerApi* worker = workers_ ? workers_ : local_worker_.get();
  Result<BuiltIndex> built = worker->BuildIndex(IndexBuildTask(c.info.id, c.info.schema.name, seg, def));
  if (!built.ok()) {
    // The segment may have been compacted away since it was listed.
    Result<std::optional<SegmentRecord>> still = registry_->FindSegment(seg.id);
    if (still.ok() && !*still) return Status::OK();
    return built.status();
  }
  SegmentIndexRecord rec;
  rec.segment = seg.id;
  rec.index = def.id;
  rec.collection = c.info.id;
  rec.field = def.field_id;
  rec.key = built->file.key();
  rec.num_rows = built->file.num_rows();
  rec.file_bytes = built->file.file_bytes();
  rec.build_ms = built->file.build_ms();
  Status commit = registry_->CommitSegmentIndex(rec);
  if (!commit.ok()) {
    (void)store_->Delete(rec.key);
    // Segment compacted away meanwhile: nothing to index.
    return commit.code() == StatusCode::kFailedPrecondition ? Status::OK() : commit;
  }
  spdlog::info("index built: collection={} index={} type={} segment={} rows={} ms={}", c.info.schema.name, def.name,
               built->file.index_type(), seg.id.value, rec.num_rows, rec.build_ms);
  // The query node that holds the segment loads the index (from this
  // process's memory when it was built here, else from the file just committed).
  Status st = query_node_->LoadIndex(c.info.id, rec, std::move(built->vector), std::move(built->scalar));
  if (!st.ok()) spdlog::warn("index {} of segment {}: hand-over failed: {}", def.name, seg.id.value, st.ToString());
  return Status::OK();
}

namespace {

// The oldest row timestamp of a flushed segment, read from its timestamps
// file; 0 (= "old", so the segment counts) when it cannot be read. A segment
// flushed or merged after `as_of` may still hold rows from before it: merges
// of not-yet-indexed segments (DataNode::MergeBeforeBuild) fold the segments
// that existed at create_index into newer ones.
Timestamp OldestRowTimestamp(ObjectStore* store, const SegmentRecord& s) {
  for (const std::string& key : s.files) {
    if (key.size() < 6 || key.compare(key.size() - 6, 6, "ts.bin") != 0) continue;
    ColumnBatch unused;
    std::vector<Timestamp> ts;
    if (!ReadSegmentFiles(store, {key}, &unused, &ts).ok() || ts.empty()) return 0;
    return *std::min_element(ts.begin(), ts.end());
  }
  return 0;
}

}  // namespace

IndexProgress DataNode::Progress(CollectionId collection, const IndexInfo& index, Timestamp as_of) const {
  IndexProgress p;
  Result<std::vector<SegmentRecord>> segments = registry_->ListSegments(collection);
  Result<std::vector<SegmentIndexRecord>> seg_indexes = registry_->ListSegmentIndexes(collection);
  if (!segments.ok() || !seg_indexes.ok()) {
    // The segment meta did not answer: the state is unknown, reported as in progress.
    spdlog::warn("index {} progress: segment meta unavailable: {}", index.name,
                 (!segments.ok() ? segments.status() : seg_indexes.status()).ToString());
    p.pending_segments = 1;
    return p;
  }
  if (IsUnbuiltJsonPathIndex(index.resolved_params)) {
    // Built by no segment (filters on the path scan the JSON column): every row counts as indexed.
    for (const auto& s : *segments) p.total_rows += s.num_rows;
    p.indexed_rows = p.total_rows;
    return p;
  }
  if (as_of == 0) as_of = index.created_ts;
  std::set<int64_t> indexed;
  for (const auto& r : *seg_indexes) {
    if (r.index == index.id) indexed.insert(r.segment.value);
  }
  for (const auto& s : *segments) {
    p.total_rows += s.num_rows;
    if (indexed.count(s.id.value)) {
      p.indexed_rows += s.num_rows;
    } else if (s.num_rows > 0 && (as_of == 0 || s.max_ts <= as_of || OldestRowTimestamp(store_, s) <= as_of)) {
      ++p.pending_segments;  // holds rows that existed at as_of
    }
  }
  std::lock_guard lock(mu_);
  auto it = failed_.find(index.id.value);
  if (it != failed_.end()) {
    p.failed = true;
    p.fail_reason = it->second;
  }
  return p;
}

}  // namespace kite
