#include "roles/auth/privileges.h"

#include <algorithm>
#include <map>

namespace kite::auth {
namespace {

using List = std::vector<std::string_view>;

const std::map<std::string_view, PrivilegeRule>& Rules() {
  // From milvus.proto's privilege_ext_obj options (pymilvus 2.6 descriptors).
  static const std::map<std::string_view, PrivilegeRule> rules = {
      {"CreateCollection", {ObjectType::kGlobal, "CreateCollection"}},
      {"DropCollection", {ObjectType::kGlobal, "DropCollection"}},
      {"LoadCollection", {ObjectType::kCollection, "Load"}},
      {"ReleaseCollection", {ObjectType::kCollection, "Release"}},
      {"DescribeCollection", {ObjectType::kGlobal, "DescribeCollection"}},
      {"BatchDescribeCollection", {ObjectType::kGlobal, "DescribeCollection"}},
      {"GetCollectionStatistics", {ObjectType::kCollection, "GetStatistics"}},
      {"AlterCollection", {ObjectType::kGlobal, "CreateCollection"}},
      {"AlterCollectionField", {ObjectType::kGlobal, "CreateCollection"}},
      {"AddCollectionFunction", {ObjectType::kGlobal, "CreateCollection"}},
      {"AlterCollectionFunction", {ObjectType::kGlobal, "CreateCollection"}},
      {"DropCollectionFunction", {ObjectType::kGlobal, "CreateCollection"}},
      {"TruncateCollection", {ObjectType::kGlobal, "DropCollection"}},
      {"CreatePartition", {ObjectType::kCollection, "CreatePartition"}},
      {"DropPartition", {ObjectType::kCollection, "DropPartition"}},
      {"HasPartition", {ObjectType::kCollection, "HasPartition"}},
      {"LoadPartitions", {ObjectType::kCollection, "Load"}},
      {"ReleasePartitions", {ObjectType::kCollection, "Release"}},
      {"ShowPartitions", {ObjectType::kCollection, "ShowPartitions"}},
      {"GetLoadingProgress", {ObjectType::kCollection, "GetLoadState"}},
      {"GetLoadState", {ObjectType::kCollection, "GetLoadState"}},
      {"CreateAlias", {ObjectType::kGlobal, "CreateAlias"}},
      {"DropAlias", {ObjectType::kGlobal, "DropAlias"}},
      {"AlterAlias", {ObjectType::kGlobal, "CreateAlias"}},
      {"DescribeAlias", {ObjectType::kGlobal, "DescribeAlias"}},
      {"ListAliases", {ObjectType::kGlobal, "ListAliases"}},
      {"CreateIndex", {ObjectType::kCollection, "CreateIndex"}},
      {"AlterIndex", {ObjectType::kCollection, "CreateIndex"}},
      {"DescribeIndex", {ObjectType::kCollection, "IndexDetail"}},
      {"GetIndexStatistics", {ObjectType::kCollection, "IndexDetail"}},
      {"GetIndexState", {ObjectType::kCollection, "IndexDetail"}},
      {"GetIndexBuildProgress", {ObjectType::kCollection, "IndexDetail"}},
      {"DropIndex", {ObjectType::kCollection, "DropIndex"}},
      {"Insert", {ObjectType::kCollection, "Insert"}},
      {"Delete", {ObjectType::kCollection, "Delete"}},
      {"Upsert", {ObjectType::kCollection, "Upsert"}},
      {"Search", {ObjectType::kCollection, "Search"}},
      {"HybridSearch", {ObjectType::kCollection, "Search"}},
      {"Flush", {ObjectType::kCollection, "Flush"}},
      {"Query", {ObjectType::kCollection, "Query"}},
      {"FlushAll", {ObjectType::kGlobal, "FlushAll"}},
      {"AddCollectionField", {ObjectType::kCollection, "AddCollectionField"}},
      {"GetFlushState", {ObjectType::kCollection, "GetFlushState"}},
      {"LoadBalance", {ObjectType::kCollection, "LoadBalance"}},
      {"ManualCompaction", {ObjectType::kCollection, "Compaction"}},
      {"Import", {ObjectType::kCollection, "Import"}},
      {"CreateCredential", {ObjectType::kGlobal, "CreateOwnership"}},
      {"UpdateCredential", {ObjectType::kUser, "UpdateUser"}},
      {"DeleteCredential", {ObjectType::kGlobal, "DropOwnership"}},
      {"ListCredUsers", {ObjectType::kGlobal, "SelectOwnership"}},
      {"CreateRole", {ObjectType::kGlobal, "CreateOwnership"}},
      {"AlterRole", {ObjectType::kGlobal, "CreateOwnership"}},
      {"DropRole", {ObjectType::kGlobal, "DropOwnership"}},
      {"OperateUserRole", {ObjectType::kGlobal, "ManageOwnership"}},
      {"SelectRole", {ObjectType::kGlobal, "SelectOwnership"}},
      {"SelectUser", {ObjectType::kUser, "SelectUser"}},
      {"OperatePrivilege", {ObjectType::kGlobal, "ManageOwnership"}},
      {"OperatePrivilegeV2", {ObjectType::kGlobal, "ManageOwnership"}},
      {"SelectGrant", {ObjectType::kGlobal, "SelectOwnership"}},
      {"CreateResourceGroup", {ObjectType::kGlobal, "CreateResourceGroup"}},
      {"DropResourceGroup", {ObjectType::kGlobal, "DropResourceGroup"}},
      {"UpdateResourceGroups", {ObjectType::kGlobal, "UpdateResourceGroups"}},
      {"TransferNode", {ObjectType::kGlobal, "TransferNode"}},
      {"TransferReplica", {ObjectType::kGlobal, "TransferReplica"}},
      {"ListResourceGroups", {ObjectType::kGlobal, "ListResourceGroups"}},
      {"DescribeResourceGroup", {ObjectType::kGlobal, "DescribeResourceGroup"}},
      {"RenameCollection", {ObjectType::kGlobal, "RenameCollection"}},
      {"CreateDatabase", {ObjectType::kGlobal, "CreateDatabase"}},
      {"DropDatabase", {ObjectType::kGlobal, "DropDatabase"}},
      {"AlterDatabase", {ObjectType::kGlobal, "AlterDatabase"}},
      {"DescribeDatabase", {ObjectType::kGlobal, "DescribeDatabase"}},
      {"BackupRBAC", {ObjectType::kGlobal, "BackupRBAC"}},
      {"RestoreRBAC", {ObjectType::kGlobal, "RestoreRBAC"}},
      {"CreatePrivilegeGroup", {ObjectType::kGlobal, "CreatePrivilegeGroup"}},
      {"DropPrivilegeGroup", {ObjectType::kGlobal, "DropPrivilegeGroup"}},
      {"ListPrivilegeGroups", {ObjectType::kGlobal, "ListPrivilegeGroups"}},
      {"OperatePrivilegeGroup", {ObjectType::kGlobal, "OperatePrivilegeGroup"}},
      {"AddFileResource", {ObjectType::kGlobal, "AddFileResource"}},
      {"RemoveFileResource", {ObjectType::kGlobal, "RemoveFileResource"}},
      {"ListFileResources", {ObjectType::kGlobal, "ListFileResources"}},
      {"AddUserTags", {ObjectType::kUser, "UpdateUser"}},
      {"DeleteUserTags", {ObjectType::kUser, "UpdateUser"}},
      {"GetUserTags", {ObjectType::kUser, "SelectUser"}},
      {"ListUsersWithTag", {ObjectType::kUser, "SelectUser"}},
      {"CreateRowPolicy", {ObjectType::kCollection, "CreateOwnership"}},
      {"DropRowPolicy", {ObjectType::kCollection, "DropOwnership"}},
      {"ListRowPolicies", {ObjectType::kCollection, "SelectOwnership"}},
      {"UpdateReplicateConfiguration", {ObjectType::kGlobal, "UpdateReplicateConfiguration"}},
      {"GetReplicateConfiguration", {ObjectType::kGlobal, "GetReplicateConfiguration"}},
  };
  return rules;
}

const List kAuthenticatedOnly = {
    "HasCollection", "ShowCollections", "GetPartitionStatistics", "CalcDistance", "GetFlushAllState",
    "GetPersistentSegmentInfo", "GetQuerySegmentInfo", "GetReplicas", "Dummy", "RegisterLink", "GetMetrics",
    "GetComponentStates", "GetCompactionState", "GetCompactionStateWithPlans", "GetImportState", "ListImportTasks",
    "GetVersion", "CheckHealth", "ListIndexedSegment", "DescribeSegmentIndexData", "Connect", "AllocTimestamp",
    "ListDatabases", "ReplicateMessage", "RunAnalyzer", "GetReplicateInfo", "CreateReplicateStream", "DumpMessages"};

// pkg/util/constant.go: ReadOnlyPrivilegeGroup / ReadWritePrivilegeGroup / AdminPrivilegeGroup (v1 groups)
const List kReadOnly = {"Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress",
                        "HasPartition", "ShowPartitions", "ShowCollections", "ListAliases", "ListDatabases",
                        "DescribeCollection", "DescribeDatabase", "DescribeAlias", "GetStatistics"};
const List kReadWrite = {"Query", "Search", "IndexDetail", "GetFlushState", "GetLoadState", "GetLoadingProgress",
                         "HasPartition", "ShowPartitions", "ShowCollections", "ListAliases", "ListDatabases",
                         "DescribeCollection", "DescribeDatabase", "DescribeAlias", "GetStatistics", "CreateIndex",
                         "DropIndex", "CreatePartition", "DropPartition", "Load", "Release", "Insert", "Delete",
                         "Upsert", "Import", "Flush", "Compaction", "LoadBalance", "RenameCollection", "CreateAlias",
                         "DropAlias"};
const List kAdmin = {"CreateCollection", "DropCollection", "Query", "Search", "IndexDetail", "GetFlushState",
                     "GetLoadState", "GetLoadingProgress", "HasPartition", "ShowPartitions", "ShowCollections",
                     "ListAliases", "ListDatabases", "DescribeCollection", "DescribeDatabase", "DescribeAlias",
                     "GetStatistics", "CreateIndex", "DropIndex", "CreatePartition", "DropPartition", "Load",
                     "Release", "Insert", "Delete", "Upsert", "Import", "Flush", "Compaction", "LoadBalance",
                     "RenameCollection", "CreateAlias", "DropAlias", "CreateOwnership", "DropOwnership",
                     "SelectOwnership", "ManageOwnership", "SelectUser", "UpdateUser", "BackupRBAC", "RestoreRBAC",
                     "CreateResourceGroup", "UpdateResourceGroups", "DropResourceGroup", "DescribeResourceGroup",
                     "ListResourceGroups", "TransferReplica", "TransferNode", "CreateDatabase", "DropDatabase",
                     "AlterDatabase"};

// RBAC v2 groups (CollectionReadOnlyPrivileges ... ClusterAdminPrivileges).
const List kCollectionReadOnly = {"Query",        "Search",         "IndexDetail",   "GetFlushState",
                                  "GetLoadState", "GetLoadingProgress", "HasPartition", "ShowPartitions",
                                  "DescribeCollection", "DescribeAlias", "GetStatistics", "ListAliases"};
List Concat(const List& a, const List& b) {
  List out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}
const List kCollectionReadWrite =
    Concat(kCollectionReadOnly, {"Load", "Release", "Insert", "Delete", "Upsert", "Import", "Flush", "Compaction",
                                 "LoadBalance", "CreateIndex", "DropIndex", "CreatePartition", "DropPartition"});
const List kCollectionAdmin = Concat(kCollectionReadWrite, {"CreateAlias", "DropAlias"});
const List kDatabaseReadOnly = {"ShowCollections", "DescribeDatabase"};
const List kDatabaseReadWrite = Concat(kDatabaseReadOnly, {"AlterDatabase"});
const List kDatabaseAdmin = Concat(kDatabaseReadWrite, {"CreateCollection", "DropCollection"});
const List kClusterReadOnly = {"ListDatabases",         "SelectOwnership",    "SelectUser",
                               "DescribeResourceGroup", "ListResourceGroups", "ListPrivilegeGroups"};
const List kClusterReadWrite =
    Concat(kClusterReadOnly, {"FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups"});
const List kClusterAdmin =
    Concat(kClusterReadWrite, {"BackupRBAC", "RestoreRBAC", "CreateDatabase", "DropDatabase", "CreateOwnership",
                               "DropOwnership", "ManageOwnership", "CreateResourceGroup", "DropResourceGroup",
                               "UpdateUser", "RenameCollection", "CreatePrivilegeGroup", "DropPrivilegeGroup",
                               "OperatePrivilegeGroup"});

const std::map<std::string_view, const List*>& Groups() {
  static const std::map<std::string_view, const List*> groups = {
      {"ReadOnly", &kReadOnly},
      {"ReadWrite", &kReadWrite},
      {"Admin", &kAdmin},
      {"CollectionReadOnly", &kCollectionReadOnly},
      {"CollectionReadWrite", &kCollectionReadWrite},
      {"CollectionAdmin", &kCollectionAdmin},
      {"DatabaseReadOnly", &kDatabaseReadOnly},
      {"DatabaseReadWrite", &kDatabaseReadWrite},
      {"DatabaseAdmin", &kDatabaseAdmin},
      {"ClusterReadOnly", &kClusterReadOnly},
      {"ClusterReadWrite", &kClusterReadWrite},
      {"ClusterAdmin", &kClusterAdmin},
  };
  return groups;
}

// commonpb.ObjectPrivilege, less the groups and "All".
const List kPrivileges = {
    "CreateCollection", "DropCollection", "DescribeCollection", "ShowCollections", "Load", "Release", "Compaction",
    "Insert", "Delete", "GetStatistics", "CreateIndex", "IndexDetail", "DropIndex", "Search", "Flush", "Query",
    "LoadBalance", "Import", "CreateOwnership", "UpdateUser", "DropOwnership", "SelectOwnership", "ManageOwnership",
    "SelectUser", "Upsert", "CreateResourceGroup", "DropResourceGroup", "DescribeResourceGroup",
    "ListResourceGroups", "TransferNode", "TransferReplica", "GetLoadingProgress", "GetLoadState",
    "RenameCollection", "CreateDatabase", "DropDatabase", "ListDatabases", "FlushAll", "CreatePartition",
    "DropPartition", "ShowPartitions", "HasPartition", "GetFlushState", "CreateAlias", "DropAlias", "DescribeAlias",
    "ListAliases", "UpdateResourceGroups", "AlterDatabase", "DescribeDatabase", "BackupRBAC", "RestoreRBAC",
    "CreatePrivilegeGroup", "DropPrivilegeGroup", "ListPrivilegeGroups", "OperatePrivilegeGroup",
    "GetImportProgress", "ListImport", "AddCollectionField", "AddFileResource", "RemoveFileResource",
    "ListFileResources", "UpdateReplicateConfiguration", "GetReplicateConfiguration"};

}  // namespace

std::string_view ObjectTypeName(ObjectType t) {
  switch (t) {
    case ObjectType::kGlobal: return "Global";
    case ObjectType::kCollection: return "Collection";
    case ObjectType::kUser: return "User";
  }
  return "Global";
}

const PrivilegeRule* RuleFor(std::string_view rpc) {
  auto it = Rules().find(rpc);
  return it == Rules().end() ? nullptr : &it->second;
}

bool AuthenticatedOnly(std::string_view rpc) {
  return std::find(kAuthenticatedOnly.begin(), kAuthenticatedOnly.end(), rpc) != kAuthenticatedOnly.end();
}

std::vector<std::string_view> RuleRpcs() {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : Rules()) out.push_back(k);
  return out;
}

