#include "server/front_door.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "common/log.h"
#include "common/request_observer.h"
#include "roles/proxy/proxy.h"
#include "rpc/grpc_observer.h"
#include "rpc/import/import_jobs.h"
#include "rpc/malformed_request.h"
#include "rpc/milvus_service.h"
#include "rpc/rest/rest_service.h"
#include "server/tls.h"

#ifndef KITE_VERSION
#define KITE_VERSION "0.1.0"
#endif

namespace kite {
namespace {

// The "message" of an error envelope, for the log (bodies of failures are small).
std::string ErrorMessageOf(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  return {};
}

Result<std::shared_ptr<grpc::ServerCredentials>> GrpcTlsCredentials(const SecurityConfig& sec) {
  grpc::SslServerCredentialsOptions opts(sec.tls_mode == 2
                                             ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                             : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  KITE_ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile("tls.serverPemPath", sec.tls_server_pem));
  KITE_ASSIGN_OR_RETURN(pair.private_key, ReadPemFile("tls.serverKeyPath", sec.tls_server_key));
  opts.pem_key_cert_pairs.push_back(std::move(pair));
  if (sec.tls_mode == 2) {
    KITE_ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPemFile("tls.caPemPath", sec.tls_ca_pem));
  }
  return grpc::SslServerCredentials(opts);
}

}  // namespace

Result<std::unique_ptr<FrontDoor>> FrontDoor::Start(const ServerConfig& config, Proxy* proxy,
                                                    auth::AccessControl* access, import::ImportApi* imports,
                                                    const std::string& process_name) {
  std::unique_ptr<FrontDoor> door(new FrontDoor(config));
  KITE_RETURN_IF_ERROR(door->Open(proxy, access, imports, process_name));
  return door;
}

Status FrontDoor::Open(Proxy* proxy, auth::AccessControl* access, import::ImportApi* imports,
                       const std::string& process_name) {
  rpc::ServerIdentity id;
  id.version = "v2.6.6";
  id.build_tags = std::string("kite ") + KITE_VERSION;
  service_ = std::make_unique<rpc::MilvusService>(proxy, id, access);
  if (imports) service_->AttachImports(imports);

  grpc::ServerBuilder builder;
  const std::string addr = address();
  // With TLS, gRPC does the handshake itself (PortMux routes gRPC's ClientHellos to it, tls.h).
  std::shared_ptr<grpc::ServerCredentials> grpc_credentials = grpc::InsecureServerCredentials();
  if (config_.security.tls_mode != 0) {
    KITE_ASSIGN_OR_RETURN(grpc_credentials, GrpcTlsCredentials(config_.security));
  }
  grpc_acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, grpc_credentials);
  builder.RegisterService(service_.get());
  // The malformed-request answer first, so that the observer records it.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(rpc::MakeMalformedRequestInterceptorFactory());
  for (auto& f : rpc::MakeObserverInterceptorFactories()) interceptors.push_back(std::move(f));  // metrics, logs
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.limits.max_request_bytes + (1 << 20)));
  builder.SetMaxSendMessageSize(static_cast<int>(config_.limits.max_response_bytes));
  // pymilvus pings every 10 s even when idle; accept that instead of GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  server_ = builder.BuildAndStart();
  if (!server_) return IOError("cannot start the gRPC server for {}", addr);

  rest::RestOptions rest_options;
  rest_options.max_body_bytes = config_.limits.max_request_bytes;
  rest_options.max_inflight_bytes = config_.limits.max_inflight_request_bytes;
  rest_options.access_control = access;
  rest_options.imports = imports;
  rest_ = std::make_unique<rest::RestService>(proxy, rest_options);
  PortMuxOptions mux_options;
  mux_options.host = config_.host;
  mux_options.port = config_.port;
  mux_options.http.max_body_bytes = config_.limits.max_request_bytes;
  mux_options.http.inflight_bytes = &rest_inflight_bytes_;
  mux_options.http.max_inflight_bytes =
      std::max(config_.limits.max_inflight_request_bytes, config_.limits.max_request_bytes);
  if (config_.security.tls_mode != 0) {
    TlsOptions tls;
    tls.mode = config_.security.tls_mode;
    tls.server_pem_path = config_.security.tls_server_pem;
    tls.server_key_path = config_.security.tls_server_key;
    tls.ca_pem_path = config_.security.tls_ca_pem;
    auto ctx = TlsContext::Create(tls);
    if (!ctx.ok()) {
      server_->Shutdown();
      return ctx.status();
    }
    mux_options.tls = std::move(ctx).value();
  }
  auto mux = PortMux::Start(
      mux_options, [this](int listener_fd, int fd, std::string bytes) { HandOffToGrpc(listener_fd, fd, bytes); },
      [this](const HttpRequest& req) { return ServeRest(req); });
  if (!mux.ok()) {
    server_->Shutdown();
    return IOError("cannot listen for gRPC/REST on {}: {}", addr, mux.status().message());
  }
  mux_ = std::move(mux).value();

  spdlog::info("{} serving Milvus gRPC and REST on {}", process_name, addr);
  if (config_.security.tls_mode != 0) {
    spdlog::info("TLS ({}) on {}", config_.security.tls_mode == 2 ? "mutual: client certificates required" : "one-way",
                 addr);
  }
  if (config_.security.authorization_enabled) {
    spdlog::info("authorization is enabled: every call needs a user and password (common.security)");
  } else if (IsLoopbackHost(config_.host)) {
    spdlog::warn("authorization is disabled: listening on {} only; set common.security.authorizationEnabled "
                 "to serve other hosts (or proxy.allowInsecureRemote to accept the risk)",
                 config_.host);
  } else {
    spdlog::warn("authorization is disabled and proxy.allowInsecureRemote lets anyone who reaches {} read and "
                 "drop every collection",
                 config_.host);
  }
  return Status::OK();
}

