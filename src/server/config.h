// Server configuration: defaults, then a YAML file (Milvus-like keys), then
// command-line flags, in increasing priority.
//
// YAML keys (all optional):
//   proxy.port: 19530            gRPC and RESTful API port (one port, as Milvus)
//   proxy.host: 0.0.0.0          listen address
//   metrics.port: 9091           health/metrics/web UI port (Milvus: common metrics port 9091)
//   localStorage.path: ./data    data directory
//   wal.sync: fsync | none       fsync (default) acknowledges a write only once it is on disk
//   dataCoord.segment.maxSize: 1024     segment size cap in MB (compaction merges up to it;
//                                        maxSizeMB is accepted as an alias)
//   dataCoord.segment.sealProportion: 0.12  seal a growing segment at this share of maxSize
//   dataCoord.segment.maxIdleTimeSec: 600  flush a shard idle this long
//   log.level: info              trace, debug, info, warn, error, critical, off
//   proxy.slowQuerySpanInSeconds: 5     requests slower than this are logged (warn) and kept for /webui
//   proxy.maxFieldNum, proxy.maxDimension, proxy.maxShardNum, proxy.maxNameLength,
//   proxy.maxVectorFieldNum, rootCoord.maxPartitionNum, rootCoord.maxDatabaseNum
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/limits.h"
#include "common/status.h"
#include "roles/datanode/data_node.h"
#include "roles/streaming/streaming_node.h"
#include "storage/wal/wal.h"

namespace kite {

struct ServerConfig {
  std::string host = "0.0.0.0";
  int port = 19530;
  int metrics_port = 9091;
  std::string data_dir = "./data";
  std::string log_level = "info";
  double slow_query_span_s = 5;  // proxy.slowQuerySpanInSeconds (Milvus default)
  Limits limits;
  WalSyncPolicy wal_sync = WalSyncPolicy::kFsyncEveryAppend;
  StreamingOptions streaming;
  DataNodeOptions data_node;
};

// Applies the keys of a YAML file onto `config`. Unknown keys are ignored
// (Milvus configs carry many); a bad value for a known key is an error.
Status LoadYamlConfig(const std::string& path, ServerConfig* config);

// The effective configuration as (Milvus-style key, value) pairs, for the web
// UI; values of keys that look like secrets (password, secret, token, access
// key) are masked. Defined in config_view.cc.
std::vector<std::pair<std::string, std::string>> EffectiveConfig(const ServerConfig& config);
// "****" for a key that names a secret, else the value.
std::string MaskIfSecret(const std::string& key, const std::string& value);

}  // namespace kite
