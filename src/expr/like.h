// LIKE patterns: `%` matches any run of characters (including none), `_`
// exactly one UTF-8 character, and a backslash makes the next character
// literal (`\%`, `\_`, `\\`). Patterns are classified once so the common
// shapes run as plain string operations: exact ("abc"), prefix ("abc%"),
// suffix ("%abc"), infix ("%abc%"); anything else uses a linear-space
// backtracking matcher (O(len(text) * len(pattern)) worst case).
// Immutable after construction; thread-safe. Internal to src/expr.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kite::expr::internal {

class LikePattern {
 public:
  enum class Shape { kExact, kPrefix, kSuffix, kInfix, kGeneral };

  explicit LikePattern(std::string_view pattern);

  bool Match(std::string_view s) const {
    switch (shape_) {
      case Shape::kExact: return s == literal_;
      case Shape::kPrefix: return s.substr(0, literal_.size()) == literal_;
      case Shape::kSuffix: return s.size() >= literal_.size() && s.substr(s.size() - literal_.size()) == literal_;
      case Shape::kInfix: return s.find(literal_) != std::string_view::npos;
      case Shape::kGeneral: return MatchGeneral(s);
    }
    return false;
  }

  Shape shape() const { return shape_; }
  // The literal text of the non-general shapes (exact, prefix, suffix, infix).
  const std::string& literal() const { return literal_; }
  const std::string& source() const { return source_; }

 private:
  struct Part {
    enum class Kind { kLiteral, kOne, kMany } kind;
    std::string text;  // kLiteral
  };
  bool MatchGeneral(std::string_view s) const;

  std::string source_;
  Shape shape_ = Shape::kGeneral;
  std::string literal_;  // for the non-general shapes
  std::vector<Part> parts_;
};

}  // namespace kite::expr::internal
