#include "roles/auth/access_control.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace kite::auth {
namespace {

using Json = nlohmann::json;

constexpr char kUserPrefix[] = "kite/auth/user/";
constexpr char kRolePrefix[] = "kite/auth/role/";
constexpr char kGroupPrefix[] = "kite/auth/group/";
constexpr char kAuthPrefix[] = "kite/auth/";

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

std::string UserJson(const std::string& hash, const std::set<std::string>& roles) {
  return Json{{"hash", hash}, {"roles", roles}}.dump();
}

template <typename Record>
std::string RoleJson(const Record& rec) {
  Json grants = Json::array();
  for (const auto& g : rec.grants) grants.push_back(GrantToJson(g));
  Json j{{"grants", grants}};
  if (!rec.description.empty()) j["description"] = rec.description;
  return j.dump();
}

// Milvus merr.WrapErrPrivilegeNotPermitted: code 1401 (Reason::kPrivilegeNotPermitted).
template <typename... Args>
Status NotPermitted(fmt::format_string<Args...> f, Args&&... a) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kPrivilegeNotPermitted, "{}: privilege not permitted",
                    fmt::format(f, std::forward<Args>(a)...));
}

// Milvus merr.WrapErrParameterInvalidMsg: code 1100, ": invalid parameter" appended.
template <typename... Args>
Status InvalidParameter(fmt::format_string<Args...> f, Args&&... a) {
  return InvalidArgument("{}: invalid parameter", fmt::format(f, std::forward<Args>(a)...));
}

constexpr char kRoleNotFound[] = "not found the role, maybe the role isn't existed or internal system error";

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

Status AccessControl::ReadAll(std::map<std::string, UserRecord>* users, std::map<std::string, RoleRecord>* roles,
                              std::map<std::string, std::vector<std::string>>* groups) const {
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
      (*users)[std::string(key.substr(sizeof(kUserPrefix) - 1))] = std::move(rec);
    });
  }));
  KITE_RETURN_IF_ERROR(meta_->Scan(kRolePrefix, [&](std::string_view key, std::string_view value) {
    guard(key, [&] {
      Json j = Json::parse(value);
      std::string name(key.substr(sizeof(kRolePrefix) - 1));
      RoleRecord rec;
      rec.description = j.value("description", "");
      for (const auto& g : j.value("grants", Json::array())) {
        rec.grants.push_back({name, g.at("object_type").get<std::string>(), g.at("object_name").get<std::string>(),
                              g.at("db_name").get<std::string>(), g.at("privilege").get<std::string>(),
                              g.value("grantor", "")});
      }
      (*roles)[name] = std::move(rec);
    });
  }));
  KITE_RETURN_IF_ERROR(meta_->Scan(kGroupPrefix, [&](std::string_view key, std::string_view value) {
    guard(key, [&] {
      Json j = Json::parse(value);
      (*groups)[std::string(key.substr(sizeof(kGroupPrefix) - 1))] = j.at("privileges").get<std::vector<std::string>>();
    });
  }));
  KITE_RETURN_IF_ERROR(parse_error);
  return Status::OK();
}

Status AccessControl::Load() {
  KITE_RETURN_IF_ERROR(ReadAll(&users_, &roles_, &groups_));
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

Status AccessControl::Reload() {
  // Read without the lock, and keep the result only if no write of this
  // process landed meanwhile (its Persist* run under the lock and count in
  // writes_): else the older read would undo it in memory.
  for (int attempt = 0;; ++attempt) {
    std::map<std::string, UserRecord> users;
    std::map<std::string, RoleRecord> roles;
    std::map<std::string, std::vector<std::string>> groups;
    uint64_t before = 0;
    std::unique_lock<std::shared_mutex> lock(mu_, std::defer_lock);
    if (attempt < 3) {
      {
        std::shared_lock read(mu_);
        before = writes_;
      }
      KITE_RETURN_IF_ERROR(ReadAll(&users, &roles, &groups));
      lock.lock();
      if (writes_ != before) continue;
    } else {
      lock.lock();  // writes keep landing: read under the lock
      KITE_RETURN_IF_ERROR(ReadAll(&users, &roles, &groups));
    }
    users_ = std::move(users);
    roles_ = std::move(roles);
    groups_ = std::move(groups);
    verified_.clear();  // a password may have changed
    return Status::OK();
  }
}

Status AccessControl::Follow() {
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<MetaWatch> watch, meta_->Watch(kAuthPrefix, 0));
  // What changed between Open's read and the watch's start.
  KITE_RETURN_IF_ERROR(Reload());
  follow_thread_ = std::thread([this, w = std::move(watch)]() mutable {
    while (!stop_following_.load()) {
      Result<std::vector<MetaEvent>> events = w->Next(std::chrono::milliseconds(200));
      if (!events.ok()) {
        // The watch ended (etcd unreachable, compacted): read everything
        // again once a new one starts.
        auto again = meta_->Watch(kAuthPrefix, 0);
        if (!again.ok()) {
          std::unique_lock l(stop_mu_);
          stop_cv_.wait_for(l, std::chrono::seconds(1), [this] { return stop_following_.load(); });
          continue;
        }
        w = std::move(again).value();
      } else if (events->empty()) {
        continue;
      }
      if (Status st = Reload(); !st.ok()) spdlog::warn("users and roles not reloaded: {}", st.ToString());
    }
  });
  return Status::OK();
}

