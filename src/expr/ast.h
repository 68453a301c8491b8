// Syntax tree of a filter expression, as the parser produces it: untyped,
// names unresolved. The binder (binder.cc) turns it into a typed plan.
//
// Every node records its byte span in the source (for error messages) and its
// depth (1 for leaves); the parser rejects trees deeper than the configured
// limit, so recursive walks over an Ast are bounded. Plain value type, owned
// through unique_ptr; not thread-safe. Internal to src/expr.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kite::expr::internal {

enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ArithOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod, kPow };

std::string_view CmpOpName(CmpOp op);
std::string_view ArithOpName(ArithOp op);
// a op b  <=>  b Reverse(op) a
CmpOp Reverse(CmpOp op);

enum class AstKind : uint8_t {
  kInt,       // int_value (already range-checked, sign applied)
  kFloat,     // float_value
  kString,    // text
  kBool,      // bool_value
  kArray,     // kids = elements
  kTemplate,  // text = placeholder name
  kIdent,     // text = name
  kPath,      // text = base name, path = steps: meta["a"][0]
  kNeg,       // -kids[0]
  kPos,       // +kids[0]
  kArith,     // kids[0] arith_op kids[1]
  kCompare,   // kids[0] cmp_op kids[1]
  kRange,     // kids[0] cmp_op kids[1] cmp_op2 kids[2]  (chained comparison)
  kIn,        // kids[0] in kids[1]
  kNotIn,     // kids[0] not in kids[1]
  kLike,      // kids[0] like kids[1]
  kNotLike,   // kids[0] not like kids[1]
  kIsNull,    // kids[0] is null
  kIsNotNull, // kids[0] is not null
  kExists,    // exists kids[0]
  kCall,      // text = function name (as written), kids = arguments
  kNamedArg,  // a call argument name=value: text = name, kids[0] = value (TEXT_MATCH's minimum_should_match)
  kAnd,       // kids (n-ary, flattened)
  kOr,        // kids (n-ary, flattened)
  kNot,       // not kids[0]
  kIso,       // ISO 'text': a TIMESTAMPTZ literal, text = the string
  kInterval,  // INTERVAL 'P1D': an ISO-8601 duration, text = the string
};

struct PathStep {
  bool is_index = false;  // meta[0] vs meta["k"]
  int64_t index = 0;
  std::string key;
  size_t pos = 0;
};

struct Ast {
  AstKind kind = AstKind::kInt;
  size_t pos = 0;  // first byte in the source
  size_t end = 0;  // one past the last byte
  int depth = 1;
  std::string text;
  std::vector<PathStep> path;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  CmpOp cmp_op = CmpOp::kEq;
  CmpOp cmp_op2 = CmpOp::kEq;
  ArithOp arith_op = ArithOp::kAdd;
  size_t op_pos = 0;  // where the operator token is
  std::vector<std::unique_ptr<Ast>> kids;
};

}  // namespace kite::expr::internal
