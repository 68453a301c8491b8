#include "storage/wal/kafka_wal.h"
#include "storage/wal/kafka_wal_record.h"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace kite {

namespace {

// Record framing and the replay's fence rule: kafka_wal_record.h.
using kafkawal::Decode;
using kafkawal::Encode;
using kafkawal::FenceState;
using kafkawal::kRecordBytesMax;
using kafkawal::kTypeData;
using kafkawal::kTypeTermStart;
using kafkawal::Record;

Status Unavailable(const std::string& what) {
  return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "service unavailable[reason={}]", what);
}

Status Fenced(const std::string& channel, WalTerm mine, WalTerm newest) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kChannelNotAvailable,
                    "channel not available[channel={}]: WAL channel is owned by term {}, this writer has term {} "
                    "(fenced)",
                    channel, newest, mine);
}

// ---- librdkafka handles ------------------------------------------------------------

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

Status SetConf(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    const bool secret = key.find("password") != std::string::npos || key.find("secret") != std::string::npos;
    return InvalidArgument("Kafka client property {}={}: {}", key, secret ? "****" : value, err);
  }
  return Status::OK();
}

// One produce's outcome, filled by the delivery report callback. Shared with
// the callback's opaque box, so a waiter that gives up never leaves it dangling.
struct Delivery {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* box = static_cast<std::shared_ptr<Delivery>*>(msg->_private);
  if (box == nullptr) return;
  {
    std::lock_guard lock((*box)->mu);
    (*box)->done = true;
    (*box)->err = msg->err;
    (*box)->offset = msg->offset;
  }
  (*box)->cv.notify_all();
  delete box;
}

// librdkafka's own log lines (connection refused, broker down, ...) go to
// Kite's log instead of stderr.
void OnLog(const rd_kafka_t*, int level, const char* facility, const char* message) {
  if (level <= 3) {
    spdlog::error("kafka {}: {}", facility, message);
  } else if (level <= 5) {
    spdlog::warn("kafka {}: {}", facility, message);
  } else {
    spdlog::debug("kafka {}: {}", facility, message);
  }
}

class KafkaWal;

class KafkaWalChannel final : public WalChannel {
 public:
  KafkaWalChannel(KafkaWal* wal, std::string channel, std::string topic, WalTerm term, uint64_t writer)
      : wal_(wal), channel_(std::move(channel)), topic_(std::move(topic)), term_(term), writer_(writer) {}

  // Appends the term-start marker and reads the log up to it.
  Status Start();

  Result<Lsn> Append(std::string_view payload) override;
  Status Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) override;
  Status Sync() override { return Status::OK(); }  // acks=all: acknowledged = in the in-sync replicas
  Lsn LastLsn() const override {
    std::lock_guard lock(mu_);
    return last_lsn_;
  }
  Status TruncateBefore(Lsn upto) override;

  WalTerm term() const { return term_; }
  void MarkDropped() {
    std::lock_guard lock(mu_);
    error_ = MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "WAL channel {} was dropped", channel_);
  }

 private:
  // Reads records [from, to) in offset order (from < 0: from the log start).
  Status Scan(int64_t from, int64_t to, const std::function<Status(int64_t, const Record&)>& fn);
  // Folds records (after_offset, to) of the log into this writer's state:
  // valid data advances last_lsn_, a newer term fences this writer.
  Status CatchUpLocked(int64_t to);
  Status ReSyncLocked();

  KafkaWal* const wal_;
  const std::string channel_;
  const std::string topic_;
  const WalTerm term_;
  const uint64_t writer_;

  mutable std::mutex mu_;
  Lsn last_lsn_ = kNoLsn;        // guarded by mu_
  int64_t read_upto_ = -1;       // guarded by mu_: offsets <= it are folded into the state
  FenceState fence_;             // guarded by mu_: the fence after read_upto_
  bool need_resync_ = false;     // guarded by mu_: an append's outcome is unknown
  Status error_;                 // guarded by mu_: fenced or dropped (sticky)
  std::deque<std::pair<Lsn, int64_t>> offsets_;  // guarded by mu_: (lsn, offset) of valid data kept
};

