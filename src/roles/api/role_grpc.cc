#include "roles/api/role_grpc.h"

#include <chrono>

#include "roles/api/role_codec.h"
#include "roles/coordinator/catalog_codec.h"
#include "role_service.grpc.pb.h"

namespace kite {

grpc::Status ToGrpcStatus(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  rolepb::RoleStatus rs;
  rs.set_code(static_cast<int32_t>(st.code()));
  rs.set_reason(static_cast<int32_t>(st.reason()));
  rs.set_message(st.message());
  const grpc::StatusCode code =
      st.code() == StatusCode::kCancelled ? grpc::StatusCode::CANCELLED : grpc::StatusCode::UNKNOWN;
  return grpc::Status(code, st.message(), rs.SerializeAsString());
}

Status FromGrpcStatus(const grpc::Status& st) {
  if (st.ok()) return Status::OK();
  rolepb::RoleStatus rs;
  if (!st.error_details().empty() && rs.ParseFromString(st.error_details()) && rs.code() != 0) {
    return Status(static_cast<StatusCode>(rs.code()), static_cast<Reason>(rs.reason()), rs.message());
  }
  if (st.error_code() == grpc::StatusCode::CANCELLED) {
    return MakeStatus(StatusCode::kCancelled, Reason::kNone, "role call cancelled: {}", st.error_message());
  }
  return IOError("role peer unavailable: {} (gRPC code {})", st.error_message(), static_cast<int>(st.error_code()));
}

namespace {

// A unary call driven on the caller's own completion queue (never on gRPC's
// callback threads: the caller may itself be one, and a callback that waits
// for another callback can starve them all). A CancelHook that fires
// cancels the call; the hook is polled every 20 ms while the call runs.
template <typename PrepareAsync, typename Req, typename Resp>
Status CancellableCall(PrepareAsync prepare, const Req& req, Resp* resp, const CancelHook& cancelled) {
  grpc::ClientContext ctx;
  grpc::CompletionQueue cq;
  auto call = prepare(&ctx, req, &cq);
  call->StartCall();
  grpc::Status result;
  int tag = 1;
  call->Finish(resp, &result, &tag);
  bool cancel_sent = false;
  for (;;) {
    void* got = nullptr;
    bool ok = false;
    auto next = cq.AsyncNext(&got, &ok, std::chrono::system_clock::now() + std::chrono::milliseconds(20));
    if (next == grpc::CompletionQueue::GOT_EVENT && got == &tag) break;
    if (next == grpc::CompletionQueue::SHUTDOWN) break;
    if (!cancel_sent && cancelled && cancelled()) {
      ctx.TryCancel();
      cancel_sent = true;
    }
  }
  cq.Shutdown();
  void* got = nullptr;
  bool ok = false;
  while (cq.Next(&got, &ok)) {
  }
  return FromGrpcStatus(result);
}

CancelHook ServerCancelHook(grpc::ServerContext* ctx) {
  return [ctx] { return ctx->IsCancelled(); };
}

// Server side: the read path of any role object with Search/Retrieve/ReadStats.
template <typename Base, typename Node>
class ReadService : public Base {
 public:
  explicit ReadService(Node* node) : node_(node) {}

  grpc::Status Search(grpc::ServerContext* ctx, const rolepb::SearchRequest* req,
                      rolepb::SearchResponse* resp) override {
    SearchPart part;
    Status st = node_->Search(*req, &part, ServerCancelHook(ctx));
    if (st.ok()) SearchPartToPb(part, resp);
    return ToGrpcStatus(st);
  }
  grpc::Status Retrieve(grpc::ServerContext*, const rolepb::RetrieveRequest* req,
                        rolepb::RetrieveResponse* resp) override {
    Retrieved r;
    Status st = node_->Retrieve(*req, &r);
    if (st.ok()) RetrievedToPb(r, resp);
    return ToGrpcStatus(st);
  }
  grpc::Status ReadStats(grpc::ServerContext*, const rolepb::ReadStatsRequest* req,
                         rolepb::ReadStatsResponse* resp) override {
    return ToGrpcStatus(node_->ReadStats(*req, resp));
  }