AccessControl::~AccessControl() {
  {
    std::lock_guard l(stop_mu_);
    stop_following_ = true;
  }
  stop_cv_.notify_all();
  if (follow_thread_.joinable()) follow_thread_.join();
}

Status AccessControl::PersistUser(const std::string& name, const UserRecord& rec) {
  writes_++;
  MetaBatch b;
  b.Put(kUserPrefix + name, UserJson(rec.hash, rec.roles));
  return meta_->Commit(b);
}

Status AccessControl::PersistRole(const std::string& name, const RoleRecord& rec) {
  writes_++;
  MetaBatch b;
  b.Put(kRolePrefix + name, RoleJson(rec));
  return meta_->Commit(b);
}

Status AccessControl::PersistGroup(const std::string& name, const std::vector<std::string>& privileges) {
  writes_++;
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
bool AccessControl::IsConfiguredSuperUser(std::string_view user) const {
  return std::find(options_.super_users.begin(), options_.super_users.end(), user) != options_.super_users.end();
}

bool AccessControl::IsSuperUser(std::string_view user) const {
  if (user == kRootUser) return true;
  return std::find(options_.super_users.begin(), options_.super_users.end(), user) != options_.super_users.end();
}

bool AccessControl::Covers(std::string_view granted, std::string_view requested) const {
  // A custom group may hold built-in groups or other custom groups (Milvus
  // accepts any defined name); `depth` stops a group that names itself.
  auto covers = [&](auto& self, std::string_view g, int depth) -> bool {
    if (g == requested || g == "All" || g == "*") return true;
    auto in = [&](const auto& list) { return std::find(list.begin(), list.end(), requested) != list.end(); };
    if (in(RelatedPrivileges(g))) return true;
    if (IsBuiltinGroup(g)) {
      for (auto p : BuiltinGroupMembers(g)) {
        if (p == requested || in(RelatedPrivileges(p))) return true;
      }
      return false;
    }
    if (depth > 2) return false;
    auto it = groups_.find(std::string(g));
    if (it == groups_.end()) return false;
    for (const auto& p : it->second) {
      if (self(self, p, depth + 1)) return true;
    }
    return false;
  };
  return covers(covers, granted, 0);
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
  // rootcoord CheckIfAddCredential, wrapped by broadcastAlterUserForCreateCredential.
  auto check = [&]() -> Status {
    if (users_.count(user)) {
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kUnclassified,
                        "failed to check if add credential: user already exists");
    }
    if (static_cast<int64_t>(users_.size()) >= options_.max_user_num) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kUnclassified,
                        "failed to check if add credential: unable to add user because the number of users has "
                        "reached the limit");
    }
    return Status::OK();
  };
  {
    std::shared_lock lock(mu_);
    KITE_RETURN_IF_ERROR(check());
  }
  UserRecord rec;
  KITE_ASSIGN_OR_RETURN(rec.hash, HashPassword(password, options_.cost));
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(check());
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
    if (u != users_.end()) hash = u->second.hash;
  }
  // Proxy UpdateCredential: merr.WrapErrPrivilegeNotAuthenticated (code 1400,
  // rpc/status_map.cc) for a wrong old password and for an unknown user alike.
  if (check_old && (hash.empty() || !VerifyPassword(old_password, hash))) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kPrivilegeNotAuthenticated, "old password not correct for {}: not authenticated",
                      user);
  }
  if (hash.empty()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, "user not found");
  KITE_ASSIGN_OR_RETURN(std::string new_hash, HashPassword(new_password, options_.cost));
  std::unique_lock lock(mu_);
  auto u = users_.find(user);
  if (u == users_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, "user not found");
  UserRecord rec = u->second;
  rec.hash = std::move(new_hash);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  u->second = std::move(rec);
  verified_.erase(user);
  return Status::OK();
}

