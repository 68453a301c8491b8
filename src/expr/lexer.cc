#include "expr/lexer.h"

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

namespace kite::expr::internal {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexVal(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Tok KeywordKind(std::string_view word) {
  static constexpr std::pair<std::string_view, Tok> kKeywords[] = {
      {"and", Tok::kAnd},   {"or", Tok::kOr},       {"not", Tok::kNot},   {"in", Tok::kIn},
      {"like", Tok::kLike}, {"is", Tok::kIs},       {"null", Tok::kNull}, {"exists", Tok::kExists},
      {"true", Tok::kTrue}, {"false", Tok::kFalse},
  };
  for (const auto& [k, t] : kKeywords) {
    if (EqualsIgnoreCase(word, k)) return t;
  }
  return Tok::kIdent;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Lexer {
 public:
  Lexer(std::string_view text, std::vector<Token>* out, LexError* err) : s_(text), out_(out), err_(err) {}

  bool Run() {
    while (true) {
      SkipSpace();
      if (i_ >= s_.size()) {
        Push(Tok::kEnd, i_, 0);
        return true;
      }
      if (!Next()) return false;
    }
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r' ||
                              s_[i_] == '\f' || s_[i_] == '\v')) {
      ++i_;
    }
  }
  char At(size_t k) const { return k < s_.size() ? s_[k] : '\0'; }
  Token& Push(Tok kind, size_t pos, size_t len) {
    Token t;
    t.kind = kind;
    t.pos = pos;
    t.len = len;
    out_->push_back(std::move(t));
    return out_->back();
  }
  bool Fail(size_t pos, std::string msg) {
    err_->pos = pos;
    err_->message = std::move(msg);
    return false;
  }

  bool Next() {
    size_t start = i_;
    char c = s_[i_];
    if (IsIdentStart(c)) return Ident();
    if (IsDigit(c) || (c == '.' && IsDigit(At(i_ + 1)))) return Number();
    if (c == '"' || c == '\'') return String();
    if (c == '$') {
      if (s_.substr(i_, 5) == "$meta" && !IsIdentChar(At(i_ + 5))) {
        i_ += 5;
        Push(Tok::kIdent, start, 5).text = "$meta";
        return true;
      }
      return Fail(start, "unexpected character '$' (only $meta is supported)");
    }
    auto two = [&](char second) { return At(i_ + 1) == second; };
    Tok kind;
    size_t len = 1;
    switch (c) {
      case '(': kind = Tok::kLParen; break;
      case ')': kind = Tok::kRParen; break;
      case '[': kind = Tok::kLBracket; break;
      case ']': kind = Tok::kRBracket; break;
      case '{': kind = Tok::kLBrace; break;
      case '}': kind = Tok::kRBrace; break;
      case ',': kind = Tok::kComma; break;
      case '+': kind = Tok::kPlus; break;
      case '-': kind = Tok::kMinus; break;
      case '/': kind = Tok::kSlash; break;
      case '%': kind = Tok::kPercent; break;
      case '^': kind = Tok::kCaret; break;
      case '~': kind = Tok::kTilde; break;
      case '*':
        kind = two('*') ? Tok::kPow : Tok::kStar;
        len = two('*') ? 2 : 1;
        break;
      case '=':
        if (two('=')) {
          kind = Tok::kEq, len = 2;
        } else if (two('~')) {
          kind = Tok::kRegexMatch, len = 2;
        } else {
          kind = Tok::kAssign;
        }
        break;
      case '!':
        if (two('=')) {
          kind = Tok::kNe, len = 2;
        } else if (two('~')) {
          kind = Tok::kRegexNotMatch, len = 2;
        } else {
          kind = Tok::kNot;
        }
        break;
      case '<':
        if (two('=')) {
          kind = Tok::kLe, len = 2;
        } else if (two('<')) {
          kind = Tok::kShl, len = 2;
        } else {
          kind = Tok::kLt;
        }
        break;
      case '>':
        if (two('=')) {
          kind = Tok::kGe, len = 2;
        } else if (two('>')) {
          kind = Tok::kShr, len = 2;
        } else {
          kind = Tok::kGt;
        }
        break;
      case '&':
        kind = two('&') ? Tok::kAnd : Tok::kAmp;
        len = two('&') ? 2 : 1;
        break;
      case '|':
        kind = two('|') ? Tok::kOr : Tok::kPipe;
        len = two('|') ? 2 : 1;
        break;
      default: {
        unsigned char uc = static_cast<unsigned char>(c);
        if (uc >= 0x20 && uc < 0x7F) return Fail(start, fmt::format("unexpected character '{}'", c));
        return Fail(start, fmt::format("unexpected byte 0x{:02x}", uc));
      }
    }
    i_ += len;
    Push(kind, start, len);
    return true;
  }

  bool Ident() {
    size_t start = i_;
    while (i_ < s_.size() && IsIdentChar(s_[i_])) ++i_;
    std::string_view word = s_.substr(start, i_ - start);
    Token& t = Push(KeywordKind(word), start, word.size());
    t.text = std::string(word);
    return true;
  }

  bool Number() {
    size_t start = i_;
    // Hex / binary prefixes.
    if (s_[i_] == '0' && (At(i_ + 1) == 'x' || At(i_ + 1) == 'X')) {
      size_t j = i_ + 2;
      while (j < s_.size() && IsHex(s_[j])) ++j;
      bool is_float = At(j) == '.' || At(j) == 'p' || At(j) == 'P';
      if (is_float) return FloatToken(start);
      if (j == i_ + 2) return Fail(start, "invalid hexadecimal literal");
      uint64_t v = 0;
      for (size_t k = i_ + 2; k < j; ++k) {
        if (v > (UINT64_MAX >> 4)) return Fail(start, "integer literal out of range");
        v = (v << 4) | static_cast<uint64_t>(HexVal(s_[k]));
      }
      i_ = j;
      return IntToken(start, v);
    }
    if (s_[i_] == '0' && (At(i_ + 1) == 'b' || At(i_ + 1) == 'B')) {
      size_t j = i_ + 2;
      uint64_t v = 0;
      while (j < s_.size() && (s_[j] == '0' || s_[j] == '1')) {
        if (v > (UINT64_MAX >> 1)) return Fail(start, "integer literal out of range");
        v = (v << 1) | static_cast<uint64_t>(s_[j] - '0');
        ++j;
      }
      if (j == i_ + 2 || IsDigit(At(j))) return Fail(start, "invalid binary literal");
      i_ = j;
      return IntToken(start, v);
    }
    size_t j = i_;
    while (j < s_.size() && IsDigit(s_[j])) ++j;
    if (At(j) == '.' || At(j) == 'e' || At(j) == 'E') {
      // A float; but `1.e` needs digits after the exponent marker.
      return FloatToken(start);
    }
    std::string_view digits = s_.substr(i_, j - i_);
    uint64_t v = 0;
    if (digits.size() > 1 && digits[0] == '0') {  // octal
      for (char d : digits.substr(1)) {
        if (d > '7') return Fail(start, fmt::format("invalid octal literal {}", digits));
        if (v > (UINT64_MAX >> 3)) return Fail(start, "integer literal out of range");
        v = (v << 3) | static_cast<uint64_t>(d - '0');
      }
    } else {
      for (char d : digits) {
        uint64_t dv = static_cast<uint64_t>(d - '0');
        if (v > (UINT64_MAX - dv) / 10) return Fail(start, fmt::format("integer literal {} out of range", digits));
        v = v * 10 + dv;
      }
    }
    i_ = j;
    return IntToken(start, v);
  }

  bool IntToken(size_t start, uint64_t v) {
    Token& t = Push(Tok::kInt, start, i_ - start);
    t.int_value = v;
    t.text = std::string(s_.substr(start, i_ - start));
    return true;
  }

  bool FloatToken(size_t start) {
    // Find the extent: digits, '.', exponent with sign; hex floats too.
    size_t j = start;
    bool hex = s_[j] == '0' && (At(j + 1) == 'x' || At(j + 1) == 'X');
    if (hex) j += 2;
    auto digit = [&](char c) { return hex ? IsHex(c) : IsDigit(c); };
    size_t mantissa_digits = 0;
    while (j < s_.size() && digit(s_[j])) ++j, ++mantissa_digits;
    if (At(j) == '.') {
      ++j;
      while (j < s_.size() && digit(s_[j])) ++j, ++mantissa_digits;
    }
    if (mantissa_digits == 0) return Fail(start, "invalid floating-point literal");
    char e = At(j);
    bool has_exp = hex ? (e == 'p' || e == 'P') : (e == 'e' || e == 'E');
    if (hex && !has_exp) return Fail(start, "hexadecimal floating-point literal needs a p exponent");
    if (has_exp) {
      ++j;
      if (At(j) == '+' || At(j) == '-') ++j;
      size_t exp_start = j;
      while (j < s_.size() && IsDigit(s_[j])) ++j;
      if (j == exp_start) return Fail(start, "invalid floating-point literal: missing exponent digits");
    }
    if (At(j) == '.') return Fail(start, "invalid floating-point literal");
    std::string lit(s_.substr(start, j - start));
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(lit.c_str(), &end);
    if (end != lit.c_str() + lit.size()) return Fail(start, fmt::format("invalid floating-point literal {}", lit));
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) {
      return Fail(start, fmt::format("floating-point literal {} out of range", lit));
    }
    i_ = j;
    Token& t = Push(Tok::kFloat, start, j - start);
    t.float_value = v;
    t.text = std::move(lit);
    return true;
  }

