// Bulk import jobs (Milvus 2.6 ImportV2, issue 18 item 6): files already in
// Kite's object store (row-based JSON, one NumPy file per field, CSV,
// Parquet) are
// read, checked and inserted into a collection by a background worker.
//
// A job is all or nothing: every file is decoded and every row checked the
// way an insert checks it (Proxy::ValidateInsert) before the first row is
// written; then the rows are prepared as an insert prepares them
// (Proxy::PrepareImportRows) and written into sealed segments of their own,
// which no reader sees until the job registers all of them in one commit
// (Proxy::CommitImport) and reports Completed: count, query and search see
// the old rows until then and every imported row from then on, durably. A job
// that fails after the checks (the service's fault, not the file's) deletes
// the files it wrote and leaves the collection as it was.
//
// Jobs are persisted in the meta store (`kite/import/<job_id>`, JSON; see
// docs/formats/meta_keys.md) at every state change. At start, a job that was
// Pending or still checking runs again; one that had started writing is
// Completed if its commit landed, else its files are deleted and it is marked
// Failed ("interrupted by a restart"), before OpenImportJobs returns (see
// ARCHITECTURE.md, Bulk import).
//
// The front doors (MilvusService Import/GetImportState/ListImportTasks and
// REST jobs/import/*) hold an ImportApi*; only the server links the
// implementation. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace kite {
class Proxy;
class ObjectStore;
class MetaStore;
}  // namespace kite

namespace kite::import {

enum class JobState { kPending, kImporting, kCompleted, kFailed };
const char* JobStateName(JobState s);  // "Pending", "Importing", "Completed", "Failed"

struct ImportRequest {
  std::string db;
  std::string collection;
  std::string partition;
  // Each inner list is one import file: a JSON or CSV file alone, or the
  // .npy files of one set of columns.
  std::vector<std::vector<std::string>> files;
  std::map<std::string, std::string> options;
};

struct FileProgress {
  std::string name;  // the paths, comma-separated
  int64_t size = 0;
  int64_t total_rows = 0;
  int64_t imported_rows = 0;
};

struct JobInfo {
  int64_t id = 0;
  std::string db;
  std::string collection;
  int64_t collection_id = 0;
  std::string partition;
  JobState state = JobState::kPending;
  std::string reason;
  int64_t progress = 0;  // percent
  int64_t total_rows = 0;
  int64_t imported_rows = 0;
  int64_t create_ms = 0;    // Unix ms
  int64_t complete_ms = 0;  // 0 until Completed / Failed
  std::vector<FileProgress> files;
};

class ImportApi {
 public:
  virtual ~ImportApi() = default;
  // Checks the request (collection, partition, file types) and queues a job;
  // its id. Errors are Milvus's (e.g. "...: importing data failed", 2100).
  virtual Result<int64_t> Submit(const ImportRequest& request) = 0;
  virtual Result<JobInfo> Get(int64_t job_id) = 0;
  // Jobs of a collection ("" = all) of a database, oldest first; `limit` <= 0: all.
  virtual Result<std::vector<JobInfo>> List(const std::string& db, const std::string& collection, int64_t limit) = 0;
};

// Opens the job table (resuming or failing jobs a restart interrupted) and
// starts the worker. All three must outlive the result.
Result<std::unique_ptr<ImportApi>> OpenImportJobs(Proxy* proxy, ObjectStore* objects, MetaStore* meta);

}  // namespace kite::import
