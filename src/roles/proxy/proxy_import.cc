// Proxy support for bulk import (rpc/import): the checks of an insert
// without the write.
#include "roles/proxy/proxy.h"

namespace kite {

Status Proxy::ValidateInsert(InsertParams p) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
  const CollectionInfo& c = v.info;
  bool part_key = false;
  for (const auto& f : c.schema.fields) part_key = part_key || f.is_partition_key;
  if (part_key) {
    if (!p.partition.empty()) {
      return InvalidArgument("not support manually specifying the partition names if partition key mode is used");
    }
  } else {
    const std::string& name = p.partition.empty() ? std::string(kDefaultPartitionName) : p.partition;
    KITE_RETURN_IF_ERROR(FindPartitionOrError(c, name).status());
  }
  Column ids, old_ids;
  return CompleteRows(c, &p, &ids, &old_ids);
}

Result<int64_t> Proxy::AllocRowIds(int64_t n) { return coord_->AllocIds(n); }

}  // namespace kite
