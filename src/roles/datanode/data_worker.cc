#include "roles/datanode/data_worker.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>

#include "index/index_params.h"
#include "roles/api/role_codec.h"
#include "segment/index_file.h"
#include "segment/segment_file.h"

namespace kite {

datapb::BuildIndexRequest IndexBuildTask(CollectionId collection, const std::string& collection_name,
                                         const SegmentRecord& segment, const IndexInfo& index) {
  datapb::BuildIndexRequest req;
  req.set_collection(collection.value);
  req.set_collection_name(collection_name);
  *req.mutable_segment() = SegmentLoadOf(segment, {});
  datapb::IndexSpec* spec = req.mutable_index();
  spec->set_id(index.id.value);
  spec->set_field(index.field_id.value);
  spec->set_name(index.name);
  for (const auto& [k, v] : index.resolved_params) (*spec->mutable_params())[k] = v;
  return req;
}

void DataWorkerPool::Add(int64_t id, std::string address, std::shared_ptr<DataWorkerApi> worker) {
  std::lock_guard lock(mu_);
  Entry& e = workers_[id];
  e.address = std::move(address);
  e.api = std::move(worker);
  spdlog::info("data node {} at {} joined: index builds go to it", id, e.address);
}

void DataWorkerPool::Remove(int64_t id) {
  std::shared_ptr<DataWorkerApi> gone;
  {
    std::lock_guard lock(mu_);
    auto it = workers_.find(id);
    if (it == workers_.end()) return;
    gone = std::move(it->second.api);
    workers_.erase(it);
  }
  spdlog::warn("data node {} left: its builds go to the others", id);
  gone->CancelInFlight();  // a build waiting on it (paused, not dead) is given to another now
}

int DataWorkerPool::Parallelism() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(workers_.size());
}

std::vector<DataWorkerPool::Worker> DataWorkerPool::Workers() const {
  std::lock_guard lock(mu_);
  std::vector<Worker> out;
  for (const auto& [id, e] : workers_) out.push_back(Worker{id, e.address, e.builds});
  return out;
}

template <typename Out>
Result<Out> DataWorkerPool::Dispatch(const std::string& what,
                                     const std::function<Result<Out>(DataWorkerApi*)>& task) {
  std::set<int64_t> tried;
  for (;;) {
    int64_t id = 0;
    std::shared_ptr<DataWorkerApi> api;
    {
      std::lock_guard lock(mu_);
      for (auto& [wid, e] : workers_) {
        if (tried.count(wid)) continue;
        if (!api || e.running + e.builds < workers_.at(id).running + workers_.at(id).builds) {
          id = wid;
          api = e.api;
        }
      }
      if (!api) {
        return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "no data node available for {} ({} tried)",
                          what, tried.size());
      }
      workers_.at(id).running++;
    }
    tried.insert(id);
    Result<Out> r = task(api.get());
    std::lock_guard lock(mu_);
    auto it = workers_.find(id);
    if (it != workers_.end()) {
      it->second.running--;
      if (r.ok()) it->second.builds++;
    }
    const Status& st = r.status();
    if (r.ok() || !(st.code() == StatusCode::kIOError && st.message().starts_with("role peer unavailable"))) {
      if (r.ok()) spdlog::info("{} done on data node {}", what, id);
      return r;
    }
    spdlog::warn("data node {} did not complete {}: {}; trying another", id, what, st.message());
  }
}

Result<BuiltIndex> DataWorkerPool::BuildIndex(const datapb::BuildIndexRequest& req) {
  return Dispatch<BuiltIndex>(fmt::format("the build of index {} of segment {}", req.index().name(), req.segment().id()),
                              [&](DataWorkerApi* w) { return w->BuildIndex(req); });
}

Result<CompactedSegment> DataWorkerPool::Compact(const datapb::CompactRequest& req) {
  return Dispatch<CompactedSegment>(
      fmt::format("the compaction of {} segments of collection {} into segment {}", req.inputs_size(),
                  req.collection_name(), req.result_segment()),
      [&](DataWorkerApi* w) { return w->Compact(req); });
}

Result<CompactedSegment> LocalDataWorker::Compact(const datapb::CompactRequest& req) {
  return RunCompactionTask(store_, req);
}

Result<BuiltIndex> LocalDataWorker::BuildIndex(const datapb::BuildIndexRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  const CollectionId collection(req.collection());
  const SegmentId seg(req.segment().id());
  const FieldId field(req.index().field());
  const IndexId index_id(req.index().id());
  std::map<std::string, std::string> params(req.index().params().begin(), req.index().params().end());
  // When the query node in this process holds the segment, build from its
  // column: reading the files would hold a second copy for the whole build
  // (a 512 MB vector column for a merged 1M x 128 segment). `held` keeps it alive.
  SegmentPtr held = query_node_ ? query_node_->FindSegment(collection, seg) : nullptr;
  const Column* column = held ? held->SealedColumn(field) : nullptr;
  ColumnBatch columns;
  if (!column) {
    const std::vector<std::string> files(req.segment().files().begin(), req.segment().files().end());
    std::vector<Timestamp> ts;
    KITE_RETURN_IF_ERROR(ReadSegmentFiles(store_, SegmentFilesFor(files, {field}), &columns, &ts));
    column = columns.Find(field);
  }
  if (!column) return Internal("segment {} has no column for field {}", seg.value, field.value);
  const bool is_vector = IsVectorType(column->type);
  const bool emb_list = column->type == DataType::kArrayOfVector;
  BuiltIndex out;
  std::string payload;
  std::string type_name;
  if (emb_list) {
    // Embedding lists (struct vector sub-fields) are searched exactly with
    // the MAX_SIM metrics; the index file (no payload) marks the segment done.
    type_name = params.count("index_type") ? params.at("index_type") : "";
  } else if (is_vector) {
    KITE_ASSIGN_OR_RETURN(auto built, index::BuildVectorIndex(params, *column, build_threads_));
    KITE_RETURN_IF_ERROR(built->Serialize(&payload));
    type_name = built->type();
    out.vector = std::move(built);
  } else {
    KITE_ASSIGN_OR_RETURN(auto built, index::BuildScalarIndex(ScalarBuildParams(params), *column));
    KITE_RETURN_IF_ERROR(built->Serialize(&payload));
    type_name = params.count("index_type") ? params.at("index_type") : "";
    out.scalar = std::move(built);
  }
  IndexFileHeader h;
  h.segment = seg;
  h.index = index_id;
  h.field = field;
  h.kind = emb_list ? "emb_list" : is_vector ? "vector" : "scalar";
  h.params = is_vector || emb_list ? params : ScalarBuildParams(params);
  h.rows = column->num_rows;
  const std::string key = IndexFileKey(collection, index_id, seg);
  KITE_ASSIGN_OR_RETURN(int64_t bytes, WriteIndexFile(store_, key, h, payload));
  out.file.set_key(key);
  out.file.set_num_rows(column->num_rows);
  out.file.set_file_bytes(bytes);
  out.file.set_build_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  out.file.set_index_type(type_name);
  return out;
}

}  // namespace kite
