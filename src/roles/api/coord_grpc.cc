#include "roles/api/coord_grpc.h"

#include <algorithm>
#include <utility>

#include "coord_service.grpc.pb.h"
#include "roles/api/role_grpc.h"

namespace kite {
namespace {

using coordpb::CoordinatorService;

// ---- records <-> messages

void SegmentToPb(const SegmentRecord& r, coordpb::SegmentMeta* o) {
  o->set_id(r.id.value);
  o->set_collection(r.collection_id.value);
  o->set_partition(r.partition_id.value);
  o->set_channel(r.channel);
  o->set_num_rows(r.num_rows);
  o->set_checkpoint_lsn(r.checkpoint_lsn);
  o->set_max_ts(r.max_ts);
  o->set_size_bytes(r.size_bytes);
  for (const std::string& f : r.files) o->add_files(f);
}

SegmentRecord SegmentFromPb(const coordpb::SegmentMeta& m) {
  SegmentRecord r;
  r.id = SegmentId(m.id());
  r.collection_id = CollectionId(m.collection());
  r.partition_id = PartitionId(m.partition());
  r.channel = m.channel();
  r.num_rows = m.num_rows();
  r.checkpoint_lsn = m.checkpoint_lsn();
  r.max_ts = m.max_ts();
  r.size_bytes = m.size_bytes();
  r.files.assign(m.files().begin(), m.files().end());
  return r;
}

void IndexToPb(const SegmentIndexRecord& r, coordpb::SegmentIndexMeta* o) {
  o->set_segment(r.segment.value);
  o->set_index(r.index.value);
  o->set_collection(r.collection.value);
  o->set_field(r.field.value);
  o->set_key(r.key);
  o->set_num_rows(r.num_rows);
  o->set_file_bytes(r.file_bytes);
  o->set_build_ms(r.build_ms);
}

SegmentIndexRecord IndexFromPb(const coordpb::SegmentIndexMeta& m) {
  SegmentIndexRecord r;
  r.segment = SegmentId(m.segment());
  r.index = IndexId(m.index());
  r.collection = CollectionId(m.collection());
  r.field = FieldId(m.field());
  r.key = m.key();
  r.num_rows = m.num_rows();
  r.file_bytes = m.file_bytes();
  r.build_ms = m.build_ms();
  return r;
}

void KeysToPb(const std::vector<std::string>& keys, coordpb::ObjectKeys* o) {
  for (const std::string& k : keys) o->add_keys(k);
}

std::vector<std::string> KeysFromPb(const coordpb::ObjectKeys& o) { return {o.keys().begin(), o.keys().end()}; }

grpc::Status NotServed(const char* what) {
  return ToGrpcStatus(
      MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "{} is not served by this coordinator service", what));
}

// ---- server

// Runs one call (ServedCall, role_grpc.h): its request id and caller come in
// the metadata; refused when its deadline passed before it ran.
template <typename Fn>
grpc::Status Serve(std::string_view rpc, const grpc::ServerContext* server, Fn fn) {
  ServedCall call(rpc, ContextFromMetadata(*server), server);
  if (call.Expired()) return call.Finish(ToGrpcStatus(DeadlineExceededStatus()));
  return call.Finish(fn());
}

class CoordService final : public CoordinatorService::Service {
 public:
  CoordService(SegmentMetaApi* meta, TsoApi* tso, CoordinatorServiceHooks hooks)
      : meta_(meta), tso_(tso), hooks_(std::move(hooks)) {}