class KafkaWal final : public Wal {
 public:
  explicit KafkaWal(KafkaWalOptions options) : options_(std::move(options)) {}
  ~KafkaWal() override {
    stop_ = true;
    if (poller_.joinable()) poller_.join();
    if (producer_) rd_kafka_flush(producer_.get(), 1000);
  }

  Status Init() {
    KITE_ASSIGN_OR_RETURN(producer_, NewHandle(RD_KAFKA_PRODUCER));
    poller_ = std::thread([this] {
      while (!stop_) rd_kafka_poll(producer_.get(), 100);
    });
    if (!options_.security_protocol.empty()) return CheckSecurity();
    return Status::OK();
  }

  // With SASL or TLS configured, a wrong password or an untrusted broker
  // certificate is a configuration error: the start stops, naming it. A
  // broker that does not answer at all is left to the writes (as without
  // security: retriable errors while it is down).
  Status CheckSecurity() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.request_timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(producer_.get(), 0, nullptr, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        return Status::OK();
      }
      if (std::string why = SecurityError(); !why.empty()) {
        return InvalidArgument("Kafka at {} refused the connection: {} ({})", options_.brokers, why, kSecurityKeys);
      }
    }
    spdlog::warn("Kafka at {} did not answer within {} ms at start; writes fail until it does", options_.brokers,
                 options_.request_timeout_ms);
    return Status::OK();
  }

  static constexpr const char* kSecurityKeys =
      "check kafka.securityProtocol, kafka.saslMechanisms, kafka.saslUsername, kafka.saslPassword and kafka.ssl.*";

  // The last SASL or TLS failure librdkafka reported ("" if none).
  std::string SecurityError() {
    std::lock_guard lock(security_mu_);
    return security_error_;
  }

  // librdkafka before 2.6.1 repeats the client nonce in its SCRAM
  // client-final-message; Kafka 4 checks the nonce strictly (RFC 5802) and
  // answers "invalid credentials" whatever the password
  // (confluentinc/librdkafka#4895). Said next to such a failure, since the
  // password is then not the cause.
  std::string ScramHint(int err) const {
    constexpr int kScramFixed = 0x020601ff;  // librdkafka 2.6.1
    std::string mech = options_.sasl_mechanisms;
    for (char& c : mech) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION || !mech.starts_with("SCRAM") || rd_kafka_version() >= kScramFixed) {
      return "";
    }
    return fmt::format(
        "; note: this librdkafka ({}) cannot authenticate with SCRAM to Kafka 4.x brokers, whatever the password "
        "(fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895): use SASL/PLAIN over SASL_SSL, or a "
        "librdkafka >= 2.6.1",
        rd_kafka_version_str());
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    if (err != RD_KAFKA_RESP_ERR__AUTHENTICATION && err != RD_KAFKA_RESP_ERR__SSL) return;
    auto* self = static_cast<KafkaWal*>(opaque);
    std::lock_guard lock(self->security_mu_);
    self->security_error_ = reason ? reason : rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
    self->security_error_ += self->ScramHint(err);
    self->has_security_error_ = true;
  }

  // A record acknowledged: an older SASL / TLS failure is no longer the cause of anything.
  void ClearSecurityError() {
    if (!has_security_error_.exchange(false)) return;
    std::lock_guard lock(security_mu_);
    security_error_.clear();
  }

  // `what` failed: with a SASL / TLS failure on record, the error says so.
  Status UnavailableWithCause(const std::string& what) {
    if (std::string why = SecurityError(); !why.empty()) {
      return Unavailable(fmt::format("{} (last Kafka authentication/TLS error: {}; {})", what, why, kSecurityKeys));
    }
    return Unavailable(what);
  }

  Result<std::shared_ptr<WalChannel>> OpenChannel(const std::string& channel, WalTerm term) override {
    if (term == 0) return InvalidArgument("WAL channel {}: term must be >= 1", channel);
    const std::string topic = options_.topic_prefix + channel;
    if (channel.empty() || topic.size() > 249 ||
        topic.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string::npos) {
      return InvalidArgument("invalid WAL channel name '{}': a Kafka topic name is 1 to 249 of [A-Za-z0-9._-]",
                             channel);
    }
    std::lock_guard lock(open_mu_);
    auto it = open_.find(channel);
    if (it != open_.end()) {
      if (auto ch = it->second.lock(); ch && ch->term() == term) return std::shared_ptr<WalChannel>(ch);
    }
    KITE_RETURN_IF_ERROR(CreateTopic(topic));
    std::random_device rd;
    const uint64_t writer = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    auto ch = std::make_shared<KafkaWalChannel>(this, channel, topic, term, writer);
    KITE_RETURN_IF_ERROR(ch->Start());
    open_[channel] = ch;
    return std::shared_ptr<WalChannel>(std::move(ch));
  }

  Status DropChannel(const std::string& channel) override {
    std::lock_guard lock(open_mu_);
    auto it = open_.find(channel);
    if (it != open_.end()) {
      if (auto ch = it->second.lock()) ch->MarkDropped();
      open_.erase(it);
    }
    return DeleteTopic(options_.topic_prefix + channel);
  }

  const KafkaWalOptions& options() const { return options_; }
  rd_kafka_t* producer() { return producer_.get(); }

  // Produces one record and waits for its delivery report: its offset.
  Result<int64_t> Produce(const std::string& topic, std::string value) {
    auto delivery = std::make_shared<Delivery>();
    auto* box = new std::shared_ptr<Delivery>(delivery);
    rd_kafka_resp_err_t err =
        rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_OPAQUE(box), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete box;
      return Unavailable(fmt::format("Kafka produce to {} failed: {}", topic, rd_kafka_err2str(err)));
    }
    std::unique_lock lock(delivery->mu);
    // librdkafka reports every message within message.timeout.ms, except one
    // in flight to a broker that went away, reported only once its request
    // times out: do not wait for that (its outcome is unknown either way).
    const auto limit = std::chrono::milliseconds(options_.delivery_timeout_ms + 500);
    if (!delivery->cv.wait_for(lock, limit, [&] { return delivery->done; })) {
      return UnavailableWithCause(fmt::format("Kafka append to {} not acknowledged within {} ms", topic,
                                              options_.delivery_timeout_ms));
    }
    if (delivery->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Unavailable(fmt::format("Kafka append to {} not acknowledged within {} ms: {}", topic,
                                     options_.delivery_timeout_ms, rd_kafka_err2str(delivery->err)));
    }
    ClearSecurityError();
    return delivery->offset;
  }

  Result<KafkaHandle> NewHandle(rd_kafka_type_t type) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    Status st = Configure(conf, type);
    if (!st.ok()) {
      rd_kafka_conf_destroy(conf);
      return st;
    }
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));  // owns conf on success
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgument("Kafka client: {}", err);
    }
    if (type == RD_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
    return KafkaHandle(rk);
  }

 private:
  Status Configure(rd_kafka_conf_t* conf, rd_kafka_type_t type) {
    const KafkaWalOptions& o = options_;
    KITE_RETURN_IF_ERROR(SetConf(conf, "bootstrap.servers", o.brokers));
    KITE_RETURN_IF_ERROR(SetConf(conf, "client.id", "kite-wal"));
    rd_kafka_conf_set_log_cb(conf, OnLog);
    rd_kafka_conf_set_error_cb(conf, OnError);
    rd_kafka_conf_set_opaque(conf, this);
    KITE_RETURN_IF_ERROR(SetConf(conf, "socket.timeout.ms", std::to_string(o.request_timeout_ms)));
    if (!o.security_protocol.empty()) KITE_RETURN_IF_ERROR(SetConf(conf, "security.protocol", o.security_protocol));
    if (!o.sasl_mechanisms.empty()) KITE_RETURN_IF_ERROR(SetConf(conf, "sasl.mechanisms", o.sasl_mechanisms));
    if (!o.sasl_username.empty()) KITE_RETURN_IF_ERROR(SetConf(conf, "sasl.username", o.sasl_username));
    if (!o.sasl_password.empty()) KITE_RETURN_IF_ERROR(SetConf(conf, "sasl.password", o.sasl_password));
    if (type == RD_KAFKA_PRODUCER) {
      KITE_RETURN_IF_ERROR(SetConf(conf, "enable.idempotence", "true"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "acks", "all"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "linger.ms", "0"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "message.timeout.ms", std::to_string(o.delivery_timeout_ms)));
      KITE_RETURN_IF_ERROR(SetConf(conf, "message.max.bytes", std::to_string(kRecordBytesMax)));
      for (const auto& [k, v] : o.producer_properties) KITE_RETURN_IF_ERROR(SetConf(conf, k, v));
      rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    } else {
      KITE_RETURN_IF_ERROR(SetConf(conf, "group.id", "kite-wal-reader"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "enable.auto.commit", "false"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "enable.auto.offset.store", "false"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "enable.partition.eof", "true"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "auto.offset.reset", "earliest"));
      KITE_RETURN_IF_ERROR(SetConf(conf, "fetch.wait.max.ms", "50"));  // scans read to a known offset
      KITE_RETURN_IF_ERROR(SetConf(conf, "fetch.max.bytes", std::to_string(128 << 20)));
      KITE_RETURN_IF_ERROR(SetConf(conf, "max.partition.fetch.bytes", std::to_string(64 << 20)));
      for (const auto& [k, v] : o.consumer_properties) KITE_RETURN_IF_ERROR(SetConf(conf, k, v));
    }
    return Status::OK();
  }

  // Runs one admin request and returns the per-topic error of its result.
  template <typename Build, typename Extract>
  Status Admin(const std::string& what, rd_kafka_event_type_t want, Build build, Extract extract) {
    rd_kafka_queue_t* queue = rd_kafka_queue_new(producer_.get());
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(producer_.get(), RD_KAFKA_ADMIN_OP_ANY);
    char err[512];
    rd_kafka_AdminOptions_set_request_timeout(opts, options_.request_timeout_ms, err, sizeof(err));
    rd_kafka_AdminOptions_set_operation_timeout(opts, options_.request_timeout_ms, err, sizeof(err));
    build(opts, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, options_.request_timeout_ms + 5000);
    Status st;
    if (ev == nullptr) {
      st = UnavailableWithCause(fmt::format("{}: no answer from Kafka within {} ms", what, options_.request_timeout_ms));
    } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      st = UnavailableWithCause(fmt::format("{}: {}", what, rd_kafka_event_error_string(ev)));
    } else if (rd_kafka_event_type(ev) == want) {
      st = extract(ev);
    }
    if (ev != nullptr) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(queue);
    return st;
  }

  static Status TopicError(const std::string& what, const rd_kafka_topic_result_t** results, size_t n,
                           rd_kafka_resp_err_t ok_too) {
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == ok_too) continue;
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return Unavailable(fmt::format("{}: {}", what, msg ? msg : rd_kafka_err2str(e)));
    }
    return Status::OK();
  }

  Status CreateTopic(const std::string& topic) {
    const std::string what = "creating Kafka topic " + topic;
    return Admin(
        what, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
        [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* queue) {
          char err[512];
          rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), 1, -1, err, sizeof(err));
          // One record holds one write batch: allow what the producer allows.
          rd_kafka_NewTopic_set_config(nt, "max.message.bytes", std::to_string(kRecordBytesMax).c_str());
          rd_kafka_CreateTopics(producer_.get(), &nt, 1, opts, queue);
          rd_kafka_NewTopic_destroy(nt);
        },
        [&](rd_kafka_event_t* ev) {
          size_t n = 0;
          const rd_kafka_topic_result_t** r =
              rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
          return TopicError(what, r, n, RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
        });
  }

  Status DeleteTopic(const std::string& topic) {
    const std::string what = "deleting Kafka topic " + topic;
    return Admin(
        what, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
        [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* queue) {
          rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
          rd_kafka_DeleteTopics(producer_.get(), &dt, 1, opts, queue);
          rd_kafka_DeleteTopic_destroy(dt);
        },
        [&](rd_kafka_event_t* ev) {
          size_t n = 0;
          const rd_kafka_topic_result_t** r =
              rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
          return TopicError(what, r, n, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        });
  }

 public:
  // Deletes the records of `topic` before `offset`.
  Status DeleteRecordsBefore(const std::string& topic, int64_t offset) {
    const std::string what = "deleting records of Kafka topic " + topic;
    return Admin(
        what, RD_KAFKA_EVENT_DELETERECORDS_RESULT,
        [&](rd_kafka_AdminOptions_t* opts, rd_kafka_queue_t* queue) {
          rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
          rd_kafka_topic_partition_list_add(parts, topic.c_str(), 0)->offset = offset;
          rd_kafka_DeleteRecords_t* dr = rd_kafka_DeleteRecords_new(parts);
          rd_kafka_topic_partition_list_destroy(parts);
          rd_kafka_DeleteRecords(producer_.get(), &dr, 1, opts, queue);
          rd_kafka_DeleteRecords_destroy(dr);
        },
        [&](rd_kafka_event_t* ev) {
          const rd_kafka_topic_partition_list_t* parts =
              rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
          for (int i = 0; parts != nullptr && i < parts->cnt; ++i) {
            if (parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
              return Unavailable(fmt::format("{}: {}", what, rd_kafka_err2str(parts->elems[i].err)));
            }
          }
          return Status::OK();
        });
  }

  // The end of the log (the next offset).
  Result<int64_t> EndOffset(const std::string& topic) {
    KITE_ASSIGN_OR_RETURN(auto marks, Watermarks(topic));
    return marks.second;
  }
  // The first offset still in the log.
  Result<int64_t> StartOffset(const std::string& topic) {
    KITE_ASSIGN_OR_RETURN(auto marks, Watermarks(topic));
    return marks.first;
  }
  Result<std::pair<int64_t, int64_t>> Watermarks(const std::string& topic) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(producer_.get(), topic.c_str(), 0, &low, &high, options_.request_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Unavailable(fmt::format("reading the offsets of Kafka topic {}: {}", topic, rd_kafka_err2str(err)));
    }
    return std::make_pair(low, high);
  }

 private:
  const KafkaWalOptions options_;
  KafkaHandle producer_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
  std::mutex open_mu_;
  std::map<std::string, std::weak_ptr<KafkaWalChannel>> open_;  // guarded by open_mu_
  std::mutex security_mu_;
  std::string security_error_;  // guarded by security_mu_
  std::atomic<bool> has_security_error_{false};
};