 protected:
  Node* node_;
};

std::vector<SegmentId> SegmentIdsOf(const rolepb::SegmentsRequest& req) {
  std::vector<SegmentId> ids;
  for (int64_t id : req.segments()) ids.emplace_back(id);
  return ids;
}

void SummariesToPb(const std::vector<SegmentSummary>& in, rolepb::LoadedSegments* out) {
  for (const SegmentSummary& s : in) {
    rolepb::LoadedSegment* o = out->add_segments();
    o->set_id(s.id.value);
    o->set_partition(s.partition.value);
    o->set_channel(s.channel);
    o->set_num_rows(s.num_rows);
    o->set_mem_bytes(s.mem_bytes);
    o->set_growing(s.growing);
    o->set_node(s.node);
  }
}

std::vector<SegmentSummary> SummariesFromPb(const rolepb::LoadedSegments& in) {
  std::vector<SegmentSummary> out;
  for (const rolepb::LoadedSegment& s : in.segments()) {
    out.push_back({SegmentId(s.id()), PartitionId(s.partition()), s.num_rows(), s.mem_bytes(), s.growing(),
                   s.channel(), s.node()});
  }
  return out;
}

std::set<int64_t> LiveOf(const rolepb::CollectionRequest& req) {
  return std::set<int64_t>(req.live_partitions().begin(), req.live_partitions().end());
}

// A query node's whole API: the read path and the segment hand-over.
class QueryService final : public ReadService<rolepb::QueryNodeService::Service, QueryNodeApi> {
 public:
  using ReadService::ReadService;

  grpc::Status LoadSegments(grpc::ServerContext*, const rolepb::LoadSegmentsRequest* req,
                            rolepb::LoadSegmentsResponse* resp) override {
    return ToGrpcStatus(node_->LoadSegments(*req, {}, resp));
  }
  grpc::Status ReleaseSegments(grpc::ServerContext*, const rolepb::SegmentsRequest* req, rolepb::Ack*) override {
    return ToGrpcStatus(node_->ReleaseSegments(CollectionId(req->collection()), SegmentIdsOf(*req)));
  }
  grpc::Status ApplyDeletes(grpc::ServerContext*, const rolepb::DeletesRequest* req, rolepb::Ack*) override {
    return ToGrpcStatus(node_->ApplyDeletes(CollectionId(req->collection()), req->channel(), DeletesFromPb(*req)));
  }
  grpc::Status LoadIndex(grpc::ServerContext*, const rolepb::IndexRequest* req, rolepb::Ack*) override {
    const CollectionId c(req->collection());
    return ToGrpcStatus(node_->LoadIndex(c, IndexRecordOf(c, req->index()), nullptr, nullptr));
  }
  grpc::Status DetachIndex(grpc::ServerContext*, const rolepb::SegmentsRequest* req, rolepb::Ack*) override {
    return ToGrpcStatus(node_->DetachIndex(CollectionId(req->collection()), IndexId(req->index())));
  }
  grpc::Status ListSegments(grpc::ServerContext*, const rolepb::SegmentsRequest* req,
                            rolepb::LoadedSegments* resp) override {
    const CollectionId c(req->collection());
    resp->set_loaded(node_->IsLoaded(c));
    SummariesToPb(node_->LoadedSegments(c), resp);
    return grpc::Status::OK;
  }
  grpc::Status Load(grpc::ServerContext*, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    Result<CollectionInfo> c = DecodeCollection(req->info());
    if (!c.ok()) return ToGrpcStatus(c.status());
    auto schema = std::make_shared<const CollectionSchema>(c->schema);
    return ToGrpcStatus(node_->Load(*c, std::move(schema)));
  }
  grpc::Status Release(grpc::ServerContext*, const rolepb::SegmentsRequest* req, rolepb::Ack*) override {
    node_->Release(CollectionId(req->collection()));
    return grpc::Status::OK;
  }
};

// A streaming node's whole API: the channels' lifecycle, writes and the
// delegator's reads (`kite streamingnode`).
class StreamingService final : public ReadService<rolepb::StreamingNodeService::Service, StreamingNodeApi> {
 public:
  using ReadService::ReadService;

