// etcd_security.h: PEM files and the check handshake of etcd.ssl.*.
#include "storage/meta/etcd_security.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace kite {
namespace {

Result<std::string> ReadPem(const char* key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return InvalidArgument("config key etcd.ssl.{}: cannot read '{}': {}", key, path, std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.find("-----BEGIN") == std::string::npos) {
    return InvalidArgument("config key etcd.ssl.{}: '{}' is not a PEM file", key, path);
  }
  return pem;
}

int MinVersionConstant(const std::string& v) {
  if (v == "1.0") return TLS1_VERSION;
  if (v == "1.1") return TLS1_1_VERSION;
  if (v == "1.2") return TLS1_2_VERSION;
  if (v == "1.3") return TLS1_3_VERSION;
  return 0;
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// A TCP connection to host:port within timeout_ms; -1 and errno_out set on failure.
int ConnectTcp(const std::string& host, const std::string& port, int timeout_ms, std::string* why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *why = gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        rc = -1;
      }
    }
    if (rc == 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      return fd;
    }
    *why = std::strerror(errno);
    close(fd);
  }
  return -1;
}

}  // namespace

Status CheckEtcdTlsMinVersion(const std::string& version) {
  if (MinVersionConstant(version) == 0) {
    // Milvus: merr.WrapErrParameterInvalidMsg("unknown TLS version,%s", minVersion).
    return InvalidArgument("config key etcd.ssl.tlsMinVersion: unknown TLS version,{}", version);
  }
  return Status::OK();
}

Result<EtcdTlsFiles> ReadEtcdTlsFiles(const EtcdTlsOptions& tls) {
  EtcdTlsFiles f;
  KITE_RETURN_IF_ERROR(CheckEtcdTlsMinVersion(tls.min_version));
  if (tls.cert_path.empty() != tls.key_path.empty()) {
    return InvalidArgument("config keys etcd.ssl.tlsCert and etcd.ssl.tlsKey: give both (a client certificate and "
                           "its key) or neither");
  }
  if (!tls.ca_cert_path.empty()) {
    KITE_ASSIGN_OR_RETURN(f.ca_pem, ReadPem("tlsCACert", tls.ca_cert_path));
  }
  if (!tls.cert_path.empty()) {
    KITE_ASSIGN_OR_RETURN(f.cert_pem, ReadPem("tlsCert", tls.cert_path));
    KITE_ASSIGN_OR_RETURN(f.key_pem, ReadPem("tlsKey", tls.key_path));
  }
  return f;
}

Status EtcdTlsHandshakeCheck(const std::string& endpoint, const EtcdTlsOptions& tls, int timeout_ms) {
  size_t colon = endpoint.rfind(':');
  std::string host = colon == std::string::npos ? endpoint : endpoint.substr(0, colon);
  std::string port = colon == std::string::npos ? "2379" : endpoint.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string why;
  Fd sock;
  sock.fd = ConnectTcp(host, port, timeout_ms, &why);
  if (sock.fd < 0) {
    return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "{}: {}", endpoint, why);
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return IOError("etcd TLS check: SSL_CTX_new: {}", OpenSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), MinVersionConstant(tls.min_version));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (tls.ca_cert_path.empty()) {
    SSL_CTX_set_default_verify_paths(ctx.get());
  } else if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_cert_path.c_str(), nullptr) != 1) {
    return InvalidArgument("config key etcd.ssl.tlsCACert: '{}': {}", tls.ca_cert_path, OpenSslErrors());
  }
  if (!tls.cert_path.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_path.c_str()) != 1) {
      return InvalidArgument("config key etcd.ssl.tlsCert: '{}': {}", tls.cert_path, OpenSslErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return InvalidArgument("config key etcd.ssl.tlsKey: '{}' (for '{}'): {}", tls.key_path, tls.cert_path,
                             OpenSslErrors());
    }
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl) return IOError("etcd TLS check: SSL_new: {}", OpenSslErrors());
  // The server's name as gRPC checks it: an IP address against the
  // certificate's IP SANs, a host name against its DNS names.
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  in6_addr ip6;
  in_addr ip4;
  if (inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  }
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_set_alpn_protos(ssl.get(), kAlpn, sizeof kAlpn);
  SSL_set_fd(ssl.get(), sock.fd);
  if (SSL_connect(ssl.get()) != 1) {
    long verify = SSL_get_verify_result(ssl.get());
    std::string reason = verify != X509_V_OK ? std::string("certificate verify failed: ") +
                                                   X509_verify_cert_error_string(verify)
                                             : OpenSslErrors();
    if (reason.empty()) reason = "the connection was closed during the handshake";
    return InvalidArgument(
        "TLS handshake with etcd at {} failed: {} (check etcd.ssl.tlsCACert, etcd.ssl.tlsCert, etcd.ssl.tlsKey and "
        "etcd.ssl.tlsMinVersion {})",
        endpoint, reason, tls.min_version);
  }
  // In TLS 1.3 the server checks the client's certificate after the client
  // finished its handshake, and says so in an alert: read briefly for one.
  timeval tv{0, 500 * 1000};
  setsockopt(sock.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char byte;
  errno = 0;
  int got = SSL_read(ssl.get(), &byte, 1);
  int err = got > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl.get(), got);
  bool quiet = err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ ||
               (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
  if (!quiet) {
    std::string why = OpenSslErrors();
    if (why.empty()) why = errno != 0 ? std::strerror(errno) : "the connection was closed";
    return InvalidArgument(
        "TLS handshake with etcd at {} failed: etcd refused the client: {} (check etcd.ssl.tlsCert and "
        "etcd.ssl.tlsKey: etcd requires a client certificate signed by a CA it trusts)",
        endpoint, why);
  }
  SSL_shutdown(ssl.get());
  return Status::OK();
}

}  // namespace kite