// ---- Channel ------------------------------------------------------------------------

Status KafkaWalChannel::Scan(int64_t from, int64_t to, const std::function<Status(int64_t, const Record&)>& fn) {
  if (from >= 0 && from >= to) return Status::OK();
  if (from < 0) {
    // From the log's start: nothing to read if it starts at `to` (a new or
    // fully truncated topic), which saves waiting for an end-of-partition.
    // An explicit offset also starts the fetch at once: the logical
    // "beginning" made librdkafka take ~500 ms to resolve it.
    KITE_ASSIGN_OR_RETURN(int64_t start, wal_->StartOffset(topic_));
    if (start >= to) return Status::OK();
    from = start;
  }
  KITE_ASSIGN_OR_RETURN(KafkaHandle consumer, wal_->NewHandle(RD_KAFKA_CONSUMER));
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic_.c_str(), 0)->offset = from;
  rd_kafka_resp_err_t err = rd_kafka_assign(consumer.get(), parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable(fmt::format("reading Kafka topic {}: {}", topic_, rd_kafka_err2str(err)));
  }
  const int timeout_ms = wal_->options().request_timeout_ms;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status st;
  while (true) {
    if (std::chrono::steady_clock::now() > deadline) {
      st = Unavailable(fmt::format("reading Kafka topic {}: offsets up to {} not read within {} ms", topic_, to,
                                   timeout_ms));
      break;
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer.get(), 100);
    if (msg == nullptr) continue;
    const int64_t offset = msg->offset;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(msg);
      if (offset >= to) break;
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string text = rd_kafka_message_errstr(msg);
      rd_kafka_message_destroy(msg);
      st = Unavailable(fmt::format("reading Kafka topic {}: {}", topic_, text));
      break;
    }
    if (offset >= to) {
      rd_kafka_message_destroy(msg);
      break;
    }
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);  // progress
    Result<Record> rec = Decode(topic_, offset, {static_cast<const char*>(msg->payload), msg->len});
    st = rec.ok() ? fn(offset, *rec) : rec.status();
    rd_kafka_message_destroy(msg);
    if (!st.ok()) break;
    if (offset + 1 >= to) break;
  }
  rd_kafka_consumer_close(consumer.get());
  return st;
}

