#include "roles/api/role_grpc.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/call_context.h"
#include "common/request_observer.h"
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

bool IsRefusal(const grpc::Status& st) {
  switch (st.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED: return true;
    case grpc::StatusCode::UNAVAILABLE: {
      // A TLS handshake the peer (or this client) rejected: a certificate
      // problem, not a dead process.
      const std::string& m = st.error_message();
      for (const char* needle : {"handshake", "Handshake", "SSL", "TLS", "certificate"}) {
        if (m.find(needle) != std::string::npos) return true;
      }
      return false;
    }
    default: return false;
  }
}

Status FromGrpcStatus(const grpc::Status& st, const std::string& peer) {
  if (st.ok()) return Status::OK();
  rolepb::RoleStatus rs;
  if (!st.error_details().empty() && rs.ParseFromString(st.error_details()) && rs.code() != 0) {
    return Status(static_cast<StatusCode>(rs.code()), static_cast<Reason>(rs.reason()), rs.message());
  }
  if (st.error_code() == grpc::StatusCode::CANCELLED) {
    return MakeStatus(StatusCode::kCancelled, Reason::kNone, "role call cancelled: {}", st.error_message());
  }
  if (IsRefusal(st)) {
    Status refused = PeerRefusalStatus(
        peer, fmt::format("{} (gRPC code {})", st.error_message(), static_cast<int>(st.error_code())));
    RecordPeerRefusal(peer.empty() ? "(unknown address)" : peer, refused.message());
    return refused;
  }
  return IOError("role peer unavailable: {} (gRPC code {})", st.error_message(), static_cast<int>(st.error_code()));
}

namespace {

constexpr char kRequestIdHeader[] = "kite-request-id";
constexpr char kCallerHeader[] = "kite-caller";

// A request id or caller that came over the wire is logged: kept only when
// it is a plain token of at most 64 printable characters (RequestIdOrNew's rule).
std::string PlainToken(std::string_view v) {
  if (v.empty() || RequestIdOrNew(v) != v) return {};
  return std::string(v);
}

}  // namespace

ServedCall::ServedCall(std::string_view rpc, const rolepb::RequestContext& ctx, const grpc::ServerContext* server)
    : rpc_(rpc),
      caller_(PlainToken(ctx.caller())),
      deadline_unix_us_(ctx.deadline_unix_us()),
      server_(server),
      request_id_(PlainToken(ctx.request_id())),
      start_(std::chrono::steady_clock::now()) {
  // After request_id_: setting the request id clears the thread's call context.
  SetCurrentCallContext(CallContext{caller_, deadline_unix_us_});
}

bool ServedCall::Expired() const {
  if (deadline_unix_us_ > 0 && deadline_unix_us_ <= NowUnixMicros()) return true;
  return server_ != nullptr && server_->deadline() <= std::chrono::system_clock::now();
}

grpc::Status ServedCall::Finish(grpc::Status st) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  const bool slow = ms >= RequestObserver::Global().slow_threshold_ms();
  if (st.ok() && !slow) return st;
  LogFields fields = {{"rpc", rpc_},
                      {"caller", caller_},
                      {"request_id", CurrentRequestId()},
                      {"latency_ms", fmt::format("{:.1f}", ms)}};
  if (!st.ok()) fields.emplace_back("error", st.error_message());
  LogEvent(st.ok() ? spdlog::level::info : spdlog::level::warn, st.ok() ? "slow role call" : "role call failed",
           fields);
  return st;
}

void AddContextMetadata(const rolepb::RequestContext& ctx, grpc::ClientContext* client) {
  if (!ctx.request_id().empty()) client->AddMetadata(kRequestIdHeader, ctx.request_id());
  if (!ctx.caller().empty()) client->AddMetadata(kCallerHeader, ctx.caller());
}

rolepb::RequestContext ContextFromMetadata(const grpc::ServerContext& server) {
  rolepb::RequestContext ctx;
  const auto& md = server.client_metadata();
  if (auto it = md.find(kRequestIdHeader); it != md.end()) {
    ctx.set_request_id(PlainToken(std::string_view(it->second.data(), it->second.size())));
  }
  if (auto it = md.find(kCallerHeader); it != md.end()) {
    ctx.set_caller(PlainToken(std::string_view(it->second.data(), it->second.size())));
  }
  return ctx;
}

