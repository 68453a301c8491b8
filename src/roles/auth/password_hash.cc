#include "roles/auth/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace kite::auth {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;

bool Scrypt(std::string_view password, std::string_view salt, const ScryptCost& c, uint8_t* out, size_t out_len) {
  if (c.log2_n < 10 || c.log2_n > 20 || c.r < 1 || c.r > 32 || c.p < 1 || c.p > 16) return false;
  uint64_t n = uint64_t{1} << c.log2_n;
  // scrypt needs 128 * r * N bytes (+ 128 * r * p); give it headroom.
  uint64_t maxmem = 128ull * c.r * (n + c.p) + (1 << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                        salt.size(), n, c.r, c.p, maxmem, out, out_len) == 1;
}

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // The system RNG failing is not recoverable: never fall back to a weak salt.
    std::abort();
  }
  return out;
}

Result<std::string> HashPassword(std::string_view password, ScryptCost cost) {
  std::string salt = RandomBytes(kSaltBytes);
  uint8_t hash[kHashBytes];
  if (!Scrypt(password, salt, cost, hash, sizeof hash)) return Internal("scrypt failed");
  return fmt::format("scrypt${}${}${}${}${}", cost.log2_n, cost.r, cost.p, Base64Encode(salt),
                     Base64Encode(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash)));
}

namespace {

// Splits "scrypt$N$r$p$salt$hash"; false when malformed.
bool ParseHash(std::string_view encoded, ScryptCost* c, std::string* salt, std::string* want) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t d = encoded.find('$', start);
    parts.push_back(encoded.substr(start, d == std::string_view::npos ? std::string_view::npos : d - start));
    if (d == std::string_view::npos) break;
    start = d + 1;
  }
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  return ParseInt(parts[1], &c->log2_n) && ParseInt(parts[2], &c->r) && ParseInt(parts[3], &c->p) &&
         Base64Decode(parts[4], salt) && Base64Decode(parts[5], want) && want->size() == kHashBytes;
}

}  // namespace

bool AcceptableHash(std::string_view encoded, const ScryptCost& max) {
  ScryptCost c;
  std::string salt, want;
  if (!ParseHash(encoded, &c, &salt, &want)) return false;
  if (c.log2_n < 10 || c.log2_n > 20 || c.r < 1 || c.r > 32 || c.p < 1 || c.p > 16 || salt.empty()) return false;
  uint64_t memory = uint64_t{128} * c.r << c.log2_n;
  uint64_t max_memory = uint64_t{128} * std::max(max.r, 1) << std::clamp(max.log2_n, 10, 20);
  return memory <= max_memory && c.p <= std::max(max.p, 1);
}

bool VerifyPassword(std::string_view password, std::string_view encoded) {
  ScryptCost c;
  std::string salt, want;
  if (!ParseHash(encoded, &c, &salt, &want)) return false;
  uint8_t got[kHashBytes];
  if (!Scrypt(password, salt, c, got, sizeof got)) return false;
  return CRYPTO_memcmp(got, want.data(), kHashBytes) == 0;
}

Digest FastDigest(std::string_view salt, std::string_view password) {
  Digest d{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, salt.data(), salt.size());
  EVP_DigestUpdate(ctx, password.data(), password.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, d.data(), &len);
  EVP_MD_CTX_free(ctx);
  return d;
}

bool DigestEqual(const Digest& a, const Digest& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  auto valid = [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
  };
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '=') {
      // Padding only in the last two places, and nothing but padding after it.
      if (i + 2 < text.size()) return false;
      ++pad;
    } else if (!valid(ch) || pad > 0) {
      return false;
    }
  }
  out->assign(text.size() / 4 * 3, '\0');
  if (text.empty()) return true;
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

}  // namespace kite::auth
