// The public entry points other than Compile (binder.cc): Plan, Evaluate,
// ExtractPrimaryKeys, ReferencedFields, and TemplateValue's rendering.
#include "expr/expr.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "expr/plan.h"

namespace kite::expr {

namespace {

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\t': *out += "\\t"; break;
      case '\r': *out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          *out += fmt::format("\\x{:02x}", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void Render(const TemplateValue& v, std::string* out) {
  std::visit(
      [&](const auto& x) {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, std::monostate>) {
          *out += "null";
        } else if constexpr (std::is_same_v<X, bool>) {
          *out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<X, int64_t>) {
          *out += std::to_string(x);
        } else if constexpr (std::is_same_v<X, double>) {
          std::string s = fmt::format("{}", x);
          if (std::isfinite(x) && s.find_first_of(".eE") == std::string::npos) s += ".0";
          *out += s;
        } else if constexpr (std::is_same_v<X, std::string>) {
          AppendQuoted(out, x);
        } else {
          out->push_back('[');
          for (size_t i = 0; i < x.size(); ++i) {
            if (i) *out += ", ";
            Render(x[i], out);
          }
          out->push_back(']');
        }
      },
      v.variant());
}

}  // namespace

std::string TemplateValue::ToString() const {
  std::string s;
  Render(*this, &s);
  return s;
}

std::string_view TemplateValue::TypeName() const {
  if (is_null()) return "null";
  if (is_bool()) return "Bool";
  if (is_int()) return "Int64";
  if (is_double()) return "Double";
  if (is_string()) return "VarChar";
  return "Array";
}

Plan::Plan(std::unique_ptr<internal::PredNode> root, std::string text) : root_(std::move(root)), text_(std::move(text)) {
  root_->CollectFields(&fields_);
  std::sort(fields_.begin(), fields_.end());
  fields_.erase(std::unique(fields_.begin(), fields_.end()), fields_.end());
}

Plan::~Plan() = default;

Status Evaluate(const Plan& plan, const ColumnBatch& batch, std::vector<uint8_t>* out) {
  return Evaluate(plan, batch, nullptr, out);
}

Status Evaluate(const Plan& plan, const ColumnBatch& batch, const IndexLookup* indexes, std::vector<uint8_t>* out) {
  if (batch.num_rows < 0) return Internal("batch has a negative row count {}", batch.num_rows);
  internal::EvalContext ctx(batch, indexes);
  internal::BoolVec r;
  KITE_RETURN_IF_ERROR(internal::EvalPred(plan.root(), ctx, &r));
  r.value.resize(static_cast<size_t>(batch.num_rows));
  *out = std::move(r.value);
  return Status::OK();
}

namespace {

void CollectUncovered(const internal::PredNode& node, const IndexLookup& indexes, std::vector<FieldId>* out) {
  using internal::PredKind;
  if (node.kind() == PredKind::kAnd || node.kind() == PredKind::kOr || node.kind() == PredKind::kNot) {
    for (const auto& kid : static_cast<const internal::LogicalPred&>(node).kids()) {
      CollectUncovered(*kid, indexes, out);
    }
    return;
  }
  if (node.kind() == PredKind::kRandomSample) {
    const internal::PredNode* p = static_cast<const internal::SamplePred&>(node).predicate();
    if (p) CollectUncovered(*p, indexes, out);
    return;
  }
  const IndexLeaf* leaf = node.index_leaf();
  if (leaf != nullptr && indexes.Covers(*leaf)) return;
  node.CollectFields(out);
}

}  // namespace

std::vector<FieldId> ColumnsNeeded(const Plan& plan, const IndexLookup* indexes) {
  if (indexes == nullptr) return plan.fields();
  std::vector<FieldId> fields;
  CollectUncovered(plan.root(), *indexes, &fields);
  std::sort(fields.begin(), fields.end());
  fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
  return fields;
}

std::vector<FieldId> ReferencedFields(const Plan& plan) { return plan.fields(); }

std::string PlanToString(const Plan& plan) { return plan.root().ToString(); }

namespace {

using internal::CmpOp;
using internal::PredKind;

// Appends the keys `node` selects if it is `pk == v`, `pk in [...]` or an OR
// of those; false otherwise.
bool CollectKeys(const internal::PredNode& node, const FieldSchema& pk, std::vector<PrimaryKey>* keys) {
  auto is_pk = [&](const internal::ValueNode& v) {
    const auto* f = dynamic_cast<const internal::FieldRef*>(&v);
    return f != nullptr && f->id() == pk.id;
  };
  auto add = [&](const TemplateValue& v) {
    if (pk.type == DataType::kInt64) {
      if (v.is_int()) {
        keys->emplace_back(std::in_place_index<0>, v.as_int());
      } else if (v.is_double()) {
        internal::IntCmp ic = internal::NormalizeIntCmp(CmpOp::kEq, v);
        if (ic.mode == internal::IntCmp::Mode::kCompare) keys->emplace_back(std::in_place_index<0>, ic.c);
      }
    } else if (v.is_string()) {
      keys->emplace_back(std::in_place_index<1>, v.as_string());
    }
  };
  switch (node.kind()) {
    case PredKind::kCompareConst: {
      const auto& c = static_cast<const internal::CompareConstPred&>(node);
      if (c.op() != CmpOp::kEq || !is_pk(c.operand())) return false;
      add(c.constant());
      return true;
    }
    case PredKind::kIn: {
      const auto& in = static_cast<const internal::InPred&>(node);
      if (!is_pk(in.operand())) return false;
      for (const auto& v : in.values()) add(v);
      return true;
    }
    case PredKind::kOr: {
      for (const auto& k : static_cast<const internal::LogicalPred&>(node).kids()) {
        if (!CollectKeys(*k, pk, keys)) return false;
      }
      return true;
    }
    default: return false;
  }
}

}  // namespace

std::optional<std::vector<PrimaryKey>> ExtractPrimaryKeys(const Plan& plan, const CollectionSchema& schema) {
  const FieldSchema* pk = schema.PrimaryField();
  if (pk == nullptr || (pk->type != DataType::kInt64 && pk->type != DataType::kVarChar)) return std::nullopt;
  std::vector<PrimaryKey> keys;
  if (!CollectKeys(plan.root(), *pk, &keys)) return std::nullopt;
  std::vector<PrimaryKey> unique;
  std::set<PrimaryKey> seen;
  for (auto& k : keys) {
    if (seen.insert(k).second) unique.push_back(std::move(k));
  }
  return unique;
}

namespace {

// Milvus's planpb.OpType name of a comparison.
std::string_view OpTypeName(CmpOp op) {
  switch (op) {
    case CmpOp::kEq: return "Equal";
    case CmpOp::kNe: return "NotEqual";
    case CmpOp::kLt: return "LessThan";
    case CmpOp::kLe: return "LessEqual";
    case CmpOp::kGt: return "GreaterThan";
    case CmpOp::kGe: return "GreaterEqual";
  }
  return "Invalid";
}

// Whether `node` involves the partition key (Milvus's foundPartitionKey), or
// the first construct the isolation mode cannot serve.
Result<bool> IsolationKeyFound(const internal::PredNode& node, FieldId key) {
  auto on_key = [&](const internal::ValueNode& v) {
    const auto* f = dynamic_cast<const internal::FieldRef*>(&v);
    return f != nullptr && f->id() == key;
  };
  auto unsupported = [](std::string_view what) {
    return Unclassified("partition key isolation does not support {}", what);
  };
  switch (node.kind()) {
    case PredKind::kCompareConst: {
      const auto& c = static_cast<const internal::CompareConstPred&>(node);
      if (!on_key(c.operand())) return false;
      if (c.op() != CmpOp::kEq) return unsupported(OpTypeName(c.op()));
      return true;
    }
    case PredKind::kIn:
      if (on_key(static_cast<const internal::InPred&>(node).operand())) return unsupported("IN");
      return false;
    case PredKind::kRangeConst:
      if (on_key(static_cast<const internal::RangeConstPred&>(node).operand())) return unsupported("BinaryRange");
      return false;
    case PredKind::kLike: {
      const auto& l = static_cast<const internal::LikePred&>(node);
      if (!on_key(l.operand())) return false;
      // Milvus plans LIKE by its pattern's shape: a pattern without wildcards is `==`.
      switch (l.pattern().shape()) {
        case internal::LikePattern::Shape::kExact: return true;
        case internal::LikePattern::Shape::kPrefix: return unsupported("PrefixMatch");
        case internal::LikePattern::Shape::kSuffix: return unsupported("PostfixMatch");
        case internal::LikePattern::Shape::kInfix: return unsupported("InnerMatch");
        case internal::LikePattern::Shape::kGeneral: return unsupported("Match");
      }
      return false;
    }
    case PredKind::kAnd:
    case PredKind::kOr: {
      bool found = false;
      for (const auto& k : static_cast<const internal::LogicalPred&>(node).kids()) {
        KITE_ASSIGN_OR_RETURN(bool kid, IsolationKeyFound(*k, key));
        found = found || kid;
      }
      if (found && node.kind() == PredKind::kOr) return unsupported("OR");
      return found;
    }
    case PredKind::kNot: {
      KITE_ASSIGN_OR_RETURN(bool kid, IsolationKeyFound(*static_cast<const internal::LogicalPred&>(node).kids()[0], key));
      if (kid) return unsupported("NOT");
      return false;
    }
    default: return false;
  }
}

}  // namespace

Status CheckPartitionKeyIsolation(const Plan* plan, FieldId partition_key) {
  bool found = false;
  if (plan != nullptr) {
    KITE_ASSIGN_OR_RETURN(found, IsolationKeyFound(plan->root(), partition_key));
  }
  if (!found) {
    return Unclassified("partition key not found in expr or the expr is invalid when validating partition key isolation");
  }
  return Status::OK();
}

}  // namespace kite::expr