Status KafkaWalChannel::CatchUpLocked(int64_t to) {
  return Scan(read_upto_ < 0 ? -1 : read_upto_ + 1, to, [&](int64_t offset, const Record& r) -> Status {
    read_upto_ = offset;
    if (r.type == kTypeTermStart && (r.term > term_ || (r.term == term_ && r.writer != writer_))) {
      error_ = Fenced(channel_, term_, r.term);
      return error_;
    }
    if (!fence_.Accept(r)) return Status::OK();
    if (r.lsn != last_lsn_ + 1 && last_lsn_ != kNoLsn) {
      return Corruption("Kafka WAL topic {} offset {}: LSN {} follows LSN {}", topic_, offset, r.lsn, last_lsn_);
    }
    last_lsn_ = r.lsn;
    offsets_.emplace_back(r.lsn, offset);
    return Status::OK();
  });
}

Status KafkaWalChannel::Start() {
  std::lock_guard lock(mu_);
  KITE_ASSIGN_OR_RETURN(int64_t marker, wal_->Produce(topic_, Encode(kTypeTermStart, term_, writer_, kNoLsn, {})));
  KITE_RETURN_IF_ERROR(CatchUpLocked(marker));
  read_upto_ = marker;
  fence_.fence = std::max(fence_.fence, term_);
  return Status::OK();
}

