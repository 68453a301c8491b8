// OpenObjectStoreFor, OpenMetaStoreFor and OpenWalFor (storage_factory.h).
#include "server/storage_factory.h"

#include <spdlog/spdlog.h>

#include "storage/meta/etcd_meta_store.h"
#include "storage/object/s3_object_store.h"
#include "storage/wal/kafka_wal.h"
#include "storage/wal/local_wal.h"

namespace kite {

Result<std::unique_ptr<ObjectStore>> OpenObjectStoreFor(const ServerConfig& config) {
  const ObjectStorageConfig& c = config.object_storage;
  if (!c.IsS3()) return OpenLocalObjectStore(config.data_dir + "/objects");
  const S3Options& o = c.s3;
  // Never the keys: only where the objects go.
  spdlog::info("object storage: S3 {}://{}:{} bucket {} root path '{}' ({} addressing)", o.use_ssl ? "https" : "http",
               o.address, o.port, o.bucket, o.root_path, o.use_virtual_host ? "virtual-host" : "path-style");
  auto store = OpenS3ObjectStore(o);
  if (!store.ok()) {
    return MakeStatus(store.status().code(), store.status().reason(), "cannot open the S3 object store (common.storageType "
                      "{}): {}", c.storage_type, store.status().message());
  }
  return store;
}

Result<std::unique_ptr<MetaStore>> OpenMetaStoreFor(const ServerConfig& config) {
  if (!config.etcd.enabled) return OpenRocksDbMetaStore(config.data_dir + "/meta");
  const EtcdConfig& e = config.etcd;
  EtcdMetaStoreOptions o;
  o.endpoints = e.endpoints;
  // Milvus: metaRootPath = rootPath + '/' + metaSubPath (kvRootPath alike).
  o.key_prefix = e.root_path + "/" + e.meta_sub_path + "/";
  o.chunk_prefix = e.root_path + "/" + e.kv_sub_path + "/kite-meta-chunks/";
  o.request_timeout_ms = e.request_timeout_ms;
  o.tls.enabled = e.ssl_enabled;
  o.tls.cert_path = e.tls_cert;
  o.tls.key_path = e.tls_key;
  o.tls.ca_cert_path = e.tls_ca_cert;
  o.tls.min_version = e.tls_min_version;
  if (e.auth_enabled) {
    o.user_name = e.user_name;
    o.password = e.password;
  }
  std::string list;
  for (const auto& x : e.endpoints) list += (list.empty() ? "" : ",") + x;
  spdlog::info("meta store: etcd at {} under {}{}{}", list, o.key_prefix, e.ssl_enabled ? ", TLS" : "",
               e.auth_enabled ? ", as user " + e.user_name : "");
  return OpenEtcdMetaStore(o);
}

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
