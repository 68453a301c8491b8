#include "rpc/import/import_jobs.h"

#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "roles/proxy/proxy.h"
#include "segment/segment.h"
#include "segment/segment_file.h"
#include "rpc/import/import_readers.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"

namespace kite::import {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kJobPrefix = "kite/import/";
constexpr int64_t kBatchRows = 8192;
constexpr size_t kMaxFilesPerRequest = 1024;  // Milvus dataCoord.import.maxFilesPerImportReq

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ImportFailed(const std::string& msg) {
  return MakeStatus(StatusCode::kInvalidArgument, Reason::kImportFailed, "{}: importing data failed", msg);
}

// What is persisted besides JobInfo: the request, and whether rows may
// already have been written.
struct Job {
  JobInfo info;
  ImportRequest request;
  bool writing = false;
  // Auto-id collections: the keys [first_id, first_id + id_count) were
  // allocated for the job's rows before the first write (0 rows: none).
  int64_t first_id = 0;
  int64_t id_count = 0;
  // Jobs written by this version write sealed segments and register them in
  // one commit at the end (isolated); the segments whose files it started
  // writing are recorded here, so that a restart can tell whether the commit
  // landed and otherwise delete their files. Older records (isolated false)
  // inserted through the WAL and are undone by key.
  bool isolated = false;
  std::vector<int64_t> segments;
};

Json JobToJson(const Job& j) {
  Json files = Json::array();
  for (const auto& f : j.request.files) files.push_back(f);
  Json progress = Json::array();
  for (const auto& f : j.info.files) {
    progress.push_back({{"name", f.name}, {"size", f.size}, {"total_rows", f.total_rows}, {"imported_rows", f.imported_rows}});
  }
  return {{"id", j.info.id},
          {"db", j.info.db},
          {"collection", j.info.collection},
          {"collection_id", j.info.collection_id},
          {"partition", j.info.partition},
          {"state", JobStateName(j.info.state)},
          {"reason", j.info.reason},
          {"progress", j.info.progress},
          {"total_rows", j.info.total_rows},
          {"imported_rows", j.info.imported_rows},
          {"create_ms", j.info.create_ms},
          {"complete_ms", j.info.complete_ms},
          {"files", files},
          {"file_progress", progress},
          {"options", j.request.options},
          {"writing", j.writing},
          {"first_id", j.first_id},
          {"id_count", j.id_count},
          {"isolated", j.isolated},
          {"segments", j.segments}};
}

JobState StateFromName(const std::string& s) {
  if (s == "Importing") return JobState::kImporting;
  if (s == "Completed") return JobState::kCompleted;
  if (s == "Failed") return JobState::kFailed;
  return JobState::kPending;
}

Job JobFromJson(const Json& j) {
  Job job;
  job.info.id = j.value("id", int64_t{0});
  job.info.db = j.value("db", std::string());
  job.info.collection = j.value("collection", std::string());
  job.info.collection_id = j.value("collection_id", int64_t{0});
  job.info.partition = j.value("partition", std::string());
  job.info.state = StateFromName(j.value("state", std::string("Pending")));
  job.info.reason = j.value("reason", std::string());
  job.info.progress = j.value("progress", int64_t{0});
  job.info.total_rows = j.value("total_rows", int64_t{0});
  job.info.imported_rows = j.value("imported_rows", int64_t{0});
  job.info.create_ms = j.value("create_ms", int64_t{0});
  job.info.complete_ms = j.value("complete_ms", int64_t{0});
  if (auto it = j.find("file_progress"); it != j.end() && it->is_array()) {
    for (const auto& f : *it) {
      job.info.files.push_back(FileProgress{f.value("name", std::string()), f.value("size", int64_t{0}),
                                            f.value("total_rows", int64_t{0}), f.value("imported_rows", int64_t{0})});
    }
  }
  job.request.db = job.info.db;
  job.request.collection = job.info.collection;
  job.request.partition = job.info.partition;
  if (auto it = j.find("files"); it != j.end() && it->is_array()) {
    for (const auto& f : *it) job.request.files.push_back(f.get<std::vector<std::string>>());
  }
  job.request.options = j.value("options", std::map<std::string, std::string>{});
  job.writing = j.value("writing", false);
  job.first_id = j.value("first_id", int64_t{0});
  job.id_count = j.value("id_count", int64_t{0});
  job.isolated = j.value("isolated", false);
  job.segments = j.value("segments", std::vector<int64_t>{});
  return job;
}

// Test hook (tests/e2e/test_bulk_import_parquet.py): with this variable set
// to N > 0 in the server's environment, a job that has written N rows or more
// stops writing and waits for the process to end, so a test can kill -9 the
// server at a point it controls.
constexpr char kHoldAfterRowsEnv[] = "KITE_TEST_IMPORT_HOLD_AFTER_ROWS";

int64_t HoldAfterRows() {
  const char* v = std::getenv(kHoldAfterRowsEnv);
  return v ? std::strtoll(v, nullptr, 10) : 0;
}

// With this one set too (an object key), a holding job goes on once that
// object exists in the object store (tests/e2e/test_bulk_import_isolation.py:
// the test looks at the collection while the job is held, then releases it).
constexpr char kReleaseKeyEnv[] = "KITE_TEST_IMPORT_RELEASE_KEY";

// With this one set (to anything), a job holds once it has checked its rows,
// before it writes any, until the release key's object exists (or the
// process ends): tests/e2e/test_bulk_import_isolation.py issues a delete then.
constexpr char kHoldBeforeWriteEnv[] = "KITE_TEST_IMPORT_HOLD_BEFORE_WRITE";

std::string ReleaseKey() {
  const char* v = std::getenv(kReleaseKeyEnv);
  return v ? std::string(v) : std::string();
}

// Imported rows are cut into sealed segments of about this size (Milvus's
// growing segments seal at dataCoord.segment.maxSize x sealProportion, 1 GB x
// 0.12; compaction merges small ones later), and the segments being filled
// together (one per shard and partition) hold at most kImportOpenBytesMax.
constexpr size_t kImportSegmentBytes = 128ull << 20;
constexpr size_t kImportOpenBytesMax = 512ull << 20;

std::string JoinPaths(const std::vector<std::string>& paths) {
  std::string out;
  for (size_t i = 0; i < paths.size(); ++i) out += (i ? "," : "") + paths[i];
  return out;
}

class ImportJobs final : public ImportApi {
 public:
  ImportJobs(Proxy* proxy, ObjectStore* objects, MetaStore* meta)
      : proxy_(proxy), objects_(objects), meta_(meta), hold_after_rows_(HoldAfterRows()),
        hold_before_write_(std::getenv(kHoldBeforeWriteEnv) != nullptr),
        release_key_(ReleaseKey()) {}