  grpc::Status CommitFlush(grpc::ServerContext* ctx, const coordpb::CommitFlushRequest* req, coordpb::Done*) override {
    return Serve("CommitFlush", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("CommitFlush");
      std::vector<SegmentRecord> segments;
      for (const coordpb::SegmentMeta& m : req->segments()) segments.push_back(SegmentFromPb(m));
      const CollectionId collection(req->collection());
      Status st = meta_->CommitFlush(collection, req->channel(), req->lsn(), segments, req->delta_key(), req->term());
      if (st.ok() && hooks_.on_flush_committed) hooks_.on_flush_committed(collection);
      return ToGrpcStatus(st);
    });
  }
  grpc::Status ListSegments(grpc::ServerContext* ctx, const coordpb::CollectionRequest* req,
                            coordpb::SegmentList* resp) override {
    return Serve("ListSegments", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("ListSegments");
      Result<std::vector<SegmentRecord>> r = meta_->ListSegments(CollectionId(req->collection()));
      if (!r.ok()) return ToGrpcStatus(r.status());
      for (const SegmentRecord& s : *r) SegmentToPb(s, resp->add_segments());
      return grpc::Status::OK;
    });
  }
  grpc::Status FindSegment(grpc::ServerContext* ctx, const coordpb::FindSegmentRequest* req,
                           coordpb::FindSegmentResponse* resp) override {
    return Serve("FindSegment", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("FindSegment");
      Result<std::optional<SegmentRecord>> r = meta_->FindSegment(SegmentId(req->segment()));
      if (!r.ok()) return ToGrpcStatus(r.status());
      resp->set_found(r->has_value());
      if (*r) SegmentToPb(**r, resp->mutable_segment());
      return grpc::Status::OK;
    });
  }
  grpc::Status CommitSegmentIndex(grpc::ServerContext* ctx, const coordpb::SegmentIndexMeta* req,
                                  coordpb::Done*) override {
    return Serve("CommitSegmentIndex", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("CommitSegmentIndex");
      const SegmentIndexRecord rec = IndexFromPb(*req);
      Status st = meta_->CommitSegmentIndex(rec);
      if (st.ok() && hooks_.on_index_committed) hooks_.on_index_committed(rec.collection);
      return ToGrpcStatus(st);
    });
  }
  grpc::Status ListSegmentIndexes(grpc::ServerContext* ctx, const coordpb::CollectionRequest* req,
                                  coordpb::SegmentIndexList* resp) override {
    return Serve("ListSegmentIndexes", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("ListSegmentIndexes");
      Result<std::vector<SegmentIndexRecord>> r = meta_->ListSegmentIndexes(CollectionId(req->collection()));
      if (!r.ok()) return ToGrpcStatus(r.status());
      for (const SegmentIndexRecord& i : *r) IndexToPb(i, resp->add_indexes());
      return grpc::Status::OK;
    });
  }
  grpc::Status ForgetSegmentIndex(grpc::ServerContext* ctx, const coordpb::ForgetSegmentIndexRequest* req,
                                  coordpb::Done*) override {
    return Serve("ForgetSegmentIndex", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("ForgetSegmentIndex");
      return ToGrpcStatus(
          meta_->ForgetSegmentIndex(CollectionId(req->collection()), SegmentId(req->segment()), IndexId(req->index())));
    });
  }
  grpc::Status DropIndex(grpc::ServerContext* ctx, const coordpb::DropIndexRequest* req,
                         coordpb::ObjectKeys* resp) override {
    return Serve("DropIndex", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("DropIndex");
      return Keys(meta_->DropIndex(CollectionId(req->collection()), IndexId(req->index())), resp);
    });
  }
  grpc::Status CommitCompaction(grpc::ServerContext* ctx, const coordpb::CommitCompactionRequest* req,
                                coordpb::ObjectKeys* resp) override {
    return Serve("CommitCompaction", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("CommitCompaction");
      std::vector<SegmentId> removed;
      for (int64_t id : req->removed()) removed.emplace_back(id);
      return Keys(meta_->CommitCompaction(CollectionId(req->collection()), removed, SegmentFromPb(req->added())), resp);
    });
  }
  grpc::Status CommitImport(grpc::ServerContext* ctx, const coordpb::CommitImportRequest* req, coordpb::Done*) override {
    return Serve("CommitImport", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("CommitImport");
      std::vector<SegmentRecord> segments;
      for (const coordpb::SegmentMeta& m : req->segments()) segments.push_back(SegmentFromPb(m));
      const CollectionId collection(req->collection());
      Status st = meta_->CommitImport(collection, segments);
      if (st.ok() && hooks_.on_flush_committed) hooks_.on_flush_committed(collection);
      return ToGrpcStatus(st);
    });
  }
  grpc::Status RetainPartitions(grpc::ServerContext* ctx, const coordpb::RetainPartitionsRequest* req,
                                coordpb::ObjectKeys* resp) override {
    return Serve("RetainPartitions", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("RetainPartitions");
      const std::set<int64_t> live(req->live().begin(), req->live().end());
      return Keys(meta_->RetainPartitions(CollectionId(req->collection()), live), resp);
    });
  }
  grpc::Status GetCheckpoint(grpc::ServerContext* ctx, const coordpb::ChannelRequest* req,
                             coordpb::Checkpoint* resp) override {
    return Serve("GetCheckpoint", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("GetCheckpoint");
      Result<ChannelCheckpoint> r = meta_->GetCheckpoint(req->channel());
      if (!r.ok()) return ToGrpcStatus(r.status());
      resp->set_lsn(r->lsn);
      for (const std::string& k : r->delta_keys) resp->add_delta_keys(k);
      return grpc::Status::OK;
    });
  }
  grpc::Status NextWalTerm(grpc::ServerContext* ctx, const coordpb::ChannelRequest* req,
                           coordpb::WalTermResponse* resp) override {
    return Serve("NextWalTerm", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("NextWalTerm");
      Result<WalTerm> r = meta_->NextWalTerm(req->channel());
      if (!r.ok()) return ToGrpcStatus(r.status());
      resp->set_term(*r);
      return grpc::Status::OK;
    });
  }
  grpc::Status DropCollection(grpc::ServerContext* ctx, const coordpb::DropCollectionRequest* req,
                              coordpb::Done*) override {
    return Serve("DropCollection", ctx, [&]() -> grpc::Status {
      if (!meta_) return NotServed("DropCollection");
      const std::vector<std::string> channels(req->channels().begin(), req->channels().end());
      return ToGrpcStatus(meta_->DropCollection(CollectionId(req->collection()), channels));
    });
  }
  grpc::Status AllocTimestamp(grpc::ServerContext* ctx, const coordpb::AllocTimestampRequest*,
                              coordpb::AllocTimestampResponse* resp) override {
    return Serve("AllocTimestamp", ctx, [&]() -> grpc::Status {
      if (!tso_) return NotServed("AllocTimestamp");
      Result<Timestamp> r = tso_->AllocTimestamp();
      if (!r.ok()) return ToGrpcStatus(r.status());
      resp->set_timestamp(*r);
      return grpc::Status::OK;
    });
  }
  grpc::Status AllocIds(grpc::ServerContext* ctx, const coordpb::AllocIdsRequest* req,
                        coordpb::AllocIdsResponse* resp) override {
    return Serve("AllocIds", ctx, [&]() -> grpc::Status {
      if (!tso_) return NotServed("AllocIds");
      if (req->count() <= 0) {
        return ToGrpcStatus(InvalidArgument("AllocIds count must be positive, got {}", req->count()));
      }
      Result<int64_t> r = tso_->AllocIds(req->count());
      if (!r.ok()) return ToGrpcStatus(r.status());
      resp->set_first(*r);
      return grpc::Status::OK;
    });
  }

 private:
  static grpc::Status Keys(const Result<std::vector<std::string>>& r, coordpb::ObjectKeys* resp) {
    if (!r.ok()) return ToGrpcStatus(r.status());
    KeysToPb(*r, resp);
    return grpc::Status::OK;
  }

  SegmentMetaApi* meta_;
  TsoApi* tso_;
  CoordinatorServiceHooks hooks_;
};

