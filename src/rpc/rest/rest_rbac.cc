// REST v2 users/*, roles/*, privilege_groups/*: the JSON face of the same
// auth::AccessControl calls as the gRPC RBAC RPCs (rpc/milvus_service_rbac.cc).
// Passwords arrive in clear in the JSON body (over TLS where it matters), as
// Milvus's REST API takes them.
#include "rpc/rest/rest_call.h"

namespace kite::rest {
namespace {

RestError NeedAccess(const Call& c) {
  if (c.access) return Ok();
  return Error(kCodeUnimplemented, "users, roles and privileges need access control");
}

#define KITE_NEED_ACCESS(c)                            \
  if (RestError e = NeedAccess(c); !e.ok()) return e

std::string DbOf(const Call& c) { return c.db.empty() ? "default" : c.db; }

}  // namespace

// ---------------------------------------------------------------------- users
RestError CreateUser(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->CreateUser(StrOr(c.body, "userName"), StrOr(c.body, "password")));
}

RestError UpdatePassword(Call& c) {
  KITE_NEED_ACCESS(c);
  bool super = c.access->enabled() && c.access->IsConfiguredSuperUser(c.user);
  return FromStatus(c.access->UpdatePassword(StrOr(c.body, "userName"), StrOr(c.body, "password"),
                                             StrOr(c.body, "newPassword"), !super));
}

RestError DropUser(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->DeleteUser(StrOr(c.body, "userName")));
}

RestError ListUsers(Call& c) {
  KITE_NEED_ACCESS(c);
  c.data = Json::array();
  for (const auto& u : c.access->ListUsers()) c.data.push_back(u);
  return Ok();
}

RestError DescribeUser(Call& c) {
  KITE_NEED_ACCESS(c);
  c.data = Json::array();
  auto users = c.access->SelectUsers(StrOr(c.body, "userName"));
  if (users.ok()) {
    for (const auto& u : *users) {
      for (const auto& r : u.roles) c.data.push_back(r);
    }
  }
  return Ok();
}

RestError GrantRoleToUser(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->AddUserToRole(StrOr(c.body, "userName"), StrOr(c.body, "roleName")));
}

RestError RevokeRoleFromUser(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->RemoveUserFromRole(StrOr(c.body, "userName"), StrOr(c.body, "roleName")));
}

// ---------------------------------------------------------------------- roles
RestError CreateRoleRest(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->CreateRole(StrOr(c.body, "roleName")));
}

RestError DropRoleRest(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->DropRole(StrOr(c.body, "roleName"), BoolOr(c.body, "forceDrop", false)));
}

RestError ListRoles(Call& c) {
  KITE_NEED_ACCESS(c);
  auto roles = c.access->SelectRoles("");
  if (!roles.ok()) return FromStatus(roles.status());
  c.data = Json::array();
  for (const auto& r : *roles) c.data.push_back(r.role);
  return Ok();
}

RestError DescribeRole(Call& c) {
  KITE_NEED_ACCESS(c);
  auto grants = c.access->SelectGrants(StrOr(c.body, "roleName"), "", "", "");
  if (!grants.ok()) return FromStatus(grants.status());
  c.data = Json::array();
  for (const auto& g : *grants) {
    c.data.push_back({{"objectType", g.object_type},
                      {"objectName", g.object_name},
                      {"privilege", g.privilege},
                      {"grantor", g.grantor},
                      {"dbName", g.db_name}});
  }
  return Ok();
}

namespace {
auth::Grant GrantV1(const Call& c) {
  return {StrOr(c.body, "roleName"), StrOr(c.body, "objectType"), StrOr(c.body, "objectName"), DbOf(c),
          StrOr(c.body, "privilege"), c.user};
}
auth::Grant GrantV2(const Call& c) {
  // The object type is AccessControl's to choose (from the privilege, as Milvus).
  std::string collection = StrOr(c.body, "collectionName", "*");
  if (collection.empty()) collection = "*";
  return {StrOr(c.body, "roleName"), "", collection, DbOf(c), StrOr(c.body, "privilege"), c.user};
}
}  // namespace

RestError GrantPrivilege(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->GrantPrivilege(GrantV1(c)));
}
RestError RevokePrivilege(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->RevokePrivilege(GrantV1(c)));
}
RestError GrantPrivilegeV2(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->GrantPrivilegeV2(GrantV2(c)));
}
RestError RevokePrivilegeV2(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->RevokePrivilegeV2(GrantV2(c)));
}

// ----------------------------------------------------------- privilege groups
RestError CreatePrivilegeGroupRest(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->CreatePrivilegeGroup(StrOr(c.body, "privilegeGroupName")));
}

RestError DropPrivilegeGroupRest(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(c.access->DropPrivilegeGroup(StrOr(c.body, "privilegeGroupName")));
}

RestError ListPrivilegeGroupsRest(Call& c) {
  KITE_NEED_ACCESS(c);
  Json groups = Json::array();
  for (const auto& g : c.access->ListPrivilegeGroups()) {
    groups.push_back({{"privilegeGroupName", g.name}, {"privileges", g.privileges}});
  }
  c.data = {{"privilegeGroups", std::move(groups)}};
  return Ok();
}

RestError AddPrivilegesToGroup(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(
      c.access->AddPrivilegesToGroup(StrOr(c.body, "privilegeGroupName"), StrListOr(c.body, "privileges")));
}

RestError RemovePrivilegesFromGroup(Call& c) {
  KITE_NEED_ACCESS(c);
  return FromStatus(
      c.access->RemovePrivilegesFromGroup(StrOr(c.body, "privilegeGroupName"), StrListOr(c.body, "privileges")));
}

}  // namespace kite::rest