  ~ImportJobs() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  Status Open() {
    Status parse = Status::OK();
    KITE_RETURN_IF_ERROR(meta_->Scan(kJobPrefix, [&](std::string_view key, std::string_view value) {
      Json j = Json::parse(value, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        parse = Corruption("import job record {} is not a JSON object", key);
        return;
      }
      Job job = JobFromJson(j);
      jobs_[job.info.id] = std::move(job);
    }));
    KITE_RETURN_IF_ERROR(parse);
    for (auto& [id, job] : jobs_) {
      if (job.info.state == JobState::kCompleted || job.info.state == JobState::kFailed) continue;
      if (job.writing) {
        if (job.isolated) {
          // Telling whether its commit landed needs the collection's
          // streaming node, which may not have joined yet (remote streaming
          // nodes): the worker retries until it can.
          Status st = FinishInterrupted(&job);
          if (!st.ok()) {
            spdlog::warn("import job {}: cannot settle it after the restart yet, retrying: {}", id, st.ToString());
            unsettled_.push_back(id);
          }
          continue;
        }
        KITE_RETURN_IF_ERROR(FailInterrupted(&job));
        continue;
      }
      job.info.state = JobState::kPending;
      job.info.progress = 0;
      queue_.push_back(id);
    }
    worker_ = std::thread([this] { Work(); });
    return Status::OK();
  }