  grpc::Status Open(grpc::ServerContext*, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection(*req, [this](const CollectionInfo& c) { return node_->Open(c); });
  }
  grpc::Status Drop(grpc::ServerContext*, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection(*req, [this](const CollectionInfo& c) { return node_->Drop(c); });
  }
  grpc::Status Load(grpc::ServerContext*, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection(*req, [this](const CollectionInfo& c) { return node_->Load(c); });
  }
  grpc::Status ApplySchema(grpc::ServerContext*, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection(*req, [this](const CollectionInfo& c) { return node_->ApplySchema(c); });
  }
  grpc::Status Write(grpc::ServerContext*, const rolepb::WriteRequest* req, rolepb::WriteResponse* resp) override {
    Result<DmlMessage> msg = DecodeDml(req->dml());
    if (!msg.ok()) return ToGrpcStatus(msg.status());
    Result<Timestamp> ts = node_->Write(CollectionId(req->collection()), req->shard(), std::move(msg).value());
    if (!ts.ok()) return ToGrpcStatus(ts.status());
    resp->set_ts(*ts);
    return grpc::Status::OK;
  }
  grpc::Status Flush(grpc::ServerContext*, const rolepb::CollectionRequest* req, rolepb::SegmentIds* resp) override {
    Result<std::vector<SegmentId>> ids = node_->Flush(CollectionId(req->collection()));
    if (!ids.ok()) return ToGrpcStatus(ids.status());
    for (SegmentId id : *ids) resp->add_segments(id.value);
    return grpc::Status::OK;
  }
  grpc::Status RetainPartitions(grpc::ServerContext*, const rolepb::CollectionRequest* req, rolepb::Ack*) override {
    return ToGrpcStatus(node_->RetainPartitions(CollectionId(req->collection()), LiveOf(*req)));
  }
  grpc::Status Release(grpc::ServerContext*, const rolepb::CollectionRequest* req, rolepb::Ack*) override {
    return ToGrpcStatus(node_->Release(CollectionId(req->collection())));
  }
  grpc::Status CommitImport(grpc::ServerContext*, const rolepb::CommitImportRequest* req, rolepb::Ack*) override {
    const CollectionId collection(req->collection());
    std::vector<SegmentRecord> segments;
    for (const rolepb::ImportedSegment& s : req->segments()) {
      SegmentRecord r;
      r.id = SegmentId(s.load().id());
      r.collection_id = collection;
      r.partition_id = PartitionId(s.load().partition());
      r.channel = s.load().channel();
      r.num_rows = s.load().num_rows();
      r.files.assign(s.load().files().begin(), s.load().files().end());
      r.max_ts = s.max_ts();
      r.size_bytes = s.size_bytes();
      segments.push_back(std::move(r));
    }
    return ToGrpcStatus(node_->CommitImport(collection, segments));
  }
  grpc::Status PersistentSegments(grpc::ServerContext*, const rolepb::CollectionRequest* req,
                                  rolepb::LoadedSegments* resp) override {
    return Summaries(node_->PersistentSegments(CollectionId(req->collection())), resp);
  }
  grpc::Status LoadedSegments(grpc::ServerContext*, const rolepb::CollectionRequest* req,
                              rolepb::LoadedSegments* resp) override {
    return Summaries(node_->LoadedSegments(CollectionId(req->collection())), resp);
  }
  grpc::Status SafeTimestamp(grpc::ServerContext*, const rolepb::CollectionRequest* req,
                             rolepb::TimestampResponse* resp) override {
    Result<Timestamp> ts = node_->SafeTimestamp(CollectionId(req->collection()), req->now());
    if (!ts.ok()) return ToGrpcStatus(ts.status());
    resp->set_ts(*ts);
    return grpc::Status::OK;
  }
  grpc::Status RowCount(grpc::ServerContext*, const rolepb::CollectionRequest* req,
                        rolepb::RowCountResponse* resp) override {
    Result<int64_t> rows = node_->RowCount(CollectionId(req->collection()), req->partition(), LiveOf(*req));
    if (!rows.ok()) return ToGrpcStatus(rows.status());
    resp->set_rows(*rows);
    return grpc::Status::OK;
  }