// ---- clients

// A failure the server answered carries its Kite status in the error
// details (ToGrpcStatus); one without came from the transport (unreachable,
// deadline passed), so the call may or may not have run on the server.
bool OutcomeUnknown(const grpc::Status& st) { return !st.ok() && st.error_details().empty(); }

class CoordClient {
 public:
  CoordClient(std::shared_ptr<grpc::Channel> channel, CoordClientOptions options)
      : stub_(CoordinatorService::NewStub(std::move(channel))), options_(options) {}

 protected:
  using Stub = CoordinatorService::Stub;
  // Every call carries the request id and caller of the request the calling
  // thread serves (role_grpc.h), and the per-call deadline. Segment meta
  // calls keep that deadline whatever the client's: a commit's caller must
  // learn its outcome (it deletes the files of one that failed), and the
  // checks of a commit whose answer was lost must run.
  template <typename Method, typename Req, typename Resp>
  grpc::Status Call(Method method, const Req& req, Resp* resp) const {
    rolepb::RequestContext rc;
    FillRequestContext(&rc);
    grpc::ClientContext ctx;
    AddContextMetadata(rc, &ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + options_.deadline);
    return (stub_.get()->*method)(&ctx, req, resp);
  }
  // AllocTimestamp also ends at the client's deadline: a write whose client
  // stopped waiting takes no timestamp (nothing is applied).
  template <typename Method, typename Req, typename Resp>
  Status CallWithDeadline(Method method, const Req& req, Resp* resp) const {
    rolepb::RequestContext rc;
    FillRequestContext(&rc);
    const auto now = std::chrono::system_clock::now();
    auto deadline = now + options_.deadline;
    bool request_bound = false;
    if (rc.deadline_unix_us() > 0) {
      const std::chrono::system_clock::time_point requested{std::chrono::microseconds(rc.deadline_unix_us())};
      if (requested <= now) return DeadlineExceededStatus();
      if (requested < deadline) {
        deadline = requested;
        request_bound = true;
      }
    }
    grpc::ClientContext ctx;
    AddContextMetadata(rc, &ctx);
    ctx.set_deadline(deadline);
    const grpc::Status st = (stub_.get()->*method)(&ctx, req, resp);
    if (request_bound && st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && st.error_details().empty()) {
      return DeadlineExceededStatus();
    }
    return FromGrpcStatus(st);
  }

