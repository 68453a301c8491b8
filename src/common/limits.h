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
  int64_t max_group_size = 10;             // quotaAndLimits.limits.maxGroupSize: hits per group of a grouping search
  int64_t max_nq = 16384;
  int64_t max_request_bytes = 64 << 20;    // proxy.grpc.serverMaxRecvSize
  int64_t max_response_bytes = 256 << 20;
  // Request bodies the HTTP/1 listener holds at once (all connections): a
  // body that does not fit is refused unread, so a few large concurrent
  // requests cannot push the server towards an OOM kill (issue 20 #17).
  int64_t max_inflight_request_bytes = 256 << 20;
  int default_num_partitions = 16;         // partition key collections
  int64_t json_max_length = 64 << 10;      // common.JSONMaxLength: bytes of one JSON / dynamic field value
  // Nesting depth of one JSON field value. Milvus bounds JSON only by length
  // (64 KiB allows ~32k levels); Kite also bounds the depth, at simdjson's
  // default (what its filters parse JSON with), so no recursive code sees more.
  int json_max_depth = 1024;
  // quotaAndLimits.limits.maxOutputSize: bytes of output-field data one search
  // or query may assemble before it is refused.
  int64_t max_output_bytes = 100 << 20;
};

}  // namespace kite
