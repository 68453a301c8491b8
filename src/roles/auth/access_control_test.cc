#include "roles/auth/access_control.h"

#include <gtest/gtest.h>

#include "roles/auth/password_hash.h"

namespace kite::auth {
namespace {

SecurityOptions Enabled() {
  SecurityOptions o;
  o.authorization_enabled = true;
  o.cost.log2_n = 10;  // fast hashes for tests
  return o;
}

TEST(PasswordHash, VerifiesOnlyTheRightPasswordAndSaltsEachHash) {
  auto a = HashPassword("secret-1", {10, 8, 1});
  auto b = HashPassword("secret-1", {10, 8, 1});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);  // salted
  EXPECT_EQ(a->find("secret"), std::string::npos);
  EXPECT_TRUE(VerifyPassword("secret-1", *a));
  EXPECT_FALSE(VerifyPassword("secret-2", *a));
  EXPECT_FALSE(VerifyPassword("secret-1", "scrypt$10$8$1$bad"));
  EXPECT_FALSE(VerifyPassword("secret-1", ""));
  EXPECT_FALSE(VerifyPassword("secret-1", "scrypt$99$8$1$AAAA$AAAA"));
}

TEST(Base64, StrictAsGo) {
  std::string out;
  EXPECT_TRUE(Base64Decode("cm9vdDpNaWx2dXM=", &out));
  EXPECT_EQ(out, "root:Milvus");
  EXPECT_EQ(Base64Encode("root:Milvus"), "cm9vdDpNaWx2dXM=");
  for (const char* bad : {"cm9vdDpNaWx2dXM", "cm9v*DpN", "====", "cm9=dDpN", "a", "cm9vdDpNaWx2dXM=\n"}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
  EXPECT_TRUE(Base64Decode("", &out));
  EXPECT_EQ(out, "");
}

TEST(AccessControl, RootAuthenticatesWithTheDefaultPasswordAndWrongOnesFail) {
  auto meta = NewMemoryMetaStore();
  auto ac = AccessControl::Open(meta.get(), Enabled());
  ASSERT_TRUE(ac.ok()) << ac.status().message();
  Caller c;
  EXPECT_TRUE((*ac)->Authenticate("root:Milvus", "ipv4:1.2.3.4:5", &c).ok());
  EXPECT_EQ(c.user, "root");
  Decision d = (*ac)->Authenticate("root:milvus", "ipv4:1.2.3.4:5", &c);
  EXPECT_EQ(d.denial, Denial::kUnauthenticated);
  EXPECT_EQ(d.message, "auth check failure, please check username and password are correct");
  EXPECT_EQ((*ac)->Authenticate("nobody:Milvus", "p", &c).denial, Denial::kUnauthenticated);
  EXPECT_EQ((*ac)->Authenticate("no-colon", "p", &c).denial, Denial::kUnauthenticated);
}

TEST(AccessControl, FailedLoginsAreRateLimitedPerHostButVerifiedCallersKeepWorking) {
  auto meta = NewMemoryMetaStore();
  SecurityOptions o = Enabled();
  o.max_failed_logins_per_minute = 3;
  auto ac = std::move(AccessControl::Open(meta.get(), o)).value();
  Caller c;
  ASSERT_TRUE(ac->Authenticate("root:Milvus", "ipv4:9.9.9.9:1", &c).ok());  // verified, cached
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(ac->Authenticate("root:wrong", "ipv4:9.9.9.9:2", &c).ok());
  Decision d = ac->Authenticate("root:wrong2", "ipv4:9.9.9.9:3", &c);
  EXPECT_NE(d.message.find("too many failed attempts"), std::string::npos) << d.message;
  EXPECT_TRUE(ac->Authenticate("root:Milvus", "ipv4:9.9.9.9:4", &c).ok());
  EXPECT_TRUE(ac->Authenticate("root:wrong", "ipv4:8.8.8.8:4", &c).message.find("too many") == std::string::npos);
}

TEST(AccessControl, StatePersistsAcrossReopen) {
  auto meta = NewMemoryMetaStore();
  {
    auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
    ASSERT_TRUE(ac->CreateUser("alice", "alice-pw-1").ok());
    ASSERT_TRUE(ac->CreateRole("reader").ok());
    ASSERT_TRUE(ac->AddUserToRole("alice", "reader").ok());
    ASSERT_TRUE(ac->GrantPrivilegeV2({"reader", "", "c1", "default", "CollectionReadOnly", "root"}).ok());
    ASSERT_TRUE(ac->CreatePrivilegeGroup("g1").ok());
    ASSERT_TRUE(ac->AddPrivilegesToGroup("g1", {"Insert"}).ok());
    ASSERT_TRUE(ac->UpdatePassword("root", "Milvus", "new-root-pw", true).ok());
  }
  auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
  Caller c;
  EXPECT_TRUE(ac->Authenticate("alice:alice-pw-1", "p", &c).ok());
  EXPECT_FALSE(ac->Authenticate("root:Milvus", "p", &c).ok());
  EXPECT_TRUE(ac->Authenticate("root:new-root-pw", "p", &c).ok());
  auto grants = ac->SelectGrants("reader", "", "", "");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].privilege, "CollectionReadOnly");
  auto groups = ac->ListPrivilegeGroups();
  EXPECT_EQ(groups.back().name, "g1");
  EXPECT_EQ(groups.back().privileges, std::vector<std::string>{"Insert"});
}

