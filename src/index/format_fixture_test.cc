// kite_index_format_fixture_tests: committed vector index files of every body
// in docs/formats/vector_index.md (tests/fixtures/formats/vector_index/), each
// written by an earlier build from the small deterministic columns below. A
// change that can no longer read one of them, or that writes the same index
// differently without a new format version, fails here.
//
// The columns are computed from integer hashes (no <random> distributions,
// whose output differs between standard libraries), so the test rebuilds the
// exact base column a fixture was built from.
//
// Writing fixtures (only for a type that has none yet; committed files are
// never rewritten):
//   KITE_WRITE_FORMAT_FIXTURES=1 build/src/index/kite_index_format_fixture_tests
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "index/flat/flat_search.h"
#include "index/vector_index.h"

namespace kite::index {
namespace {

constexpr int64_t kRows = 600;
constexpr int64_t kDim = 16;
constexpr int64_t kBits = 64;
constexpr int64_t kQueries = 20;  // the first rows, searched for themselves

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A value in [-1, 1) from (row, j): 8 clusters so IVF lists are uneven.
float Value(int64_t row, int64_t j) {
  const float centre = static_cast<float>(Mix(static_cast<uint64_t>((row % 8) * 131 + j)) % 2001) / 1000.0f - 1.0f;
  const float noise = static_cast<float>(Mix(static_cast<uint64_t>(row * 977 + j + 7)) % 2001) / 5000.0f - 0.2f;
  return centre + noise;
}

Column FloatBase() {
  Column c;
  c.type = DataType::kFloatVector;
  c.dim = kDim;
  c.row_bytes = 4 * kDim;
  c.num_rows = kRows;
  c.fixed.resize(static_cast<size_t>(kRows * kDim * 4));
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t j = 0; j < kDim; ++j) {
      const float v = Value(r, j);
      std::memcpy(c.fixed.data() + (r * kDim + j) * 4, &v, 4);
    }
  }
  return c;
}

Column BinaryBase() {
  Column c;
  c.type = DataType::kBinaryVector;
  c.dim = kBits;
  c.row_bytes = kBits / 8;
  c.num_rows = kRows;
  c.fixed.resize(static_cast<size_t>(kRows * kBits / 8));
  for (int64_t r = 0; r < kRows; ++r) {
    for (int64_t b = 0; b < kBits / 8; ++b) {
      // Rows of a cluster share most bits.
      const uint64_t shared = Mix(static_cast<uint64_t>((r % 8) * 31 + b));
      const uint64_t own = Mix(static_cast<uint64_t>(r * 8 + b + 1000));
      c.fixed[static_cast<size_t>(r * kBits / 8 + b)] = static_cast<uint8_t>((shared & ~(own & (own >> 8) & 0x11)) & 0xff);
    }
  }
  return c;
}

void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

using SparseRow = std::map<uint32_t, float>;

std::vector<SparseRow> SparseRows() {
  std::vector<SparseRow> rows(kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    for (int k = 0; k < 12; ++k) {
      const uint64_t h = Mix(static_cast<uint64_t>(r * 64 + k));
      rows[r][static_cast<uint32_t>(h % 500)] = static_cast<float>((h >> 20) % 1000 + 1) / 1000.0f;
    }
  }
  return rows;
}

Column SparseColumn(const std::vector<SparseRow>& rows) {
  Column c;
  c.type = DataType::kSparseFloatVector;
  c.num_rows = static_cast<int64_t>(rows.size());
  c.offsets.push_back(0);
  for (const SparseRow& r : rows) {
    for (const auto& [i, v] : r) {
      PutU32(&c.bytes, i);
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      PutU32(&c.bytes, bits);
    }
    c.offsets.push_back(c.bytes.size());
  }
  return c;
}

