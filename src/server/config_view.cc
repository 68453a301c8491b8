// EffectiveConfig / MaskIfSecret (config.h): the configuration the web UI shows.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "server/config.h"

namespace kite {

std::string MaskIfSecret(const std::string& key, const std::string& value) {
  std::string k;
  for (char c : key) {
    if (std::isalnum(static_cast<unsigned char>(c))) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  static const char* kSecretWords[] = {"password", "passwd", "secret", "token", "accesskey", "apikey", "credential"};
  for (const char* w : kSecretWords) {
    if (k.find(w) != std::string::npos) return value.empty() ? value : "****";
  }
  return value;
}

std::vector<std::pair<std::string, std::string>> EffectiveConfig(const ServerConfig& c) {
  const Limits& l = c.limits;
  std::vector<std::pair<std::string, std::string>> out = {
      {"proxy.host", c.host},
      {"proxy.port", std::to_string(c.port)},
      {"metrics.port", std::to_string(c.metrics_port)},
      {"localStorage.path", c.data_dir},
      {"log.level", c.log_level},
      {"proxy.slowQuerySpanInSeconds", fmt::format("{}", c.slow_query_span_s)},
      {"wal.sync", c.wal_sync == WalSyncPolicy::kNoSync ? "none" : "fsync"},
      {"kite.roleTransport", c.roles_over_grpc ? "grpc" : "inprocess"},
      {"kite.queryNodes", c.remote_query_nodes ? "remote" : "embedded"},
      {"kite.streamingNodes", c.remote_streaming_nodes ? "remote" : "embedded"},
      {"kite.dataNodes", c.remote_data_nodes ? "remote" : "embedded"},
      {"rootCoord.port", std::to_string(c.coordinator_port)},
      {"mixCoord.enableActiveStandby", c.active_standby ? "true" : "false"},
      {"kite.roleCallTimeoutMs", std::to_string(c.role_call_timeout_ms)},
      {"kite.roleDdlTimeoutMs", std::to_string(c.role_ddl_timeout_ms)},
      {"kite.roleProbeTimeoutMs", std::to_string(c.role_probe_timeout_ms)},
      {"mq.type", c.mq.type},
      {"kafka.brokerList", c.mq.kafka.brokers},
      {"kafka.saslUsername", c.mq.kafka.sasl_username},
      {"kafka.saslPassword", c.mq.kafka.sasl_password},
      {"kafka.saslMechanisms", c.mq.kafka.sasl_mechanisms},
      {"kafka.securityProtocol", c.mq.kafka.security_protocol},
      {"dataCoord.segment.maxSize", std::to_string(c.streaming.segment_bytes_max >> 20)},
      {"dataCoord.segment.sealProportion", std::to_string(c.streaming.seal_proportion)},
      {"dataCoord.segment.maxIdleTimeSec", std::to_string(c.streaming.idle_flush_ms / 1000)},
      {"dataCoord.gc.interval", std::to_string(c.gc.interval_s)},
      {"dataCoord.gc.dropTolerance", std::to_string(c.gc.drop_tolerance_s)},
      {"dataCoord.gc.missingTolerance", std::to_string(c.gc.missing_tolerance_s)},
      {"proxy.maxNameLength", std::to_string(l.max_name_length)},
      {"proxy.maxFieldNum", std::to_string(l.max_field_num)},
      {"proxy.maxVectorFieldNum", std::to_string(l.max_vector_field_num)},
      {"proxy.maxShardNum", std::to_string(l.max_shard_num)},
      {"proxy.maxDimension", std::to_string(l.max_dimension)},
      {"rootCoord.maxPartitionNum", std::to_string(l.max_partition_num)},
      {"rootCoord.maxDatabaseNum", std::to_string(l.max_database_num)},
      {"quotaAndLimits.limits.maxCollectionNum", std::to_string(l.max_collection_num)},
      {"quotaAndLimits.limits.maxGroupSize", std::to_string(l.max_group_size)},
      {"proxy.grpc.serverMaxRecvSize", std::to_string(l.max_request_bytes)},
      {"proxy.grpc.serverMaxSendSize", std::to_string(l.max_response_bytes)},
  };
  const ObjectStorageConfig& os = c.object_storage;
  out.push_back({"common.storageType", os.storage_type});
  if (os.IsS3()) {
    const S3Options& s3 = os.s3;
    std::vector<std::pair<std::string, std::string>> minio = {
        {"minio.address", s3.address},
        {"minio.port", std::to_string(s3.port)},
        {"minio.accessKeyID", s3.access_key_id},
        {"minio.secretAccessKey", s3.secret_access_key},
        {"minio.useSSL", s3.use_ssl ? "true" : "false"},
        {"minio.bucketName", s3.bucket},
        {"minio.rootPath", s3.root_path},
        {"minio.region", s3.region},
        {"minio.useVirtualHost", s3.use_virtual_host ? "true" : "false"},
        {"minio.cloudProvider", s3.cloud_provider},
        {"minio.requestTimeoutMs", std::to_string(s3.request_timeout_ms)},
    };
    out.insert(out.end(), minio.begin(), minio.end());
  }
  out.emplace_back("metastore.type", c.etcd.enabled ? "etcd" : "rocksdb (embedded)");
  if (c.etcd.enabled) {
    std::string endpoints;
    for (const auto& e : c.etcd.endpoints) endpoints += (endpoints.empty() ? "" : ",") + e;
    out.emplace_back("etcd.endpoints", endpoints);
    out.emplace_back("etcd.rootPath", c.etcd.root_path);
    out.emplace_back("etcd.metaSubPath", c.etcd.meta_sub_path);
    out.emplace_back("etcd.kvSubPath", c.etcd.kv_sub_path);
    out.emplace_back("etcd.requestTimeout", std::to_string(c.etcd.request_timeout_ms));
    out.emplace_back("etcd.ssl.enabled", c.etcd.ssl_enabled ? "true" : "false");
    if (c.etcd.ssl_enabled) {
      out.emplace_back("etcd.ssl.tlsCert", c.etcd.tls_cert);
      out.emplace_back("etcd.ssl.tlsKey", c.etcd.tls_key);
      out.emplace_back("etcd.ssl.tlsCACert", c.etcd.tls_ca_cert);
      out.emplace_back("etcd.ssl.tlsMinVersion", c.etcd.tls_min_version);
    }
    out.emplace_back("etcd.auth.enabled", c.etcd.auth_enabled ? "true" : "false");
    if (c.etcd.auth_enabled) {
      out.emplace_back("etcd.auth.userName", c.etcd.user_name);
      out.emplace_back("etcd.auth.password", c.etcd.password);
    }
  }
  out.emplace_back("common.session.ttl", std::to_string(c.session.ttl_s));
  out.emplace_back("common.session.retryTimes", std::to_string(c.session.retry_times));
  for (auto& [k, v] : out) v = MaskIfSecret(k, v);
  return out;
}

}  // namespace kite