 private:
  template <typename Fn>
  static grpc::Status WithCollection(const rolepb::CollectionMessage& req, Fn fn) {
    Result<CollectionInfo> c = DecodeCollection(req.info());
    if (!c.ok()) return ToGrpcStatus(c.status());
    return ToGrpcStatus(fn(*c));
  }
  static grpc::Status Summaries(const Result<std::vector<SegmentSummary>>& r, rolepb::LoadedSegments* resp) {
    if (!r.ok()) return ToGrpcStatus(r.status());
    SummariesToPb(*r, resp);
    return grpc::Status::OK;
  }
};

// Client side of the read path, shared by both remote adapters.
template <typename Service>
class ReadClient {
 public:
  explicit ReadClient(std::shared_ptr<grpc::Channel> channel) : stub_(Service::NewStub(std::move(channel))) {}

  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
    rolepb::SearchResponse resp;
    Status st;
    if (cancelled) {
      st = CancellableCall(
          [this](grpc::ClientContext* c, const rolepb::SearchRequest& q, grpc::CompletionQueue* cq) {
            return stub_->PrepareAsyncSearch(c, q, cq);
          },
          req, &resp, cancelled);
    } else {
      grpc::ClientContext ctx;
      st = FromGrpcStatus(stub_->Search(&ctx, req, &resp));
    }
    KITE_RETURN_IF_ERROR(st);
    KITE_ASSIGN_OR_RETURN(*out, SearchPartFromPb(resp));
    return Status::OK();
  }
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
    rolepb::RetrieveResponse resp;
    grpc::ClientContext ctx;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(stub_->Retrieve(&ctx, req, &resp)));
    KITE_ASSIGN_OR_RETURN(*out, RetrievedFromPb(resp));
    return Status::OK();
  }
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
    grpc::ClientContext ctx;
    return FromGrpcStatus(stub_->ReadStats(&ctx, req, resp));
  }

 private:
  std::unique_ptr<typename Service::Stub> stub_;
};


// With `local` (standalone with kite.roleTransport: grpc) only the read path
// crosses the wire and the hand-over stays in memory; without it (a query
// node in its own process) every call does.
class RemoteQueryNode final : public QueryNodeApi {
 public:
  RemoteQueryNode(std::shared_ptr<grpc::Channel> channel, QueryNodeApi* local)
      : reads_(channel), stub_(rolepb::QueryNodeService::NewStub(channel)), local_(local) {}

  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override {
    return reads_.Search(req, out, cancelled);
  }
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override { return reads_.Retrieve(req, out); }
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override {
    return reads_.ReadStats(req, resp);
  }

