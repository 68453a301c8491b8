// TLS for the etcd meta store (etcd.ssl.*): reading the PEM files and a
// check handshake with OpenSSL that enforces what gRPC 1.51's C++ API cannot
// (the minimum TLS version; gRPC itself negotiates 1.2 or 1.3) and names the
// reason a certificate is refused. Internal to kite_meta.
#pragma once

#include <string>

#include "common/status.h"
#include "storage/meta/etcd_meta_store.h"

namespace kite {

struct EtcdTlsFiles {
  std::string ca_pem, cert_pem, key_pem;  // empty when not configured
};

// Reads the configured files; InvalidArgument naming the key and path when one
// cannot be read, or when only one of tlsCert / tlsKey is given.
Result<EtcdTlsFiles> ReadEtcdTlsFiles(const EtcdTlsOptions& tls);

// One TLS handshake with `host:port` under `tls` (CA, client certificate,
// minimum version). OK when the handshake completes; kIOError with Reason
// kServiceUnavailable when nothing accepts the TCP connection (the caller's
// probe reports that); InvalidArgument with OpenSSL's reason and the key to
// check when the handshake is refused (certificate not verified, version).
Status EtcdTlsHandshakeCheck(const std::string& endpoint, const EtcdTlsOptions& tls, int timeout_ms);

}  // namespace kite
