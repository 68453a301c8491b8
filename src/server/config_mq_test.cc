#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "server/config.h"

namespace kite {
namespace {

Status LoadText(const std::string& text, ServerConfig* c) {
  const auto path = std::filesystem::temp_directory_path() / ("kite-mq-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  Status st = LoadYamlConfig(path.string(), c);
  std::filesystem::remove(path);
  return st;
}

TEST(MqConfigTest, DefaultsAreEmbeddedAndMilvusKafkaDefaults) {
  ServerConfig c;
  ASSERT_TRUE(LoadText("proxy:\n  port: 19530\n", &c).ok());
  EXPECT_EQ(c.mq.type, "default");
  EXPECT_EQ(c.mq.kafka.brokers, "localhost:9092");
  EXPECT_EQ(c.mq.chan_name_prefix, "by-dev");
  EXPECT_EQ(c.mq.kafka.delivery_timeout_ms, 10000);
}

TEST(MqConfigTest, KafkaKeysAsMilvusSpellsThem) {
  ServerConfig c;
  Status st = LoadText(
      "mq:\n  type: kafka\n"
      "kafka:\n  brokerList: b1:9092,b2:9092\n  saslUsername: u\n  saslPassword: p4ss\n"
      "  saslMechanisms: SCRAM-SHA-512\n  securityProtocol: SASL_SSL\n  readTimeout: 3\n"
      "  producer:\n    compression.type: lz4\n  consumer:\n    fetch.wait.max.ms: 50\n"
      "msgChannel:\n  chanNamePrefix:\n    cluster: prod1\n",
      &c);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(c.mq.type, "kafka");
  EXPECT_EQ(c.mq.kafka.brokers, "b1:9092,b2:9092");
  EXPECT_EQ(c.mq.kafka.sasl_username, "u");
  EXPECT_EQ(c.mq.kafka.sasl_password, "p4ss");
  EXPECT_EQ(c.mq.kafka.sasl_mechanisms, "SCRAM-SHA-512");
  EXPECT_EQ(c.mq.kafka.security_protocol, "SASL_SSL");
  EXPECT_EQ(c.mq.kafka.delivery_timeout_ms, 3000);
  EXPECT_EQ(c.mq.kafka.producer_properties["compression.type"], "lz4");
  EXPECT_EQ(c.mq.kafka.consumer_properties["fetch.wait.max.ms"], "50");
  EXPECT_EQ(c.mq.chan_name_prefix, "prod1");

  std::map<std::string, std::string> shown;
  for (const auto& [k, v] : EffectiveConfig(c)) shown[k] = v;
  EXPECT_EQ(shown["mq.type"], "kafka");
  EXPECT_EQ(shown["kafka.brokerList"], "b1:9092,b2:9092");
  EXPECT_EQ(shown["kafka.saslPassword"], "****");
  for (const auto& [k, v] : shown) EXPECT_EQ(v.find("p4ss"), std::string::npos) << k;
}

TEST(MqConfigTest, BadValuesAreRefusedNamingTheKey) {
  ServerConfig c;
  Status st = LoadText("mq:\n  type: pulsar\n", &c);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("mq.type"), std::string::npos) << st.message();
  ServerConfig c2;
  st = LoadText("kafka:\n  readTimeout: never\n", &c2);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("kafka.readTimeout"), std::string::npos) << st.message();
  ServerConfig c3;
  st = LoadText("mq:\n  type: kafka\nkafka:\n  brokerList: \"\"\n", &c3);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("kafka.brokerList"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace kite
