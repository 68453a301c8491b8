// The typed plan behind expr::Plan: predicate nodes (PredNode) producing a
// value and a validity byte per row, over operand nodes (ValueNode)
// producing typed value vectors. Built by the binder (binder.cc), evaluated by
// eval.cc one node at a time over the whole batch: every inner loop is typed
// per operator and column type, and the tree is walked once per batch, never
// per row.
//
// Nodes are immutable after construction and hold no per-evaluation state;
// EvalContext carries that (column lookups, JSON paths extracted for this
// batch). Plan trees are at most ParseOptions::max_depth deep. Internal to
// src/expr.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "expr/ast.h"
#include "expr/expr.h"
#include "expr/index_lookup.h"
#include "expr/json_column.h"
#include "expr/like.h"
#include "schema/column_batch.h"
#include "schema/geometry.h"
#include "schema/timestamptz.h"
#include "text/analyzer.h"

namespace kite::expr::internal {

using Literal = TemplateValue;

// Per-row results of a predicate (see expr.h for NULL semantics).
struct BoolVec {
  std::vector<uint8_t> value;  // 1 = true; 0 wherever valid is 0
  std::vector<uint8_t> valid;  // empty = every row valid
};

// Static kind of an operand's values.
enum class VKind : uint8_t { kBool, kInt, kDouble, kString, kJson, kArray };

// Values of an operand over a batch.
struct ValueVec {
  VKind kind = VKind::kInt;
  bool scalar = false;  // constants: element 0 stands for every row
  std::vector<int64_t> ints;
  std::vector<double> dbls;
  std::vector<uint8_t> bools;
  std::vector<std::string_view> strs;  // into batch columns or a JsonColumn
  const JsonColumn* json = nullptr;    // kJson
  const Column* column = nullptr;      // kArray
  DataType elem = DataType::kNone;     // kArray element type
  std::vector<uint8_t> valid;    // empty = no null rows
  std::vector<uint8_t> present;  // empty = every row has a value (0: missing key / index / div by 0)
};

class EvalContext {
 public:
  // `indexes` (may be null) answers index-covered leaves instead of their columns.
  EvalContext(const ColumnBatch& batch, const IndexLookup* indexes)
      : batch_(batch), rows_(batch.num_rows), indexes_(indexes) {}
  int64_t rows() const { return rows_; }
  const IndexLookup* indexes() const { return indexes_; }
  bool HasColumn(FieldId id) const { return batch_.Find(id) != nullptr; }
  // The column for `id`, checked to exist with `type` and at least rows() rows.
  Result<const Column*> GetColumn(FieldId id, DataType type, std::string_view name) const;
  // `path` of JSON field `id`, extracted once per context.
  Result<const JsonColumn*> GetJson(FieldId id, const std::vector<std::string>& path, std::string_view name);

 private:
  const ColumnBatch& batch_;
  int64_t rows_;
  const IndexLookup* indexes_;
  std::map<std::pair<int64_t, std::vector<std::string>>, std::unique_ptr<JsonColumn>> json_;
};

// ---------------------------------------------------------------- operands

class ValueNode {
 public:
  virtual ~ValueNode() = default;
  VKind kind() const { return kind_; }
  virtual Status Eval(EvalContext& ctx, ValueVec* out) const = 0;
  virtual void CollectFields(std::vector<FieldId>* out) const = 0;
  virtual std::string ToString() const = 0;

 protected:
  explicit ValueNode(VKind kind) : kind_(kind) {}

 private:
  VKind kind_;
};

// A scalar field: Bool, Int8..Int64, Float, Double, VarChar/String.
class FieldRef final : public ValueNode {
 public:
  FieldRef(FieldId id, DataType type, std::string name);
  FieldId id() const { return id_; }
  DataType type() const { return type_; }
  const std::string& name() const { return name_; }
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override { return name_; }

