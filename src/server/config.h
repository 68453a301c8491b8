// Server configuration: defaults, then a YAML file (Milvus-like keys), then
// command-line flags, in increasing priority.
//
// YAML keys (all optional):
//   proxy.port: 19530            gRPC and RESTful API port (one port, as Milvus)
//   proxy.host                   listen address of both ports; default 127.0.0.1 without
//                                authorization, 0.0.0.0 with it
//   proxy.allowInsecureRemote: false   allow a non-loopback proxy.host without authorization
//   proxy.maxFailedLoginsPerMinute: 30  per client host; then only already-verified credentials pass
//   proxy.maxUserNum: 100, proxy.maxRoleNum: 10   as Milvus (root / admin and public counted)
//   common.security.authorizationEnabled: false   users, passwords, roles (as Milvus)
//   common.security.superUsers: []                 users with every privilege (besides root)
//   common.security.defaultRootPassword: Milvus    root's password at first start
//   common.security.tlsMode: 0                     0 none, 1 one-way, 2 mutual TLS on the main port
//   tls.serverPemPath, tls.serverKeyPath, tls.caPemPath   (caPemPath: mode 2); unreadable = no start
//   common.security.internaltlsEnabled: false      TLS on internal RPCs between Kite processes, with
//   internaltls.serverPemPath, internaltls.serverKeyPath, internaltls.caPemPath, internaltls.sni
//   kite.clusterSecret           shared by every Kite process of a cluster; with authorization on,
//                                every internal RPC carries a credential derived from it
//   An unknown key under common.security, tls or internaltls is an error (a misspelt key must
//   not silently leave authorization off).
//   metrics.port: 9091           health/metrics/web UI port (Milvus: common metrics port 9091)
//   localStorage.path: ./data    data directory
//   wal.sync: fsync | none       fsync (default) acknowledges a write only once it is on disk
//   kite.roleTransport: inprocess | grpc   the read path between proxy, delegators and query
//                                nodes in one process, or over the role services' gRPC (loopback)
//   kite.queryNodes: embedded | remote   sealed segments served by this process's query node
//                                (default), or by `kite querynode` processes found through their
//                                sessions in etcd (remote; needs etcd and an object store they share)
//   kite.streamingNodes: embedded | remote   WAL channels led by this process's streaming node
//                                (default), or by `kite streamingnode` processes found through their
//                                sessions in etcd (remote; needs etcd, a shared object store and, for
//                                channels to move between them, Kafka)
//   kite.dataNodes: embedded | remote   index builds and compactions run in this process (default), or on
//                                `kite datanode` processes found through their sessions in etcd
//                                (remote; needs etcd and an object store they share)
//   rootCoord.port: 53100        with etcd, where this process serves the coordinator's services
//                                to the streaming node and proxy processes (its mixcoord
//                                session's address)
//   mixCoord.enableActiveStandby: false   run as one of several coordinator processes over one
//                                etcd: the active one serves, the others stand by and take over
//                                when it stops or its session lapses (needs etcd)
//   dataCoord.segment.maxSize: 1024     segment size cap in MB (compaction merges up to it;
//                                        maxSizeMB is accepted as an alias)
//   dataCoord.segment.sealProportion: 0.12  seal a growing segment at this share of maxSize
//   dataCoord.segment.maxIdleTimeSec: 600  flush a shard idle this long
//   dataCoord.gc.interval: 3600         seconds between garbage collection passes
//   dataCoord.gc.dropTolerance: 10800   seconds a dropped/compacted file stays readable
//   dataCoord.gc.missingTolerance: 86400  seconds before a file no record names is deleted
//   log.level: info              trace, debug, info, warn, error, critical, off
//   proxy.slowQuerySpanInSeconds: 5     requests slower than this are logged (warn) and kept for /webui
//   proxy.maxFieldNum, proxy.maxDimension, proxy.maxShardNum, proxy.maxNameLength,
//   proxy.maxVectorFieldNum, rootCoord.maxPartitionNum, rootCoord.maxDatabaseNum
//   mq.type: default             the WAL: default (also rocksmq, woodpecker) = the embedded WAL
//                                under localStorage.path; kafka = Apache Kafka (kafka_wal.h)
//   kafka.brokerList: localhost:9092   host:port[,host:port...] (used with mq.type kafka)
//   kafka.saslUsername, kafka.saslPassword, kafka.saslMechanisms, kafka.securityProtocol: ""
//   kafka.ssl.enabled: false, kafka.ssl.tlsCert, tlsKey, tlsCaCert, tlsKeyPassword
//   kafka.readTimeout: 10        seconds: a WAL append not acknowledged by then fails
//                                (retriable, Milvus code 2); also bounds reads and admin calls
//   kafka.producer.<prop>, kafka.consumer.<prop>   passed to librdkafka as is
//   msgChannel.chanNamePrefix.cluster: by-dev   Kafka topics are named <prefix>-<channel>
//   common.storageType: local     where segments and indexes go: local (<localStorage.path>/objects)
//                                 or minio / remote (an S3 API service, the minio.* keys). Milvus's
//                                 default is remote; Kite's is local, so that a config without the
//                                 key keeps the embedded store. opendal is not supported.
//   minio.address: localhost, minio.port: 9000   the S3 endpoint (host without scheme)
//   minio.accessKeyID, minio.secretAccessKey: minioadmin   (never logged; masked in /webui)
//   minio.useSSL: false, minio.ssl.tlsCACert: ""   https, and a CA file ("" = system CAs)
//   minio.bucketName: a-bucket (created when missing), minio.rootPath: files (key prefix)
//   minio.region: "" (signs as us-east-1), minio.useVirtualHost: false, minio.requestTimeoutMs: 10000
//   minio.cloudProvider: aws (aws, minio, gcp: any SigV4 S3 API), minio.useIAM: false (true is refused)
//   minio.listObjectsMaxKeys: 0 (keys per LIST page, 0 = the server's)
//   Meta store (Milvus names and defaults; none set = RocksDB under localStorage.path):
//   metastore.type: etcd         etcd (tikv is refused); setting it or etcd.endpoints puts the
//                                meta store on etcd (storage_factory.h)
//   etcd.endpoints: localhost:2379   comma list or YAML list of host:port (http only)
//   etcd.rootPath: by-dev, etcd.metaSubPath: meta, etcd.kvSubPath: kv
//                                Kite's keys live under rootPath/metaSubPath/; chunks of values
//                                above 1 MiB under rootPath/kvSubPath/kite-meta-chunks/
//   etcd.requestTimeout: 10000   ms; deadline of every etcd request
//   etcd.ssl.enabled: false      TLS to etcd (endpoints may then be written https://host:port)
//   etcd.ssl.tlsCACert, etcd.ssl.tlsCert, etcd.ssl.tlsKey: CA of etcd's certificate ("" = system
//                                CAs); client certificate and key (both or neither; etcd's
//                                --client-cert-auth needs them); unreadable = no start
//   etcd.ssl.tlsMinVersion: 1.3  1.0, 1.1, 1.2 or 1.3 (Milvus's values and default)
//   etcd.auth.enabled: false, etcd.auth.userName, etcd.auth.password   etcd's own users (a
//                                wrong password stops the start; the password is never shown)
//   common.session.ttl: 30       seconds: a cluster session's lease (a process that stops renewing
//                                it is dead for the others after this long; cluster/session.h)
//   common.session.retryTimes: 30   attempts to register a session whose key is held
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cluster/session.h"
#include "common/limits.h"
#include "common/status.h"
#include "roles/coordinator/garbage_collector.h"
#include "roles/datanode/data_node.h"
#include "roles/streaming/streaming_node.h"
#include "storage/wal/kafka_wal.h"
#include "storage/object/s3_object_store.h"
#include "storage/wal/wal.h"