bool IsBuiltinGroup(std::string_view name) { return Groups().count(name) > 0; }

const std::vector<std::string_view>& BuiltinGroupMembers(std::string_view group) {
  static const List kEmpty;
  auto it = Groups().find(group);
  return it == Groups().end() ? kEmpty : *it->second;
}

std::vector<std::string_view> BuiltinGroupNames() {
  // Milvus lists the v2 groups (the v1 ones are kept for old grants).
  return {"ClusterReadOnly",  "ClusterReadWrite",  "ClusterAdmin",        "DatabaseReadOnly",    "DatabaseReadWrite",
          "DatabaseAdmin",    "CollectionReadOnly", "CollectionReadWrite", "CollectionAdmin"};
}

bool IsKnownPrivilege(std::string_view name) {
  return std::find(kPrivileges.begin(), kPrivileges.end(), name) != kPrivileges.end();
}

const std::vector<std::string_view>& RelatedPrivileges(std::string_view privilege) {
  static const List kLoad = {"GetLoadState", "GetLoadingProgress"};
  static const List kFlush = {"GetFlushState"};
  static const List kNone;
  if (privilege == "Load") return kLoad;
  if (privilege == "Flush") return kFlush;
  return kNone;
}

std::string_view PrivilegeLevel(std::string_view privilege) {
  auto in = [&](const List& l) { return std::find(l.begin(), l.end(), privilege) != l.end(); };
  if (in(kClusterAdmin)) return "Cluster";
  if (in(kDatabaseAdmin)) return "Database";
  if (in(kCollectionAdmin)) return "Collection";
  return "";
}

