#include "rpc/grpc_observer.h"

#include <google/protobuf/message.h>
#include <grpcpp/support/interceptor.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/log.h"
#include "common/request_observer.h"
#include "milvus.pb.h"

namespace kite::rpc {
namespace {

namespace gx = grpc::experimental;
namespace pb = google::protobuf;
namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;

// The sync API hands interceptors the handler's own request/response objects
// as void*: generated messages whose only base class is pb::Message, so the
// pointer is also a valid pb::Message pointer.
const pb::Message* AsMessage(const void* p) { return static_cast<const pb::Message*>(p); }

std::string StringField(const pb::Message& m, const char* name) {
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (!f || f->is_repeated() || f->type() != pb::FieldDescriptor::TYPE_STRING) return {};
  return m.GetReflection()->GetString(m, f);
}

// A repeated string field joined with ',' (empty when absent).
std::string JoinedStrings(const pb::Message& m, const char* name) {
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (!f || !f->is_repeated() || f->type() != pb::FieldDescriptor::TYPE_STRING) return {};
  std::string out;
  int n = m.GetReflection()->FieldSize(m, f);
  for (int i = 0; i < n; ++i) {
    if (i) out += ',';
    out += m.GetReflection()->GetRepeatedString(m, f, i);
  }
  return out;
}

const mc::Status* StatusOf(const pb::Message& m) {
  if (const auto* s = pb::DynamicCastToGenerated<mc::Status>(&m)) return s;
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName("status");
  if (!f || f->is_repeated() || f->message_type() != mc::Status::descriptor()) return nullptr;
  if (!m.GetReflection()->HasField(m, f)) return nullptr;
  return pb::DynamicCastToGenerated<mc::Status>(&m.GetReflection()->GetMessage(m, f));
}

// "/milvus.proto.milvus.MilvusService/Insert" -> "Insert". Other services'
// methods (a client can send any name) share "unknown", so they cannot grow
// the metrics.
std::string MethodName(const char* full) {
  static constexpr std::string_view kPrefix = "/milvus.proto.milvus.MilvusService/";
  std::string_view s = full ? full : "";
  if (!s.starts_with(kPrefix) || s.size() == kPrefix.size()) return "unknown";
  return std::string(s.substr(kPrefix.size()));
}

// The client's deadline as Unix microseconds (0: none).
int64_t DeadlineUnixMicros(const grpc::ServerContextBase* ctx) {
  if (ctx == nullptr) return 0;
  const auto d = ctx->deadline();
  if (d == std::chrono::system_clock::time_point::max()) return 0;
  const int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(d.time_since_epoch()).count();
  return us > 0 ? us : 0;
}

// The client's request id (`x-request-id`, kept when usable) and pymilvus's
// `dbname`; each output is left alone when its key is absent.
void ReadCallMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md, std::string* request_id,
                      std::string* db) {
  auto id = md.find("x-request-id");
  if (id != md.end()) *request_id = RequestIdOrNew(std::string_view(id->second.data(), id->second.size()));
  auto d = md.find("dbname");
  if (d != md.end()) db->assign(d->second.data(), d->second.size());
}

class ObserverInterceptor final : public gx::Interceptor {
 public:
  explicit ObserverInterceptor(gx::ServerRpcInfo* info) : start_(std::chrono::steady_clock::now()), info_(info) {
    rec_.protocol = "grpc";
    rec_.function_name = MethodName(info->method());
    rec_.start_unix_ms = UnixMillisNow();
  }

  void Intercept(gx::InterceptorBatchMethods* m) override {
    using H = gx::InterceptionHookPoints;
    if (m->QueryInterceptionHookPoint(H::POST_RECV_INITIAL_METADATA)) ReadMetadata(m->GetRecvInitialMetadata());
    if (m->QueryInterceptionHookPoint(H::POST_RECV_MESSAGE)) {
      if (const void* msg = m->GetRecvMessage()) ReadRequest(*AsMessage(msg));
      // The handler runs on this thread right after the interceptors (sync server).
      SetCurrentRequestId(RequestId());
      SetCurrentDeadline(DeadlineUnixMicros(info_->server_context()));  // the caller is set by Admit
      id_thread_ = std::this_thread::get_id();
    }
    if (m->QueryInterceptionHookPoint(H::PRE_SEND_INITIAL_METADATA)) {
      if (auto* md = m->GetSendInitialMetadata()) md->emplace("x-request-id", RequestId());
    }
    if (m->QueryInterceptionHookPoint(H::PRE_SEND_MESSAGE)) {
      if (const void* msg = m->GetSendMessage()) ReadResponse(*AsMessage(msg));
    }
    if (m->QueryInterceptionHookPoint(H::PRE_SEND_STATUS)) {
      grpc::Status st = m->GetSendStatus();
      if (!st.ok() && rec_.code == 0) {
        rec_.code = static_cast<int32_t>(st.error_code()) == 0 ? 1 : static_cast<int32_t>(st.error_code());
        rec_.error = st.error_message();
        rec_.inserted = rec_.upserted = rec_.deleted = rec_.nq = 0;
      }
      Finish();
    }
    m->Proceed();
  }

