#include "server/role_security.h"

#include <openssl/rand.h>

namespace kite {

RoleSecurity RoleSecurityOf(const ServerConfig& config) {
  const SecurityConfig& c = config.security;
  RoleSecurity s;
  s.tls = c.internal_tls_enabled;
  s.server_pem_path = c.internal_tls_server_pem;
  s.server_key_path = c.internal_tls_server_key;
  s.ca_pem_path = c.internal_tls_ca_pem;
  s.sni = c.internal_tls_sni;
  s.authenticate = c.authorization_enabled;
  s.cluster_secret = c.cluster_secret;
  return s;
}

RoleSecurity LoopbackRoleSecurityOf(const ServerConfig& config) {
  RoleSecurity s = RoleSecurityOf(config);
  if (s.authenticate && s.cluster_secret.empty()) {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof(bytes)) == 1) {
      s.cluster_secret.assign(reinterpret_cast<const char*>(bytes), sizeof(bytes));
    }
    // Without randomness the secret stays empty and the credential
    // functions refuse to build, so the role transport never starts open.
  }
  return s;
}

auth::SecurityOptions AccessOptionsOf(const ServerConfig& config) {
  auth::SecurityOptions o;
  o.authorization_enabled = config.security.authorization_enabled;
  o.super_users = config.security.super_users;
  o.default_root_password = config.security.default_root_password;
  o.max_failed_logins_per_minute = config.security.max_failed_logins_per_minute;
  o.max_user_num = config.security.max_user_num;
  o.max_role_num = config.security.max_role_num;
  return o;
}

}  // namespace kite
