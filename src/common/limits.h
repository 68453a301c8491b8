// Every limit Kite enforces, in one place, with Milvus's defaults
// (milvus.yaml: proxy.*, rootCoord.*, quotaAndLimits.*). Configurable through
// the server config; the proxy validates requests against them.
#pragma once

#include <cstdint>

namespace kite {

struct Limits {
  int max_name_length = 255;               // proxy.maxNameLength
  int max_field_num = 64;                  // proxy.maxFieldNum
  int max_vector_field_num = 4;            // proxy.maxVectorFieldNum
  int max_shard_num = 16;                  // proxy.maxShardNum
  int64_t max_dimension = 32768;           // proxy.maxDimension
  int max_partition_num = 1024;            // rootCoord.maxPartitionNum
  int max_database_num = 64;               // rootCoord.maxDatabaseNum
  int max_collection_num = 65536;          // quotaAndLimits.limits.maxCollectionNum
  int64_t max_general_capacity = 65536;    // rootCoord.maxGeneralCapacity (shards x partitions)
  int64_t max_varchar_length = 65535;      // bytes
  int64_t max_array_capacity = 4096;
  int64_t max_topk = 16384;
  int64_t max_nq = 16384;
  int64_t max_request_bytes = 64 << 20;    // proxy.grpc.serverMaxRecvSize
  int64_t max_response_bytes = 256 << 20;
  int default_num_partitions = 16;         // partition key collections
};

}  // namespace kite
