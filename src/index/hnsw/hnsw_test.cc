// kite_hnsw_tests: recall against flat::Search, filters, nulls, tiny columns,
// serialize/load round trips, corrupt bytes, bad params, concurrent searches.
#include "index/hnsw/hnsw_index.h"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace kite::index {
namespace {

constexpr int64_t kRows = 20000;
constexpr int64_t kDim = 64;
constexpr int64_t kQueries = 100;
constexpr int64_t kK = 10;
constexpr float kNoise = 1.2f;

// Gaussian clusters: `centers` centres ~ N(0, 1), points = centre + N(0, kNoise^2):
// hard enough that ef matters (recall@10 at ef=16 well below 1).
std::vector<float> Clustered(int64_t n, int64_t dim, uint64_t seed, int centers = 64) {
  std::mt19937_64 gen(1234);  // the same centres for base and queries
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> c(static_cast<size_t>(centers * dim));
  for (float& x : c) x = unit(gen);
  gen.seed(seed);
  std::uniform_int_distribution<int> pick(0, centers - 1);
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    const int ci = pick(gen);
    for (int64_t j = 0; j < dim; ++j) v[i * dim + j] = c[ci * dim + j] + kNoise * unit(gen);
  }
  return v;
}

Column FloatColumn(const std::vector<float>& v, int64_t dim) {
  Column c;
  c.type = DataType::kFloatVector;
  c.dim = dim;
  c.row_bytes = 4 * static_cast<size_t>(dim);
  c.num_rows = static_cast<int64_t>(v.size()) / dim;
  c.fixed.resize(v.size() * 4);
  if (!v.empty()) std::memcpy(c.fixed.data(), v.data(), c.fixed.size());
  return c;
}

Params BuildParams(const std::string& metric) {
  return {{"index_type", "HNSW"}, {"metric_type", metric}, {"M", "16"}, {"efConstruction", "200"}};
}

flat::Metric MetricOf(const std::string& m) {
  return m == "L2" ? flat::Metric::kL2 : m == "IP" ? flat::Metric::kIP : flat::Metric::kCosine;
}

flat::Hits Exact(const Column& base, const Column& q, const std::string& metric, int64_t k,
                 const uint8_t* filter = nullptr) {
  flat::SearchParams p;
  p.metric = MetricOf(metric);
  p.k = k;
  p.filter = filter;
  flat::Hits h;
  const flat::Matrix qm{q.fixed.data(), q.num_rows, q.dim, flat::ElemType::kFloat32};
  const flat::Matrix bm{base.fixed.data(), base.num_rows, base.dim, flat::ElemType::kFloat32};
  EXPECT_TRUE(flat::Search(qm, bm, p, &h).ok());
  return h;
}

double Recall(const flat::Hits& got, const flat::Hits& truth) {
  int64_t hit = 0, total = 0;
  for (size_t q = 0; q + 1 < truth.offsets.size(); ++q) {
    std::set<int64_t> t(truth.ids.begin() + truth.offsets[q], truth.ids.begin() + truth.offsets[q + 1]);
    for (int64_t i = got.offsets[q]; i < got.offsets[q + 1]; ++i) hit += t.count(got.ids[i]);
    total += static_cast<int64_t>(t.size());
  }
  return total ? static_cast<double>(hit) / static_cast<double>(total) : 1.0;
}

flat::Hits MustSearch(const VectorIndex& ix, const Column& base, const Column& q, const SearchArgs& a) {
  flat::Hits h;
  Status st = ix.Search(base, q, a, &h);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return h;
}

// Shared data and one index per metric, built once for the whole binary.
struct Fixture {
  Column base = FloatColumn(Clustered(kRows, kDim, 1), kDim);
  Column queries = FloatColumn(Clustered(kQueries, kDim, 2), kDim);
  std::map<std::string, std::unique_ptr<VectorIndex>> index;

  const VectorIndex& Index(const std::string& metric) {
    auto& ix = index[metric];
    if (!ix) {
      auto r = BuildHnsw(BuildParams(metric), base, 2);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      ix = std::move(r).value();
    }
    return *ix;
  }
};
Fixture& Shared() {
  static Fixture f;
  return f;
}

class RecallTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RecallTest, AtLeast95PercentOfExactTop10) {
  const std::string metric = GetParam();
  Fixture& f = Shared();
  const VectorIndex& ix = f.Index(metric);
  EXPECT_EQ(ix.type(), "HNSW");
  EXPECT_EQ(ix.rows(), kRows);
  SearchArgs a;
  a.k = kK;
  a.params = {{"ef", "64"}};
  const flat::Hits got = MustSearch(ix, f.base, f.queries, a);
  const flat::Hits truth = Exact(f.base, f.queries, metric, kK);
  ASSERT_EQ(got.offsets.size(), static_cast<size_t>(kQueries + 1));
  EXPECT_EQ(got.ids.size(), static_cast<size_t>(kQueries * kK));
  const double recall = Recall(got, truth);
  EXPECT_GE(recall, 0.95) << metric;
  std::printf("recall@10 %s ef=64: %.4f\n", metric.c_str(), recall);
  // Distances are flat::Search's: the best hit of each query agrees when the ids do.
  const bool higher = flat::HigherIsBetter(MetricOf(metric));
  for (int64_t q = 0; q < kQueries; ++q) {
    for (int64_t i = got.offsets[q]; i + 1 < got.offsets[q + 1]; ++i) {
      if (higher) {
        EXPECT_GE(got.distances[i], got.distances[i + 1]);
      } else {
        EXPECT_LE(got.distances[i], got.distances[i + 1]);
      }
    }
    if (got.ids[got.offsets[q]] == truth.ids[truth.offsets[q]]) {
      EXPECT_NEAR(got.distances[got.offsets[q]], truth.distances[truth.offsets[q]],
                  1e-4f * (1 + std::fabs(truth.distances[truth.offsets[q]])));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Metrics, RecallTest, ::testing::Values("L2", "IP", "COSINE"));

TEST(HnswTest, DefaultEfIsEnoughForGoodRecall) {
  Fixture& f = Shared();
  SearchArgs a;
  a.k = kK;
  const double recall = Recall(MustSearch(f.Index("L2"), f.base, f.queries, a), Exact(f.base, f.queries, "L2", kK));
  EXPECT_GE(recall, 0.85);
  std::printf("recall@10 L2 default ef: %.4f\n", recall);
}

std::vector<uint8_t> EveryNth(int64_t n, int64_t step) {
  std::vector<uint8_t> f(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; i += step) f[i] = 1;
  return f;
}

// ratio < 0: Kite's default policy; 0: always the graph walk.
void CheckFiltered(double ratio, int64_t step) {
  Fixture& f = Shared();
  const double saved = hnsw::MutableTuning().brute_force_cost_ratio;
  if (ratio >= 0) hnsw::MutableTuning().brute_force_cost_ratio = ratio;
  const std::vector<uint8_t> filter = EveryNth(kRows, step);
  SearchArgs a;
  a.k = kK;
  a.filter = filter.data();
  a.params = {{"ef", "64"}};
  const flat::Hits got = MustSearch(f.Index("L2"), f.base, f.queries, a);
  hnsw::MutableTuning().brute_force_cost_ratio = saved;
  for (int64_t q = 0; q < kQueries; ++q) EXPECT_EQ(got.offsets[q + 1] - got.offsets[q], kK) << q;
  for (int64_t id : got.ids) ASSERT_TRUE(filter[id]) << id;
  const double recall = Recall(got, Exact(f.base, f.queries, "L2", kK, filter.data()));
  EXPECT_GE(recall, 0.9);
  std::printf("filtered recall@10 (1 row in %lld passing, ratio %g): %.4f\n", static_cast<long long>(step), ratio, recall);
}

// Text corpora repeat passages, so their embeddings hold many exact
// duplicates. A bench text set (5k x 384, COSINE) capped recall@10 at 0.977
// however large ef got, while Milvus reached 1.0. With ef >= the rows, an
// HNSW search must find every row it can reach, and every row must be
// reachable: recall 1 (ties broken by row, as the exact search breaks them).
TEST(HnswTest, DuplicatesStayReachableAndTiesBreakByRow) {
  constexpr int64_t kDupDim = 32;
  std::mt19937_64 gen(7);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  auto random_row = [&] {
    std::vector<float> r(kDupDim);
    for (float& x : r) x = unit(gen);
    return r;
  };
  // 600 distinct rows; 40 of them repeated 2..80 times; shuffled.
  std::vector<std::vector<float>> distinct;
  for (int i = 0; i < 600; ++i) distinct.push_back(random_row());
  std::vector<int> rows;
  for (int i = 0; i < 600; ++i) rows.push_back(i);
  for (int i = 0; i < 40; ++i) {
    for (int r = 0; r < 2 + 2 * i; ++r) rows.push_back(i);
  }
  std::shuffle(rows.begin(), rows.end(), gen);
  std::vector<float> base_v;
  for (int r : rows) base_v.insert(base_v.end(), distinct[r].begin(), distinct[r].end());
  // Queries: copies of duplicated rows, of distinct rows, and fresh points.
  std::vector<float> q_v;
  for (int i = 0; i < 60; ++i) {
    const auto& r = i < 20 ? distinct[i * 2] : i < 40 ? distinct[100 + i] : random_row();
    q_v.insert(q_v.end(), r.begin(), r.end());
  }
  const Column base = FloatColumn(base_v, kDupDim);
  const Column q = FloatColumn(q_v, kDupDim);
  for (const std::string metric : {"L2", "COSINE", "IP"}) {
    auto ix = BuildHnsw(BuildParams(metric), base, 2);
    ASSERT_TRUE(ix.ok()) << ix.status().ToString();
    SearchArgs a;
    a.k = kK;
    a.params = {{"ef", std::to_string(base.num_rows)}};
    const flat::Hits got = MustSearch(**ix, base, q, a);
    const flat::Hits truth = Exact(base, q, metric, kK);
    // Every row reachable: only near-ties between different vectors (the
    // exact search sums in another order) may differ at the k-th place.
    for (size_t qi = 0; qi + 1 < truth.offsets.size(); ++qi) {
      const int64_t lo = truth.offsets[qi], hi = truth.offsets[qi + 1];
      ASSERT_EQ(got.offsets[qi + 1] - got.offsets[qi], hi - lo) << metric << " query " << qi;
      std::set<int64_t> g(got.ids.begin() + got.offsets[qi], got.ids.begin() + got.offsets[qi + 1]);
      const float kth = truth.distances[hi - 1];
      for (int64_t i = lo; i < hi; ++i) {
        if (g.count(truth.ids[i])) continue;
        EXPECT_NEAR(truth.distances[i], kth, 1e-4f * std::max(1.0f, std::fabs(kth)))
            << metric << " query " << qi << ": row " << truth.ids[i] << " (value " << rows[truth.ids[i]]
            << ") not found";
      }
    }
    // A copy of a value repeated at least k times: the k copies with the
    // smallest row numbers, as the exact search and Milvus return them.
    for (int qi = 0; qi < 20; ++qi) {
      const int value = qi * 2;
      std::vector<int64_t> copies;
      for (size_t r = 0; r < rows.size(); ++r) {
        if (rows[r] == value) copies.push_back(static_cast<int64_t>(r));
      }
      if (static_cast<int64_t>(copies.size()) < kK) continue;
      copies.resize(kK);
      const std::vector<int64_t> ids(got.ids.begin() + got.offsets[qi], got.ids.begin() + got.offsets[qi + 1]);
      EXPECT_EQ(ids, copies) << metric << " query " << qi;
    }
  }
}

// Concurrent inserts: a thread may link to a node (found from the level
// above) before that node has written its own list at this level; the node
// used to overwrite such links, often its neighbour's only way in. Built with
// 2 threads, a 5k x 384 text set had rows no search could reach (recall 0.99
// at ef = rows, 1.0 with one thread). Low-rank data and 8 threads make the
// race likely: recall 0.992-0.999 before the fix, 1.0 after (3 builds each).
TEST(HnswTest, ConcurrentBuildLeavesNoRowUnreachable) {
  constexpr int kDimC = 32, kRank = 16;
  constexpr int64_t kN = 5000;
  std::mt19937_64 gen(99);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> mix(static_cast<size_t>(kRank * kDimC));
  for (float& x : mix) x = unit(gen);
  auto make = [&](int64_t rows) {
    std::vector<float> v(static_cast<size_t>(rows * kDimC));
    std::vector<float> z(kRank);
    for (int64_t r = 0; r < rows; ++r) {
      for (float& x : z) x = unit(gen);
      for (int j = 0; j < kDimC; ++j) {
        float s = 0.3f * unit(gen);
        for (int k = 0; k < kRank; ++k) s += z[k] * mix[k * kDimC + j];
        v[r * kDimC + j] = s;
      }
    }
    return v;
  };
  const Column base = FloatColumn(make(kN), kDimC);
  const Column q = FloatColumn(make(250), kDimC);
  const flat::Hits truth = Exact(base, q, "COSINE", kK);
  for (int build = 0; build < 3; ++build) {
    auto ix = BuildHnsw(BuildParams("COSINE"), base, 8);
    ASSERT_TRUE(ix.ok()) << ix.status().ToString();
    SearchArgs a;
    a.k = kK;
    a.params = {{"ef", std::to_string(kN)}};
    EXPECT_GE(Recall(MustSearch(**ix, base, q, a), truth), 0.999) << "build " << build;
  }
}

// Rows in "topics" of near neighbours stored next to each other (a text
// corpus in file order: a module's docstrings sit together and resemble each
// other), some repeated. Concurrent inserts take neighbouring rows at the same
// time, and a node is reachable from the levels above while its own lower
// lists are still empty: an insertion that entered a level through such a
// node linked only to it, and its topic became an island behind one link.
// On the bench's 5k x 384 text set recall@10 stopped at 0.998-0.9996 at
// ef = 256 in 7 builds of 18 (Milvus: 1.0); 18 of 18 reach 1.0 with the fix.
// Here, with 8 build threads, rows searched for themselves at ef = 16 were
// missed 24-126 times in 3 builds before the fix (above the bound in 5 runs
// of 6), 14-24 with it (3 per build with one thread); recall@10 at ef = 256
// was 0.994-1.0 per build, 0.9996-1.0 after.
TEST(HnswTest, ConcurrentBuildOfNeighbouringRowsLeavesNoIsland) {
#if defined(__SANITIZE_ADDRESS__)
  // Its bound on missed rows is a statistic of the optimized build's thread
  // interleavings (ctest runs it there on every CI run); ASan's slower build
  // interleaves differently (52 misses against 36 once). The other HNSW tests
  // cover the build's memory safety under ASan.
  GTEST_SKIP() << "calibrated for the optimized build's timing; run by the plain ctest";
#endif
  constexpr int kDimT = 128, kRank = 64, kTopics = 250, kPerTopic = 20;
  std::mt19937_64 gen(5);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> mix(static_cast<size_t>(kRank * kDimT));
  for (float& x : mix) x = unit(gen);
  std::vector<float> base_v, centre(kDimT), row(kDimT), z(kRank);
  for (int t = 0; t < kTopics; ++t) {
    for (float& x : z) x = unit(gen);
    for (int j = 0; j < kDimT; ++j) {
      centre[j] = 0;
      for (int k = 0; k < kRank; ++k) centre[j] += z[k] * mix[k * kDimT + j];
    }
    for (int i = 0; i < kPerTopic; ++i) {
      for (int j = 0; j < kDimT; ++j) row[j] = centre[j] + 1.5f * unit(gen);
      base_v.insert(base_v.end(), row.begin(), row.end());
      if (i % 7 == 3) base_v.insert(base_v.end(), row.begin(), row.end());  // an exact copy
    }
  }
  const Column base = FloatColumn(base_v, kDimT);
  const int64_t rows = base.num_rows;
  std::vector<float> q_v;
  for (int i = 0; i < 250; ++i) {
    const int64_t r = (i * 7919) % rows;
    for (int j = 0; j < kDimT; ++j) q_v.push_back(base_v[r * kDimT + j] + 1.5f * unit(gen));
  }
  const Column q = FloatColumn(q_v, kDimT);
  const flat::Hits truth = Exact(base, q, "COSINE", kK);
  auto same_row = [&](int64_t a, int64_t b) {
    return std::memcmp(base.fixed.data() + a * base.row_bytes, base.fixed.data() + b * base.row_bytes,
                       base.row_bytes) == 0;
  };
  int64_t missed_self = 0;
  constexpr int kBuilds = 3;
  for (int build = 0; build < kBuilds; ++build) {
    auto ix = BuildHnsw(BuildParams("COSINE"), base, 8);
    ASSERT_TRUE(ix.ok()) << ix.status().ToString();
    SearchArgs a;
    a.k = kK;
    a.params = {{"ef", "256"}};
    EXPECT_GE(Recall(MustSearch(**ix, base, q, a), truth), 0.999) << "build " << build;
    SearchArgs self;
    self.k = 1;
    self.params = {{"ef", "16"}};
    const flat::Hits got = MustSearch(**ix, base, base, self);
    ASSERT_EQ(got.offsets.size(), static_cast<size_t>(rows + 1));
    for (int64_t r = 0; r < rows; ++r) {
      missed_self += got.offsets[r + 1] == got.offsets[r] || !same_row(got.ids[got.offsets[r]], r);
    }
  }
  std::printf("rows missed by their own search at ef = 16: %lld in %d builds\n", static_cast<long long>(missed_self),
              kBuilds);
  EXPECT_LE(missed_self, 12 * kBuilds) << "rows not found as their own nearest neighbour at ef = 16";
}

TEST(HnswTest, TenPercentFilterReturnsKPassingRows) { CheckFiltered(-1, 10); }
TEST(HnswTest, OnePercentFilterReturnsKPassingRows) { CheckFiltered(-1, 100); }
TEST(HnswTest, TenPercentFilterThroughTheGraphReturnsKPassingRows) { CheckFiltered(0, 10); }
TEST(HnswTest, OnePercentFilterThroughTheGraphStillFillsK) { CheckFiltered(0, 100); }

// A batch of queries scans the passing rows gathered into one block; one query alone scans them
// in place through the mask. Both must give the same rows and distances, ties included.
TEST(HnswTest, BatchedExactScanMatchesOneQueryAtATime) {
  Fixture& f = Shared();
  for (const std::string metric : {"L2", "COSINE"}) {
    for (int64_t step : {100, 1000}) {
      const std::vector<uint8_t> filter = EveryNth(kRows, step);
      SearchArgs a;
      a.k = kK;
      a.filter = filter.data();
      a.params = {{"ef", "64"}};
      const flat::Hits batch = MustSearch(f.Index(metric), f.base, f.queries, a);
      ASSERT_EQ(batch.offsets.size(), static_cast<size_t>(kQueries + 1));
      for (int64_t q = 0; q < kQueries; ++q) {
        const float* row = reinterpret_cast<const float*>(f.queries.RowPtr(q));
        const Column one = FloatColumn(std::vector<float>(row, row + kDim), kDim);
        const flat::Hits single = MustSearch(f.Index(metric), f.base, one, a);
        const std::vector<int64_t> ids(batch.ids.begin() + batch.offsets[q], batch.ids.begin() + batch.offsets[q + 1]);
        const std::vector<float> d(batch.distances.begin() + batch.offsets[q],
                                   batch.distances.begin() + batch.offsets[q + 1]);
        ASSERT_EQ(ids, single.ids) << metric << " step " << step << " query " << q;
        ASSERT_EQ(d, single.distances) << metric << " step " << step << " query " << q;
        for (int64_t id : ids) ASSERT_TRUE(filter[id]) << id;
      }
    }
  }
}

TEST(HnswTest, FilterWithFewerPassingRowsThanKReturnsThemAll) {
  Fixture& f = Shared();
  std::vector<uint8_t> filter(kRows, 0);
  filter[5] = filter[777] = filter[19999] = 1;
  SearchArgs a;
  a.k = kK;
  a.filter = filter.data();
  const flat::Hits got = MustSearch(f.Index("L2"), f.base, f.queries, a);
  for (int64_t q = 0; q < kQueries; ++q) ASSERT_EQ(got.offsets[q + 1] - got.offsets[q], 3);
}

TEST(HnswTest, SerializeLoadGivesIdenticalResults) {
  Fixture& f = Shared();
  for (const std::string metric : {"L2", "COSINE"}) {
    const VectorIndex& ix = f.Index(metric);
    std::string bytes;
    ASSERT_TRUE(ix.Serialize(&bytes).ok());
    auto loaded = LoadHnsw(BuildParams(metric), bytes);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    SearchArgs a;
    a.k = kK;
    const flat::Hits h1 = MustSearch(ix, f.base, f.queries, a);
    const flat::Hits h2 = MustSearch(**loaded, f.base, f.queries, a);
    EXPECT_EQ(h1.ids, h2.ids);
    EXPECT_EQ(h1.distances, h2.distances);
    EXPECT_EQ(h1.offsets, h2.offsets);
    std::string again;
    ASSERT_TRUE((*loaded)->Serialize(&again).ok());
    EXPECT_EQ(bytes, again);
  }
}

// The serialized form of a small L2 graph (300 rows, 8-d).
std::string SmallGraphBytes() {
  const Column base = FloatColumn(Clustered(300, 8, 3), 8);
  auto ix = BuildHnsw(BuildParams("L2"), base, 1);
  EXPECT_TRUE(ix.ok());
  std::string bytes;
  if (ix.ok()) EXPECT_TRUE((*ix)->Serialize(&bytes).ok());
  return bytes;
}

// Hands out `bytes`; fails with IOError when a read would pass `fail_at`.
class FailingSource final : public ByteSource {
 public:
  FailingSource(std::string_view bytes, size_t fail_at) : bytes_(bytes), fail_at_(fail_at) {}
  uint64_t remaining() const override { return bytes_.size() - pos_; }
  Status Read(void* dst, size_t n) override {
    if (pos_ + n > fail_at_) return IOError("disk went away at byte {}", pos_);
    std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
    return Status::OK();
  }

 private:
  std::string_view bytes_;
  size_t fail_at_;
  size_t pos_ = 0;
};

// The shared index's graph (20,000 rows) serializes to more than the loader's
// 1 MiB read buffer: lists straddle refills and the checksum is fed in pieces
// that do not fall on its 8-byte words.
TEST(HnswTest, StreamedLoadOfAGraphLargerThanTheReadBuffer) {
  Fixture& f = Shared();
  const VectorIndex& ix = f.Index("L2");
  std::string bytes;
  ASSERT_TRUE(ix.Serialize(&bytes).ok());
  ASSERT_GT(bytes.size(), size_t{3} << 19) << "the test needs a graph larger than 1.5 MiB";
  SearchArgs a;
  a.k = kK;
  // The default buffer, and the smallest one (an odd number of 4-byte words: ~100 refills, most
  // leaving the checksum in the middle of a word).
  for (size_t buffer : {size_t{1} << 20, kMinReadBuffer}) {
    std::string_view view = bytes;
    ViewSource src(&view);
    auto loaded = LoadHnswFrom(BuildParams("L2"), &src, buffer);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(view.size(), 0u) << "every byte is read, the checksum included";
    std::string again;
    ASSERT_TRUE((*loaded)->Serialize(&again).ok());
    EXPECT_EQ(again, bytes);
    EXPECT_EQ(MustSearch(ix, f.base, f.queries, a).ids, MustSearch(**loaded, f.base, f.queries, a).ids);
  }

  // Damage and truncation after the first buffer are still found.
  const size_t mib = size_t{1} << 20;
  for (size_t i : {mib - 3, mib, mib + 5, bytes.size() - 9, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_EQ(LoadHnsw(BuildParams("L2"), bad).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  for (size_t n : {mib, mib + 1, bytes.size() - 8, bytes.size() - 1}) {
    EXPECT_EQ(LoadHnsw(BuildParams("L2"), std::string_view(bytes).substr(0, n)).status().code(),
              StatusCode::kCorruption)
        << n;
  }
  // A failing source is reported as itself, not as a damaged index.
  for (size_t at : {size_t{10}, mib + 100, bytes.size() - 4}) {
    FailingSource failing(bytes, at);
    auto r = LoadHnswFrom(BuildParams("L2"), &failing);
    EXPECT_EQ(r.status().code(), StatusCode::kIOError) << at << ": " << r.status().ToString();
  }
}

// A damaged row count is caught before anything is sized by it: a 2^31-row claim in a small file
// must not allocate 2 GiB of levels (let alone the lists) on the way to "truncated".
TEST(HnswTest, HugeRowCountInASmallFileAllocatesNothing) {
  std::string bytes = SmallGraphBytes();
  ASSERT_GT(bytes.size(), 32u);
  const uint64_t rows = static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) - 2;
  std::memcpy(bytes.data() + 24, &rows, sizeof(rows));  // Header::rows (docs/formats/hnsw_index.md)
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  auto r = LoadHnsw(BuildParams("L2"), bytes);
  struct rusage after {};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "KiB of peak RSS added by a damaged header";
}

TEST(HnswTest, CorruptBytesAreRejected) {
  const std::string bytes = SmallGraphBytes();
  ASSERT_TRUE(LoadHnsw(BuildParams("L2"), bytes).ok());
  // Every truncation, and a flipped bit in every byte.
  for (size_t n = 0; n < bytes.size(); n += 7) {
    EXPECT_FALSE(LoadHnsw(BuildParams("L2"), std::string_view(bytes).substr(0, n)).ok()) << n;
  }
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    auto r = LoadHnsw(BuildParams("L2"), bad);
    EXPECT_FALSE(r.ok()) << i;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << i;
    }
  }
  EXPECT_FALSE(LoadHnsw(BuildParams("L2"), bytes + "x").ok());
  // Params that do not match the bytes.
  auto wrong = LoadHnsw(BuildParams("IP"), bytes);
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  Params m8 = BuildParams("L2");
  m8["M"] = "8";
  EXPECT_EQ(LoadHnsw(m8, bytes).status().code(), StatusCode::kInvalidArgument);
}

// The trailing checksum as docs/formats/hnsw_index.md describes it.
uint64_t FormatChecksum(const std::string& b, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, b.data() + i, std::min<size_t>(8, n - i));
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  if (n % 8 == 0) {  // a final empty word is mixed in too
    h = h * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return h;
}

void Reseal(std::string* b) {
  const uint64_t sum = FormatChecksum(*b, b->size() - 8);
  std::memcpy(b->data() + b->size() - 8, &sum, 8);
}

TEST(HnswTest, CorruptStructureWithAValidChecksumIsRejectedOrHarmless) {
  const Column base = FloatColumn(Clustered(200, 8, 3), 8);
  const Column q = FloatColumn(Clustered(5, 8, 4), 8);
  auto ix = BuildHnsw(BuildParams("L2"), base, 1);
  ASSERT_TRUE(ix.ok());
  std::string bytes;
  ASSERT_TRUE((*ix)->Serialize(&bytes).ok());
  {
    std::string same = bytes;
    Reseal(&same);
    ASSERT_EQ(same, bytes) << "the spec's checksum differs from the code's";
  }
  int loaded = 0;
  for (size_t i = 0; i + 8 < bytes.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x01}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = bytes;
      if (static_cast<uint8_t>(bad[i]) == v) continue;
      bad[i] = static_cast<char>(v);
      Reseal(&bad);
      auto r = LoadHnsw(BuildParams("L2"), bad);
      if (!r.ok()) {
        EXPECT_TRUE(r.status().code() == StatusCode::kCorruption ||
                    r.status().code() == StatusCode::kInvalidArgument)
            << i << ": " << r.status().ToString();
        continue;
      }
      ++loaded;  // e.g. a neighbour id changed to another valid row: must still search safely
      SearchArgs a;
      a.k = 10;
      flat::Hits h;
      Status st = (*r)->Search(base, q, a, &h);
      if (st.ok()) {
        for (int64_t id : h.ids) ASSERT_LT(id, 200);
      }
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST(HnswTest, TinyColumns) {
  for (int64_t n : {0, 1, 5}) {
    const Column base = FloatColumn(Clustered(n, 16, 4), 16);
    const Column q = FloatColumn(Clustered(3, 16, 5), 16);
    auto ix = BuildHnsw(BuildParams("L2"), base, 2);
    ASSERT_TRUE(ix.ok()) << ix.status().ToString();
    for (int64_t k : {0, 1, 10}) {
      SearchArgs a;
      a.k = k;
      const flat::Hits h = MustSearch(**ix, base, q, a);
      ASSERT_EQ(h.offsets.size(), 4u);
      for (int qi = 0; qi < 3; ++qi) EXPECT_EQ(h.offsets[qi + 1] - h.offsets[qi], std::min(k, n)) << n << " " << k;
      if (k >= n) {
        EXPECT_EQ(Recall(h, Exact(base, q, "L2", k)), 1.0);
      }
    }
    std::string bytes;
    ASSERT_TRUE((*ix)->Serialize(&bytes).ok());
    ASSERT_TRUE(LoadHnsw(BuildParams("L2"), bytes).ok());
  }
}

TEST(HnswTest, NullRowsAreNeverReturned) {
  Column base = FloatColumn(Clustered(3000, 16, 6), 16);
  base.valid.assign(3000, 1);
  for (int64_t i = 0; i < 3000; i += 3) base.valid[i] = 0;
  const Column q = FloatColumn(Clustered(50, 16, 7), 16);
  auto ix = BuildHnsw(BuildParams("COSINE"), base, 2);
  ASSERT_TRUE(ix.ok());
  SearchArgs a;
  a.k = 20;
  flat::Hits h = MustSearch(**ix, base, q, a);
  EXPECT_EQ(h.ids.size(), 50u * 20);
  for (int64_t id : h.ids) ASSERT_NE(id % 3, 0);
  // Also through the exact fallback for selective filters.
  std::vector<uint8_t> filter(3000, 0);
  for (int i = 0; i < 30; ++i) filter[i] = 1;  // 10 of these are null
  a.filter = filter.data();
  h = MustSearch(**ix, base, q, a);
  EXPECT_EQ(h.ids.size(), 50u * 20);
  for (int64_t id : h.ids) ASSERT_TRUE(id < 30 && id % 3 != 0) << id;
  // A column of nulls only.
  Column nulls = FloatColumn(Clustered(10, 16, 8), 16);
  nulls.valid.assign(10, 0);
  auto empty = BuildHnsw(BuildParams("L2"), nulls, 2);
  ASSERT_TRUE(empty.ok());
  a.filter = nullptr;
  EXPECT_TRUE(MustSearch(**empty, nulls, q, a).ids.empty());
}

TEST(HnswTest, ConcurrentSearchesAgree) {
  Fixture& f = Shared();
  const VectorIndex& ix = f.Index("L2");
  SearchArgs a;
  a.k = kK;
  a.params = {{"ef", "32"}};
  const flat::Hits want = MustSearch(ix, f.base, f.queries, a);
  std::vector<flat::Hits> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) ASSERT_TRUE(ix.Search(f.base, f.queries, a, &got[t]).ok());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    EXPECT_EQ(g.ids, want.ids);
    EXPECT_EQ(g.distances, want.distances);
  }
}

TEST(HnswTest, OtherElementTypes) {
  // Int8 rows: the same clustered data scaled into [-127, 127].
  const std::vector<float> v = Clustered(3000, 32, 9);
  Column c;
  c.type = DataType::kInt8Vector;
  c.dim = 32;
  c.row_bytes = 32;
  c.num_rows = 3000;
  for (float x : v) c.fixed.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::clamp(x * 40.0f, -127.0f, 127.0f))));
  Column q = c;
  q.num_rows = 20;
  q.fixed.resize(20 * 32);
  auto ix = BuildHnsw(BuildParams("L2"), c, 2);
  ASSERT_TRUE(ix.ok()) << ix.status().ToString();
  SearchArgs a;
  a.k = 5;
  const flat::Hits h = MustSearch(**ix, c, q, a);
  for (int qi = 0; qi < 20; ++qi) {
    EXPECT_EQ(h.ids[h.offsets[qi]], qi);  // each query is a base row
    EXPECT_EQ(h.distances[h.offsets[qi]], 0.0f);
  }
}

