#include "roles/proxy/proxy.h"

namespace kite {

Status Proxy::CreateCollection(const CreateCollectionParams& params) {
  KITE_RETURN_IF_ERROR(ValidateSchema(params.schema, limits_));
  if (params.num_shards <= 0 || params.num_shards > limits_.max_shard_num) {
    return InvalidArgument("maximum shards's number should be limited to {}, got {}", limits_.max_shard_num,
                           params.num_shards);
  }
  if (params.num_partitions < 0 || params.num_partitions > limits_.max_partition_num) {
    return InvalidArgument("partition number ({}) exceeds max configuration ({})", params.num_partitions,
                           limits_.max_partition_num);
  }
  int consistency = static_cast<int>(params.consistency);
  if (consistency < 0 || consistency > static_cast<int>(ConsistencyLevel::kCustomized)) {
    return InvalidArgument("invalid consistency level {}", consistency);
  }
  return coord_->CreateCollection(params);
}

}  // namespace kite
