// The Milvus gRPC service (milvus.proto.milvus.MilvusService) on top of the
// proxy role. Wire compatibility lives here and nowhere else: requests are
// decoded into Kite types, handed to the proxy, and answers/errors encoded as
// Milvus encodes them. RPCs not overridden here answer "not implemented yet"
// with Milvus code 10 (generated MilvusServiceDefaults).
// Thread-safe (gRPC calls handlers concurrently); borrows the proxy.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <vector>
#include <thread>
#include <string>

#include "milvus_service_defaults.h"
#include "common/work_queue.h"
#include "roles/auth/access_control.h"
#include "roles/proxy/proxy.h"
#include "rpc/import/import_jobs.h"

namespace kite::rpc {

struct ServerIdentity {
  std::string version;     // reported by GetVersion
  std::string build_tags;  // reported by Connect
  std::string deploy_mode = "STANDALONE";
};

// A role process GetMetrics {"metric_type": "system_info"} lists besides the
// roles embedded in this one (kite.queryNodes / kite.streamingNodes: remote).
struct TopologyNode {
  std::string role;  // Milvus's role name: "querynode", "streamingnode"
  int64_t id = 0;    // its server id (session)
  std::string address;
};

// Search is a callback method (the others are sync): see milvus_service.cc.
// Raw bytes, parsed by the handler, so that a request that fails to parse is
// answered as Milvus answers it (malformed_request.h) instead of gRPC's
// UNIMPLEMENTED with an empty message.
using MilvusServiceBase = ::milvus::proto::milvus::MilvusService::WithRawCallbackMethod_Search<MilvusServiceDefaults>;

class MilvusService final : public MilvusServiceBase {
 public:
  // `access` (may be null: no access control) must outlive the service.
  MilvusService(Proxy* proxy, ServerIdentity identity, auth::AccessControl* access = nullptr)
      : proxy_(proxy), identity_(std::move(identity)) {
    SetAccessControl(access);
  }

  using Ctx = ::grpc::ServerContext;
  using RpcStatus = ::grpc::Status;
#define KITE_RPC(Name, Req, Resp) \
  RpcStatus Name(Ctx* ctx, const ::milvus::proto::milvus::Req* req, Resp* resp) override
  using CommonStatus = ::milvus::proto::common::Status;

  KITE_RPC(Connect, ConnectRequest, ::milvus::proto::milvus::ConnectResponse);
  KITE_RPC(GetVersion, GetVersionRequest, ::milvus::proto::milvus::GetVersionResponse);
  KITE_RPC(CheckHealth, CheckHealthRequest, ::milvus::proto::milvus::CheckHealthResponse);
  KITE_RPC(GetComponentStates, GetComponentStatesRequest, ::milvus::proto::milvus::ComponentStates);
  KITE_RPC(AllocTimestamp, AllocTimestampRequest, ::milvus::proto::milvus::AllocTimestampResponse);

  KITE_RPC(CreateDatabase, CreateDatabaseRequest, CommonStatus);
  KITE_RPC(DropDatabase, DropDatabaseRequest, CommonStatus);
  KITE_RPC(ListDatabases, ListDatabasesRequest, ::milvus::proto::milvus::ListDatabasesResponse);
  KITE_RPC(DescribeDatabase, DescribeDatabaseRequest, ::milvus::proto::milvus::DescribeDatabaseResponse);
  KITE_RPC(AlterDatabase, AlterDatabaseRequest, CommonStatus);

  KITE_RPC(CreateCollection, CreateCollectionRequest, CommonStatus);
  KITE_RPC(DropCollection, DropCollectionRequest, CommonStatus);
  KITE_RPC(HasCollection, HasCollectionRequest, ::milvus::proto::milvus::BoolResponse);
  KITE_RPC(DescribeCollection, DescribeCollectionRequest, ::milvus::proto::milvus::DescribeCollectionResponse);
  KITE_RPC(ShowCollections, ShowCollectionsRequest, ::milvus::proto::milvus::ShowCollectionsResponse);
  KITE_RPC(GetCollectionStatistics, GetCollectionStatisticsRequest,
           ::milvus::proto::milvus::GetCollectionStatisticsResponse);
  KITE_RPC(AlterCollection, AlterCollectionRequest, CommonStatus);
  KITE_RPC(RenameCollection, RenameCollectionRequest, CommonStatus);

  KITE_RPC(CreatePartition, CreatePartitionRequest, CommonStatus);
  KITE_RPC(DropPartition, DropPartitionRequest, CommonStatus);
  KITE_RPC(HasPartition, HasPartitionRequest, ::milvus::proto::milvus::BoolResponse);
  KITE_RPC(ShowPartitions, ShowPartitionsRequest, ::milvus::proto::milvus::ShowPartitionsResponse);
  KITE_RPC(GetPartitionStatistics, GetPartitionStatisticsRequest,
           ::milvus::proto::milvus::GetPartitionStatisticsResponse);

