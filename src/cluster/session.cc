#include "cluster/session.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <limits>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace kite {
namespace {

using Json = nlohmann::ordered_json;

std::string LocalHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

Result<int64_t> ParseDecimal(std::string_view key, const std::string& text) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size()) return static_cast<int64_t>(v);
  } catch (const std::exception&) {
  }
  return Corruption("meta key {}: '{}' is not a decimal number", key, text);
}

// Waits up to `timeout` for `key` to be deleted after `revision` (a watch from
// revision + 1). Returns early on a delete; errors just end the wait.
// Whether a process accepts connections at `address` (host:port; an
// unspecified host means this one) within `timeout`. A session held at our
// own address is our earlier run's only if nothing serves there: several
// processes on one host may name the same address (every coordinator's
// rootCoord.port defaults to 53100), and a live one's session must never be
// taken.
bool SomethingListens(const std::string& address, std::chrono::milliseconds timeout) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return false;
  bool listens = false;
  for (addrinfo* ai = res; ai != nullptr && !listens; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc == 0) {
      listens = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        listens = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return listens;
}

void WaitForDelete(MetaStore* store, const std::string& key, int64_t revision, std::chrono::milliseconds timeout) {
  auto watch = store->Watch(key, revision + 1);
  if (!watch.ok()) return;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto now = std::chrono::steady_clock::now(); now < deadline; now = std::chrono::steady_clock::now()) {
    auto events = (*watch)->Next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!events.ok()) return;
    for (const MetaEvent& e : *events) {
      if (e.kv.key == key && e.type == MetaEvent::Type::kDelete) return;
    }
  }
}

}  // namespace

std::string EncodeSession(const SessionInfo& s) {
  // Go's encoding/json of Milvus's SessionRaw: struct order; omitempty on all
  // but TriggerKill and Version; the IndexEngineVersion structs are never
  // omitted (omitempty does not apply to structs) and are empty here.
  Json j = Json::object();
  if (s.server_id != 0) j["ServerID"] = s.server_id;
  if (!s.server_name.empty()) j["ServerName"] = s.server_name;
  if (!s.address.empty()) j["Address"] = s.address;
  if (s.exclusive) j["Exclusive"] = true;
  if (s.stopping) j["Stopping"] = true;
  j["TriggerKill"] = s.trigger_kill;
  j["Version"] = s.version;
  j["IndexEngineVersion"] = Json::object();
  j["ScalarIndexEngineVersion"] = Json::object();
  if (s.lease_id != 0) j["LeaseID"] = s.lease_id;
  if (!s.host_name.empty()) j["HostName"] = s.host_name;
  if (!s.server_labels.empty()) {
    Json labels = Json::object();
    for (const auto& [k, v] : s.server_labels) labels[k] = v;
    j["ServerLabels"] = std::move(labels);
  }
  return j.dump();
}

Result<SessionInfo> DecodeSession(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Corruption("session value is not a JSON object: '{}'", text.substr(0, 200));
  SessionInfo s;
  try {
    if (j.contains("ServerID")) s.server_id = j["ServerID"].get<int64_t>();
    if (j.contains("ServerName")) s.server_name = j["ServerName"].get<std::string>();
    if (j.contains("Address")) s.address = j["Address"].get<std::string>();
    if (j.contains("Exclusive")) s.exclusive = j["Exclusive"].get<bool>();
    if (j.contains("Stopping")) s.stopping = j["Stopping"].get<bool>();
    if (j.contains("TriggerKill")) s.trigger_kill = j["TriggerKill"].get<bool>();
    if (j.contains("Version")) s.version = j["Version"].get<std::string>();
    if (j.contains("LeaseID") && !j["LeaseID"].is_null()) s.lease_id = j["LeaseID"].get<int64_t>();
    if (j.contains("HostName")) s.host_name = j["HostName"].get<std::string>();
    if (j.contains("ServerLabels") && j["ServerLabels"].is_object()) {
      for (const auto& [k, v] : j["ServerLabels"].items()) s.server_labels[k] = v.get<std::string>();
    }
  } catch (const Json::exception& e) {
    return Corruption("session value '{}': {}", text.substr(0, 200), e.what());
  }
  return s;
}

std::string SessionKey(std::string_view role, int64_t server_id, bool exclusive) {
  std::string key = std::string(kSessionPrefix) + std::string(role);
  if (!exclusive) key += "-" + std::to_string(server_id);
  return key;
}

Result<int64_t> AllocateServerId(MetaStore* store) {
  const std::string key(kServerIdKey);
  // Contention only delays: every failed compare means another allocation won.
  for (;;) {
    KITE_ASSIGN_OR_RETURN(MetaRead read, store->Read(key, /*prefix=*/false));
    int64_t id = 1;
    int64_t mod_revision = 0;  // absent: create it (Milvus: "1", then take 1)
    if (!read.kvs.empty()) {
      KITE_ASSIGN_OR_RETURN(id, ParseDecimal(key, read.kvs[0].value));
      mod_revision = read.kvs[0].mod_revision;
      if (id < 1 || id == std::numeric_limits<int64_t>::max()) {
        return Corruption("meta key {}: {} is not a usable server id", key, id);
      }
    }
    MetaBatch b;
    b.RequireModRevision(key, mod_revision);
    b.Put(key, std::to_string(id + 1));
    KITE_ASSIGN_OR_RETURN(MetaTxnResult r, store->Txn(b));
    if (r.succeeded) return id;
  }
}

Session::Session(MetaStore* store, SessionInfo info, std::string key, int64_t ttl_s, std::function<void()> on_lost)
    : store_(store), info_(std::move(info)), key_(std::move(key)), ttl_s_(ttl_s), on_lost_(std::move(on_lost)) {}

