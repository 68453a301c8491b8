#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "server/config.h"

namespace kite {
namespace {

Status LoadText(const std::string& text, ServerConfig* c) {
  const auto path =
      std::filesystem::temp_directory_path() / ("kite-session-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  Status st = LoadYamlConfig(path.string(), c);
  std::filesystem::remove(path);
  return st;
}

TEST(SessionConfigTest, MilvusDefaultsWhenUnset) {
  ServerConfig c;
  ASSERT_TRUE(LoadText("common:\n  storageType: local\n", &c).ok());
  EXPECT_EQ(c.session.ttl_s, 30);  // Milvus 2.6 common.session.ttl
  EXPECT_EQ(c.session.retry_times, 30);
}

TEST(SessionConfigTest, KeysAsMilvusSpellsThem) {
  ServerConfig c;
  Status st = LoadText("common:\n  session:\n    ttl: 2\n    retryTimes: 5\n", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.session.ttl_s, 2);
  EXPECT_EQ(c.session.retry_times, 5);
  bool shown = false;
  for (const auto& [k, v] : EffectiveConfig(c)) shown = shown || (k == "common.session.ttl" && v == "2");
  EXPECT_TRUE(shown);
}

TEST(SessionConfigTest, BadValuesAreRefusedNamingTheKey) {
  ServerConfig c;
  Status zero = LoadText("common:\n  session:\n    ttl: 0\n", &c);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.message(), "config key common.session.ttl: 0 is below 1 second");
  Status text = LoadText("common:\n  session:\n    retryTimes: many\n", &c);
  EXPECT_EQ(text.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(text.message(), "config key common.session.retryTimes: 'many' is not a whole number");
}

}  // namespace
}  // namespace kite

namespace kite {
namespace {

// The role clients' per-call limits (roles/api/role_call.h).
TEST(RoleCallConfigTest, DefaultsKeysAndBadValues) {
  ServerConfig d;
  ASSERT_TRUE(LoadText("common:\n  storageType: local\n", &d).ok());
  EXPECT_EQ(d.role_call_timeout_ms, 30000);
  EXPECT_EQ(d.role_ddl_timeout_ms, 600000);
  EXPECT_EQ(d.role_probe_timeout_ms, 2000);

  ServerConfig c;
  Status st = LoadText("kite:\n  roleCallTimeoutMs: 1500\n  roleDdlTimeoutMs: 90000\n  roleProbeTimeoutMs: 700\n", &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.role_call_timeout_ms, 1500);
  EXPECT_EQ(c.role_ddl_timeout_ms, 90000);
  EXPECT_EQ(c.role_probe_timeout_ms, 700);
  bool shown = false;
  for (const auto& [k, v] : EffectiveConfig(c)) shown = shown || (k == "kite.roleCallTimeoutMs" && v == "1500");
  EXPECT_TRUE(shown);

  for (const char* bad : {"kite:\n  roleCallTimeoutMs: 0\n", "kite:\n  roleProbeTimeoutMs: -5\n"}) {
    ServerConfig b;
    Status refused = LoadText(bad, &b);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.message().find("config key kite.role"), std::string::npos) << refused.message();
  }
}

}  // namespace
}  // namespace kite