  Result<int64_t> Submit(const ImportRequest& req) override {
    KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(req.db, req.collection));
    if (req.files.empty()) return InvalidArgument("import request is empty: invalid parameter");
    if (req.files.size() > kMaxFilesPerRequest) {
      return InvalidArgument("The max number of import files should not exceed {}, but got {}: invalid parameter",
                             kMaxFilesPerRequest, req.files.size());
    }
    bool part_key = false;
    for (const auto& f : v.info.schema.fields) part_key = part_key || f.is_partition_key;
    if (part_key && !req.partition.empty()) {
      return InvalidArgument("not allow to set partition name for collection with partition key: invalid parameter");
    }
    if (!req.partition.empty()) KITE_RETURN_IF_ERROR(FindPartitionOrError(v.info, req.partition).status());
    for (const auto& paths : req.files) KITE_RETURN_IF_ERROR(FileTypeOf(paths).status());
    KITE_ASSIGN_OR_RETURN(Timestamp id, proxy_->AllocTimestamp());
    Job job;
    job.request = req;
    job.request.collection = v.info.schema.name;  // an alias names its collection
    job.info.id = static_cast<int64_t>(id);
    job.info.db = req.db;
    job.info.collection = v.info.schema.name;
    job.info.collection_id = v.info.id.value;
    job.info.partition = req.partition;
    job.info.create_ms = NowMs();
    for (const auto& paths : req.files) job.info.files.push_back(FileProgress{JoinPaths(paths)});
    KITE_RETURN_IF_ERROR(Persist(job));
    {
      std::lock_guard lock(mu_);
      jobs_[job.info.id] = job;
      queue_.push_back(job.info.id);
    }
    cv_.notify_all();
    return job.info.id;
  }