Column Prefix(const Column& c, int64_t n) {
  Column s = c;
  s.num_rows = n;
  if (c.type == DataType::kSparseFloatVector) {
    s.offsets.assign(c.offsets.begin(), c.offsets.begin() + n + 1);
    s.bytes.resize(s.offsets.back());
  } else {
    s.fixed.resize(static_cast<size_t>(n) * c.row_bytes);
  }
  return s;
}

enum class Data { kFloat, kBinary, kSparse };

struct Fixture {
  std::string file;  // under tests/fixtures/formats/vector_index/
  Params build;
  Params search;
  Data data;
  bool quantised;  // approximate distances: only checks that rows find themselves
};

std::vector<Fixture> Fixtures() {
  return {
      {"flat_l2.kvi", {{"index_type", "FLAT"}, {"metric_type", "L2"}}, {}, Data::kFloat, false},
      {"ivf_flat_ip.kvi", {{"index_type", "IVF_FLAT"}, {"metric_type", "IP"}, {"nlist", "8"}}, {{"nprobe", "8"}},
       Data::kFloat, false},
      {"ivf_sq8_l2.kvi", {{"index_type", "IVF_SQ8"}, {"metric_type", "L2"}, {"nlist", "8"}}, {{"nprobe", "8"}},
       Data::kFloat, true},
      {"ivf_pq_l2.kvi", {{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"nlist", "4"}, {"m", "4"}, {"nbits", "4"}},
       {{"nprobe", "4"}}, Data::kFloat, true},
      {"scann_cosine.kvi", {{"index_type", "SCANN"}, {"metric_type", "COSINE"}, {"nlist", "8"}},
       {{"nprobe", "8"}, {"reorder_k", "50"}}, Data::kFloat, true},
      {"bin_flat_hamming.kvi", {{"index_type", "BIN_FLAT"}, {"metric_type", "HAMMING"}}, {}, Data::kBinary, false},
      {"bin_ivf_flat_jaccard.kvi", {{"index_type", "BIN_IVF_FLAT"}, {"metric_type", "JACCARD"}, {"nlist", "8"}},
       {{"nprobe", "8"}}, Data::kBinary, false},
      {"sparse_inverted_ip.kvi", {{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}}, {},
       Data::kSparse, false},
      {"sparse_wand_ip.kvi", {{"index_type", "SPARSE_WAND"}, {"metric_type", "IP"}},
       {{"drop_ratio_search", "0"}}, Data::kSparse, false},
  };
}

std::string Dir() { return std::string(KITE_SOURCE_DIR) + "/tests/fixtures/formats/vector_index/"; }

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

// The k best distances of each query by brute force (best first): flat::Search
// for dense data, dot products for sparse rows. Compared as distances, so ties
// between rows (Hamming distances are small integers) do not matter.
std::vector<std::vector<float>> Truth(const Fixture& fx, const Column& base, const Column& queries, int64_t k) {
  std::vector<std::vector<float>> out(static_cast<size_t>(queries.num_rows));
  if (fx.data == Data::kSparse) {
    const std::vector<SparseRow> rows = SparseRows();
    for (int64_t q = 0; q < queries.num_rows; ++q) {
      std::vector<float> scores;
      for (int64_t r = 0; r < base.num_rows; ++r) {
        float s = 0;
        for (const auto& [i, v] : rows[q]) {
          auto it = rows[r].find(i);
          if (it != rows[r].end()) s += v * it->second;
        }
        scores.push_back(s);
      }
      std::sort(scores.rbegin(), scores.rend());
      out[q].assign(scores.begin(), scores.begin() + k);
    }
    return out;
  }
  flat::SearchParams p;
  const std::string& m = fx.build.at("metric_type");
  p.metric = m == "L2" ? flat::Metric::kL2 : m == "IP" ? flat::Metric::kIP : m == "COSINE" ? flat::Metric::kCosine
             : m == "HAMMING"                                                         ? flat::Metric::kHamming
                                                                                      : flat::Metric::kJaccard;
  p.k = k;
  const flat::ElemType et = fx.data == Data::kBinary ? flat::ElemType::kBinary : flat::ElemType::kFloat32;
  const flat::Matrix qm{queries.fixed.data(), queries.num_rows, queries.dim, et};
  const flat::Matrix bm{base.fixed.data(), base.num_rows, base.dim, et};
  flat::Hits h;
  EXPECT_TRUE(flat::Search(qm, bm, p, &h).ok());
  for (int64_t q = 0; q < queries.num_rows; ++q) {
    out[q].assign(h.distances.begin() + h.offsets[q], h.distances.begin() + h.offsets[q + 1]);
  }
  return out;
}

