#include "server/config.h"

#include <yaml-cpp/yaml.h>

namespace kite {
namespace {

template <typename T>
Status Read(const YAML::Node& root, const char* section, const char* key, T* out) {
  YAML::Node s = root[section];
  if (!s || !s.IsMap()) return Status::OK();
  YAML::Node v = s[key];
  if (!v) return Status::OK();
  try {
    *out = v.as<T>();
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config key {}.{}: cannot read '{}' ({})", section, key, v.Scalar(), e.what());
  }
  return Status::OK();
}

}  // namespace

Status LoadYamlConfig(const std::string& path, ServerConfig* c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("cannot read config file {}: {}", path, e.what());
  }
  if (!root.IsMap()) return InvalidArgument("config file {} is not a YAML mapping", path);
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "port", &c->port));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "host", &c->host));
  KITE_RETURN_IF_ERROR(Read(root, "metrics", "port", &c->metrics_port));
  KITE_RETURN_IF_ERROR(Read(root, "localStorage", "path", &c->data_dir));
  KITE_RETURN_IF_ERROR(Read(root, "log", "level", &c->log_level));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "slowQuerySpanInSeconds", &c->slow_query_span_s));
  if (!(c->slow_query_span_s >= 0)) {
    return InvalidArgument("config key proxy.slowQuerySpanInSeconds: {} is negative", c->slow_query_span_s);
  }
  std::string sync;
  KITE_RETURN_IF_ERROR(Read(root, "wal", "sync", &sync));
  if (sync == "none") {
    c->wal_sync = WalSyncPolicy::kNoSync;
  } else if (!sync.empty() && sync != "fsync") {
    return InvalidArgument("config key wal.sync: '{}' is not one of fsync, none", sync);
  }
  if (YAML::Node seg = root["dataCoord"] ? root["dataCoord"]["segment"] : YAML::Node(); seg && seg.IsMap()) {
    try {
      // maxSize is Milvus's key (MB); maxSizeMB is Kite's older spelling.
      for (const char* k : {"maxSizeMB", "maxSize"}) {
        if (seg[k]) c->streaming.segment_bytes_max = seg[k].as<size_t>() << 20;
      }
      if (seg["sealProportion"]) c->streaming.seal_proportion = seg["sealProportion"].as<double>();
      if (seg["maxIdleTimeSec"]) c->streaming.idle_flush_ms = seg["maxIdleTimeSec"].as<int64_t>() * 1000;
      if (seg["smallProportion"]) c->data_node.small_proportion = seg["smallProportion"].as<double>();
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config section dataCoord.segment: {}", e.what());
    }
    if (c->streaming.segment_bytes_max == 0) {
      return InvalidArgument("config key dataCoord.segment.maxSize: 0 is not a size in MB");
    }
    if (!(c->streaming.seal_proportion > 0 && c->streaming.seal_proportion <= 1)) {
      return InvalidArgument("config key dataCoord.segment.sealProportion: {} is not in (0, 1]",
                             c->streaming.seal_proportion);
    }
  }
  if (YAML::Node comp = root["dataCoord"] ? root["dataCoord"]["compaction"] : YAML::Node(); comp && comp.IsMap()) {
    try {
      if (comp["enableAutoCompaction"] && !comp["enableAutoCompaction"].as<bool>()) {
        c->data_node.compaction_interval_ms = 0;
      }
      if (comp["mix"] && comp["mix"]["triggerInterval"] && c->data_node.compaction_interval_ms > 0) {
        c->data_node.compaction_interval_ms = comp["mix"]["triggerInterval"].as<int64_t>() * 1000;
      }
      if (comp["single"] && comp["single"]["ratio"] && comp["single"]["ratio"]["threshold"]) {
        c->data_node.delete_ratio = comp["single"]["ratio"]["threshold"].as<double>();
      }
    } catch (const YAML::Exception& e) {
      return InvalidArgument("config section dataCoord.compaction: {}", e.what());
    }
  }
  Limits& l = c->limits;
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxFieldNum", &l.max_field_num));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxVectorFieldNum", &l.max_vector_field_num));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxDimension", &l.max_dimension));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxShardNum", &l.max_shard_num));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxNameLength", &l.max_name_length));
  KITE_RETURN_IF_ERROR(Read(root, "rootCoord", "maxPartitionNum", &l.max_partition_num));
  KITE_RETURN_IF_ERROR(Read(root, "rootCoord", "maxDatabaseNum", &l.max_database_num));
  KITE_RETURN_IF_ERROR(Read(root, "common", "JSONMaxLength", &l.json_max_length));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxInflightRequestBytes", &l.max_inflight_request_bytes));
  return Status::OK();
}

}  // namespace kite
