#include "server/port_mux.h"
#include "server/http1.h"

#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace kite {
namespace {

using Clock = std::chrono::steady_clock;

// The HTTP/2 connection preface (RFC 9113 §3.4), which gRPC clients send first
// ("prior knowledge": no HTTP/1.1 upgrade).
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Connections accepted but not yet classified.
constexpr size_t kMaxPending = 4096;

enum class Protocol { kUnknown, kHttp2, kHttp1 };

Protocol Classify(std::string_view first) {
  size_t n = std::min(first.size(), kHttp2Preface.size());
  if (first.substr(0, n) != kHttp2Preface.substr(0, n)) return Protocol::kHttp1;
  return first.size() >= kHttp2Preface.size() ? Protocol::kHttp2 : Protocol::kUnknown;
}

Result<int> Listen(const std::string& host, int port, int* bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) return IOError("cannot resolve listen address {}:{}: {}", host, port, ::gai_strerror(rc));
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      *bound_port = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                               : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
      ::freeaddrinfo(res);
      return fd;
    }
    last_error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return IOError("cannot listen on {}:{}: {}", host, port, last_error);
}

class PortMuxImpl final : public PortMux {
 public:
  PortMuxImpl(const PortMuxOptions& options, Http2Handoff http2, HttpHandler http1, int listen_fd, int wake_fd,
              int port)
      : options_(options),
        http2_(std::move(http2)),
        http1_(std::move(http1)),
        listen_fd_(listen_fd),
        wake_fd_(wake_fd),
        port_(port) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~PortMuxImpl() override {
    Shutdown();
    ::close(wake_fd_);
  }

  int port() const override { return port_; }

  void Shutdown() override {
    std::call_once(shutdown_once_, [this] {
      stopping_.store(true);
      uint64_t one = 1;
      [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof(one));
      if (accept_thread_.joinable()) accept_thread_.join();
      ::close(listen_fd_);
      std::unique_lock lock(mu_);
      for (int fd : http_fds_) ::shutdown(fd, SHUT_RDWR);
      idle_.wait(lock, [this] { return http_threads_ == 0; });
    });
  }

 private:
  struct Pending {
    int fd;
    std::string bytes;
    Clock::time_point deadline;
    std::string peer;  // TLS only: the client's address (the plain end is a socket pair)
  };