TEST(AccessControl, GrantsDecideByPrivilegeGroupDatabaseAndCollection) {
  auto meta = NewMemoryMetaStore();
  auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
  ASSERT_TRUE(ac->CreateUser("bob", "bob-pw-1").ok());
  ASSERT_TRUE(ac->CreateRole("r").ok());
  ASSERT_TRUE(ac->AddUserToRole("bob", "r").ok());
  Caller bob{"bob"};
  auto allowed = [&](std::string_view rpc, std::string_view db, std::vector<std::string> objects) {
    return ac->Authorize(bob, rpc, db, objects).ok();
  };
  EXPECT_FALSE(allowed("Search", "", {"c1"}));
  Decision d = ac->Authorize(bob, "Insert", "", {"c1"});
  EXPECT_EQ(d.denial, Denial::kPermissionDenied);
  EXPECT_EQ(d.message, "PrivilegeInsert: permission deny to bob in the `default` database");
  ASSERT_TRUE(ac->GrantPrivilegeV2({"r", "", "c1", "default", "CollectionReadOnly", "root"}).ok());
  EXPECT_TRUE(allowed("Search", "", {"c1"}));
  EXPECT_TRUE(allowed("Query", "default", {"c1"}));
  EXPECT_FALSE(allowed("Search", "", {"c2"}));       // another collection
  EXPECT_FALSE(allowed("Search", "", {""}));         // no collection named: only "*" grants match
  EXPECT_FALSE(allowed("Search", "", {"*"}));
  EXPECT_FALSE(allowed("Search", "other", {"c1"}));  // another database
  EXPECT_FALSE(allowed("Insert", "", {"c1"}));       // not read-only
  EXPECT_FALSE(allowed("DropCollection", "", {}));
  EXPECT_TRUE(allowed("ShowCollections", "", {}));   // needs only authentication
  EXPECT_TRUE(allowed("DescribeCollection", "", {})); // public role
  ASSERT_TRUE(ac->DropRole("r", false).code() == StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ac->RevokePrivilegeV2({"r", "", "c1", "default", "CollectionReadOnly", ""}).ok());
  EXPECT_FALSE(allowed("Search", "", {"c1"}));
  // Custom groups, Load implying GetLoadState, and the wildcard database.
  ASSERT_TRUE(ac->CreatePrivilegeGroup("loaders").ok());
  ASSERT_TRUE(ac->AddPrivilegesToGroup("loaders", {"Load"}).ok());
  ASSERT_TRUE(ac->GrantPrivilegeV2({"r", "", "*", "default", "loaders", "root"}).ok());
  EXPECT_TRUE(allowed("LoadCollection", "default", {"c9"}));
  EXPECT_TRUE(allowed("GetLoadState", "", {"c9"}));
  EXPECT_FALSE(allowed("ReleaseCollection", "", {"c9"}));
  EXPECT_FALSE(allowed("LoadCollection", "any_db", {"c9"}));
  EXPECT_EQ(ac->DropPrivilegeGroup("loaders").code(), StatusCode::kFailedPrecondition);  // in use
  // Admin role and super users may do everything, including unknown RPCs.
  ASSERT_TRUE(ac->AddUserToRole("bob", "admin").ok());
  EXPECT_TRUE(allowed("DropDatabase", "", {}));
  EXPECT_TRUE(allowed("SomeFutureRpc", "", {}));
  ASSERT_TRUE(ac->RemoveUserFromRole("bob", "admin").ok());
  EXPECT_FALSE(allowed("SomeFutureRpc", "", {}));  // fail closed
  // A user may change their own password (User object of their own name).
  EXPECT_TRUE(allowed("UpdateCredential", "", {"bob"}));
  EXPECT_FALSE(allowed("UpdateCredential", "", {"root"}));
}