namespace kite {

struct SecurityConfig {
  bool authorization_enabled = false;
  std::vector<std::string> super_users;
  std::string default_root_password = "Milvus";
  int tls_mode = 0;
  std::string tls_server_pem, tls_server_key, tls_ca_pem;
  // Internal RPCs between Kite processes (role_security.h): Milvus's
  // common.security.internaltlsEnabled and internaltls.*, and Kite's
  // kite.clusterSecret (the cluster credential when authorization is on).
  bool internal_tls_enabled = false;
  std::string internal_tls_server_pem, internal_tls_server_key, internal_tls_ca_pem, internal_tls_sni;
  std::string cluster_secret;
  bool allow_insecure_remote = false;  // proxy.allowInsecureRemote
  int max_failed_logins_per_minute = 30;  // proxy.maxFailedLoginsPerMinute (Kite), per client host
  int max_user_num = 100;  // proxy.maxUserNum (Milvus), root included
  int max_role_num = 10;   // proxy.maxRoleNum (Milvus), admin and public included
};

// Where objects (segment files, delete logs, index files) are kept.
struct ObjectStorageConfig {
  std::string storage_type = "local";  // common.storageType: local, minio, remote
  S3Options s3;                        // the minio.* keys (used for minio / remote)
  ObjectStorageConfig() {
    s3.access_key_id = "minioadmin";  // Milvus's defaults
    s3.secret_access_key = "minioadmin";
  }
  bool IsS3() const { return storage_type == "minio" || storage_type == "remote"; }
};

// The meta store on etcd (etcd.* keys); enabled = metastore.type or
// etcd.endpoints was set.
struct EtcdConfig {
  bool enabled = false;
  std::vector<std::string> endpoints = {"localhost:2379"};
  std::string root_path = "by-dev";
  std::string meta_sub_path = "meta";
  std::string kv_sub_path = "kv";
  int64_t request_timeout_ms = 10000;
  bool ssl_enabled = false;       // etcd.ssl.enabled
  std::string tls_cert, tls_key;  // etcd.ssl.tlsCert, etcd.ssl.tlsKey
  std::string tls_ca_cert;        // etcd.ssl.tlsCACert
  std::string tls_min_version = "1.3";  // etcd.ssl.tlsMinVersion
  bool auth_enabled = false;      // etcd.auth.enabled
  std::string user_name, password;  // etcd.auth.userName, etcd.auth.password
};

// Cluster sessions (common.session.*, Milvus's names and defaults).
struct SessionConfig {
  int64_t ttl_s = kDefaultSessionTtlSeconds;        // common.session.ttl
  int64_t retry_times = kDefaultSessionRetryTimes;  // common.session.retryTimes
};

struct MqConfig {
  std::string type = "default";  // mq.type
  std::string chan_name_prefix = "by-dev";  // msgChannel.chanNamePrefix.cluster
  KafkaWalOptions kafka;  // brokers default to localhost:9092 (kafka.brokerList)
  MqConfig() { kafka.brokers = "localhost:9092"; }
};

struct ServerConfig {
  std::string host;  // empty: chosen by ResolveListenAddress
  SecurityConfig security;
  int port = 19530;
  int metrics_port = 9091;
  std::string data_dir = "./data";
  std::string log_level = "info";
  double slow_query_span_s = 5;  // proxy.slowQuerySpanInSeconds (Milvus default)
  Limits limits;
  WalSyncPolicy wal_sync = WalSyncPolicy::kFsyncEveryAppend;
  // kite.roleTransport: how the proxy reaches the shard delegators and they the
  // query node in one process: "inprocess" (default) or "grpc" (the role
  // services on a loopback port, as between processes of a cluster).
  bool roles_over_grpc = false;
  // kite.queryNodes: remote: no query node in this process; the query view
  // spreads sealed segments over the `kite querynode` processes registered in
  // etcd (querycoord/query_view.h).
  bool remote_query_nodes = false;
  // kite.streamingNodes: remote: no streaming node in this process; the
  // streaming view binds each collection's channels to one of the `kite
  // streamingnode` processes registered in etcd (streamingcoord/
  // streaming_view.h), which reach this process's coordinator services on
  // rootCoord.port (Milvus's coordinator port, 53100).
  bool remote_streaming_nodes = false;
  // kite.dataNodes: remote: index builds and compactions run on the `kite
  // datanode` processes registered in etcd (roles/datanode/data_worker.h),
  // not here; the scheduler (what to build or merge, the commits) stays.
  bool remote_data_nodes = false;
  int coordinator_port = 53100;
  // mixCoord.enableActiveStandby: several processes may run the coordinator
  // over one etcd; one is active (cluster/election.h), the others stand by
  // (no port served, nothing written) and the first to win the active key
  // when it goes takes over. Needs etcd.
  bool active_standby = false;
  // Per-call limits of the role clients (roles/api/role_call.h): a call's
  // deadline is min(its request's, this). kite.roleCallTimeoutMs: reads,
  // writes, listings; kite.roleDdlTimeoutMs: the channel lifecycle, flushes,
  // the segment hand-over; kite.roleProbeTimeoutMs: the probe that tells a
  // dead peer (evicted) from a slow one after a call ran out of time.
  int64_t role_call_timeout_ms = 30000;
  int64_t role_ddl_timeout_ms = 600000;
  int64_t role_probe_timeout_ms = 2000;
  StreamingOptions streaming;
  DataNodeOptions data_node;
  MqConfig mq;
  GcOptions gc;  // dataCoord.gc.*
  ObjectStorageConfig object_storage;
  EtcdConfig etcd;
  SessionConfig session;  // common.session.*
};

// Applies the keys of a YAML file onto `config`. Unknown keys are ignored
// (Milvus configs carry many); a bad value for a known key is an error.
Status LoadYamlConfig(const std::string& path, ServerConfig* config);

// Picks the listen address once every source is applied: an unset host is
// 127.0.0.1 without authorization and 0.0.0.0 with it; a non-loopback host
// without authorization needs proxy.allowInsecureRemote ("protected mode").
Status ResolveListenAddress(ServerConfig* config);
bool IsLoopbackHost(const std::string& host);

// The effective configuration as (Milvus-style key, value) pairs, for the web
// UI; values of keys that look like secrets (password, secret, token, access
// key) are masked. Defined in config_view.cc.
std::vector<std::pair<std::string, std::string>> EffectiveConfig(const ServerConfig& config);
// "****" for a key that names a secret, else the value.
std::string MaskIfSecret(const std::string& key, const std::string& value);

}  // namespace kite