 private:
  const std::string& RequestId() {
    if (rec_.request_id.empty()) rec_.request_id = NewRequestId();
    return rec_.request_id;
  }

  void ReadMetadata(std::multimap<grpc::string_ref, grpc::string_ref>* md) {
    if (md) ReadCallMetadata(*md, &rec_.request_id, &metadata_db_);
  }

  void ReadRequest(const pb::Message& req) {
    rec_.db = StringField(req, "db_name");
    if (rec_.db.empty()) rec_.db = metadata_db_;
    rec_.collection = StringField(req, "collection_name");
    if (rec_.collection.empty()) rec_.collection = JoinedStrings(req, "collection_names");  // Flush
  }

  void ReadResponse(const pb::Message& resp) {
    if (const mc::Status* s = StatusOf(resp)) {
      // code is Milvus 2.3+'s; error_code the legacy enum older servers set alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      rec_.code = s->code() != 0 ? s->code() : static_cast<int32_t>(s->error_code());
#pragma GCC diagnostic pop
      if (rec_.code != 0) rec_.error = s->reason();
    }
    if (rec_.code != 0) return;
    if (const auto* r = pb::DynamicCastToGenerated<mm::MutationResult>(&resp)) {
      if (rec_.function_name == "Upsert") {
        rec_.upserted = r->upsert_cnt();
      } else {
        rec_.inserted = r->insert_cnt();
        rec_.deleted = r->delete_cnt();
      }
    } else if (const auto* r = pb::DynamicCastToGenerated<mm::SearchResults>(&resp)) {
      rec_.nq = r->results().num_queries();
    }
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    RequestId();
    rec_.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    RequestObserver::Global().Finish(rec_);
    ClearThreadId();
  }

  void ClearThreadId() {
    if (id_thread_ == std::this_thread::get_id()) SetCurrentRequestId({});
    id_thread_ = {};
  }

  std::chrono::steady_clock::time_point start_;
  gx::ServerRpcInfo* info_;
  RequestRecord rec_;
  std::string metadata_db_;
  std::thread::id id_thread_;  // the thread whose log request id this call set
  bool finished_ = false;
};

class ObserverFactory final : public gx::ServerInterceptorFactoryInterface {
 public:
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    if (ObservedInline(info->method())) return nullptr;  // no interceptor for this call
    return new ObserverInterceptor(info);
  }
};

}  // namespace

bool ObservedInline(const char* method) {
  return method && std::string_view(method) == "/milvus.proto.milvus.MilvusService/Search";
}

CallObservation::CallObservation(std::string function_name, grpc::ServerContextBase* ctx)
    : start_(std::chrono::steady_clock::now()) {
  rec_.protocol = "grpc";
  rec_.function_name = std::move(function_name);
  rec_.start_unix_ms = UnixMillisNow();
  ReadCallMetadata(ctx->client_metadata(), &rec_.request_id, &metadata_db_);
  if (rec_.request_id.empty()) rec_.request_id = NewRequestId();
  ctx->AddInitialMetadata("x-request-id", rec_.request_id);
  call_.deadline_unix_us = DeadlineUnixMicros(ctx);
}

void CallObservation::Enter() {
  SetCurrentRequestId(rec_.request_id);
  SetCurrentCallContext(call_);
}

void CallObservation::Leave() {
  // Keep what was learnt on this thread (Admit's caller) for the next Enter.
  if (CurrentRequestId() == rec_.request_id) call_ = CurrentCallContext();
  SetCurrentRequestId({});
}

void CallObservation::Finish(const std::string& db, const std::string& collection, int32_t code,
                             const std::string& reason, int64_t nq) {
  rec_.db = db.empty() ? metadata_db_ : db;
  rec_.collection = collection;
  rec_.code = code;
  if (code != 0) rec_.error = reason;
  rec_.nq = code == 0 ? nq : 0;
  rec_.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  RequestObserver::Global().Finish(rec_);
}

std::vector<std::unique_ptr<gx::ServerInterceptorFactoryInterface>> MakeObserverInterceptorFactories() {
  std::vector<std::unique_ptr<gx::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<ObserverFactory>());
  return out;
}

}  // namespace kite::rpc
