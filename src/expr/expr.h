// Filter expressions: Milvus's boolean filter language (`age > 20 and
// meta["a"]["b"] == "x"`), compiled against a collection schema into an
// immutable Plan and evaluated column-at-a-time over a ColumnBatch.
//
// Contract
//  * Compile() parses, resolves names against the schema, substitutes template
//    values ({name}), type-checks and folds constants. Every problem with the
//    text is the user's: StatusCode::kInvalidArgument with a message of the
//    form "cannot parse expression: <text>, error: <what> at position <byte
//    offset>" for a syntax error; a semantic error (an unknown field, a type
//    that does not fit) ends at <what>, as Milvus's planner words it, and a
//    whole expression that is not a predicate is "predicate is not a boolean
//    expression: <text>, data type: <type>". Compile never crashes or
//    recurses without bound on any input: text longer than
//    ParseOptions::max_length and nesting deeper than ParseOptions::max_depth
//    are rejected before they can exhaust the stack.
//  * Evaluate() is vectorised: one pass per plan node over the whole batch with
//    a typed loop per operator and column type; it never walks the syntax tree
//    per row. A batch that lacks a column the plan reads, or holds it with the
//    wrong type, is the caller's bug: StatusCode::kInternal.
//  * NULL semantics (Milvus's): every predicate yields a value and a validity
//    bit per row. A comparison on a null row is false and invalid; `not p` is
//    true only where p is false *and* valid, so `not (x > 1)` is false on a row
//    where x is null; `a and b` / `a or b` are valid where either side is
//    valid. `is null`, `is not null` and `exists` are always valid. A missing
//    JSON key, a JSON value of another type or an array index out of range is
//    a valid row on which the comparison is false, except `!=`, which is true
//    there (on valid rows `x != v` is exactly `not (x == v)`), as in Milvus.
//    See src/expr/README.md for the full language.
//
// Thread-safety: a Plan is immutable after Compile; it may be shared by any
// number of threads evaluating concurrently. Evaluate keeps its per-call state
// (extracted JSON paths, scratch vectors) on its own stack/heap.
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "schema/collection_schema.h"
#include "schema/column_batch.h"

namespace kite::expr {

// A value for a template placeholder {name} (Milvus expr_params /
// filter_params, sent as expr_template_values): null, bool, int64, double,
// string, or an array of those. Also used internally for folded literals.
class TemplateValue {
 public:
  using Array = std::vector<TemplateValue>;
  using Variant = std::variant<std::monostate, bool, int64_t, double, std::string, Array>;

  TemplateValue() = default;  // null
  TemplateValue(bool v) : v_(v) {}  // NOLINT: implicit by design
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  TemplateValue(T v) : v_(static_cast<int64_t>(v)) {}  // NOLINT
  template <std::floating_point T>
  TemplateValue(T v) : v_(static_cast<double>(v)) {}  // NOLINT
  TemplateValue(std::string v) : v_(std::move(v)) {}     // NOLINT
  TemplateValue(const char* v) : v_(std::string(v)) {}   // NOLINT
  TemplateValue(std::string_view v) : v_(std::string(v)) {}  // NOLINT
  TemplateValue(Array v) : v_(std::move(v)) {}           // NOLINT

  bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_double() const { return std::holds_alternative<double>(v_); }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  double as_number() const { return is_int() ? static_cast<double>(as_int()) : as_double(); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  const Variant& variant() const { return v_; }

  // Expression syntax: 1, 2.5, "a\"b", true, [1, "x"], null.
  std::string ToString() const;
  // "Int64", "Double", "VarChar", "Bool", "Array", "null" (for messages).
  std::string_view TypeName() const;

  friend bool operator==(const TemplateValue& a, const TemplateValue& b) { return a.v_ == b.v_; }

 private:
  Variant v_;
};

using TemplateValues = std::map<std::string, TemplateValue>;

// Limits on the text Compile accepts.
struct ParseOptions {
  size_t max_length = 65536;  // bytes of expression text
  int max_depth = 256;        // nesting depth (parentheses, operators, tree depth)
  // IANA zone of TIMESTAMPTZ literals without an offset (`ts > ISO '2025-01-01 00:00:00'`).
  std::string timezone = "UTC";
};
// max_depth is clamped to this, so that evaluation and destruction of a plan,
// which recurse over its tree, stay far from any thread's stack limit.
inline constexpr int kMaxDepthLimit = 1000;

namespace internal {
class PredNode;
}

// A compiled filter: immutable, shareable across threads (see above).
class Plan {
 public:
  Plan(std::unique_ptr<internal::PredNode> root, std::string text);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  const internal::PredNode& root() const { return *root_; }
  const std::string& text() const { return text_; }
  // Field ids read by the plan, ascending, without duplicates.
  const std::vector<FieldId>& fields() const { return fields_; }

 private:
  std::unique_ptr<internal::PredNode> root_;
  std::string text_;
  std::vector<FieldId> fields_;
};

// Parses and type-checks `text` against `schema`. Names are schema fields;
// an unknown name is a key of the dynamic field ($meta) when
// schema.enable_dynamic_field, else an error naming it. Whitespace-only text
// compiles to a plan that matches every row (callers decide whether an empty
// filter is allowed).
Result<std::unique_ptr<const Plan>> Compile(std::string_view text, const CollectionSchema& schema,
                                           const TemplateValues& values, const ParseOptions& options);

// Evaluates `plan` over rows [0, batch.num_rows) of `batch` into `out`
// (resized to num_rows; one byte per row, 1 = match). Columns are found by
// field id; columns the plan does not read may be absent.
Status Evaluate(const Plan& plan, const ColumnBatch& batch, std::vector<uint8_t>* out);

class IndexLookup;  // expr/index_lookup.h

// As above, answering the leaf predicates `indexes` covers from the indexes
// instead of their columns (nullptr: none; then exactly the 3-argument form).
// The result is identical to the scan's. `indexes` index the batch's rows:
// row i of every index is row i of the batch. The batch needs the columns
// ColumnsNeeded(plan, indexes) names; others may be absent.
Status Evaluate(const Plan& plan, const ColumnBatch& batch, const IndexLookup* indexes, std::vector<uint8_t>* out);

// The fields whose columns Evaluate(plan, batch, indexes, ...) reads: those of
// leaves `indexes` does not cover (IndexLookup::Covers), ascending, without
// duplicates. With indexes == nullptr, ReferencedFields(plan).
std::vector<FieldId> ColumnsNeeded(const Plan& plan, const IndexLookup* indexes);

// The key list when the whole expression is `pk in [...]`, `pk == v`, or an OR
// of those (the fast path for get()/delete(ids)); keys are deduplicated and in
// first-mention order. nullopt for any other expression.
std::optional<std::vector<PrimaryKey>> ExtractPrimaryKeys(const Plan& plan, const CollectionSchema& schema);

// Milvus's partition-key isolation rule for a search filter (a collection
// with `partitionkey.isolation` on): the filter must pin the partition key
// `partition_key` with `==` under ANDs only. nullptr (no filter) never does.
// The error texts are Milvus's (exprutil.ValidatePartitionKeyIsolation):
// "partition key isolation does not support IN" (OR, NOT, NotEqual,
// GreaterThan, ..., BinaryRange), or "partition key not found in expr or the
// expr is invalid when validating partition key isolation".
Status CheckPartitionKeyIsolation(const Plan* plan, FieldId partition_key);

// Field ids the plan reads, so callers fetch only those columns.
std::vector<FieldId> ReferencedFields(const Plan& plan);

// A readable rendering of the compiled plan, for logs and tests.
std::string PlanToString(const Plan& plan);

}  // namespace kite::expr