  bool String() {
    size_t start = i_;
    char quote = s_[i_++];
    std::string out;
    while (true) {
      if (i_ >= s_.size()) return Fail(start, "unterminated string literal");
      char c = s_[i_];
      if (c == quote) {
        ++i_;
        break;
      }
      if (c == '\n' || c == '\r') return Fail(i_, "newline in string literal");
      if (c != '\\') {
        out.push_back(c);
        ++i_;
        continue;
      }
      if (!Escape(&out)) return false;
    }
    Token& t = Push(Tok::kString, start, i_ - start);
    t.text = std::move(out);
    return true;
  }

  // At a backslash inside a string; appends the decoded bytes.
  bool Escape(std::string* out) {
    size_t at = i_;
    if (i_ + 1 >= s_.size()) return Fail(at, "unterminated string literal");
    char e = s_[i_ + 1];
    i_ += 2;
    switch (e) {
      case 'n': out->push_back('\n'); return true;
      case 't': out->push_back('\t'); return true;
      case 'r': out->push_back('\r'); return true;
      case 'a': out->push_back('\a'); return true;
      case 'b': out->push_back('\b'); return true;
      case 'f': out->push_back('\f'); return true;
      case 'v': out->push_back('\v'); return true;
      case '\\': out->push_back('\\'); return true;
      case '"': out->push_back('"'); return true;
      case '\'': out->push_back('\''); return true;
      case '?': out->push_back('?'); return true;
      case '%':
      case '_':  // LIKE wildcard escapes: keep the backslash for the pattern
        out->push_back('\\');
        out->push_back(e);
        return true;
      case '\n': return true;  // line continuation
      case '\r':
        if (At(i_) == '\n') ++i_;
        return true;
      case 'x': {
        size_t j = i_;
        uint32_t v = 0;
        while (j < s_.size() && IsHex(s_[j]) && j - i_ < 2) v = v * 16 + static_cast<uint32_t>(HexVal(s_[j++]));
        if (j == i_) return Fail(at, "invalid \\x escape: expected hexadecimal digits");
        i_ = j;
        out->push_back(static_cast<char>(v));
        return true;
      }
      case 'u':
      case 'U': {
        size_t n = e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 0; k < n; ++k) {
          if (!IsHex(At(i_ + k))) return Fail(at, fmt::format("invalid \\{} escape: expected {} hexadecimal digits", e, n));
          cp = cp * 16 + static_cast<uint32_t>(HexVal(At(i_ + k)));
        }
        i_ += n;
        if (cp >= 0xD800 && cp <= 0xDBFF && At(i_) == '\\' && At(i_ + 1) == 'u') {
          // UTF-16 surrogate pair written as two \u escapes.
          uint32_t lo = 0;
          bool ok = true;
          for (size_t k = 0; k < 4; ++k) {
            if (!IsHex(At(i_ + 2 + k))) ok = false;
            else lo = lo * 16 + static_cast<uint32_t>(HexVal(At(i_ + 2 + k)));
          }
          if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i_ += 6;
          }
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Fail(at, fmt::format("invalid unicode code point U+{:X} in escape", cp));
        }
        AppendUtf8(out, cp);
        return true;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && At(i_) >= '0' && At(i_) <= '7'; ++k) v = v * 8 + static_cast<uint32_t>(s_[i_++] - '0');
          if (v > 0xFF) return Fail(at, "octal escape out of range");
          out->push_back(static_cast<char>(v));
          return true;
        }
        return Fail(at, fmt::format("invalid escape sequence '\\{}' in string literal",
                                    (static_cast<unsigned char>(e) >= 0x20 && static_cast<unsigned char>(e) < 0x7F)
                                        ? std::string(1, e)
                                        : fmt::format("x{:02x}", static_cast<unsigned char>(e))));
    }
  }

  std::string_view s_;
  std::vector<Token>* out_;
  LexError* err_;
  size_t i_ = 0;
};

}  // namespace