// After an append whose outcome is unknown: a new marker of this term, then
// everything up to it, so LSNs continue after whatever did land.
Status KafkaWalChannel::ReSyncLocked() {
  KITE_ASSIGN_OR_RETURN(int64_t marker, wal_->Produce(topic_, Encode(kTypeTermStart, term_, writer_, kNoLsn, {})));
  KITE_RETURN_IF_ERROR(CatchUpLocked(marker));
  read_upto_ = marker;
  need_resync_ = false;
  return Status::OK();
}

Result<Lsn> KafkaWalChannel::Append(std::string_view payload) {
  std::lock_guard lock(mu_);
  KITE_RETURN_IF_ERROR(error_);
  if (need_resync_) KITE_RETURN_IF_ERROR(ReSyncLocked());
  const Lsn lsn = last_lsn_ + 1;
  Result<int64_t> offset = wal_->Produce(topic_, Encode(kTypeData, term_, writer_, lsn, payload));
  if (!offset.ok()) {
    need_resync_ = true;
    return offset.status();
  }
  // Offsets between this writer's previous record and this one were written
  // by someone else: a newer term's marker among them fences this record.
  if (*offset != read_upto_ + 1) {
    Status st = CatchUpLocked(*offset);
    if (!st.ok()) {
      if (!error_.ok()) return error_;  // fenced: this record is skipped by every replay
      need_resync_ = true;
      return st;
    }
  }
  read_upto_ = *offset;
  last_lsn_ = lsn;
  offsets_.emplace_back(lsn, *offset);
  return lsn;
}

