// Committed scalar index files (tests/fixtures/formats/scalar_index/) of the
// bodies of docs/formats/scalar_index.md that the v1 data-dir fixture lacks:
// BITMAP (on INT64 with nulls, and on VARCHAR) and Trie. Each was written by an
// earlier build from the columns below (computed, no random generator); the
// test loads it, checks the stored type and rows, and that writing the loaded
// index again gives the same bytes. KITE_WRITE_FORMAT_FIXTURES=1 writes a
// missing file (never over a committed one). The RTREE body (GEOMETRY) has its
// own test below: its frame is read by the layout of scalar_index.md and its
// candidates checked against boxes computed from the coordinates.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "index/scalar/rtree_index.h"
#include "index/scalar/scalar_index.h"

namespace kite::index {
namespace {

constexpr int64_t kRows = 200;

Column IntColumn() {
  FieldSchema f;
  f.id = FieldId(101);
  f.name = "n";
  f.type = DataType::kInt64;
  f.nullable = true;
  Column c = Column::ForField(f);
  for (int64_t r = 0; r < kRows; ++r) {
    const int64_t v = (r * 7) % 11 - 3;
    if (r % 13 == 5) {
      c.AppendNull();
    } else {
      c.AppendFixed(&v);
    }
  }
  return c;
}

Column TextColumn() {
  FieldSchema f;
  f.id = FieldId(102);
  f.name = "s";
  f.type = DataType::kVarChar;
  f.nullable = true;
  f.type_params["max_length"] = "64";
  Column c = Column::ForField(f);
  for (int64_t r = 0; r < kRows; ++r) {
    if (r % 17 == 3) {
      c.AppendNull();
    } else {
      c.AppendVar("key-" + std::to_string((r * 31) % 23) + (r % 2 ? "-odd" : ""));
    }
  }
  return c;
}

std::string ReadFixture(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Fixture {
  std::string file;
  std::string type;
  bool text;
};

class ScalarFormatFixtureTest : public testing::TestWithParam<Fixture> {};

TEST_P(ScalarFormatFixtureTest, CommittedIndexFileLoads) {
  const Fixture& fx = GetParam();
  const std::map<std::string, std::string> params = {{"index_type", fx.type}};
  const std::string path = std::string(KITE_SOURCE_DIR) + "/tests/fixtures/formats/scalar_index/" + fx.file;
  std::string bytes;
  {
    std::ifstream f(path, std::ios::binary);
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      bytes = ss.str();
    }
  }
  if (bytes.empty()) {
    ASSERT_NE(std::getenv("KITE_WRITE_FORMAT_FIXTURES"), nullptr) << path << " is missing";
    auto built = BuildScalarIndex(params, fx.text ? TextColumn() : IntColumn());
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_TRUE((*built)->Serialize(&bytes).ok());
    std::ofstream(path, std::ios::binary) << bytes;
  }
  auto loaded = LoadScalarIndex(params, bytes);
  ASSERT_TRUE(loaded.ok()) << fx.file << ": " << loaded.status().ToString();
  EXPECT_EQ((*loaded)->type(), fx.type);
  EXPECT_EQ((*loaded)->rows(), kRows);
  EXPECT_EQ((*loaded)->data_type(), fx.text ? DataType::kVarChar : DataType::kInt64);
  std::string again;
  ASSERT_TRUE((*loaded)->Serialize(&again).ok());
  EXPECT_TRUE(again == bytes) << fx.file << ": re-serialized bytes differ";
  // What an index built today from the same column writes: the same bytes.
  auto today = BuildScalarIndex(params, fx.text ? TextColumn() : IntColumn());
  ASSERT_TRUE(today.ok());
  std::string fresh;
  ASSERT_TRUE((*today)->Serialize(&fresh).ok());
  EXPECT_TRUE(fresh == bytes) << fx.file << ": today's build writes other bytes (a format change needs a version)";
}

INSTANTIATE_TEST_SUITE_P(Bodies, ScalarFormatFixtureTest,
                         testing::Values(Fixture{"bitmap_int64.ksi", "BITMAP", false},
                                         Fixture{"bitmap_varchar.ksi", "BITMAP", true},
                                         Fixture{"trie_varchar.ksi", "Trie", true}),
                         [](const testing::TestParamInfo<Fixture>& info) {
                           return info.param.file.substr(0, info.param.file.find('.'));
                         });

// ---- RTREE (docs/formats/scalar_index.md, "RTREE")

constexpr int64_t kGeoRows = 150;  // more than two leaves of RtreeIndex::kLeafSize

// Row r's geometry from integers: null every 11th row, else a point, a
// segment or an axis-aligned rectangle; its box alongside (empty for null).
Column GeoColumn(std::vector<geo::Envelope>* boxes) {
  FieldSchema f;
  f.id = FieldId(103);
  f.name = "g";
  f.type = DataType::kGeometry;
  f.nullable = true;
  Column c = Column::ForField(f);
  for (int64_t r = 0; r < kGeoRows; ++r) {
    geo::Envelope box;
    if (r % 11 == 4) {
      c.AppendNull();
      boxes->push_back(box);
      continue;
    }
    const int64_t x = (r * 37) % 101 - 50, y = (r * 53) % 97 - 48, w = r % 5, h = (r * 3) % 7;
    std::string wkt;
    switch (r % 3) {
      case 0: wkt = fmt::format("POINT ({} {})", x, y); box = {double(x), double(y), double(x), double(y), false}; break;
      case 1:
        wkt = fmt::format("LINESTRING ({} {}, {} {})", x + w, y, x, y + h);
        box = {double(x), double(y), double(x + w), double(y + h), false};
        break;
      default:
        wkt = fmt::format("POLYGON (({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))", x, y, x + w + 1, y + h + 1);
        box = {double(x), double(y), double(x + w + 1), double(y + h + 1), false};
    }
    auto wkb = geo::WktToWkb(wkt);
    EXPECT_TRUE(wkb.ok()) << wkt;
    c.AppendVar(wkb.ok() ? *wkb : std::string());
    boxes->push_back(box);
  }
  return c;
}

template <typename T>
T At(const std::string& b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

TEST(RtreeFormatFixtureTest, CommittedRtreeFileLoads) {
  const std::map<std::string, std::string> params = {{"index_type", "RTREE"}};
  const std::string path = std::string(KITE_SOURCE_DIR) + "/tests/fixtures/formats/scalar_index/rtree_geometry.ksi";
  std::vector<geo::Envelope> boxes;
  const Column column = GeoColumn(&boxes);
  std::string bytes = ReadFixture(path);
  if (bytes.empty()) {
    ASSERT_NE(std::getenv("KITE_WRITE_FORMAT_FIXTURES"), nullptr) << path << " is missing";
    auto built = BuildScalarIndex(params, column);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_TRUE((*built)->Serialize(&bytes).ok());
    std::ofstream(path, std::ios::binary) << bytes;
  }
  // The frame as the format doc lays it out (little-endian).
  int64_t non_null = 0;
  for (const auto& b : boxes) non_null += b.empty ? 0 : 1;
  ASSERT_GE(bytes.size(), 28u);
  EXPECT_EQ(bytes.substr(0, 4), "KRTR");
  EXPECT_EQ(At<uint32_t>(bytes, 4), 1u);
  EXPECT_EQ(At<uint64_t>(bytes, 8), uint64_t(kGeoRows));
  const uint64_t entries = At<uint64_t>(bytes, 16);
  EXPECT_EQ(entries, uint64_t(non_null));
  ASSERT_EQ(bytes.size(), 24 + entries * 36 + 4);
  for (uint64_t e = 0; e < entries; ++e) {
    const size_t off = 24 + e * 36;
    const uint32_t row = At<uint32_t>(bytes, off + 32);
    ASSERT_LT(row, uint32_t(kGeoRows));
    const geo::Envelope& want = boxes[row];
    ASSERT_FALSE(want.empty) << row;
    EXPECT_EQ(At<double>(bytes, off), want.min_x) << row;
    EXPECT_EQ(At<double>(bytes, off + 8), want.min_y) << row;
    EXPECT_EQ(At<double>(bytes, off + 16), want.max_x) << row;
    EXPECT_EQ(At<double>(bytes, off + 24), want.max_y) << row;
  }
  auto loaded = LoadScalarIndex(params, bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->type(), "RTREE");
  EXPECT_EQ((*loaded)->rows(), kGeoRows);
  EXPECT_EQ((*loaded)->data_type(), DataType::kGeometry);
  const auto* rtree = dynamic_cast<const RtreeIndex*>(loaded->get());
  ASSERT_NE(rtree, nullptr);
  // Candidates of a grid of query boxes equal the rows whose box meets them.
  for (int qx = -60; qx <= 60; qx += 15) {
    for (int qy = -60; qy <= 60; qy += 20) {
      geo::Envelope q{double(qx), double(qy), double(qx + 12), double(qy + 9), false};
      std::vector<uint32_t> want, got;
      for (int64_t r = 0; r < kGeoRows; ++r) {
        if (boxes[r].Intersects(q)) want.push_back(uint32_t(r));
      }
      rtree->Candidates(q, kGeoRows, &got);
      EXPECT_EQ(got, want) << qx << "," << qy;
    }
  }
  std::string again;
  ASSERT_TRUE((*loaded)->Serialize(&again).ok());
  EXPECT_TRUE(again == bytes) << "re-serialized RTREE bytes differ";
  auto today = BuildScalarIndex(params, column);
  ASSERT_TRUE(today.ok());
  std::string fresh;
  ASSERT_TRUE((*today)->Serialize(&fresh).ok());
  EXPECT_TRUE(fresh == bytes) << "today's RTREE build writes other bytes (a format change needs a version)";
}

}  // namespace
}  // namespace kite::index
