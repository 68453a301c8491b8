// TIMESTAMPTZ text and GEOMETRY WKT/WKB codecs (schema/timestamptz.h, schema/geometry.h).
#include <gtest/gtest.h>

#include "schema/geometry.h"
#include "schema/timestamptz.h"

namespace kite {
namespace {

constexpr int64_t kSec = 1000000;
// 2025-01-01T00:00:00Z
constexpr int64_t k2025 = 1735689600 * kSec;

TEST(Timestamptz, ParsesMilvusForms) {
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01T00:00:00Z", "UTC"), k2025);
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01T08:00:00+08:00", "UTC"), k2025);
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01 08:00:00+08:00", "UTC"), k2025);
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01 08:00:00+08", "UTC"), k2025);
  EXPECT_EQ(*tz::ParseTimestamp("2024-12-31T19:00:00.25-05:00", "UTC"), k2025 + kSec / 4);
  // naive text is read in the default zone
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01 09:00:00", "Asia/Tokyo"), k2025);
  EXPECT_EQ(*tz::ParseTimestamp("2025-01-01T00:00:00.000001", "UTC"), k2025 + 1);
  // before the epoch
  EXPECT_EQ(*tz::ParseTimestamp("1969-12-31T23:59:59Z", "UTC"), -kSec);
}

TEST(Timestamptz, RefusesWhatMilvusRefuses) {
  for (const char* bad : {"", "2025-01-01", "2025-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-01-01T24:00:00Z",
                          "2025-01-01T00:00:00+0800", "yesterday", "2025-01-01T00:00:00Zjunk"}) {
    auto r = tz::ParseTimestamp(bad, "UTC");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(),
              std::string("invalid timestamp string: '") + bad + "'. Does not match any known format: invalid parameter");
  }
  auto r = tz::ParseTimestamp("2025-01-01T00:00:00-13:00", "UTC");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "UTC offset hour -13 is out of the valid range [-12, 14]: invalid parameter");
}