  std::unique_ptr<Stub> stub_;
  CoordClientOptions options_;
};

class RemoteSegmentMeta final : public SegmentMetaApi, private CoordClient {
 public:
  using CoordClient::CoordClient;

  Status CommitFlush(CollectionId collection, const std::string& channel, uint64_t lsn,
                     const std::vector<SegmentRecord>& segments, const std::string& delta_key,
                     WalTerm term = 0) override {
    coordpb::CommitFlushRequest req;
    req.set_term(term);
    req.set_collection(collection.value);
    req.set_channel(channel);
    req.set_lsn(lsn);
    for (const SegmentRecord& s : segments) SegmentToPb(s, req.add_segments());
    req.set_delta_key(delta_key);
    coordpb::Done done;
    const grpc::Status st = Call(&Stub::CommitFlush, req, &done);
    // The caller deletes the files of a flush that failed: one that did
    // commit on the server must not be reported as failed.
    if (OutcomeUnknown(st) && FlushLanded(channel, lsn, segments, delta_key)) return Status::OK();
    return FromGrpcStatus(st);
  }
  Result<std::vector<SegmentRecord>> ListSegments(CollectionId collection) const override {
    coordpb::CollectionRequest req;
    req.set_collection(collection.value);
    coordpb::SegmentList resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::ListSegments, req, &resp)));
    std::vector<SegmentRecord> out;
    out.reserve(resp.segments_size());
    for (const coordpb::SegmentMeta& m : resp.segments()) out.push_back(SegmentFromPb(m));
    return out;
  }
  Result<std::optional<SegmentRecord>> FindSegment(SegmentId segment) const override {
    coordpb::FindSegmentRequest req;
    req.set_segment(segment.value);
    coordpb::FindSegmentResponse resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::FindSegment, req, &resp)));
    if (!resp.found()) return std::optional<SegmentRecord>();
    return std::optional<SegmentRecord>(SegmentFromPb(resp.segment()));
  }
  Status CommitSegmentIndex(const SegmentIndexRecord& record) override {
    coordpb::SegmentIndexMeta req;
    IndexToPb(record, &req);
    coordpb::Done done;
    const grpc::Status st = Call(&Stub::CommitSegmentIndex, req, &done);
    if (OutcomeUnknown(st) && IndexLanded(record)) return Status::OK();
    return FromGrpcStatus(st);
  }
  Result<std::vector<SegmentIndexRecord>> ListSegmentIndexes(CollectionId collection) const override {
    coordpb::CollectionRequest req;
    req.set_collection(collection.value);
    coordpb::SegmentIndexList resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::ListSegmentIndexes, req, &resp)));
    std::vector<SegmentIndexRecord> out;
    out.reserve(resp.indexes_size());
    for (const coordpb::SegmentIndexMeta& m : resp.indexes()) out.push_back(IndexFromPb(m));
    return out;
  }
  Status ForgetSegmentIndex(CollectionId collection, SegmentId segment, IndexId index) override {
    coordpb::ForgetSegmentIndexRequest req;
    req.set_collection(collection.value);
    req.set_segment(segment.value);
    req.set_index(index.value);
    coordpb::Done done;
    return FromGrpcStatus(Call(&Stub::ForgetSegmentIndex, req, &done));
  }
  Result<std::vector<std::string>> DropIndex(CollectionId collection, IndexId index) override {
    coordpb::DropIndexRequest req;
    req.set_collection(collection.value);
    req.set_index(index.value);
    coordpb::ObjectKeys resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::DropIndex, req, &resp)));
    return KeysFromPb(resp);
  }
  Result<std::vector<std::string>> CommitCompaction(CollectionId collection, const std::vector<SegmentId>& removed,
                                                    const SegmentRecord& added) override {
    coordpb::CommitCompactionRequest req;
    req.set_collection(collection.value);
    for (SegmentId s : removed) req.add_removed(s.value);
    SegmentToPb(added, req.mutable_added());
    coordpb::ObjectKeys resp;
    const grpc::Status st = Call(&Stub::CommitCompaction, req, &resp);
    // As for a flush: the caller deletes the merged segment's files when
    // the commit failed. The garbage keys of a commit that landed are
    // recorded on the server either way.
    if (OutcomeUnknown(st) && CompactionLanded(removed, added)) return std::vector<std::string>{};
    KITE_RETURN_IF_ERROR(FromGrpcStatus(st));
    return KeysFromPb(resp);
  }
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override {
    coordpb::CommitImportRequest req;
    req.set_collection(collection.value);
    for (const SegmentRecord& s : segments) SegmentToPb(s, req.add_segments());
    coordpb::Done done;
    const grpc::Status st = Call(&Stub::CommitImport, req, &done);
    // As for a flush: a commit that landed must not be reported as failed
    // (the caller would delete the files the records name).
    if (OutcomeUnknown(st) && !segments.empty()) {
      auto found = FindSegment(segments.front().id);
      if (found.ok() && found->has_value()) return Status::OK();
    }
    return FromGrpcStatus(st);
  }
  Result<std::vector<std::string>> RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override {
    coordpb::RetainPartitionsRequest req;
    req.set_collection(collection.value);
    for (int64_t p : live) req.add_live(p);
    coordpb::ObjectKeys resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::RetainPartitions, req, &resp)));
    return KeysFromPb(resp);
  }
  Result<ChannelCheckpoint> GetCheckpoint(const std::string& channel) const override {
    coordpb::ChannelRequest req;
    req.set_channel(channel);
    coordpb::Checkpoint resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::GetCheckpoint, req, &resp)));
    ChannelCheckpoint out;
    out.lsn = resp.lsn();
    out.delta_keys.assign(resp.delta_keys().begin(), resp.delta_keys().end());
    return out;
  }
  Result<WalTerm> NextWalTerm(const std::string& channel) override {
    coordpb::ChannelRequest req;
    req.set_channel(channel);
    coordpb::WalTermResponse resp;
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::NextWalTerm, req, &resp)));
    return WalTerm{resp.term()};
  }
  Status DropCollection(CollectionId collection, const std::vector<std::string>& channels) override {
    coordpb::DropCollectionRequest req;
    req.set_collection(collection.value);
    for (const std::string& c : channels) req.add_channels(c);
    coordpb::Done done;
    return FromGrpcStatus(Call(&Stub::DropCollection, req, &done));
  }

 private:
  // Whether a flush commit whose answer was lost is in the registry: the
  // channel's checkpoint is at its LSN with its delta file, and every segment
  // is recorded as sent (one streaming node owns the channel, so no other
  // flush of it can have moved the checkpoint there).
  bool FlushLanded(const std::string& channel, uint64_t lsn, const std::vector<SegmentRecord>& segments,
                   const std::string& delta_key) const {
    Result<ChannelCheckpoint> chk = GetCheckpoint(channel);
    if (!chk.ok() || chk->lsn != lsn) return false;
    if (!delta_key.empty() &&
        std::find(chk->delta_keys.begin(), chk->delta_keys.end(), delta_key) == chk->delta_keys.end()) {
      return false;
    }
    for (const SegmentRecord& s : segments) {
      Result<std::optional<SegmentRecord>> found = FindSegment(s.id);
      if (!found.ok() || !*found || (*found)->num_rows != s.num_rows || (*found)->files != s.files) return false;
    }
    return true;
  }
  bool IndexLanded(const SegmentIndexRecord& record) const {
    Result<std::vector<SegmentIndexRecord>> all = ListSegmentIndexes(record.collection);
    if (!all.ok()) return false;
    return std::any_of(all->begin(), all->end(), [&](const SegmentIndexRecord& r) {
      return r.segment == record.segment && r.index == record.index && r.key == record.key;
    });
  }
  bool CompactionLanded(const std::vector<SegmentId>& removed, const SegmentRecord& added) const {
    for (SegmentId s : removed) {
      Result<std::optional<SegmentRecord>> found = FindSegment(s);
      if (!found.ok() || *found) return false;
    }
    if (added.num_rows == 0) return true;
    Result<std::optional<SegmentRecord>> found = FindSegment(added.id);
    return found.ok() && *found && (*found)->files == added.files;
  }
};

