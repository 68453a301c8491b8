// EtcdMetaStore: MetaStore on an etcd v3 cluster over gRPC (KV Range/Txn/
// Put/DeleteRange, Lease Grant/KeepAlive/Revoke, Watch), with C++ generated
// at build time from the pinned etcd3 PyPI package's descriptors
// (cmake/EtcdProto.cmake). Why gRPC and not the JSON gateway: ARCHITECTURE.md,
// "Meta store on etcd".
//
// Mapping (docs/formats/meta_keys.md, "On etcd"):
//  - Kite key K is the etcd key key_prefix + K (key_prefix is
//    "<etcd.rootPath>/<etcd.metaSubPath>/").
//  - Every stored value starts with a tag byte: 0x00 = the value follows
//    inline; 0x01 = chunked: "gen count size" names chunks stored under
//    chunk_prefix + gen + "/" + index, each at most chunk_bytes.
//  - A batch is one etcd Txn (compares = mod revision compares). Values above
//    chunk_bytes, and the largest values while the inline part of a batch
//    exceeds txn_inline_bytes, are written as chunks under a fresh generation
//    BEFORE the Txn and only become visible when the Txn switches the key to
//    the new header: the batch stays atomic. Chunks of replaced values are
//    deleted after the Txn; readers fetch chunks at the header's revision, so
//    a concurrent read still sees the old chunks. Chunks of a batch whose Txn
//    failed are deleted; a crash between the two leaves unreferenced chunks
//    (harmless, under chunk_prefix).
//  - etcd rejects a Txn with more operations than its --max-txn-ops (128 by
//    default) as a whole: Kite reports it (nothing is applied). A deployment
//    whose batches exceed it must raise the flag (see ARCHITECTURE.md).
//
// Thread-safe. Every request has a deadline (request_timeout_ms): an
// unreachable etcd fails the call with kIOError "meta store (etcd)
// unavailable: <endpoint>: <why>", it never hangs. Endpoints are tried in
// order; the last one that answered is tried first. A watch runs one gRPC stream on its own thread;
// a stream that broke is resumed by the next Next from the revision after the last one received
// (kFailedPrecondition "compacted" when etcd no longer has it).
//
// Security (Milvus's etcd.ssl.* and etcd.auth.* keys): with `tls.enabled`
// every channel is TLS, the server's certificate checked against
// `tls.ca_cert_path` and, when given, `tls.cert_path` / `tls.key_path`
// presented as the client certificate (etcd's --client-cert-auth); the
// handshake must reach `tls.min_version`. With `user_name` set, the store
// logs in with etcd's Authenticate RPC at open and sends the token on every
// request; a token etcd no longer knows (expired, or from another member) is
// renewed once and the request retried. Open fails with a message naming the
// key to fix: unreadable files, a certificate that does not verify, a TLS
// version below the minimum, a wrong user or password, or an etcd with auth
// enabled reached without credentials.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/meta/meta_store.h"

namespace kite {

struct EtcdTlsOptions {
  bool enabled = false;       // etcd.ssl.enabled
  std::string cert_path;      // etcd.ssl.tlsCert: client certificate (PEM), optional
  std::string key_path;       // etcd.ssl.tlsKey: its private key (PEM), with cert_path
  std::string ca_cert_path;   // etcd.ssl.tlsCACert: CA that signed etcd's certificate ("" = system CAs)
  std::string min_version = "1.3";  // etcd.ssl.tlsMinVersion: 1.0, 1.1, 1.2 or 1.3
};

struct EtcdMetaStoreOptions {
  std::vector<std::string> endpoints;  // "host:port" or "http://host:port"
  std::string key_prefix;              // prepended to every Kite key
  std::string chunk_prefix;            // where chunks of large values go
  int64_t request_timeout_ms = 10000;  // etcd.requestTimeout
  size_t chunk_bytes = 1 << 20;        // a value above this is chunked
  size_t txn_inline_bytes = 1 << 20;   // inline bytes of one Txn (etcd: 1.5 MiB per request)
  int64_t scan_page = 1000;            // keys per range request of a scan
  EtcdTlsOptions tls;
  std::string user_name;  // etcd.auth.userName ("" = no authentication)
  std::string password;   // etcd.auth.password (never logged)
};

// Checks a tlsMinVersion value as Milvus does (1.0, 1.1, 1.2, 1.3); the
// error is Milvus's "unknown TLS version,<v>".
Status CheckEtcdTlsMinVersion(const std::string& version);

// Connects (checking that etcd answers) and returns the store.
Result<std::unique_ptr<MetaStore>> OpenEtcdMetaStore(const EtcdMetaStoreOptions& options);

}  // namespace kite
