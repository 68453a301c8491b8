#include "storage/testing/kafka_broker.h"

#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace kite::testing {

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

constexpr int kReadyDeadlineS = 90;

}  // namespace

Result<std::unique_ptr<KafkaBroker>> KafkaBroker::Create() {
  const std::string script = std::string(KITE_SOURCE_DIR) + "/scripts/kafka_broker.sh";
  const char* libs_env = std::getenv("KITE_KAFKA_LIBS");
  const std::string libs = libs_env ? libs_env : std::string(KITE_SOURCE_DIR) + "/.cache/kafka/libs";
  if (!std::filesystem::exists(libs + "/kafka_2.13-4.1.1.jar")) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "Kafka 4.1.1 jars not found in {}: run scripts/setup.sh", libs);
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "kite-kafka-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return IOError("mkdtemp {} failed", tmpl);
  int port = FreePort(), cport = FreePort();
  while (cport == port) cport = FreePort();
  auto broker = std::unique_ptr<KafkaBroker>(new KafkaBroker(tmpl, port, cport));
  KITE_RETURN_IF_ERROR(broker->Start());
  return broker;
}

KafkaBroker::~KafkaBroker() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Status KafkaBroker::Start() {
  if (running()) return Status::OK();
  const std::string script = std::string(KITE_SOURCE_DIR) + "/scripts/kafka_broker.sh";
  const std::string log = dir_ + "/broker.log";
  pid_t pid = fork();
  if (pid < 0) return IOError("fork failed");
  if (pid == 0) {
    setpgid(0, 0);  // its own group: Stop() kills the JVM with the script
    setenv("KITE_KAFKA_PARENT_PID", std::to_string(getppid()).c_str(), 1);  // dies with this test
    FILE* out = freopen(log.c_str(), "a", stdout);
    (void)out;
    dup2(fileno(stdout), fileno(stderr));
    const std::string data = dir_ + "/broker";
    execl("/bin/bash", "bash", script.c_str(), data.c_str(), std::to_string(port_).c_str(),
          std::to_string(controller_port_).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  Status st = WaitReady();
  if (!st.ok()) Stop();
  return st;
}

void KafkaBroker::Stop() {
  if (pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

Status KafkaBroker::WaitReady() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kReadyDeadlineS);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", address().c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return Internal("rd_kafka_new: {}", err);
  Status st = IOError("Kafka broker at {} not ready within {} s (log: {}/broker.log)", address(), kReadyDeadlineS,
                      dir_);
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      st = IOError("Kafka broker exited before it was ready (log: {}/broker.log)", dir_);
      break;
    }
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 1, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const bool ready = md->broker_cnt > 0;
      rd_kafka_metadata_destroy(md);
      if (ready) {
        st = Status::OK();
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_destroy(rk);
  return st;
}

KafkaBroker* SharedKafkaBroker(std::string* error) {
  static Result<std::unique_ptr<KafkaBroker>> broker = KafkaBroker::Create();
  if (!broker.ok()) {
    *error = broker.status().ToString();
    return nullptr;
  }
  return broker->get();
}

}  // namespace kite::testing