Status AccessControl::DeleteUser(const std::string& user) {
  if (user == kRootUser) return NotPermitted("root user cannot be deleted");
  std::unique_lock lock(mu_);
  if (!users_.count(user)) return Status::OK();  // as Milvus: dropping a missing user succeeds
  MetaBatch b;
  b.Delete(kUserPrefix + user);
  writes_++;
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
Status AccessControl::CreateRole(const std::string& role, const std::string& description) {
  KITE_RETURN_IF_ERROR(ValidateRoleName(role));
  std::unique_lock lock(mu_);
  // rootcoord checkCreateRole: the limit (built-in roles counted) before the name.
  if (static_cast<int64_t>(roles_.size()) >= options_.max_role_num) {
    return MakeStatus(StatusCode::kResourceExhausted, Reason::kUnclassified,
                      "unable to create role because the number of roles has reached the limit");
  }
  // Milvus formats the role entity with %s: `role [name:"r"] already exists`.
  if (roles_.count(role)) {
    return MakeStatus(StatusCode::kAlreadyExists, Reason::kUnclassified, "role [name:\"{}\"] already exists", role);
  }
  RoleRecord rec;
  rec.description = description;
  KITE_RETURN_IF_ERROR(PersistRole(role, rec));
  roles_[role] = std::move(rec);
  return Status::OK();
}

Status AccessControl::AlterRole(const std::string& role, const std::string& description) {
  KITE_RETURN_IF_ERROR(ValidateRoleName(role));
  if (role == kAdminRole || role == kPublicRole) {
    return NotPermitted("the role[{}] is a builtin role, which can't be altered", role);
  }
  std::unique_lock lock(mu_);
  auto r = roles_.find(role);
  if (r == roles_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, "role not exists");
  RoleRecord rec = r->second;
  rec.description = description;
  KITE_RETURN_IF_ERROR(PersistRole(role, rec));
  r->second = std::move(rec);
  return Status::OK();
}

Status AccessControl::DropRole(const std::string& role, bool force) {
  if (role == kAdminRole || role == kPublicRole) {
    return NotPermitted("the role[{}] is a default role, which can't be dropped", role);
  }
  std::unique_lock lock(mu_);
  auto r = roles_.find(role);
  if (r == roles_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  if (!force && !r->second.grants.empty()) {
    return MakeStatus(StatusCode::kFailedPrecondition, Reason::kUnclassified,
                      "fail to drop the role that it has privileges. Use REVOKE API to revoke privileges");
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
    b.Put(kUserPrefix + name, UserJson(rec.hash, roles));
  }
  writes_++;
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (const auto& m : members) users_[m].roles.erase(role);
  roles_.erase(r);
  return Status::OK();
}

Status AccessControl::AddUserToRole(const std::string& user, const std::string& role) {
  std::unique_lock lock(mu_);
  // rootcoord OperateUserRole: the role first, then the user.
  if (!roles_.count(role)) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  auto u = users_.find(user);
  if (u == users_.end()) {
    return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified,
                      "not found the user, maybe the user isn't existed or internal system error");
  }
  if (u->second.roles.count(role)) return Status::OK();
  UserRecord rec = u->second;
  rec.roles.insert(role);
  KITE_RETURN_IF_ERROR(PersistUser(user, rec));
  u->second = std::move(rec);
  return Status::OK();
}

Status AccessControl::RemoveUserFromRole(const std::string& user, const std::string& role) {
  std::unique_lock lock(mu_);
  // rootcoord OperateUserRole: the role must exist; the user is not checked on removal.
  if (!roles_.count(role)) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  auto u = users_.find(user);
  if (u == users_.end() || !u->second.roles.count(role)) return Status::OK();
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
    RoleUsers ru{name, {}, rec.description};
    for (const auto& [user, urec] : users_) {
      if (urec.roles.count(name)) ru.users.push_back(user);
    }
    out.push_back(std::move(ru));
  }
  return out;
}

