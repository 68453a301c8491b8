#include <gtest/gtest.h>

#include <map>

#include "server/config.h"

namespace kite {
namespace {

TEST(ConfigViewTest, SecretsAreMasked) {
  EXPECT_EQ(MaskIfSecret("minio.secretAccessKey", "hunter2"), "****");
  EXPECT_EQ(MaskIfSecret("minio.accessKeyID", "AKIA"), "****");
  EXPECT_EQ(MaskIfSecret("common.security.defaultRootPassword", "Milvus"), "****");
  EXPECT_EQ(MaskIfSecret("etcd.auth.token", "t"), "****");
  EXPECT_EQ(MaskIfSecret("proxy.port", "19530"), "19530");
  EXPECT_EQ(MaskIfSecret("minio.secretAccessKey", ""), "");  // nothing to hide
}

TEST(ConfigViewTest, EffectiveConfigShowsMilvusKeys) {
  ServerConfig c;
  c.port = 12345;
  c.data_dir = "/d";
  c.slow_query_span_s = 0.5;
  c.wal_sync = WalSyncPolicy::kNoSync;
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : EffectiveConfig(c)) m[k] = v;
  EXPECT_EQ(m["proxy.port"], "12345");
  EXPECT_EQ(m["metrics.port"], "9091");
  EXPECT_EQ(m["localStorage.path"], "/d");
  EXPECT_EQ(m["log.level"], "info");
  EXPECT_EQ(m["proxy.slowQuerySpanInSeconds"], "0.5");
  EXPECT_EQ(m["wal.sync"], "none");
  EXPECT_EQ(m["dataCoord.segment.maxSize"], "1024");
  EXPECT_EQ(m["dataCoord.segment.sealProportion"].substr(0, 4), "0.12");
  EXPECT_EQ(m["proxy.maxDimension"], "32768");
}

TEST(ConfigViewTest, ObjectStorageKeysShownWithSecretsMasked) {
  ServerConfig c;
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : EffectiveConfig(c)) m[k] = v;
  EXPECT_EQ(m["common.storageType"], "local");
  EXPECT_EQ(m.count("minio.address"), 0u);
  c.object_storage.storage_type = "remote";
  c.object_storage.s3.address = "s3.example";
  c.object_storage.s3.access_key_id = "AKIDEXAMPLE";
  c.object_storage.s3.secret_access_key = "very-secret";
  m.clear();
  for (const auto& [k, v] : EffectiveConfig(c)) m[k] = v;
  EXPECT_EQ(m["common.storageType"], "remote");
  EXPECT_EQ(m["minio.address"], "s3.example");
  EXPECT_EQ(m["minio.bucketName"], "a-bucket");
  EXPECT_EQ(m["minio.rootPath"], "files");
  EXPECT_EQ(m["minio.accessKeyID"], "****");
  EXPECT_EQ(m["minio.secretAccessKey"], "****");
}

TEST(ConfigViewTest, EtcdTlsAndAuthShownWithThePasswordMasked) {
  ServerConfig c;
  c.etcd.enabled = true;
  c.etcd.ssl_enabled = true;
  c.etcd.tls_ca_cert = "/certs/ca.pem";
  c.etcd.auth_enabled = true;
  c.etcd.user_name = "root";
  c.etcd.password = "etcd-secret";
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : EffectiveConfig(c)) m[k] = v;
  EXPECT_EQ(m["etcd.ssl.enabled"], "true");
  EXPECT_EQ(m["etcd.ssl.tlsCACert"], "/certs/ca.pem");
  EXPECT_EQ(m["etcd.ssl.tlsMinVersion"], "1.3");  // Milvus's default
  EXPECT_EQ(m["etcd.auth.userName"], "root");
  EXPECT_EQ(m["etcd.auth.password"], "****");
}

}  // namespace
}  // namespace kite