TEST(AccessControl, NamesAndPasswordsAreValidatedAsMilvus) {
  EXPECT_FALSE(ValidateUsername("").ok());
  EXPECT_FALSE(ValidateUsername("1abc").ok());
  EXPECT_FALSE(ValidateUsername("a-b").ok());
  EXPECT_FALSE(ValidateUsername(std::string(33, 'a')).ok());
  EXPECT_TRUE(ValidateUsername("a_1").ok());
  EXPECT_FALSE(ValidatePassword("12345").ok());
  EXPECT_FALSE(ValidatePassword(std::string(257, 'x')).ok());
  EXPECT_TRUE(ValidatePassword("123456").ok());
  auto meta = NewMemoryMetaStore();
  auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
  EXPECT_EQ(ac->DeleteUser("root").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ac->DropRole("admin", true).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ac->CreateUser("root", "whatever").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ac->GrantPrivilege({"public", "Global", "*", "*", "NoSuchPrivilege", ""}).code(),
            StatusCode::kInvalidArgument);
}

TEST(AccessControl, DisabledAllowsEverything) {
  auto meta = NewMemoryMetaStore();
  auto ac = std::move(AccessControl::Open(meta.get(), SecurityOptions{})).value();
  Caller c;
  EXPECT_TRUE(ac->Authenticate("garbage", "p", &c).ok());
  EXPECT_TRUE(ac->Authorize(Caller{}, "DropDatabase", "", {}).ok());
}

TEST(AccessControl, VisibilityFollowsGrantsAsMilvusListsThem) {
  auto meta = NewMemoryMetaStore();
  auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
  ASSERT_TRUE(ac->CreateUser("eve", "eve-pw-1").ok());
  ASSERT_TRUE(ac->CreateRole("r").ok());
  ASSERT_TRUE(ac->AddUserToRole("eve", "r").ok());
  EXPECT_FALSE(ac->VisibleCollections("eve", "").all);
  EXPECT_TRUE(ac->VisibleCollections("eve", "").names.empty());
  EXPECT_TRUE(ac->VisibleDatabases("eve").names.empty());
  ASSERT_TRUE(ac->GrantPrivilege({"r", "Collection", "c1", "", "Search", "root"}).ok());
  ASSERT_TRUE(ac->GrantPrivilegeV2({"r", "", "c2", "db2", "CollectionReadOnly", "root"}).ok());
  ASSERT_TRUE(ac->GrantPrivilegeV2({"r", "", "*", "db3", "DatabaseReadOnly", "root"}).ok());
  EXPECT_EQ(ac->VisibleCollections("eve", "default").names, std::set<std::string>{"c1"});
  EXPECT_EQ(ac->VisibleCollections("eve", "db2").names, std::set<std::string>{"c2"});
  EXPECT_TRUE(ac->VisibleCollections("eve", "db3").names.empty());  // a Global, database-level grant
  EXPECT_EQ(ac->VisibleDatabases("eve").names, (std::set<std::string>{"default", "db2", "db3"}));
  ASSERT_TRUE(ac->GrantPrivilege({"r", "Global", "*", "db3", "All", "root"}).ok());
  EXPECT_TRUE(ac->VisibleCollections("eve", "db3").all);
  EXPECT_TRUE(ac->VisibleCollections("root", "x").all);
  ASSERT_TRUE(ac->AddUserToRole("eve", "admin").ok());
  EXPECT_TRUE(ac->VisibleDatabases("eve").all);
}

