#include "roles/api/role_auth.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpcpp/support/client_interceptor.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

namespace kite {
namespace {

constexpr char kCredentialContext[] = "kite internal rpc v1";

Result<std::string> ReadPem(const char* key, const std::string& path) {
  if (path.empty()) {
    return InvalidArgument("config key {} is not set (common.security.internaltlsEnabled is true)", key);
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  if (in) ss << in.rdbuf();
  if (!in || ss.str().empty()) return InvalidArgument("config key {}: cannot read '{}'", key, path);
  return ss.str();
}

Status CheckSecret(const RoleSecurity& s) {
  if (s.authenticate && s.cluster_secret.empty()) {
    return InvalidArgument(
        "config key kite.clusterSecret is not set: with common.security.authorizationEnabled every internal call "
        "between Kite processes carries a credential derived from this secret, shared by all of them");
  }
  return Status::OK();
}

std::string SliceString(const grpc_slice& s) {
  return std::string(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(s)), GRPC_SLICE_LENGTH(s));
}

// Refused calls are logged at most every 10 s (with how many there were), so
// that a caller knocking in a loop cannot flood the log.
void LogRefused(const char* why) {
  static std::atomic<int64_t> refused{0};
  static std::atomic<int64_t> last_log_ms{0};
  const int64_t n = refused.fetch_add(1) + 1;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  int64_t last = last_log_ms.load();
  if (last != 0 && now_ms - last < 10000) return;
  if (!last_log_ms.compare_exchange_strong(last, now_ms)) return;
  spdlog::warn("role services: {} (refused internal calls so far: {})", why, n);
}

// The server-side check, run by gRPC core on every call before the handler
// (the server auth filter), so a refused call never reaches a role.
void CheckCredential(void* state, grpc_auth_context*, const grpc_metadata* md, size_t num_md,
                     grpc_process_auth_metadata_done_cb cb, void* user_data) {
  const std::string& want = *static_cast<const std::string*>(state);
  const char* error = "internal call refused: no cluster credential (kite.clusterSecret)";
  for (size_t i = 0; i < num_md; ++i) {
    if (SliceString(md[i].key) != kRoleCredentialHeader) continue;
    const std::string got = SliceString(md[i].value);
    if (got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0) {
      cb(user_data, &md[i], 1, nullptr, 0, GRPC_STATUS_OK, nullptr);
      return;
    }
    error = "internal call refused: wrong cluster credential (kite.clusterSecret differs)";
  }
  LogRefused(error);
  cb(user_data, nullptr, 0, nullptr, 0, GRPC_STATUS_UNAUTHENTICATED, error);
}

void DestroyCredential(void* state) { delete static_cast<std::string*>(state); }

// gRPC C++ cannot put an auth metadata processor on plaintext server
// credentials (InsecureServerCredentials asserts), so the role server's
// credentials wrap gRPC core's, plaintext or TLS, which can.
class CoreServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit CoreServerCredentials(grpc_server_credentials* creds) : creds_(creds) {}
  ~CoreServerCredentials() override { grpc_server_credentials_release(creds_); }
  CoreServerCredentials(const CoreServerCredentials&) = delete;
  CoreServerCredentials& operator=(const CoreServerCredentials&) = delete;

  void RequireCredential(const std::string& credential) {
    grpc_auth_metadata_processor p;
    p.process = CheckCredential;
    p.destroy = DestroyCredential;
    p.state = new std::string(credential);  // owned by gRPC from here (freed by DestroyCredential)
    grpc_server_credentials_set_auth_metadata_processor(creds_, p);
  }
  // The check is RequireCredential's; another processor is not supported.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }
  grpc_server_credentials* creds_;
};

class AddCredential final : public grpc::experimental::Interceptor {
 public:
  explicit AddCredential(const std::string* credential) : credential_(credential) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      m->GetSendInitialMetadata()->emplace(kRoleCredentialHeader, *credential_);
    }
    m->Proceed();
  }

 private:
  const std::string* credential_;
};

class AddCredentialFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit AddCredentialFactory(std::string credential) : credential_(std::move(credential)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new AddCredential(&credential_);  // gRPC owns the interceptor; the factory lives as long as the channel
  }

 private:
  const std::string credential_;
};

}  // namespace

std::string RoleCredential(const std::string& cluster_secret) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), cluster_secret.data(), static_cast<int>(cluster_secret.size()),
       reinterpret_cast<const unsigned char*>(kCredentialContext), sizeof(kCredentialContext) - 1, mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

Result<std::shared_ptr<grpc::ServerCredentials>> RoleServerCredentials(const RoleSecurity& security) {
  KITE_RETURN_IF_ERROR(CheckSecret(security));
  grpc_server_credentials* core = nullptr;
  if (security.tls) {
    KITE_ASSIGN_OR_RETURN(std::string cert, ReadPem("internaltls.serverPemPath", security.server_pem_path));
    KITE_ASSIGN_OR_RETURN(std::string key, ReadPem("internaltls.serverKeyPath", security.server_key_path));
    grpc_ssl_pem_key_cert_pair pair{key.c_str(), cert.c_str()};
    core = grpc_ssl_server_credentials_create_ex(nullptr, &pair, 1, GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, nullptr);
    if (core == nullptr) {
      return InvalidArgument("config keys internaltls.serverPemPath / serverKeyPath: '{}' / '{}' are not a usable "
                             "certificate and key",
                             security.server_pem_path, security.server_key_path);
    }
  } else {
    core = grpc_insecure_server_credentials_create();
  }
  auto creds = std::make_shared<CoreServerCredentials>(core);
  if (security.authenticate) creds->RequireCredential(RoleCredential(security.cluster_secret));
  return std::shared_ptr<grpc::ServerCredentials>(std::move(creds));
}

Result<std::shared_ptr<grpc::ChannelCredentials>> RoleChannelCredentials(const RoleSecurity& security) {
  KITE_RETURN_IF_ERROR(CheckSecret(security));
  if (!security.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions opts;
  KITE_ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPem("internaltls.caPemPath", security.ca_pem_path));
  return grpc::SslCredentials(opts);
}

std::shared_ptr<grpc::Channel> CreateRoleChannel(const std::string& target,
                                                 const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                                                 grpc::ChannelArguments args, const RoleSecurity& security) {
  if (security.tls && !security.sni.empty()) args.SetSslTargetNameOverride(security.sni);
  if (!security.authenticate) return grpc::CreateCustomChannel(target, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<AddCredentialFactory>(RoleCredential(security.cluster_secret)));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, args, std::move(interceptors));
}

}  // namespace kite
