// GEOMETRY values: Milvus 2.6 takes WKT from clients, stores WKB (ISO, little
// endian) and returns WKT. This header converts between the two and evaluates
// the spatial predicates of the filter language (ST_EQUALS, ST_TOUCHES,
// ST_OVERLAPS, ST_CROSSES, ST_CONTAINS, ST_INTERSECTS, ST_WITHIN, ST_DWITHIN)
// with GEOS, whose reentrant C API (geos_c.h) is used with one context handle
// per thread. Everything here is thread-safe; a SpatialFilter is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kite::geo {

// WKT -> WKB. On bad text InvalidArgument carrying GEOS's reason
// ("ParseException: Unknown type: 'FOO'").
Result<std::string> WktToWkb(std::string_view wkt);
// WKB -> WKT as GEOS writes it ("POINT (1 2)", trimmed numbers); "" for bytes
// that are not WKB (never stored: inserts are checked).
std::string WkbToWkt(std::string_view wkb);
// Whether `wkt` parses as one geometry (the reason in *why otherwise).
bool IsValidWkt(std::string_view wkt, std::string* why);

// Axis-aligned bounding box.
struct Envelope {
  double min_x = 0, min_y = 0, max_x = 0, max_y = 0;
  bool empty = true;
  bool Intersects(const Envelope& o) const {
    return !empty && !o.empty && min_x <= o.max_x && o.min_x <= max_x && min_y <= o.max_y && o.min_y <= max_y;
  }
};
// The envelope of a WKB value (empty for empty or unreadable geometries).
Envelope EnvelopeOfWkb(std::string_view wkb);

enum class SpatialOp : uint8_t { kEquals, kTouches, kOverlaps, kCrosses, kContains, kIntersects, kWithin, kDWithin };
std::string_view SpatialOpName(SpatialOp op);  // "ST_EQUALS", ...

// `row_geometry OP query_geometry` for every row, the query geometry parsed
// (and prepared) once.
class SpatialFilter {
 public:
  // `distance` is ST_DWITHIN's (ignored otherwise). InvalidArgument on bad WKT.
  static Result<std::unique_ptr<SpatialFilter>> Make(SpatialOp op, std::string_view wkt, double distance);
  ~SpatialFilter();
  SpatialFilter(const SpatialFilter&) = delete;
  SpatialFilter& operator=(const SpatialFilter&) = delete;

  SpatialOp op() const { return op_; }
  // Rows whose envelope misses this can never match (every op but none).
  const Envelope& candidate_box() const { return box_; }
  // Whether the WKB row matches (false for unreadable bytes).
  bool Matches(std::string_view wkb) const;

 private:
  SpatialFilter() = default;
  SpatialOp op_ = SpatialOp::kIntersects;
  double distance_ = 0;
  void* geom_ = nullptr;      // GEOSGeometry*
  void* prepared_ = nullptr;  // const GEOSPreparedGeometry*
  Envelope box_;
};

}  // namespace kite::geo
