#include "expr/parser.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "expr/lexer.h"

namespace kite::expr::internal {

std::string_view CmpOpName(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "==";
    case CmpOp::kNe: return "!=";
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
  }
  return "?";
}

std::string_view ArithOpName(ArithOp op) {
  switch (op) {
    case ArithOp::kAdd: return "+";
    case ArithOp::kSub: return "-";
    case ArithOp::kMul: return "*";
    case ArithOp::kDiv: return "/";
    case ArithOp::kMod: return "%";
    case ArithOp::kPow: return "**";
  }
  return "?";
}

CmpOp Reverse(CmpOp op) {
  switch (op) {
    case CmpOp::kLt: return CmpOp::kGt;
    case CmpOp::kLe: return CmpOp::kGe;
    case CmpOp::kGt: return CmpOp::kLt;
    case CmpOp::kGe: return CmpOp::kLe;
    default: return op;
  }
}

namespace {

#define KITE_NOINLINE [[gnu::noinline]]

// Binding powers (see parser.h).
constexpr int kPrecOr = 1;
constexpr int kPrecAnd = 2;
constexpr int kPrecCompare = 4;
constexpr int kPrecAdd = 6;
constexpr int kPrecMul = 7;
constexpr int kPrecUnary = 9;  // operand of unary +/-: power binds tighter
constexpr int kPrecPow = 9;

bool IsRelational(Tok t) { return t == Tok::kLt || t == Tok::kLe || t == Tok::kGt || t == Tok::kGe; }

CmpOp ToCmp(Tok t) {
  switch (t) {
    case Tok::kEq: return CmpOp::kEq;
    case Tok::kNe: return CmpOp::kNe;
    case Tok::kLt: return CmpOp::kLt;
    case Tok::kLe: return CmpOp::kLe;
    case Tok::kGt: return CmpOp::kGt;
    default: return CmpOp::kGe;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, int max_depth, ParseError* err)
      : toks_(std::move(tokens)), max_depth_(max_depth), err_(err) {}

  std::unique_ptr<Ast> ParseAll() {
    auto e = ParseExpr(kPrecOr);
    if (!e) return nullptr;
    if (Peek().kind != Tok::kEnd) {
      err_->trailing = !failed_;
      return Fail(Peek().pos, fmt::format("unexpected {}", TokenName(Peek())));
    }
    return e;
  }

 private:
  const Token& Peek(size_t ahead = 0) const { return toks_[std::min(i_ + ahead, toks_.size() - 1)]; }
  const Token& Advance() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  KITE_NOINLINE std::unique_ptr<Ast> Fail(size_t pos, std::string msg) {
    if (!failed_) {
      failed_ = true;
      err_->pos = pos;
      err_->message = std::move(msg);
    }
    return nullptr;
  }
  KITE_NOINLINE std::unique_ptr<Ast> TooDeep(size_t pos) {
    return Fail(pos, fmt::format("expression is nested too deeply (max depth {})", max_depth_));
  }

  std::unique_ptr<Ast> Node(AstKind kind, size_t pos, size_t end) {
    auto n = std::make_unique<Ast>();
    n->kind = kind;
    n->pos = pos;
    n->end = end;
    return n;
  }
  // Adopts `kids`, computes span and depth; nullptr if the tree got too deep.
  std::unique_ptr<Ast> Finish(std::unique_ptr<Ast> n) {
    int d = 0;
    for (const auto& k : n->kids) {
      d = std::max(d, k->depth);
      n->pos = std::min(n->pos, k->pos);
      n->end = std::max(n->end, k->end);
    }
    n->depth = d + 1;
    if (n->depth > max_depth_) return TooDeep(n->pos);
    return n;
  }

  // Every recursive path goes through ParseExpr, so this bounds the stack.
  struct DepthGuard {
    explicit DepthGuard(int* d) : d_(d) { ++*d_; }
    ~DepthGuard() { --*d_; }
    int* d_;
  };

  std::unique_ptr<Ast> ParseExpr(int min_prec) {
    DepthGuard guard(&nest_);
    if (nest_ > max_depth_) return TooDeep(Peek().pos);
    auto lhs = ParsePrefix();
    while (lhs) {
      const Token& t = Peek();
      if (t.kind == Tok::kOr && min_prec <= kPrecOr) {
        lhs = ParseNary(AstKind::kOr, Tok::kOr, kPrecOr + 1, std::move(lhs));
      } else if (t.kind == Tok::kAnd && min_prec <= kPrecAnd) {
        lhs = ParseNary(AstKind::kAnd, Tok::kAnd, kPrecAnd + 1, std::move(lhs));
      } else if (IsCompareLevel() && min_prec <= kPrecCompare) {
        lhs = ParseCompareTail(std::move(lhs));
      } else if ((t.kind == Tok::kPlus || t.kind == Tok::kMinus) && min_prec <= kPrecAdd) {
        lhs = ParseBinaryArith(std::move(lhs), kPrecAdd + 1);
      } else if ((t.kind == Tok::kStar || t.kind == Tok::kSlash || t.kind == Tok::kPercent) && min_prec <= kPrecMul) {
        lhs = ParseBinaryArith(std::move(lhs), kPrecMul + 1);
      } else if (t.kind == Tok::kPow && min_prec <= kPrecPow) {
        lhs = ParseBinaryArith(std::move(lhs), kPrecPow + 1);
      } else if (t.kind == Tok::kAmp || t.kind == Tok::kPipe || t.kind == Tok::kCaret || t.kind == Tok::kShl ||
                 t.kind == Tok::kShr || t.kind == Tok::kAssign || t.kind == Tok::kRegexMatch ||
                 t.kind == Tok::kRegexNotMatch) {
        return UnsupportedOperator(t);
      } else {
        break;
      }
    }
    return lhs;
  }

  KITE_NOINLINE std::unique_ptr<Ast> UnsupportedOperator(const Token& t) {
    if (t.kind == Tok::kAssign) return Fail(t.pos, "unexpected '=' (use '==' to compare)");
    if (t.kind == Tok::kRegexMatch || t.kind == Tok::kRegexNotMatch) {
      return Fail(t.pos, fmt::format("regular expression operator {} is not supported", TokenName(t)));
    }
    return Fail(t.pos, fmt::format("bitwise operator {} is not supported", TokenName(t)));
  }

  bool IsCompareLevel() const {
    switch (Peek().kind) {
      case Tok::kEq:
      case Tok::kNe:
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe:
      case Tok::kIn:
      case Tok::kLike:
      case Tok::kIs: return true;
      case Tok::kNot: return Peek(1).kind == Tok::kIn || Peek(1).kind == Tok::kLike;
      default: return false;
    }
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseNary(AstKind kind, Tok tok, int rhs_prec, std::unique_ptr<Ast> first) {
    auto n = Node(kind, first->pos, first->end);
    n->op_pos = Peek().pos;
    n->kids.push_back(std::move(first));
    while (Peek().kind == tok) {
      Advance();
      auto rhs = ParseExpr(rhs_prec);
      if (!rhs) return nullptr;
      n->kids.push_back(std::move(rhs));
    }
    return Finish(std::move(n));
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseBinaryArith(std::unique_ptr<Ast> lhs, int rhs_prec) {
    const Token& t = Advance();
    ArithOp op = t.kind == Tok::kPlus    ? ArithOp::kAdd
                 : t.kind == Tok::kMinus ? ArithOp::kSub
                 : t.kind == Tok::kStar  ? ArithOp::kMul
                 : t.kind == Tok::kSlash ? ArithOp::kDiv
                 : t.kind == Tok::kPercent ? ArithOp::kMod
                                           : ArithOp::kPow;
    size_t op_pos = t.pos;
    auto rhs = ParseExpr(rhs_prec);
    if (!rhs) return nullptr;
    auto n = Node(AstKind::kArith, lhs->pos, rhs->end);
    n->arith_op = op;
    n->op_pos = op_pos;
    n->kids.push_back(std::move(lhs));
    n->kids.push_back(std::move(rhs));
    return Finish(std::move(n));
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseCompareTail(std::unique_ptr<Ast> lhs) {
    const Token& t = Advance();
    size_t op_pos = t.pos;
    Tok kind = t.kind;
    auto binary = [&](AstKind k, std::unique_ptr<Ast> rhs) -> std::unique_ptr<Ast> {
      if (!rhs) return nullptr;
      auto n = Node(k, lhs->pos, rhs->end);
      n->op_pos = op_pos;
      n->kids.push_back(std::move(lhs));
      n->kids.push_back(std::move(rhs));
      return n;
    };
    switch (kind) {
      case Tok::kEq:
      case Tok::kNe: {
        auto n = binary(AstKind::kCompare, ParseExpr(kPrecCompare + 1));
        if (!n) return nullptr;
        n->cmp_op = ToCmp(kind);
        return Finish(std::move(n));
      }
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe: {
        auto mid = ParseExpr(kPrecCompare + 1);
        if (!mid) return nullptr;
        if (!IsRelational(Peek().kind)) {
          auto n = binary(AstKind::kCompare, std::move(mid));
          n->cmp_op = ToCmp(kind);
          return Finish(std::move(n));
        }
        const Token& t2 = Advance();
        bool up1 = kind == Tok::kLt || kind == Tok::kLe;
        bool up2 = t2.kind == Tok::kLt || t2.kind == Tok::kLe;
        if (up1 != up2) {
          return Fail(t2.pos, fmt::format("invalid range: both operators of a chained comparison must be "
                                          "'<'/'<=' or both '>'/'>=', got {} and {}",
                                          CmpOpName(ToCmp(kind)), CmpOpName(ToCmp(t2.kind))));
        }
        CmpOp op2 = ToCmp(t2.kind);
        auto upper = ParseExpr(kPrecCompare + 1);
        if (!upper) return nullptr;
        if (IsRelational(Peek().kind)) {
          return Fail(Peek().pos, "a chained comparison may have at most two operators");
        }
        auto n = Node(AstKind::kRange, lhs->pos, upper->end);
        n->op_pos = op_pos;
        n->cmp_op = ToCmp(kind);
        n->cmp_op2 = op2;
        n->kids.push_back(std::move(lhs));
        n->kids.push_back(std::move(mid));
        n->kids.push_back(std::move(upper));
        return Finish(std::move(n));
      }
      case Tok::kIn: return FinishOrNull(binary(AstKind::kIn, ParseExpr(kPrecCompare + 1)));
      case Tok::kLike: return FinishOrNull(binary(AstKind::kLike, ParseExpr(kPrecCompare + 1)));
      case Tok::kNot: {
        Tok next = Advance().kind;  // in / like (checked by IsCompareLevel)
        AstKind k = next == Tok::kIn ? AstKind::kNotIn : AstKind::kNotLike;
        return FinishOrNull(binary(k, ParseExpr(kPrecCompare + 1)));
      }
      case Tok::kIs: {
        bool negate = false;
        if (Peek().kind == Tok::kNot) {
          Advance();
          negate = true;
        }
        if (Peek().kind != Tok::kNull) {
          return Fail(Peek().pos, fmt::format("expected 'null' after '{}', got {}", negate ? "is not" : "is",
                                              TokenName(Peek())));
        }
        size_t end = Advance().pos + 4;
        auto n = Node(negate ? AstKind::kIsNotNull : AstKind::kIsNull, lhs->pos, end);
        n->op_pos = op_pos;
        n->kids.push_back(std::move(lhs));
        return Finish(std::move(n));
      }
      default: return Fail(op_pos, fmt::format("unexpected {}", TokenName(t)));
    }
  }
  std::unique_ptr<Ast> FinishOrNull(std::unique_ptr<Ast> n) { return n ? Finish(std::move(n)) : nullptr; }

  // The recursion is ParseExpr -> ParsePrefix -> ParsePrimary -> (one of the
  // out-of-line cases) -> ParseExpr; every case lives in its own noinline
  // function so that the frames on that cycle stay small.
  std::unique_ptr<Ast> ParsePrefix() {
    switch (Peek().kind) {
      case Tok::kNot: return ParseNot();
      case Tok::kMinus:
      case Tok::kPlus: return ParseSign();
      case Tok::kExists: return ParseExists();
      case Tok::kTilde: return Fail(Peek().pos, "bitwise operator '~' is not supported");
      default: return ParsePrimary();
    }
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseNot() {
    size_t pos = Advance().pos;
    auto operand = ParseExpr(kPrecCompare);
    if (!operand) return nullptr;
    auto n = Node(AstKind::kNot, pos, operand->end);
    n->kids.push_back(std::move(operand));
    return Finish(std::move(n));
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseSign() {
    const Token& t = Advance();
    size_t pos = t.pos;
    bool neg = t.kind == Tok::kMinus;
    // -9223372036854775808 is only representable with its sign attached.
    if (neg && Peek().kind == Tok::kInt && Peek().int_value == (uint64_t{1} << 63) && Peek(1).kind != Tok::kPow) {
      const Token& lit = Advance();
      auto n = Node(AstKind::kInt, pos, lit.pos + lit.len);
      n->int_value = INT64_MIN;
      return n;
    }
    auto operand = ParseExpr(kPrecUnary);
    if (!operand) return nullptr;
    auto n = Node(neg ? AstKind::kNeg : AstKind::kPos, pos, operand->end);
    n->op_pos = pos;
    n->kids.push_back(std::move(operand));
    return Finish(std::move(n));
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseExists() {
    size_t pos = Advance().pos;
    auto operand = ParsePrimary();
    if (!operand) return nullptr;
    auto n = Node(AstKind::kExists, pos, operand->end);
    n->kids.push_back(std::move(operand));
    return Finish(std::move(n));
  }

  std::unique_ptr<Ast> ParsePrimary() {
    switch (Peek().kind) {
      case Tok::kIdent: return ParseName(Advance());
      case Tok::kLParen: return ParseParens();
      case Tok::kLBracket: return ParseArray(Advance().pos);
      default: return ParseAtom();
    }
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseParens() {
    const Token& open = Advance();
    auto e = ParseExpr(kPrecOr);
    if (!e) return nullptr;
    if (Peek().kind != Tok::kRParen) {
      return Fail(Peek().pos, fmt::format("expected ')' to close '(' at position {}, got {}", open.pos,
                                          TokenName(Peek())));
    }
    const Token& close = Advance();
    e->pos = std::min(e->pos, open.pos);
    e->end = close.pos + 1;
    return e;
  }

  // Literals, templates and the errors for tokens that cannot start an operand.
  KITE_NOINLINE std::unique_ptr<Ast> ParseAtom() {
    const Token& t = Advance();
    size_t end = t.pos + t.len;
    switch (t.kind) {
      case Tok::kInt: {
        if (t.int_value > static_cast<uint64_t>(INT64_MAX)) {
          return Fail(t.pos, fmt::format("integer literal {} out of range for Int64", t.text));
        }
        auto n = Node(AstKind::kInt, t.pos, end);
        n->int_value = static_cast<int64_t>(t.int_value);
        return n;
      }
      case Tok::kFloat: {
        auto n = Node(AstKind::kFloat, t.pos, end);
        n->float_value = t.float_value;
        return n;
      }
      case Tok::kString: {
        auto n = Node(AstKind::kString, t.pos, end);
        n->text = t.text;
        return n;
      }
      case Tok::kTrue:
      case Tok::kFalse: {
        auto n = Node(AstKind::kBool, t.pos, end);
        n->bool_value = t.kind == Tok::kTrue;
        return n;
      }
      case Tok::kLBrace: {
        if (Peek().kind != Tok::kIdent) {
          return Fail(Peek().pos, fmt::format("expected a placeholder name after '{{', got {}", TokenName(Peek())));
        }
        std::string name = Advance().text;
        if (Peek().kind != Tok::kRBrace) {
          return Fail(Peek().pos, fmt::format("expected '}}' after placeholder {{{}, got {}", name, TokenName(Peek())));
        }
        const Token& close = Advance();
        auto n = Node(AstKind::kTemplate, t.pos, close.pos + 1);
        n->text = std::move(name);
        return n;
      }
      case Tok::kNull: return Fail(t.pos, "null is not a value here; use 'is null' or 'is not null'");
      case Tok::kEnd: return Fail(t.pos, "unexpected end of expression");
      default: return Fail(t.pos, fmt::format("unexpected {}", TokenName(t)));
    }
  }

  // An identifier: a function call f(...), a path a["k"][0], or a bare name.
  KITE_NOINLINE std::unique_ptr<Ast> ParseName(const Token& ident) {
    // `ISO 'text'` / `INTERVAL 'P1D'` (TIMESTAMPTZ literals): contextual
    // keywords, so a field named iso or interval still works elsewhere.
    if (Peek().kind == Tok::kString && (ident.text == "iso" || ident.text == "ISO" || ident.text == "interval" ||
                                        ident.text == "INTERVAL")) {
      const Token& str = Advance();
      auto n = Node(ident.text == "iso" || ident.text == "ISO" ? AstKind::kIso : AstKind::kInterval, ident.pos,
                    str.pos + str.len);
      n->text = str.text;
      return n;
    }
    if (Peek().kind == Tok::kLParen) {
      Advance();
      auto n = Node(AstKind::kCall, ident.pos, ident.pos + ident.len);
      n->text = ident.text;
      if (Peek().kind != Tok::kRParen) {
        while (true) {
          std::unique_ptr<Ast> arg;
          if (Peek().kind == Tok::kIdent && Peek(1).kind == Tok::kAssign) {
            const Token name = Advance();
            Advance();
            // TEXT_MATCH_FUZZY's option: Milvus names the option in its out-of-range error.
            if (Peek().kind == Tok::kInt && Peek().int_value > static_cast<uint64_t>(INT64_MAX) &&
                (name.text == "max_edit_distance" || name.text == "MAX_EDIT_DISTANCE")) {
              return Fail(Peek().pos, fmt::format("invalid max_edit_distance value: {}", Peek().text));
            }
            auto value = ParseExpr(kPrecOr);
            if (!value) return nullptr;
            arg = Node(AstKind::kNamedArg, name.pos, value->end);
            arg->text = name.text;
            arg->kids.push_back(std::move(value));
          } else {
            arg = ParseExpr(kPrecOr);
          }
          if (!arg) return nullptr;
          n->kids.push_back(std::move(arg));
          if (Peek().kind == Tok::kComma) {
            Advance();
            if (Peek().kind == Tok::kRParen) break;  // trailing comma
            continue;
          }
          break;
        }
      }
      if (Peek().kind != Tok::kRParen) {
        return Fail(Peek().pos, fmt::format("expected ',' or ')' in arguments of {}, got {}", ident.text,
                                            TokenName(Peek())));
      }
      n->end = Advance().pos + 1;
      return Finish(std::move(n));
    }
    if (Peek().kind != Tok::kLBracket) {
      auto n = Node(AstKind::kIdent, ident.pos, ident.pos + ident.len);
      n->text = ident.text;
      return n;
    }
    auto n = Node(AstKind::kPath, ident.pos, ident.pos + ident.len);
    n->text = ident.text;
    while (Peek().kind == Tok::kLBracket) {
      Advance();
      const Token& k = Peek();
      PathStep step;
      step.pos = k.pos;
      if (k.kind == Tok::kString) {
        step.key = k.text;
      } else if (k.kind == Tok::kInt) {
        if (k.int_value > static_cast<uint64_t>(INT64_MAX)) return Fail(k.pos, "index out of range");
        step.is_index = true;
        step.index = static_cast<int64_t>(k.int_value);
        step.key = std::to_string(step.index);
      } else if (k.kind == Tok::kMinus) {
        return Fail(k.pos, "negative index is not supported");
      } else {
        return Fail(k.pos, fmt::format("a path index must be a string literal or a non-negative integer, got {}",
                                       TokenName(k)));
      }
      Advance();
      if (Peek().kind != Tok::kRBracket) {
        return Fail(Peek().pos, fmt::format("expected ']' in path of {}, got {}", ident.text, TokenName(Peek())));
      }
      n->end = Advance().pos + 1;
      n->path.push_back(std::move(step));
    }
    return n;
  }

  KITE_NOINLINE std::unique_ptr<Ast> ParseArray(size_t open_pos) {
    auto n = Node(AstKind::kArray, open_pos, open_pos + 1);
    if (Peek().kind != Tok::kRBracket) {
      while (true) {
        auto e = ParseExpr(kPrecOr);
        if (!e) return nullptr;
        n->kids.push_back(std::move(e));
        if (Peek().kind == Tok::kComma) {
          Advance();
          if (Peek().kind == Tok::kRBracket) break;  // trailing comma
          continue;
        }
        break;
      }
    }
    if (Peek().kind != Tok::kRBracket) {
      return Fail(Peek().pos, fmt::format("expected ',' or ']' in array literal, got {}", TokenName(Peek())));
    }
    n->end = Advance().pos + 1;
    return Finish(std::move(n));
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
  int max_depth_;
  int nest_ = 0;
  bool failed_ = false;
  ParseError* err_;
};

}  // namespace

std::unique_ptr<Ast> Parse(std::string_view text, size_t max_length, int max_depth, ParseError* error) {
  error->message.clear();
  error->pos = 0;
  if (text.size() > max_length) {
    error->message = fmt::format("expression length {} exceeds the limit of {} bytes", text.size(), max_length);
    error->pos = max_length;
    return nullptr;
  }
  std::vector<Token> tokens;
  LexError lex_error;
  if (!Lex(text, &tokens, &lex_error)) {
    error->message = std::move(lex_error.message);
    error->pos = lex_error.pos;
    return nullptr;
  }
  if (tokens.size() == 1) return nullptr;  // empty expression
  Parser p(std::move(tokens), std::clamp(max_depth, 1, 1000), error);
  return p.ParseAll();
}

}  // namespace kite::expr::internal
