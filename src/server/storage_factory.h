// Chooses the storage engines a server runs on from its configuration.
#pragma once

#include <memory>

#include "common/status.h"
#include "server/config.h"
#include "storage/object/object_store.h"

namespace kite {

// common.storageType local: the directory <localStorage.path>/objects;
// minio / remote: the S3 service the minio.* keys name (its bucket is
// created when missing). Fails when the service cannot be reached.
Result<std::unique_ptr<ObjectStore>> OpenObjectStoreFor(const ServerConfig& config);

}  // namespace kite
