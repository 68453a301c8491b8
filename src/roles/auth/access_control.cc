#include "roles/auth/access_control.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace kite::auth {
namespace {

using Json = nlohmann::json;

constexpr char kUserPrefix[] = "kite/auth/user/";
constexpr char kRolePrefix[] = "kite/auth/role/";
constexpr char kGroupPrefix[] = "kite/auth/group/";

// Limits as Milvus's proxy has them (proxy.maxUsernameLength, min/maxPasswordLength).
constexpr size_t kMaxUsernameLength = 32;
constexpr size_t kMinPasswordLength = 6;
constexpr size_t kMaxPasswordLength = 256;
constexpr size_t kMaxRoleNameLength = 255;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string DbOrDefault(std::string_view db) { return db.empty() ? "default" : std::string(db); }

Json GrantToJson(const Grant& g) {
  return {{"object_type", g.object_type}, {"object_name", g.object_name}, {"db_name", g.db_name},
          {"privilege", g.privilege},     {"grantor", g.grantor}};
}

bool SameGrant(const Grant& a, const Grant& b) {
  return a.object_type == b.object_type && a.object_name == b.object_name && a.db_name == b.db_name &&
         a.privilege == b.privilege;
}

// The peer's host ("ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1").
std::string PeerHost(std::string_view peer) {
  if (peer.starts_with("ipv4:") && std::count(peer.begin(), peer.end(), ':') == 2) {
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.starts_with("ipv6:[")) {
    size_t close = peer.find(']');
    if (close != std::string_view::npos) return std::string(peer.substr(0, close + 1));
  }
  return std::string(peer);
}

template <typename... Args>
Status NotFound(fmt::format_string<Args...> f, Args&&... a) {
  return MakeStatus(StatusCode::kNotFound, Reason::kNone, f, std::forward<Args>(a)...);
}
template <typename... Args>
Status AlreadyExists(fmt::format_string<Args...> f, Args&&... a) {
  return MakeStatus(StatusCode::kAlreadyExists, Reason::kNone, f, std::forward<Args>(a)...);
}

// A user name for the log: at most 64 bytes, anything but printable ASCII as \xNN.
std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

Status ValidateUsername(std::string_view name) {
  if (name.empty()) return InvalidArgument("username should not be empty");
  std::string invalid = fmt::format("Invalid username: {}. ", name);
  if (name.size() > kMaxUsernameLength) {
    return InvalidArgument("{}The length of username must be less than {} characters.", invalid, kMaxUsernameLength);
  }
  if (!IsAlpha(name[0])) return InvalidArgument("{}The first character of username must be a letter.", invalid);
  for (char c : name.substr(1)) {
    if (c != '_' && !IsAlpha(c) && !IsDigit(c)) {
      return InvalidArgument("{}Username should only contain numbers, letters, and underscores.", invalid);
    }
  }
  return Status::OK();
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    return InvalidArgument("The length of password must be great than {} and less than {} characters.",
                           kMinPasswordLength, kMaxPasswordLength);
  }
  return Status::OK();
}

namespace {
Status ValidateEntityName(std::string_view kind, std::string_view name) {
  if (name.empty()) return InvalidArgument("{} name should not be empty", kind);
  std::string invalid = fmt::format("Invalid {} name: {}. ", kind, name);
  if (name.size() > kMaxRoleNameLength) {
    return InvalidArgument("{}The length of {} name must be less than {} characters.", invalid, kind,
                           kMaxRoleNameLength);
  }
  if (!IsAlpha(name[0]) && name[0] != '_') {
    return InvalidArgument("{}The first character of {} name must be an underscore or letter.", invalid, kind);
  }
  for (char c : name) {
    if (c != '_' && !IsAlpha(c) && !IsDigit(c)) {
      return InvalidArgument("{}{} name can only contain numbers, letters and underscores.", invalid,
                             kind == "role" ? "Role" : "Privilege group");
    }
  }
  return Status::OK();
}
}  // namespace

Status ValidateRoleName(std::string_view name) { return ValidateEntityName("role", name); }
Status ValidatePrivilegeGroupName(std::string_view name) { return ValidateEntityName("privilege group", name); }

AccessControl::AccessControl(MetaStore* meta, SecurityOptions options)
    : meta_(meta), options_(std::move(options)), digest_salt_(RandomBytes(16)) {}

