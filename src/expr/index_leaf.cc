// Plan nodes describing themselves as IndexLeafs (index_lookup.h). Each
// builder mirrors the conversions of the node's scan in eval.cc exactly (the
// same normalised integer bounds, the same float32 rounding, the same Bool
// byte reading), so an index that compares keys gives the scan's answer.
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "expr/array_reader.h"
#include "expr/plan.h"

namespace kite::expr {

std::string IndexLeafToString(const IndexLeaf& leaf) {
  auto key = [](const IndexKey& k) -> std::string {
    if (std::holds_alternative<int64_t>(k)) return std::to_string(std::get<int64_t>(k));
    if (std::holds_alternative<double>(k)) return fmt::format("{}", std::get<double>(k));
    return TemplateValue(std::get<std::string>(k)).ToString();
  };
  auto keys = [&]() {
    std::string s = "[";
    for (size_t i = 0; i < leaf.keys.size(); ++i) s += (i ? ", " : "") + key(leaf.keys[i]);
    return s + "]";
  };
  std::string f = fmt::format("field {}", leaf.field.value);
  if (leaf.json) {
    for (const std::string& step : leaf.json_path) f += "[" + TemplateValue(step).ToString() + "]";
  }
  switch (leaf.op) {
    case IndexLeaf::Op::kIsNull: return f + " is null";
    case IndexLeaf::Op::kIsNotNull: return f + " is not null";
    case IndexLeaf::Op::kRange: {
      std::string s;
      if (leaf.lo) s += key(leaf.lo->key) + (leaf.lo->inclusive ? " <= " : " < ");
      s += f;
      if (leaf.hi) s += (leaf.hi->inclusive ? " <= " : " < ") + key(leaf.hi->key);
      return s;
    }
    case IndexLeaf::Op::kIn: return f + " in " + keys();
    case IndexLeaf::Op::kNotEqual: return f + " != " + keys();
    case IndexLeaf::Op::kPrefix: return f + " starts with " + keys();
    case IndexLeaf::Op::kMatch: return f + " like " + keys();
    case IndexLeaf::Op::kContainsAny: return f + " contains any of " + keys();
    case IndexLeaf::Op::kContainsAll: return f + " contains all of " + keys();
    case IndexLeaf::Op::kTextMatch: return "text_match(" + f + ", " + keys() + ")";
    case IndexLeaf::Op::kPhraseMatch: return "phrase_match(" + f + ", " + keys() + ", " + std::to_string(leaf.slop) + ")";
  }
  return f;
}

namespace internal {
namespace {

bool IsStrType(DataType t) { return t == DataType::kVarChar || t == DataType::kString; }

// A leaf skeleton for a plain scalar field operand of an indexable type.
std::optional<IndexLeaf> FieldLeaf(const ValueNode& operand, IndexLeaf::Op op) {
  const auto* f = dynamic_cast<const FieldRef*>(&operand);
  if (f == nullptr) return std::nullopt;
  DataType t = f->type();
  if (t != DataType::kBool && !IsIntegerType(t) && !IsFloatingType(t) && !IsStrType(t) && t != DataType::kTimestamptz) {
    return std::nullopt;
  }
  IndexLeaf leaf;
  leaf.field = f->id();
  leaf.type = t;
  leaf.op = op;
  return leaf;
}

// `value op key` as a leaf over `leaf`'s field.
IndexLeaf WithOp(IndexLeaf leaf, CmpOp op, IndexKey key) {
  switch (op) {
    case CmpOp::kEq:
      leaf.op = IndexLeaf::Op::kIn;
      leaf.keys.push_back(std::move(key));
      break;
    case CmpOp::kNe:
      leaf.op = IndexLeaf::Op::kNotEqual;
      leaf.keys.push_back(std::move(key));
      break;
    case CmpOp::kLt: leaf.op = IndexLeaf::Op::kRange; leaf.hi = IndexBound{std::move(key), false}; break;
    case CmpOp::kLe: leaf.op = IndexLeaf::Op::kRange; leaf.hi = IndexBound{std::move(key), true}; break;
    case CmpOp::kGt: leaf.op = IndexLeaf::Op::kRange; leaf.lo = IndexBound{std::move(key), false}; break;
    case CmpOp::kGe: leaf.op = IndexLeaf::Op::kRange; leaf.lo = IndexBound{std::move(key), true}; break;
  }
  return leaf;
}

IndexLeaf NoRow(IndexLeaf leaf) {
  leaf.op = IndexLeaf::Op::kIn;
  leaf.keys.clear();
  return leaf;
}

IndexLeaf EveryNonNullRow(IndexLeaf leaf) {
  leaf.op = IndexLeaf::Op::kRange;
  leaf.lo.reset();
  leaf.hi.reset();
  leaf.keys.clear();
  return leaf;
}

// The key an array element of type `elem` must have to equal `lit` under
// ElemEquals (array_reader.h); nullopt when no element can equal it.
std::optional<IndexKey> ElementKey(DataType elem, const Literal& lit) {
  if (elem == DataType::kBool) {
    if (!lit.is_bool()) return std::nullopt;
    return IndexKey(int64_t{lit.as_bool() ? 1 : 0});
  }
  if (IsIntegerType(elem)) {
    if (!lit.is_number()) return std::nullopt;
    IntCmp ic = NormalizeIntCmp(CmpOp::kEq, lit);
    if (ic.mode != IntCmp::Mode::kCompare) return std::nullopt;
    return IndexKey(ic.c);
  }
  if (elem == DataType::kFloat) {
    if (!lit.is_number()) return std::nullopt;
    double d = static_cast<double>(ToFloat32(lit.as_number()));
    if (std::isnan(d)) return std::nullopt;
    return IndexKey(d);
  }
  if (elem == DataType::kDouble) {
    if (lit.is_double()) {
      if (std::isnan(lit.as_double())) return std::nullopt;
      return IndexKey(lit.as_double());
    }
    if (!lit.is_int()) return std::nullopt;
    // A double equals an int64 only when the int64 converts exactly.
    constexpr double kTwo63 = 9223372036854775808.0;
    int64_t i = lit.as_int();
    auto d = static_cast<double>(i);
    if (d >= kTwo63 || d < -kTwo63 || static_cast<int64_t>(d) != i) return std::nullopt;
    return IndexKey(d);
  }
  if (IsStrType(elem)) {
    if (!lit.is_string()) return std::nullopt;
    return IndexKey(lit.as_string());
  }
  return std::nullopt;
}


// ---- leaves on a path inside a JSON field (index_lookup.h)

// A leaf skeleton for a JsonRef operand.
std::optional<IndexLeaf> JsonLeaf(const ValueNode& operand) {
  const auto* j = dynamic_cast<const JsonRef*>(&operand);
  if (j == nullptr) return std::nullopt;
  IndexLeaf leaf;
  leaf.field = j->id();
  leaf.json = true;
  leaf.json_path = j->path();
  return leaf;
}

// The key type and key a JSON value must have to equal `lit` (JsonEquals /
// CompareJson): numbers as doubles (an int literal only when it converts
// exactly, so double comparisons are the scan's exact ones), strings, bools
// as 0/1. nullopt for arrays, objects, NaN and inexact ints.
std::optional<std::pair<DataType, IndexKey>> JsonKey(const Literal& lit) {
  if (lit.is_bool()) return std::make_pair(DataType::kBool, IndexKey(int64_t{lit.as_bool() ? 1 : 0}));
  if (lit.is_string()) return std::make_pair(DataType::kVarChar, IndexKey(lit.as_string()));
  if (lit.is_double()) {
    if (std::isnan(lit.as_double())) return std::nullopt;
    return std::make_pair(DataType::kDouble, IndexKey(lit.as_double()));
  }
  if (lit.is_int()) {
    constexpr double kTwo63 = 9223372036854775808.0;
    int64_t i = lit.as_int();
    auto d = static_cast<double>(i);
    if (d >= kTwo63 || d < -kTwo63 || static_cast<int64_t>(d) != i) return std::nullopt;
    return std::make_pair(DataType::kDouble, IndexKey(d));
  }
  return std::nullopt;
}

// Keys of `values`, all of one key type (else nullopt), in `leaf`.
bool JsonKeys(const std::vector<Literal>& values, DataType* type, std::vector<IndexKey>* keys) {
  if (values.empty()) return false;
  for (const Literal& v : values) {
    auto k = JsonKey(v);
    if (!k || (!keys->empty() && k->first != *type)) return false;
    *type = k->first;
    keys->push_back(std::move(k->second));
  }
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  return true;
}

std::optional<IndexLeaf> JsonLeafForCompare(const ValueNode& operand, CmpOp op, const Literal& c) {
  auto leaf = JsonLeaf(operand);
  auto key = JsonKey(c);
  if (!leaf || !key) return std::nullopt;
  leaf->type = key->first;
  return WithOp(*leaf, op, std::move(key->second));
}

std::optional<IndexLeaf> JsonLeafForRange(const ValueNode& operand, const RangeLeafArgs& a) {
  auto leaf = JsonLeaf(operand);
  auto lo = JsonKey(a.lo);
  auto hi = JsonKey(a.hi);
  if (!leaf || !lo || !hi || lo->first != hi->first) return std::nullopt;
  leaf->type = lo->first;
  leaf->op = IndexLeaf::Op::kRange;
  leaf->lo = IndexBound{std::move(lo->second), a.lo_incl};
  leaf->hi = IndexBound{std::move(hi->second), a.hi_incl};
  return leaf;
}

std::optional<IndexLeaf> JsonLeafForLike(const ValueNode& operand, const LikePattern& pattern) {
  auto leaf = JsonLeaf(operand);
  if (!leaf) return std::nullopt;
  leaf->type = DataType::kVarChar;
  switch (pattern.shape()) {
    case LikePattern::Shape::kExact:
      leaf->op = IndexLeaf::Op::kIn;
      leaf->keys.emplace_back(pattern.literal());
      return leaf;
    case LikePattern::Shape::kPrefix:
      leaf->op = IndexLeaf::Op::kPrefix;
      leaf->keys.emplace_back(pattern.literal());
      return leaf;
    default: {
      auto p = std::make_shared<const LikePattern>(pattern.source());
      leaf->op = IndexLeaf::Op::kMatch;
      leaf->keys.emplace_back(pattern.source());
      leaf->match = [p](std::string_view s) { return p->Match(s); };
      return leaf;
    }
  }
}

std::optional<IndexLeaf> JsonLeafForContains(const ValueNode& operand, bool all, const std::vector<Literal>& values) {
  auto leaf = JsonLeaf(operand);
  if (!leaf) return std::nullopt;
  DataType elem = DataType::kNone;
  if (!JsonKeys(values, &elem, &leaf->keys)) return std::nullopt;
  leaf->type = DataType::kArray;
  leaf->element_type = elem;
  leaf->op = all ? IndexLeaf::Op::kContainsAll : IndexLeaf::Op::kContainsAny;
  return leaf;
}

}  // namespace

std::optional<IndexLeaf> LeafForJsonIn(const ValueNode& operand, const std::vector<Literal>& values) {
  auto leaf = JsonLeaf(operand);
  if (!leaf) return std::nullopt;
  DataType type = DataType::kNone;
  if (!JsonKeys(values, &type, &leaf->keys)) return std::nullopt;
  leaf->type = type;
  leaf->op = IndexLeaf::Op::kIn;
  return leaf;
}

std::optional<IndexLeaf> LeafForCompare(const ValueNode& operand, CmpOp op, const Literal& c, const IntCmp& ic,
                                        double dbl) {
  if (dynamic_cast<const JsonRef*>(&operand) != nullptr) return JsonLeafForCompare(operand, op, c);
  auto leaf = FieldLeaf(operand, IndexLeaf::Op::kIn);
  if (!leaf) return std::nullopt;
  DataType t = leaf->type;
  if (t == DataType::kBool) {
    if (!c.is_bool()) return std::nullopt;
    return WithOp(*leaf, op, int64_t{c.as_bool() ? 1 : 0});  // the scan compares the raw byte with 0/1
  }
  if (IsIntegerType(t)) {
    if (ic.mode == IntCmp::Mode::kAllTrue) return EveryNonNullRow(*leaf);
    if (ic.mode == IntCmp::Mode::kAllFalse) return NoRow(*leaf);
    return WithOp(*leaf, ic.op, ic.c);
  }
  if (t == DataType::kFloat) return WithOp(*leaf, op, static_cast<double>(ToFloat32(dbl)));
  if (t == DataType::kDouble) return WithOp(*leaf, op, dbl);
  if (!c.is_string()) return std::nullopt;
  return WithOp(*leaf, op, c.as_string());
}

std::optional<IndexLeaf> LeafForRange(const ValueNode& operand, const RangeLeafArgs& a) {
  if (dynamic_cast<const JsonRef*>(&operand) != nullptr) return JsonLeafForRange(operand, a);
  auto leaf = FieldLeaf(operand, IndexLeaf::Op::kRange);
  if (!leaf) return std::nullopt;
  DataType t = leaf->type;
  if (IsIntegerType(t)) {
    if (a.int_empty) return NoRow(*leaf);
    leaf->lo = IndexBound{a.ilo, true};
    leaf->hi = IndexBound{a.ihi, true};
    return leaf;
  }
  if (IsFloatingType(t)) {
    double lo = a.dlo, hi = a.dhi;
    if (t == DataType::kFloat) {
      lo = static_cast<double>(ToFloat32(lo));
      hi = static_cast<double>(ToFloat32(hi));
    }
    leaf->lo = IndexBound{lo, a.lo_incl};
    leaf->hi = IndexBound{hi, a.hi_incl};
    return leaf;
  }
  if (IsStrType(t) && a.lo.is_string() && a.hi.is_string()) {
    leaf->lo = IndexBound{a.lo.as_string(), a.lo_incl};
    leaf->hi = IndexBound{a.hi.as_string(), a.hi_incl};
    return leaf;
  }
  return std::nullopt;
}

std::optional<IndexLeaf> LeafForIn(const ValueNode& operand, const std::vector<int64_t>& ints,
                                   const std::vector<double>& dbls, std::vector<std::string> strs, bool has_true,
                                   bool has_false) {
  auto leaf = FieldLeaf(operand, IndexLeaf::Op::kIn);
  if (!leaf) return std::nullopt;
  DataType t = leaf->type;
  if (t == DataType::kBool) {
    // The scan reads Bool rows as byte != 0.
    if (has_true && has_false) return EveryNonNullRow(*leaf);
    if (has_true) return WithOp(*leaf, CmpOp::kNe, int64_t{0});
    if (has_false) return WithOp(*leaf, CmpOp::kEq, int64_t{0});
    return NoRow(*leaf);
  }
  if (IsIntegerType(t)) {
    for (int64_t v : ints) leaf->keys.emplace_back(v);
  } else if (IsFloatingType(t)) {
    for (double v : dbls) leaf->keys.emplace_back(v);  // already rounded for Float, without NaN
  } else {
    std::sort(strs.begin(), strs.end());
    for (std::string& v : strs) leaf->keys.emplace_back(std::move(v));
  }
  return leaf;
}

std::optional<IndexLeaf> LeafForLike(const ValueNode& operand, const LikePattern& pattern) {
  if (dynamic_cast<const JsonRef*>(&operand) != nullptr) return JsonLeafForLike(operand, pattern);
  auto leaf = FieldLeaf(operand, IndexLeaf::Op::kIn);
  if (!leaf || !IsStrType(leaf->type)) return std::nullopt;
  switch (pattern.shape()) {
    case LikePattern::Shape::kExact:
      leaf->op = IndexLeaf::Op::kIn;
      leaf->keys.emplace_back(pattern.literal());
      return leaf;
    case LikePattern::Shape::kPrefix:
      leaf->op = IndexLeaf::Op::kPrefix;
      leaf->keys.emplace_back(pattern.literal());
      return leaf;
    default: {
      // Matched against each distinct value of an index's dictionary.
      auto p = std::make_shared<const LikePattern>(pattern.source());
      leaf->op = IndexLeaf::Op::kMatch;
      leaf->keys.emplace_back(pattern.source());
      leaf->match = [p](std::string_view s) { return p->Match(s); };
      return leaf;
    }
  }
}

std::optional<IndexLeaf> LeafForNullCheck(const ValueNode& operand, bool is_null) {
  const IndexLeaf::Op op = is_null ? IndexLeaf::Op::kIsNull : IndexLeaf::Op::kIsNotNull;
  if (const auto* a = dynamic_cast<const ArrayRef*>(&operand)) {
    IndexLeaf leaf;
    leaf.field = a->id();
    leaf.type = DataType::kArray;
    leaf.element_type = a->elem();
    leaf.op = op;
    return leaf;
  }
  return FieldLeaf(operand, op);
}

std::optional<IndexLeaf> LeafForBoolValue(const ValueNode& operand) {
  auto leaf = FieldLeaf(operand, IndexLeaf::Op::kNotEqual);
  if (!leaf || leaf->type != DataType::kBool) return std::nullopt;
  leaf->keys.emplace_back(int64_t{0});  // the scan reads byte != 0
  return leaf;
}

std::optional<IndexLeaf> LeafForContains(const ValueNode& operand, bool all, const std::vector<Literal>& values) {
  if (dynamic_cast<const JsonRef*>(&operand) != nullptr) return JsonLeafForContains(operand, all, values);
  const auto* a = dynamic_cast<const ArrayRef*>(&operand);
  if (a == nullptr) return std::nullopt;
  IndexLeaf leaf;
  leaf.field = a->id();
  leaf.type = DataType::kArray;
  leaf.element_type = a->elem();
  leaf.op = all ? IndexLeaf::Op::kContainsAll : IndexLeaf::Op::kContainsAny;
  for (const Literal& v : values) {
    std::optional<IndexKey> k = ElementKey(a->elem(), v);
    if (k) {
      leaf.keys.push_back(std::move(*k));
    } else if (all) {
      // A value no element can equal: contains_all matches no row.
      leaf.op = IndexLeaf::Op::kContainsAny;
      leaf.keys.clear();
      return leaf;
    }
  }
  return leaf;
}

}  // namespace internal
}  // namespace kite::expr
