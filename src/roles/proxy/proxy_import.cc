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

Result<std::vector<Proxy::ImportPiece>> Proxy::PrepareImportRows(InsertParams p) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
  const CollectionInfo& c = v.info;
  const FieldSchema* part_key = nullptr;
  for (const auto& f : c.schema.fields) {
    if (f.is_partition_key) part_key = &f;
  }
  PartitionId partition;
  if (part_key) {
    if (!p.partition.empty()) {
      return InvalidArgument("not support manually specifying the partition names if partition key mode is used");
    }
  } else {
    const std::string& name = p.partition.empty() ? std::string(kDefaultPartitionName) : p.partition;
    KITE_ASSIGN_OR_RETURN(const PartitionInfo* info, FindPartitionOrError(c, name));
    partition = info->id;
  }
  Column ids, old_ids;
  KITE_RETURN_IF_ERROR(CompleteRows(c, &p, &ids, &old_ids));
  const int64_t n = p.rows.num_rows;
  const FieldSchema* pkf = c.schema.PrimaryField();
  const Column* keys = p.rows.Find(pkf->id);
  const Column* pkey = part_key ? p.rows.Find(part_key->id) : nullptr;
  if (!keys || (part_key && !pkey)) return Internal("import rows of {} lack their key columns", c.schema.name);
  // (partition, shard) -> rows, as Insert and WriteByShard route them.
  std::map<std::pair<int64_t, int>, std::vector<int64_t>> groups;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t pid =
        part_key ? c.partitions[ShardOf(PkAt(*pkey, r), static_cast<int>(c.partitions.size()))].id.value
                 : partition.value;
    groups[{pid, ShardOf(PkAt(*keys, r), c.num_shards)}].push_back(r);
  }
  std::vector<ImportPiece> out;
  for (auto& [where, rows] : groups) {
    ImportPiece piece;
    piece.partition = PartitionId(where.first);
    piece.shard = where.second;
    piece.channel = c.channels.at(static_cast<size_t>(where.second));
    if (groups.size() == 1) {
      piece.rows = std::move(p.rows);
    } else {
      for (const auto& col : p.rows.columns) piece.rows.columns.push_back(col.Select(rows));
      piece.rows.num_rows = static_cast<int64_t>(rows.size());
    }
    out.push_back(std::move(piece));
  }
  return out;
}

Status Proxy::CommitImport(const std::string& db, const std::string& collection, CollectionId collection_id,
                           const std::vector<SegmentRecord>& segments) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  if (v.info.id != collection_id) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone,
                      "collection {} was dropped while the import job wrote its rows", collection);
  }
  KITE_RETURN_IF_ERROR(streaming_->CommitImport(collection_id, segments));
  data_node_->Kick();  // index builds of the new segments
  return Status::OK();
}

}  // namespace kite
