// libFuzzer target: the HTTP/1.1 server (src/server/http1.cc) fed one
// connection's bytes. The input is written to one end of a socketpair and
// the write side shut down; ServeHttp1Connection serves the other end until
// EOF while a thread drains the answers. Invariants: no crash, no sanitizer
// report, every answer starts with a status line, and the connection ends
// (the server neither hangs on a truncated request nor loops).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "server/http1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (256 << 10)) return 0;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return 0;
  int big = 1 << 20;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  std::string answers;
  std::thread client([&] {
    size_t off = 0;
    while (off < size) {
      ssize_t n = ::send(fds[0], data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::shutdown(fds[0], SHUT_WR);
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fds[0], buf, sizeof(buf), 0);
      if (n <= 0) break;
      answers.append(buf, static_cast<size_t>(n));
    }
  });
  kite::Http1Options options;
  options.max_header_bytes = 4096;
  options.max_body_bytes = 64 << 10;
  options.max_drain_bytes = 128 << 10;
  options.io_timeout_ms = 2000;
  options.header_timeout_ms = 2000;
  options.body_timeout_ms = 2000;
  std::atomic<bool> stopping{false};
  kite::HttpHandler handler = [](const kite::HttpRequest& req) {
    kite::HttpResponse res;
    res.body = req.method + " " + req.path + " " + std::to_string(req.body.size());
    return res;
  };
  kite::ServeHttp1Connection(fds[1], std::string(), handler, options, stopping);
  ::shutdown(fds[1], SHUT_RDWR);
  client.join();
  ::close(fds[0]);
  ::close(fds[1]);
  if (!answers.empty() && answers.rfind("HTTP/1.1 ", 0) != 0) {
    std::fprintf(stderr, "http1_fuzzer: answer does not start with a status line\n");
    std::abort();
  }
  return 0;
}
