// Which storage engines a server runs on, chosen from its configuration in
// one place (issue 15): with none of the engine keys set, the embedded ones.
#pragma once

#include <memory>

#include "server/config.h"
#include "storage/meta/meta_store.h"

namespace kite {

// etcd when config.etcd.enabled (metastore.type / etcd.endpoints), else
// RocksDB under <data_dir>/meta. Fails (no hang: etcd.requestTimeout bounds
// every request) when etcd does not answer.
Result<std::unique_ptr<MetaStore>> OpenMetaStoreFor(const ServerConfig& config);

}  // namespace kite