Status KafkaWalChannel::Replay(Lsn after, const std::function<Status(Lsn, std::string_view)>& fn) {
  int64_t end = 0;
  {
    std::lock_guard lock(mu_);
    if (!error_.ok() && error_.reason() != Reason::kChannelNotAvailable) return error_;
  }
  KITE_ASSIGN_OR_RETURN(end, wal_->EndOffset(topic_));
  FenceState fence;
  return Scan(-1, end, [&](int64_t, const Record& r) -> Status {
    if (!fence.Accept(r) || r.lsn <= after) return Status::OK();
    return fn(r.lsn, r.payload);
  });
}

Status KafkaWalChannel::TruncateBefore(Lsn upto) {
  std::lock_guard lock(mu_);
  KITE_RETURN_IF_ERROR(error_);
  int64_t anchor = -1;
  while (!offsets_.empty() && offsets_.front().first <= upto) {
    if (offsets_.front().first == upto) {
      anchor = offsets_.front().second;
      break;
    }
    offsets_.pop_front();
  }
  if (anchor < 0) return Status::OK();
  return wal_->DeleteRecordsBefore(topic_, anchor);
}

}  // namespace

Result<std::unique_ptr<Wal>> OpenKafkaWal(const KafkaWalOptions& options) {
  if (options.brokers.empty()) return InvalidArgument("kafka.brokerList is empty");
  auto wal = std::make_unique<KafkaWal>(options);
  KITE_RETURN_IF_ERROR(wal->Init());
  return std::unique_ptr<Wal>(std::move(wal));
}

}  // namespace kite