 private:
  FieldId id_;
  DataType type_;
  std::string name_;
};

// A path inside a JSON field (empty path: the whole value).
class JsonRef final : public ValueNode {
 public:
  JsonRef(FieldId id, std::vector<std::string> path, std::string display)
      : ValueNode(VKind::kJson), id_(id), path_(std::move(path)), display_(std::move(display)) {}
  FieldId id() const { return id_; }
  const std::vector<std::string>& path() const { return path_; }
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override { return display_; }

 private:
  FieldId id_;
  std::vector<std::string> path_;
  std::string display_;
};

// A whole Array field.
class ArrayRef final : public ValueNode {
 public:
  ArrayRef(FieldId id, DataType elem, std::string name)
      : ValueNode(VKind::kArray), id_(id), elem_(elem), name_(std::move(name)) {}
  FieldId id() const { return id_; }
  DataType elem() const { return elem_; }
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override { return name_; }

 private:
  FieldId id_;
  DataType elem_;
  std::string name_;
};

// arr[index] of an Array field; rows with fewer elements have no value.
class ArrayElementRef final : public ValueNode {
 public:
  ArrayElementRef(FieldId id, DataType elem, int64_t index, std::string display);
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override { return display_; }

 private:
  FieldId id_;
  DataType elem_;
  int64_t index_;
  std::string display_;
};

// array_length(x) of an Array field or a JSON path (no value unless a JSON array).
class ArrayLength final : public ValueNode {
 public:
  explicit ArrayLength(std::unique_ptr<ValueNode> operand) : ValueNode(VKind::kInt), operand_(std::move(operand)) {}
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override { return "array_length(" + operand_->ToString() + ")"; }

 private:
  std::unique_ptr<ValueNode> operand_;
};

// A numeric constant inside arithmetic (kInt or kDouble).
class ConstValue final : public ValueNode {
 public:
  explicit ConstValue(Literal v) : ValueNode(v.is_int() ? VKind::kInt : VKind::kDouble), v_(std::move(v)) {}
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>*) const override {}
  std::string ToString() const override { return v_.ToString(); }

 private:
  Literal v_;
};

// lhs op rhs over numbers. kInt when both sides are integers (and for %),
// with wrap-around on overflow and no value on division by zero; kDouble
// otherwise. JSON operands contribute their numeric values (others: no value).
class Arith final : public ValueNode {
 public:
  Arith(ArithOp op, VKind kind, std::unique_ptr<ValueNode> lhs, std::unique_ptr<ValueNode> rhs)
      : ValueNode(kind), op_(op), lhs_(std::move(lhs)), rhs_(std::move(rhs)) {}
  Status Eval(EvalContext& ctx, ValueVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override {
    lhs_->CollectFields(out);
    rhs_->CollectFields(out);
  }
  std::string ToString() const override;

 private:
  ArithOp op_;
  std::unique_ptr<ValueNode> lhs_, rhs_;
};

// -------------------------------------------------------------- predicates

enum class PredKind : uint8_t {
  kConst, kBoolValue, kCompareConst, kRangeConst, kCompare, kIn, kLike, kNullCheck, kExists, kContains, kTextMatch,
  kAnd, kOr, kNot, kSpatial, kTimestamptzArith, kGeometryValid, kRandomSample,
};

class PredNode {
 public:
  virtual ~PredNode() = default;
  PredKind kind() const { return kind_; }
  virtual Status Eval(EvalContext& ctx, BoolVec* out) const = 0;
  virtual void CollectFields(std::vector<FieldId>* out) const = 0;
  virtual std::string ToString() const = 0;
  // The node as a leaf an index may answer (index_lookup.h), or null.
  const IndexLeaf* index_leaf() const { return leaf_ ? &*leaf_ : nullptr; }

 protected:
  explicit PredNode(PredKind kind) : kind_(kind) {}
  // Set by leaf constructors; immutable afterwards.
  std::optional<IndexLeaf> leaf_;

