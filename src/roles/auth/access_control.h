// AccessControl: Milvus's users, roles, grants and privilege groups, and the
// one check every front door (gRPC and REST) calls before a request runs.
//
// Authentication: a caller presents "user:password" (decoded from the gRPC
// `authorization` metadata or the REST `Authorization: Bearer` header by the
// RPC layer). The password is checked against a salted scrypt hash
// (password_hash.h) once; a success is cached as a per-process salted SHA-256
// digest so later calls cost microseconds, as Milvus's proxy caches them. A
// password change, user deletion or restart drops the cache. Failed attempts
// are counted per peer host: past `max_failed_logins_per_minute` in a minute
// the peer gets "too many failed attempts" without a hash being computed
// (credentials already verified keep working, so a busy client on the same
// host is not locked out by a brute-forcer).
//
// Authorization: root and `superUsers` may do everything, as may members of
// the built-in `admin` role; everyone else needs a grant, to one of their
// roles or to `public`, covering the RPC's privilege (privileges.h) in the
// request's database on the request's object. Grants name a database ("*" =
// any) and an object ("*" = any); a built-in group, a custom group or "All"
// covers its members. Revocations take effect on the next call.
//
// State lives in the meta store under kite/auth/ (docs/formats/meta_keys.md)
// and in memory; every change is written to the store before memory. With
// authorization disabled, Authenticate/Authorize allow everything (the RBAC
// calls still work, as Milvus's do). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "roles/auth/password_hash.h"
#include "roles/auth/privileges.h"
#include "storage/meta/meta_store.h"

namespace kite::auth {

inline constexpr char kRootUser[] = "root";
inline constexpr char kAdminRole[] = "admin";
inline constexpr char kPublicRole[] = "public";

struct SecurityOptions {
  bool authorization_enabled = false;        // common.security.authorizationEnabled
  std::string default_root_password = "Milvus";  // common.security.defaultRootPassword (first start only)
  std::vector<std::string> super_users;      // common.security.superUsers
  int max_failed_logins_per_minute = 30;     // per peer host
  int max_user_num = 100;                    // proxy.maxUserNum (root included, as Milvus counts)
  int max_role_num = 10;                     // proxy.maxRoleNum (admin and public included)
  ScryptCost cost;
};

// Who is calling, once authenticated.
struct Caller {
  std::string user;
  bool anonymous() const { return user.empty(); }
};

enum class Denial { kNone, kUnauthenticated, kPermissionDenied };
struct Decision {
  Denial denial = Denial::kNone;
  std::string message;
  bool ok() const { return denial == Denial::kNone; }
};

struct Grant {
  std::string role;
  std::string object_type;  // "Global", "Collection", "User"
  std::string object_name;  // "*" = any
  std::string db_name;      // "*" = any
  std::string privilege;    // API name, group name or "All"
  std::string grantor;
};

struct UserRoles {
  std::string user;
  std::vector<std::string> roles;
};
struct RoleUsers {
  std::string role;
  std::vector<std::string> users;
  std::string description;
};
struct PrivilegeGroupInfo {
  std::string name;
  std::vector<std::string> privileges;
};
// What ShowCollections / ListDatabases may show a caller: everything, or the
// named objects only.
struct Visibility {
  bool all = false;
  std::set<std::string> names;
  bool Contains(const std::string& name) const { return all || names.count(name) > 0; }
};
// The RBAC state BackupRBAC returns and RestoreRBAC takes (Milvus's RBACMeta):
// users but root (with their password hash), custom roles, their grants and
// the custom privilege groups.
struct RbacSnapshot {
  struct User {
    std::string name;
    std::string password_hash;
    std::vector<std::string> roles;
  };
  struct Role {
    std::string name;
    std::string description;
  };
  std::vector<User> users;
  std::vector<Role> roles;
  std::vector<Grant> grants;
  std::vector<PrivilegeGroupInfo> groups;
};

class AccessControl {
 public:
  static Result<std::unique_ptr<AccessControl>> Open(MetaStore* meta, SecurityOptions options);
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;
  ~AccessControl();

  // Keeps this copy of the users, roles and grants up to date with the meta
  // store (a watch on its keys) when other processes change them: every
  // process that serves clients (the standalone coordinator, `kite proxy`)
  // follows the one shared set on etcd, so a grant or a revoke made through
  // one takes effect on the next call through any other.
  Status Follow();
  // Reads every user, role and group again (what Follow does on a change).
  Status Reload();

  bool enabled() const { return options_.authorization_enabled; }

  // `credentials` is "user:password" (already decoded); `peer` identifies the
  // client host for rate limiting. Fills `caller` on success.
  Decision Authenticate(std::string_view credentials, std::string_view peer, Caller* caller);
  // Whether `caller` may run `rpc` on `objects` (collection or user names the
  // request names; empty = the instance) in database `db` ("" = default).
  Decision Authorize(const Caller& caller, std::string_view rpc, std::string_view db,
                     const std::vector<std::string>& objects) const;
  bool IsSuperUser(std::string_view user) const;
  // Whether `user` is listed in common.security.superUsers: such callers may
  // reset another user's password without the old one (root is not, unless listed).
  bool IsConfiguredSuperUser(std::string_view user) const;

