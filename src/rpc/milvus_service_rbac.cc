// Users, roles, grants and privilege groups: the RBAC RPCs of MilvusService
// over auth::AccessControl. Passwords arrive base64-encoded, as pymilvus sends
// them; failures carry Milvus's legacy error codes (CreateCredentialFailure,
// DropRoleFailure, ...) beside the merr code.
#include <exception>

#include "roles/auth/password_hash.h"
#include "rpc/access.h"
#include "rpc/milvus_service.h"
#include "rpc/service_common.h"
#include "rpc/status_map.h"

namespace kite::rpc {

namespace mm = ::milvus::proto::milvus;
namespace mc = ::milvus::proto::common;
using RpcStatus = ::grpc::Status;


namespace {

void FillStatus(mc::Status* out, const Status& st, mc::ErrorCode legacy) {
  ToMilvusStatus(st, out);
  if (!st.ok()) out->set_error_code(legacy);
}

// Runs `fn`, answering its Status in `status` with the legacy code `legacy`.
template <typename Fn>
RpcStatus Answer(mc::Status* status, mc::ErrorCode legacy, Fn&& fn) {
  FillStatus(status, Guarded(std::forward<Fn>(fn)), legacy);
  return RpcStatus::OK;
}

template <typename... Args>
Status Unimplemented(fmt::format_string<Args...> f, Args&&... a) {
  return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, f, std::forward<Args>(a)...);
}

// Milvus's database interceptor: a grant or grant listing that names no
// database gets the connection's (pymilvus's `dbname` metadata), else "".
std::string ContextDb(const ::grpc::ServerContextBase* ctx, const std::string& given) {
  if (!given.empty()) return given;
  auto it = ctx->client_metadata().find("dbname");
  if (it == ctx->client_metadata().end()) return {};
  return std::string(it->second.data(), it->second.size());
}

Result<std::string> DecodePassword(const std::string& b64) {
  std::string raw;
  if (!auth::Base64Decode(b64, &raw)) return InvalidArgument("decode password fail");
  return raw;
}

}  // namespace

// ---------------------------------------------------------------------- users
RpcStatus MilvusService::CreateCredential(Ctx* ctx, const mm::CreateCredentialRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::CreateCredentialFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("CreateCredential needs access control");
    KITE_ASSIGN_OR_RETURN(std::string password, DecodePassword(req->password()));
    return access_control_->CreateUser(req->username(), password);
  });
}

RpcStatus MilvusService::UpdateCredential(Ctx* ctx, const mm::UpdateCredentialRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::UpdateCredentialFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("UpdateCredential needs access control");
    KITE_ASSIGN_OR_RETURN(std::string old_password, DecodePassword(req->oldpassword()));
    KITE_ASSIGN_OR_RETURN(std::string new_password, DecodePassword(req->newpassword()));
    // A user listed in common.security.superUsers may reset anyone's password
    // without the old one (Milvus's proxy; root needs the old one unless listed).
    auth::Caller caller;
    bool super = access_control_->enabled() && CallerOf(access_control_, ctx, &caller).ok() &&
                 access_control_->IsConfiguredSuperUser(caller.user);
    return access_control_->UpdatePassword(req->username(), old_password, new_password, !super);
  });
}

RpcStatus MilvusService::DeleteCredential(Ctx* ctx, const mm::DeleteCredentialRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::DeleteCredentialFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("DeleteCredential needs access control");
    return access_control_->DeleteUser(req->username());
  });
}

RpcStatus MilvusService::ListCredUsers(Ctx* ctx, const mm::ListCredUsersRequest* req,
                                       mm::ListCredUsersResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::ListCredUsersFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("ListCredUsers needs access control");
    for (const auto& u : access_control_->ListUsers()) resp->add_usernames(u);
    return Status::OK();
  });
}

RpcStatus MilvusService::SelectUser(Ctx* ctx, const mm::SelectUserRequest* req, mm::SelectUserResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::SelectUserFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("SelectUser needs access control");
    auto users = access_control_->SelectUsers(req->user().name());
    if (!users.ok()) return Status::OK();  // an unknown user selects nothing
    for (const auto& u : *users) {
      auto* r = resp->add_results();
      r->mutable_user()->set_name(u.user);
      if (req->include_role_info()) {
        for (const auto& role : u.roles) r->add_roles()->set_name(role);
      }
    }
    return Status::OK();
  });
}