 private:
  PredKind kind_;
};

// Evaluates `node`, from ctx.indexes() when they answer its leaf, else by
// node.Eval. Every evaluation of a predicate goes through this.
Status EvalPred(const PredNode& node, EvalContext& ctx, BoolVec* out);

// true / false on every row (valid everywhere).
class ConstPred final : public PredNode {
 public:
  explicit ConstPred(bool v) : PredNode(PredKind::kConst), v_(v) {}
  bool value() const { return v_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>*) const override {}
  std::string ToString() const override { return v_ ? "true" : "false"; }

 private:
  bool v_;
};

// A Bool operand used as a predicate (`is_active`, `flags[0]`).
class BoolValuePred final : public PredNode {
 public:
  explicit BoolValuePred(std::unique_ptr<ValueNode> operand);
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override { return operand_->ToString(); }

 private:
  std::unique_ptr<ValueNode> operand_;
};

// How an integer operand compares with a (possibly fractional) constant,
// rewritten exactly: `x > 2.5` is `x >= 3`, `x == 2.5` is false.
struct IntCmp {
  enum class Mode : uint8_t { kCompare, kAllTrue, kAllFalse } mode = Mode::kCompare;
  CmpOp op = CmpOp::kEq;
  int64_t c = 0;
};
IntCmp NormalizeIntCmp(CmpOp op, const Literal& c);

// operand op constant (the operand on the left; the binder reverses `5 < x`).
class CompareConstPred final : public PredNode {
 public:
  // `float32` rounds numeric constants to float (Float fields / elements).
  CompareConstPred(std::unique_ptr<ValueNode> operand, CmpOp op, Literal c, bool float32);
  const ValueNode& operand() const { return *operand_; }
  CmpOp op() const { return op_; }
  const Literal& constant() const { return c_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;
  const FieldRef* field_ = nullptr;  // operand_ when it is a plain scalar field (fast path)
  CmpOp op_;
  Literal c_;
  IntCmp int_;     // kInt operands
  double dbl_ = 0;  // kDouble operands
  bool bool_ = false;
};

// lo <(=) operand <(=) hi with constant bounds of one kind (numbers or strings).
class RangeConstPred final : public PredNode {
 public:
  RangeConstPred(std::unique_ptr<ValueNode> operand, Literal lo, bool lo_inclusive, Literal hi, bool hi_inclusive,
                 bool float32);
  const ValueNode& operand() const { return *operand_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;
  const FieldRef* field_ = nullptr;
  Literal lo_, hi_;
  bool lo_incl_, hi_incl_;
  // kInt operands: inclusive [ilo_, ihi_], or no row at all.
  bool int_empty_ = false;
  int64_t ilo_ = 0, ihi_ = 0;
  double dlo_ = 0, dhi_ = 0;
};

// lhs op rhs, both non-constant (columns, arithmetic, elements).
class ComparePred final : public PredNode {
 public:
  ComparePred(std::unique_ptr<ValueNode> lhs, CmpOp op, std::unique_ptr<ValueNode> rhs)
      : PredNode(PredKind::kCompare), lhs_(std::move(lhs)), op_(op), rhs_(std::move(rhs)) {}
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override {
    lhs_->CollectFields(out);
    rhs_->CollectFields(out);
  }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> lhs_;
  CmpOp op_;
  std::unique_ptr<ValueNode> rhs_;
};

// operand in [values] (values already converted to the operand's kind;
// `not in` is Not(In)).
class InPred final : public PredNode {
 public:
  InPred(std::unique_ptr<ValueNode> operand, std::vector<Literal> values, bool float32);
  const ValueNode& operand() const { return *operand_; }
  const std::vector<Literal>& values() const { return values_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;
  const FieldRef* field_ = nullptr;
  std::vector<Literal> values_;
  std::vector<int64_t> ints_;  // sorted
  std::vector<double> dbls_;   // sorted
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, StringHash, std::equal_to<>> strs_;
  bool has_true_ = false, has_false_ = false;
};

class LikePred final : public PredNode {
 public:
  LikePred(std::unique_ptr<ValueNode> operand, std::string pattern);
  const ValueNode& operand() const { return *operand_; }
  const LikePattern& pattern() const { return pattern_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;
  LikePattern pattern_;
};

// `x is null` / `x is not null` for a field (its validity) or a JSON path
// (null row, missing key or JSON null).
class NullCheckPred final : public PredNode {
 public:
  // `json_key`: operand is a JsonRef with a non-empty path (key-level check);
  // otherwise the check is on the column's validity.
  NullCheckPred(std::unique_ptr<ValueNode> operand, bool is_null, bool json_key);
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;  // FieldRef, ArrayRef or JsonRef
  bool is_null_;
  bool json_key_;
};

// TEXT_MATCH(field, 'terms') / PHRASE_MATCH(field, 'phrase', slop) /
// TEXT_MATCH_FUZZY(field, 'terms', max_edit_distance=k) on a VARCHAR field
// with enable_match (text/match.h): each row's text is run through the
// field's analyzer (text_match.cc). Null rows never match. A fuzzy match
// (max_edit_distance >= 0) is scanned: no text index leaf answers it.
class TextMatchPred final : public PredNode {
 public:
  TextMatchPred(FieldId id, std::string name, bool phrase, std::shared_ptr<const text::Analyzer> analyzer,
                std::string query, int64_t slop, int64_t min_should_match, int64_t max_edit_distance = -1);
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override;