Result<std::unique_ptr<AccessControl>> AccessControl::Open(MetaStore* meta, SecurityOptions options) {
  std::unique_ptr<AccessControl> ac(new AccessControl(meta, std::move(options)));
  KITE_RETURN_IF_ERROR(ac->Load());
  return ac;
}

Status AccessControl::Load() {
  Status parse_error;
  auto guard = [&](std::string_view key, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      if (parse_error.ok()) parse_error = Corruption("meta key {}: {}", key, e.what());
    }
  };
  KITE_RETURN_IF_ERROR(meta_->Scan(kUserPrefix, [&](std::string_view key, std::string_view value) {
    guard(key, [&] {
      Json j = Json::parse(value);
      UserRecord rec;
      rec.hash = j.at("hash").get<std::string>();
      for (const auto& r : j.value("roles", Json::array())) rec.roles.insert(r.get<std::string>());
      users_[std::string(key.substr(sizeof(kUserPrefix) - 1))] = std::move(rec);
    });
  }));
  KITE_RETURN_IF_ERROR(meta_->Scan(kRolePrefix, [&](std::string_view key, std::string_view value) {
    guard(key, [&] {
      Json j = Json::parse(value);
      std::string name(key.substr(sizeof(kRolePrefix) - 1));
      RoleRecord rec;
      for (const auto& g : j.value("grants", Json::array())) {
        rec.grants.push_back({name, g.at("object_type").get<std::string>(), g.at("object_name").get<std::string>(),
                              g.at("db_name").get<std::string>(), g.at("privilege").get<std::string>(),
                              g.value("grantor", "")});
      }
      roles_[name] = std::move(rec);
    });
  }));
  KITE_RETURN_IF_ERROR(meta_->Scan(kGroupPrefix, [&](std::string_view key, std::string_view value) {
    guard(key, [&] {
      Json j = Json::parse(value);
      groups_[std::string(key.substr(sizeof(kGroupPrefix) - 1))] = j.at("privileges").get<std::vector<std::string>>();
    });
  }));
  KITE_RETURN_IF_ERROR(parse_error);
  // First start: root with the default password, and the built-in roles
  // (public may describe collections and see index details, as in Milvus).
  if (!users_.count(kRootUser)) {
    UserRecord root;
    KITE_ASSIGN_OR_RETURN(root.hash, HashPassword(options_.default_root_password, options_.cost));
    KITE_RETURN_IF_ERROR(PersistUser(kRootUser, root));
    users_[kRootUser] = std::move(root);
  }
  if (!roles_.count(kAdminRole)) {
    KITE_RETURN_IF_ERROR(PersistRole(kAdminRole, {}));
    roles_[kAdminRole] = {};
  }
  if (!roles_.count(kPublicRole)) {
    RoleRecord pub;
    pub.grants.push_back({kPublicRole, "Global", "*", "*", "DescribeCollection", kRootUser});
    pub.grants.push_back({kPublicRole, "Global", "*", "*", "ShowCollections", kRootUser});
    pub.grants.push_back({kPublicRole, "Collection", "*", "*", "IndexDetail", kRootUser});
    KITE_RETURN_IF_ERROR(PersistRole(kPublicRole, pub));
    roles_[kPublicRole] = std::move(pub);
  }
  return Status::OK();
}

Status AccessControl::PersistUser(const std::string& name, const UserRecord& rec) {
  MetaBatch b;
  b.Put(kUserPrefix + name, Json{{"hash", rec.hash}, {"roles", rec.roles}}.dump());
  return meta_->Commit(b);
}

Status AccessControl::PersistRole(const std::string& name, const RoleRecord& rec) {
  Json grants = Json::array();
  for (const auto& g : rec.grants) grants.push_back(GrantToJson(g));
  MetaBatch b;
  b.Put(kRolePrefix + name, Json{{"grants", grants}}.dump());
  return meta_->Commit(b);
}

Status AccessControl::PersistGroup(const std::string& name, const std::vector<std::string>& privileges) {
  MetaBatch b;
  b.Put(kGroupPrefix + name, Json{{"privileges", privileges}}.dump());
  return meta_->Commit(b);
}

