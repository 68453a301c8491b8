// Compile(): parse, then bind the syntax tree against the schema into a typed
// plan. Binding resolves names (schema fields; else dynamic-field keys),
// substitutes template values, checks operand types with Milvus's rules,
// folds constant sub-expressions and picks the specialised plan node for each
// shape (field op constant, ranges, in-lists, ...).
#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "expr/expr.h"
#include "expr/parser.h"
#include "expr/plan.h"

// The binder recurses once per tree level; keeping each case out of line
// keeps that recursion's frames small (see parser_test's 1 MiB stack test).
#define KITE_NOINLINE [[gnu::noinline]]

namespace kite::expr {
namespace internal {
namespace {

// Static type of a bound operand.
enum class T : uint8_t { kBool, kInt, kFloat, kString, kJson, kArray };

struct Info {
  T t = T::kInt;
  DataType type = DataType::kNone;  // schema type of the field / element; Int64 or Double for arithmetic
  DataType elem = DataType::kNone;  // kArray: element type
  const FieldSchema* field = nullptr;
  bool plain_field = false;  // a field by itself (no path, no index, no arithmetic)
  bool json_key = false;     // a JSON path with at least one step
  bool float32 = false;      // Float field/element: constants are rounded to float
  std::string display;       // the source text of the operand
};

struct Bound {
  enum class K : uint8_t { kConst, kValue, kPred } k = K::kConst;
  Literal c;
  std::unique_ptr<ValueNode> value;
  std::unique_ptr<PredNode> pred;
  Info info;
  size_t pos = 0;
};

bool IsNumericT(T t) { return t == T::kInt || t == T::kFloat || t == T::kJson; }

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string DescribeLiteral(const Literal& c) {
  if (c.is_string()) return "string " + c.ToString();
  if (c.is_int()) return "integer " + c.ToString();
  if (c.is_double()) return "number " + c.ToString();
  if (c.is_bool()) return "bool " + c.ToString();
  if (c.is_array()) return "array " + c.ToString();
  return "null";
}

// Vector types as Milvus's segment engine (its C++ DataType enum) names them.
const char* CoreVectorTypeName(DataType t) {
  switch (t) {
    case DataType::kBinaryVector: return "VECTOR_BINARY";
    case DataType::kFloatVector: return "VECTOR_FLOAT";
    case DataType::kFloat16Vector: return "VECTOR_FLOAT16";
    case DataType::kBFloat16Vector: return "VECTOR_BFLOAT16";
    case DataType::kSparseFloatVector: return "VECTOR_SPARSE_U32_F32";
    case DataType::kInt8Vector: return "VECTOR_INT8";
    default: return "VECTOR_ARRAY";
  }
}

std::string TypeLabel(const Info& i) {
  switch (i.t) {
    case T::kJson: return "JSON";
    case T::kArray: return fmt::format("Array({})", DataTypeName(i.elem));
    default: return std::string(DataTypeName(i.type));
  }
}

std::string DescribeValue(const Info& i) {
  if (i.plain_field) return fmt::format("field {} of type {}", i.display, TypeLabel(i));
  return fmt::format("{} of type {}", i.display, TypeLabel(i));
}

// Whether literal `c` can be compared with / stored as an element of `elem`.
bool ElemCompatible(DataType elem, const Literal& c) {
  if (elem == DataType::kBool) return c.is_bool();
  if (IsIntegerType(elem) || IsFloatingType(elem)) return c.is_number();
  if (IsStringType(elem)) return c.is_string();
  return false;
}

bool LiteralsEqual(const Literal& a, const Literal& b) {
  if (a.is_number() && b.is_number()) {
    auto c = CompareLiteralNumbers(a, b);
    return c && *c == 0;
  }
  if (a.is_array() && b.is_array()) {
    const auto &x = a.as_array(), &y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!LiteralsEqual(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

class Binder {
 public:
  Binder(std::string_view text, const CollectionSchema& schema, const TemplateValues& values, std::string timezone)
      : text_(text), schema_(schema), values_(values), timezone_(std::move(timezone)) {}

  Result<std::unique_ptr<PredNode>> BindRoot(const Ast& ast) {
    KITE_ASSIGN_OR_RETURN(Bound b, Bind(ast));
    // A whole expression that is a value, not a predicate, is refused with
    // Milvus's planner text (its data type named as schemapb names it).
    if (b.k == Bound::K::kConst && !b.c.is_bool() && !b.c.is_null()) {
      return NotBoolean(LiteralTypeName(b.c));
    }
    if (b.k == Bound::K::kValue && b.info.t != T::kBool) return NotBoolean(TypeLabel(b.info));
    return ToPred(std::move(b));
  }

  std::string Snippet(const Ast& a) const { return std::string(text_.substr(a.pos, a.end - a.pos)); }

 private:
  // A semantic error (a name, a type, an operand) in Milvus's planner form,
  // "cannot parse expression: <text>, error: <what>", with nothing after
  // <what>: Milvus's proxy appends ": invalid parameter" to it, which clients
  // match as one string. Syntax errors (FormatParseError) keep a position.
  template <typename... Args>
  Status Error(size_t /*pos*/, fmt::format_string<Args...> f, Args&&... args) const {
    return InvalidArgument("cannot parse expression: {}, error: {}", Shown(text_),
                           fmt::format(f, std::forward<Args>(args)...));
  }

  Status NotBoolean(const std::string& type) const {
    return InvalidArgument("predicate is not a boolean expression: {}, data type: {}", Shown(text_), type);
  }

  static std::string LiteralTypeName(const Literal& c) {
    if (c.is_bool()) return "Bool";
    if (c.is_string()) return "VarChar";
    if (c.is_int()) return "Int64";
    if (c.is_double()) return "Double";
    if (c.is_array()) return "Array";
    return "None";
  }

  static std::string Shown(std::string_view text) {
    std::string shown(text.substr(0, 512));
    if (text.size() > 512) shown += "...";
    return shown;
  }

 public:
  static Status ErrorAt(std::string_view text, size_t pos, const std::string& msg) {
    return InvalidArgument("cannot parse expression: {}, error: {} at position {}", Shown(text), msg, pos);
  }

 private:
  static Bound Const(Literal c, size_t pos) {
    Bound b;
    b.k = Bound::K::kConst;
    b.c = std::move(c);
    b.pos = pos;
    return b;
  }
  static Bound Pred(std::unique_ptr<PredNode> p, size_t pos) {
    Bound b;
    b.k = Bound::K::kPred;
    b.pred = std::move(p);
    b.pos = pos;
    return b;
  }
  static Bound Value(std::unique_ptr<ValueNode> v, Info info, size_t pos) {
    Bound b;
    b.k = Bound::K::kValue;
    b.value = std::move(v);
    b.info = std::move(info);
    b.pos = pos;
    return b;
  }

  KITE_NOINLINE Result<std::unique_ptr<PredNode>> ToPred(Bound b) {
    switch (b.k) {
      case Bound::K::kPred: return std::move(b.pred);
      case Bound::K::kConst:
        if (b.c.is_bool()) return std::unique_ptr<PredNode>(std::make_unique<ConstPred>(b.c.as_bool()));
        return Error(b.pos, "expected a boolean expression, got {}", DescribeLiteral(b.c));
      case Bound::K::kValue:
        if (b.info.t == T::kBool) return std::unique_ptr<PredNode>(std::make_unique<BoolValuePred>(std::move(b.value)));
        if (b.info.t == T::kJson) {
          return Error(b.pos, "{} cannot be used as a boolean expression; compare it, e.g. {} == true",
                       b.info.display, b.info.display);
        }
        return Error(b.pos, "expected a boolean expression, got {}", DescribeValue(b.info));
    }
    return Error(b.pos, "expected a boolean expression");
  }

  Result<Bound> Bind(const Ast& a) {
    switch (a.kind) {
      case AstKind::kInt: return Const(Literal(a.int_value), a.pos);
      case AstKind::kFloat: return Const(Literal(a.float_value), a.pos);
      case AstKind::kString: return Const(Literal(a.text), a.pos);
      case AstKind::kBool: return Const(Literal(a.bool_value), a.pos);
      case AstKind::kArray: return BindArray(a);
      case AstKind::kTemplate: return BindTemplate(a);
      case AstKind::kIdent: return BindName(a);
      case AstKind::kPath: return BindName(a);
      case AstKind::kNeg:
      case AstKind::kPos: return BindUnary(a);
      case AstKind::kArith: return BindArith(a);
      case AstKind::kCompare: return BindCompareAst(a);
      case AstKind::kRange: return BindRange(a);
      case AstKind::kIn:
      case AstKind::kNotIn: return BindIn(a);
      case AstKind::kLike:
      case AstKind::kNotLike: return BindLike(a);
      case AstKind::kIsNull:
      case AstKind::kIsNotNull: return BindNullCheck(a);
      case AstKind::kExists: return BindExists(a);
      case AstKind::kCall: return BindCall(a);
      case AstKind::kNamedArg: return Error(a.pos, "named argument {} is not supported here", a.text);
      case AstKind::kAnd:
      case AstKind::kOr: return BindLogical(a);
      case AstKind::kNot: return BindNot(a);
      case AstKind::kIso:
        return Error(a.pos, "an ISO timestamp can only be compared with a timestamptz field, got {}", Snippet(a));
      case AstKind::kInterval:
        return Error(a.pos, "an INTERVAL can only be added to or subtracted from a timestamptz field, got {}",
                     Snippet(a));
    }
    return Error(a.pos, "unsupported expression");
  }

  KITE_NOINLINE Result<Bound> BindNot(const Ast& a) {
    KITE_ASSIGN_OR_RETURN(Bound k, Bind(*a.kids[0]));
    if (k.k == Bound::K::kPred && IsSample(*k.pred)) {
      return Error(a.pos, "random sample expression cannot be used in unary expression");
    }
    // Milvus's words for `not` on a constant that is not a boolean.
    if (k.k == Bound::K::kConst && !k.c.is_bool() && !k.c.is_null()) {
      return Error(a.pos, "not can only apply on boolean");
    }
    KITE_ASSIGN_OR_RETURN(auto p, ToPred(std::move(k)));
    return Pred(Not(std::move(p)), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindArray(const Ast& a) {
    Literal::Array items;
    for (const auto& k : a.kids) {
      KITE_ASSIGN_OR_RETURN(Bound e, Bind(*k));
      if (e.k != Bound::K::kConst) {
        return Error(k->pos, "array elements must be constants, got {}", Snippet(*k));
      }
      items.push_back(std::move(e.c));
    }
    return Const(Literal(std::move(items)), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindCompareAst(const Ast& a) {
    if (a.kids[0]->kind == AstKind::kIso || a.kids[1]->kind == AstKind::kIso) return BindTimestamptzCompare(a);
    KITE_ASSIGN_OR_RETURN(Bound l, Bind(*a.kids[0]));
    KITE_ASSIGN_OR_RETURN(Bound r, Bind(*a.kids[1]));
    KITE_ASSIGN_OR_RETURN(auto p, BindCompare(a.cmp_op, std::move(l), std::move(r), a));
    return Pred(std::move(p), a.pos);
  }

  // ------------------------------------------------------------ names

  KITE_NOINLINE Result<Bound> BindTemplate(const Ast& a) {
    auto it = values_.find(a.text);
    if (it == values_.end()) {
      return Error(a.pos, "the value of expression template variable name {{{}}} is not found", a.text);
    }
    KITE_RETURN_IF_ERROR(CheckTemplateValue(it->second, a));
    return Const(it->second, a.pos);
  }

  Status CheckTemplateValue(const Literal& v, const Ast& a) {
    if (v.is_null()) return Error(a.pos, "template variable {{{}}} is null; null values are not supported", a.text);
    if (v.is_array()) {
      for (const auto& e : v.as_array()) KITE_RETURN_IF_ERROR(CheckTemplateValue(e, a));
    }
    return Status::OK();
  }

  const FieldSchema* Dynamic() const {
    return schema_.enable_dynamic_field ? schema_.DynamicField() : nullptr;
  }

  KITE_NOINLINE Result<Bound> BindName(const Ast& a) {
    const FieldSchema* f = schema_.FindField(a.text);
    const std::vector<PathStep>& steps = a.path;
    Info info;
    info.display = Snippet(a);
    if (f == nullptr) {
      const FieldSchema* dyn = Dynamic();
      if (dyn == nullptr) return Error(a.pos, "field {} not exist", a.text);
      std::vector<std::string> path{a.text};
      for (const auto& s : steps) path.push_back(s.key);
      info.t = T::kJson;
      info.type = DataType::kJson;
      info.field = dyn;
      info.json_key = true;
      auto ref = std::make_unique<JsonRef>(dyn->id, std::move(path), info.display);
      return Value(std::move(ref), std::move(info), a.pos);
    }
    info.field = f;
    info.type = f->type;
    if (IsVectorType(f->type) || f->type == DataType::kArrayOfVector) {
      return Error(a.pos, "vector field {} cannot be used in a filter expression", f->name);
    }
    if (f->type == DataType::kJson || f->is_dynamic) {
      std::vector<std::string> path;
      for (const auto& s : steps) path.push_back(s.key);
      info.t = T::kJson;
      info.type = DataType::kJson;
      info.json_key = !path.empty();
      info.plain_field = path.empty();
      auto ref = std::make_unique<JsonRef>(f->id, std::move(path), info.display);
      return Value(std::move(ref), std::move(info), a.pos);
    }
    if (f->type == DataType::kArray) {
      info.elem = f->element_type;
      if (steps.empty()) {
        info.t = T::kArray;
        info.plain_field = true;
        return Value(std::make_unique<ArrayRef>(f->id, f->element_type, f->name), std::move(info), a.pos);
      }
      if (steps.size() != 1 || !steps[0].is_index) {
        return Error(steps.size() != 1 ? steps[1].pos : steps[0].pos,
                     "array field {} can only be indexed by one non-negative integer, e.g. {}[0]", f->name, f->name);
      }
      if (f->element_type != DataType::kBool && !IsIntegerType(f->element_type) &&
          !IsFloatingType(f->element_type) && !IsStringType(f->element_type)) {
        return Error(a.pos, "array field {} has unsupported element type {}", f->name, DataTypeName(f->element_type));
      }
      info.t = TOf(f->element_type);
      info.type = f->element_type;
      info.float32 = f->element_type == DataType::kFloat;
      auto ref = std::make_unique<ArrayElementRef>(f->id, f->element_type, steps[0].index, info.display);
      return Value(std::move(ref), std::move(info), a.pos);
    }
    if (!steps.empty()) {
      return Error(steps[0].pos, "field {} of type {} cannot be indexed", f->name, DataTypeName(f->type));
    }
    if (f->type == DataType::kText) {
      return Error(a.pos, "filter on text field ({}) is not supported yet", f->name);
    }
    if (f->type == DataType::kTimestamptz || f->type == DataType::kGeometry) {
      // Usable in `is null` and in their own predicates (ISO comparisons, ST_*).
      info.t = f->type == DataType::kTimestamptz ? T::kInt : T::kString;
      info.plain_field = true;
      return Value(std::make_unique<FieldRef>(f->id, f->type, f->name), std::move(info), a.pos);
    }
    if (f->type != DataType::kBool && !IsIntegerType(f->type) && !IsFloatingType(f->type) &&
        f->type != DataType::kVarChar && f->type != DataType::kString) {
      return Error(a.pos, "filtering on field {} of type {} is not supported", f->name, DataTypeName(f->type));
    }
    info.t = TOf(f->type);
    info.plain_field = true;
    info.float32 = f->type == DataType::kFloat;
    return Value(std::make_unique<FieldRef>(f->id, f->type, f->name), std::move(info), a.pos);
  }

  static T TOf(DataType t) {
    if (t == DataType::kBool) return T::kBool;
    if (IsIntegerType(t)) return T::kInt;
    if (IsFloatingType(t)) return T::kFloat;
    return T::kString;
  }

  // -------------------------------------------------------- arithmetic

  Result<Literal> FoldArith(ArithOp op, const Literal& x, const Literal& y, size_t pos) {
    if (!x.is_number() || !y.is_number()) {
      const Literal& bad = x.is_number() ? y : x;
      return Error(pos, "arithmetic operator '{}' cannot be applied to {}", ArithOpName(op), DescribeLiteral(bad));
    }
    if (op == ArithOp::kPow) return Literal(std::pow(x.as_number(), y.as_number()));
    if (x.is_int() && y.is_int()) {
      int64_t a = x.as_int(), b = y.as_int(), r = 0;
      bool overflow = false;
      switch (op) {
        case ArithOp::kAdd: overflow = __builtin_add_overflow(a, b, &r); break;
        case ArithOp::kSub: overflow = __builtin_sub_overflow(a, b, &r); break;
        case ArithOp::kMul: overflow = __builtin_mul_overflow(a, b, &r); break;
        case ArithOp::kDiv:
        case ArithOp::kMod:
          if (b == 0) return Error(pos, "division or modulus by zero");
          if (a == INT64_MIN && b == -1) {
            overflow = true;
          } else {
            r = op == ArithOp::kDiv ? a / b : a % b;
          }
          break;
        default: break;
      }
      if (overflow) return Error(pos, "integer overflow in constant expression");
      return Literal(r);
    }
    double a = x.as_number(), b = y.as_number();
    switch (op) {
      case ArithOp::kAdd: return Literal(a + b);
      case ArithOp::kSub: return Literal(a - b);
      case ArithOp::kMul: return Literal(a * b);
      case ArithOp::kDiv:
        if (b == 0) return Error(pos, "division or modulus by zero");
        return Literal(a / b);
      default: return Error(pos, "modulo can only be applied to integers");
    }
  }

  KITE_NOINLINE Result<Bound> BindUnary(const Ast& a) {
    KITE_ASSIGN_OR_RETURN(Bound k, Bind(*a.kids[0]));
    if (k.k == Bound::K::kPred && IsSample(*k.pred)) {
      return Error(a.pos, "random sample expression cannot be used in unary expression");
    }
    bool neg = a.kind == AstKind::kNeg;
    if (k.k == Bound::K::kConst) {
      if (!k.c.is_number()) {
        return Error(a.pos, "unary '{}' cannot be applied to {}", neg ? "-" : "+", DescribeLiteral(k.c));
      }
      if (!neg) return Const(k.c, a.pos);
      KITE_ASSIGN_OR_RETURN(Literal r, FoldArith(ArithOp::kSub, Literal(int64_t{0}), k.c, a.pos));
      if (k.c.is_double()) r = Literal(-k.c.as_double());  // keeps -0.0
      return Const(std::move(r), a.pos);
    }
    if (k.k != Bound::K::kValue || !IsNumericT(k.info.t)) {
      return Error(a.pos, "unary '{}' cannot be applied to {}", neg ? "-" : "+",
                   k.k == Bound::K::kValue ? DescribeValue(k.info) : Snippet(*a.kids[0]));
    }
    if (!neg) return k;
    VKind kind = k.info.t == T::kInt ? VKind::kInt : VKind::kDouble;
    Info info;
    info.t = kind == VKind::kInt ? T::kInt : T::kFloat;
    info.type = kind == VKind::kInt ? DataType::kInt64 : DataType::kDouble;
    info.display = Snippet(a);
    Literal zero = kind == VKind::kInt ? Literal(int64_t{0}) : Literal(0.0);
    auto node = std::make_unique<Arith>(ArithOp::kSub, kind, std::make_unique<ConstValue>(zero), std::move(k.value));
    return Value(std::move(node), std::move(info), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindArith(const Ast& a) {
    KITE_ASSIGN_OR_RETURN(Bound l, Bind(*a.kids[0]));
    KITE_ASSIGN_OR_RETURN(Bound r, Bind(*a.kids[1]));
    ArithOp op = a.arith_op;
    if (l.k == Bound::K::kConst && r.k == Bound::K::kConst) {
      KITE_ASSIGN_OR_RETURN(Literal v, FoldArith(op, l.c, r.c, a.op_pos));
      return Const(std::move(v), a.pos);
    }
    bool is_int[2];
    Bound* sides[2] = {&l, &r};
    for (int s = 0; s < 2; ++s) {
      Bound& b = *sides[s];
      const Ast& src = *a.kids[s];
      if (b.k == Bound::K::kPred) {
        return Error(src.pos, "arithmetic operator '{}' cannot be applied to the boolean expression {}",
                     ArithOpName(op), Snippet(src));
      }
      if (b.k == Bound::K::kConst) {
        if (!b.c.is_number()) {
          return Error(src.pos, "arithmetic operator '{}' cannot be applied to {}", ArithOpName(op),
                       DescribeLiteral(b.c));
        }
        is_int[s] = b.c.is_int();
      } else {
        if (!IsNumericT(b.info.t)) {
          return Error(src.pos, "arithmetic operator '{}' cannot be applied to {}", ArithOpName(op),
                       DescribeValue(b.info));
        }
        is_int[s] = b.info.t == T::kInt || (b.info.t == T::kJson && op == ArithOp::kMod);
      }
    }
    if (op == ArithOp::kMod && (!is_int[0] || !is_int[1])) {
      return Error(a.op_pos, "modulo can only be applied to integers");
    }
    if ((op == ArithOp::kDiv || op == ArithOp::kMod) && r.k == Bound::K::kConst && r.c.as_number() == 0) {
      return Error(a.kids[1]->pos, "division or modulus by zero");
    }
    VKind kind = (op == ArithOp::kMod || (op != ArithOp::kPow && is_int[0] && is_int[1] &&
                                          l.info.t != T::kJson && r.info.t != T::kJson))
                     ? VKind::kInt
                     : VKind::kDouble;
    auto node_of = [](Bound& b) -> std::unique_ptr<ValueNode> {
      if (b.k == Bound::K::kConst) return std::make_unique<ConstValue>(b.c);
      return std::move(b.value);
    };
    Info info;
    info.t = kind == VKind::kInt ? T::kInt : T::kFloat;
    info.type = kind == VKind::kInt ? DataType::kInt64 : DataType::kDouble;
    // Milvus types arithmetic between a JSON value and a number as the
    // number's type (it names it so in "predicate is not a boolean expression").
    const bool json_l = l.k == Bound::K::kValue && l.info.t == T::kJson;
    const bool json_r = r.k == Bound::K::kValue && r.info.t == T::kJson;
    if (json_l != json_r) info.type = is_int[json_l ? 1 : 0] ? DataType::kInt64 : DataType::kDouble;
    info.display = Snippet(a);
    auto node = std::make_unique<Arith>(op, kind, node_of(l), node_of(r));
    return Value(std::move(node), std::move(info), a.pos);
  }

  // -------------------------------------------------------- comparisons

  // Milvus's planner words: both operands as written, each with its type.
  Status TypeMismatch(const Info& v, const Literal& c, size_t pos) const {
    const std::string type = v.t == T::kArray ? fmt::format("Array[{}]", DataTypeName(v.elem)) : TypeLabel(v);
    return Error(pos, "comparisons between {} ({}) and {} ({}) are not supported", v.display, type, c.ToString(),
                 LiteralTypeName(c));
  }

  // Whether constant `c` fits operand `v` (for comparisons and in-lists).
  Status CheckConstFor(const Info& v, const Literal& c, size_t pos, bool in_list) const {
    switch (v.t) {
      case T::kBool:
        if (!c.is_bool()) return TypeMismatch(v, c, pos);
        break;
      case T::kInt:
      case T::kFloat:
        if (!c.is_number()) return TypeMismatch(v, c, pos);
        break;
      case T::kString:
        if (!c.is_string()) return TypeMismatch(v, c, pos);
        break;
      case T::kJson: break;
      case T::kArray:
        if (in_list) return Error(pos, "'in' is not supported on array field {}; use array_contains_any", v.display);
        if (!c.is_array()) return TypeMismatch(v, c, pos);
        for (const auto& e : c.as_array()) {
          if (!ElemCompatible(v.elem, e)) {
            return Error(pos, "element {} is not compatible with array field {} of element type {}",
                         DescribeLiteral(e), v.display, DataTypeName(v.elem));
          }
        }
        break;
    }
    return Status::OK();
  }

  KITE_NOINLINE Result<std::unique_ptr<PredNode>> BindCompare(CmpOp op, Bound l, Bound r, const Ast& a) {
    for (const Bound* b : {&l, &r}) {
      if (b->k == Bound::K::kPred) {
        return Error(b->pos, "comparison operands must be fields, values or arithmetic, not boolean expressions");
      }
    }
    if (l.k == Bound::K::kConst && r.k == Bound::K::kConst) return FoldCompare(op, l.c, r.c, a);
    for (const Bound* b : {&l, &r}) {
      if (b->k == Bound::K::kValue && (b->info.type == DataType::kTimestamptz || b->info.type == DataType::kGeometry)) {
        const Bound& o = b == &l ? r : l;
        std::string other = o.k == Bound::K::kConst ? std::string(o.c.TypeName()) : TypeLabel(o.info);
        return Error(a.op_pos, "comparisons between {} and {} are not supported", DataTypeName(b->info.type), other);
      }
    }
    if (l.k == Bound::K::kConst) {
      std::swap(l, r);
      op = Reverse(op);
    }
    if (r.k == Bound::K::kConst) {
      KITE_RETURN_IF_ERROR(CheckConstFor(l.info, r.c, r.pos, false));
      if (l.info.t == T::kArray && op != CmpOp::kEq && op != CmpOp::kNe) {
        return Error(a.op_pos, "array field {} can only be compared with == or !=", l.info.display);
      }
      if (l.info.t == T::kJson && r.c.is_array() && op != CmpOp::kEq && op != CmpOp::kNe) {
        return Error(a.op_pos, "an array value can only be compared with == or !=");
      }
      return std::unique_ptr<PredNode>(
          std::make_unique<CompareConstPred>(std::move(l.value), op, std::move(r.c), l.info.float32));
    }
    // Both sides are non-constant values.
    for (const Bound* b : {&l, &r}) {
      if (b->info.t == T::kJson) {
        return Error(b->pos, "two column comparison with JSON type is not supported");
      }
      if (b->info.t == T::kArray) {
        return Error(b->pos, "array field {} cannot be compared with another field", b->info.display);
      }
    }
    bool ok = (IsNumericT(l.info.t) && IsNumericT(r.info.t)) || (l.info.t == r.info.t);
    if (!ok) {
      return Error(a.op_pos, "comparisons between {} and {} are not supported", DescribeValue(l.info),
                   DescribeValue(r.info));
    }
    return std::unique_ptr<PredNode>(std::make_unique<ComparePred>(std::move(l.value), op, std::move(r.value)));
  }

  Result<std::unique_ptr<PredNode>> FoldCompare(CmpOp op, const Literal& x, const Literal& y, const Ast& a) {
    std::optional<int> ord;
    bool eq_only = false;
    if (x.is_number() && y.is_number()) {
      ord = CompareLiteralNumbers(x, y);
      if (!ord) return std::unique_ptr<PredNode>(std::make_unique<ConstPred>(op == CmpOp::kNe));
    } else if (x.is_string() && y.is_string()) {
      int c = x.as_string().compare(y.as_string());
      ord = c < 0 ? -1 : (c > 0 ? 1 : 0);
    } else if (x.is_bool() && y.is_bool()) {
      ord = static_cast<int>(x.as_bool()) - static_cast<int>(y.as_bool());
    } else if (x.is_array() && y.is_array()) {
      eq_only = true;
      ord = LiteralsEqual(x, y) ? 0 : 1;
    }
    if (!ord || (eq_only && op != CmpOp::kEq && op != CmpOp::kNe)) {
      return Error(a.op_pos, "comparison operations cannot be applied to two incompatible operands: {}", Snippet(a));
    }
    bool v = false;
    switch (op) {
      case CmpOp::kEq: v = *ord == 0; break;
      case CmpOp::kNe: v = *ord != 0; break;
      case CmpOp::kLt: v = *ord < 0; break;
      case CmpOp::kLe: v = *ord <= 0; break;
      case CmpOp::kGt: v = *ord > 0; break;
      case CmpOp::kGe: v = *ord >= 0; break;
    }
    return std::unique_ptr<PredNode>(std::make_unique<ConstPred>(v));
  }

  // lo op1 mid op2 hi, with op1/op2 both ascending (< <=) or both descending.
  KITE_NOINLINE Result<Bound> BindRange(const Ast& a) {
    const Ast &lo_ast = *a.kids[0], &mid_ast = *a.kids[1], &hi_ast = *a.kids[2];
    KITE_ASSIGN_OR_RETURN(Bound lo, Bind(lo_ast));
    KITE_ASSIGN_OR_RETURN(Bound mid, Bind(mid_ast));
    KITE_ASSIGN_OR_RETURN(Bound hi, Bind(hi_ast));
    bool ascending = a.cmp_op == CmpOp::kLt || a.cmp_op == CmpOp::kLe;
    if (lo.k == Bound::K::kConst && hi.k == Bound::K::kConst && mid.k == Bound::K::kValue &&
        mid.info.t != T::kArray && mid.info.t != T::kBool) {
      Bound& lower = ascending ? lo : hi;
      Bound& upper = ascending ? hi : lo;
      bool lower_incl = ascending ? a.cmp_op == CmpOp::kLe : a.cmp_op2 == CmpOp::kGe;
      bool upper_incl = ascending ? a.cmp_op2 == CmpOp::kLe : a.cmp_op == CmpOp::kGe;
      KITE_RETURN_IF_ERROR(CheckConstFor(mid.info, lower.c, lower.pos, false));
      KITE_RETURN_IF_ERROR(CheckConstFor(mid.info, upper.c, upper.pos, false));
      bool numbers = lower.c.is_number() && upper.c.is_number();
      bool strings = lower.c.is_string() && upper.c.is_string();
      if (!numbers && !strings) {
        return Error(a.pos, "the bounds of a range must be both numbers or both strings, got {} and {}",
                     DescribeLiteral(lower.c), DescribeLiteral(upper.c));
      }
      auto p = std::make_unique<RangeConstPred>(std::move(mid.value), std::move(lower.c), lower_incl,
                                                std::move(upper.c), upper_incl, mid.info.float32);
      return Pred(std::move(p), a.pos);
    }
    // General case: two comparisons sharing the middle operand.
    KITE_ASSIGN_OR_RETURN(Bound mid2, Bind(mid_ast));
    KITE_ASSIGN_OR_RETURN(auto left, BindCompare(a.cmp_op, std::move(lo), std::move(mid), a));
    KITE_ASSIGN_OR_RETURN(auto right, BindCompare(a.cmp_op2, std::move(mid2), std::move(hi), a));
    std::vector<std::unique_ptr<PredNode>> kids;
    kids.push_back(std::move(left));
    kids.push_back(std::move(right));
    return Pred(std::make_unique<LogicalPred>(PredKind::kAnd, std::move(kids)), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindIn(const Ast& a) {
    KITE_ASSIGN_OR_RETURN(Bound v, Bind(*a.kids[0]));
    KITE_ASSIGN_OR_RETURN(Bound list, Bind(*a.kids[1]));
    // Milvus's planner words (VisitTerm): a value that is not a constant, then
    // a constant that is not a list.
    if (list.k != Bound::K::kConst) {
      return Error(a.kids[1]->pos, "value '{}' in list cannot be a non-const expression", Snippet(*a.kids[1]));
    }
    if (!list.c.is_array()) {
      return Error(a.kids[1]->pos, "the right-hand side of 'in' must be a list, but got: {}", Snippet(*a.kids[1]));
    }
    std::unique_ptr<PredNode> p;
    if (v.k == Bound::K::kPred) {
      return Error(a.kids[0]->pos, "the left side of 'in' must be a field or a value, not a boolean expression");
    } else if (v.k == Bound::K::kConst) {
      bool any = false;
      for (const auto& e : list.c.as_array()) any = any || LiteralsEqual(v.c, e);
      p = std::make_unique<ConstPred>(any);
    } else {
      for (const auto& e : list.c.as_array()) {
        // Milvus casts each listed value to an integer operand's type and
        // refuses a float, naming the value as its GenericValue prints.
        if (v.info.t == T::kInt && e.is_double()) {
          return Error(a.kids[1]->pos, "value 'float_val:{}' in list cannot be casted to {}", e.as_double(),
                       DataTypeName(v.info.type));
        }
        KITE_RETURN_IF_ERROR(CheckConstFor(v.info, e, a.kids[1]->pos, true));
      }
      p = std::make_unique<InPred>(std::move(v.value), list.c.as_array(), v.info.float32);
    }
    if (a.kind == AstKind::kNotIn) p = Not(std::move(p));
    return Pred(std::move(p), a.pos);
  }

  static std::unique_ptr<PredNode> Not(std::unique_ptr<PredNode> p) {
    if (p->kind() == PredKind::kConst) {
      return std::make_unique<ConstPred>(!static_cast<const ConstPred&>(*p).value());
    }
    std::vector<std::unique_ptr<PredNode>> kids;
    kids.push_back(std::move(p));
    return std::make_unique<LogicalPred>(PredKind::kNot, std::move(kids));
  }

  KITE_NOINLINE Result<Bound> BindLike(const Ast& a) {
    KITE_ASSIGN_OR_RETURN(Bound v, Bind(*a.kids[0]));
    KITE_ASSIGN_OR_RETURN(Bound pat, Bind(*a.kids[1]));
    if (pat.k != Bound::K::kConst || !pat.c.is_string()) {
      return Error(a.kids[1]->pos, "the pattern of like must be a string literal, got {}", Snippet(*a.kids[1]));
    }
    std::unique_ptr<PredNode> p;
    if (v.k == Bound::K::kConst && v.c.is_string()) {
      p = std::make_unique<ConstPred>(LikePattern(pat.c.as_string()).Match(v.c.as_string()));
    } else if (v.k != Bound::K::kValue || (v.info.t != T::kString && v.info.t != T::kJson)) {
      return Error(a.kids[0]->pos, "like operation on non-string or non-JSON operand {} is unsupported",
                   v.k == Bound::K::kValue ? DescribeValue(v.info) : Snippet(*a.kids[0]));
    } else {
      p = std::make_unique<LikePred>(std::move(v.value), pat.c.as_string());
    }
    if (a.kind == AstKind::kNotLike) p = Not(std::move(p));
    return Pred(std::move(p), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindNullCheck(const Ast& a) {
    const Ast& operand = *a.kids[0];
    bool is_null = a.kind == AstKind::kIsNull;
    if (operand.kind != AstKind::kIdent && operand.kind != AstKind::kPath) {
      return Error(operand.pos, "'is null' / 'is not null' applies to a field or a JSON key, got {}",
                   Snippet(operand));
    }
    // Milvus's planner lets a vector field or an array element through and its
    // segment engine refuses the type, naming it as its C++ core does.
    if (const FieldSchema* f = operand.kind == AstKind::kIdent ? schema_.FindField(operand.text) : nullptr;
        f != nullptr && (IsVectorType(f->type) || f->type == DataType::kArrayOfVector)) {
      return Error(operand.pos, "unsupported data type: {}", CoreVectorTypeName(f->type));
    }
    KITE_ASSIGN_OR_RETURN(Bound v, Bind(operand));
    if (!v.info.plain_field && !v.info.json_key) {
      if (v.info.field != nullptr && v.info.field->type == DataType::kArray) {
        return Error(operand.pos, "unsupported data type: ARRAY");
      }
      return Error(operand.pos, "'is null' / 'is not null' applies to a field or a JSON key, got {}",
                   v.info.display);
    }
    auto p = std::make_unique<NullCheckPred>(std::move(v.value), is_null, v.info.json_key);
    return Pred(std::move(p), a.pos);
  }

  KITE_NOINLINE Result<Bound> BindExists(const Ast& a) {
    const Ast& operand = *a.kids[0];
    KITE_ASSIGN_OR_RETURN(Bound v, Bind(operand));
    if (v.k != Bound::K::kValue || v.info.t != T::kJson || !v.info.json_key) {
      return Error(operand.pos, "exists applies to a JSON key, e.g. exists meta[\"key\"], got {}", Snippet(operand));
    }
    auto ref = std::unique_ptr<JsonRef>(static_cast<JsonRef*>(v.value.release()));
    return Pred(std::make_unique<ExistsPred>(std::move(ref)), a.pos);
  }

  // ---------------------------------------------------------- functions

  KITE_NOINLINE Result<Bound> BindCall(const Ast& a) {
    std::string name = Lower(a.text);
    auto arity = [&](size_t n) -> Status {
      if (a.kids.size() != n) {
        return Error(a.pos, "{} takes {} argument{}, got {}", a.text, n, n == 1 ? "" : "s", a.kids.size());
      }
      return Status::OK();
    };
    if (name == "json_contains" || name == "array_contains" || name == "json_contains_all" ||
        name == "array_contains_all" || name == "json_contains_any" || name == "array_contains_any") {
      KITE_RETURN_IF_ERROR(arity(2));
      ContainsPred::Mode mode = name.ends_with("_all")   ? ContainsPred::Mode::kAll
                                : name.ends_with("_any") ? ContainsPred::Mode::kAny
                                                         : ContainsPred::Mode::kOne;
      KITE_ASSIGN_OR_RETURN(Bound container, BindContainer(a, *a.kids[0]));
      KITE_ASSIGN_OR_RETURN(Bound arg, Bind(*a.kids[1]));
      if (arg.k != Bound::K::kConst) {
        return Error(a.kids[1]->pos, "the second argument of {} must be a constant, got {}", a.text,
                     Snippet(*a.kids[1]));
      }
      std::vector<Literal> values;
      if (mode == ContainsPred::Mode::kOne) {
        values.push_back(arg.c);
      } else {
        if (!arg.c.is_array()) {
          return Error(a.kids[1]->pos, "{} operation element must be an array, got {}", a.text,
                       DescribeLiteral(arg.c));
        }
        values = arg.c.as_array();
      }
      if (container.info.t == T::kArray) {
        for (const auto& v : values) {
          if (!ElemCompatible(container.info.elem, v)) {
            return Error(a.kids[1]->pos, "{} is not compatible with array field {} of element type {}",
                         DescribeLiteral(v), container.info.display, DataTypeName(container.info.elem));
          }
        }
      }
      return Pred(std::make_unique<ContainsPred>(std::move(container.value), mode, std::move(values)), a.pos);
    }
    if (name == "array_length") {
      KITE_RETURN_IF_ERROR(arity(1));
      KITE_ASSIGN_OR_RETURN(Bound container, BindContainer(a, *a.kids[0]));
      Info info;
      info.t = T::kInt;
      info.type = DataType::kInt64;
      info.display = Snippet(a);
      return Value(std::make_unique<ArrayLength>(std::move(container.value)), std::move(info), a.pos);
    }
    if (name == "text_match" || name == "phrase_match") return BindTextMatch(a, name == "phrase_match");
    if (name == "text_match_fuzzy") return BindFuzzyMatch(a);
    if (auto op = SpatialOpOf(name)) return BindSpatial(a, *op);
    if (name == "st_isvalid") {
      KITE_RETURN_IF_ERROR(arity(1));
      const Ast& fa = *a.kids[0];
      const FieldSchema* f = fa.kind == AstKind::kIdent ? schema_.FindField(fa.text) : nullptr;
      if (f == nullptr || f->type != DataType::kGeometry) {
        return Error(a.pos, "STIsValid operation are only supported on geometry fields now, got: {}", Snippet(a));
      }
      return Pred(std::make_unique<GeometryValidPred>(f->id, f->name), a.pos);
    }
    if (name == "random_sample") return BindRandomSample(a);
    static constexpr std::string_view kKnownUnsupported[] = {
        "element_filter", "match_all", "match_any", "match_least", "match_most", "match_exact",
    };
    for (std::string_view u : kKnownUnsupported) {
      if (name == u) return Error(a.pos, "{} is not supported by Kite yet", a.text);
    }
    return UnknownFunction(a, name);
  }

  // Milvus's planner passes a call of any other name on as a generic call and
  // its segment engine looks the signature up in its (nearly empty) function
  // registry, failing as "function name(arg types) not found. " with the types
  // named as its C++ core names them. The caller adds where that failed
  // (Reason::kUnclassified: a plain error, code 65535).
  KITE_NOINLINE Result<Bound> UnknownFunction(const Ast& a, const std::string& name) {
    std::vector<std::string> types;
    for (const auto& kid : a.kids) {
      const FieldSchema* f = kid->kind == AstKind::kIdent ? schema_.FindField(kid->text) : nullptr;
      if (f == nullptr) {
        KITE_ASSIGN_OR_RETURN(Bound b, Bind(*kid));
        if (b.k == Bound::K::kValue && b.info.field != nullptr) f = b.info.field;
        if (f == nullptr) {
          types.push_back(b.k == Bound::K::kConst ? CoreLiteralTypeName(b.c) : CoreTypeName(b.info.type));
          continue;
        }
      }
      types.push_back(CoreTypeName(f->type));
    }
    return Status(StatusCode::kInvalidArgument, Reason::kUnclassified,
                  fmt::format("function {}({}) not found. ", name, fmt::join(types, ", ")));
  }

  static std::string CoreLiteralTypeName(const Literal& c) {
    if (c.is_bool()) return "bool";
    if (c.is_string()) return "varChar";
    if (c.is_int()) return "int64_t";
    if (c.is_double()) return "double";
    if (c.is_array()) return "array";
    return "none";
  }

  static std::string CoreTypeName(DataType t) {
    switch (t) {
      case DataType::kBool: return "bool";
      case DataType::kInt8: return "int8_t";
      case DataType::kInt16: return "int16_t";
      case DataType::kInt32: return "int32_t";
      case DataType::kInt64: return "int64_t";
      case DataType::kFloat: return "float";
      case DataType::kDouble: return "double";
      case DataType::kString: return "string";
      case DataType::kVarChar: return "varChar";
      case DataType::kArray: return "array";
      case DataType::kJson: return "json";
      case DataType::kText: return "text";
      case DataType::kGeometry: return "geometry";
      case DataType::kTimestamptz: return "timestamptz";
      default: return IsVectorType(t) ? Lower(CoreVectorTypeName(t)) : "none";
    }
  }

  // RANDOM_SAMPLE(factor), Milvus 2.6's VisitRandomSample: a constant
  // factor strictly inside (0, 1) (an integer constant reads as 0 there).
  // Where it may stand (the last term of a top-level `and`) is BindLogical's.
  KITE_NOINLINE Result<Bound> BindRandomSample(const Ast& a) {
    if (a.kids.size() != 1) return Error(a.pos, "sample factor missed: {}", Compact(Snippet(a)));
    const std::string arg = Compact(Snippet(*a.kids[0]));
    KITE_ASSIGN_OR_RETURN(Bound f, Bind(*a.kids[0]));
    if (f.k != Bound::K::kConst) {
      return Error(a.pos, "\"float factor\" should be a const float expression: \"float factor\" passed: {}", arg);
    }
    constexpr double kEpsilon = 1e-10;
    const double factor = f.c.is_double() ? f.c.as_double() : 0;
    if (!(factor > kEpsilon && factor < 1 - kEpsilon)) {
      return Error(a.pos,
                   "the sample factor should be between 0 and 1 and not too close to 0 or 1(the difference should "
                   "be larger than 1e-10), but got {}",
                   arg);
    }
    return Pred(std::make_unique<SamplePred>(factor, nullptr), a.pos);
  }

  // ANTLR's GetText: the tokens without the blanks between them.
  static std::string Compact(std::string_view text) {
    std::string out;
    for (char ch : text) {
      if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') out += ch;
    }
    return out;
  }

  static bool IsSample(const PredNode& p) { return p.kind() == PredKind::kRandomSample; }

  static std::optional<geo::SpatialOp> SpatialOpOf(const std::string& lower) {
    static constexpr std::pair<std::string_view, geo::SpatialOp> kOps[] = {
        {"st_equals", geo::SpatialOp::kEquals},       {"st_touches", geo::SpatialOp::kTouches},
        {"st_overlaps", geo::SpatialOp::kOverlaps},   {"st_crosses", geo::SpatialOp::kCrosses},
        {"st_contains", geo::SpatialOp::kContains},   {"st_intersects", geo::SpatialOp::kIntersects},
        {"st_within", geo::SpatialOp::kWithin},       {"st_dwithin", geo::SpatialOp::kDWithin},
    };
    for (const auto& [n, op] : kOps) {
      if (n == lower) return op;
    }
    return std::nullopt;
  }

  // ST_xxx(geometry_field, 'WKT') and ST_DWITHIN(geometry_field, 'POINT(..)',
  // distance): Milvus's VisitSpatialBinary / VisitSTDWithin checks.
  Result<Bound> BindSpatial(const Ast& a, geo::SpatialOp op) {
    const bool dwithin = op == geo::SpatialOp::kDWithin;
    const size_t want = dwithin ? 3 : 2;
    if (a.kids.size() != want) {
      return Error(a.pos, "{} takes {} arguments, got {}", a.text, want, a.kids.size());
    }
    const Ast& fa = *a.kids[0];
    const FieldSchema* f = fa.kind == AstKind::kIdent ? schema_.FindField(fa.text) : nullptr;
    if (f == nullptr || f->type != DataType::kGeometry) {
      return Error(a.pos, "{} operation are only supported on geometry fields now, got: {}",
                   dwithin ? "ST_DWITHIN" : "spatial", Snippet(a));
    }
    const Ast& wa = *a.kids[1];
    if (wa.kind != AstKind::kString) {
      return Error(wa.pos, "the second argument of {} must be a WKT string, got {}", a.text, Snippet(wa));
    }
    double distance = 0;
    if (dwithin) {
      KITE_ASSIGN_OR_RETURN(Bound d, Bind(*a.kids[2]));
      if (d.k != Bound::K::kConst) {
        return Error(a.kids[2]->pos, "distance parameter must be a constant numeric value, got: {}",
                     Snippet(*a.kids[2]));
      }
      if (!d.c.is_number()) {
        return Error(a.kids[2]->pos, "distance parameter must be a numeric value (int or float), got: {}",
                     Snippet(*a.kids[2]));
      }
      distance = d.c.as_number();
      if (distance < 0) {
        return Error(a.kids[2]->pos, "distance parameter must be non-negative, got: {:f}", distance);
      }
    }
    auto filter = geo::SpatialFilter::Make(op, wa.text, distance);
    if (!filter.ok()) return Error(wa.pos, "invalid WKT: {}", filter.status().message());
    if (dwithin) {
      std::string wkb = geo::WktToWkb(wa.text).value();
      if (geo::WkbToWkt(wkb).rfind("POINT", 0) != 0) {
        return Error(wa.pos, "ST_DWITHIN's second argument must be a POINT, got: {}", wa.text);
      }
    }
    return Pred(std::make_unique<SpatialPred>(f->id, f->name, std::shared_ptr<const geo::SpatialFilter>(
                                                                    std::move(*filter))),
                a.pos);
  }

  // `ts [+|- INTERVAL 'P..'] op ISO 'text'` in either order (Milvus's
  // TimestamptzCompareForward / Reverse): the literal is read in the
  // request's zone; without an interval it is a plain int64 comparison (so
  // indexes answer it), with one the interval is applied per row.
  Result<Bound> BindTimestamptzCompare(const Ast& a) {
    const bool iso_left = a.kids[0]->kind == AstKind::kIso;
    const Ast& iso = iso_left ? *a.kids[0] : *a.kids[1];
    const Ast& other = iso_left ? *a.kids[1] : *a.kids[0];
    CmpOp op = iso_left ? Reverse(a.cmp_op) : a.cmp_op;
    const Ast* ident = &other;
    const Ast* interval = nullptr;
    int sign = 1;
    if (other.kind == AstKind::kArith && (other.arith_op == ArithOp::kAdd || other.arith_op == ArithOp::kSub) &&
        other.kids[1]->kind == AstKind::kInterval) {
      ident = other.kids[0].get();
      interval = other.kids[1].get();
      sign = other.arith_op == ArithOp::kAdd ? 1 : -1;
    }
    if (ident->kind != AstKind::kIdent) {
      return Error(ident->pos, "can not translate identifier: {}", Snippet(*ident));
    }
    const FieldSchema* f = schema_.FindField(ident->text);
    if (f == nullptr) return Error(ident->pos, "can not translate identifier: {}", ident->text);
    if (f->type != DataType::kTimestamptz) {
      return Error(ident->pos, "field '{}' is not a timestamptz datatype", ident->text);
    }
    auto micros = tz::ParseTimestamp(iso.text, timezone_);
    if (!micros.ok()) return Error(iso.pos, "{}", micros.status().message());
    auto ref = std::make_unique<FieldRef>(f->id, f->type, f->name);
    if (interval == nullptr) {
      return Pred(std::make_unique<CompareConstPred>(std::move(ref), op, Literal(*micros), false), a.pos);
    }
    auto iv = tz::ParseInterval(interval->text);
    if (!iv.ok()) return Error(interval->pos, "{}", iv.status().message());
    return Pred(std::make_unique<TimestamptzArithPred>(f->id, f->name, sign, *iv, op, *micros), a.pos);
  }

  // TEXT_MATCH(field, 'text') / PHRASE_MATCH(field, 'text'[, slop]): Milvus's checks and messages.
  Result<Bound> BindTextMatch(const Ast& a, bool phrase) {
    const char* what = phrase ? "phrase match" : "text match";
    if (a.kids.size() < 2 || a.kids.size() > 3u) {
      return Error(a.pos, "{} takes 2 or 3 arguments, got {}", a.text, a.kids.size());
    }
    // TEXT_MATCH(field, 'q', minimum_should_match=N): at least N query terms.
    int64_t min_should_match = 1;
    if (!phrase && a.kids.size() == 3) {
      const Ast& opt = *a.kids[2];
      if (opt.kind != AstKind::kNamedArg || Lower(opt.text) != "minimum_should_match") {
        return Error(opt.pos, "the third argument of {} must be minimum_should_match=N, got {}", a.text,
                     Snippet(opt));
      }
      const Ast& v = *opt.kids[0];
      if (v.kind != AstKind::kInt) {
        return Error(v.pos, "invalid minimum_should_match value: {}", Snippet(v));
      }
      if (v.int_value < 1) return Error(v.pos, "minimum_should_match should be >= 1, got {}", v.int_value);
      min_should_match = v.int_value;
    }
    KITE_ASSIGN_OR_RETURN(Bound f, Bind(*a.kids[0]));
    if (f.k != Bound::K::kValue || !f.info.plain_field || !f.info.field) {
      return Error(a.kids[0]->pos, "the first argument of {} must be a field, got {}", a.text, Snippet(*a.kids[0]));
    }
    const FieldSchema& field = *f.info.field;
    if (!IsStringType(field.type)) return Error(a.pos, "{} operation on non-string is unsupported", what);
    if (!field.enable_match()) return Error(a.pos, "field \"{}\" does not enable match", field.name);
    KITE_ASSIGN_OR_RETURN(Bound q, Bind(*a.kids[1]));
    if (q.k != Bound::K::kConst || !q.c.is_string()) {
      return Error(a.kids[1]->pos, "the second argument of {} must be a string, got {}", a.text,
                   Snippet(*a.kids[1]));
    }
    int64_t slop = 0;
    if (phrase && a.kids.size() == 3) {
      KITE_ASSIGN_OR_RETURN(Bound s, Bind(*a.kids[2]));
      if (s.k != Bound::K::kConst || !s.c.is_int()) {
        return Error(a.kids[2]->pos,
                     "\"slop\" should be a const integer expression with \"uint32\" value. \"slop\" expression "
                     "passed: {}",
                     Snippet(*a.kids[2]));
      }
      slop = s.c.as_int();
      if (slop < 0) {
        return Error(a.kids[2]->pos, "\"slop\" should not be a negative interger. \"slop\" passed: {}",
                     Snippet(*a.kids[2]));
      }
      if (slop > static_cast<int64_t>(UINT32_MAX)) {
        return Error(a.kids[2]->pos, "\"slop\" exceeds the range of \"uint32\". \"slop\" expression passed: {}",
                     Snippet(*a.kids[2]));
      }
    }
    auto analyzer = text::SharedAnalyzer(field.analyzer_params());
    if (!analyzer.ok()) return Error(a.pos, "failed to create analyzer: {}", analyzer.status().message());
    return Pred(std::make_unique<TextMatchPred>(field.id, field.name, phrase, std::move(*analyzer), q.c.as_string(),
                                                slop, min_should_match),
                a.pos);
  }

  // TEXT_MATCH_FUZZY(field, 'text', max_edit_distance=k), k in [0, 2]: Milvus's
  // checks and the texts its planner answers with.
  Result<Bound> BindFuzzyMatch(const Ast& a) {
    if (a.kids.size() < 3) return Error(a.end, "mismatched input ')' expecting ','");
    if (a.kids.size() > 3) return Error(a.kids[3]->pos, "extraneous input expecting ')'");
    const Ast& opt = *a.kids[2];
    if (opt.kind != AstKind::kNamedArg || Lower(opt.text) != "max_edit_distance") {
      return Error(opt.pos, "text_match_fuzzy expected max_edit_distance=N, got {}", Snippet(opt));
    }
    KITE_ASSIGN_OR_RETURN(Bound k, Bind(*opt.kids[0]));
    if (k.k != Bound::K::kConst || !k.c.is_int()) {
      return Error(opt.kids[0]->pos, "mismatched input '{}' expecting IntegerConstant", Snippet(*opt.kids[0]));
    }
    const int64_t max_edits = k.c.as_int();
    if (max_edits < 0 || max_edits > 2) {
      return Error(opt.kids[0]->pos, "max_edit_distance should be in [0, 2], got {}", max_edits);
    }
    KITE_ASSIGN_OR_RETURN(Bound f, Bind(*a.kids[0]));
    if (f.k != Bound::K::kValue || !f.info.plain_field || !f.info.field) {
      return Error(a.kids[0]->pos, "the first argument of {} must be a field, got {}", a.text, Snippet(*a.kids[0]));
    }
    const FieldSchema& field = *f.info.field;
    if (!IsStringType(field.type)) return Error(a.pos, "text match fuzzy operation on non-string is unsupported");
    if (!field.enable_match()) return Error(a.pos, "field \"{}\" does not enable match", field.name);
    const Ast& query = *a.kids[1];
    auto q = Bind(query);
    if (!q.ok() || q->k != Bound::K::kConst || !q->c.is_string() ||
        (query.kind != AstKind::kString && query.kind != AstKind::kTemplate)) {
      return Error(query.pos, "text_match_fuzzy query should be a string literal or template variable, got {}",
                   Snippet(query));
    }
    auto analyzer = text::SharedAnalyzer(field.analyzer_params());
    if (!analyzer.ok()) return Error(a.pos, "failed to create analyzer: {}", analyzer.status().message());
    return Pred(std::make_unique<TextMatchPred>(field.id, field.name, false, std::move(*analyzer), q->c.as_string(),
                                                0, 1, max_edits),
                a.pos);
  }

  // The first argument of the contains / length functions: an Array field or a JSON value.
  Result<Bound> BindContainer(const Ast& call, const Ast& arg) {
    KITE_ASSIGN_OR_RETURN(Bound c, Bind(arg));
    if (c.k != Bound::K::kValue || (c.info.t != T::kArray && c.info.t != T::kJson)) {
      return Error(arg.pos, "{} requires an array field or a JSON value, got {}", call.text,
                   c.k == Bound::K::kValue ? DescribeValue(c.info) : Snippet(arg));
    }
    return c;
  }

  // ------------------------------------------------------------ logic

  KITE_NOINLINE Result<Bound> BindLogical(const Ast& a) {
    PredKind kind = a.kind == AstKind::kAnd ? PredKind::kAnd : PredKind::kOr;
    std::vector<std::unique_ptr<PredNode>> kids;
    bool all_const = true;
    bool folded = kind == PredKind::kAnd;
    for (size_t i = 0; i < a.kids.size(); ++i) {
      const auto& k = a.kids[i];
      KITE_ASSIGN_OR_RETURN(Bound b, Bind(*k));
      KITE_ASSIGN_OR_RETURN(auto p, ToPred(std::move(b)));
      // Milvus's VisitLogicalOr / VisitLogicalAnd words (sic: "and" for or).
      if (IsSample(*p) && kind == PredKind::kOr) {
        return Error(a.pos, "random sample expression cannot be used in logical and expression");
      }
      if (IsSample(*p) && i + 1 < a.kids.size()) {
        return Error(a.pos, "random sample expression can only be the last expression in the logical and expression");
      }
      if (IsSample(*p)) {
        // `a and b and random_sample(f)`: sample the rows `a and b` holds on.
        auto& sample = static_cast<SamplePred&>(*p);
        if (auto inner = sample.TakePredicate()) kids.push_back(std::move(inner));  // b and (c and random_sample(f))
        std::unique_ptr<PredNode> predicate;
        if (kids.size() == 1) {
          predicate = std::move(kids[0]);
        } else {
          predicate = std::make_unique<LogicalPred>(PredKind::kAnd, std::move(kids));
        }
        return Pred(std::make_unique<SamplePred>(sample.factor(), std::move(predicate)), a.pos);
      }
      if (p->kind() == PredKind::kConst) {
        bool v = static_cast<const ConstPred&>(*p).value();
        folded = kind == PredKind::kAnd ? (folded && v) : (folded || v);
      } else {
        all_const = false;
      }
      kids.push_back(std::move(p));
    }
    if (all_const) return Pred(std::make_unique<ConstPred>(folded), a.pos);
    return Pred(std::make_unique<LogicalPred>(kind, std::move(kids)), a.pos);
  }

  std::string_view text_;
  const CollectionSchema& schema_;
  const TemplateValues& values_;
  std::string timezone_;  // of ISO literals without an offset
};

}  // namespace

Status FormatParseError(std::string_view text, size_t pos, const std::string& msg) {
  return Binder::ErrorAt(text, pos, msg);
}

}  // namespace internal

Result<std::unique_ptr<const Plan>> Compile(std::string_view text, const CollectionSchema& schema,
                                           const TemplateValues& values, const ParseOptions& options) {
  int depth = std::clamp(options.max_depth, 1, kMaxDepthLimit);
  internal::ParseError err;
  std::unique_ptr<internal::Ast> ast = internal::Parse(text, options.max_length, depth, &err);
  std::unique_ptr<internal::PredNode> root;
  if (!ast) {
    if (!err.message.empty()) {
      // Milvus's parser stops after a whole expression and refuses the rest
      // as "invalid expression: <text>"; the detail follows it.
      if (err.trailing) {
        return internal::FormatParseError(
            text, err.pos, fmt::format("invalid expression: {}: {}", text.substr(0, 512), err.message));
      }
      return internal::FormatParseError(text, err.pos, err.message);
    }
    root = std::make_unique<internal::ConstPred>(true);  // empty expression: every row
  } else {
    internal::Binder binder(text, schema, values, options.timezone);
    KITE_ASSIGN_OR_RETURN(root, binder.BindRoot(*ast));
  }
  return std::unique_ptr<const Plan>(std::make_unique<Plan>(std::move(root), std::string(text)));
}

}  // namespace kite::expr
