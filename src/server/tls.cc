#include "server/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <string_view>

namespace kite {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

Status Readable(const std::string& key, const std::string& path) {
  if (path.empty()) return InvalidArgument("config key {} is required for TLS", key);
  std::ifstream f(path);
  if (!f) return InvalidArgument("config key {}: cannot read {}: {}", key, path, std::strerror(errno));
  return Status::OK();
}

// ALPN: HTTP/1.1 when the client offers it (REST clients such as curl offer
// both, and Kite's REST is HTTP/1.1), else "h2" (gRPC offers only h2). The
// protocol is then told apart by its first bytes, as on a plain connection.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  static const unsigned char kH2[] = "\x02h2";
  static const unsigned char kHttp11[] = "\x08http/1.1";
  for (const unsigned char* want : {kHttp11, kH2}) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, want, want[0] + 1, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
      *out = selected;
      return SSL_TLSEXT_ERR_OK;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;  // no ALPN agreement: go on without it
}

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// recv(MSG_PEEK | MSG_WAITALL) of exactly n bytes within the socket's receive timeout.
bool PeekExactly(int fd, std::string* out, size_t n) {
  out->assign(n, '\0');
  while (true) {
    ssize_t r = ::recv(fd, out->data(), n, MSG_PEEK | MSG_WAITALL);
    if (r < 0 && errno == EINTR) continue;
    return r == static_cast<ssize_t>(n);
  }
}

uint32_t Be(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

}  // namespace

TlsRoute PeekTlsRoute(int fd, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string rec;
  // TLS record header: type 22 (handshake), version, length.
  if (!PeekExactly(fd, &rec, 5)) return TlsRoute::kClosed;
  if (static_cast<uint8_t>(rec[0]) != 22) return TlsRoute::kHttp;  // not TLS: let the handshake fail
  size_t len = Be(rec, 3, 2);
  if (len < 4 || len > 16384 || !PeekExactly(fd, &rec, 5 + len)) return TlsRoute::kHttp;
  // ClientHello: type 1, length(3), version(2), random(32), session id, cipher suites,
  // compression methods, extensions. Any inconsistency: route to the REST side, whose
  // handshake then fails or succeeds on its own.
  size_t p = 5;
  if (static_cast<uint8_t>(rec[p]) != 1) return TlsRoute::kHttp;
  p += 4 + 2 + 32;
  auto skip = [&](int len_bytes) {
    if (p + len_bytes > rec.size()) return false;
    size_t n = Be(rec, p, len_bytes);
    p += len_bytes + n;
    return p <= rec.size();
  };
  if (!skip(1) || !skip(2) || !skip(1) || p + 2 > rec.size()) return TlsRoute::kHttp;
  size_t end = std::min(rec.size(), p + 2 + Be(rec, p, 2));
  p += 2;
  bool h2 = false, http11 = false;
  while (p + 4 <= end) {
    uint32_t type = Be(rec, p, 2), n = Be(rec, p + 2, 2);
    p += 4;
    if (p + n > end) break;
    if (type == 16 && n >= 2) {  // application_layer_protocol_negotiation
      size_t q = p + 2, list_end = std::min<size_t>(p + n, p + 2 + Be(rec, p, 2));
      while (q < list_end) {
        size_t l = static_cast<uint8_t>(rec[q]);
        std::string_view proto(rec.data() + q + 1, std::min(l, list_end - q - 1));
        h2 = h2 || proto == "h2";
        http11 = http11 || proto == "http/1.1";
        q += 1 + l;
      }
    }
    p += n;
  }
  return h2 && !http11 ? TlsRoute::kGrpc : TlsRoute::kHttp;
}

Result<std::string> ReadPemFile(const std::string& key, const std::string& path) {
  KITE_RETURN_IF_ERROR(Readable(key, path));
  std::ifstream f(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return text;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsOptions& o) {
  if (o.mode != 1 && o.mode != 2) return InvalidArgument("common.security.tlsMode {} is not 1 or 2", o.mode);
  KITE_RETURN_IF_ERROR(Readable("tls.serverPemPath", o.server_pem_path));
  KITE_RETURN_IF_ERROR(Readable("tls.serverKeyPath", o.server_key_path));
  if (o.mode == 2) KITE_RETURN_IF_ERROR(Readable("tls.caPemPath", o.ca_pem_path));
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Internal("SSL_CTX_new: {}", OpenSslError());
  std::shared_ptr<TlsContext> tls(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.server_pem_path.c_str()) != 1) {
    return InvalidArgument("tls.serverPemPath {}: {}", o.server_pem_path, OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.server_key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("tls.serverKeyPath {}: {}", o.server_key_path, OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgument("tls.serverKeyPath {} does not match tls.serverPemPath {}", o.server_key_path,
                           o.server_pem_path);
  }
  if (o.mode == 2) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_pem_path.c_str(), nullptr) != 1) {
      return InvalidArgument("tls.caPemPath {}: {}", o.ca_pem_path, OpenSslError());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  return tls;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

void* TlsContext::Handshake(int tcp_fd, int timeout_ms, int* plain_fd) {
  // Blocking I/O with a deadline for the handshake.
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(tcp_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(tcp_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  SSL* ssl = SSL_new(ctx_);
  if (!ssl || SSL_set_fd(ssl, tcp_fd) != 1 || SSL_accept(ssl) != 1) {
    spdlog::debug("TLS handshake failed: {}", OpenSslError());
    if (ssl) SSL_free(ssl);
    return nullptr;
  }
  timeval none{0, 0};
  ::setsockopt(tcp_fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
  ::setsockopt(tcp_fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    SSL_free(ssl);
    return nullptr;
  }
  *plain_fd = pair[0];
  // The pump keeps pair[1]; remember it in the SSL's app data.
  SSL_set_app_data(ssl, reinterpret_cast<void*>(static_cast<intptr_t>(pair[1])));
  return ssl;
}

void TlsContext::Pump(void* handle, int tcp_fd) {
  SSL* ssl = static_cast<SSL*>(handle);
  int local = static_cast<int>(reinterpret_cast<intptr_t>(SSL_get_app_data(ssl)));
  char buf[16384];
  bool open = true;
  while (open) {
    // Decrypted bytes already buffered inside OpenSSL first: poll would not see them.
    while (SSL_pending(ssl) > 0) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0 || !WriteAll(local, buf, static_cast<size_t>(n))) {
        open = false;
        break;
      }
    }
    if (!open) break;
    pollfd fds[2] = {{tcp_fd, POLLIN, 0}, {local, POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n > 0) {
        if (!WriteAll(local, buf, static_cast<size_t>(n))) break;
      } else {
        int err = SSL_get_error(ssl, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) break;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(local, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (SSL_write(ssl, buf, static_cast<int>(n)) <= 0) break;
    }
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ::shutdown(local, SHUT_RDWR);
  ::close(local);
}

}  // namespace kite
