// A real S3 server for tests: the Versity S3 gateway (scripts/setup.sh
// installs it into .cache/go-bin) serving a temp directory on a free loopback
// port. Start waits until the port accepts connections (polling, with a
// deadline); Stop kills it (SIGKILL: a crash, as a fault test wants) and
// waits; Start again serves the same directory on the same port.
//
// The binary is $KITE_VERSITYGW or <source dir>/.cache/go-bin/versitygw. When
// it is missing, Start fails with a message saying to run scripts/setup.sh.
// Not thread-safe; one object per server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace kite::testing {

class VersityServer {
 public:
  static constexpr const char* kAccessKey = "kiteaccess";
  static constexpr const char* kSecretKey = "kite-secret-key-do-not-log";

  // `extra_args` go before "posix DIR" (e.g. {"--cert", c, "--key", k}).
  explicit VersityServer(std::vector<std::string> extra_args = {}) : extra_args_(std::move(extra_args)) {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/kite_versity_XXXXXX";
    if (mkdtemp(tmpl.data())) dir_ = tmpl;
    port_ = FreePort();
  }
  ~VersityServer() {
    Stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  VersityServer(const VersityServer&) = delete;
  VersityServer& operator=(const VersityServer&) = delete;

  static std::string Binary() {
    if (const char* env = getenv("KITE_VERSITYGW"); env && *env) return env;
    return std::string(KITE_SOURCE_DIR) + "/.cache/go-bin/versitygw";
  }

  Status Start() {
    if (pid_ > 0) return Status::OK();
    const std::string bin = Binary();
    if (::access(bin.c_str(), X_OK) != 0) {
      return IOError("the S3 test server {} is missing: run scripts/setup.sh", bin);
    }
    if (dir_.empty()) return IOError("cannot create a temp dir for the S3 test server");
    std::filesystem::create_directories(dir_ + "/data");
    std::vector<std::string> args = {bin, "--access", kAccessKey, "--secret", kSecretKey,
                                     "--port", "127.0.0.1:" + std::to_string(port_)};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    args.push_back("posix");
    args.push_back(dir_ + "/data");
    const std::string log = dir_ + "/server.log";
    pid_t pid = ::fork();
    if (pid < 0) return IOError("fork failed");
    if (pid == 0) {
      FILE* out = freopen(log.c_str(), "a", stdout);
      (void)out;
      dup2(1, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        return IOError("the S3 test server exited at start; see {}", log);
      }
      if (Accepts()) return Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Stop();
    return IOError("the S3 test server did not listen on port {} within 30 s; see {}", port_, log);
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid_, &wstatus, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

 private:
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }

  bool Accepts() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    return ok;
  }

  std::vector<std::string> extra_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kite::testing
