// OpenObjectStoreFor (storage_factory.h).
#include "server/storage_factory.h"

#include <spdlog/spdlog.h>

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

}  // namespace kite
