// Milvus's privilege model as data: which privilege each RPC needs (the
// privilege_ext_obj option Milvus puts on each request message in
// milvus.proto, copied here as one table keyed by RPC name, and checked
// against the proto by rpc/access_test.cc), the RPCs that need only an
// authenticated caller, the built-in privilege groups with Milvus 2.6's exact
// membership (pkg/util/constant.go), and the privilege names grants accept.
// Privileges are named as Milvus's API names them ("Insert", not
// "PrivilegeInsert"). Pure data, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kite::auth {

enum class ObjectType { kGlobal, kCollection, kUser };
std::string_view ObjectTypeName(ObjectType t);  // "Global", "Collection", "User"

struct PrivilegeRule {
  ObjectType object;
  std::string_view privilege;  // API name, e.g. "Insert"
};

// The privilege `rpc` ("Insert", "Search", ...) needs, or nullptr when it
// needs none (then AuthenticatedOnly(rpc) says whether it is known at all).
const PrivilegeRule* RuleFor(std::string_view rpc);
// RPCs any authenticated caller may call: those Milvus attaches no privilege to.
bool AuthenticatedOnly(std::string_view rpc);
// Every RPC in the table (for the test that compares it with the proto).
std::vector<std::string_view> RuleRpcs();

// Whether a grant of `granted` (a privilege, "All", a built-in group or one of
// `custom_group_members`) covers `requested`.
bool IsBuiltinGroup(std::string_view name);
const std::vector<std::string_view>& BuiltinGroupMembers(std::string_view group);  // empty if not a group
std::vector<std::string_view> BuiltinGroupNames();
// A single privilege name Milvus knows (not a group, not "All").
bool IsKnownPrivilege(std::string_view name);
// Privileges a grant of `privilege` implies besides itself (Load -> GetLoadState, ...).
const std::vector<std::string_view>& RelatedPrivileges(std::string_view privilege);

// RBAC v2 (pkg/util/constant.go GetPrivilegeLevel): "Cluster", "Database" or
// "Collection" for a privilege in ClusterAdmin / DatabaseAdmin /
// CollectionAdmin (checked in that order), "" otherwise.
std::string_view PrivilegeLevel(std::string_view privilege);
// The object type Milvus stores a v2 grant of `privilege` under
// (constant.go GetObjectType): "Collection" or "User" for the privileges of
// those object types, "Global" for everything else (groups included).
std::string_view ObjectTypeForPrivilege(std::string_view privilege);
// CollectionReadOnly / CollectionReadWrite / CollectionAdmin.
bool IsCollectionPrivilegeGroup(std::string_view name);
// RBAC v1 (constant.go ObjectPrivileges): whether a grant on `object_type`
// ("Global", "Collection", "User") may name `privilege` ("All", a privilege or
// a v1 group). A privilege newer than that table is accepted on any type.
bool ObjectAllows(std::string_view object_type, std::string_view privilege);

}  // namespace kite::auth
