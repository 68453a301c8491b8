// Proxy: the stateless front role (DESIGN.md §1). Validates requests against
// Kite's limits, then routes them: DDL to the coordinator, DML to streaming
// nodes, DQL to shard leaders (those arrive with the DML/DQL issues). It speaks
// Kite's types only; src/rpc adapts the Milvus wire format to it.
// Thread-safe; borrows the coordinator, which must outlive it.
#pragma once

#include "common/limits.h"
#include "roles/coordinator/coordinator.h"

namespace kite {

class Proxy {
 public:
  Proxy(CoordinatorApi* coordinator, const Limits& limits) : coord_(coordinator), limits_(limits) {}
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  const Limits& limits() const { return limits_; }

  // Validates the schema and collection options, then creates it.
  Status CreateCollection(const CreateCollectionParams& params);

  // DDL calls that need no proxy-side work go straight to the coordinator.
  CoordinatorApi& coordinator() { return *coord_; }

 private:
  CoordinatorApi* coord_;
  Limits limits_;
};

}  // namespace kite