class FormatFixtureTest : public testing::TestWithParam<Fixture> {};

TEST_P(FormatFixtureTest, CommittedIndexFileLoadsAndSearches) {
  const Fixture& fx = GetParam();
  const Column base = fx.data == Data::kFloat ? FloatBase() : fx.data == Data::kBinary ? BinaryBase()
                                                                                       : SparseColumn(SparseRows());
  const std::string path = Dir() + fx.file;
  std::string bytes;
  if (!ReadFile(path, &bytes)) {
    ASSERT_NE(std::getenv("KITE_WRITE_FORMAT_FIXTURES"), nullptr)
        << path << " is missing (KITE_WRITE_FORMAT_FIXTURES=1 writes it, for a type that has no fixture yet)";
    auto built = BuildVectorIndex(fx.build, base, 1);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_TRUE((*built)->Serialize(&bytes).ok());
    mkdir(Dir().c_str(), 0755);
    std::ofstream(path, std::ios::binary) << bytes;
    std::printf("wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
  }
  auto loaded = LoadVectorIndex(fx.build, bytes);
  ASSERT_TRUE(loaded.ok()) << fx.file << ": " << loaded.status().ToString();
  EXPECT_EQ((*loaded)->type(), fx.build.at("index_type"));
  EXPECT_EQ((*loaded)->rows(), kRows);
  // The same index written today is the same bytes (a format change needs a
  // new version, and a loader that still reads this one).
  std::string again;
  ASSERT_TRUE((*loaded)->Serialize(&again).ok());
  EXPECT_TRUE(again == bytes) << fx.file << ": re-serialized bytes differ";

  const Column queries = Prefix(base, kQueries);
  constexpr int64_t kK = 5;
  SearchArgs args;
  args.k = kK;
  args.params = fx.search;
  flat::Hits got;
  ASSERT_TRUE((*loaded)->Search(base, queries, args, &got).ok());
  ASSERT_EQ(got.offsets.size(), static_cast<size_t>(kQueries + 1));
  const auto truth = Truth(fx, base, queries, kK);
  int64_t self = 0;
  for (int64_t q = 0; q < kQueries; ++q) {
    ASSERT_EQ(got.offsets[q + 1] - got.offsets[q], kK) << fx.file << " query " << q;
    for (int64_t i = got.offsets[q]; i < got.offsets[q + 1]; ++i) self += got.ids[i] == q;
    if (fx.quantised) continue;  // approximate distances
    for (int64_t i = 0; i < kK; ++i) {
      const float want = truth[q][i];
      EXPECT_NEAR(got.distances[got.offsets[q] + i], want, 1e-4f * std::max(1.0f, std::fabs(want)))
          << fx.file << " query " << q << " rank " << i;
    }
  }
  // Each query is a base row: found among its own top k (not under IP, where
  // a longer vector can score higher than the row itself).
  if (fx.build.at("metric_type") != "IP") EXPECT_GE(self, fx.quantised ? kQueries * 8 / 10 : kQueries) << fx.file;
}

INSTANTIATE_TEST_SUITE_P(VectorIndexBodies, FormatFixtureTest, testing::ValuesIn(Fixtures()),
                         [](const testing::TestParamInfo<Fixture>& info) {
                           std::string n = info.param.file.substr(0, info.param.file.find('.'));
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace kite::index