  KITE_RPC(LoadCollection, LoadCollectionRequest, CommonStatus);
  KITE_RPC(ReleaseCollection, ReleaseCollectionRequest, CommonStatus);
  KITE_RPC(LoadPartitions, LoadPartitionsRequest, CommonStatus);
  KITE_RPC(ReleasePartitions, ReleasePartitionsRequest, CommonStatus);
  KITE_RPC(GetLoadingProgress, GetLoadingProgressRequest, ::milvus::proto::milvus::GetLoadingProgressResponse);
  KITE_RPC(GetLoadState, GetLoadStateRequest, ::milvus::proto::milvus::GetLoadStateResponse);

  KITE_RPC(CreateAlias, CreateAliasRequest, CommonStatus);
  KITE_RPC(DropAlias, DropAliasRequest, CommonStatus);
  KITE_RPC(AlterAlias, AlterAliasRequest, CommonStatus);
  KITE_RPC(DescribeAlias, DescribeAliasRequest, ::milvus::proto::milvus::DescribeAliasResponse);
  KITE_RPC(ListAliases, ListAliasesRequest, ::milvus::proto::milvus::ListAliasesResponse);

  KITE_RPC(Insert, InsertRequest, ::milvus::proto::milvus::MutationResult);
  KITE_RPC(Upsert, UpsertRequest, ::milvus::proto::milvus::MutationResult);
  KITE_RPC(Delete, DeleteRequest, ::milvus::proto::milvus::MutationResult);
  KITE_RPC(Query, QueryRequest, ::milvus::proto::milvus::QueryResults);
  // A callback method (see milvus_service.cc).
  ::grpc::ServerUnaryReactor* Search(::grpc::CallbackServerContext* ctx, const ::grpc::ByteBuffer* request,
                                     ::grpc::ByteBuffer* response) override;
  KITE_RPC(HybridSearch, HybridSearchRequest, ::milvus::proto::milvus::SearchResults);
  KITE_RPC(Flush, FlushRequest, ::milvus::proto::milvus::FlushResponse);
  KITE_RPC(GetFlushState, GetFlushStateRequest, ::milvus::proto::milvus::GetFlushStateResponse);

  KITE_RPC(CreateIndex, CreateIndexRequest, CommonStatus);
  KITE_RPC(DescribeIndex, DescribeIndexRequest, ::milvus::proto::milvus::DescribeIndexResponse);
  KITE_RPC(GetIndexState, GetIndexStateRequest, ::milvus::proto::milvus::GetIndexStateResponse);
  KITE_RPC(GetIndexBuildProgress, GetIndexBuildProgressRequest,
           ::milvus::proto::milvus::GetIndexBuildProgressResponse);
  KITE_RPC(DropIndex, DropIndexRequest, CommonStatus);
  KITE_RPC(ManualCompaction, ManualCompactionRequest, ::milvus::proto::milvus::ManualCompactionResponse);
  KITE_RPC(GetCompactionState, GetCompactionStateRequest, ::milvus::proto::milvus::GetCompactionStateResponse);
  KITE_RPC(AlterIndex, AlterIndexRequest, CommonStatus);