// ---------------------------------------------------------------------- roles
RpcStatus MilvusService::CreateRole(Ctx* ctx, const mm::CreateRoleRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::CreateRoleFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("CreateRole needs access control");
    return access_control_->CreateRole(req->entity().name(), req->entity().description());
  });
}

RpcStatus MilvusService::AlterRole(Ctx* ctx, const mm::AlterRoleRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::UnexpectedError, [&]() -> Status {
    if (!access_control_) return Unimplemented("AlterRole needs access control");
    return access_control_->AlterRole(req->role_name(), req->description());
  });
}

RpcStatus MilvusService::DropRole(Ctx* ctx, const mm::DropRoleRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::DropRoleFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("DropRole needs access control");
    return access_control_->DropRole(req->role_name(), req->force_drop());
  });
}

RpcStatus MilvusService::OperateUserRole(Ctx* ctx, const mm::OperateUserRoleRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::OperateUserRoleFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("OperateUserRole needs access control");
    if (req->type() == mm::RemoveUserFromRole) {
      return access_control_->RemoveUserFromRole(req->username(), req->role_name());
    }
    return access_control_->AddUserToRole(req->username(), req->role_name());
  });
}

RpcStatus MilvusService::SelectRole(Ctx* ctx, const mm::SelectRoleRequest* req, mm::SelectRoleResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::SelectRoleFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("SelectRole needs access control");
    KITE_ASSIGN_OR_RETURN(auto roles, access_control_->SelectRoles(req->role().name()));
    for (const auto& r : roles) {
      auto* out = resp->add_results();
      out->mutable_role()->set_name(r.role);
      if (!r.description.empty()) out->mutable_role()->set_description(r.description);
      if (req->include_user_info()) {
        for (const auto& u : r.users) out->add_users()->set_name(u);
      }
    }
    return Status::OK();
  });
}

// --------------------------------------------------------------------- grants
RpcStatus MilvusService::OperatePrivilege(Ctx* ctx, const mm::OperatePrivilegeRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::OperatePrivilegeFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("OperatePrivilege needs access control");
    const auto& e = req->entity();
    auth::Caller caller;
    CallerOf(access_control_, ctx, &caller);
    auth::Grant g{e.role().name(), e.object().name(), e.object_name(), ContextDb(ctx, e.db_name()),
                  e.grantor().privilege().name(), caller.user};
    if (req->type() == mm::Revoke) return access_control_->RevokePrivilege(g);
    return access_control_->GrantPrivilege(std::move(g));
  });
}

RpcStatus MilvusService::OperatePrivilegeV2(Ctx* ctx, const mm::OperatePrivilegeV2Request* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::OperatePrivilegeFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("OperatePrivilegeV2 needs access control");
    auth::Caller caller;
    CallerOf(access_control_, ctx, &caller);
    // v2 grants name a database and a collection ("*" = all); AccessControl
    // checks a privilege group's level against them and picks the object
    // type from the privilege, as Milvus's rootcoord does.
    auth::Grant g{req->role().name(), "", req->collection_name(), ContextDb(ctx, req->db_name()),
                  req->grantor().privilege().name(), caller.user};
    if (req->type() == mm::Revoke) return access_control_->RevokePrivilegeV2(std::move(g));
    return access_control_->GrantPrivilegeV2(std::move(g));
  });
}

RpcStatus MilvusService::SelectGrant(Ctx* ctx, const mm::SelectGrantRequest* req, mm::SelectGrantResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::SelectGrantFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("SelectGrant needs access control");
    const auto& e = req->entity();
    if (e.role().name().empty()) return InvalidArgument("the role entity in the grant entity is invalid");
    KITE_ASSIGN_OR_RETURN(auto grants, access_control_->SelectGrants(e.role().name(), e.object().name(),
                                                                     e.object_name(), ContextDb(ctx, e.db_name())));
    for (const auto& g : grants) {
      auto* out = resp->add_entities();
      out->mutable_role()->set_name(g.role);
      out->mutable_object()->set_name(g.object_type);
      out->set_object_name(g.object_name);
      out->set_db_name(g.db_name);
      out->mutable_grantor()->mutable_user()->set_name(g.grantor);
      out->mutable_grantor()->mutable_privilege()->set_name(g.privilege);
    }
    return Status::OK();
  });
}

// ----------------------------------------------------------- privilege groups
RpcStatus MilvusService::CreatePrivilegeGroup(Ctx* ctx, const mm::CreatePrivilegeGroupRequest* req,
                                              mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::CreatePrivilegeGroupFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("CreatePrivilegeGroup needs access control");
    return access_control_->CreatePrivilegeGroup(req->group_name());
  });
}