// ------------------------------------------------------------- authentication
bool AccessControl::PeerBlocked(const std::string& host) {
  std::lock_guard lock(failures_mu_);
  auto it = failures_.find(host);
  if (it == failures_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second.window_start > std::chrono::minutes(1)) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= options_.max_failed_logins_per_minute;
}

void AccessControl::RecordFailure(const std::string& host) {
  std::lock_guard lock(failures_mu_);
  auto now = std::chrono::steady_clock::now();
  if (failures_.size() > 100000) failures_.clear();  // bound memory under a flood of distinct peers
  Failures& f = failures_[host];
  if (f.count == 0 || now - f.window_start > std::chrono::minutes(1)) {
    f.window_start = now;
    f.count = 0;
  }
  ++f.count;
}

Decision AccessControl::Authenticate(std::string_view credentials, std::string_view peer, Caller* caller) {
  if (!enabled()) return {};
  std::string host = PeerHost(peer);
  size_t colon = credentials.find(':');
  if (colon == std::string_view::npos) {
    // Milvus reads a token without a colon as an API key, which Kite does not issue.
    RecordFailure(host);
    return {Denial::kUnauthenticated, "auth check failure, please check api key is correct"};
  }
  std::string user(credentials.substr(0, colon));
  std::string_view password = credentials.substr(colon + 1);
  Digest digest = FastDigest(digest_salt_, password);
  std::string hash;
  {
    std::shared_lock lock(mu_);
    auto v = verified_.find(user);
    if (v != verified_.end() && DigestEqual(v->second, digest)) {
      caller->user = std::move(user);
      return {};
    }
    auto u = users_.find(user);
    if (u != users_.end()) hash = u->second.hash;
  }
  if (PeerBlocked(host)) {
    return {Denial::kUnauthenticated,
            "auth check failure, too many failed attempts from this address; try again in a minute"};
  }
  // Unknown users pay for a hash too, so timing does not tell which names exist.
  static const std::string kDummyHash = [&] {
    auto h = HashPassword("kite-dummy-password", options_.cost);
    return h.ok() ? *h : std::string();
  }();
  bool ok = VerifyPassword(password, hash.empty() ? kDummyHash : hash) && !hash.empty();
  if (!ok) {
    RecordFailure(host);
    spdlog::warn("authentication failed for user '{}' from {}", Printable(user), host);
    return {Denial::kUnauthenticated, "auth check failure, please check username and password are correct"};
  }
  {
    std::unique_lock lock(mu_);
    auto u = users_.find(user);
    if (u != users_.end() && u->second.hash == hash) verified_[user] = digest;  // unchanged meanwhile
  }
  caller->user = std::move(user);
  return {};
}

// -------------------------------------------------------------- authorization
bool AccessControl::IsSuperUser(std::string_view user) const {
  if (user == kRootUser) return true;
  return std::find(options_.super_users.begin(), options_.super_users.end(), user) != options_.super_users.end();
}

bool AccessControl::Covers(std::string_view granted, std::string_view requested) const {
  if (granted == requested || granted == "All" || granted == "*") return true;
  auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), requested) != list.end(); };
  if (in(RelatedPrivileges(granted))) return true;
  if (IsBuiltinGroup(granted)) {
    for (auto p : BuiltinGroupMembers(granted)) {
      if (p == requested || in(RelatedPrivileges(p))) return true;
    }
    return false;
  }
  auto g = groups_.find(std::string(granted));
  if (g == groups_.end()) return false;
  for (const auto& p : g->second) {
    if (p == requested || in(RelatedPrivileges(p))) return true;
  }
  return false;
}

