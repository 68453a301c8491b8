// kite: one binary, several roles. `kite standalone` runs every role in one
// process (with embedded storage, or on etcd / S3 / Kafka); `kite querynode`
// runs a query node alone, for a standalone configured with
// kite.queryNodes: remote (server/query_node_process.h); `kite streamingnode`
// a streaming node, for kite.streamingNodes: remote
// (server/streaming_node_process.h); `kite datanode` a data node (index
// builds), for kite.dataNodes: remote (server/data_node_process.h); `kite
// proxy` the Milvus API in front of a coordinator found in etcd
// (server/proxy_process.h).
#include <cstdlib>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <atomic>
#include <mutex>
#include <chrono>
#include <thread>

#include "common/log.h"
#include "roles/api/role_call.h"
#include "server/config.h"
#include "server/data_node_process.h"
#include "server/proxy_process.h"
#include "server/query_node_process.h"
#include "server/streaming_node_process.h"
#include "server/standalone.h"

namespace {
int g_signal_pipe[2] = {-1, -1};
extern "C" void OnTerminationSignal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  int saved = errno;
  (void)!::write(g_signal_pipe[1], &b, 1);
  errno = saved;
}
}  // namespace

// Runs a single-role process until SIGTERM/SIGINT or the loss of its session.
template <typename Process>
int RunRoleProcess(kite::Result<std::unique_ptr<Process>> opened) {
  if (!opened.ok()) {
    std::fprintf(stderr, "kite: cannot start: %s\n", opened.status().message().c_str());
    return 1;
  }
  std::unique_ptr<Process> p = std::move(opened).value();
  std::thread signal_thread([&] {
    unsigned char sig = 0;
    while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig != 0) spdlog::info("received signal {}", static_cast<int>(sig));
    p->Shutdown();
  });
  kite::Status st = p->Run();
  unsigned char zero = 0;
  (void)!::write(g_signal_pipe[1], &zero, 1);
  signal_thread.join();
  p.reset();
  if (!st.ok()) {
    std::fprintf(stderr, "kite: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  // Index builds use OpenMP (Faiss), whose idle workers spin by default and
  // then steal the cores that serve requests. libgomp reads its wait policy
  // when it is loaded, before main, so set it and re-execute once; an explicit
  // OMP_WAIT_POLICY from the environment is kept.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: go on spinning
  }
  CLI::App app{"Kite: a vector database that speaks Milvus's protocol"};
  app.require_subcommand(1);
  kite::ServerConfig config;
  std::string config_file;
  std::optional<std::string> data_dir;
  std::optional<int> port, metrics_port;
  std::optional<std::string> log_level;
  CLI::App* standalone = app.add_subcommand("standalone", "run every role in one process with embedded storage");
  standalone->add_option("-c,--config", config_file, "YAML config file (Milvus-like keys)")->check(CLI::ExistingFile);
  standalone->add_option("--data-dir", data_dir, "data directory (default ./data)");
  standalone->add_option("--port", port, "Milvus gRPC port (default 19530)")->check(CLI::Range(1, 65535));
  standalone->add_option("--metrics-port", metrics_port, "health/metrics port (default 9091)")->check(CLI::Range(1, 65535));
  standalone->add_option("--log-level", log_level,
                         "trace, debug (one line per request), info (default), warn (slow requests), error, off");
  // The single-role processes: each takes --config, --port, --metrics-port
  // (default none), --log-level and, where it stores locally, --data-dir.
  struct RoleCommand {
    CLI::App* app = nullptr;
    int port = 0;
    int metrics_port = 0;
  };
  auto add_role = [&](RoleCommand* rc, const char* name, const char* what, int default_port, const char* port_what,
                      const char* data_dir_what) {
    rc->port = default_port;
    rc->app = app.add_subcommand(name, what);
    rc->app->add_option("-c,--config", config_file, "YAML config file (Milvus-like keys)")->check(CLI::ExistingFile);
    if (data_dir_what) rc->app->add_option("--data-dir", data_dir, data_dir_what);
    rc->app->add_option("--port", rc->port, fmt::format("{} (default {})", port_what, default_port))
        ->check(CLI::Range(1, 65535));
    rc->app->add_option("--log-level", log_level, "trace, debug, info (default), warn, error, off");
    rc->app->add_option("--metrics-port", rc->metrics_port, "/healthz and /metrics port (default: none)")
        ->check(CLI::Range(0, 65535));
  };
  RoleCommand querynode, streamingnode, datanode, proxy;
  // Milvus's queryNode.port, streamingNode.port, dataNode.port, proxy.port.
  add_role(&querynode, "querynode", "run one query node (needs etcd and the shared object store)", 21123,
           "query node gRPC port", "data directory whose objects/ it reads (local object store)");
  add_role(&streamingnode, "streamingnode", "run one streaming node (needs etcd, the shared object store and Kafka)",
           22222, "streaming node gRPC port", "data directory (local object store and WAL)");
  add_role(&datanode, "datanode", "run one data node: index builds (needs etcd and the shared object store)", 21124,
           "data node gRPC port", "data directory whose objects/ it reads and writes (local object store)");
  add_role(&proxy, "proxy",
           "run one proxy: the Milvus gRPC and REST API in front of the coordinator (needs etcd and a coordinator)",
           19530, "Milvus gRPC and REST port", nullptr);
  CLI11_PARSE(app, argc, argv);

  if (!config_file.empty()) {
    kite::Status st = kite::LoadYamlConfig(config_file, &config);
    if (!st.ok()) {
      std::fprintf(stderr, "kite: %s\n", st.message().c_str());
      return 2;
    }
  }
  if (data_dir) config.data_dir = *data_dir;
  if (port) config.port = *port;
  if (metrics_port) config.metrics_port = *metrics_port;
  if (log_level) config.log_level = *log_level;
  if (kite::Status st = kite::ResolveListenAddress(&config); !st.ok()) {
    std::fprintf(stderr, "kite: %s\n", st.message().c_str());
    return 2;
  }
  auto level = kite::ParseLogLevel(config.log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "kite: %s\n", level.status().message().c_str());
    return 2;
  }
  kite::InitLogging(*level);  // logfmt lines (common/log.h)
  kite::SetRoleCallTimeouts({std::chrono::milliseconds(config.role_call_timeout_ms),
                             std::chrono::milliseconds(config.role_ddl_timeout_ms),
                             std::chrono::milliseconds(config.role_probe_timeout_ms)});

  // SIGTERM/SIGINT: a process-wide handler writes the signal number to a pipe
  // and one thread turns it into a clean shutdown. (Blocking the signals and
  // sigwait()ing is not enough: libraries such as OpenBLAS start threads before
  // main, and the kernel may deliver the signal to one of those.)
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) {
    std::perror("kite: pipe");
    return 1;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnTerminationSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (querynode.app->parsed()) {
    return RunRoleProcess(kite::OpenQueryNodeProcess(config, querynode.port, querynode.metrics_port));
  }
  if (datanode.app->parsed()) return RunRoleProcess(kite::OpenDataNodeProcess(config, datanode.port, datanode.metrics_port));
  if (streamingnode.app->parsed()) {
    return RunRoleProcess(kite::OpenStreamingNodeProcess(config, streamingnode.port, streamingnode.metrics_port));
  }
  if (proxy.app->parsed()) return RunRoleProcess(kite::OpenProxyProcess(config, proxy.port, proxy.metrics_port));
  // The signal thread runs from here: a stand-by coordinator
  // (mixCoord.enableActiveStandby) may wait in Open for a long time.
  std::atomic<bool> stop_signalled{false};
  std::mutex server_mu;
  kite::Standalone* serving = nullptr;
  std::thread signal_thread([&] {
    unsigned char sig = 0;
    while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    if (sig == 0) return;
    spdlog::info("received signal {}", static_cast<int>(sig));
    stop_signalled = true;
    std::lock_guard lock(server_mu);
    if (serving) serving->Shutdown();
  });
  auto wake_signal_thread = [&] {
    unsigned char zero = 0;
    (void)!::write(g_signal_pipe[1], &zero, 1);
    signal_thread.join();
  };
  auto server = kite::Standalone::Open(config, [&] { return stop_signalled.load(); });
  if (!server.ok()) {
    const bool stopped = stop_signalled.load();
    wake_signal_thread();
    if (stopped) return 0;  // stopped by a signal before it served (a stand-by)
    std::fprintf(stderr, "kite: cannot start: %s\n", server.status().message().c_str());
    return 1;
  }
  {
    std::lock_guard lock(server_mu);
    serving = server->get();
    if (stop_signalled.load()) serving->Shutdown();
  }
  kite::Status st = (*server)->Run();
  // Wake the signal thread if serving stopped for another reason.
  wake_signal_thread();
  server->reset();
  if (!st.ok()) {
    std::fprintf(stderr, "kite: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
