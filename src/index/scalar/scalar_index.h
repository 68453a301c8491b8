// ScalarIndex: an index over one sealed segment's scalar column that answers
// filter leaves (expr/index_lookup.h) without scanning the column: Milvus's
// INVERTED, STL_SORT, BITMAP and Trie index types.
//
// Contract
//   * Row ids are row numbers of the column the index was built from
//     (0 .. rows()-1, rows() < 2^32). Null rows (Column::valid) never match a
//     comparison; `is null` / `is not null` are answered from the index's own
//     null rows.
//   * Search answers exactly what scanning the column answers (NULL
//     semantics and the canonical key conversions of index_lookup.h): it is
//     the evaluator's drop-in for a leaf, checked bit for bit by the tests.
//     It declines (returns false) a leaf it does not support (Supports) or
//     `rows` past rows(); the evaluator then scans.
//   * Build params: the resolved params of index_params.h (`index_type` is
//     one of "INVERTED", "STL_SORT", "BITMAP", "Trie"; other keys ignored).
//     A field type the index type does not take is InvalidArgument.
//
// What each type is (all: O(log n + matches) per leaf):
//   STL_SORT  numeric fields: (value, row) pairs sorted by value; ranges and
//             equality are binary searches, `in` one per value.
//   INVERTED  Bool, integer, floating, VarChar fields and Arrays of those:
//             sorted dictionary of distinct values, each with the sorted rows
//             holding it (one flat posting array; a key range is one
//             contiguous span). Ranges, `in`, prefix `like "ab%"` (strings),
//             array_contains / _any / _all (Arrays; element -> rows holding it).
//   BITMAP    Bool, integer, VarChar fields and Arrays of those (meant for
//             low cardinality): sorted dictionary, one roaring bitmap per value.
//   Trie      VarChar: a sorted string dictionary (standing in for a trie:
//             the same queries, equality, `in`, prefix and ranges, by binary
//             search over the sorted keys) with flat posting arrays.
//
// Thread-safety: immutable once built or loaded; Search, Serialize and every
// other const method may run from any number of threads at once.
// Ownership: the Column passed to Build is borrowed for the call; the index
// keeps no pointer into it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "expr/index_lookup.h"
#include "schema/column_batch.h"

namespace kite::index {

class ScalarIndex {
 public:
  ScalarIndex() = default;
  virtual ~ScalarIndex() = default;
  ScalarIndex(const ScalarIndex&) = delete;
  ScalarIndex& operator=(const ScalarIndex&) = delete;

  // "INVERTED", "STL_SORT", "BITMAP" or "Trie".
  virtual std::string_view type() const = 0;
  // The indexed field's type, and its element type for Arrays (else kNone).
  virtual DataType data_type() const = 0;
  virtual DataType element_type() const = 0;
  virtual int64_t rows() const = 0;
  // Bytes held in memory (approximate for bitmaps).
  virtual size_t MemoryBytes() const = 0;
  // Whether Search answers `leaf` (its op, field type and key kinds); a pure
  // function of the leaf's shape.
  virtual bool Supports(const expr::IndexLeaf& leaf) const = 0;
  // Answers `leaf` over rows [0, rows) into `out` (contract of
  // index_lookup.h); false when !Supports(leaf) or rows is not in [0, rows()].
  virtual bool Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const = 0;
  // Whether scanning the column is expected to answer `leaf` faster than
  // Search (a cost estimate from the number of rows Search would write).
  virtual bool PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const = 0;
  // Appends the persisted form (docs/formats/scalar_index.md): versioned,
  // little-endian, with its own CRC-32.
  virtual Status Serialize(std::string* out) const = 0;
  // A JSON path index (json_path_index.h): the path's steps, answering only
  // JSON leaves on that path; nullptr for every other index.
  virtual const std::vector<std::string>* json_path() const { return nullptr; }
};

// Whether `index_type` (a resolved name; case-insensitive) can be built over a
// field of `type` (and `element_type` for Arrays): OK or InvalidArgument.
Status CheckScalarIndexType(std::string_view index_type, DataType type, DataType element_type);

// Builds the index `params` describe over all column.num_rows rows of `column`
// (params with `json_pointer`: a JsonPathIndex over a JSON column).
Result<std::unique_ptr<ScalarIndex>> BuildScalarIndex(const std::map<std::string, std::string>& params,
                                                      const Column& column);
// Loads Serialize's bytes. Any damage (bad magic, version, checksum, counts,
// order, row ids) is Corruption, never a crash; an index_type in `params`
// that differs from the stored one is InvalidArgument.
Result<std::unique_ptr<ScalarIndex>> LoadScalarIndex(const std::map<std::string, std::string>& params,
                                                     std::string_view bytes);

// The evaluator's view of one segment's scalar indexes: FieldId -> index.
// Build it per segment (cheap: a small vector) and pass it to
// expr::Evaluate(plan, batch, &lookup, &out). Indexes are borrowed and must
// outlive every Evaluate using the lookup. Immutable after the Add calls;
// then safe to share between threads.
class ScalarIndexLookup final : public expr::IndexLookup {
 public:
  // Adds (or replaces) the index of `field` of index->type(); `index` is
  // borrowed. JSON path indexes are added beside each other (one per path
  // and cast type).
  void Add(FieldId field, const ScalarIndex* index);
  bool Covers(const expr::IndexLeaf& leaf) const override;
  // Declines when the column is present and ScalarIndex::PreferScan.
  bool TryLeaf(const expr::IndexLeaf& leaf, int64_t rows, bool column_present,
               expr::LeafResult* out) const override;
  // From the field's RTREE index (rtree_index.h), when it has one.
  bool SpatialCandidates(FieldId field, const geo::Envelope& box, int64_t rows,
                         std::vector<uint32_t>* out) const override;

 private:
  const ScalarIndex* Find(const expr::IndexLeaf& leaf) const;
  std::vector<std::pair<FieldId, const ScalarIndex*>> indexes_;  // a few fields: linear search
};

}  // namespace kite::index