 private:
  FieldId id_;
  std::string name_;
  bool phrase_;
  std::shared_ptr<const text::Analyzer> analyzer_;
  std::string query_;
  std::vector<text::Token> query_tokens_;
  std::vector<std::string> query_terms_;
  int64_t slop_;
  int64_t min_should_match_;
  int64_t max_edit_distance_;  // -1: exact terms
};

// ST_xxx(field, 'WKT'): the row's geometry (WKB) against the query geometry,
// computed by GEOS (schema/geometry.h); rows whose envelope misses the query's
// are skipped without decoding. Null rows are unknown (never match).
class SpatialPred final : public PredNode {
 public:
  SpatialPred(FieldId id, std::string name, std::shared_ptr<const geo::SpatialFilter> filter)
      : PredNode(PredKind::kSpatial), id_(id), name_(std::move(name)), filter_(std::move(filter)) {}
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override;

 private:
  FieldId id_;
  std::string name_;
  std::shared_ptr<const geo::SpatialFilter> filter_;
};

// ST_ISVALID(field): the row's geometry is valid (GEOSisValid). Null rows are unknown.
class GeometryValidPred final : public PredNode {
 public:
  GeometryValidPred(FieldId id, std::string name)
      : PredNode(PredKind::kGeometryValid), id_(id), name_(std::move(name)) {}
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override { return "ST_ISVALID(" + name_ + ")"; }

 private:
  FieldId id_;
  std::string name_;
};

// ts + sign * INTERVAL op constant (UTC microseconds) on a TIMESTAMPTZ field,
// the interval applied on the UTC calendar per row (tz::AddInterval).
class TimestamptzArithPred final : public PredNode {
 public:
  TimestamptzArithPred(FieldId id, std::string name, int sign, tz::Interval interval, CmpOp op, int64_t value)
      : PredNode(PredKind::kTimestamptzArith),
        id_(id), name_(std::move(name)), sign_(sign), interval_(interval), op_(op), value_(value) {}
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { out->push_back(id_); }
  std::string ToString() const override;

 private:
  FieldId id_;
  std::string name_;
  int sign_;
  tz::Interval interval_;
  CmpOp op_;
  int64_t value_;
};

// exists meta["k"]: the key is present (even with a JSON null value).
class ExistsPred final : public PredNode {
 public:
  explicit ExistsPred(std::unique_ptr<JsonRef> operand) : PredNode(PredKind::kExists), operand_(std::move(operand)) {}
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override { return "exists " + operand_->ToString(); }

