// PortMux: one TCP port for both of Milvus's front doors, as Milvus serves
// gRPC and the RESTful API on 19530 (it uses cmux). PortMux owns the listening
// socket. An accept thread reads the first bytes of every new connection
// without blocking on any one of them (poll over all connections still being
// classified): the HTTP/2 client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
// which gRPC clients send first) hands the socket and the bytes read so far to
// gRPC; anything else is HTTP/1.1 and is served on its own thread
// (http1.h) until the connection closes.
//
// gRPC takes the socket through its external connection acceptor
// (grpc::ServerBuilder::experimental().AddExternalConnectionAcceptor(FROM_FD)),
// after which gRPC alone reads and writes it: PortMux is on the path of a
// gRPC connection once, at connect time, never per call.
//
// With TLS, each accepted connection gets a thread that peeks at its
// ClientHello: gRPC clients (ALPN h2 only) are handed to gRPC untouched (it
// has TLS credentials and handshakes itself); others are handshaken here and
// their decrypted bytes pumped through a local socket pair (tls.h), whose
// plain end joins the same classification as a TCP connection.
//
// Limits: a connection that has not sent enough bytes to be classified within
// `classify_timeout_ms` is closed; at most `max_http_connections` HTTP/1.1
// connections are served at once (more are answered 503 and closed).
//
// Lifetime and threads: Start() returns a serving PortMux; Shutdown() (also
// run by the destructor) stops accepting, closes connections not yet
// classified, interrupts HTTP/1.1 connections and waits for their threads.
// The handlers must stay valid until Shutdown() returns. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/http1.h"
#include "server/tls.h"

namespace kite {

struct PortMuxOptions {
  std::string host = "0.0.0.0";
  int port = 19530;  // 0: any free port (see PortMux::port())
  int classify_timeout_ms = 10000;
  int max_http_connections = 1024;
  Http1Options http;
  // Set: every connection is TLS (common.security.tlsMode 1/2), terminated
  // here before the protocol is sniffed from the decrypted bytes.
  std::shared_ptr<TlsContext> tls;
};

// Receives an accepted socket that speaks HTTP/2 (gRPC), the listening socket
// it came from and the bytes already read from it; takes ownership of `fd`.
using Http2Handoff = std::function<void(int listener_fd, int fd, std::string already_read)>;

class PortMux {
 public:
  // Binds and listens, then serves on a background thread.
  static Result<std::unique_ptr<PortMux>> Start(const PortMuxOptions& options, Http2Handoff http2, HttpHandler http1);

  virtual ~PortMux() = default;
  PortMux(const PortMux&) = delete;
  PortMux& operator=(const PortMux&) = delete;

  // The port actually bound.
  virtual int port() const = 0;
  // Idempotent; blocks until every connection thread has finished.
  virtual void Shutdown() = 0;

 protected:
  PortMux() = default;
};

}  // namespace kite
