// The S3 object store: ObjectStore (object_store.h) on the S3 REST API, over
// libcurl with its SigV4 signer (CURLOPT_AWS_SIGV4), so that AWS S3, MinIO,
// Ceph RGW, SeaweedFS and any other SigV4 S3 service work by configuration
// alone. Object <key> is <bucket>/<root_path>/<key>.
//
// - Put: one PUT; PutParts of at least `multipart_threshold_bytes` is a
//   multipart upload whose parts are read straight from the caller's buffers
//   (never concatenated), aborted when any step fails, so a failed Put leaves
//   no object and no pending upload behind.
// - Open/ReadAt: HEAD for the size, then ranged GETs.
// - List: ListObjectsV2 following continuation tokens.
// - DeletePrefix: List, then DeleteObjects in batches of 1000.
// - Every request is retried on connection errors, timeouts, 5xx, 429 and
//   SlowDown, with exponential backoff and full jitter, at most
//   `max_attempts` times; then the error is IOError (the service's fault: a
//   flush or build that gets it keeps its state and is redone later).
// - At most `max_connections` requests run at once; each reuses a pooled curl
//   handle and so its keep-alive connection.
//
// Thread-safe. The access and secret keys never appear in errors or logs.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "storage/object/object_store.h"

namespace kite {

struct S3Options {
  std::string address = "localhost";  // minio.address: host name or IP (no scheme)
  int port = 9000;                    // minio.port
  std::string access_key_id;          // minio.accessKeyID
  std::string secret_access_key;      // minio.secretAccessKey
  bool use_ssl = false;               // minio.useSSL: https
  std::string ca_cert_path;           // minio.ssl.tlsCACert: "" = system CAs
  std::string bucket = "a-bucket";    // minio.bucketName (created when missing)
  std::string root_path = "files";    // minio.rootPath: key prefix inside the bucket
  std::string region;                 // minio.region: "" signs as us-east-1
  bool use_virtual_host = false;      // minio.useVirtualHost: <bucket>.<address> instead of /<bucket>/
  std::string cloud_provider = "aws"; // minio.cloudProvider: aws (any SigV4 S3), gcp (S3 interop)
  int request_timeout_ms = 10000;     // minio.requestTimeoutMs: per request attempt
  int list_max_keys = 0;              // minio.listObjectsMaxKeys: keys per LIST page, 0 = the server's (1000)
  // Kite's own knobs (not Milvus keys).
  int max_attempts = 5;            // tries per request, the first included
  int backoff_base_ms = 100;       // first retry waits up to this (full jitter), doubling
  int backoff_max_ms = 2000;       // cap of one wait
  int max_connections = 16;        // requests in flight at once (pooled handles)
  size_t multipart_threshold_bytes = 64u << 20;  // PutParts at or above this is multipart
  size_t part_bytes = 16u << 20;   // multipart part size (S3: at least 5 MiB but the last)
  size_t delete_batch_max = 1000;  // keys per DeleteObjects request (S3's limit is 1000)
};

// Connects (HEAD bucket, creating it when missing) and returns the store; an
// error when the options are invalid or the service is not reachable.
Result<std::unique_ptr<ObjectStore>> OpenS3ObjectStore(const S3Options& options);

}  // namespace kite
