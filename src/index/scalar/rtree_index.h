// RtreeIndex: Milvus's RTREE index type for GEOMETRY fields, as a packed
// envelope tree over one sealed segment: every non-null row's bounding box,
// sorted Sort-Tile-Recursive style (by x, then by y within vertical slices)
// into leaves of kLeafSize boxes, each leaf with its own box. A spatial
// filter asks it for the rows whose box meets the query's (Candidates); the
// evaluator then checks the exact predicate with GEOS on those rows only
// (expr/spatial.cc), so answers are those of a scan.
//
// It answers no IndexLeaf (Supports is false): a spatial predicate is not a
// key lookup. Thread-safety and ownership as ScalarIndex. Persisted form:
// docs/formats/scalar_index.md, "RTREE".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/scalar/scalar_index.h"
#include "schema/geometry.h"

namespace kite::index {

class RtreeIndex final : public ScalarIndex {
 public:
  static constexpr size_t kLeafSize = 64;

  // Builds over every row of a GEOMETRY column (WKB); null, empty and
  // unreadable rows are never candidates.
  static Result<std::unique_ptr<RtreeIndex>> Build(const Column& column);
  // Loads Serialize's bytes; damage is Corruption.
  static Result<std::unique_ptr<RtreeIndex>> Load(std::string_view bytes);

  std::string_view type() const override { return "RTREE"; }
  DataType data_type() const override { return DataType::kGeometry; }
  DataType element_type() const override { return DataType::kNone; }
  int64_t rows() const override { return static_cast<int64_t>(rows_); }
  size_t MemoryBytes() const override;
  bool Supports(const expr::IndexLeaf&) const override { return false; }
  bool Search(const expr::IndexLeaf&, int64_t, expr::LeafResult*) const override { return false; }
  bool PreferScan(const expr::IndexLeaf&, int64_t) const override { return true; }
  Status Serialize(std::string* out) const override;

  // Rows in [0, limit) whose box intersects `box`, ascending, into `out`.
  void Candidates(const geo::Envelope& box, int64_t limit, std::vector<uint32_t>* out) const;

 private:
  struct Entry {
    double min_x, min_y, max_x, max_y;
    uint32_t row;
    uint32_t pad = 0;
  };
  RtreeIndex() = default;
  void Pack();  // sorts entries_ into leaves and computes leaf boxes

  uint64_t rows_ = 0;
  std::vector<Entry> entries_;      // in leaf order
  std::vector<geo::Envelope> leaves_;  // box of entries_[i*kLeafSize, (i+1)*kLeafSize)
};

}  // namespace kite::index
