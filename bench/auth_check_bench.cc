// The per-call cost of access control on the hot path: AccessControl::Authenticate with
// credentials already verified (the cached digest) plus Authorize of a Search on one collection
// by a user holding CollectionReadOnly through a role. A plain program: prints ns per call.
#include <chrono>
#include <cstdio>

#include "roles/auth/access_control.h"
#include "storage/meta/meta_store.h"

int main() {
  using namespace kite;
  auto meta = NewMemoryMetaStore();
  auth::SecurityOptions o;
  o.authorization_enabled = true;
  auto ac = std::move(auth::AccessControl::Open(meta.get(), o)).value();
  (void)ac->CreateUser("reader", "reader-pw-1");
  (void)ac->CreateRole("ro");
  (void)ac->AddUserToRole("reader", "ro");
  (void)ac->GrantPrivilege({"ro", "Collection", "bench", "default", "CollectionReadOnly", "root"});
  auth::Caller caller;
  if (!ac->Authenticate("reader:reader-pw-1", "ipv4:127.0.0.1:1", &caller).ok()) return 1;  // slow, once
  const std::vector<std::string> objects = {"bench"};
  constexpr int kCalls = 200000;
  auto t0 = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < kCalls; ++i) {
    auth::Caller c;
    ok += ac->Authenticate("reader:reader-pw-1", "ipv4:127.0.0.1:1", &c).ok() &&
          ac->Authorize(c, "Search", "", objects).ok();
  }
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / kCalls;
  std::printf("{\"calls\":%d,\"allowed\":%d,\"ns_per_check\":%.0f}\n", kCalls, ok, ns);
  return ok == kCalls ? 0 : 1;
}