  Status Load(const CollectionInfo& c, std::shared_ptr<const CollectionSchema> schema) override {
    if (local_) return local_->Load(c, std::move(schema));
    // A coordinator's query side (the schema travels inside the collection).
    rolepb::CollectionMessage req;
    req.set_info(EncodeCollection(c));
    return Unary(&Stub::Load, req);
  }
  void Release(CollectionId collection) override {
    if (local_) {
      local_->Release(collection);
      return;
    }
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    (void)Unary(&Stub::Release, req);
  }
  bool IsLoaded(CollectionId collection) const override {
    if (local_) return local_->IsLoaded(collection);
    rolepb::LoadedSegments resp;
    return List(collection, &resp).ok() && resp.loaded();
  }
  Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                      rolepb::LoadSegmentsResponse* resp) override {
    if (local_) return local_->LoadSegments(req, std::move(local), resp);
    grpc::ClientContext ctx;
    rolepb::LoadSegmentsResponse ignored;
    return FromGrpcStatus(stub_->LoadSegments(&ctx, req, resp ? resp : &ignored));
  }
  Status ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) override {
    if (local_) return local_->ReleaseSegments(collection, segments);
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    for (SegmentId s : segments) req.add_segments(s.value);
    return Unary(&Stub::ReleaseSegments, req);
  }
  Status ApplyDeletes(CollectionId collection, const std::string& channel,
                      const std::vector<DeleteRecord>& deletes) override {
    if (local_) return local_->ApplyDeletes(collection, channel, deletes);
    rolepb::DeletesRequest req;
    DeletesToPb(collection, channel, deletes, &req);
    return Unary(&Stub::ApplyDeletes, req);
  }
  Status LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                   std::shared_ptr<const index::VectorIndex> local_vector,
                   std::shared_ptr<const index::ScalarIndex> local_scalar) override {
    if (local_) return local_->LoadIndex(collection, rec, std::move(local_vector), std::move(local_scalar));
    rolepb::IndexRequest req;
    req.set_collection(collection.value);
    *req.mutable_index() = IndexLoadOf(rec);
    return Unary(&Stub::LoadIndex, req);
  }
  Status DetachIndex(CollectionId collection, IndexId index) override {
    if (local_) return local_->DetachIndex(collection, index);
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    req.set_index(index.value);
    return Unary(&Stub::DetachIndex, req);
  }
  std::vector<SegmentSummary> LoadedSegments(CollectionId collection) const override {
    if (local_) return local_->LoadedSegments(collection);
    rolepb::LoadedSegments resp;
    if (!List(collection, &resp).ok()) return {};
    return SummariesFromPb(resp);
  }
  SegmentPtr FindSegment(CollectionId collection, SegmentId segment) const override {
    return local_ ? local_->FindSegment(collection, segment) : nullptr;
  }

 private:
  using Stub = rolepb::QueryNodeService::Stub;
  template <typename Method, typename Req>
  Status Unary(Method method, const Req& req) const {
    grpc::ClientContext ctx;
    rolepb::Ack ack;
    return FromGrpcStatus((stub_.get()->*method)(&ctx, req, &ack));
  }
  Status List(CollectionId collection, rolepb::LoadedSegments* resp) const {
    grpc::ClientContext ctx;
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    return FromGrpcStatus(stub_->ListSegments(&ctx, req, resp));
  }

  ReadClient<rolepb::QueryNodeService> reads_;
  std::unique_ptr<Stub> stub_;
  QueryNodeApi* local_;
};

