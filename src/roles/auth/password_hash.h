// Salted, deliberately slow password hashes (scrypt from OpenSSL's libcrypto)
// and the fast digest that caches an already-verified password.
//
// Only the encoded hash is ever stored: "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>".
// Parameters travel inside the string, so raising them later keeps old hashes
// readable. Verification compares in constant time. Thread-safe (no state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kite::auth {

// scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, tens of ms per hash on one
// core): the OWASP minimum class for scrypt.
struct ScryptCost {
  int log2_n = 15;
  int r = 8;
  int p = 1;
};

// A new random salt and the hash of `password` under `cost`.
Result<std::string> HashPassword(std::string_view password, ScryptCost cost = {});
// Whether `password` matches `encoded` (false for a malformed `encoded`).
bool VerifyPassword(std::string_view password, std::string_view encoded);
// Whether `encoded` is a hash HashPassword could have written at a cost no
// dearer than `max` (memory 128 * r * N and p): what RestoreRBAC accepts, so
// a restored hash cannot make each login allocate gigabytes.
bool AcceptableHash(std::string_view encoded, const ScryptCost& max);

// SHA-256 of salt || password: the proxy's cache of passwords it has already
// verified with the slow hash (the salt is per process, never stored).
using Digest = std::array<uint8_t, 32>;
Digest FastDigest(std::string_view salt, std::string_view password);
bool DigestEqual(const Digest& a, const Digest& b);  // constant time
std::string RandomBytes(size_t n);

// Standard base64 (RFC 4648, with padding), strict: any other character,
// wrong padding or length fails, as Go's base64.StdEncoding does.
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace kite::auth
