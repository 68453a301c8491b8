// The WAL on Apache Kafka (wal.h): one single-partition topic per channel,
// named <topic_prefix><channel>. Records are framed as in
// docs/formats/kafka_wal_record.md: every record carries the writer's term.
//
// - Append produces with an idempotent producer (acks=all) and returns only
//   once the broker acknowledged the record (its delivery report); a record
//   not acknowledged within `delivery_timeout_ms` fails with
//   Reason::kServiceUnavailable (the write's outcome is then unknown: it may
//   still be in the log and be replayed after a restart; the next Append
//   first re-reads the log's tail so LSNs stay gapless and unique).
// - LSNs are Kite's, not Kafka offsets: each data record stores its LSN
//   (first record 1); markers and fenced records between them take offsets
//   but no LSN.
// - Fencing: OpenChannel appends a term-start marker and reads the log up to
//   it. Replay ignores data records of a term lower than the newest term
//   started before them, and a writer whose acknowledged record follows a
//   newer term's marker fails that Append and every later one.
// - TruncateBefore(upto) deletes the records before the one of LSN `upto`
//   (Kafka DeleteRecords; that record stays as the anchor whose term starts
//   the fence of a replay). DropChannel deletes the topic.
//
// Thread-safety: as wal.h; appends on one channel are serialized (the
// streaming node appends under the shard's lock anyway).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/wal/wal.h"

namespace kite {

struct KafkaWalOptions {
  std::string brokers;  // kafka.brokerList: host:port[,host:port...]
  std::string topic_prefix;  // prepended to channel names to form topic names
  // SASL/TLS (kafka.saslUsername, saslPassword, saslMechanisms,
  // securityProtocol); empty = librdkafka's defaults (PLAINTEXT).
  std::string sasl_username, sasl_password, sasl_mechanisms, security_protocol;
  int delivery_timeout_ms = 10000;  // an Append not acknowledged by then fails (retriable)
  int request_timeout_ms = 10000;   // admin calls, metadata and reads
  // Extra librdkafka properties (kafka.producer.* / kafka.consumer.*), applied last.
  std::map<std::string, std::string> producer_properties, consumer_properties;
};

// Connects lazily: creating the Wal fails only on bad options; an unreachable
// broker shows in the first OpenChannel (kServiceUnavailable).
Result<std::unique_ptr<Wal>> OpenKafkaWal(const KafkaWalOptions& options);

}  // namespace kite