namespace {

// A unary call driven on the caller's own completion queue (never on gRPC's
// callback threads: the caller may itself be one, and a callback that waits
// for another callback can starve them all). A CancelHook that fires
// cancels the call; the hook is polled every 20 ms while the call runs.
template <typename PrepareAsync, typename Req, typename Resp>
grpc::Status CancellableCall(grpc::ClientContext* ctx, PrepareAsync prepare, const Req& req, Resp* resp,
                             const CancelHook& cancelled) {
  grpc::CompletionQueue cq;
  auto call = prepare(ctx, req, &cq);
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
      ctx->TryCancel();
      cancel_sent = true;
    }
  }
  cq.Shutdown();
  void* got = nullptr;
  bool ok = false;
  while (cq.Next(&got, &ok)) {
  }
  return result;
}

// Which per-call limit a call gets (role_call.h).
enum class CallKind { kCall, kDdl };

// What a client knows of its peer's liveness: a cheap call each service
// answers without touching storage (the probe), and whether the peer failed
// one after a call ran out of time. Shared by every client object of one
// peer and by the background probe, which may outlive them.
struct PeerProbe {
  std::function<grpc::Status(grpc::ClientContext*)> call;
  std::atomic<bool> probing{false};
  // When it last answered no probe (steady clock, ns; 0: it answers). Calls
  // in the next kFailFast fail "unavailable" at once; later ones probe it again.
  std::atomic<int64_t> silent_since_ns{0};
  std::mutex mu;
  std::string peer;  // guarded by mu: the address of the last failed call
};

constexpr auto kFailFast = std::chrono::seconds(5);
using Prober = std::shared_ptr<PeerProbe>;

// Asks the peer within `limit`: true when it answered at all (an error
// answer included).
bool PeerAnswers(PeerProbe& probe, std::chrono::milliseconds limit) {
  if (!probe.call) return true;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + limit);
  const grpc::Status st = probe.call(&ctx);
  return st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED && st.error_code() != grpc::StatusCode::UNAVAILABLE;
}

std::string PeerName(PeerProbe& probe) {
  std::lock_guard l(probe.mu);
  return probe.peer.empty() ? std::string("the peer") : probe.peer;
}

Status Unresponsive(PeerProbe& probe, std::chrono::milliseconds limit) {
  return IOError("role peer unavailable: {} answered neither a call before its deadline nor a probe within {} ms",
                 PeerName(probe), limit.count());
}

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void MarkSilent(PeerProbe& probe, bool silent) {
  probe.silent_since_ns = silent ? std::max<int64_t>(1, SteadyNowNs()) : 0;
}

// True when the peer failed a probe lately and still does not answer one
// (one atomic load while it answers).
bool StillSilent(PeerProbe& probe, std::chrono::milliseconds limit) {
  const int64_t since = probe.silent_since_ns.load();
  if (since == 0) return false;
  if (SteadyNowNs() - since < std::chrono::duration_cast<std::chrono::nanoseconds>(kFailFast).count()) return true;
  const bool answers = PeerAnswers(probe, limit);
  MarkSilent(probe, !answers);
  return !answers;
}

