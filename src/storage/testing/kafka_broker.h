// A real Apache Kafka broker (KRaft, one node) for tests: started by
// scripts/kafka_broker.sh in a fresh temp dir on free loopback ports, ready
// once a metadata request answers (polled, no fixed sleep). Stop() and
// Start() again keep the same dir and ports (a broker outage in a test).
// The jars come from scripts/setup.sh; without them Start fails saying so.
//
// Not thread-safe; one object per test binary (SharedKafkaBroker) so the
// broker starts once per run.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace kite::testing {

class KafkaBroker {
 public:
  static Result<std::unique_ptr<KafkaBroker>> Create();
  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  Status Start();
  // SIGKILL: the broker stops at once, as in a crash or a network cut.
  void Stop();
  bool running() const { return pid_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  KafkaBroker(std::string dir, int port, int controller_port)
      : dir_(std::move(dir)), port_(port), controller_port_(controller_port) {}
  Status WaitReady();

  const std::string dir_;
  const int port_;
  const int controller_port_;
  pid_t pid_ = -1;
};

// The broker of this test binary, started on first use and stopped at exit.
// Returns nullptr (and the reason in *error) if it cannot start.
KafkaBroker* SharedKafkaBroker(std::string* error);

}  // namespace kite::testing
