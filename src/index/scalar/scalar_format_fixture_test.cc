// Committed scalar index files (tests/fixtures/formats/scalar_index/) of the
// bodies of docs/formats/scalar_index.md that the v1 data-dir fixture lacks:
// BITMAP (on INT64 with nulls, and on VARCHAR) and Trie. Each was written by an
// earlier build from the columns below (computed, no random generator); the
// test loads it, checks the stored type and rows, and that writing the loaded
// index again gives the same bytes. KITE_WRITE_FORMAT_FIXTURES=1 writes a
// missing file (never over a committed one).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace kite::index
