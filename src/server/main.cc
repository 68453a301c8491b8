// kite: one binary, several roles. `kite standalone` runs every role in one
// process with embedded storage (the only mode so far).
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "server/config.h"
#include "server/standalone.h"

int main(int argc, char** argv) {
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
  standalone->add_option("--log-level", log_level, "trace, debug, info, warn, error");
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
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  // Block termination signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = kite::Standalone::Open(config);
  if (!server.ok()) {
    std::fprintf(stderr, "kite: cannot start: %s\n", server.status().message().c_str());
    return 1;
  }
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received signal {}", sig);
    (*server)->Shutdown();
  });
  kite::Status st = (*server)->Run();
  // Wake the signal thread if serving stopped for another reason.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  server->reset();
  if (!st.ok()) {
    std::fprintf(stderr, "kite: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