// --------------------------------------------------------------------- grants
// rootcoord OperatePrivilege v1 checks (operatePrivilegeCommonCheck, then
// isValidPrivilege): the object type, the role, then the privilege against
// the object type's list; a Global grant of a single privilege is stored for
// object "*". Holds mu_.
Status AccessControl::CheckGrantV1(Grant* grant) const {
  if (grant->object_type != "Global" && grant->object_type != "Collection" && grant->object_type != "User") {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                      "the object entity in the request is nil or invalid");
  }
  if (grant->object_name.empty()) return InvalidArgument("the object name in the grant entity is empty");
  if (!roles_.count(grant->role)) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  const std::string& name = grant->privilege;
  if (name != "*") {
    if (groups_.count(name)) {
      return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                        "can not operate the custom privilege group [{}]", name);
    }
    auto v2_groups = BuiltinGroupNames();
    if (std::find(v2_groups.begin(), v2_groups.end(), name) != v2_groups.end()) {
      return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                        "can not operate the built-in privilege group [{}]", name);
    }
    if (!ObjectAllows(grant->object_type, name)) {
      return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified,
                        "not found the privilege name[{}] in object[{}]", name, grant->object_type);
    }
  }
  if (grant->object_type == "Global" && !IsBuiltinGroup(name)) grant->object_name = "*";
  return Status::OK();
}

Status AccessControl::GrantPrivilege(Grant grant) {
  if (grant.db_name.empty()) grant.db_name = "default";
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(CheckGrantV1(&grant));
  return StoreGrant(std::move(grant));
}

Status AccessControl::RevokePrivilege(const Grant& grant_in) {
  Grant grant = grant_in;
  if (grant.db_name.empty()) grant.db_name = "default";
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(CheckGrantV1(&grant));
  return RemoveGrant(grant);
}

Status AccessControl::StoreGrant(Grant grant) {
  if (grant.privilege == "*") grant.privilege = "All";
  auto r = roles_.find(grant.role);
  if (r == roles_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  for (const auto& g : r->second.grants) {
    if (SameGrant(g, grant)) return Status::OK();  // granting twice is not an error (as Milvus)
  }
  RoleRecord rec = r->second;
  rec.grants.push_back(std::move(grant));
  KITE_RETURN_IF_ERROR(PersistRole(r->first, rec));
  r->second = std::move(rec);
  return Status::OK();
}

Status AccessControl::RemoveGrant(Grant grant) {
  if (grant.privilege == "*") grant.privilege = "All";
  auto r = roles_.find(grant.role);
  if (r == roles_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
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
  if (r == roles_.end()) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  // Milvus's catalog ListGrant: no db means "default"; grants on every
  // database ("*") match any, and asking for "*" lists them all.
  const std::string database = DbOrDefault(db);
  std::vector<Grant> out;
  for (const auto& g : r->second.grants) {
    if (!object_type.empty() && g.object_type != object_type) continue;
    if (!object_name.empty() && g.object_name != object_name) continue;
    if (database != "*" && g.db_name != "*" && g.db_name != database) continue;
    out.push_back(g);
  }
  return out;
}

// ----------------------------------------------------------- privilege groups
Status AccessControl::CreatePrivilegeGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  std::unique_lock lock(mu_);
  // rootcoord CheckIfPrivilegeGroupCreatable: a custom group first, then the built-in names.
  if (groups_.count(name)) return InvalidParameter("privilege group name [{}] is defined by users", name);
  if (IsBuiltinGroup(name) || IsKnownPrivilege(name) || name == "All") {
    return InvalidParameter(
        "privilege group name [{}] is defined by built in privileges or privilege groups in system", name);
  }
  KITE_RETURN_IF_ERROR(PersistGroup(name, {}));
  groups_[name] = {};
  return Status::OK();
}

Status AccessControl::DropPrivilegeGroup(const std::string& name) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  std::unique_lock lock(mu_);
  // As Milvus: dropping what is not a custom group (missing or built-in) succeeds and changes nothing.
  if (!groups_.count(name)) return Status::OK();
  for (const auto& [role, rec] : roles_) {
    for (const auto& g : rec.grants) {
      if (g.privilege == name) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kUnclassified,
                          "privilege group [{}] is used by role [{}], Use REVOKE API to revoke it first", name, role);
      }
    }
  }
  MetaBatch b;
  b.Delete(kGroupPrefix + name);
  writes_++;
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