 private:
  std::unique_ptr<JsonRef> operand_;
};

// json_contains / array_contains (kOne), _all (kAll), _any (kAny) over an
// Array field or a JSON array.
class ContainsPred final : public PredNode {
 public:
  enum class Mode : uint8_t { kOne, kAll, kAny };
  ContainsPred(std::unique_ptr<ValueNode> operand, Mode mode, std::vector<Literal> values);
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override { operand_->CollectFields(out); }
  std::string ToString() const override;

 private:
  std::unique_ptr<ValueNode> operand_;  // ArrayRef or JsonRef
  Mode mode_;
  std::vector<Literal> values_;
};

// ------------------------------------------------- index leaves (index_leaf.cc)
// Each returns the node's canonical IndexLeaf when its operand is a plain
// scalar field (an Array field for contains), converting constants exactly as
// the node's scan does; nullopt otherwise.

std::optional<IndexLeaf> LeafForCompare(const ValueNode& operand, CmpOp op, const Literal& c, const IntCmp& ic,
                                        double dbl);
struct RangeLeafArgs {
  const Literal& lo;
  bool lo_incl;
  const Literal& hi;
  bool hi_incl;
  bool int_empty;
  int64_t ilo, ihi;  // kInt: inclusive bounds
  double dlo, dhi;   // kDouble
};
std::optional<IndexLeaf> LeafForRange(const ValueNode& operand, const RangeLeafArgs& args);
std::optional<IndexLeaf> LeafForIn(const ValueNode& operand, const std::vector<int64_t>& ints,
                                   const std::vector<double>& dbls, std::vector<std::string> strs, bool has_true,
                                   bool has_false);
std::optional<IndexLeaf> LeafForLike(const ValueNode& operand, const LikePattern& pattern);
std::optional<IndexLeaf> LeafForNullCheck(const ValueNode& operand, bool is_null);
std::optional<IndexLeaf> LeafForBoolValue(const ValueNode& operand);
std::optional<IndexLeaf> LeafForContains(const ValueNode& operand, bool all, const std::vector<Literal>& values);
// `json in [...]` on a JsonRef (LeafForCompare, LeafForRange, LeafForLike and
// LeafForContains also describe JsonRef operands: index_lookup.h's JSON leaves).
std::optional<IndexLeaf> LeafForJsonIn(const ValueNode& operand, const std::vector<Literal>& values);

class LogicalPred final : public PredNode {
 public:
  LogicalPred(PredKind kind, std::vector<std::unique_ptr<PredNode>> kids) : PredNode(kind), kids_(std::move(kids)) {}
  const std::vector<std::unique_ptr<PredNode>>& kids() const { return kids_; }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override {
    for (const auto& k : kids_) k->CollectFields(out);
  }
  std::string ToString() const override;

 private:
  std::vector<std::unique_ptr<PredNode>> kids_;  // kAnd / kOr: 2+; kNot: 1
};

// `<predicate> and random_sample(factor)` (Milvus 2.6 RANDOM_SAMPLE): of the
// rows the predicate holds on (every row without one), a uniform sample of
// max(floor(N * factor), 1) rows, drawn afresh on every evaluation (one per
// segment, as Milvus samples per segment). The binder only puts it at the
// root, with factor in (0, 1).
class SamplePred final : public PredNode {
 public:
  SamplePred(double factor, std::unique_ptr<PredNode> predicate)
      : PredNode(PredKind::kRandomSample), factor_(factor), predicate_(std::move(predicate)) {}
  double factor() const { return factor_; }
  const PredNode* predicate() const { return predicate_.get(); }
  // For the binder only, while it nests this node under another `and`.
  std::unique_ptr<PredNode> TakePredicate() { return std::move(predicate_); }
  Status Eval(EvalContext& ctx, BoolVec* out) const override;
  void CollectFields(std::vector<FieldId>* out) const override {
    if (predicate_) predicate_->CollectFields(out);
  }
  std::string ToString() const override;

 private:
  double factor_;
  std::unique_ptr<PredNode> predicate_;  // null: sample every row
};

}  // namespace kite::expr::internal
