// Picks the storage engines from the configuration (config.h): one small
// function per engine, called once by Standalone::Open. With none of the
// engines' keys set, everything stays embedded under localStorage.path.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "storage/wal/wal.h"

namespace kite {

// mq.type kafka: the Kafka WAL (topics <msgChannel.chanNamePrefix.cluster>-<channel>);
// otherwise the embedded WAL in <data>/wal.
Result<std::unique_ptr<Wal>> OpenWalFor(const ServerConfig& config);

}  // namespace kite
