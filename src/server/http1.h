// A small HTTP/1.1 server for one already-accepted connection: what the REST
// API needs and nothing more (RFC 9112 subset). Requests are read with their
// whole body (Content-Length or chunked), handed to a handler, and answered
// with a Content-Length body; connections are kept alive per HTTP/1.1 rules
// ("Connection: close", HTTP/1.0 without keep-alive) and pipelined requests
// are served in order. `Expect: 100-continue` is honoured.
//
// Why not cpp-httplib: Debian's 0.11 only serves sockets it accepted itself
// (Server::process_and_close_socket is private), while the port multiplexer
// (port_mux.h) accepts the socket and reads its first bytes before it knows
// the connection is HTTP/1.1.
//
// Limits (Http1Options): header block size, body size, I/O timeouts. A body
// over the limit is not read into memory: the handler is called with
// `body_too_large` set (so the REST layer can answer with its own error
// envelope), the declared body is drained when that is cheap (so the client
// can read the answer instead of a TCP reset), and the connection is closed.
// Malformed requests get a plain 400 and the connection is closed, as soon as
// the fault is seen: a line ending that is not CRLF (a bare LF or CR), a
// control character in the header block, a bad request line or header field.
// A header block or body that misses its deadline (Http1Options) gets 408.
//
// Thread-safety: ServeHttp1Connection blocks the calling thread for the life
// of the connection; the handler may be called from many such threads at
// once and must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kite {

struct HttpRequest {
  std::string method;   // "POST"
  std::string target;   // "/v2/vectordb/collections/list?x=1"
  std::string path;     // target without the query string
  std::string version;  // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;
  bool body_too_large = false;  // body exceeded max_body_bytes and was not read
  bool over_budget = false;     // the listener's in-flight body budget was spent: body not read
  std::string peer;             // the client's address ("ipv4:1.2.3.4"), for rate limits

  // Value of the first header named `lower_name`, or empty.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers ("X-Request-Id")
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct Http1Options {
  size_t max_header_bytes = 64 << 10;
  int64_t max_body_bytes = 64 << 20;  // Milvus's request limit (Limits::max_request_bytes)
  // An over-limit body declared with Content-Length up to this size is read
  // and discarded before answering; a larger one closes the connection at once.
  int64_t max_drain_bytes = 1LL << 30;
  int io_timeout_ms = 60000;  // per read/write, including the idle wait between keep-alive requests
  // Whole-request deadlines, so a client trickling bytes cannot hold a
  // connection (and its thread) for ever: the header block must be complete
  // within header_timeout_ms of its first byte, and a body within
  // body_timeout_ms plus one second per body_min_bytes_per_s of its length.
  int header_timeout_ms = 10000;
  int body_timeout_ms = 30000;
  int64_t body_min_bytes_per_s = 256 << 10;
  // Budget of request body bytes held at once by all connections sharing
  // `inflight_bytes` (a listener's counter; null: no budget). A body that
  // does not fit is not read: the handler sees `over_budget`, the connection
  // closes. A body is counted from before it is read until its answer is sent.
  std::atomic<int64_t>* inflight_bytes = nullptr;
  int64_t max_inflight_bytes = 0;
  // The client's address for HttpRequest::peer; empty: getpeername() of the
  // socket (set by PortMux for TLS, whose plaintext arrives on a socket pair).
  std::string peer;
};

// Serves HTTP/1.1 on `fd` (a connected, blocking-or-not TCP socket) until the
// peer closes, an error, a timeout, a non-keep-alive request, or `stopping`
// becomes true between two requests. `prefix` holds bytes already read from
// the socket. Does not close `fd`: the caller does, after it has stopped
// interrupting it (PortMux shuts connections down from another thread).
void ServeHttp1Connection(int fd, std::string prefix, const HttpHandler& handler, const Http1Options& options,
                          const std::atomic<bool>& stopping);

// The peer of a connected socket as gRPC names peers ("ipv4:127.0.0.1",
// "ipv6:[::1]"), "unix" for other families, "unknown" if it cannot be read.
std::string PeerHost(int fd);

}  // namespace kite