Decision AccessControl::Authorize(const Caller& caller, std::string_view rpc, std::string_view db,
                                  const std::vector<std::string>& objects) const {
  if (!enabled()) return {};
  if (caller.anonymous()) return {Denial::kUnauthenticated, "missing authorization in header"};
  if (IsSuperUser(caller.user)) return {};
  const PrivilegeRule* rule = RuleFor(rpc);
  if (!rule) {
    if (AuthenticatedOnly(rpc)) return {};
    // Not in the table: only super users and admins (fail closed).
  }
  std::string database = DbOrDefault(db);
  std::shared_lock lock(mu_);
  auto u = users_.find(caller.user);
  std::vector<std::string> roles;
  if (u != users_.end()) roles.assign(u->second.roles.begin(), u->second.roles.end());
  if (std::find(roles.begin(), roles.end(), kAdminRole) != roles.end()) return {};
  roles.push_back(kPublicRole);
  std::string_view privilege = rule ? rule->privilege : rpc;
  if (rule) {
    // A user may read and change their own user object (isCurUserObject).
    if (rule->object == ObjectType::kUser && objects.size() == 1 && objects[0] == caller.user) return {};
    auto permits = [&](const std::string& object) {
      for (const auto& role : roles) {
        auto r = roles_.find(role);
        if (r == roles_.end()) continue;
        for (const Grant& g : r->second.grants) {
          if (g.db_name != "*" && g.db_name != database) continue;
          // Global privileges ignore the object; others need a grant on that
          // object or on "*" (a request naming no object matches only "*").
          if (rule->object != ObjectType::kGlobal && g.object_name != "*" && g.object_name != object) continue;
          if (Covers(g.privilege, privilege)) return true;
        }
      }
      return false;
    };
    bool all = true;
    if (objects.empty()) {
      all = permits("");
    } else {
      for (const auto& o : objects) all = all && permits(o);
    }
    if (all) return {};
  }
  return {Denial::kPermissionDenied,
          fmt::format("Privilege{}: permission deny to {} in the `{}` database", privilege, caller.user, database)};
}

// ---------------------------------------------------------------------- users
Status AccessControl::CreateUser(const std::string& user, const std::string& password) {
  KITE_RETURN_IF_ERROR(ValidateUsername(user));
  KITE_RETURN_IF_ERROR(ValidatePassword(password));
  {
    std::shared_lock lock(mu_);
    if (users_.count(user)) return AlreadyExists("user already exists:{}", user);
  }
  UserRecord rec;
  KITE_ASSIGN_OR_RETURN(rec.hash, HashPassword(password, options_.cost));
  std::unique_lock lock(mu_);
  if (users_.count(user)) return AlreadyExists("user already exists:{}", user);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  users_[user] = std::move(rec);
  return Status::OK();
}

Status AccessControl::UpdatePassword(const std::string& user, const std::string& old_password,
                                     const std::string& new_password, bool check_old) {
  KITE_RETURN_IF_ERROR(ValidateUsername(user));
  KITE_RETURN_IF_ERROR(ValidatePassword(new_password));
  std::string hash;
  {
    std::shared_lock lock(mu_);
    auto u = users_.find(user);
    if (u == users_.end()) return NotFound("found no credential:{}", user);
    hash = u->second.hash;
  }
  if (check_old && !VerifyPassword(old_password, hash)) {
    return InvalidArgument("old password not correct for {}", user);
  }
  KITE_ASSIGN_OR_RETURN(std::string new_hash, HashPassword(new_password, options_.cost));
  std::unique_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return NotFound("found no credential:{}", user);
  UserRecord rec = u->second;
  rec.hash = std::move(new_hash);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  u->second = std::move(rec);
  verified_.erase(user);
  return Status::OK();
}

Status AccessControl::DeleteUser(const std::string& user) {
  if (user == kRootUser) return InvalidArgument("root user cannot be deleted");
  std::unique_lock lock(mu_);
  if (!users_.count(user)) return NotFound("found no credential:{}", user);
  MetaBatch b;
  b.Delete(kUserPrefix + user);
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  users_.erase(user);
  verified_.erase(user);
  return Status::OK();
}

std::vector<std::string> AccessControl::ListUsers() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, rec] : users_) out.push_back(name);
  return out;
}

Result<std::vector<UserRoles>> AccessControl::SelectUsers(const std::string& user) const {
  std::shared_lock lock(mu_);
  std::vector<UserRoles> out;
  for (const auto& [name, rec] : users_) {
    if (!user.empty() && name != user) continue;
    out.push_back({name, {rec.roles.begin(), rec.roles.end()}});
  }
  if (!user.empty() && out.empty()) return NotFound("not found the user, maybe the user isn't existed or internal system error");
  return out;
}

// ---------------------------------------------------------------------- roles
Status AccessControl::CreateRole(const std::string& role) {
  KITE_RETURN_IF_ERROR(ValidateRoleName(role));
  std::unique_lock lock(mu_);
  if (roles_.count(role)) return AlreadyExists("role [{}] already exists", role);
  KITE_RETURN_IF_ERROR(PersistRole(role, {}));
  roles_[role] = {};
  return Status::OK();
}

