#include "server/storage_factory.h"

#include <spdlog/spdlog.h>

#include "storage/wal/kafka_wal.h"
#include "storage/wal/local_wal.h"

namespace kite {

Result<std::unique_ptr<Wal>> OpenWalFor(const ServerConfig& config) {
  if (config.mq.type == "kafka") {
    KafkaWalOptions options = config.mq.kafka;
    options.topic_prefix = config.mq.chan_name_prefix + "-";
    // Never the SASL password: the brokers, the mechanism and the user are enough to tell which.
    spdlog::info("WAL on Kafka: brokers {}, topics {}*, security protocol '{}', SASL mechanism '{}'",
                 options.brokers, options.topic_prefix, options.security_protocol, options.sasl_mechanisms);
    return OpenKafkaWal(options);
  }
  WalOptions options;
  options.sync = config.wal_sync;
  return OpenLocalWal(config.data_dir + "/wal", options);
}

}  // namespace kite
