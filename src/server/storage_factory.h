// Which storage engines a server runs on, chosen from its configuration in
// one place (issue 15): with none of the engine keys set, the embedded ones.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "storage/meta/meta_store.h"
#include "storage/object/object_store.h"

namespace kite {

// common.storageType local: the directory <localStorage.path>/objects;
// minio / remote: the S3 service the minio.* keys name (its bucket is
// created when missing). Fails when the service cannot be reached.
Result<std::unique_ptr<ObjectStore>> OpenObjectStoreFor(const ServerConfig& config);

// etcd when config.etcd.enabled (metastore.type / etcd.endpoints), else
// RocksDB under <data_dir>/meta. Fails (no hang: etcd.requestTimeout bounds
// every request) when etcd does not answer.
Result<std::unique_ptr<MetaStore>> OpenMetaStoreFor(const ServerConfig& config);

}  // namespace kite