// Runs one call with the deadline min(request deadline, per-call limit) and
// turns its gRPC status into Kite's (role_call.h: timeouts, refusals).
//
// When the per-call limit ended the call, the peer is probed at once and a
// silent one is unreachable. When the request's own deadline ended it, the
// caller gets Milvus's timeout at once (its client is waiting) and the probe
// runs in the background: a peer that fails it makes the calls to it in the
// next 5 s fail "unavailable" without waiting (the views evict it at the
// first), and later ones probe it again before they are sent.
Status RunCall(const std::function<grpc::Status(grpc::ClientContext*)>& fn, const rolepb::RequestContext* rc,
               CallKind kind, const Prober& probe) {
  const RoleCallTimeouts t = GetRoleCallTimeouts();
  if (probe && StillSilent(*probe, t.probe)) return Unresponsive(*probe, t.probe);
  const auto now = std::chrono::system_clock::now();
  const std::chrono::milliseconds per_call = kind == CallKind::kDdl ? t.ddl : t.call;
  auto deadline = now + per_call;
  bool request_bound = false;
  if (rc != nullptr && rc->deadline_unix_us() > 0) {
    const std::chrono::system_clock::time_point requested{std::chrono::microseconds(rc->deadline_unix_us())};
    if (requested <= now) return DeadlineExceededStatus();
    if (requested < deadline) {
      deadline = requested;
      request_bound = true;
    }
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  const grpc::Status st = fn(&ctx);
  if (st.ok()) return Status::OK();
  const std::string peer = ctx.peer();
  if (probe && !peer.empty()) {
    std::lock_guard l(probe->mu);
    probe->peer = peer;
  }
  // The deadline ended it (a caller's CancelHook that fired at the deadline too).
  const bool timed_out =
      st.error_details().empty() &&
      (st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
       (st.error_code() == grpc::StatusCode::CANCELLED && std::chrono::system_clock::now() >= deadline));
  if (timed_out && probe) {
    if (!request_bound) {
      if (PeerAnswers(*probe, t.probe)) return DeadlineExceededStatus();
      MarkSilent(*probe, true);
      return Unresponsive(*probe, t.probe);
    }
    if (!probe->probing.exchange(true)) {
      std::thread([probe, limit = t.probe] {
        if (!PeerAnswers(*probe, limit)) {
          MarkSilent(*probe, true);
          spdlog::warn("role peer {} answered no probe within {} ms after a call ran out of time: unreachable",
                       PeerName(*probe), limit.count());
        }
        probe->probing = false;
      }).detach();
    }
    return DeadlineExceededStatus();
  }
  return FromGrpcStatus(st, peer);
}

// The server's side of cancellation: the client cancelled, or the call's
// deadline (min of the request's and the client's per-call limit) passed.
CancelHook ServerCancelHook(grpc::ServerContext* ctx) {
  return [ctx] { return ctx->IsCancelled() || ctx->deadline() < std::chrono::system_clock::now(); };
}

// Runs `fn` (a Kite Status) as the served call `rpc` (ServedCall): refused
// when its deadline passed before it ran.
template <typename Fn>
grpc::Status Serve(std::string_view rpc, const rolepb::RequestContext& rc, const grpc::ServerContext* server, Fn fn) {
  ServedCall call(rpc, rc, server);
  if (call.Expired()) return call.Finish(ToGrpcStatus(DeadlineExceededStatus()));
  return call.Finish(ToGrpcStatus(fn()));
}

// Server side: the read path of any role object with Search/Retrieve/ReadStats.
template <typename Base, typename Node>
class ReadService : public Base {
 public:
  explicit ReadService(Node* node) : node_(node) {}

  grpc::Status Search(grpc::ServerContext* ctx, const rolepb::SearchRequest* req,
                      rolepb::SearchResponse* resp) override {
    return Serve("Search", req->ctx(), ctx, [&] {
      SearchPart part;
      Status st = node_->Search(*req, &part, ServerCancelHook(ctx));
      if (st.ok()) SearchPartToPb(part, resp);
      return st;
    });
  }
  grpc::Status Retrieve(grpc::ServerContext* ctx, const rolepb::RetrieveRequest* req,
                        rolepb::RetrieveResponse* resp) override {
    return Serve("Retrieve", req->ctx(), ctx, [&] {
      Retrieved r;
      Status st = node_->Retrieve(*req, &r);
      if (st.ok()) RetrievedToPb(r, resp);
      return st;
    });
  }
  grpc::Status ReadStats(grpc::ServerContext* ctx, const rolepb::ReadStatsRequest* req,
                         rolepb::ReadStatsResponse* resp) override {
    return Serve("ReadStats", req->ctx(), ctx, [&] { return node_->ReadStats(*req, resp); });
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

  grpc::Status Open(grpc::ServerContext* ctx, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection("Open", ctx, *req, [this](const CollectionInfo& c) { return node_->Open(c); });
  }
  grpc::Status Drop(grpc::ServerContext* ctx, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection("Drop", ctx, *req, [this](const CollectionInfo& c) { return node_->Drop(c); });
  }
  grpc::Status Load(grpc::ServerContext* ctx, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection("Load", ctx, *req, [this](const CollectionInfo& c) { return node_->Load(c); });
  }
  grpc::Status ApplySchema(grpc::ServerContext* ctx, const rolepb::CollectionMessage* req, rolepb::Ack*) override {
    return WithCollection("ApplySchema", ctx, *req, [this](const CollectionInfo& c) { return node_->ApplySchema(c); });
  }
  grpc::Status Write(grpc::ServerContext* ctx, const rolepb::WriteRequest* req, rolepb::WriteResponse* resp) override {
    return Serve("Write", req->ctx(), ctx, [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(DmlMessage msg, DecodeDml(req->dml()));
      KITE_ASSIGN_OR_RETURN(Timestamp ts, node_->Write(CollectionId(req->collection()), req->shard(), std::move(msg)));
      resp->set_ts(ts);
      return Status::OK();
    });
  }
  grpc::Status Flush(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req, rolepb::SegmentIds* resp) override {
    return Serve("Flush", req->ctx(), ctx, [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(std::vector<SegmentId> ids, node_->Flush(CollectionId(req->collection())));
      for (SegmentId id : ids) resp->add_segments(id.value);
      return Status::OK();
    });
  }
  grpc::Status RetainPartitions(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req, rolepb::Ack*) override {
    return Serve("RetainPartitions", req->ctx(), ctx,
                 [&] { return node_->RetainPartitions(CollectionId(req->collection()), LiveOf(*req)); });
  }
  grpc::Status Release(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req, rolepb::Ack*) override {
    return Serve("Release", req->ctx(), ctx, [&] { return node_->Release(CollectionId(req->collection())); });
  }
  grpc::Status CommitImport(grpc::ServerContext* ctx, const rolepb::CommitImportRequest* req, rolepb::Ack*) override {
    return Serve("CommitImport", req->ctx(), ctx, [&] {
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
      return node_->CommitImport(collection, segments);
    });
  }
  grpc::Status PersistentSegments(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req,
                                  rolepb::LoadedSegments* resp) override {
    return Serve("PersistentSegments", req->ctx(), ctx,
                 [&] { return Summaries(node_->PersistentSegments(CollectionId(req->collection())), resp); });
  }
  grpc::Status LoadedSegments(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req,
                              rolepb::LoadedSegments* resp) override {
    return Serve("LoadedSegments", req->ctx(), ctx,
                 [&] { return Summaries(node_->LoadedSegments(CollectionId(req->collection())), resp); });
  }
  grpc::Status SafeTimestamp(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req,
                             rolepb::TimestampResponse* resp) override {
    return Serve("SafeTimestamp", req->ctx(), ctx, [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(Timestamp ts, node_->SafeTimestamp(CollectionId(req->collection()), req->now()));
      resp->set_ts(ts);
      return Status::OK();
    });
  }
  grpc::Status RowCount(grpc::ServerContext* ctx, const rolepb::CollectionRequest* req,
                        rolepb::RowCountResponse* resp) override {
    return Serve("RowCount", req->ctx(), ctx, [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(int64_t rows,
                            node_->RowCount(CollectionId(req->collection()), req->partition(), LiveOf(*req)));
      resp->set_rows(rows);
      return Status::OK();
    });
  }

 private:
  template <typename Fn>
  static grpc::Status WithCollection(std::string_view rpc, const grpc::ServerContext* ctx,
                                     const rolepb::CollectionMessage& req, Fn fn) {
    return Serve(rpc, req.ctx(), ctx, [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(CollectionInfo c, DecodeCollection(req.info()));
      return fn(c);
    });
  }
  static Status Summaries(const Result<std::vector<SegmentSummary>>& r, rolepb::LoadedSegments* resp) {
    KITE_RETURN_IF_ERROR(r.status());
    SummariesToPb(*r, resp);
    return Status::OK();
  }
};

// Client side of the read path, shared by both remote adapters. Every call
// runs with the request's deadline capped by the per-call limit (RunCall).
template <typename Service>
class ReadClient {
 public:
  ReadClient(std::shared_ptr<grpc::Channel> channel, Prober probe)
      : stub_(Service::NewStub(std::move(channel))), probe_(std::move(probe)) {}

  Status Search(const rolepb::SearchRequest& req, SearchPart* out, const CancelHook& cancelled) {
    rolepb::SearchResponse resp;
    Status st = RunCall(
        [&](grpc::ClientContext* ctx) {
          if (!cancelled) return stub_->Search(ctx, req, &resp);
          return CancellableCall(
              ctx,
              [this](grpc::ClientContext* c, const rolepb::SearchRequest& q, grpc::CompletionQueue* cq) {
                return stub_->PrepareAsyncSearch(c, q, cq);
              },
              req, &resp, cancelled);
        },
        &req.ctx(), CallKind::kCall, probe_);
    KITE_RETURN_IF_ERROR(st);
    KITE_ASSIGN_OR_RETURN(*out, SearchPartFromPb(resp));
    return Status::OK();
  }
  Status Retrieve(const rolepb::RetrieveRequest& req, Retrieved* out) {
    rolepb::RetrieveResponse resp;
    KITE_RETURN_IF_ERROR(RunCall([&](grpc::ClientContext* ctx) { return stub_->Retrieve(ctx, req, &resp); },
                                 &req.ctx(), CallKind::kCall, probe_));
    KITE_ASSIGN_OR_RETURN(*out, RetrievedFromPb(resp));
    return Status::OK();
  }
  Status ReadStats(const rolepb::ReadStatsRequest& req, rolepb::ReadStatsResponse* resp) {
    return RunCall([&](grpc::ClientContext* ctx) { return stub_->ReadStats(ctx, req, resp); }, &req.ctx(),
                   CallKind::kCall, probe_);
  }

 private:
  std::unique_ptr<typename Service::Stub> stub_;
  Prober probe_;
};

// The probes: a cheap call each service answers without touching storage.
Prober QueryNodeProbe(const std::shared_ptr<rolepb::QueryNodeService::Stub>& stub) {
  auto p = std::make_shared<PeerProbe>();
  p->call = [stub](grpc::ClientContext* ctx) {
    rolepb::SegmentsRequest req;
    rolepb::LoadedSegments resp;
    return stub->ListSegments(ctx, req, &resp);
  };
  return p;
}

Prober StreamingNodeProbe(const std::shared_ptr<rolepb::StreamingNodeService::Stub>& stub) {
  auto p = std::make_shared<PeerProbe>();
  p->call = [stub](grpc::ClientContext* ctx) {
    rolepb::CollectionRequest req;
    rolepb::TimestampResponse resp;
    return stub->SafeTimestamp(ctx, req, &resp);
  };
  return p;
}

// With `local` (standalone with kite.roleTransport: grpc) only the read path
// crosses the wire and the hand-over stays in memory; without it (a query
// node in its own process) every call does.
class RemoteQueryNode final : public QueryNodeApi {
 public:
  RemoteQueryNode(std::shared_ptr<grpc::Channel> channel, QueryNodeApi* local)
      : stub_(rolepb::QueryNodeService::NewStub(channel)), probe_(QueryNodeProbe(stub_)), reads_(channel, probe_),
        local_(local) {}

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
    return Unary(&Stub::Load, req, CallKind::kDdl);
  }
  void Release(CollectionId collection) override {
    if (local_) {
      local_->Release(collection);
      return;
    }
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    (void)Unary(&Stub::Release, req, CallKind::kDdl);
  }
  bool IsLoaded(CollectionId collection) const override {
    if (local_) return local_->IsLoaded(collection);
    rolepb::LoadedSegments resp;
    return List(collection, &resp).ok() && resp.loaded();
  }
  Status LoadSegments(const rolepb::LoadSegmentsRequest& req, std::vector<SegmentPtr> local,
                      rolepb::LoadSegmentsResponse* resp) override {
    if (local_) return local_->LoadSegments(req, std::move(local), resp);
    rolepb::LoadSegmentsResponse ignored;
    return RunCall([&](grpc::ClientContext* ctx) { return stub_->LoadSegments(ctx, req, resp ? resp : &ignored); },
                   nullptr, CallKind::kDdl, probe_);
  }
  Status ReleaseSegments(CollectionId collection, const std::vector<SegmentId>& segments) override {
    if (local_) return local_->ReleaseSegments(collection, segments);
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    for (SegmentId s : segments) req.add_segments(s.value);
    return Unary(&Stub::ReleaseSegments, req, CallKind::kDdl);
  }
  Status ApplyDeletes(CollectionId collection, const std::string& channel,
                      const std::vector<DeleteRecord>& deletes) override {
    if (local_) return local_->ApplyDeletes(collection, channel, deletes);
    rolepb::DeletesRequest req;
    DeletesToPb(collection, channel, deletes, &req);
    return Unary(&Stub::ApplyDeletes, req, CallKind::kCall);
  }
  Status LoadIndex(CollectionId collection, const SegmentIndexRecord& rec,
                   std::shared_ptr<const index::VectorIndex> local_vector,
                   std::shared_ptr<const index::ScalarIndex> local_scalar) override {
    if (local_) return local_->LoadIndex(collection, rec, std::move(local_vector), std::move(local_scalar));
    rolepb::IndexRequest req;
    req.set_collection(collection.value);
    *req.mutable_index() = IndexLoadOf(rec);
    return Unary(&Stub::LoadIndex, req, CallKind::kDdl);
  }
  Status DetachIndex(CollectionId collection, IndexId index) override {
    if (local_) return local_->DetachIndex(collection, index);
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    req.set_index(index.value);
    return Unary(&Stub::DetachIndex, req, CallKind::kDdl);
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
  Status Unary(Method method, const Req& req, CallKind kind) const {
    rolepb::Ack ack;
    return RunCall([&](grpc::ClientContext* ctx) { return (stub_.get()->*method)(ctx, req, &ack); }, nullptr, kind,
                   probe_);
  }
  Status List(CollectionId collection, rolepb::LoadedSegments* resp) const {
    rolepb::SegmentsRequest req;
    req.set_collection(collection.value);
    return RunCall([&](grpc::ClientContext* ctx) { return stub_->ListSegments(ctx, req, resp); }, nullptr,
                   CallKind::kCall, probe_);
  }

  std::shared_ptr<Stub> stub_;
  Prober probe_;
  ReadClient<rolepb::QueryNodeService> reads_;
  QueryNodeApi* local_;
};

class RemoteStreamingNode final : public StreamingNodeApi {
 public:
  RemoteStreamingNode(std::shared_ptr<grpc::Channel> channel, StreamingNodeApi* local)
      : stub_(rolepb::StreamingNodeService::NewStub(channel)), probe_(StreamingNodeProbe(stub_)),
        reads_(channel, probe_), local_(local) {}

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
    FillRequestContext(req.mutable_ctx());  // the client's deadline bounds the call
    rolepb::WriteResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::Write, req, &resp, CallKind::kCall));
    return Timestamp(resp.ts());
  }
  Result<std::vector<SegmentId>> Flush(CollectionId collection) override {
    if (local_) return local_->Flush(collection);
    rolepb::SegmentIds resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::Flush, Request(collection, kWithDeadline), &resp, CallKind::kDdl));
    std::vector<SegmentId> ids;
    for (int64_t id : resp.segments()) ids.emplace_back(id);
    return ids;
  }
  Status RetainPartitions(CollectionId collection, const std::set<int64_t>& live) override {
    if (local_) return local_->RetainPartitions(collection, live);
    rolepb::CollectionRequest req = Request(collection);
    for (int64_t p : live) req.add_live_partitions(p);
    rolepb::Ack ack;
    return Call(&Stub::RetainPartitions, req, &ack, CallKind::kDdl);
  }
  Status CommitImport(CollectionId collection, const std::vector<SegmentRecord>& segments) override {
    if (local_) return local_->CommitImport(collection, segments);
    rolepb::CommitImportRequest req;
    req.set_collection(collection.value);
    LifecycleContext(req.mutable_ctx());
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
    return Call(&Stub::CommitImport, req, &ack, CallKind::kDdl);
  }
  Status Load(const CollectionInfo& c) override { return local_ ? local_->Load(c) : WithCollection(&Stub::Load, c); }
  Status Release(CollectionId collection) override {
    if (local_) return local_->Release(collection);
    rolepb::Ack ack;
    return Call(&Stub::Release, Request(collection), &ack, CallKind::kDdl);
  }
  Status ApplySchema(const CollectionInfo& c) override {
    return local_ ? local_->ApplySchema(c) : WithCollection(&Stub::ApplySchema, c);
  }
  Result<std::vector<SegmentSummary>> PersistentSegments(CollectionId collection) override {
    if (local_) return local_->PersistentSegments(collection);
    rolepb::LoadedSegments resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::PersistentSegments, Request(collection, kWithDeadline), &resp, CallKind::kCall));
    return SummariesFromPb(resp);
  }
  Result<std::vector<SegmentSummary>> LoadedSegments(CollectionId collection) override {
    if (local_) return local_->LoadedSegments(collection);
    rolepb::LoadedSegments resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::LoadedSegments, Request(collection, kWithDeadline), &resp, CallKind::kCall));
    return SummariesFromPb(resp);
  }
  Result<Timestamp> SafeTimestamp(CollectionId collection, Timestamp now) override {
    if (local_) return local_->SafeTimestamp(collection, now);
    rolepb::CollectionRequest req = Request(collection, kWithDeadline);
    req.set_now(now);
    rolepb::TimestampResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::SafeTimestamp, req, &resp, CallKind::kCall));
    return Timestamp(resp.ts());
  }
  Result<int64_t> RowCount(CollectionId collection, int64_t partition, const std::set<int64_t>& live) override {
    if (local_) return local_->RowCount(collection, partition, live);
    rolepb::CollectionRequest req = Request(collection, kWithDeadline);
    req.set_partition(partition);
    for (int64_t p : live) req.add_live_partitions(p);
    rolepb::RowCountResponse resp;
    KITE_RETURN_IF_ERROR(Call(&Stub::RowCount, req, &resp, CallKind::kCall));
    return resp.rows();
  }

 private:
  using Stub = rolepb::StreamingNodeService::Stub;
  // Flush and the listings run under the client's deadline; the lifecycle
  // calls carry its request id and caller only (role_grpc.h).
  static constexpr bool kWithDeadline = true;
  static void LifecycleContext(rolepb::RequestContext* ctx) {
    FillRequestContext(ctx);
    ctx->clear_deadline_unix_us();
  }
  static rolepb::CollectionRequest Request(CollectionId collection, bool with_deadline = false) {
    rolepb::CollectionRequest req;
    req.set_collection(collection.value);
    if (with_deadline) {
      FillRequestContext(req.mutable_ctx());
    } else {
      LifecycleContext(req.mutable_ctx());
    }
    return req;
  }
  // The call's deadline is min(req.ctx's deadline, the per-call limit of `kind`).
  template <typename Method, typename Req, typename Resp>
  Status Call(Method method, const Req& req, Resp* resp, CallKind kind) const {
    return RunCall([&](grpc::ClientContext* ctx) { return (stub_.get()->*method)(ctx, req, resp); }, &req.ctx(),
                   kind, probe_);
  }
  template <typename Method>
  Status WithCollection(Method method, const CollectionInfo& c) const {
    rolepb::CollectionMessage req;
    req.set_info(EncodeCollection(c));
    LifecycleContext(req.mutable_ctx());
    rolepb::Ack ack;
    return Call(method, req, &ack, CallKind::kDdl);
  }

  std::shared_ptr<Stub> stub_;
  Prober probe_;
  ReadClient<rolepb::StreamingNodeService> reads_;
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

Status RunRoleCall(const std::function<grpc::Status(grpc::ClientContext*)>& fn, bool ddl,
                   const rolepb::RequestContext* context) {
  return RunCall(fn, context, ddl ? CallKind::kDdl : CallKind::kCall, nullptr);
}

}  // namespace kite
