#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include "server/config_mq.h"
#include "server/config_session.h"
#include "storage/meta/etcd_meta_store.h"

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

// The keys Kite knows under common.security and tls (Milvus's names).
Status CheckKnownKeys(const YAML::Node& node, const char* where, std::initializer_list<const char*> known) {
  if (!node || node.IsNull()) return Status::OK();
  if (!node.IsMap()) return InvalidArgument("config section {} is not a mapping", where);
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (const char* k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return InvalidArgument("config key {}.{} is unknown (known keys: {})", where, key, list);
    }
  }
  return Status::OK();
}

Status LoadSecurity(const YAML::Node& root, ServerConfig* c) {
  YAML::Node common = root["common"];
  YAML::Node sec = common && common.IsMap() ? common["security"] : YAML::Node();
  KITE_RETURN_IF_ERROR(CheckKnownKeys(sec, "common.security",
                                      {"authorizationEnabled", "superUsers", "defaultRootPassword", "tlsMode",
                                       "internaltlsEnabled", "enablePublicPrivilege"}));
  YAML::Node tls = root["tls"];
  KITE_RETURN_IF_ERROR(CheckKnownKeys(tls, "tls", {"serverPemPath", "serverKeyPath", "caPemPath"}));
  YAML::Node itls = root["internaltls"];
  KITE_RETURN_IF_ERROR(
      CheckKnownKeys(itls, "internaltls", {"serverPemPath", "serverKeyPath", "caPemPath", "sni"}));
  SecurityConfig& s = c->security;
  try {
    if (sec && sec.IsMap()) {
      if (sec["authorizationEnabled"]) s.authorization_enabled = sec["authorizationEnabled"].as<bool>();
      if (YAML::Node su = sec["superUsers"]) {
        s.super_users.clear();
        if (su.IsSequence()) {
          for (const auto& u : su) s.super_users.push_back(u.as<std::string>());
        } else if (!su.IsNull()) {
          // Milvus also takes a comma-separated string.
          std::string list = su.as<std::string>();
          size_t start = 0;
          while (start <= list.size()) {
            size_t comma = list.find(',', start);
            std::string u = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            u.erase(0, u.find_first_not_of(' '));
            u.erase(u.find_last_not_of(' ') + 1);
            if (!u.empty()) s.super_users.push_back(u);
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
        }
      }
      if (sec["defaultRootPassword"]) s.default_root_password = sec["defaultRootPassword"].as<std::string>();
      if (sec["tlsMode"]) s.tls_mode = sec["tlsMode"].as<int>();
      if (sec["internaltlsEnabled"]) s.internal_tls_enabled = sec["internaltlsEnabled"].as<bool>();
      if (sec["enablePublicPrivilege"] && !sec["enablePublicPrivilege"].as<bool>()) {
        return InvalidArgument("config key common.security.enablePublicPrivilege: false is not supported yet");
      }
    }
    if (tls && tls.IsMap()) {
      if (tls["serverPemPath"]) s.tls_server_pem = tls["serverPemPath"].as<std::string>();
      if (tls["serverKeyPath"]) s.tls_server_key = tls["serverKeyPath"].as<std::string>();
      if (tls["caPemPath"]) s.tls_ca_pem = tls["caPemPath"].as<std::string>();
    }
    if (itls && itls.IsMap()) {
      if (itls["serverPemPath"]) s.internal_tls_server_pem = itls["serverPemPath"].as<std::string>();
      if (itls["serverKeyPath"]) s.internal_tls_server_key = itls["serverKeyPath"].as<std::string>();
      if (itls["caPemPath"]) s.internal_tls_ca_pem = itls["caPemPath"].as<std::string>();
      if (itls["sni"]) s.internal_tls_sni = itls["sni"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config section common.security / tls: {}", e.what());
  }
  if (s.tls_mode != 0 && s.tls_mode != 1 && s.tls_mode != 2) {
    return InvalidArgument("config key common.security.tlsMode: {} is not one of 0, 1, 2", s.tls_mode);
  }
  KITE_RETURN_IF_ERROR(Read(root, "kite", "clusterSecret", &s.cluster_secret));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "allowInsecureRemote", &s.allow_insecure_remote));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxFailedLoginsPerMinute", &s.max_failed_logins_per_minute));
  if (s.max_failed_logins_per_minute < 1) {
    return InvalidArgument("config key proxy.maxFailedLoginsPerMinute: {} is not a positive count",
                           s.max_failed_logins_per_minute);
  }
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxUserNum", &s.max_user_num));
  KITE_RETURN_IF_ERROR(Read(root, "proxy", "maxRoleNum", &s.max_role_num));
  if (s.max_user_num < 1) return InvalidArgument("config key proxy.maxUserNum: {} is not a positive count", s.max_user_num);
  if (s.max_role_num < 1) return InvalidArgument("config key proxy.maxRoleNum: {} is not a positive count", s.max_role_num);
  return Status::OK();
}

Status LoadObjectStorage(const YAML::Node& root, ObjectStorageConfig* c) {
  KITE_RETURN_IF_ERROR(Read(root, "common", "storageType", &c->storage_type));
  if (c->storage_type != "local" && !c->IsS3()) {
    return InvalidArgument("config key common.storageType: '{}' is not one of local, minio, remote",
                           c->storage_type);
  }
  S3Options& o = c->s3;
  KITE_RETURN_IF_ERROR(Read(root, "minio", "address", &o.address));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "port", &o.port));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "accessKeyID", &o.access_key_id));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "secretAccessKey", &o.secret_access_key));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "useSSL", &o.use_ssl));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "bucketName", &o.bucket));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "rootPath", &o.root_path));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "region", &o.region));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "useVirtualHost", &o.use_virtual_host));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "cloudProvider", &o.cloud_provider));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "requestTimeoutMs", &o.request_timeout_ms));
  KITE_RETURN_IF_ERROR(Read(root, "minio", "listObjectsMaxKeys", &o.list_max_keys));
  if (YAML::Node m = root["minio"]; m && m.IsMap()) {
    KITE_RETURN_IF_ERROR(Read(m, "ssl", "tlsCACert", &o.ca_cert_path));
    bool use_iam = false;
    KITE_RETURN_IF_ERROR(Read(root, "minio", "useIAM", &use_iam));
    if (use_iam && c->IsS3()) {
      return InvalidArgument("config key minio.useIAM: true is not supported; set minio.accessKeyID and "
                             "minio.secretAccessKey");
    }
  }
  return Status::OK();
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

