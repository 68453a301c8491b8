// Parser for the filter language: tokens -> Ast (see ast.h, lexer.h).
//
// Precedence, loosest first: or (`||`) < and (`&&`) < not (`!`, prefix) <
// comparisons (== != < <= > >=, chained ranges `1 < a <= 5`, in / not in,
// like, is [not] null; non-associative) < + - < * / % < unary - + < ** (left
// associative, as Milvus's grammar) < postfix/primary (literals, names,
// meta["a"][0], f(args), (expr), [array], {template}, exists x).
// Unlike Milvus's grammar `not` binds looser than comparisons (SQL style), so
// `not a > 1` means `not (a > 1)`; every expression Milvus accepts parses the
// same way. Bitwise operators, `=`, `=~` and `!~` are rejected with a message.
//
// Bounded: text longer than max_length is rejected up front; recursion depth
// and tree depth are checked before they exceed max_depth, so the parser
// cannot overflow the stack whatever the input. Pure function, thread-safe.
// Internal to src/expr.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "expr/ast.h"

namespace kite::expr::internal {

struct ParseError {
  std::string message;
  size_t pos = 0;
  bool trailing = false;  // a whole expression parsed, then tokens were left over
};

// Returns nullptr and fills `error` on failure. An empty (whitespace-only)
// text yields nullptr with an empty error message.
std::unique_ptr<Ast> Parse(std::string_view text, size_t max_length, int max_depth, ParseError* error);

}  // namespace kite::expr::internal
