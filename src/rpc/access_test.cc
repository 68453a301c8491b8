// The privilege table (roles/auth/privileges.cc) against Milvus's own
// declaration of it: the privilege_ext_obj option of each request message.
#include <gtest/gtest.h>

#include "common.pb.h"
#include "milvus.pb.h"
#include "roles/auth/privileges.h"

namespace kite::rpc {
namespace {

TEST(PrivilegeTable, EveryMilvusRpcIsCheckedOrExplicitlyAuthenticatedOnly) {
  // Touch a message so milvus.proto's descriptors are registered, then find the service.
  ASSERT_NE(::milvus::proto::milvus::ConnectRequest::descriptor(), nullptr);
  const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "milvus.proto.milvus.MilvusService");
  ASSERT_NE(service, nullptr);
  int checked = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    const auto& opts = m->input_type()->options();
    const auto* rule = auth::RuleFor(m->name());
    if (opts.HasExtension(::milvus::proto::common::privilege_ext_obj)) {
      const auto& ext = opts.GetExtension(::milvus::proto::common::privilege_ext_obj);
      ASSERT_NE(rule, nullptr) << m->name();
      EXPECT_EQ(auth::ObjectTypeName(rule->object), ::milvus::proto::common::ObjectType_Name(ext.object_type()))
          << m->name();
      EXPECT_EQ("Privilege" + std::string(rule->privilege),
                ::milvus::proto::common::ObjectPrivilege_Name(ext.object_privilege()))
          << m->name();
      EXPECT_FALSE(auth::AuthenticatedOnly(m->name())) << m->name();
      ++checked;
    } else {
      EXPECT_EQ(rule, nullptr) << m->name();
      EXPECT_TRUE(auth::AuthenticatedOnly(m->name())) << m->name() << " is neither checked nor listed";
    }
  }
  EXPECT_EQ(static_cast<size_t>(checked), auth::RuleRpcs().size());
}

TEST(PrivilegeTable, BuiltinGroupsHoldOnlyKnownPrivileges) {
  for (auto g : auth::BuiltinGroupNames()) {
    ASSERT_FALSE(auth::BuiltinGroupMembers(g).empty()) << g;
    for (auto p : auth::BuiltinGroupMembers(g)) EXPECT_TRUE(auth::IsKnownPrivilege(p)) << g << " " << p;
  }
  for (const auto& r : auth::RuleRpcs()) EXPECT_TRUE(auth::IsKnownPrivilege(auth::RuleFor(r)->privilege)) << r;
}

}  // namespace
}  // namespace kite::rpc