  // Users, roles, grants, privilege groups (milvus_service_rbac.cc).
  KITE_RPC(CreateCredential, CreateCredentialRequest, CommonStatus);
  KITE_RPC(UpdateCredential, UpdateCredentialRequest, CommonStatus);
  KITE_RPC(DeleteCredential, DeleteCredentialRequest, CommonStatus);
  KITE_RPC(ListCredUsers, ListCredUsersRequest, ::milvus::proto::milvus::ListCredUsersResponse);
  KITE_RPC(CreateRole, CreateRoleRequest, CommonStatus);
  KITE_RPC(DropRole, DropRoleRequest, CommonStatus);
  KITE_RPC(AlterRole, AlterRoleRequest, CommonStatus);
  KITE_RPC(BackupRBAC, BackupRBACMetaRequest, ::milvus::proto::milvus::BackupRBACMetaResponse);
  KITE_RPC(RestoreRBAC, RestoreRBACMetaRequest, CommonStatus);
  KITE_RPC(OperateUserRole, OperateUserRoleRequest, CommonStatus);
  KITE_RPC(SelectRole, SelectRoleRequest, ::milvus::proto::milvus::SelectRoleResponse);
  KITE_RPC(SelectUser, SelectUserRequest, ::milvus::proto::milvus::SelectUserResponse);
  KITE_RPC(OperatePrivilege, OperatePrivilegeRequest, CommonStatus);
  KITE_RPC(OperatePrivilegeV2, OperatePrivilegeV2Request, CommonStatus);
  KITE_RPC(SelectGrant, SelectGrantRequest, ::milvus::proto::milvus::SelectGrantResponse);
  KITE_RPC(CreatePrivilegeGroup, CreatePrivilegeGroupRequest, CommonStatus);
  KITE_RPC(DropPrivilegeGroup, DropPrivilegeGroupRequest, CommonStatus);
  KITE_RPC(ListPrivilegeGroups, ListPrivilegeGroupsRequest, ::milvus::proto::milvus::ListPrivilegeGroupsResponse);
  KITE_RPC(OperatePrivilegeGroup, OperatePrivilegeGroupRequest, CommonStatus);
  KITE_RPC(RunAnalyzer, RunAnalyzerRequest, ::milvus::proto::milvus::RunAnalyzerResponse);  // milvus_service_text.cc
  // Schema evolution and collection operations: milvus_service_schemaops.cc
  KITE_RPC(AddCollectionField, AddCollectionFieldRequest, CommonStatus);
  KITE_RPC(AlterCollectionField, AlterCollectionFieldRequest, CommonStatus);
  KITE_RPC(TruncateCollection, TruncateCollectionRequest, ::milvus::proto::milvus::TruncateCollectionResponse);
  KITE_RPC(BatchDescribeCollection, BatchDescribeCollectionRequest,
           ::milvus::proto::milvus::BatchDescribeCollectionResponse);
  KITE_RPC(GetIndexStatistics, GetIndexStatisticsRequest, ::milvus::proto::milvus::GetIndexStatisticsResponse);
  KITE_RPC(FlushAll, FlushAllRequest, ::milvus::proto::milvus::FlushAllResponse);
  KITE_RPC(GetFlushAllState, GetFlushAllStateRequest, ::milvus::proto::milvus::GetFlushAllStateResponse);
  KITE_RPC(GetCompactionStateWithPlans, GetCompactionPlansRequest, ::milvus::proto::milvus::GetCompactionPlansResponse);
  KITE_RPC(GetPersistentSegmentInfo, GetPersistentSegmentInfoRequest,
           ::milvus::proto::milvus::GetPersistentSegmentInfoResponse);
  KITE_RPC(GetQuerySegmentInfo, GetQuerySegmentInfoRequest, ::milvus::proto::milvus::GetQuerySegmentInfoResponse);
  KITE_RPC(GetMetrics, GetMetricsRequest, ::milvus::proto::milvus::GetMetricsResponse);
  // Replicas and resource groups: milvus_service_replicas.cc
  KITE_RPC(GetReplicas, GetReplicasRequest, ::milvus::proto::milvus::GetReplicasResponse);
  KITE_RPC(CreateResourceGroup, CreateResourceGroupRequest, CommonStatus);
  KITE_RPC(DropResourceGroup, DropResourceGroupRequest, CommonStatus);
  KITE_RPC(UpdateResourceGroups, UpdateResourceGroupsRequest, CommonStatus);
  KITE_RPC(TransferNode, TransferNodeRequest, CommonStatus);
  KITE_RPC(TransferReplica, TransferReplicaRequest, CommonStatus);
  KITE_RPC(ListResourceGroups, ListResourceGroupsRequest, ::milvus::proto::milvus::ListResourceGroupsResponse);
  KITE_RPC(DescribeResourceGroup, DescribeResourceGroupRequest,
           ::milvus::proto::milvus::DescribeResourceGroupResponse);
  // Bulk import (v1 API over the import jobs): milvus_service_import.cc
  KITE_RPC(Import, ImportRequest, ::milvus::proto::milvus::ImportResponse);
  KITE_RPC(GetImportState, GetImportStateRequest, ::milvus::proto::milvus::GetImportStateResponse);
  KITE_RPC(ListImportTasks, ListImportTasksRequest, ::milvus::proto::milvus::ListImportTasksResponse);
#undef KITE_RPC

  // The import jobs (must outlive the service); none attached: Import fails.
  void AttachImports(import::ImportApi* imports) { imports_ = imports; }
  // The role processes of the cluster view (remote query and streaming
  // nodes) that GetMetrics lists; set once before serving. None: standalone.
  void AttachTopology(std::function<std::vector<TopologyNode>()> nodes) { topology_ = std::move(nodes); }

 private:
  Status ParseSearch(const ::grpc::ServerContextBase* ctx, const ::milvus::proto::milvus::SearchRequest* req,
                     SearchParams* out);
  Status AnswerSearch(const ::milvus::proto::milvus::SearchRequest* req, const SearchParams& p, const SearchOutcome& out, ::milvus::proto::milvus::SearchResults* resp);
  Status ParseHybridSearch(const ::grpc::ServerContextBase* ctx, const ::milvus::proto::milvus::HybridSearchRequest* req,
                           HybridSearchParams* out);

  Proxy* proxy_;
  // Runs heavy searches (PreparedSearch::light) off the gRPC threads.
  WorkQueue work_{static_cast<int>(std::max(2u, std::thread::hardware_concurrency()))};
  ServerIdentity identity_;
  std::atomic<int64_t> next_identifier_{1};
  import::ImportApi* imports_ = nullptr;
  std::function<std::vector<TopologyNode>()> topology_;
  // GetMetrics system_info: Milvus's SystemTopology JSON (milvus_service_schemaops.cc).
  std::string SystemTopologyJson() const;
};

}  // namespace kite::rpc

// Every handler admits its call first (rpc/access.h): authentication and the
// privilege check, one function for all RPCs. __func__ is the RPC's name.
#define KITE_ADMIT(ctx, req) \
  if (RpcStatus admit = Admit(ctx, __func__, *(req)); !admit.ok()) return admit
