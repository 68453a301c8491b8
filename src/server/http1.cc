#include "server/http1.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <exception>

#include <fmt/format.h>

namespace kite {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

namespace {

// The client's host, as gRPC names peers ("ipv4:127.0.0.1", "ipv6:[::1]").
std::string PeerHost(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "unknown";
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof(text));
    return std::string("ipv4:") + text;
  }
  if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof(text));
    return std::string("ipv6:[") + text + "]";
  }
  return "unix";
}


std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated header value contains `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  std::string v = Lower(value);
  size_t start = 0;
  while (start <= v.size()) {
    size_t end = v.find(',', start);
    if (end == std::string::npos) end = v.size();
    if (Trim(std::string_view(v).substr(start, end - start)) == token) return true;
    start = end + 1;
  }
  return false;
}

const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

// One connection: a read buffer over the socket and the request loop.
class Connection {
 public:
  Connection(int fd, std::string prefix, const HttpHandler& handler, const Http1Options& options,
             const std::atomic<bool>& stopping)
      : fd_(fd),
        buf_(std::move(prefix)),
        handler_(handler),
        options_(options),
        stopping_(stopping),
        peer_(options.peer.empty() ? PeerHost(fd) : options.peer) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Serve() {
    ConfigureSocket();
    while (!stopping_.load(std::memory_order_relaxed)) {
      if (!ServeOne()) return;
    }
  }

 private:
  enum class Framing { kNone, kLength, kChunked };

  void ConfigureSocket() {
    int flags = ::fcntl(fd_, F_GETFL, 0);
    if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{};
    tv.tv_sec = options_.io_timeout_ms / 1000;
    tv.tv_usec = (options_.io_timeout_ms % 1000) * 1000;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }

  size_t Available() const { return buf_.size() - pos_; }

  // Reads once more from the socket; false on EOF, error or timeout.
  bool ReadMore() {
    // Drop consumed bytes before growing the buffer.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[64 << 10];
    while (true) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf_.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  bool Ensure(size_t n) {
    while (Available() < n) {
      if (!ReadMore()) return false;
    }
    return true;
  }

  bool WriteAll(std::string_view head, std::string_view body) {
    iovec iov[2];
    iov[0] = {const_cast<char*>(head.data()), head.size()};
    iov[1] = {const_cast<char*>(body.data()), body.size()};
    int first = 0;
    while (first < 2) {
      msghdr msg{};
      msg.msg_iov = iov + first;
      msg.msg_iovlen = static_cast<size_t>(2 - first);
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      size_t left = static_cast<size_t>(n);
      while (first < 2 && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      }
      if (first < 2) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return true;
  }

  bool Send(const HttpResponse& res, bool keep_alive) {
    std::string extra;
    for (const auto& [k, v] : res.headers) extra += fmt::format("{}: {}\r\n", k, v);
    std::string head = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}{}\r\n", res.status,
                                   Reason(res.status), res.content_type, res.body.size(), extra,
                                   keep_alive ? "" : "Connection: close\r\n");
    return WriteAll(head, res.body);
  }

  // Answers a request the server could not parse, then closes.
  bool Fail(int status, std::string_view why) {
    HttpResponse res;
    res.status = status;
    res.content_type = "text/plain; charset=utf-8";
    res.body = std::string(why);
    Send(res, /*keep_alive=*/false);
    return false;
  }

  // Serves one request; false when the connection must close.
  bool ServeOne() {
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    size_t header_end;
    while (true) {
      while (Available() >= 2 && buf_.compare(pos_, 2, "\r\n") == 0) pos_ += 2;
      header_end = buf_.find("\r\n\r\n", pos_);
      if (header_end != std::string::npos) break;
      if (Available() > options_.max_header_bytes) return Fail(431, "request header too large");
      if (!ReadMore()) return false;  // EOF between requests (or a truncated header): just close
    }
    if (header_end - pos_ > options_.max_header_bytes) return Fail(431, "request header too large");
    std::string_view head(buf_.data() + pos_, header_end - pos_);
    pos_ = header_end + 4;

    HttpRequest req;
    if (!ParseHead(head, &req)) return Fail(400, "malformed request");
    req.peer = peer_;
    if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") return Fail(505, "HTTP version not supported");

    bool keep_alive = req.version == "HTTP/1.1" ? !HasToken(req.Header("connection"), "close")
                                                : HasToken(req.Header("connection"), "keep-alive");
    Framing framing = Framing::kNone;
    int64_t length = 0;
    std::string_view te = req.Header("transfer-encoding");
    if (!te.empty()) {
      if (!HasToken(te, "chunked")) return Fail(501, "unsupported transfer encoding");
      framing = Framing::kChunked;
      keep_alive = keep_alive && req.Header("content-length").empty();
    } else if (!ParseContentLength(req, &length)) {
      return Fail(400, "invalid Content-Length");
    } else if (length > 0) {
      framing = Framing::kLength;
    }

    if (framing == Framing::kLength && length > options_.max_body_bytes) {
      req.body_too_large = true;
      // With Expect: 100-continue the client has not sent the body: answer now.
      bool expects = HasToken(req.Header("expect"), "100-continue");
      if (!expects && length <= options_.max_drain_bytes) Drain(length);
      Send(Handle(req), /*keep_alive=*/false);
      return false;
    }
    if (framing != Framing::kNone && HasToken(req.Header("expect"), "100-continue") && Available() == 0) {
      if (!WriteAll("HTTP/1.1 100 Continue\r\n\r\n", {})) return false;
    }
    if (framing == Framing::kLength) {
      if (!Ensure(static_cast<size_t>(length))) return false;
      req.body.assign(buf_, pos_, static_cast<size_t>(length));
      pos_ += static_cast<size_t>(length);
    } else if (framing == Framing::kChunked) {
      int r = ReadChunked(&req.body);
      if (r < 0) return Fail(400, "malformed chunked body");
      if (r == 0) return false;
      if (r == 2) {
        req.body.clear();
        req.body_too_large = true;
        Send(Handle(req), /*keep_alive=*/false);
        return false;
      }
    }
    if (!Send(Handle(req), keep_alive)) return false;
    return keep_alive;
  }

  HttpResponse Handle(const HttpRequest& req) {
    try {
      return handler_(req);
    } catch (const std::exception& e) {
      HttpResponse res;
      res.status = 500;
      res.content_type = "text/plain; charset=utf-8";
      res.body = fmt::format("internal error: {}", e.what());
      return res;
    }
  }

  static bool ParseHead(std::string_view head, HttpRequest* req) {
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1) return false;
    req->method = std::string(line.substr(0, sp1));
    req->target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    req->version = std::string(line.substr(sp2 + 1));
    for (char c : req->method) {
      if (!std::isupper(static_cast<unsigned char>(c))) return false;
    }
    req->path = req->target.substr(0, req->target.find('?'));
    while (eol != std::string_view::npos) {
      size_t start = eol + 2;
      eol = head.find("\r\n", start);
      std::string_view h = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
      if (h.empty()) continue;
      if (h.front() == ' ' || h.front() == '\t') return false;  // obsolete line folding
      size_t colon = h.find(':');
      if (colon == std::string_view::npos || colon == 0) return false;
      std::string_view name = h.substr(0, colon);
      if (name.back() == ' ' || name.back() == '\t') return false;
      req->headers.emplace_back(Lower(name), std::string(Trim(h.substr(colon + 1))));
    }
    return true;
  }

  static bool ParseContentLength(const HttpRequest& req, int64_t* out) {
    *out = 0;
    bool seen = false;
    for (const auto& [k, v] : req.headers) {
      if (k != "content-length") continue;
      // "5, 5" is allowed when all values agree.
      size_t start = 0;
      while (start <= v.size()) {
        size_t end = v.find(',', start);
        if (end == std::string::npos) end = v.size();
        std::string_view item = Trim(std::string_view(v).substr(start, end - start));
        int64_t n = 0;
        auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
        if (item.empty() || ec != std::errc() || p != item.data() + item.size() || n < 0) return false;
        if (seen && n != *out) return false;
        *out = n;
        seen = true;
        start = end + 1;
      }
    }
    return true;
  }

  void Drain(int64_t length) {
    int64_t left = length;
    size_t have = std::min<size_t>(Available(), static_cast<size_t>(left));
    pos_ += have;
    left -= static_cast<int64_t>(have);
    while (left > 0) {
      buf_.clear();
      pos_ = 0;
      if (!ReadMore()) return;
      size_t take = std::min<size_t>(buf_.size(), static_cast<size_t>(left));
      pos_ = take;
      left -= static_cast<int64_t>(take);
    }
  }

  bool ReadLine(std::string* line, size_t max) {
    while (true) {
      size_t eol = buf_.find("\r\n", pos_);
      if (eol != std::string::npos) {
        if (eol - pos_ > max) return false;
        line->assign(buf_, pos_, eol - pos_);
        pos_ = eol + 2;
        return true;
      }
      if (Available() > max) return false;
      if (!ReadMore()) return false;
    }
  }

  // Decodes a chunked body. Returns 1 on success, 0 on EOF, -1 on a malformed
  // body, 2 when the body exceeds max_body_bytes (the rest is left unread).
  int ReadChunked(std::string* body) {
    std::string line;
    while (true) {
      if (!ReadLine(&line, 1024)) return Available() > 1024 ? -1 : 0;
      std::string_view size_text = Trim(std::string_view(line).substr(0, line.find(';')));
      uint64_t size = 0;
      auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
      if (size_text.empty() || ec != std::errc() || p != size_text.data() + size_text.size()) return -1;
      if (size == 0) break;
      if (body->size() + size > static_cast<uint64_t>(options_.max_body_bytes)) return 2;
      if (!Ensure(size + 2)) return 0;
      body->append(buf_, pos_, size);
      pos_ += size;
      if (buf_.compare(pos_, 2, "\r\n") != 0) return -1;
      pos_ += 2;
    }
    // Trailer fields, up to the empty line.
    while (true) {
      if (!ReadLine(&line, options_.max_header_bytes)) return 0;
      if (line.empty()) return 1;
    }
  }

  int fd_;
  std::string buf_;
  size_t pos_ = 0;
  const HttpHandler& handler_;
  const Http1Options& options_;
  const std::atomic<bool>& stopping_;
  const std::string peer_;  // for rate limits ("ipv4:1.2.3.4")
};

}  // namespace

void ServeHttp1Connection(int fd, std::string prefix, const HttpHandler& handler, const Http1Options& options,
                          const std::atomic<bool>& stopping) {
  Connection conn(fd, std::move(prefix), handler, options, stopping);
  conn.Serve();
}

}  // namespace kite
