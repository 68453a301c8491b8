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
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "storage/meta/meta_store.h"

namespace kite {

struct EtcdMetaStoreOptions {
  std::vector<std::string> endpoints;  // "host:port" or "http://host:port"
  std::string key_prefix;              // prepended to every Kite key
  std::string chunk_prefix;            // where chunks of large values go
  int64_t request_timeout_ms = 10000;  // etcd.requestTimeout
  size_t chunk_bytes = 1 << 20;        // a value above this is chunked
  size_t txn_inline_bytes = 1 << 20;   // inline bytes of one Txn (etcd: 1.5 MiB per request)
  int64_t scan_page = 1000;            // keys per range request of a scan
};

// Connects (checking that etcd answers) and returns the store.
Result<std::unique_ptr<MetaStore>> OpenEtcdMetaStore(const EtcdMetaStoreOptions& options);

}  // namespace kite