TEST(Timestamptz, FormatsInZoneWithoutTrailingZeros) {
  EXPECT_EQ(tz::FormatTimestamp(k2025, "UTC"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(tz::FormatTimestamp(k2025 + 120000, "UTC"), "2025-01-01T00:00:00.12Z");
  EXPECT_EQ(tz::FormatTimestamp(k2025, "Asia/Shanghai"), "2025-01-01T08:00:00+08:00");
  EXPECT_EQ(tz::FormatTimestamp(k2025, "America/St_Johns"), "2024-12-31T20:30:00-03:30");
  EXPECT_EQ(tz::FormatTimestamp(-1, "UTC"), "1969-12-31T23:59:59.999999Z");
  EXPECT_TRUE(tz::IsValidTimezone("Europe/Berlin"));
  EXPECT_FALSE(tz::IsValidTimezone("Mars/Olympus"));
  EXPECT_FALSE(tz::IsValidTimezone(""));
}

TEST(Timestamptz, IntervalsOnTheUtcCalendar) {
  auto iv = tz::ParseInterval("P1Y2M3DT4H5M6S");
  ASSERT_TRUE(iv.ok());
  EXPECT_EQ(iv->years, 1);
  EXPECT_EQ(iv->months, 2);
  EXPECT_EQ(iv->days, 3);
  EXPECT_EQ(iv->hours, 4);
  EXPECT_EQ(iv->minutes, 5);
  EXPECT_EQ(iv->seconds, 6);
  EXPECT_EQ(tz::ParseInterval("PT2M")->minutes, 2);
  EXPECT_EQ(tz::ParseInterval("P2M")->months, 2);
  EXPECT_FALSE(tz::ParseInterval("1 day").ok());
  EXPECT_FALSE(tz::ParseInterval("P1W").ok());
  EXPECT_FALSE(tz::ParseInterval("PT1.5S").ok());
  EXPECT_EQ(tz::ParseInterval("1 day").status().message(), "invalid ISO 8601 duration: 1 day");
  // Jan 31 + 1 month = Mar 3 (2025 is not a leap year), as timegm normalises
  int64_t jan31 = *tz::ParseTimestamp("2025-01-31T10:00:00.5Z", "UTC");
  EXPECT_EQ(tz::AddInterval(jan31, *tz::ParseInterval("P1M"), 1), *tz::ParseTimestamp("2025-03-03T10:00:00.5Z", "UTC"));
  EXPECT_EQ(tz::AddInterval(jan31, *tz::ParseInterval("PT10H"), -1), *tz::ParseTimestamp("2025-01-31T00:00:00.5Z", "UTC"));
}

TEST(Geometry, WktWkbRoundTrip) {
  auto wkb = geo::WktToWkb("POINT(1 2)");
  ASSERT_TRUE(wkb.ok());
  ASSERT_EQ(wkb->size(), 21u);  // ISO WKB point: order, type, two doubles
  EXPECT_EQ((*wkb)[0], 1);      // little endian
  EXPECT_EQ(geo::WkbToWkt(*wkb), "POINT (1 2)");
  EXPECT_EQ(geo::WkbToWkt(*geo::WktToWkb("POLYGON((0 0,1 0,1 1,0 0))")), "POLYGON ((0 0, 1 0, 1 1, 0 0))");
  // multipoints as GEOS 3.12+ (Milvus) writes them, whatever GEOS Kite links
  EXPECT_EQ(geo::WkbToWkt(*geo::WktToWkb("MULTIPOINT(1 2, 3 4)")), "MULTIPOINT ((1 2), (3 4))");
  EXPECT_EQ(geo::WkbToWkt(*geo::WktToWkb("MULTIPOINT Z ((1 2 3), (4 5 6))")), "MULTIPOINT Z ((1 2 3), (4 5 6))");
  EXPECT_EQ(geo::WkbToWkt(*geo::WktToWkb("MULTIPOINT EMPTY")), "MULTIPOINT EMPTY");
  EXPECT_EQ(geo::WkbToWkt(*geo::WktToWkb("POINT EMPTY")), "POINT (NaN NaN)");  // as Milvus writes it
  EXPECT_FALSE(geo::WktToWkb("POINT(1)").ok());
  EXPECT_FALSE(geo::WktToWkb("CIRCLE(1 2, 3)").ok());
  EXPECT_EQ(geo::WkbToWkt("not wkb"), "");
}

TEST(Geometry, Predicates) {
  const char* square = "POLYGON((0 0, 4 0, 4 4, 0 4, 0 0))";
  auto wkb = [](const char* wkt) { return *geo::WktToWkb(wkt); };
  auto f = [&](geo::SpatialOp op) { return geo::SpatialFilter::Make(op, square, 0).value(); };
  EXPECT_TRUE(f(geo::SpatialOp::kWithin)->Matches(wkb("POINT(1 1)")));
  EXPECT_FALSE(f(geo::SpatialOp::kContains)->Matches(wkb("POINT(1 1)")));
  EXPECT_TRUE(f(geo::SpatialOp::kTouches)->Matches(wkb("POLYGON((4 0, 8 0, 8 4, 4 4, 4 0))")));
  EXPECT_TRUE(f(geo::SpatialOp::kOverlaps)->Matches(wkb("POLYGON((2 2, 6 2, 6 6, 2 6, 2 2))")));
  EXPECT_TRUE(f(geo::SpatialOp::kCrosses)->Matches(wkb("LINESTRING(-1 2, 10 2)")));
  EXPECT_TRUE(f(geo::SpatialOp::kEquals)->Matches(wkb("POLYGON((4 4, 0 4, 0 0, 4 0, 4 4))")));
  EXPECT_FALSE(f(geo::SpatialOp::kIntersects)->Matches(wkb("POINT(5 5)")));
  // ST_DWITHIN: great-circle meters between points (1 degree of latitude ~ 111.19 km)
  auto near = geo::SpatialFilter::Make(geo::SpatialOp::kDWithin, "POINT(0 0)", 111200).value();
  EXPECT_TRUE(near->Matches(wkb("POINT(0 1)")));
  auto nearer = geo::SpatialFilter::Make(geo::SpatialOp::kDWithin, "POINT(0 0)", 111100).value();
  EXPECT_FALSE(nearer->Matches(wkb("POINT(0 1)")));
}

}  // namespace
}  // namespace kite