bool Lex(std::string_view text, std::vector<Token>* tokens, LexError* error) {
  tokens->clear();
  return Lexer(text, tokens, error).Run();
}

std::string TokenName(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "end of expression";
    case Tok::kInt:
    case Tok::kFloat: return fmt::format("number {}", t.text);
    case Tok::kString: return "string literal";
    case Tok::kIdent: return fmt::format("identifier '{}'", t.text);
    case Tok::kAnd:
    case Tok::kOr:
    case Tok::kNot:
    case Tok::kIn:
    case Tok::kLike:
    case Tok::kIs:
    case Tok::kNull:
    case Tok::kExists:
    case Tok::kTrue:
    case Tok::kFalse:
      if (!t.text.empty()) return fmt::format("'{}'", t.text);
      break;
    default: break;
  }
  static constexpr std::pair<Tok, std::string_view> kSymbols[] = {
      {Tok::kLParen, "("}, {Tok::kRParen, ")"}, {Tok::kLBracket, "["}, {Tok::kRBracket, "]"},
      {Tok::kLBrace, "{"}, {Tok::kRBrace, "}"}, {Tok::kComma, ","},    {Tok::kEq, "=="},
      {Tok::kNe, "!="},    {Tok::kLt, "<"},     {Tok::kLe, "<="},      {Tok::kGt, ">"},
      {Tok::kGe, ">="},    {Tok::kPlus, "+"},   {Tok::kMinus, "-"},    {Tok::kStar, "*"},
      {Tok::kSlash, "/"},  {Tok::kPercent, "%"}, {Tok::kPow, "**"},    {Tok::kAnd, "&&"},
      {Tok::kOr, "||"},    {Tok::kNot, "!"},    {Tok::kAmp, "&"},      {Tok::kPipe, "|"},
      {Tok::kCaret, "^"},  {Tok::kTilde, "~"},  {Tok::kShl, "<<"},     {Tok::kShr, ">>"},
      {Tok::kAssign, "="}, {Tok::kRegexMatch, "=~"}, {Tok::kRegexNotMatch, "!~"},
  };
  for (const auto& [k, name] : kSymbols) {
    if (k == t.kind) return fmt::format("'{}'", name);
  }
  return "token";
}

}  // namespace kite::expr::internal
