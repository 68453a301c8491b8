// IndexLookup: the evaluator's optional hook for answering leaf predicates
// from scalar indexes instead of scanning columns.
//
// A leaf is a predicate on one plain scalar field (or a whole Array field for
// array_contains*) with constant operands: a comparison, a range, `in`, `!=`,
// `like` (any pattern), `is [not] null`, a bare Bool field. The
// binder's plan nodes describe themselves as an IndexLeaf in canonical form,
// with every literal already converted exactly as the scan converts it, so an
// index only compares keys:
//   * Bool and Int8..Int64 fields: int64 keys. A Bool field's key is its raw
//     byte (the scan compares raw bytes); a Bool *array element's* key is 0/1
//     (the scan reads elements as byte != 0).
//   * Float and Double fields / elements: double keys; Float constants are
//     already rounded to float32. NaN keys match nothing under kRange/kIn/
//     kContains*; stored NaN values are matched only by kNotEqual.
//   * VarChar (and String) fields / elements: string keys, compared bytewise.
//   * A path inside a JSON field (`json_path` set: the JsonRef's steps): the
//     leaf describes the scan of that path (json_column.h) restricted to the
//     rows whose value there is of the leaf's key type: `type` kDouble (any
//     JSON number; keys are doubles that convert the literal exactly), kVarChar
//     (JSON strings) or kBool (int64 keys 0/1); kArray with `element_type`
//     for json_contains*. Rows holding another type (or no value there) match
//     only kNotEqual; null JSON rows are null. Only a JSON path index
//     (index/scalar/json_path_index.h) of that path answers such a leaf.
//
// Result contract (NULL semantics of expr.h): for every op except kIsNull /
// kIsNotNull the answer is `value` = rows that match and are not null,
// `valid` = the non-null rows (empty when no row in [0, rows) is null); for
// kIsNull / kIsNotNull `valid` is empty (always valid). `value` is 0 wherever
// `valid` is 0. Both have exactly `rows` bytes. The answer must be identical to
// what scanning the column gives; an index that cannot be exact declines.
//
// Thread-safety: implementations are used from many threads at once through
// const methods. Lifetime: the lookup and what it points to must outlive the
// Evaluate call it is passed to.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "schema/geometry.h"
#include "schema/data_type.h"

namespace kite::expr {

using IndexKey = std::variant<int64_t, double, std::string>;

struct IndexBound {
  IndexKey key;
  bool inclusive = true;
};

struct IndexLeaf {
  enum class Op : uint8_t {
    kIsNull,       // the row is null
    kIsNotNull,    // the row is not null
    kRange,        // lo <(=) value <(=) hi; an absent bound is unbounded (no bounds: every non-null row)
    kIn,           // value equals one of `keys` (empty: no row)
    kNotEqual,     // value != keys[0] (on non-null rows: not kIn{keys[0]})
    kPrefix,       // string value starts with keys[0]
    kMatch,        // string value satisfies `match` (a LIKE pattern other than exact or prefix; keys[0]: its text)
    kContainsAny,  // Array field: some element equals one of `keys` (empty: no row)
    kContainsAll,  // Array field: every one of `keys` occurs among the elements (empty: every non-null row)
    // TEXT_MATCH / PHRASE_MATCH (text/match.h): `keys` are the analyzed query
    // tokens (strings), `positions` their positions, with `min_should_match`
    // / `slop`; answered only by a text index built with the field's analyzer.
    kTextMatch,
    kPhraseMatch,
  };
  FieldId field;
  // Leaves on a path inside a JSON field (see above): the path's steps.
  bool json = false;
  std::vector<std::string> json_path;
  DataType type = DataType::kNone;          // the field's type
  DataType element_type = DataType::kNone;  // Array fields: the element type
  Op op = Op::kIn;
  std::optional<IndexBound> lo, hi;  // kRange
  std::vector<IndexKey> keys;        // kIn, kNotEqual, kPrefix, kMatch, kContains*
  // kMatch: a pure predicate on a value's bytes, callable from many threads.
  std::function<bool(std::string_view)> match;
  std::vector<int64_t> positions;  // kPhraseMatch
  int64_t slop = 0;                // kPhraseMatch
  int64_t min_should_match = 1;    // kTextMatch
};

// An answer: one byte per row each (see the contract above).
struct LeafResult {
  std::vector<uint8_t> value;
  std::vector<uint8_t> valid;  // empty: every row valid
};

class IndexLookup {
 public:
  virtual ~IndexLookup() = default;
  // Whether TryLeaf answers `leaf` when `column_present` is false and `rows`
  // is within the indexed rows.
  virtual bool Covers(const IndexLeaf& leaf) const = 0;
  // Answers `leaf` over rows [0, rows) into `out` and returns true, or returns
  // false (no index on the field, or none that is exact for this leaf); the
  // evaluator then scans the column. `column_present`: the batch holds the
  // leaf's column, so the lookup may also decline a leaf that scanning is
  // expected to answer faster (an unselective range, say).
  virtual bool TryLeaf(const IndexLeaf& leaf, int64_t rows, bool column_present, LeafResult* out) const = 0;
  // GEOMETRY fields with a spatial (RTREE) index: the rows in [0, rows) whose
  // bounding box meets `box`, ascending, and true; false when there is no
  // such index. A superset of the matches: the caller re-checks each row.
  virtual bool SpatialCandidates(FieldId field, const geo::Envelope& box, int64_t rows,
                                 std::vector<uint32_t>* out) const {
    (void)field, (void)box, (void)rows, (void)out;
    return false;
  }
};

// "field 101 in [1, 2]"-style rendering, for logs and tests.
std::string IndexLeafToString(const IndexLeaf& leaf);

}  // namespace kite::expr
