#include "expr/like.h"

#include <algorithm>

namespace kite::expr::internal {
namespace {

// Bytes in the UTF-8 character starting at s[i] (1 for invalid lead bytes),
// clamped to the string.
size_t CharLen(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  return std::min(n, s.size() - i);
}

}  // namespace

LikePattern::LikePattern(std::string_view pattern) : source_(pattern) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      c = pattern[++i];
    } else if (c == '%') {
      if (parts_.empty() || parts_.back().kind != Part::Kind::kMany) parts_.push_back({Part::Kind::kMany, {}});
      continue;
    } else if (c == '_') {
      parts_.push_back({Part::Kind::kOne, {}});
      continue;
    }
    if (parts_.empty() || parts_.back().kind != Part::Kind::kLiteral) parts_.push_back({Part::Kind::kLiteral, {}});
    parts_.back().text.push_back(c);
  }
  using K = Part::Kind;
  auto is = [&](size_t i, K k) { return i < parts_.size() && parts_[i].kind == k; };
  if (parts_.empty()) {
    shape_ = Shape::kExact;
  } else if (parts_.size() == 1 && is(0, K::kLiteral)) {
    shape_ = Shape::kExact;
    literal_ = parts_[0].text;
  } else if (parts_.size() == 1 && is(0, K::kMany)) {
    shape_ = Shape::kPrefix;  // "%": everything
  } else if (parts_.size() == 2 && is(0, K::kLiteral) && is(1, K::kMany)) {
    shape_ = Shape::kPrefix;
    literal_ = parts_[0].text;
  } else if (parts_.size() == 2 && is(0, K::kMany) && is(1, K::kLiteral)) {
    shape_ = Shape::kSuffix;
    literal_ = parts_[1].text;
  } else if (parts_.size() == 3 && is(0, K::kMany) && is(1, K::kLiteral) && is(2, K::kMany)) {
    shape_ = Shape::kInfix;
    literal_ = parts_[1].text;
  } else {
    shape_ = Shape::kGeneral;
  }
}

// Greedy matching with backtracking to the most recent `%` (sufficient for
// patterns whose only variable-length part is `%`).
bool LikePattern::MatchGeneral(std::string_view s) const {
  size_t p = 0, i = 0;
  size_t star_p = std::string::npos, star_i = 0;
  while (true) {
    if (p < parts_.size()) {
      const Part& part = parts_[p];
      if (part.kind == Part::Kind::kMany) {
        star_p = p++;
        star_i = i;
        continue;
      }
      if (part.kind == Part::Kind::kOne && i < s.size()) {
        i += CharLen(s, i);
        ++p;
        continue;
      }
      if (part.kind == Part::Kind::kLiteral && s.substr(i, part.text.size()) == part.text) {
        i += part.text.size();
        ++p;
        continue;
      }
    } else if (i == s.size() || parts_.back().kind == Part::Kind::kMany) {
      return true;
    }
    // Mismatch (or pattern done with text left): let the last % eat one more character.
    if (star_p == std::string::npos || star_i >= s.size()) return false;
    star_i += CharLen(s, star_i);
    i = star_i;
    p = star_p + 1;
  }
}

}  // namespace kite::expr::internal