// rootcoord CheckIfPrivilegeGroupAlterable (holds mu_).
Status AccessControl::CheckGroupAlterable(const std::string& name, const std::vector<std::string>& privileges,
                                          bool adding) const {
  auto g = groups_.find(name);
  if (g == groups_.end()) return InvalidParameter("there is no privilege group name [{}] defined in system to operate", name);
  if (privileges.empty()) return InvalidParameter("privileges is empty when alter the privilege group");
  for (const auto& p : privileges) {
    if (IsKnownPrivilege(p) || IsBuiltinGroup(p) || p == "All" || groups_.count(p)) continue;
    return InvalidParameter("there is no privilege name or privilege group name [{}] defined in system to operate", p);
  }
  if (adding) {
    std::set<std::string_view> levels;
    for (const auto& p : privileges) levels.insert(PrivilegeLevel(p));
    for (const auto& p : g->second) levels.insert(PrivilegeLevel(p));
    if (levels.size() > 1) return InvalidParameter("privileges are not the same privilege level");
  }
  return Status::OK();
}

Status AccessControl::AddPrivilegesToGroup(const std::string& name, const std::vector<std::string>& privileges) {
  KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(name));
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(CheckGroupAlterable(name, privileges, true));
  auto g = groups_.find(name);
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
  KITE_RETURN_IF_ERROR(CheckGroupAlterable(name, privileges, false));
  auto g = groups_.find(name);
  std::vector<std::string> next;
  for (const auto& p : g->second) {
    if (std::find(privileges.begin(), privileges.end(), p) == privileges.end()) next.push_back(p);
  }
  KITE_RETURN_IF_ERROR(PersistGroup(name, next));
  g->second = std::move(next);
  return Status::OK();
}

// ------------------------------------------------------------------ grants v2
Status AccessControl::CheckGrantV2(Grant* grant) const {
  // rootcoord OperatePrivilege with version "v2": the role, the privilege name
  // (isValidPrivilegeV2), then a group's level against the db / collection
  // given (validatePrivilegeGroupParams; single privileges are not checked).
  if (!roles_.count(grant->role)) return MakeStatus(StatusCode::kNotFound, Reason::kUnclassified, kRoleNotFound);
  const std::string& name = grant->privilege;
  auto custom = groups_.find(name);
  bool defined = name == "*" || name == "All" || IsKnownPrivilege(name) || IsBuiltinGroup(name);
  if (!defined && custom == groups_.end()) {
    return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified, "not found the privilege name[{}]", name);
  }
  std::string first;
  if (IsBuiltinGroup(name) && !BuiltinGroupMembers(name).empty()) {
    first = BuiltinGroupMembers(name).front();
  } else if (custom != groups_.end() && !custom->second.empty()) {
    first = custom->second.front();
  }
  if (!first.empty()) {
    std::string_view level = PrivilegeLevel(first);
    const std::string& db = grant->db_name;
    const std::string& coll = grant->object_name;
    if (level == "Cluster") {
      if (db != "*" || coll != "*") {
        return InvalidParameter("dbName and collectionName should be * for the cluster level privilege: {}", name);
      }
    } else if (level == "Database") {
      if (!coll.empty() && coll != "*") {
        return InvalidParameter("collectionName should be * for the database level privilege: {}", name);
      }
    } else if (level == "Collection") {
      if (db == "*" && !coll.empty() && coll != "*") {
        return InvalidParameter("please specify database name for the collection level privilege: {}", name);
      }
    } else {
      return MakeStatus(StatusCode::kInvalidArgument, Reason::kUnclassified, "not found the privilege level");
    }
  }
  // Stored as Milvus stores it ("set up object type for metastore, to be compatible with v1").
  grant->object_type = std::string(ObjectTypeForPrivilege(name));
  if (grant->object_name.empty()) grant->object_name = "*";
  if (grant->db_name.empty()) grant->db_name = "default";
  return Status::OK();
}

Status AccessControl::GrantPrivilegeV2(Grant grant) {
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(CheckGrantV2(&grant));
  return StoreGrant(std::move(grant));
}