Status AccessControl::DropRole(const std::string& role, bool force) {
  if (role == kAdminRole || role == kPublicRole) {
    return InvalidArgument("the role[{}] is a default role, which can't be dropped", role);
  }
  std::unique_lock lock(mu_);
  auto r = roles_.find(role);
  if (r == roles_.end()) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  if (!force && !r->second.grants.empty()) {
    return InvalidArgument("fail to drop the role that it has privileges. Use REVOKE API to revoke privileges");
  }
  // One batch: the role and its membership in every user.
  MetaBatch b;
  b.Delete(kRolePrefix + role);
  std::vector<std::string> members;
  for (auto& [name, rec] : users_) {
    if (!rec.roles.count(role)) continue;
    members.push_back(name);
    std::set<std::string> roles = rec.roles;
    roles.erase(role);
    b.Put(kUserPrefix + name, Json{{"hash", rec.hash}, {"roles", roles}}.dump());
  }
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (const auto& m : members) users_[m].roles.erase(role);
  roles_.erase(r);
  return Status::OK();
}

Status AccessControl::AddUserToRole(const std::string& user, const std::string& role) {
  std::unique_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return NotFound("not found the user, maybe the user isn't existed or internal system error");
  if (!roles_.count(role)) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  if (u->second.roles.count(role)) return Status::OK();
  UserRecord rec = u->second;
  rec.roles.insert(role);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  u->second = std::move(rec);
  return Status::OK();
}

Status AccessControl::RemoveUserFromRole(const std::string& user, const std::string& role) {
  std::unique_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return NotFound("not found the user, maybe the user isn't existed or internal system error");
  if (!roles_.count(role)) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  if (!u->second.roles.count(role)) return Status::OK();
  UserRecord rec = u->second;
  rec.roles.erase(role);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  u->second = std::move(rec);
  return Status::OK();
}

Result<std::vector<RoleUsers>> AccessControl::SelectRoles(const std::string& role) const {
  std::shared_lock lock(mu_);
  std::vector<RoleUsers> out;
  for (const auto& [name, rec] : roles_) {
    if (!role.empty() && name != role) continue;
    RoleUsers ru{name, {}};
    for (const auto& [user, urec] : users_) {
      if (urec.roles.count(name)) ru.users.push_back(user);
    }
    out.push_back(std::move(ru));
  }
  return out;
}

// --------------------------------------------------------------------- grants
Status AccessControl::GrantPrivilege(Grant grant) {
  if (grant.privilege == "*") grant.privilege = "All";
  if (grant.object_type != "Global" && grant.object_type != "Collection" && grant.object_type != "User") {
    return InvalidArgument("not found the object type[name: {}], supported the object types: [Collection Global User]",
                           grant.object_type);
  }
  if (grant.object_name.empty()) return InvalidArgument("the object name in the grant entity is empty");
  if (grant.db_name.empty()) grant.db_name = "default";
  std::unique_lock lock(mu_);
  if (grant.privilege != "All" && !IsKnownPrivilege(grant.privilege) && !IsBuiltinGroup(grant.privilege) &&
      !groups_.count(grant.privilege)) {
    return InvalidArgument("not found the privilege name[{}]", grant.privilege);
  }
  auto r = roles_.find(grant.role);
  if (r == roles_.end()) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  for (const auto& g : r->second.grants) {
    if (SameGrant(g, grant)) return Status::OK();  // granting twice is not an error (as Milvus)
  }
  RoleRecord rec = r->second;
  rec.grants.push_back(std::move(grant));
  KITE_RETURN_IF_ERROR(PersistRole(r->first, rec));
  r->second = std::move(rec);
  return Status::OK();
}

Status AccessControl::RevokePrivilege(const Grant& grant_in) {
  Grant grant = grant_in;
  if (grant.privilege == "*") grant.privilege = "All";
  if (grant.db_name.empty()) grant.db_name = "default";
  std::unique_lock lock(mu_);
  auto r = roles_.find(grant.role);
  if (r == roles_.end()) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  RoleRecord rec = r->second;
  auto it = std::remove_if(rec.grants.begin(), rec.grants.end(), [&](const Grant& g) { return SameGrant(g, grant); });
  if (it == rec.grants.end()) return Status::OK();  // revoking what was never granted is not an error
  rec.grants.erase(it, rec.grants.end());
  KITE_RETURN_IF_ERROR(PersistRole(r->first, rec));
  r->second = std::move(rec);
  return Status::OK();
}