  Result<JobInfo> Get(int64_t job_id) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kImportFailed, "import job does not exist, jobID={}: importing data failed", job_id);
    }
    return it->second.info;
  }

  Result<std::vector<JobInfo>> List(const std::string& db, const std::string& collection, int64_t limit) override {
    std::string name = collection;
    if (!collection.empty()) {
      KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(db, collection));
      name = v.info.schema.name;
    }
    const std::string want_db = db.empty() ? "default" : db;
    std::lock_guard lock(mu_);
    std::vector<JobInfo> out;
    for (const auto& [id, job] : jobs_) {
      const std::string job_db = job.info.db.empty() ? "default" : job.info.db;
      if (job_db != want_db) continue;
      if (!name.empty() && job.info.collection != name) continue;
      out.push_back(job.info);
    }
    if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.erase(out.begin(), out.end() - limit);
    return out;
  }

 private:
  Status Persist(const Job& job) {
    MetaBatch b;
    b.Put(fmt::format("{}{}", kJobPrefix, job.info.id), JobToJson(job).dump());
    return meta_->Commit(b);
  }

  // Updates the in-memory job under the lock, then persists a copy.
  template <typename Fn>
  void Update(int64_t id, Fn&& fn, bool persist) {
    Status st = UpdateChecked(id, std::forward<Fn>(fn), persist);
    if (!st.ok()) spdlog::warn("import job {}: cannot persist its state: {}", id, st.ToString());
  }
  template <typename Fn>
  Status UpdateChecked(int64_t id, Fn&& fn, bool persist) {
    Job copy;
    {
      std::lock_guard lock(mu_);
      fn(jobs_[id]);
      copy = jobs_[id];
    }
    return persist ? Persist(copy) : Status::OK();
  }

  // The test hooks (kHoldAfterRowsEnv, kHoldBeforeWriteEnv): wait until the
  // release key's object exists, or without one until the server stops.
  void Hold(int64_t id, int64_t done) {
    spdlog::warn("import job {}: holding after {} rows written (test hook {} or {} is set)", id, done,
                 kHoldAfterRowsEnv, kHoldBeforeWriteEnv);
    std::unique_lock lock(mu_);
    if (release_key_.empty()) {
      cv_.wait(lock, [&] { return stop_; });
      return;
    }
    // A test hook, polled: the object store has no notifications.
    while (!stop_) {
      lock.unlock();
      const bool released = objects_->Get(release_key_).ok();
      lock.lock();
      if (released) break;
      cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return stop_; });
    }
  }

  // Auto-id keys [first, first + n) as a primary-key column.
  static Column KeyRange(const FieldSchema& pk, int64_t first, int64_t n) {
    Column c = Column::ForField(pk);
    c.Reserve(n);
    for (int64_t k = first; k < first + n; ++k) {
      if (pk.type == DataType::kInt64) {
        c.AppendFixed(&k);
      } else {
        c.AppendVar(std::to_string(k));
      }
    }
    return c;
  }

  // A job the previous process was writing when it died: its rows are
  // deleted by key (the keys allocated for it, or those its files hold) and
  // it is marked Failed. Runs at start, before the front doors serve. If the
  // rows cannot be removed now the job stays marked "writing" and the next
  // start tries again.
  Status FailInterrupted(Job* job) {
    if (job->isolated) return FinishInterrupted(job);
    Status removed = RemoveRows(*job);
    job->info.state = JobState::kFailed;
    job->info.imported_rows = 0;
    for (auto& f : job->info.files) f.imported_rows = 0;
    job->info.complete_ms = NowMs();
    if (removed.ok()) {
      job->writing = false;
      job->info.reason = "the import job was interrupted by a restart while writing rows; the rows it wrote were removed";
      spdlog::warn("import job {}: interrupted by a restart while writing; its rows were removed", job->info.id);
    } else {
      job->info.reason = fmt::format(
          "the import job was interrupted by a restart while writing rows; removing them failed: {}", removed.message());
      spdlog::error("import job {}: {}", job->info.id, job->info.reason);
    }
    return Persist(*job);
  }

  // An isolated job the previous process was writing when it died: if its
  // segments were committed (the process died between the commit and the
  // job record), the job completed; otherwise nothing of it is visible and
  // its segment files are deleted (the garbage collector's orphan pass would
  // delete them too, after dataCoord.gc.missingTolerance).
  Status FinishInterrupted(Job* job) {
    const ImportRequest& req = job->request;
    bool committed = false;
    if (!job->segments.empty()) {
      auto v = proxy_->DescribeCollection(req.db, req.collection);
      if (v.ok() && v->info.id.value == job->info.collection_id) {
        KITE_ASSIGN_OR_RETURN(auto persistent, proxy_->PersistentSegments(req.db, req.collection));
        for (const auto& s : persistent) committed = committed || s.id.value == job->segments.front();
      }
    }
    job->writing = false;
    job->info.complete_ms = NowMs();
    if (committed) {
      job->info.state = JobState::kCompleted;
      job->info.progress = 100;
      job->info.imported_rows = job->info.total_rows;
      for (auto& f : job->info.files) f.imported_rows = f.total_rows;
      spdlog::info("import job {}: its segments were committed before a restart; completed", job->info.id);
      return Persist(*job);
    }
    for (int64_t s : job->segments) {
      Status st = objects_->DeletePrefix(SegmentPrefix(CollectionId(job->info.collection_id), SegmentId(s)));
      if (!st.ok()) spdlog::warn("import job {}: cannot delete the files of segment {}: {}", job->info.id, s, st.ToString());
    }
    job->info.state = JobState::kFailed;
    job->info.imported_rows = 0;
    for (auto& f : job->info.files) f.imported_rows = 0;
    job->info.reason =
        "the import job was interrupted by a restart while writing rows; none of its rows became visible and the "
        "files it wrote were removed";
    spdlog::warn("import job {}: interrupted by a restart while writing; nothing of it was committed", job->info.id);
    return Persist(*job);
  }

  Status RemoveRows(const Job& job) {
    const ImportRequest& req = job.request;
    auto v = proxy_->DescribeCollection(req.db, req.collection);
    if (!v.ok()) {
      if (v.status().code() == StatusCode::kNotFound) return Status::OK();  // dropped, rows and all
      return v.status();
    }
    if (v->info.id.value != job.info.collection_id) return Status::OK();  // dropped and created again
    const CollectionSchema& schema = v->info.schema;
    const FieldSchema* pkf = schema.PrimaryField();
    if (!pkf) return Status::OK();
    if (pkf->auto_id) {
      for (int64_t at = 0; at < job.id_count; at += kBatchRows) {
        const int64_t n = std::min(kBatchRows, job.id_count - at);
        KITE_RETURN_IF_ERROR(Undo(req, schema, {KeyRange(*pkf, job.first_id + at, n)}));
      }
      return Status::OK();
    }
    // The keys are in the files, which the check pass read in full before
    // the first write.
    for (const auto& paths : req.files) {
      KITE_ASSIGN_OR_RETURN(auto reader, OpenFileReader(objects_, paths, schema, req.options, kBatchRows));
      ColumnBatch batch;
      for (;;) {
        KITE_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
        if (!more) break;
        const Column* keys = batch.Find(pkf->id);
        if (keys) KITE_RETURN_IF_ERROR(Undo(req, schema, {*keys}));
      }
    }
    return Status::OK();
  }

  void Work() {
    for (;;) {
      int64_t id = 0;
      ImportRequest req;
      {
        std::unique_lock lock(mu_);
        while (!stop_ && queue_.empty() && !unsettled_.empty()) {
          // Interrupted jobs whose outcome could not be read at start.
          std::vector<int64_t> pending;
          pending.swap(unsettled_);
          lock.unlock();
          for (int64_t u : pending) {
            Job copy;
            {
              std::lock_guard l(mu_);
              copy = jobs_[u];
            }
            Status st = FinishInterrupted(&copy);
            std::lock_guard l(mu_);
            if (st.ok()) {
              jobs_[u] = copy;
            } else {
              unsettled_.push_back(u);
            }
          }
          lock.lock();
          if (!unsettled_.empty()) cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
        }
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        id = queue_.front();
        queue_.pop_front();
        req = jobs_[id].request;
      }
      Status st = Run(id, req);
      if (stopping()) return;  // left as it is; the next start resumes or fails it
      if (!st.ok()) {
        spdlog::warn("import job {} failed: {}", id, st.message());
        Update(id, [&](Job& j) {
          j.info.state = JobState::kFailed;
          j.info.reason = st.message();
          j.info.imported_rows = 0;
          for (auto& f : j.info.files) f.imported_rows = 0;
          j.info.complete_ms = NowMs();
        }, true);
      }
    }
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stop_;
  }

  // One decoded batch of the job's rows as an insert into its target.
  static InsertParams BatchInsert(const ImportRequest& req, ColumnBatch rows) {
    InsertParams p;
    p.db = req.db;
    p.collection = req.collection;
    p.partition = req.partition;
    p.rows = std::move(rows);
    return p;
  }

  Status Run(int64_t id, const ImportRequest& req) {
    Update(id, [](Job& j) { j.info.state = JobState::kImporting; j.info.progress = 0; }, true);
    KITE_ASSIGN_OR_RETURN(CollectionView v, proxy_->DescribeCollection(req.db, req.collection));
    const CollectionSchema schema = v.info.schema;
    const size_t nfiles = req.files.size();
    // Pass 1: decode and check every row; nothing is written.
    std::vector<int64_t> rows_per_file(nfiles, 0);
    int64_t total = 0;
    for (size_t i = 0; i < nfiles; ++i) {
      KITE_ASSIGN_OR_RETURN(auto reader, OpenFileReader(objects_, req.files[i], schema, req.options, kBatchRows));
      const int64_t size = reader->size_bytes();
      Update(id, [&](Job& j) { j.info.files[i].size = size; }, false);
      ColumnBatch batch;
      for (;;) {
        if (stopping()) return Status::OK();
        KITE_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
        if (!more) break;
        const int64_t n = batch.num_rows;
        Status st = proxy_->ValidateInsert(BatchInsert(req, std::move(batch)));
        if (!st.ok()) {
          return ImportFailed(fmt::format("file {}: rows {}..{}: {}", JoinPaths(req.files[i]), rows_per_file[i],
                                          rows_per_file[i] + n - 1, st.message()));
        }
        rows_per_file[i] += n;
      }
      total += rows_per_file[i];
      Update(id, [&](Job& j) {
        j.info.files[i].total_rows = rows_per_file[i];
        j.info.total_rows = total;
        j.info.progress = static_cast<int64_t>(40.0 * (i + 1) / nfiles);
      }, false);
    }
    // Pass 2: write the rows into sealed segments of their own (one per
    // shard and partition being filled, cut at kImportSegmentBytes), none of
    // them registered, then register them all in one commit: the rows become
    // visible together when the job completes, and a job that fails or is
    // interrupted leaves nothing visible (Milvus writes imported segments
    // flagged isImporting and flips them at the end likewise). The record
    // says "writing" and names each segment before its files are written, so
    // that a restart finds them (FinishInterrupted).
    const FieldSchema* pkf = schema.PrimaryField();
    const bool assign_ids = pkf && pkf->auto_id && total > 0;
    int64_t first_id = 0;
    if (assign_ids) {
      KITE_ASSIGN_OR_RETURN(first_id, proxy_->AllocRowIds(total));
    }
    // The test hook (kHoldBeforeWriteEnv): the job has checked its rows and
    // not yet written any.
    if (hold_before_write_) Hold(id, 0);
    if (stopping()) return Status::OK();
    // One timestamp for every imported row, the job's own: the TSO timestamp
    // allocated when the import request was accepted (its id), as Milvus
    // stamps every imported row with its ImportMessage's time tick. Reads at
    // or after it see the rows once the job commits; a delete issued after
    // the request (while the job checks or writes) applies to them once they
    // appear, one issued before it does not.
    const auto row_ts = static_cast<Timestamp>(id);
    Status marked = UpdateChecked(id, [&](Job& j) {
      j.writing = true;
      j.isolated = true;
      j.segments.clear();
      j.first_id = first_id;
      j.id_count = assign_ids ? total : 0;
    }, true);
    if (!marked.ok()) return marked;  // nothing written yet
    auto schema_ptr = std::make_shared<const CollectionSchema>(schema);
    const CollectionId cid(v.info.id.value);
    std::map<std::pair<int64_t, int>, SegmentPtr> filling;  // (partition, shard) -> segment being filled
    std::vector<SegmentRecord> records;
    std::vector<int64_t> started;  // segment ids whose files may exist
    size_t open_bytes = 0;
    auto write_out = [&](const SegmentPtr& seg) -> Status {
      seg->Seal();
      SegmentRecord rec;
      rec.id = seg->id();
      rec.collection_id = cid;
      rec.partition_id = seg->meta().partition_id;
      rec.channel = seg->meta().channel;
      rec.num_rows = seg->num_rows();
      rec.max_ts = seg->max_timestamp();
      rec.size_bytes = static_cast<int64_t>(seg->MemoryBytes());
      Status st;
      seg->WithColumns([&](const ColumnBatch& cols, const std::vector<Timestamp>& ts) {
        auto keys = WriteSegmentFiles(objects_, SegmentPrefix(cid, seg->id()), cols, ts);
        if (!keys.ok()) {
          st = keys.status();
          return;
        }
        rec.files = std::move(keys).value();
      });
      KITE_RETURN_IF_ERROR(st);
      records.push_back(std::move(rec));
      return Status::OK();
    };
    auto close_largest = [&]() -> Status {
      auto largest = filling.begin();
      for (auto it = filling.begin(); it != filling.end(); ++it) {
        if (it->second->MemoryBytes() > largest->second->MemoryBytes()) largest = it;
      }
      open_bytes -= std::min(open_bytes, largest->second->MemoryBytes());
      SegmentPtr seg = std::move(largest->second);
      filling.erase(largest);
      return write_out(seg);
    };
    int64_t done = 0;
    Status st = [&]() -> Status {
      for (size_t i = 0; i < nfiles; ++i) {
        // A file that changed since its check fails here: name it.
        auto named = [&](const Status& e) {
          if (e.message().find(req.files[i].front()) != std::string::npos) return e;
          return MakeStatus(e.code(), e.reason(), "file {}: {}", JoinPaths(req.files[i]), e.message());
        };
        auto opened = OpenFileReader(objects_, req.files[i], schema, req.options, kBatchRows);
        if (!opened.ok()) return named(opened.status());
        auto reader = std::move(opened).value();
        ColumnBatch batch;
        int64_t file_done = 0;
        for (;;) {
          if (stopping()) return MakeStatus(StatusCode::kCancelled, Reason::kNone, "the server is stopping");
          Result<bool> next = reader->Next(&batch);
          if (!next.ok()) return named(next.status());
          if (!*next) break;
          const int64_t n = batch.num_rows;
          InsertParams params = BatchInsert(req, std::move(batch));
          if (assign_ids) {
            if (done + n > total) return Internal("import file {} grew between the passes", JoinPaths(req.files[i]));
            params.rows.columns.push_back(KeyRange(*pkf, first_id + done, n));
            params.ids_assigned = true;
          }
          KITE_ASSIGN_OR_RETURN(std::vector<Proxy::ImportPiece> pieces, proxy_->PrepareImportRows(std::move(params)));
          for (Proxy::ImportPiece& piece : pieces) {
            const std::pair<int64_t, int> where{piece.partition.value, piece.shard};
            SegmentPtr& seg = filling[where];
            if (!seg) {
              KITE_ASSIGN_OR_RETURN(int64_t sid, proxy_->AllocRowIds(1));
              KITE_RETURN_IF_ERROR(UpdateChecked(id, [&](Job& j) { j.segments.push_back(sid); }, true));
              started.push_back(sid);
              seg = std::make_shared<Segment>(SegmentMeta{SegmentId(sid), cid, piece.partition, piece.channel},
                                              schema_ptr);
            }
            KITE_RETURN_IF_ERROR(seg->CheckAppendable(piece.rows));
            const size_t before = seg->MemoryBytes();
            seg->Append(piece.rows, std::vector<Timestamp>(static_cast<size_t>(piece.rows.num_rows), row_ts));
            open_bytes += seg->MemoryBytes() - std::min(before, seg->MemoryBytes());
            if (seg->MemoryBytes() >= kImportSegmentBytes) {
              open_bytes -= std::min(open_bytes, seg->MemoryBytes());
              SegmentPtr full = std::move(seg);
              filling.erase(where);
              KITE_RETURN_IF_ERROR(write_out(full));
            }
          }
          while (open_bytes > kImportOpenBytesMax && !filling.empty()) KITE_RETURN_IF_ERROR(close_largest());
          done += n;
          file_done += n;
          Update(id, [&](Job& j) {
            j.info.imported_rows = done;
            j.info.files[i].imported_rows = file_done;
            j.info.progress = 40 + (total > 0 ? 55 * done / total : 55);
          }, false);
          if (hold_after_rows_ > 0 && done >= hold_after_rows_) Hold(id, done);
        }
      }
      while (!filling.empty()) KITE_RETURN_IF_ERROR(close_largest());
      if (stopping()) return MakeStatus(StatusCode::kCancelled, Reason::kNone, "the server is stopping");
      return proxy_->CommitImport(req.db, req.collection, cid, records);
    }();
    if (!st.ok()) {
      for (int64_t s : started) (void)objects_->DeletePrefix(SegmentPrefix(cid, SegmentId(s)));
      const std::string reason = stopping() ? "the import job was interrupted by a shutdown"
                                            : fmt::format("writing the imported rows failed: {}", st.message());
      Update(id, [&](Job& j) {
        j.writing = false;
        j.info.state = JobState::kFailed;
        j.info.reason = reason;
        j.info.imported_rows = 0;
        for (auto& f : j.info.files) f.imported_rows = 0;
        j.info.complete_ms = NowMs();
      }, true);
      return Status::OK();
    }
    Update(id, [&](Job& j) {
      j.info.state = JobState::kCompleted;
      j.info.progress = 100;
      j.info.imported_rows = done;
      j.info.complete_ms = NowMs();
      j.writing = false;
    }, true);
    spdlog::info("import job {}: {} rows in {} segments into {}", id, done, records.size(), req.collection);
    return Status::OK();
  }

  // Deletes the rows a failed job wrote, by primary key.
  Status Undo(const ImportRequest& req, const CollectionSchema& schema, const std::vector<Column>& written) {
    const FieldSchema* pk = nullptr;
    for (const auto& f : schema.fields) {
      if (f.is_primary) pk = &f;
    }
    if (!pk) return Status::OK();
    for (const Column& ids : written) {
      expr::TemplateValue::Array keys;
      for (int64_t r = 0; r < ids.num_rows; ++r) {
        PrimaryKey k = PkAt(ids, r);
        if (auto* i = std::get_if<int64_t>(&k)) {
          keys.emplace_back(*i);
        } else {
          keys.emplace_back(std::get<std::string>(k));
        }
      }
      if (keys.empty()) continue;
      expr::TemplateValues values;
      values["kite_import_keys"] = expr::TemplateValue(std::move(keys));
      KITE_RETURN_IF_ERROR(
          proxy_->Delete(req.db, req.collection, req.partition, pk->name + " in {kite_import_keys}", values).status());
    }
    return Status::OK();
  }

  Proxy* proxy_;
  ObjectStore* objects_;
  MetaStore* meta_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Job> jobs_;
  std::deque<int64_t> queue_;
  std::vector<int64_t> unsettled_;  // interrupted isolated jobs FinishInterrupted could not settle yet
  bool stop_ = false;
  const int64_t hold_after_rows_;
  const bool hold_before_write_;
  const std::string release_key_;
  std::thread worker_;
};

}  // namespace

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kPending: return "Pending";
    case JobState::kImporting: return "Importing";
    case JobState::kCompleted: return "Completed";
    case JobState::kFailed: return "Failed";
  }
  return "Pending";
}

Result<std::unique_ptr<ImportApi>> OpenImportJobs(Proxy* proxy, ObjectStore* objects, MetaStore* meta) {
  auto jobs = std::make_unique<ImportJobs>(proxy, objects, meta);
  KITE_RETURN_IF_ERROR(jobs->Open());
  return std::unique_ptr<ImportApi>(std::move(jobs));
}

}  // namespace kite::import
