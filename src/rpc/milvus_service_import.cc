// Bulk import through the v1 gRPC API (pymilvus utility.do_bulk_insert,
// get_bulk_insert_state, list_bulk_insert_tasks), which Milvus 2.6 answers
// from its import jobs (ImportV2): the task id is the job id.
#include "rpc/milvus_service.h"
#include "rpc/service_common.h"
#include "rpc/status_map.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;

namespace {

Status NoImports() {
  return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "bulk import is not available in this server");
}

mc::ImportState V1State(import::JobState s) {
  switch (s) {
    case import::JobState::kPending: return mc::ImportPending;
    case import::JobState::kImporting: return mc::ImportStarted;
    case import::JobState::kCompleted: return mc::ImportCompleted;
    case import::JobState::kFailed: return mc::ImportFailed;
  }
  return mc::ImportPending;
}

void FillState(const import::JobInfo& job, mm::GetImportStateResponse* out) {
  out->set_state(V1State(job.state));
  out->set_row_count(job.imported_rows);
  out->set_id(job.id);
  out->set_collection_id(job.collection_id);
  out->set_create_ts(job.create_ms / 1000);
  auto add = [&](const char* k, const std::string& v) {
    auto* kv = out->add_infos();
    kv->set_key(k);
    kv->set_value(v);
  };
  std::string files;
  for (size_t i = 0; i < job.files.size(); ++i) files += (i ? "," : "") + job.files[i].name;
  add("files", files);
  add("collection", job.collection);
  add("partition", job.partition);
  add("failed_reason", job.reason);
  add("progress_percent", std::to_string(job.progress));
}

}  // namespace

MilvusService::RpcStatus MilvusService::Import(Ctx* ctx, const mm::ImportRequest* req, mm::ImportResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   if (!imports_) return NoImports();
                   import::ImportRequest r;
                   r.db = DbName(ctx, req->db_name());
                   r.collection = req->collection_name();
                   r.partition = req->partition_name();
                   for (const auto& kv : req->options()) r.options[kv.key()] = kv.value();
                   // The .npy files of a request are the columns of one import
                   // file; any other file is a file of its own.
                   bool all_npy = req->files_size() > 0;
                   for (const auto& f : req->files()) all_npy = all_npy && f.ends_with(".npy");
                   if (all_npy) {
                     r.files.emplace_back(req->files().begin(), req->files().end());
                   } else {
                     for (const auto& f : req->files()) r.files.push_back({f});
                   }
                   KITE_ASSIGN_OR_RETURN(int64_t id, imports_->Submit(r));
                   resp->add_tasks(id);
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::GetImportState(Ctx* ctx, const mm::GetImportStateRequest* req,
                                                       mm::GetImportStateResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   if (!imports_) return NoImports();
                   KITE_ASSIGN_OR_RETURN(import::JobInfo job, imports_->Get(req->task()));
                   FillState(job, resp);
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

MilvusService::RpcStatus MilvusService::ListImportTasks(Ctx* ctx, const mm::ListImportTasksRequest* req,
                                                        mm::ListImportTasksResponse* resp) {
  KITE_ADMIT(ctx, req);
  ToMilvusStatus(Guarded([&]() -> Status {
                   if (!imports_) return NoImports();
                   KITE_ASSIGN_OR_RETURN(auto jobs, imports_->List(DbName(ctx, req->db_name()),
                                                                   req->collection_name(), req->limit()));
                   for (const auto& job : jobs) FillState(job, resp->add_tasks());
                   return Status::OK();
                 }),
                 resp->mutable_status());
  return RpcStatus::OK;
}

}  // namespace kite::rpc