  void AcceptLoop() {
    std::vector<Pending> pending;
    std::vector<pollfd> fds;
    while (!stopping_.load()) {
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& p : pending) fds.push_back({p.fd, POLLIN, 0});
      int timeout_ms = -1;
      auto now = Clock::now();
      for (const auto& p : pending) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count();
        ms = std::max<int64_t>(ms, 0) + 1;
        if (timeout_ms < 0 || ms < timeout_ms) timeout_ms = static_cast<int>(ms);
      }
      int n = ::poll(fds.data(), fds.size(), timeout_ms);
      if (n < 0 && errno != EINTR) {
        spdlog::error("port mux: poll failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      if (stopping_.load()) break;
      if (n > 0 && (fds[0].revents & POLLIN)) {
        uint64_t ignored;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &ignored, sizeof(ignored));
      }
      // Classify before accepting, so `pending` and `fds` stay aligned.
      std::vector<Pending> still;
      now = Clock::now();
      for (size_t i = 0; i < pending.size(); ++i) {
        Pending& p = pending[i];
        short ev = n > 0 ? fds[i + 2].revents : 0;
        if (ev != 0 && !ReadSome(&p)) {
          ::close(p.fd);
          continue;
        }
        Protocol proto = Classify(p.bytes);
        if (proto == Protocol::kHttp2) {
          http2_(listen_fd_, p.fd, std::move(p.bytes));
        } else if (proto == Protocol::kHttp1) {
          ServeHttp1(p.fd, std::move(p.bytes), std::move(p.peer));
        } else if (now >= p.deadline) {
          ::close(p.fd);
        } else {
          still.push_back(std::move(p));
        }
      }
      pending.swap(still);
      {
        // Plaintext ends of TLS connections, ready to be classified.
        std::lock_guard lock(mu_);
        for (auto& [fd, peer] : decrypted_) {
          pending.push_back(
              {fd, {}, Clock::now() + std::chrono::milliseconds(options_.classify_timeout_ms), std::move(peer)});
        }
        decrypted_.clear();
      }
      if (n > 0 && (fds[1].revents & POLLIN)) AcceptAll(&pending);
    }
    for (const auto& p : pending) ::close(p.fd);
    std::lock_guard lock(mu_);
    for (const auto& d : decrypted_) ::close(d.first);
    decrypted_.clear();
  }

  // Reads what is available; false on EOF or error.
  static bool ReadSome(Pending* p) {
    char buf[4096];
    while (true) {
      ssize_t r = ::recv(p->fd, buf, sizeof(buf), 0);
      if (r > 0) {
        p->bytes.append(buf, static_cast<size_t>(r));
        return true;
      }
      if (r < 0 && errno == EINTR) continue;
      return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }

  void AcceptAll(std::vector<Pending>* pending) {
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          // Out of descriptors or memory: back off instead of spinning.
          spdlog::warn("port mux: accept failed: {}", std::strerror(errno));
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return;
      }
      if (pending->size() >= kMaxPending) {
        ::close(fd);
        continue;
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (options_.tls) {
        ServeTls(fd);
        continue;
      }
      pending->push_back({fd, {}, Clock::now() + std::chrono::milliseconds(options_.classify_timeout_ms)});
    }
  }

  // One thread per TLS connection: handshake, then pump (tls.h).
  void ServeTls(int fd) {
    {
      std::lock_guard lock(mu_);
      if (http_threads_ >= options_.max_http_connections) {
        ::close(fd);
        return;
      }
      ++http_threads_;
      http_fds_.insert(fd);
    }
    int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    std::thread([this, fd] {
      // gRPC clients (ALPN h2 only) go to gRPC, which does the handshake
      // itself and so sees the client's address; the rest are terminated here.
      TlsRoute route = PeekTlsRoute(fd, options_.classify_timeout_ms);
      if (route == TlsRoute::kGrpc) {
        timeval none{0, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        int f = ::fcntl(fd, F_GETFL, 0);
        if (f >= 0) ::fcntl(fd, F_SETFL, f | O_NONBLOCK);
        {
          std::lock_guard lock(mu_);
          http_fds_.erase(fd);  // no longer ours to shut down
        }
        http2_(listen_fd_, fd, std::string());  // gRPC owns fd from here
        std::lock_guard lock(mu_);
        --http_threads_;
        idle_.notify_all();
        return;
      }
      std::string peer = PeerHost(fd);
      if (route == TlsRoute::kHttp) options_.tls->Serve(fd, options_.classify_timeout_ms, [this, &peer](int plain) {
        int f = ::fcntl(plain, F_GETFL, 0);
        if (f >= 0) ::fcntl(plain, F_SETFL, f | O_NONBLOCK);
        {
          std::lock_guard lock(mu_);
          decrypted_.emplace_back(plain, peer);
        }
        uint64_t one = 1;
        [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof(one));
      });
      std::lock_guard lock(mu_);
      http_fds_.erase(fd);
      ::close(fd);
      --http_threads_;
      idle_.notify_all();
    }).detach();
  }

  void ServeHttp1(int fd, std::string bytes, std::string peer) {
    {
      std::lock_guard lock(mu_);
      if (http_threads_ >= options_.max_http_connections) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        [[maybe_unused]] ssize_t w = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        return;
      }
      ++http_threads_;
      http_fds_.insert(fd);
    }
    // Detached: Shutdown() waits on http_threads_ instead of joining.
    std::thread([this, fd, bytes = std::move(bytes), peer = std::move(peer)]() mutable {
      if (peer.empty()) {
        ServeHttp1Connection(fd, std::move(bytes), http1_, options_.http, stopping_);
      } else {
        Http1Options http = options_.http;
        http.peer = std::move(peer);
        ServeHttp1Connection(fd, std::move(bytes), http1_, http, stopping_);
      }
      std::lock_guard lock(mu_);
      http_fds_.erase(fd);
      ::close(fd);  // under mu_, so Shutdown never shuts down a reused descriptor
      --http_threads_;
      idle_.notify_all();
    }).detach();
  }

  const PortMuxOptions options_;
  const Http2Handoff http2_;
  const HttpHandler http1_;
  const int listen_fd_;
  const int wake_fd_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::once_flag shutdown_once_;
  std::thread accept_thread_;

  std::mutex mu_;
  std::condition_variable idle_;
  std::set<int> http_fds_;  // guarded by mu_
  // guarded by mu_: plain ends of TLS connections to classify, with their client's address
  std::vector<std::pair<int, std::string>> decrypted_;
  int http_threads_ = 0;    // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<PortMux>> PortMux::Start(const PortMuxOptions& options, Http2Handoff http2,
                                                HttpHandler http1) {
  int port = 0;
  KITE_ASSIGN_OR_RETURN(int listen_fd, Listen(options.host, options.port, &port));
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    ::close(listen_fd);
    return IOError("eventfd: {}", std::strerror(errno));
  }
  return std::unique_ptr<PortMux>(
      new PortMuxImpl(options, std::move(http2), std::move(http1), listen_fd, wake_fd, port));
}

}  // namespace kite