Status ResolveListenAddress(ServerConfig* c) {
  if (c->host.empty()) {
    c->host = c->security.authorization_enabled ? "0.0.0.0" : "127.0.0.1";
    return Status::OK();
  }
  if (!c->security.authorization_enabled && !c->security.allow_insecure_remote && !IsLoopbackHost(c->host)) {
    return InvalidArgument(
        "refusing to listen on {} without authorization: anyone who can reach it could read and drop every "
        "collection. Set common.security.authorizationEnabled: true (and change root's password), or set "
        "proxy.allowInsecureRemote: true to accept the risk",
        c->host);
  }
  return Status::OK();
}

// metastore.type and etcd.* (config.h).
static Status LoadMetaStore(const YAML::Node& root, ServerConfig* c) {
  EtcdConfig& e = c->etcd;
  std::string type;
  KITE_RETURN_IF_ERROR(Read(root, "metastore", "type", &type));
  if (!type.empty()) {
    if (type != "etcd") {
      return InvalidArgument("config key metastore.type: '{}' is not supported (Kite supports etcd)", type);
    }
    e.enabled = true;
  }
  YAML::Node etcd = root["etcd"];
  if (!etcd || !etcd.IsMap()) return Status::OK();
  try {
    if (YAML::Node ep = etcd["endpoints"]; ep && !ep.IsNull()) {
      std::vector<std::string> list;
      auto add = [&](const std::string& s) {
        size_t start = 0;
        while (start <= s.size()) {
          size_t comma = s.find(',', start);
          std::string one = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          one.erase(0, one.find_first_not_of(" \t"));
          one.erase(one.find_last_not_of(" \t") + 1);
          if (!one.empty()) list.push_back(one);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      };
      if (ep.IsSequence()) {
        for (const auto& x : ep) add(x.as<std::string>());
      } else {
        add(ep.as<std::string>());
      }
      if (list.empty()) return InvalidArgument("config key etcd.endpoints: no endpoint given");
      e.endpoints = std::move(list);
      e.enabled = true;
    }
    if (etcd["rootPath"]) e.root_path = etcd["rootPath"].as<std::string>();
    if (etcd["metaSubPath"]) e.meta_sub_path = etcd["metaSubPath"].as<std::string>();
    if (etcd["kvSubPath"]) e.kv_sub_path = etcd["kvSubPath"].as<std::string>();
    if (etcd["requestTimeout"]) e.request_timeout_ms = etcd["requestTimeout"].as<int64_t>();
    if (YAML::Node ssl = etcd["ssl"]; ssl && ssl.IsMap()) {
      if (ssl["enabled"]) e.ssl_enabled = ssl["enabled"].as<bool>();
      if (ssl["tlsCert"] && !ssl["tlsCert"].IsNull()) e.tls_cert = ssl["tlsCert"].as<std::string>();
      if (ssl["tlsKey"] && !ssl["tlsKey"].IsNull()) e.tls_key = ssl["tlsKey"].as<std::string>();
      if (ssl["tlsCACert"] && !ssl["tlsCACert"].IsNull()) e.tls_ca_cert = ssl["tlsCACert"].as<std::string>();
      if (ssl["tlsMinVersion"] && !ssl["tlsMinVersion"].IsNull()) {
        e.tls_min_version = ssl["tlsMinVersion"].as<std::string>();
      }
    }
    if (YAML::Node auth = etcd["auth"]; auth && auth.IsMap()) {
      if (auth["enabled"]) e.auth_enabled = auth["enabled"].as<bool>();
      if (auth["userName"] && !auth["userName"].IsNull()) e.user_name = auth["userName"].as<std::string>();
      if (auth["password"] && !auth["password"].IsNull()) e.password = auth["password"].as<std::string>();
    }
  } catch (const YAML::Exception& ex) {
    return InvalidArgument("config section etcd: {}", ex.what());
  }
  if (e.root_path.empty()) return InvalidArgument("config key etcd.rootPath: empty");
  for (const std::string& one : e.endpoints) {
    if (one.starts_with("https://") && !e.ssl_enabled) {
      return InvalidArgument("config key etcd.endpoints: '{}' is https but etcd.ssl.enabled is false", one);
    }
  }
  if (e.ssl_enabled) KITE_RETURN_IF_ERROR(CheckEtcdTlsMinVersion(e.tls_min_version));
  if (e.auth_enabled && e.user_name.empty()) {
    return InvalidArgument("config key etcd.auth.userName: empty while etcd.auth.enabled is true");
  }
  if (e.request_timeout_ms <= 0) {
    return InvalidArgument("config key etcd.requestTimeout: {} is not a positive number of ms", e.request_timeout_ms);
  }
  return Status::OK();
}

Status LoadYamlConfig(const std::string& path, ServerConfig* c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("cannot read config file {}: {}", path, e.what());
  }
  if (!root.IsMap()) return InvalidArgument("config file {} is not a YAML mapping", path);
  KITE_RETURN_IF_ERROR(LoadSecurity(root, c));
  KITE_RETURN_IF_ERROR(LoadMqConfig(root, c));
  KITE_RETURN_IF_ERROR(LoadSessionConfig(root, &c->session));
  KITE_RETURN_IF_ERROR(LoadObjectStorage(root, &c->object_storage));
  KITE_RETURN_IF_ERROR(LoadMetaStore(root, c));
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
  std::string transport;
  KITE_RETURN_IF_ERROR(Read(root, "kite", "roleTransport", &transport));
  if (transport == "grpc") {
    c->roles_over_grpc = true;
  } else if (!transport.empty() && transport != "inprocess") {
    return InvalidArgument("config key kite.roleTransport: '{}' is not one of inprocess, grpc", transport);
  }
  std::string query_nodes;
  KITE_RETURN_IF_ERROR(Read(root, "kite", "queryNodes", &query_nodes));
  if (query_nodes == "remote") {
    c->remote_query_nodes = true;
  } else if (!query_nodes.empty() && query_nodes != "embedded") {
    return InvalidArgument("config key kite.queryNodes: '{}' is not one of embedded, remote", query_nodes);
  }
  std::string streaming_nodes;
  KITE_RETURN_IF_ERROR(Read(root, "kite", "streamingNodes", &streaming_nodes));
  if (streaming_nodes == "remote") {
    c->remote_streaming_nodes = true;
  } else if (!streaming_nodes.empty() && streaming_nodes != "embedded") {
    return InvalidArgument("config key kite.streamingNodes: '{}' is not one of embedded, remote", streaming_nodes);
  }
  std::string data_nodes;
  KITE_RETURN_IF_ERROR(Read(root, "kite", "dataNodes", &data_nodes));
  if (data_nodes == "remote") {
    c->remote_data_nodes = true;
  } else if (!data_nodes.empty() && data_nodes != "embedded") {
    return InvalidArgument("config key kite.dataNodes: '{}' is not one of embedded, remote", data_nodes);
  }
  for (auto [key, out] : {std::pair<const char*, int64_t*>{"roleCallTimeoutMs", &c->role_call_timeout_ms},
                          {"roleDdlTimeoutMs", &c->role_ddl_timeout_ms},
                          {"roleProbeTimeoutMs", &c->role_probe_timeout_ms}}) {
    KITE_RETURN_IF_ERROR(Read(root, "kite", key, out));
    if (*out <= 0) return InvalidArgument("config key kite.{}: {} is not a positive number of milliseconds", key, *out);
  }
  KITE_RETURN_IF_ERROR(Read(root, "rootCoord", "port", &c->coordinator_port));
  if (c->coordinator_port <= 0 || c->coordinator_port > 65535) {
    return InvalidArgument("config key rootCoord.port: {} is not a port", c->coordinator_port);
  }
  KITE_RETURN_IF_ERROR(Read(root, "mixCoord", "enableActiveStandby", &c->active_standby));
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
  if (YAML::Node gc = root["dataCoord"] ? root["dataCoord"]["gc"] : YAML::Node(); gc && gc.IsMap()) {
    struct {
      const char* key;
      int64_t* out;
    } keys[] = {{"interval", &c->gc.interval_s},
                {"dropTolerance", &c->gc.drop_tolerance_s},
                {"missingTolerance", &c->gc.missing_tolerance_s}};
    for (const auto& k : keys) {
      if (!gc[k.key]) continue;
      try {
        *k.out = gc[k.key].as<int64_t>();
      } catch (const YAML::Exception&) {
        return InvalidArgument("config key dataCoord.gc.{}: '{}' is not a number of seconds", k.key,
                               gc[k.key].IsScalar() ? gc[k.key].Scalar() : std::string("(not a scalar)"));
      }
      const int64_t least = std::string_view(k.key) == "interval" ? 1 : 0;
      if (*k.out < least) {
        return InvalidArgument("config key dataCoord.gc.{}: {} is below {} seconds", k.key, *k.out, least);
      }
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
  if (YAML::Node q = root["quotaAndLimits"]; q && q.IsMap()) {
    KITE_RETURN_IF_ERROR(Read(q, "limits", "maxGroupSize", &l.max_group_size));
    if (l.max_group_size < 1) {
      return InvalidArgument("config key quotaAndLimits.limits.maxGroupSize: {} is below 1", l.max_group_size);
    }
  }
  return Status::OK();
}

}  // namespace kite
