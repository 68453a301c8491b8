// OpenObjectStoreFor and OpenMetaStoreFor (storage_factory.h).
#include "server/storage_factory.h"

#include <spdlog/spdlog.h>

#include "storage/meta/etcd_meta_store.h"
#include "storage/object/s3_object_store.h"

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
  std::string list;
  for (const auto& x : e.endpoints) list += (list.empty() ? "" : ",") + x;
  spdlog::info("meta store: etcd at {} under {}", list, o.key_prefix);
  return OpenEtcdMetaStore(o);
}

}  // namespace kite
