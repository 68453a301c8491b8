// TLS for the shared gRPC/REST port (common.security.tlsMode 1 = one-way,
// 2 = mutual). PeekTlsRoute sends gRPC clients (ALPN h2 only) to gRPC, which
// handshakes itself (SslServerCredentials); the rest (REST) is terminated here
// by OpenSSL in front of PortMux's protocol sniffing.
//
// TlsContext holds the server certificate, key and (mode 2) the CA that
// client certificates must chain to; Create() fails when a file is missing,
// unreadable or does not match, so a misconfigured server refuses to start.
// TLS 1.2 is the minimum; ALPN picks "h2" when the client offers it (gRPC
// requires it) and "http/1.1" otherwise.
//
// TerminateTls() runs on its own thread per connection: the handshake (with
// a deadline), then the decrypted bytes are exchanged with a local socket
// pair whose other end is returned to the caller, who serves it exactly as a
// plain TCP connection (gRPC through the external acceptor, REST through
// http1). Thread-safe: the context is shared read-only by all connections.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace kite {

struct TlsOptions {
  int mode = 0;  // 1: server certificate only; 2: clients must present a certificate signed by the CA
  std::string server_pem_path;
  std::string server_key_path;
  std::string ca_pem_path;  // required for mode 2
};

// Where a new TLS connection goes, from its ClientHello (peeked, not read):
// kGrpc when ALPN offers h2 and not http/1.1 (gRPC clients), so gRPC does the
// handshake itself and sees the client's address; kHttp otherwise (REST).
enum class TlsRoute { kGrpc, kHttp, kClosed };
TlsRoute PeekTlsRoute(int fd, int timeout_ms);

// The PEM contents of a file (for gRPC's SslServerCredentials).
Result<std::string> ReadPemFile(const std::string& key, const std::string& path);

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> Create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Handshakes on the accepted socket `tcp_fd`; on success hands the local
  // end of a socket pair carrying the plaintext to `on_plain` (which owns it
  // from then on) and pumps bytes between the two until either side closes
  // or `tcp_fd` is shut down. Call on a dedicated thread. Never closes
  // `tcp_fd` (the caller does, once no one can shut it down any more).
  template <typename OnPlain>
  void Serve(int tcp_fd, int handshake_timeout_ms, OnPlain&& on_plain) {
    int plain = -1;
    void* ssl = Handshake(tcp_fd, handshake_timeout_ms, &plain);
    if (!ssl) return;
    on_plain(plain);
    Pump(ssl, tcp_fd);
  }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  void* Handshake(int tcp_fd, int timeout_ms, int* plain_fd);  // SSL* or null
  void Pump(void* ssl, int tcp_fd);                           // frees ssl and closes its pair end

  SSL_CTX* ctx_;
};

}  // namespace kite