Status AccessControl::RevokePrivilegeV2(Grant grant) {
  std::unique_lock lock(mu_);
  KITE_RETURN_IF_ERROR(CheckGrantV2(&grant));
  return RemoveGrant(std::move(grant));
}

// ------------------------------------------------------------------ visibility
std::vector<std::string> AccessControl::ExplicitRoles(const std::string& user) const {
  auto u = users_.find(user);
  if (u == users_.end()) return {};
  return {u->second.roles.begin(), u->second.roles.end()};
}

Visibility AccessControl::VisibleCollections(const std::string& user, std::string_view db) const {
  Visibility v;
  // Milvus bypasses the filter for root only; Kite also for the configured
  // superUsers, who hold every privilege. The user's own roles count (not
  // the implicit public role), as in Milvus.
  if (!enabled() || IsSuperUser(user)) {
    v.all = true;
    return v;
  }
  std::string database = DbOrDefault(db);
  std::shared_lock lock(mu_);
  for (const auto& role : ExplicitRoles(user)) {
    if (role == kAdminRole) {
      v.all = true;
      return v;
    }
    auto r = roles_.find(role);
    if (r == roles_.end()) continue;
    for (const Grant& g : r->second.grants) {
      if (g.db_name != database && g.db_name != "*") continue;
      if (g.object_type == "Global" && g.privilege == "All") {
        v.all = true;
        return v;
      }
      if (g.object_type != "Collection" && !IsCollectionPrivilegeGroup(g.privilege)) continue;
      if (g.object_name == "*") {
        v.all = true;
        return v;
      }
      v.names.insert(g.object_name);
    }
  }
  return v;
}

Visibility AccessControl::VisibleDatabases(const std::string& user) const {
  Visibility v;
  if (!enabled() || IsSuperUser(user)) {
    v.all = true;
    return v;
  }
  std::shared_lock lock(mu_);
  for (const auto& role : ExplicitRoles(user)) {
    if (role == kAdminRole) {
      v.all = true;
      return v;
    }
    auto r = roles_.find(role);
    if (r == roles_.end()) continue;
    for (const Grant& g : r->second.grants) {
      if (g.db_name == "*") {
        v.all = true;
        return v;
      }
      v.names.insert(g.db_name);
    }
  }
  return v;
}

// ------------------------------------------------------------ backup / restore
RbacSnapshot AccessControl::Backup() const {
  RbacSnapshot out;
  std::shared_lock lock(mu_);
  for (const auto& [name, rec] : users_) {
    if (name == kRootUser) continue;
    out.users.push_back({name, rec.hash, {rec.roles.begin(), rec.roles.end()}});
  }
  for (const auto& [name, rec] : roles_) {
    if (name == kAdminRole || name == kPublicRole) continue;
    out.roles.push_back({name, rec.description});
    out.grants.insert(out.grants.end(), rec.grants.begin(), rec.grants.end());
  }
  for (const auto& [name, privileges] : groups_) out.groups.push_back({name, privileges});
  return out;
}

