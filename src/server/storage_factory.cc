#include "server/storage_factory.h"

#include <spdlog/spdlog.h>

#include "storage/meta/etcd_meta_store.h"

namespace kite {

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
