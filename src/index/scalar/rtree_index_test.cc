// RTREE index (rtree_index.h): candidates equal a brute-force envelope scan,
// before and after a serialize/load round trip; damaged bytes are refused.
#include <gtest/gtest.h>

#include <random>

#include <fmt/format.h>

#include "index/scalar/rtree_index.h"

namespace kite::index {
namespace {

Column GeometryColumn(int rows, std::vector<geo::Envelope>* boxes) {
  FieldSchema f;
  f.id = FieldId(101);
  f.type = DataType::kGeometry;
  Column c = Column::ForField(f);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> pos(-100, 100), size(0, 5);
  for (int i = 0; i < rows; ++i) {
    if (i % 17 == 0) {
      c.AppendNull();
      boxes->push_back(geo::Envelope{});
      continue;
    }
    double x = pos(rng), y = pos(rng), w = size(rng), h = size(rng);
    std::string wkt = i % 3 == 0 ? fmt::format("POINT({} {})", x, y)
                                 : fmt::format("POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y,
                                               x + w, y + h);
    c.AppendVar(geo::WktToWkb(wkt).value());
    boxes->push_back(geo::EnvelopeOfWkb(c.GetBytes(i)));
  }
  return c;
}

std::vector<uint32_t> BruteForce(const std::vector<geo::Envelope>& boxes, const geo::Envelope& q, int64_t limit) {
  std::vector<uint32_t> out;
  for (int64_t r = 0; r < limit; ++r) {
    if (boxes[r].Intersects(q)) out.push_back(static_cast<uint32_t>(r));
  }
  return out;
}

TEST(RtreeIndex, CandidatesMatchAScanAndSurviveARoundTrip) {
  std::vector<geo::Envelope> boxes;
  Column c = GeometryColumn(3000, &boxes);
  auto built = RtreeIndex::Build(c);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  std::string bytes;
  ASSERT_TRUE((*built)->Serialize(&bytes).ok());
  auto loaded = RtreeIndex::Load(bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> pos(-110, 110), size(0, 40);
  for (int k = 0; k < 200; ++k) {
    geo::Envelope q;
    q.empty = false;
    q.min_x = pos(rng);
    q.min_y = pos(rng);
    q.max_x = q.min_x + size(rng);
    q.max_y = q.min_y + size(rng);
    int64_t limit = k % 2 ? 3000 : 1500;
    std::vector<uint32_t> want = BruteForce(boxes, q, limit), a, b;
    (*built)->Candidates(q, limit, &a);
    (*loaded)->Candidates(q, limit, &b);
    EXPECT_EQ(a, want);
    EXPECT_EQ(b, want);
  }
  EXPECT_EQ((*loaded)->rows(), 3000);
  // Every single flipped byte is detected.
  for (size_t i = 0; i < bytes.size(); i += 97) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    EXPECT_FALSE(RtreeIndex::Load(bad).ok()) << i;
  }
  EXPECT_FALSE(RtreeIndex::Load(bytes.substr(0, bytes.size() - 1)).ok());
}

TEST(RtreeIndex, OnlyGeometryColumns) {
  FieldSchema f;
  f.id = FieldId(1);
  f.type = DataType::kInt64;
  Column c = Column::ForField(f);
  EXPECT_FALSE(RtreeIndex::Build(c).ok());
  EXPECT_FALSE(CheckScalarIndexType("RTREE", DataType::kInt64, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("INVERTED", DataType::kGeometry, DataType::kNone).ok());
  EXPECT_TRUE(CheckScalarIndexType("RTREE", DataType::kGeometry, DataType::kNone).ok());
}

}  // namespace
}  // namespace kite::index