Status AccessControl::Restore(const RbacSnapshot& snap) {
  // rootcoord CheckIfRBACRestorable, in its order and with its texts; Kite
  // also checks names and grants so that nothing malformed is written, and
  // writes everything in one batch (all or nothing).
  auto plain = [](StatusCode code, std::string message) {
    return Status(code, Reason::kUnclassified, std::move(message));
  };
  if (snap.users.empty() && snap.roles.empty() && snap.grants.empty() && snap.groups.empty()) {
    return plain(StatusCode::kInvalidArgument, "rbac meta is empty");
  }
  std::unique_lock lock(mu_);
  std::set<std::string> roles_after;
  for (const auto& [name, rec] : roles_) roles_after.insert(name);
  for (const auto& r : snap.roles) {
    KITE_RETURN_IF_ERROR(ValidateRoleName(r.name));
    if (roles_.count(r.name)) return plain(StatusCode::kAlreadyExists, fmt::format("role [{}] already exists", r.name));
    if (!roles_after.insert(r.name).second) {
      return plain(StatusCode::kAlreadyExists, fmt::format("role [{}] already exists", r.name));
    }
  }
  std::set<std::string> groups_after;
  for (const auto& [name, privileges] : groups_) groups_after.insert(name);
  for (const auto& g : snap.groups) {
    KITE_RETURN_IF_ERROR(ValidatePrivilegeGroupName(g.name));
    if (!groups_after.insert(g.name).second || IsBuiltinGroup(g.name) || IsKnownPrivilege(g.name)) {
      return plain(StatusCode::kAlreadyExists, fmt::format("privilege group [{}] already exists", g.name));
    }
  }
  auto defined = [&](const std::string& p) {
    return p == "*" || p == "All" || IsKnownPrivilege(p) || IsBuiltinGroup(p) || groups_after.count(p) > 0;
  };
  for (const auto& g : snap.groups) {
    for (const auto& p : g.privileges) {
      if (!defined(p)) return plain(StatusCode::kInvalidArgument, fmt::format("privilege [{}] does not exist", p));
    }
  }
  for (const auto& g : snap.grants) {
    if (!defined(g.privilege)) {
      return plain(StatusCode::kInvalidArgument, fmt::format("privilege [{}] does not exist", g.privilege));
    }
    if (!roles_after.count(g.role)) {
      return plain(StatusCode::kNotFound, fmt::format("role [{}] does not exist", g.role));
    }
    if (g.object_type != "Global" && g.object_type != "Collection" && g.object_type != "User") {
      return InvalidArgument("not found the object type[name: {}], supported the object types: [Collection Global User]",
                             g.object_type);
    }
    if (g.object_name.empty()) return InvalidArgument("the object name in the grant entity is empty");
  }
  std::set<std::string> users_after;
  for (const auto& u : snap.users) {
    KITE_RETURN_IF_ERROR(ValidateUsername(u.name));
    // Kite-only: the password must be a hash Kite wrote, no dearer than this server's.
    if (!AcceptableHash(u.password_hash, options_.cost)) {
      return InvalidArgument("the password of user [{}] is not a password hash this server accepts", u.name);
    }
    if (users_.count(u.name) || !users_after.insert(u.name).second) {
      return plain(StatusCode::kAlreadyExists, fmt::format("user [{}] already exists", u.name));
    }
    for (const auto& r : u.roles) {
      if (!roles_after.count(r)) return plain(StatusCode::kNotFound, fmt::format("role [{}] does not exist", r));
    }
  }
  if (static_cast<int64_t>(users_.size() + snap.users.size()) > options_.max_user_num) {
    return plain(StatusCode::kResourceExhausted,
                 "unable to add user because the number of users has reached the limit");
  }
  if (static_cast<int64_t>(roles_after.size()) > options_.max_role_num) {
    return plain(StatusCode::kResourceExhausted,
                 "unable to create role because the number of roles has reached the limit");
  }

  // New state, then one batch, then memory.
  std::map<std::string, RoleRecord> changed_roles;
  for (const auto& r : snap.roles) changed_roles[r.name].description = r.description;
  for (const auto& g : snap.grants) {
    auto it = changed_roles.find(g.role);
    if (it == changed_roles.end()) it = changed_roles.emplace(g.role, roles_.at(g.role)).first;
    Grant grant = g;
    if (grant.privilege == "*") grant.privilege = "All";
    if (grant.db_name.empty()) grant.db_name = "default";
    bool dup = false;
    for (const auto& have : it->second.grants) dup = dup || SameGrant(have, grant);
    if (!dup) it->second.grants.push_back(std::move(grant));
  }
  std::map<std::string, UserRecord> new_users;
  for (const auto& u : snap.users) {
    UserRecord rec;
    rec.hash = u.password_hash;
    rec.roles.insert(u.roles.begin(), u.roles.end());
    new_users[u.name] = std::move(rec);
  }
  MetaBatch b;
  for (const auto& [name, rec] : changed_roles) b.Put(kRolePrefix + name, RoleJson(rec));
  for (const auto& g : snap.groups) b.Put(kGroupPrefix + g.name, Json{{"privileges", g.privileges}}.dump());
  for (const auto& [name, rec] : new_users) b.Put(kUserPrefix + name, UserJson(rec.hash, rec.roles));
  writes_++;
  KITE_RETURN_IF_ERROR(meta_->Commit(b));
  for (auto& [name, rec] : changed_roles) roles_[name] = std::move(rec);
  for (const auto& g : snap.groups) groups_[g.name] = g.privileges;
  for (auto& [name, rec] : new_users) users_[name] = std::move(rec);
  return Status::OK();
}

}  // namespace kite::auth
