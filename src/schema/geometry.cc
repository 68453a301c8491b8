#include "schema/geometry.h"

#include "schema/geometry_valid.h"

#include <geos_c.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace kite::geo {
namespace {

// One GEOS context per thread: the reentrant API's handles are not shared.
// The last error GEOS reported on this thread is kept for messages.
struct ThreadContext {
  GEOSContextHandle_t h = nullptr;
  std::string last_error;
  ThreadContext() {
    h = GEOS_init_r();
    GEOSContext_setErrorMessageHandler_r(h, &OnError, this);
    GEOSContext_setNoticeMessageHandler_r(h, &OnNotice, nullptr);
  }
  ~ThreadContext() { GEOS_finish_r(h); }
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;
  static void OnError(const char* message, void* self) {
    static_cast<ThreadContext*>(self)->last_error = message ? message : "";
  }
  static void OnNotice(const char*, void*) {}
};

ThreadContext& Ctx() {
  thread_local ThreadContext ctx;
  return ctx;
}

GEOSGeometry* ReadWkt(std::string_view wkt, std::string* why) {
  ThreadContext& c = Ctx();
  c.last_error.clear();
  GEOSWKTReader* r = GEOSWKTReader_create_r(c.h);
  std::string text(wkt);
  GEOSGeometry* g = GEOSWKTReader_read_r(c.h, r, text.c_str());
  GEOSWKTReader_destroy_r(c.h, r);
  if (!g && why) *why = c.last_error.empty() ? "cannot parse WKT" : c.last_error;
  return g;
}

GEOSGeometry* ReadWkb(std::string_view wkb) {
  ThreadContext& c = Ctx();
  GEOSWKBReader* r = GEOSWKBReader_create_r(c.h);
  GEOSGeometry* g = GEOSWKBReader_read_r(c.h, r, reinterpret_cast<const unsigned char*>(wkb.data()), wkb.size());
  GEOSWKBReader_destroy_r(c.h, r);
  return g;
}

Envelope EnvelopeOf(GEOSContextHandle_t h, const GEOSGeometry* g) {
  Envelope e;
  if (!g || GEOSisEmpty_r(h, g) == 1) return e;
  if (GEOSGeom_getXMin_r(h, g, &e.min_x) != 1 || GEOSGeom_getYMin_r(h, g, &e.min_y) != 1 ||
      GEOSGeom_getXMax_r(h, g, &e.max_x) != 1 || GEOSGeom_getYMax_r(h, g, &e.max_y) != 1) {
    return e;
  }
  e.empty = false;
  return e;
}

// Great-circle distance in meters between (lat, lon) pairs in degrees, on a
// sphere of radius 6371 km (what Milvus's ST_DWITHIN uses for points).
double HaversineMeters(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kR = 6371000.0;
  constexpr double kPi = 3.14159265358979323846;
  double p1 = lat1 * kPi / 180, p2 = lat2 * kPi / 180;
  double dp = p2 - p1, dl = (lon2 - lon1) * kPi / 180;
  double a = std::sin(dp / 2) * std::sin(dp / 2) + std::cos(p1) * std::cos(p2) * std::sin(dl / 2) * std::sin(dl / 2);
  return kR * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

// Degrees of planar distance as meters near latitude `lat` (Milvus's
// approximation for ST_DWITHIN on non-point rows).
double DegreesToMeters(double degrees, double lat) {
  constexpr double kMetersPerDegreeLat = 111320.0;
  double r = lat * 3.14159265358979323846 / 180.0;
  return degrees * kMetersPerDegreeLat * std::sqrt((1.0 + std::cos(r) * std::cos(r)) / 2.0);
}

}  // namespace

Result<std::string> WktToWkb(std::string_view wkt) {
  std::string why;
  GEOSGeometry* g = ReadWkt(wkt, &why);
  if (!g) return InvalidArgument("{}", why);
  ThreadContext& c = Ctx();
  GEOSWKBWriter* w = GEOSWKBWriter_create_r(c.h);
  GEOSWKBWriter_setByteOrder_r(c.h, w, GEOS_WKB_NDR);
  GEOSWKBWriter_setOutputDimension_r(c.h, w, 3);
  size_t n = 0;
  unsigned char* bytes = GEOSWKBWriter_write_r(c.h, w, g, &n);
  GEOSWKBWriter_destroy_r(c.h, w);
  GEOSGeom_destroy_r(c.h, g);
  if (!bytes) return InvalidArgument("cannot encode the geometry as WKB");
  std::string out(reinterpret_cast<const char*>(bytes), n);
  GEOSFree_r(c.h, bytes);
  return out;
}

namespace {

std::string WriteWkt(GEOSContextHandle_t h, GEOSWKTWriter* w, const GEOSGeometry* g) {
  char* text = GEOSWKTWriter_write_r(h, w, g);
  if (!text) return std::string();
  std::string out(text);
  GEOSFree_r(h, text);
  return out;
}

}  // namespace

std::string WkbToWkt(std::string_view wkb) {
  GEOSGeometry* g = ReadWkb(wkb);
  if (!g) return std::string();
  ThreadContext& c = Ctx();
  GEOSWKTWriter* w = GEOSWKTWriter_create_r(c.h);
  GEOSWKTWriter_setTrim_r(c.h, w, 1);
  GEOSWKTWriter_setOutputDimension_r(c.h, w, 3);
  std::string out = WriteWkt(c.h, w, g);
  // GEOS 3.12+ (what Milvus ships) writes a multipoint's points in their own
  // parentheses, MULTIPOINT ((1 2), (3 4)); Debian 12's 3.11 writes
  // MULTIPOINT (1 2, 3 4). Write the newer form from the points' own text.
  const int parts = GEOSGetNumGeometries_r(c.h, g);
  if (GEOSGeomTypeId_r(c.h, g) == GEOS_MULTIPOINT && GEOSisEmpty_r(c.h, g) == 0 && parts > 0) {
    std::string head = out.substr(0, out.find('('));  // "MULTIPOINT " or "MULTIPOINT Z "
    std::string body;
    for (int i = 0; i < parts; ++i) {
      std::string p = WriteWkt(c.h, w, GEOSGetGeometryN_r(c.h, g, i));  // "POINT (1 2)" / "POINT Z (1 2 3)"
      size_t open = p.find('(');
      if (open == std::string::npos) {
        body.clear();
        break;
      }
      body += (i ? ", " : "") + p.substr(open);
    }
    if (!body.empty()) out = head + "(" + body + ")";
  }
  // An empty point is stored in WKB as POINT (NaN NaN), and Milvus writes it
  // back that way (its suites expect "POINT EMPTY" to come back so).
  if (GEOSGeomTypeId_r(c.h, g) == GEOS_POINT && GEOSisEmpty_r(c.h, g) == 1 && out == "POINT EMPTY") {
    out = "POINT (NaN NaN)";
  }
  GEOSWKTWriter_destroy_r(c.h, w);
  GEOSGeom_destroy_r(c.h, g);
  return out;
}

bool IsValidWkt(std::string_view wkt, std::string* why) {
  GEOSGeometry* g = ReadWkt(wkt, why);
  if (!g) return false;
  GEOSGeom_destroy_r(Ctx().h, g);
  return true;
}

bool IsValidWkb(std::string_view wkb) {
  GEOSGeometry* g = ReadWkb(wkb);
  if (!g) return false;
  bool ok = GEOSisValid_r(Ctx().h, g) == 1;
  GEOSGeom_destroy_r(Ctx().h, g);
  return ok;
}

Envelope EnvelopeOfWkb(std::string_view wkb) {
  GEOSGeometry* g = ReadWkb(wkb);
  if (!g) return Envelope{};
  Envelope e = EnvelopeOf(Ctx().h, g);
  GEOSGeom_destroy_r(Ctx().h, g);
  return e;
}

std::string_view SpatialOpName(SpatialOp op) {
  switch (op) {
    case SpatialOp::kEquals: return "ST_EQUALS";
    case SpatialOp::kTouches: return "ST_TOUCHES";
    case SpatialOp::kOverlaps: return "ST_OVERLAPS";
    case SpatialOp::kCrosses: return "ST_CROSSES";
    case SpatialOp::kContains: return "ST_CONTAINS";
    case SpatialOp::kIntersects: return "ST_INTERSECTS";
    case SpatialOp::kWithin: return "ST_WITHIN";
    case SpatialOp::kDWithin: return "ST_DWITHIN";
  }
  return "ST_?";
}

Result<std::unique_ptr<SpatialFilter>> SpatialFilter::Make(SpatialOp op, std::string_view wkt, double distance) {
  std::string why;
  GEOSGeometry* g = ReadWkt(wkt, &why);
  if (!g) return InvalidArgument("{}", why);
  std::unique_ptr<SpatialFilter> f(new SpatialFilter());
  f->op_ = op;
  f->distance_ = distance;
  f->geom_ = g;
  GEOSContextHandle_t h = Ctx().h;
  f->prepared_ = const_cast<GEOSPreparedGeometry*>(GEOSPrepare_r(h, g));
  f->box_ = EnvelopeOf(h, g);
  if (op == SpatialOp::kDWithin) f->box_ = Envelope{};  // distance in meters: no planar box
  return f;
}

SpatialFilter::~SpatialFilter() {
  GEOSContextHandle_t h = Ctx().h;
  if (prepared_) GEOSPreparedGeom_destroy_r(h, static_cast<const GEOSPreparedGeometry*>(prepared_));
  if (geom_) GEOSGeom_destroy_r(h, static_cast<GEOSGeometry*>(geom_));
}

bool SpatialFilter::Matches(std::string_view wkb) const {
  GEOSContextHandle_t h = Ctx().h;
  GEOSGeometry* row = ReadWkb(wkb);
  if (!row) return false;
  const auto* q = static_cast<const GEOSGeometry*>(geom_);
  const auto* p = static_cast<const GEOSPreparedGeometry*>(prepared_);
  char r = 0;
  switch (op_) {
    case SpatialOp::kEquals: r = GEOSEquals_r(h, row, q); break;
    case SpatialOp::kTouches: r = GEOSPreparedTouches_r(h, p, row); break;
    case SpatialOp::kOverlaps: r = GEOSPreparedOverlaps_r(h, p, row); break;
    case SpatialOp::kCrosses: r = GEOSPreparedCrosses_r(h, p, row); break;
    case SpatialOp::kContains: r = GEOSPreparedWithin_r(h, p, row); break;   // row contains q
    case SpatialOp::kIntersects: r = GEOSPreparedIntersects_r(h, p, row); break;
    case SpatialOp::kWithin: r = GEOSPreparedContains_r(h, p, row); break;  // row within q
    case SpatialOp::kDWithin: {
      double qx = 0, qy = 0;
      if (GEOSGeomGetX_r(h, q, &qx) != 1 || GEOSGeomGetY_r(h, q, &qy) != 1) break;
      if (GEOSGeomTypeId_r(h, row) == GEOS_POINT) {
        double x = 0, y = 0;
        if (GEOSGeomGetX_r(h, row, &x) == 1 && GEOSGeomGetY_r(h, row, &y) == 1) {
          r = HaversineMeters(y, x, qy, qx) <= distance_ ? 1 : 0;
        }
        break;
      }
      double d = 0;
      if (GEOSDistance_r(h, row, q, &d) == 1) r = DegreesToMeters(d, qy) <= distance_ ? 1 : 0;
      break;
    }
  }
  GEOSGeom_destroy_r(h, row);
  return r == 1;
}

}  // namespace kite::geo