namespace {
// constant.go ObjectPrivileges (ReadOnly / ReadWrite / Admin are the v1 groups).
const List kCollectionObject = {
    "Load",          "Release",      "Compaction",    "Insert",          "Delete",         "Upsert",
    "GetStatistics", "CreateIndex",  "IndexDetail",   "DropIndex",       "Search",         "Flush",
    "Query",         "LoadBalance",  "Import",        "GetLoadingProgress", "GetLoadState", "CreatePartition",
    "DropPartition", "ShowPartitions", "HasPartition", "GetFlushState",  "ReadOnly",       "ReadWrite"};
const List kGlobalObject = {
    "All", "CreateCollection", "DropCollection", "DescribeCollection", "ShowCollections", "RenameCollection",
    "CreateOwnership", "DropOwnership", "SelectOwnership", "ManageOwnership", "BackupRBAC", "RestoreRBAC",
    "CreateResourceGroup", "UpdateResourceGroups", "DropResourceGroup", "DescribeResourceGroup",
    "ListResourceGroups", "TransferReplica", "TransferNode", "FlushAll", "CreateDatabase", "DropDatabase",
    "ListDatabases", "AlterDatabase", "DescribeDatabase", "CreateAlias", "DropAlias", "DescribeAlias", "ListAliases",
    "Admin", "CreatePrivilegeGroup", "DropPrivilegeGroup", "ListPrivilegeGroups", "OperatePrivilegeGroup",
    "ClusterReadOnly", "ClusterReadWrite", "ClusterAdmin", "DatabaseReadOnly", "DatabaseReadWrite", "DatabaseAdmin",
    "CollectionReadOnly", "CollectionReadWrite", "CollectionAdmin"};
const List kUserObject = {"UpdateUser", "SelectUser"};
bool In(const List& l, std::string_view name) { return std::find(l.begin(), l.end(), name) != l.end(); }
}  // namespace

std::string_view ObjectTypeForPrivilege(std::string_view privilege) {
  // constant.go GetObjectType: the Collection and User lists; every other name is Global.
  if (In(kCollectionObject, privilege)) return "Collection";
  if (In(kUserObject, privilege)) return "User";
  return "Global";
}

bool ObjectAllows(std::string_view object_type, std::string_view privilege) {
  if (object_type == "Collection" && In(kCollectionObject, privilege)) return true;
  if (object_type == "Global" && In(kGlobalObject, privilege)) return true;
  if (object_type == "User" && In(kUserObject, privilege)) return true;
  bool listed = In(kCollectionObject, privilege) || In(kGlobalObject, privilege) || In(kUserObject, privilege);
  return !listed && IsKnownPrivilege(privilege);
}

bool IsCollectionPrivilegeGroup(std::string_view name) {
  return name == "CollectionReadOnly" || name == "CollectionReadWrite" || name == "CollectionAdmin";
}

}  // namespace kite::auth