Result<std::unique_ptr<Session>> Session::Register(MetaStore* store, SessionOptions o) {
  if (o.role.empty() || o.role.find('/') != std::string::npos) {
    return InvalidArgument("session role '{}': must be non-empty and contain no '/'", o.role);
  }
  if (o.ttl_s < 1) return InvalidArgument("config key common.session.ttl: {} is below 1 second", o.ttl_s);
  if (o.retry_times < 1) {
    return InvalidArgument("config key common.session.retryTimes: {} is below 1", o.retry_times);
  }
  SessionInfo info;
  info.server_id = o.server_id;
  if (info.server_id == 0) {
    KITE_ASSIGN_OR_RETURN(info.server_id, AllocateServerId(store));
  }
  info.server_name = o.role;
  info.address = o.address;
  info.exclusive = o.exclusive;
  info.version = o.version;
  info.host_name = o.host_name.empty() ? LocalHostName() : o.host_name;
  info.server_labels = o.server_labels;
  std::string key = SessionKey(o.role, info.server_id, o.exclusive);

  std::unique_ptr<Session> session(new Session(store, info, key, o.ttl_s, std::move(o.on_lost)));
  Session* self = session.get();
  KITE_ASSIGN_OR_RETURN(std::unique_ptr<LeaseKeeper> keeper,
                        LeaseKeeper::Start(store, o.ttl_s, [self] { self->OnLeaseLost(); }));
  session->info_.lease_id = keeper->lease();
  const std::string value = EncodeSession(session->info_);

  Status last;
  for (int64_t attempt = 0; attempt < o.retry_times; ++attempt) {
    if (keeper->lost()) return IOError("session {}: lease {} lost while registering", key, keeper->lease());
    MetaBatch b;
    b.RequireModRevision(key, 0);
    b.PutWithLease(key, value, keeper->lease());
    auto r = store->Txn(b);
    if (r.ok() && r->succeeded) {
      session->keeper_ = std::move(keeper);
      spdlog::info("session {} registered (ServerID {}, lease {}, ttl {} s)", key, info.server_id,
                   session->info_.lease_id, o.ttl_s);
      return session;
    }
    if (!r.ok()) {
      last = r.status();
      spdlog::warn("session {}: register failed: {}", key, last.ToString());
      std::this_thread::sleep_for(std::chrono::seconds(1));  // retry pacing, not synchronisation
      continue;
    }
    // Held. Milvus's restart fast path: our own earlier run's session
    // (same address, older id, nothing serving there) is removed rather than
    // waited out.
    auto held = store->Read(key, false);
    int64_t revision = r->revision;
    if (held.ok() && !held->kvs.empty()) {
      revision = held->revision;
      auto other = DecodeSession(held->kvs[0].value);
      if (other.ok()) {
        last = MakeStatus(StatusCode::kAlreadyExists, Reason::kNone,
                          "session {} is held by ServerID {} at '{}'", key, other->server_id, other->address);
        if (!o.address.empty() && other->address == o.address && other->server_id < info.server_id &&
            !SomethingListens(other->address, std::chrono::milliseconds(500))) {
          MetaBatch del;
          del.RequireModRevision(key, held->kvs[0].mod_revision);
          del.Delete(key);
          if (auto d = store->Txn(del); d.ok() && d->succeeded) {
            spdlog::info("session {}: removed the session of an earlier run (ServerID {})", key, other->server_id);
            continue;
          }
        }
      } else {
        last = MakeStatus(StatusCode::kAlreadyExists, Reason::kNone, "session {} is held", key);
      }
    } else if (held.ok()) {
      continue;  // gone meanwhile
    }
    WaitForDelete(store, key, revision, std::chrono::seconds(1));
  }
  return last.ok() ? MakeStatus(StatusCode::kAlreadyExists, Reason::kNone, "session {} is held", key) : last;
}

Session::~Session() { Stop(); }

void Session::OnLeaseLost() {
  spdlog::error("session {}: lease {} lost: this process is no longer a member of the cluster", key_,
                info_.lease_id);
  if (on_lost_) on_lost_();
}

bool Session::lost() const {
  std::lock_guard lock(mu_);
  return keeper_ != nullptr && keeper_->lost();
}

bool Session::stopped() const {
  std::lock_guard lock(mu_);
  return keeper_ == nullptr;
}

Status Session::GoingStop() {
  {
    std::lock_guard lock(mu_);
    if (keeper_ == nullptr) return Status::OK();
  }
  KITE_ASSIGN_OR_RETURN(MetaRead read, store_->Read(key_, false));
  if (read.kvs.empty() || read.kvs[0].lease != info_.lease_id) return Status::OK();
  SessionInfo stopping = info_;
  stopping.stopping = true;
  MetaBatch b;
  b.RequireModRevision(key_, read.kvs[0].mod_revision);
  b.PutWithLease(key_, EncodeSession(stopping), info_.lease_id);
  KITE_ASSIGN_OR_RETURN(MetaTxnResult r, store_->Txn(b));
  if (r.succeeded) stopping_ = true;
  return Status::OK();
}

void Session::Stop() {
  {
    std::lock_guard lock(mu_);
    if (keeper_ == nullptr) return;
  }
  if (Status st = GoingStop(); !st.ok()) spdlog::warn("session {}: marking it stopping failed: {}", key_, st.ToString());
  std::unique_ptr<LeaseKeeper> keeper;
  {
    std::lock_guard lock(mu_);
    keeper = std::move(keeper_);
  }
  keeper.reset();  // joins the keep-alive thread (outside mu_: on_lost may call lost()), revokes the lease
  spdlog::info("session {} stopped", key_);
}

}  // namespace kite
