// ValidateObjectKey (object_key.h).
#include "storage/object/object_key.h"

#include <algorithm>

namespace kite {
namespace {

constexpr size_t kKeyBytesMax = 1024;      // S3's limit
constexpr size_t kSegmentBytesMax = 255;   // NAME_MAX

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '=' || c == '-' || c == '/';
}

}  // namespace

Status ValidateObjectKey(std::string_view what, const std::string& s, bool is_prefix) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid object {} '{}': {}", what, s, why);
  };
  if (s.size() > kKeyBytesMax) return bad("longer than 1024 bytes");
  if (!is_prefix && s.empty()) return bad("empty");
  if (!std::all_of(s.begin(), s.end(), IsKeyChar)) return bad("characters outside [A-Za-z0-9_.=-/]");
  if (!s.empty() && s.front() == '/') return bad("leading '/'");
  if (s.find("..") != std::string::npos) return bad("contains '..'");
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string::npos) break;
    std::string_view segment(s.data() + start, slash - start);
    if (segment.empty()) return bad("empty path segment");
    if (segment == ".") return bad("'.' segment");
    if (segment.size() > kSegmentBytesMax) return bad("segment longer than 255 bytes");
    start = slash + 1;
  }
  std::string_view last(s.data() + start, s.size() - start);
  if (!is_prefix) {
    if (last.empty()) return bad("trailing '/'");
    if (last == ".") return bad("'.' segment");
  }
  if (last.size() > kSegmentBytesMax) return bad("segment longer than 255 bytes");
  return Status::OK();
}

}  // namespace kite
