#include "server/http1.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>

#include <fmt/format.h>

namespace kite {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

namespace {



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
    case 408: return "Request Timeout";
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

  ~Connection() { ReleaseAll(); }

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

  using Clock = std::chrono::steady_clock;

  // Reads once more from the socket; false on EOF, error, timeout or when the
  // current deadline (if any) has passed (then timed_out_ is set).
  bool ReadMore() {
    if (deadline_) {
      while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - Clock::now()).count();
        if (left <= 0) {
          timed_out_ = true;
          return false;
        }
        pollfd pfd{fd_, POLLIN, 0};
        int r = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, options_.io_timeout_ms)));
        if (r > 0) break;
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 && left <= options_.io_timeout_ms) {
          timed_out_ = true;
          return false;
        }
        if (r < 0 || r == 0) return false;
      }
    }
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
    deadline_.reset();
    size_t checked = pos_;  // bytes before this were checked for stray CR / LF
    while (true) {
      while (Available() >= 2 && buf_.compare(pos_, 2, "\r\n") == 0) pos_ += 2;
      checked = std::max(checked, pos_);
      header_end = buf_.find("\r\n\r\n", pos_);
      if (const char* why = CheckLineEndings(checked, header_end)) return Fail(400, why);
      if (header_end != std::string::npos) break;
      checked = !buf_.empty() && buf_.back() == '\r' ? buf_.size() - 1 : buf_.size();
      if (Available() > options_.max_header_bytes) return Fail(431, "request header too large");
      // The header deadline runs from the first byte of the request.
      if (!deadline_ && Available() > 0) {
        deadline_ = Clock::now() + std::chrono::milliseconds(options_.header_timeout_ms);
      }
      if (!ReadMore()) {
        // EOF between requests (or a truncated header): just close.
        return timed_out_ ? Fail(408, "request header timeout") : false;
      }
    }
    deadline_.reset();
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
    if (framing == Framing::kLength && !Reserve(length)) {
      req.over_budget = true;
      bool expects = HasToken(req.Header("expect"), "100-continue");
      if (!expects && length <= options_.max_drain_bytes) Drain(length);
      Send(Handle(req), /*keep_alive=*/false);
      return false;
    }
    if (framing != Framing::kNone && HasToken(req.Header("expect"), "100-continue") && Available() == 0) {
      if (!WriteAll("HTTP/1.1 100 Continue\r\n\r\n", {})) return false;
    }
    if (framing != Framing::kNone) {
      int64_t allowance_ms = framing == Framing::kLength
                                 ? length * 1000 / std::max<int64_t>(options_.body_min_bytes_per_s, 1)
                                 : options_.max_body_bytes * 1000 / std::max<int64_t>(options_.body_min_bytes_per_s, 1);
      deadline_ = Clock::now() + std::chrono::milliseconds(options_.body_timeout_ms + allowance_ms);
    }
    if (framing == Framing::kLength) {
      // Read the body into a buffer sized once (growing by doubling held up to
      // three times the body during a reallocation), then hand it over.
      if (Available() < static_cast<size_t>(length)) {
        buf_.erase(0, pos_);
        pos_ = 0;
        buf_.reserve(static_cast<size_t>(length) + (64 << 10));
      }
      if (!Ensure(static_cast<size_t>(length))) return timed_out_ ? Fail(408, "request body timeout") : false;
      if (pos_ == 0 && Available() == static_cast<size_t>(length)) {
        req.body = std::move(buf_);  // nothing pipelined behind it: no copy
        buf_.clear();
        pos_ = 0;
      } else {
        req.body.assign(buf_, pos_, static_cast<size_t>(length));
        pos_ += static_cast<size_t>(length);
      }
    } else if (framing == Framing::kChunked) {
      int r = ReadChunked(&req.body);
      if (r < 0) return Fail(400, "malformed chunked body");
      if (r == 0) return timed_out_ ? Fail(408, "request body timeout") : false;
      if (r == 2 || r == 3) {
        req.body.clear();
        (r == 2 ? req.body_too_large : req.over_budget) = true;
        Send(Handle(req), /*keep_alive=*/false);
        return false;
      }
    }
    deadline_.reset();
    HttpResponse res = Handle(req);
    req.body.clear();
    req.body.shrink_to_fit();
    ReleaseAll();
    if (!Send(res, keep_alive)) return false;
    return keep_alive;
  }

  // Strict framing (RFC 9112 §2.2 allows a server to reject what it does not
  // parse): in buf_[from, end) every LF must follow a CR and every CR precede
  // an LF, and no other control character but HT may appear; the fault is
  // answered at once instead of waiting for a CRLFCRLF that never comes.
  const char* CheckLineEndings(size_t from, size_t header_end) const {
    size_t end = header_end == std::string::npos ? buf_.size() : header_end + 4;
    for (size_t i = from; i < end; ++i) {
      unsigned char c = static_cast<unsigned char>(buf_[i]);
      if (c == '\n') {
        if (i == 0 || buf_[i - 1] != '\r' || i - 1 < pos_) return "malformed request: bare LF line ending";
      } else if (c == '\r') {
        if (i + 1 < buf_.size() && buf_[i + 1] != '\n') return "malformed request: bare CR";
      } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return "malformed request: control character in header";
      }
    }
    return nullptr;
  }

  // Takes `n` more bytes of the in-flight budget; false if they do not fit.
  bool Reserve(int64_t n) {
    if (options_.inflight_bytes == nullptr || n <= 0) return true;
    int64_t cur = options_.inflight_bytes->load();
    while (true) {
      if (cur + n > options_.max_inflight_bytes) return false;
      if (options_.inflight_bytes->compare_exchange_weak(cur, cur + n)) break;
    }
    reserved_ += n;
    return true;
  }
  void ReleaseAll() {
    if (options_.inflight_bytes != nullptr && reserved_ > 0) options_.inflight_bytes->fetch_sub(reserved_);
    reserved_ = 0;
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
  // body, 2 when the body exceeds max_body_bytes, 3 when it does not fit the
  // in-flight budget (the rest is left unread in both cases).
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
      if (!Reserve(static_cast<int64_t>(size))) return 3;
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
  std::optional<Clock::time_point> deadline_;  // of the header block or body being read
  bool timed_out_ = false;
  int64_t reserved_ = 0;  // bytes of options_.inflight_bytes this connection holds
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

}  // namespace kite
