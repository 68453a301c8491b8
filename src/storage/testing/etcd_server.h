// EtcdServer: a real etcd (Debian etcd-server, installed by scripts/setup.sh)
// on free loopback ports in a temp dir, for tests. Start() waits until etcd
// answers (polling), Stop() kills it (SIGKILL when asked: a crash), a later
// Start() brings it back on the same port and data. Not thread-safe.
//
// The server runs with --max-txn-ops kEtcdTestMaxTxnOps (etcd's default is 128;
// ARCHITECTURE.md tells what a deployment must set).
//
// EtcdServerOptions::tls serves clients over TLS only, with certificates the
// test makes with the openssl command line in the server's temp dir (a CA, a
// server certificate for 127.0.0.1, a client certificate; another CA that
// signed nothing etcd trusts, for "wrong CA" tests) and --client-cert-auth.
// EtcdServerOptions::auth creates user root (kEtcdTestRootPassword) with
// etcdctl and enables authentication at the first start. ClientOptions()
// returns the store options a client needs for either.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/meta/etcd_meta_store.h"

namespace kite::testing {

inline constexpr int kEtcdTestMaxTxnOps = 1024;
inline constexpr const char* kEtcdTestRootPassword = "kite-etcd-root-pw";

struct EtcdServerOptions {
  bool tls = false;
  bool auth = false;
  int auth_token_ttl_s = 0;  // etcd's --auth-token-ttl (0 = its default, 300 s)
};

inline int RunQuiet(const std::string& cmd) {
  std::string full = cmd + " >/dev/null 2>&1";
  return std::system(full.c_str());
}

// A CA, server and client certificates (SAN 127.0.0.1, localhost) and a second,
// unrelated CA under dir; true when openssl made them all.
inline bool MakeTestCertificates(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string d = "cd '" + dir + "' && ";
  if (RunQuiet(d + "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kite-test-ca -keyout ca.key "
                   "-out ca.pem") != 0) {
    return false;
  }
  {
    std::ofstream san(dir + "/san.ext");
    san << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    if (!san) return false;
  }
  for (const char* n : {"server", "client"}) {
    std::string name = n;
    if (RunQuiet(d + "openssl req -newkey rsa:2048 -nodes -subj /CN=kite-" + name + " -keyout " + name + ".key -out " +
                 name + ".csr") != 0 ||
        RunQuiet(d + "openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 " +
                 "-extfile san.ext -out " + name + ".pem") != 0) {
      return false;
    }
  }
  return RunQuiet(d + "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other-ca.key "
                      "-out other-ca.pem") == 0;
}

inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The etcd binary: $ETCD_BIN, else etcd on the PATH; empty when missing.
inline std::string FindEtcdBinary() {
  if (const char* e = getenv("ETCD_BIN"); e && *e) return e;
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/bin:/usr/local/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t colon = p.find(':', start);
    std::string dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/etcd";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

class EtcdServer {
 public:
  explicit EtcdServer(EtcdServerOptions options = {}) : options_(options) {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/kite_etcd_XXXXXX";
    dir_ = mkdtemp(tmpl.data()) ? tmpl : "";
    client_port_ = FreeLoopbackPort();
    peer_port_ = FreeLoopbackPort();
  }
  ~EtcdServer() {
    Stop(/*crash=*/true);
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string certs_dir() const { return dir_ + "/certs"; }

  // What a client of this server sets (TLS files, root's credentials).
  EtcdMetaStoreOptions ClientOptions() const {
    EtcdMetaStoreOptions o;
    o.endpoints = {endpoint()};
    if (options_.tls) {
      o.tls.enabled = true;
      o.tls.ca_cert_path = certs_dir() + "/ca.pem";
      o.tls.cert_path = certs_dir() + "/client.pem";
      o.tls.key_path = certs_dir() + "/client.key";
    }
    if (options_.auth) {
      o.user_name = "root";
      o.password = kEtcdTestRootPassword;
    }
    return o;
  }

  // A first start whose etcd exits at once (its ports, free when picked, were
  // taken by another test's server meanwhile) retries on new ports; a restart
  // keeps the ports its clients know.
  Status Start() {
    for (int attempt = 0;; ++attempt) {
      Status st = StartOnce();
      if (st.ok() || started_once_ || attempt == 2 || st.message().find("exited at start") == std::string::npos) {
        started_once_ = started_once_ || st.ok();
        return st;
      }
      client_port_ = FreeLoopbackPort();
      peer_port_ = FreeLoopbackPort();
      std::error_code ec;
      std::filesystem::remove_all(dir_ + "/data", ec);
    }
  }

  Status StartOnce() {
    if (pid_ > 0) return Status::OK();
    std::string bin = FindEtcdBinary();
    if (bin.empty()) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                        "etcd not found (neither $ETCD_BIN nor etcd on the PATH): run scripts/setup.sh");
    }
    if (options_.tls && !std::filesystem::exists(certs_dir() + "/client.pem") && !MakeTestCertificates(certs_dir())) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                        "could not make test certificates with the openssl command in {}", certs_dir());
    }
    std::string client = (options_.tls ? "https://" : "http://") + endpoint();
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {bin,
                                     "--name=kite-test",
                                     "--data-dir=" + dir_ + "/data",
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=kite-test=" + peer,
                                     "--max-txn-ops=" + std::to_string(kEtcdTestMaxTxnOps),
                                     "--logger=zap",
                                     "--log-outputs=" + dir_ + "/etcd.log"};
    if (options_.tls) {
      for (std::string a : {"--cert-file=server.pem", "--key-file=server.key", "--trusted-ca-file=ca.pem"}) {
        size_t eq = a.find('=');
        args.push_back(a.substr(0, eq + 1) + certs_dir() + "/" + a.substr(eq + 1));
      }
      args.push_back("--client-cert-auth");
    }
    if (options_.auth_token_ttl_s > 0) args.push_back("--auth-token-ttl=" + std::to_string(options_.auth_token_ttl_s));
    pid_ = fork();
    if (pid_ == 0) {
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 1);
      dup2(devnull, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    // Ready when a store can open (one read answered).
    EtcdMetaStoreOptions o = ClientOptions();
    if (options_.auth && !auth_enabled_) {
      o.user_name.clear();
      o.password.clear();
    }
    o.request_timeout_ms = 1000;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int wstatus = 0;
      if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        pid_ = -1;
        return IOError("etcd exited at start (status {}); see {}/etcd.log", wstatus, dir_);
      }
      if (OpenEtcdMetaStore(o).ok()) return options_.auth && !auth_enabled_ ? EnableAuth() : Status::OK();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return IOError("etcd did not answer within 30 s; see {}/etcd.log", dir_);
  }

  // etcdctl user add root, grant-role root root, auth enable.
  Status EnableAuth() {
    std::string ctl = "etcdctl";
    if (std::string bin = FindEtcdBinary(); bin.size() > 4) {
      std::string sibling = bin + "ctl";
      if (access(sibling.c_str(), X_OK) == 0) ctl = sibling;
    }
    std::string cmd = "ETCDCTL_API=3 " + ctl + " --endpoints=" + (options_.tls ? "https://" : "http://") + endpoint();
    if (options_.tls) {
      cmd += " --cacert=" + certs_dir() + "/ca.pem --cert=" + certs_dir() + "/client.pem --key=" + certs_dir() +
             "/client.key";
    }
    for (std::string step : {std::string("user add root:") + kEtcdTestRootPassword, std::string("user grant-role root root"),
                             std::string("auth enable")}) {
      if (RunQuiet(cmd + " " + step) != 0) return IOError("etcdctl {} failed (etcd at {})", step, endpoint());
    }
    auth_enabled_ = true;
    return Status::OK();
  }

  void Stop(bool crash) {
    if (pid_ <= 0) return;
    kill(pid_, crash ? SIGKILL : SIGTERM);
    int wstatus = 0;
    waitpid(pid_, &wstatus, 0);
    pid_ = -1;
  }

 private:
  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  bool started_once_ = false;
  EtcdServerOptions options_;
  bool auth_enabled_ = false;
  pid_t pid_ = -1;
};

}  // namespace kite::testing