FrontDoor::FrontDoor(const ServerConfig& config) : config_(config) {}

FrontDoor::~FrontDoor() {
  Shutdown();
  mux_.reset();
  rest_.reset();
  server_.reset();
  service_.reset();
}

void FrontDoor::Wait() {
  if (server_) server_->Wait();
}

void FrontDoor::Shutdown() {
  if (stopped_.exchange(true)) return;
  // No new connections first, then drain gRPC.
  if (mux_) mux_->Shutdown();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void FrontDoor::HandOffToGrpc(int listener_fd, int fd, const std::string& bytes) {
  grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters p;
  p.listener_fd = listener_fd;
  p.fd = fd;
  grpc::Slice slice(bytes.data(), bytes.size());
  p.read_buffer = grpc::ByteBuffer(&slice, 1);
  grpc_acceptor_->HandleNewConnection(&p);  // gRPC owns fd from here (closes it if stopped)
}

// REST calls are observed here (the gRPC ones by rpc/grpc_observer.h):
// request id, metrics, logs, slow-request ring.
HttpResponse FrontDoor::ServeRest(const HttpRequest& req) {
  auto start = std::chrono::steady_clock::now();
  RequestRecord rec;
  rec.protocol = "rest";
  rec.start_unix_ms = UnixMillisNow();
  rec.request_id = RequestIdOrNew(req.Header("x-request-id"));
  ScopedRequestId scoped_id(rec.request_id);
  std::string_view function = rest::RestFunctionName(req.path);
  // Unknown paths share one label value so junk requests cannot grow the metrics.
  rec.function_name = function.empty() ? "unknown" : std::string(function);
  rec.path = function.empty() ? "unknown" : req.path;

  rest::RestRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.headers) r.headers.emplace(k, v);
  r.peer = req.peer;
  r.over_budget = req.over_budget;
  r.body = req.body;
  r.body_too_large = req.body_too_large;
  rest::RestResponse res = rest_->Handle(r);

  const rest::RestSummary& sum = res.summary;
  rec.code = sum.code;
  rec.db = sum.db;
  rec.collection = sum.collection;
  rec.inserted = sum.inserted;
  rec.upserted = sum.upserted;
  rec.deleted = sum.deleted;
  rec.nq = sum.nq;
  if (rec.code != 0) rec.error = ErrorMessageOf(res.body);
  rec.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  RequestObserver::Global().Finish(rec);

  HttpResponse out;
  out.status = res.http_status;
  out.body = std::move(res.body);
  out.headers.emplace_back("X-Request-Id", rec.request_id);
  return out;
}

}  // namespace kite