Result<std::vector<Grant>> AccessControl::SelectGrants(const std::string& role, const std::string& object_type,
                                                       const std::string& object_name, const std::string& db) const {
  std::shared_lock lock(mu_);
  auto r = roles_.find(role);
  if (r == roles_.end()) return NotFound("not found the role, maybe the role isn't existed or internal system error");
  std::vector<Grant> out;
  for (const auto& g : r->second.grants) {
    if (!object_type.empty() && g.object_type != object_type) continue;
    if (!object_name.empty() && g.object_name != object_name) continue;
    if (!db.empty() && db != "*" && g.db_name != db) continue;
    out.push_back(g);
  }
  return out;
}

// ----------------------------------------------------------- privilege groups
Status AccessControl::CreatePrivilegeGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  if (IsBuiltinGroup(name) || IsKnownPrivilege(name) || name == "All") {
    return InvalidArgument(
        "privilege group name [{}] is defined by built in privileges or privilege groups in system", name);
  }
  std::unique_lock lock(mu_);
  if (groups_.count(name)) return AlreadyExists("privilege group [{}] already exists", name);
  KITE_RETURN_IF_ERROR(PersistGroup(name, {}));
  groups_[name] = {};
  return Status::OK();
}

Status AccessControl::DropPrivilegeGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  if (IsBuiltinGroup(name)) {
    return InvalidArgument("privilege group [{}] is a built-in privilege group, which can't be dropped", name);
  }
  std::unique_lock lock(mu_);
  if (!groups_.count(name)) return Status::OK();  // as Milvus: dropping a missing group succeeds
  for (const auto& [role, rec] : roles_) {
    for (const auto& g : rec.grants) {
      if (g.privilege == name) {
        return InvalidArgument("privilege group [{}] is being used by role [{}]", name, role);
      }
    }
  }
  MetaBatch b;
  b.Delete(kGroupPrefix + name);
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  groups_.erase(name);
  return Status::OK();
}

std::vector<PrivilegeGroupInfo> AccessControl::ListPrivilegeGroups() const {
  std::vector<PrivilegeGroupInfo> out;
  for (auto name : BuiltinGroupNames()) {
    PrivilegeGroupInfo info{std::string(name), {}};
    for (auto p : BuiltinGroupMembers(name)) info.privileges.emplace_back(p);
    out.push_back(std::move(info));
  }
  std::shared_lock lock(mu_);
  for (const auto& [name, privileges] : groups_) out.push_back({name, privileges});
  return out;
}

Status AccessControl::AddPrivilegesToGroup(const std::string& name, const std::vector<std::string>& privileges) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  for (const auto& p : privileges) {
    if (!IsKnownPrivilege(p)) return InvalidArgument("not found the privilege name[{}]", p);
  }
  std::unique_lock lock(mu_);
  auto g = groups_.find(name);
  if (g == groups_.end()) return NotFound("there is no privilege group name [{}] to operate", name);
  std::vector<std::string> next = g->second;
  for (const auto& p : privileges) {
    if (std::find(next.begin(), next.end(), p) == next.end()) next.push_back(p);
  }
  KITE_RETURN_IF_ERROR(PersistGroup(name, next));
  g->second = std::move(next);
  return Status::OK();
}

Status AccessControl::RemovePrivilegesFromGroup(const std::string& name, const std::vector<std::string>& privileges) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  std::unique_lock lock(mu_);
  auto g = groups_.find(name);
  if (g == groups_.end()) return NotFound("there is no privilege group name [{}] to operate", name);
  std::vector<std::string> next;
  for (const auto& p : g->second) {
    if (std::find(privileges.begin(), privileges.end(), p) == privileges.end()) next.push_back(p);
  }
  KITE_RETURN_IF_ERROR(PersistGroup(name, next));
  g->second = std::move(next);
  return Status::OK();
}

}  // namespace kite::auth