class RemoteStreamingNode final : public StreamingNodeApi {
 public:
  RemoteStreamingNode(std::shared_ptr<grpc::Channel> channel, StreamingNodeApi* local)
      : reads_(channel), stub_(rolepb::StreamingNodeService::NewStub(channel)), local_(local) {}

  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) override {
    return reads_.Search(req, out, cancelled);
  }
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) override { return reads_.Retrieve(req, out); }
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) override {
    return reads_.ReadStats(req, resp);
  }

  Status Open(const CollectionInfo& c) override {
    return local_ ? local_->Open(c) : WithCollection(&Stub::Open, c);
  }
  Status Drop(const CollectionInfo& c) override { return local_ ? local_->Drop(c) : WithCollection(&Stub::Drop, c); }
  Result<Timestamp> Write(CollectionId collection, int shard, DmlMessage msg) override {
    if (local_) return local_->Write(collection, shard, std::move(msg));
    rolepb::WriteRequest req;
    req.set_collection(collection.value);
    req.set_shard(shard);
    req.set_dml(EncodeDml(msg));
    rolepb::WriteResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::Write, req, &resp));
    return Timestamp(resp.ts());
  }
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override {
    if (local_) return local_->Flush(collection);
    rolepb::SegmentIds resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::Flush, Request(collection), &resp));
    std::vector<SegmentId> ids;
    for (int64_t id : resp.segments()) ids.emplace_back(id);
    return ids;
  }
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override {
    if (local_) return local_->RetainPartitions(collection, live);
    rolepb::CollectionRequest req = Request(collection);
    for (int64_t p : live) req.add_live_partitions(p);
    rolepb::Ack ack;
    return Call(&Stub::RetainPartitions, req, &ack);
  }
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override {
    if (local_) return local_->CommitImport(collection, segments);
    rolepb::CommitImportRequest req;
    req.set_collection(collection.value);
    for (const SegmentRecord& r : segments) {
      rolepb::ImportedSegment* s = req.add_segments();
      s->mutable_load()->set_id(r.id.value);
      s->mutable_load()->set_partition(r.partition_id.value);
      s->mutable_load()->set_channel(r.channel);
      s->mutable_load()->set_num_rows(r.num_rows);
      for (const std::string& f : r.files) s->mutable_load()->add_files(f);
      s->set_max_ts(r.max_ts);
      s->set_size_bytes(r.size_bytes);
    }
    rolepb::Ack ack;
    return Call(&Stub::CommitImport, req, &ack);
  }
  Status Load(const CollectionInfo& c) override { return local_ ? local_->Load(c) : WithCollection(&Stub::Load, c); }
  Status Release(CollectionId collection) override {
    if (local_) return local_->Release(collection);
    rolepb::Ack ack;
    return Call(&Stub::Release, Request(collection), &ack);
  }
  Status ApplySchema(const CollectionInfo& c) override {
    return local_ ? local_->ApplySchema(c) : WithCollection(&Stub::ApplySchema, c);
  }
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) override {
    if (local_) return local_->PersistentSegments(collection);
    rolepb::LoadedSegments resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::PersistentSegments, Request(collection), &resp));
    return SummariesFromPb(resp);
  }
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) override {
    if (local_) return local_->LoadedSegments(collection);
    rolepb::LoadedSegments resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::LoadedSegments, Request(collection), &resp));
    return SummariesFromPb(resp);
  }
  Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) override {
    if (local_) return local_->SafeTimestamp(collection, now);
    rolepb::CollectionRequest req = Request(collection);
    req.set_now(now);
    rolepb::TimestampResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::SafeTimestamp, req, &resp));
    return Timestamp(resp.ts());
  }
  Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) override {
    if (local_) return local_->RowCount(collection, partition, live);
    rolepb::CollectionRequest req = Request(collection);
    req.set_partition(partition);
    for (int64_t p : live) req.add_live_partitions(p);
    rolepb::RowCountResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::RowCount, req, &resp));
    return resp.rows();
  }

 private:
  using Stub = rolepb::StreamingNodeService::Stub;
  static rolepb::CollectionRequest Request(CollectionId collection) {
    rolepb::CollectionRequest req;
    req.set_collection(collection.value);
    return req;
  }
  template <typename Method, typename Req, typename Resp>
  Status Call(Method method, const Req& req, Resp* resp) const {
    grpc::ClientContext ctx;
    return FromGrpcStatus((stub_.get()->*method)(&ctx, req, resp));
  }
  template <typename Method>
  Status WithCollection(Method method, const CollectionInfo& c) const {
    rolepb::CollectionMessage req;
    req.set_info(EncodeCollection(c));
    rolepb::Ack ack;
    return Call(method, req, &ack);
  }

  ReadClient<rolepb::StreamingNodeService> reads_;
  std::unique_ptr<Stub> stub_;
  StreamingNodeApi* local_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeQueryNodeService(QueryNodeApi* node) {
  return std::make_unique<QueryService>(node);
}

std::unique_ptr<grpc::Service> MakeStreamingNodeService(StreamingNodeApi* node) {
  return std::make_unique<StreamingService>(node);
}

std::unique_ptr<QueryNodeApi> MakeRemoteQueryNode(std::shared_ptr<grpc::Channel> channel, QueryNodeApi* local) {
  return std::make_unique<RemoteQueryNode>(std::move(channel), local);
}

std::unique_ptr<StreamingNodeApi> MakeRemoteStreamingNode(std::shared_ptr<grpc::Channel> channel,
                                                          StreamingNodeApi* local) {
  return std::make_unique<RemoteStreamingNode>(std::move(channel), local);
}

}  // namespace kite