RpcStatus MilvusService::DropPrivilegeGroup(Ctx* ctx, const mm::DropPrivilegeGroupRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::DropPrivilegeGroupFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("DropPrivilegeGroup needs access control");
    return access_control_->DropPrivilegeGroup(req->group_name());
  });
}

RpcStatus MilvusService::ListPrivilegeGroups(Ctx* ctx, const mm::ListPrivilegeGroupsRequest* req,
                                             mm::ListPrivilegeGroupsResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::ListPrivilegeGroupsFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("ListPrivilegeGroups needs access control");
    for (const auto& g : access_control_->ListPrivilegeGroups()) {
      auto* out = resp->add_privilege_groups();
      out->set_group_name(g.name);
      for (const auto& p : g.privileges) out->add_privileges()->set_name(p);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::OperatePrivilegeGroup(Ctx* ctx, const mm::OperatePrivilegeGroupRequest* req,
                                               mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::OperatePrivilegeGroupFailure, [&]() -> Status {
    if (!access_control_) return Unimplemented("OperatePrivilegeGroup needs access control");
    std::vector<std::string> privileges;
    for (const auto& p : req->privileges()) privileges.push_back(p.name());
    if (req->type() == mm::RemovePrivilegesFromGroup) {
      return access_control_->RemovePrivilegesFromGroup(req->group_name(), privileges);
    }
    return access_control_->AddPrivilegesToGroup(req->group_name(), privileges);
  });
}

// ------------------------------------------------------------- RBAC backup
RpcStatus MilvusService::BackupRBAC(Ctx* ctx, const mm::BackupRBACMetaRequest* req,
                                    mm::BackupRBACMetaResponse* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp->mutable_status(), mc::UnexpectedError, [&]() -> Status {
    if (!access_control_) return Unimplemented("BackupRBAC needs access control");
    auth::RbacSnapshot snap = access_control_->Backup();
    auto* meta = resp->mutable_rbac_meta();
    for (const auto& u : snap.users) {
      auto* out = meta->add_users();
      out->set_user(u.name);
      out->set_password(u.password_hash);  // the salted hash, never the password
      for (const auto& r : u.roles) out->add_roles()->set_name(r);
    }
    for (const auto& r : snap.roles) {
      auto* out = meta->add_roles();
      out->set_name(r.name);
      if (!r.description.empty()) out->set_description(r.description);
    }
    for (const auto& g : snap.grants) {
      auto* out = meta->add_grants();
      out->mutable_role()->set_name(g.role);
      out->mutable_object()->set_name(g.object_type);
      out->set_object_name(g.object_name);
      out->set_db_name(g.db_name);
      out->mutable_grantor()->mutable_user()->set_name(g.grantor);
      out->mutable_grantor()->mutable_privilege()->set_name(g.privilege);
    }
    for (const auto& g : snap.groups) {
      auto* out = meta->add_privilege_groups();
      out->set_group_name(g.name);
      for (const auto& p : g.privileges) out->add_privileges()->set_name(p);
    }
    return Status::OK();
  });
}

RpcStatus MilvusService::RestoreRBAC(Ctx* ctx, const mm::RestoreRBACMetaRequest* req, mc::Status* resp) {
  KITE_ADMIT(ctx, req);
  return Answer(resp, mc::UnexpectedError, [&]() -> Status {
    if (!access_control_) return Unimplemented("RestoreRBAC needs access control");
    const auto& meta = req->rbac_meta();
    auth::RbacSnapshot snap;
    for (const auto& u : meta.users()) {
      auth::RbacSnapshot::User user{u.user(), u.password(), {}};
      for (const auto& r : u.roles()) user.roles.push_back(r.name());
      snap.users.push_back(std::move(user));
    }
    for (const auto& r : meta.roles()) snap.roles.push_back({r.name(), r.description()});
    for (const auto& g : meta.grants()) {
      snap.grants.push_back({g.role().name(), g.object().name(), g.object_name(), g.db_name(),
                             g.grantor().privilege().name(), g.grantor().user().name()});
    }
    for (const auto& g : meta.privilege_groups()) {
      auth::PrivilegeGroupInfo info{g.group_name(), {}};
      for (const auto& p : g.privileges()) info.privileges.push_back(p.name());
      snap.groups.push_back(std::move(info));
    }
    return access_control_->Restore(snap);
  });
}

}  // namespace kite::rpc