TEST(HnswTest, BFloat16Rows) {
  const std::vector<float> v = Clustered(3000, 32, 11);
  Column c;
  c.type = DataType::kBFloat16Vector;
  c.dim = 32;
  c.row_bytes = 64;
  c.num_rows = 3000;
  c.fixed.resize(3000 * 64);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    const uint16_t top = static_cast<uint16_t>(bits >> 16);  // truncation is a valid bfloat16
    std::memcpy(c.fixed.data() + 2 * i, &top, 2);
  }
  Column q = c;
  q.num_rows = 20;
  q.fixed.resize(20 * 64);
  auto ix = BuildHnsw(BuildParams("COSINE"), c, 2);
  ASSERT_TRUE(ix.ok()) << ix.status().ToString();
  SearchArgs a;
  a.k = 5;
  const flat::Hits h = MustSearch(**ix, c, q, a);
  for (int qi = 0; qi < 20; ++qi) {
    EXPECT_EQ(h.ids[h.offsets[qi]], qi);
    EXPECT_NEAR(h.distances[h.offsets[qi]], 1.0f, 1e-5f);
  }
}

TEST(HnswTest, BadParamsNameKeyAndValue) {
  const Column base = FloatColumn(Clustered(10, 8, 10), 8);
  auto expect_bad = [&](Params p, const std::string& needle) {
    auto r = BuildHnsw(p, base, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  Params p = BuildParams("L2");
  p["M"] = "1";
  expect_bad(p, "'M' (1)");
  p["M"] = "2049";
  expect_bad(p, "'M' (2049)");
  p["M"] = "16x";
  expect_bad(p, "'M' (16x)");
  p = BuildParams("L2");
  p["efConstruction"] = "0";
  expect_bad(p, "'efConstruction' (0)");
  expect_bad(BuildParams("HAMMING"), "HAMMING");
  p = BuildParams("L2");
  p.erase("metric_type");
  expect_bad(p, "metric_type");

  auto ix = BuildHnsw(BuildParams("L2"), base, 1);
  ASSERT_TRUE(ix.ok());
  for (const std::string ef : {"0", "-3", "abc", "99999999999"}) {
    SearchArgs a;
    a.params = {{"ef", ef}};
    flat::Hits h;
    Status st = (*ix)->Search(base, base, a, &h);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("'ef' (" + ef + ")"), std::string::npos) << st.message();
  }
  SearchArgs a;
  a.k = 5;
  a.params = {{"ef", "1"}};  // below k: raised to k
  flat::Hits h;
  ASSERT_TRUE((*ix)->Search(base, base, a, &h).ok());
  EXPECT_EQ(h.ids.size(), 50u);
  // A base column that is not the one the index was built from.
  const Column other = FloatColumn(Clustered(11, 8, 10), 8);
  EXPECT_EQ((*ix)->Search(other, base, a, &h).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kite::index

