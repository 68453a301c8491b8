#include "rpc/access.h"

#include "common/call_context.h"
#include "milvus_service_defaults.h"
#include "roles/auth/password_hash.h"

namespace kite::rpc {
namespace {

namespace pb = ::google::protobuf;

std::string StringField(const pb::Message& m, const char* name) {
  const pb::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (!f || f->is_repeated() || f->type() != pb::FieldDescriptor::TYPE_STRING) return {};
  return m.GetReflection()->GetString(m, f);
}

// The request's db_name, else pymilvus's `dbname` metadata, else "" (default).
std::string RequestDb(const ::grpc::ServerContextBase* ctx, const pb::Message& req) {
  std::string db = StringField(req, "db_name");
  if (!db.empty()) return db;
  const auto& md = ctx->client_metadata();
  auto it = md.find("dbname");
  if (it != md.end()) return std::string(it->second.data(), it->second.size());
  return {};
}

}  // namespace

auth::Decision AuthenticateToken(auth::AccessControl* ac, std::string_view token, std::string_view peer,
                                 auth::Caller* caller) {
  std::string raw;
  if (!auth::Base64Decode(token, &raw)) return {auth::Denial::kUnauthenticated, "invalid token format"};
  return ac->Authenticate(raw, peer, caller);
}

auth::Decision CallerOf(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx, auth::Caller* caller) {
  if (!ac || !ac->enabled()) return {};
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return {auth::Denial::kUnauthenticated, "missing authorization in header"};
  return AuthenticateToken(ac, std::string_view(it->second.data(), it->second.size()), ctx->peer(), caller);
}

auth::Visibility VisibleCollections(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx, std::string_view db) {
  auth::Visibility v;
  if (!ac || !ac->enabled()) {
    v.all = true;
    return v;
  }
  auth::Caller caller;
  if (!CallerOf(ac, ctx, &caller).ok()) return v;
  return ac->VisibleCollections(caller.user, db);
}

auth::Visibility VisibleDatabases(auth::AccessControl* ac, const ::grpc::ServerContextBase* ctx) {
  auth::Visibility v;
  if (!ac || !ac->enabled()) {
    v.all = true;
    return v;
  }
  auth::Caller caller;
  if (!CallerOf(ac, ctx, &caller).ok()) return v;
  return ac->VisibleDatabases(caller.user);
}

std::vector<std::string> RequestObjects(const auth::PrivilegeRule* rule, const pb::Message& req) {
  std::vector<std::string> out;
  if (!rule || rule->object == auth::ObjectType::kGlobal) return out;
  const pb::Descriptor* d = req.GetDescriptor();
  const pb::Reflection* r = req.GetReflection();
  if (rule->object == auth::ObjectType::kCollection) {
    if (const auto* f = d->FindFieldByName("collection_names"); f && f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(req, f); ++i) out.push_back(r->GetRepeatedString(req, f, i));
      return out;
    }
    out.push_back(StringField(req, "collection_name"));
    return out;
  }
  // User objects: `username`, or the `user` entity's name (SelectUser).
  std::string user = StringField(req, "username");
  if (user.empty()) user = StringField(req, "user_name");
  if (user.empty()) {
    if (const auto* f = d->FindFieldByName("user"); f && f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (r->HasField(req, f)) user = StringField(r->GetMessage(req, f), "name");
    }
  }
  if (!user.empty()) out.push_back(std::move(user));
  return out;
}

::grpc::Status ToGrpcStatus(const auth::Decision& d) {
  switch (d.denial) {
    case auth::Denial::kNone: return ::grpc::Status::OK;
    case auth::Denial::kUnauthenticated: return {::grpc::StatusCode::UNAUTHENTICATED, d.message};
    case auth::Denial::kPermissionDenied: return {::grpc::StatusCode::PERMISSION_DENIED, d.message};
  }
  return ::grpc::Status::OK;
}

int32_t AdmitFailureCode(const ::grpc::Status& st) {
  return st.error_code() == ::grpc::StatusCode::UNAUTHENTICATED ? 1800 : 65535;
}

::grpc::Status MilvusServiceDefaults::Admit(const ::grpc::ServerContextBase* ctx, const char* rpc,
                                            const pb::Message& request) const {
  auth::AccessControl* ac = access_control_;
  if (!ac || !ac->enabled()) return ::grpc::Status::OK;
  auth::Caller caller;
  auth::Decision d = CallerOf(ac, ctx, &caller);
  if (!d.ok()) return ToGrpcStatus(d);
  SetCurrentCaller(caller.user);  // the role calls' RequestContext.caller (common/call_context.h)
  std::string_view name(rpc);
  // Anyone may list the grants of a role they hold (Milvus: isSelectMyRoleGrants).
  if (name == "SelectGrant") {
    const pb::Descriptor* desc = request.GetDescriptor();
    if (const auto* ef = desc->FindFieldByName("entity"); ef && request.GetReflection()->HasField(request, ef)) {
      const pb::Message& entity = request.GetReflection()->GetMessage(request, ef);
      if (const auto* rf = entity.GetDescriptor()->FindFieldByName("role");
          rf && entity.GetReflection()->HasField(entity, rf)) {
        std::string role = StringField(entity.GetReflection()->GetMessage(entity, rf), "name");
        auto users = ac->SelectUsers(caller.user);
        if (role == auth::kPublicRole) return ::grpc::Status::OK;
        if (users.ok() && !users->empty()) {
          for (const auto& r : (*users)[0].roles) {
            if (r == role) return ::grpc::Status::OK;
          }
        }
      }
    }
  }
  return ToGrpcStatus(ac->Authorize(caller, name, RequestDb(ctx, request), RequestObjects(auth::RuleFor(name), request)));
}

}  // namespace kite::rpc