class RemoteTso final : public TsoApi, private CoordClient {
 public:
  using CoordClient::CoordClient;

  Result<Timestamp> AllocTimestamp() override {
    coordpb::AllocTimestampRequest req;
    coordpb::AllocTimestampResponse resp;
    KITE_RETURN_IF_ERROR(CallWithDeadline(&Stub::AllocTimestamp, req, &resp));
    return Timestamp{resp.timestamp()};
  }
  Result<int64_t> AllocIds(int64_t count) override {
    coordpb::AllocIdsRequest req;
    req.set_count(count);
    coordpb::AllocIdsResponse resp;
    // Not bounded by the client's deadline: a streaming node may ask for a
    // segment id after the write is in its WAL (it must not fail then).
    KITE_RETURN_IF_ERROR(FromGrpcStatus(Call(&Stub::AllocIds, req, &resp)));
    return int64_t{resp.first()};
  }
};

}  // namespace

std::unique_ptr<grpc::Service> MakeCoordinatorService(SegmentMetaApi* meta, TsoApi* tso,
                                                      CoordinatorServiceHooks hooks) {
  return std::make_unique<CoordService>(meta, tso, std::move(hooks));
}

std::unique_ptr<SegmentMetaApi> MakeRemoteSegmentMeta(std::shared_ptr<grpc::Channel> channel,
                                                      CoordClientOptions options) {
  return std::make_unique<RemoteSegmentMeta>(std::move(channel), options);
}

std::unique_ptr<TsoApi> MakeRemoteTso(std::shared_ptr<grpc::Channel> channel, CoordClientOptions options) {
  return std::make_unique<RemoteTso>(std::move(channel), options);
}

}  // namespace kite