  // ---- users (CreateCredential, UpdateCredential, DeleteCredential, ListCredUsers, SelectUser)
  Status CreateUser(const std::string& user, const std::string& password);
  // `check_old`: the old password must match (false when a super user resets it).
  Status UpdatePassword(const std::string& user, const std::string& old_password, const std::string& new_password,
                        bool check_old);
  Status DeleteUser(const std::string& user);
  std::vector<std::string> ListUsers() const;
  // One user (empty name: all) with their roles.
  Result<std::vector<UserRoles>> SelectUsers(const std::string& user) const;

  // ---- roles (CreateRole, DropRole, OperateUserRole, SelectRole)
  Status CreateRole(const std::string& role, const std::string& description = "");
  Status AlterRole(const std::string& role, const std::string& description);
  Status DropRole(const std::string& role, bool force);
  Status AddUserToRole(const std::string& user, const std::string& role);
  Status RemoveUserFromRole(const std::string& user, const std::string& role);
  Result<std::vector<RoleUsers>> SelectRoles(const std::string& role) const;  // empty: all

  // ---- grants (OperatePrivilege, OperatePrivilegeV2, SelectGrant)
  Status GrantPrivilege(Grant grant);
  Status RevokePrivilege(const Grant& grant);
  // OperatePrivilegeV2: the privilege (or group) must fit the database and
  // collection named, as Milvus checks it; the grant's object type is set
  // from the privilege (Milvus's GetObjectType), `object_type` is ignored.
  Status GrantPrivilegeV2(Grant grant);
  Status RevokePrivilegeV2(Grant grant);
  // Grants of `role`, optionally filtered by object type/name and db (empty = any).
  Result<std::vector<Grant>> SelectGrants(const std::string& role, const std::string& object_type,
                                          const std::string& object_name, const std::string& db) const;

  // ---- what a caller may list (Milvus rootcoord show_collection_task /
  // list_db_task): root, super users and members of admin see everything,
  // others the collections / databases their roles hold grants on.
  Visibility VisibleCollections(const std::string& user, std::string_view db) const;
  Visibility VisibleDatabases(const std::string& user) const;

  // ---- BackupRBAC / RestoreRBAC. Restore refuses (changing nothing) when a
  // role, group or user exists already or a grant names an unknown privilege.
  RbacSnapshot Backup() const;
  Status Restore(const RbacSnapshot& snapshot);

  // ---- privilege groups
  Status CreatePrivilegeGroup(const std::string& name);
  Status DropPrivilegeGroup(const std::string& name);
  std::vector<PrivilegeGroupInfo> ListPrivilegeGroups() const;  // built-in first, then custom
  Status AddPrivilegesToGroup(const std::string& name, const std::vector<std::string>& privileges);
  Status RemovePrivilegesFromGroup(const std::string& name, const std::vector<std::string>& privileges);

 private:
  struct UserRecord {
    std::string hash;
    std::set<std::string> roles;
  };
  struct RoleRecord {
    std::vector<Grant> grants;
    std::string description;
  };

  AccessControl(MetaStore* meta, SecurityOptions options);
  Status Load();
  Status ReadAll(std::map<std::string, UserRecord>* users, std::map<std::string, RoleRecord>* roles,
                 std::map<std::string, std::vector<std::string>>* groups) const;
  Status PersistUser(const std::string& name, const UserRecord& rec);
  Status PersistRole(const std::string& name, const RoleRecord& rec);
  Status PersistGroup(const std::string& name, const std::vector<std::string>& privileges);
  bool Covers(std::string_view granted, std::string_view requested) const;  // holds mu_
  Status CheckGrantV1(Grant* grant) const;                                  // holds mu_
  Status CheckGrantV2(Grant* grant) const;                                  // holds mu_
  Status StoreGrant(Grant grant);                                           // holds mu_ (unique)
  Status RemoveGrant(Grant grant);                                          // holds mu_ (unique)
  Status CheckGroupAlterable(const std::string& name, const std::vector<std::string>& privileges,
                             bool adding) const;                            // holds mu_
  std::vector<std::string> ExplicitRoles(const std::string& user) const;    // holds mu_
  bool PeerBlocked(const std::string& host);
  void RecordFailure(const std::string& host);

  MetaStore* meta_;
  SecurityOptions options_;
  std::string digest_salt_;  // per process

  mutable std::shared_mutex mu_;
  std::map<std::string, UserRecord> users_;
  std::map<std::string, RoleRecord> roles_;
  std::map<std::string, std::vector<std::string>> groups_;  // custom privilege groups
  std::unordered_map<std::string, Digest> verified_;       // user -> digest of the verified password
  uint64_t writes_ = 0;  // this process's Persist* calls (under mu_): Reload keeps no read older than one

  std::thread follow_thread_;  // Follow()
  std::atomic<bool> stop_following_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;

  std::mutex failures_mu_;
  struct Failures {
    std::chrono::steady_clock::time_point window_start;
    int count = 0;
  };
  std::unordered_map<std::string, Failures> failures_;
};

// Milvus's name rules (proxy/util.go ValidateUsername, ValidatePassword,
// ValidateRoleName, ValidatePrivilegeGroupName).
Status ValidateUsername(std::string_view name);
Status ValidatePassword(std::string_view password);
Status ValidateRoleName(std::string_view name);
Status ValidatePrivilegeGroupName(std::string_view name);

}  // namespace kite::auth