TEST(AccessControl, GrantV1ChecksThePrivilegeAgainstTheObjectType) {
  auto meta = NewMemoryMetaStore();
  auto ac = std::move(AccessControl::Open(meta.get(), Enabled())).value();
  ASSERT_TRUE(ac->CreateRole("r").ok());
  Status st = ac->GrantPrivilege({"r", "Collection", "c1", "", "CreateCollection", ""});
  EXPECT_EQ(st.message(), "not found the privilege name[CreateCollection] in object[Collection]");
  st = ac->GrantPrivilege({"r", "Nope", "c1", "", "Search", ""});
  EXPECT_EQ(st.message(), "the object entity in the request is nil or invalid");
  st = ac->GrantPrivilege({"r", "Global", "*", "", "CollectionAdmin", ""});
  EXPECT_EQ(st.message(), "can not operate the built-in privilege group [CollectionAdmin]");
  ASSERT_TRUE(ac->GrantPrivilege({"r", "Global", "x", "", "CreateCollection", ""}).ok());
  auto grants = ac->SelectGrants("r", "", "", "");
  ASSERT_TRUE(grants.ok());
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].object_name, "*");  // a Global grant is for every object
}

TEST(AccessControl, BackupRestoresIntoAnotherInstanceAllOrNothing) {
  auto meta_a = NewMemoryMetaStore();
  auto a = std::move(AccessControl::Open(meta_a.get(), Enabled())).value();
  ASSERT_TRUE(a->CreateUser("ann", "ann-pw-12").ok());
  ASSERT_TRUE(a->CreateRole("r", "described").ok());
  ASSERT_TRUE(a->AddUserToRole("ann", "r").ok());
  ASSERT_TRUE(a->GrantPrivilege({"r", "Collection", "c1", "", "Query", "root"}).ok());
  RbacSnapshot snap = a->Backup();
  ASSERT_EQ(snap.users.size(), 1u);
  EXPECT_EQ(snap.roles.size(), 1u);
  EXPECT_EQ(snap.roles[0].description, "described");

  auto meta_b = NewMemoryMetaStore();
  auto b = std::move(AccessControl::Open(meta_b.get(), Enabled())).value();
  RbacSnapshot broken = snap;
  broken.users[0].roles.push_back("missing");
  EXPECT_EQ(b->Restore(broken).message(), "role [missing] does not exist");
  EXPECT_EQ(b->ListUsers(), std::vector<std::string>{"root"});
  EXPECT_EQ(b->Restore(RbacSnapshot{}).message(), "rbac meta is empty");
  RbacSnapshot costly = snap;  // a hash asking for 4 GiB per login is refused
  costly.users[0].password_hash = "scrypt$20$32$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_EQ(b->Restore(costly).message(), "the password of user [ann] is not a password hash this server accepts");
  costly.users[0].password_hash = "plain-text";
  EXPECT_FALSE(b->Restore(costly).ok());
  ASSERT_TRUE(b->Restore(snap).ok());
  Caller c;
  EXPECT_TRUE(b->Authenticate("ann:ann-pw-12", "p", &c).ok());
  EXPECT_TRUE(b->Authorize(c, "Query", "", {"c1"}).ok());
  EXPECT_EQ(b->Restore(snap).message(), "role [r] already exists");
}

}  // namespace
}  // namespace kite::auth
