// REST path -> Milvus RPC name, for metrics and logs (rest_service.h).
#include <map>
#include <string_view>

#include "rpc/rest/rest_service.h"

namespace kite::rest {

std::string_view RestFunctionName(std::string_view path) {
  static constexpr std::string_view kPrefix = "/v2/vectordb/";
  // Milvus's REST v2 handlers call these proxy RPCs (internal/distributed/proxy/httpserver).
  static const std::map<std::string_view, std::string_view> kNames = {
      {"jobs/import/create", "Import"},
      {"jobs/import/describe", "GetImportState"},
      {"jobs/import/get_progress", "GetImportState"},
      {"jobs/import/list", "ListImportTasks"},
      {"resource_groups/create", "CreateResourceGroup"},
      {"resource_groups/alter", "UpdateResourceGroups"},
      {"resource_groups/drop", "DropResourceGroup"},
      {"resource_groups/list", "ListResourceGroups"},
      {"resource_groups/describe", "DescribeResourceGroup"},
      {"resource_groups/transfer_replica", "TransferReplica"},
      {"databases/create", "CreateDatabase"},
      {"databases/drop", "DropDatabase"},
      {"databases/list", "ListDatabases"},
      {"databases/describe", "DescribeDatabase"},
      {"databases/alter", "AlterDatabase"},
      {"databases/alter_properties", "AlterDatabase"},
      {"databases/drop_properties", "AlterDatabase"},
      {"collections/create", "CreateCollection"},
      {"collections/drop", "DropCollection"},
      {"collections/has", "HasCollection"},
      {"collections/list", "ShowCollections"},
      {"collections/describe", "DescribeCollection"},
      {"collections/get_stats", "GetCollectionStatistics"},
      {"collections/get_load_state", "GetLoadState"},
      {"collections/load", "LoadCollection"},
      {"collections/refresh_load", "LoadCollection"},
      {"collections/release", "ReleaseCollection"},
      {"collections/rename", "RenameCollection"},
      {"collections/alter_properties", "AlterCollection"},
      {"collections/drop_properties", "AlterCollection"},
      {"collections/flush", "Flush"},
      {"collections/compact", "ManualCompaction"},
      {"partitions/create", "CreatePartition"},
      {"partitions/drop", "DropPartition"},
      {"partitions/has", "HasPartition"},
      {"partitions/list", "ShowPartitions"},
      {"partitions/get_stats", "GetPartitionStatistics"},
      {"partitions/load", "LoadPartitions"},
      {"partitions/release", "ReleasePartitions"},
      {"aliases/create", "CreateAlias"},
      {"aliases/alter", "AlterAlias"},
      {"aliases/drop", "DropAlias"},
      {"aliases/describe", "DescribeAlias"},
      {"aliases/list", "ListAliases"},
      {"indexes/create", "CreateIndex"},
      {"indexes/drop", "DropIndex"},
      {"indexes/list", "DescribeIndex"},
      {"indexes/describe", "DescribeIndex"},
      {"indexes/alter_properties", "AlterIndex"},
      {"indexes/drop_properties", "AlterIndex"},
      {"entities/insert", "Insert"},
      {"entities/upsert", "Upsert"},
      {"entities/delete", "Delete"},
      {"entities/get", "Query"},
      {"entities/query", "Query"},
      {"entities/search", "Search"},
      {"entities/hybrid_search", "HybridSearch"},
      {"common/run_analyzer", "RunAnalyzer"},
      {"entities/advanced_search", "HybridSearch"},
      {"users/create", "CreateCredential"},
      {"users/update_password", "UpdateCredential"},
      {"users/drop", "DeleteCredential"},
      {"users/list", "ListCredUsers"},
      {"users/describe", "SelectUser"},
      {"users/grant_role", "OperateUserRole"},
      {"users/revoke_role", "OperateUserRole"},
      {"roles/create", "CreateRole"},
      {"roles/drop", "DropRole"},
      {"roles/list", "SelectRole"},
      {"roles/describe", "SelectGrant"},
      {"roles/grant_privilege", "OperatePrivilege"},
      {"roles/revoke_privilege", "OperatePrivilege"},
      {"roles/grant_privilege_v2", "OperatePrivilegeV2"},
      {"roles/revoke_privilege_v2", "OperatePrivilegeV2"},
      {"privilege_groups/create", "CreatePrivilegeGroup"},
      {"privilege_groups/drop", "DropPrivilegeGroup"},
      {"privilege_groups/list", "ListPrivilegeGroups"},
      {"privilege_groups/add_privileges_to_group", "OperatePrivilegeGroup"},
      {"privilege_groups/remove_privileges_from_group", "OperatePrivilegeGroup"},
  };
  if (!path.starts_with(kPrefix)) return {};
  auto it = kNames.find(path.substr(kPrefix.size()));
  return it == kNames.end() ? std::string_view() : it->second;
}

}  // namespace kite::rest
