// Schema evolution through the proxy: AddCollectionField.
#include "roles/proxy/proxy.h"

namespace kite {

Status Proxy::AddCollectionField(const std::string& db, const std::string& collection, const FieldSchema& field) {
  KITE_RETURN_IF_ERROR(coord_->AddCollectionField(db, collection, field));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->ApplySchema(v.info);
}

Status Proxy::AlterCollectionField(const std::string& db, const std::string& collection, const std::string& field,
                                   const std::map<std::string, std::string>& set,
                                   const std::vector<std::string>& delete_keys) {
  KITE_RETURN_IF_ERROR(coord_->AlterCollectionField(db, collection, field, set, delete_keys));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->ApplySchema(v.info);
}

}  // namespace kite

namespace kite {

Status Proxy::TruncateCollection(const std::string& db, const std::string& collection) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  // Flushed first, so that the WAL holds nothing the checkpoint does not
  // cover (a restart replays nothing); then every partition's segments go.
  KITE_RETURN_IF_ERROR(streaming_->Flush(v.info.id).status());
  return streaming_->RetainPartitions(v.info.id, {});
}

}  // namespace kite

namespace kite {

Result<std::vector<Proxy::SegmentSummary>> Proxy::PersistentSegments(const std::string& db,
                                                                     const std::string& collection) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->PersistentSegments(v.info.id);
}

Result<std::vector<Proxy::SegmentSummary>> Proxy::LoadedSegments(const std::string& db, const std::string& collection) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->LoadedSegments(v.info.id);
}

}  // namespace kite
