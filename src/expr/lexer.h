// Lexer for the filter language: text -> tokens with byte offsets.
//
// Tokens follow Milvus's Plan.g4: integers (decimal, 0-octal, 0x hex, 0b
// binary), floats (decimal and hex, with exponents), strings in "..." or '...'
// with C escapes (\n \t \" \' \\ \xHH \ooo \uXXXX \UXXXXXXXX ...), identifiers
// [A-Za-z_][A-Za-z0-9_]* and `$meta`, operators and punctuation. Keywords
// (and or not in like is null exists true false) are case-insensitive.
// In strings `\%` and `\_` keep their backslash so that LIKE patterns can
// escape wildcards; any other unknown escape is an error.
//
// Pure function, thread-safe. Internal to src/expr.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kite::expr::internal {

enum class Tok : uint8_t {
  kEnd,
  kInt,      // value in int_value (magnitude; may exceed INT64_MAX, see Token)
  kFloat,    // value in float_value
  kString,   // decoded bytes in text
  kIdent,    // name in text
  kLParen, kRParen, kLBracket, kRBracket, kLBrace, kRBrace, kComma,
  kEq, kNe, kLt, kLe, kGt, kGe,
  kPlus, kMinus, kStar, kSlash, kPercent, kPow,
  kAnd, kOr, kNot,          // keyword or symbol form (&& || !)
  kAmp, kPipe, kCaret, kTilde, kShl, kShr,  // bitwise: recognised, rejected by the parser
  kAssign, kRegexMatch, kRegexNotMatch,     // `=`, `=~`, `!~`: rejected by the parser
  kIn, kLike, kIs, kNull, kExists, kTrue, kFalse,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;  // byte offset of the first character
  size_t len = 0;  // bytes in the source
  std::string text;
  uint64_t int_value = 0;  // kInt: up to 2^64-1; the parser range-checks (allows -2^63)
  double float_value = 0;
};

struct LexError {
  std::string message;
  size_t pos = 0;
};

// Tokenizes all of `text`; the last token is kEnd. Returns false and fills
// `error` on a malformed token.
bool Lex(std::string_view text, std::vector<Token>* tokens, LexError* error);

// How a token kind reads in messages: "'=='", "identifier", "end of expression".
std::string TokenName(const Token& t);

}  // namespace kite::expr::internal
