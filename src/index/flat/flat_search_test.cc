// flat::Search against a naive double-precision reference, for every metric,
// element type, both execution paths (scan: nq = 1, GEMM: nq = 37), filters,
// range search, ties, zero vectors and every kernel level this CPU supports.
#include "index/flat/flat_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/flat/kernels.h"

namespace kite::flat {
namespace {

using internal::Level;

// A matrix with its bytes and, for the reference, its values as doubles.
struct TestMatrix {
  ElemType type = ElemType::kFloat32;
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<uint8_t> bytes;
  std::vector<double> values;  // rows x dim (float types only)

  Matrix View() const { return Matrix{bytes.data(), rows, dim, type}; }
  const uint8_t* BinaryRow(int64_t r) const { return bytes.data() + r * (dim / 8); }
  const double* Row(int64_t r) const { return values.data() + r * dim; }
};

double DecodeHalf(uint16_t h) {
  int sign = (h >> 15) ? -1 : 1;
  int exp = (h >> 10) & 0x1f;
  int mant = h & 0x3ff;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}

// Random values; `small_ints` draws integers in [-2, 2] (exact in every path).
TestMatrix Random(ElemType type, int64_t rows, int64_t dim, std::mt19937_64& rng, bool small_ints = false) {
  TestMatrix m;
  m.type = type;
  m.rows = rows;
  m.dim = dim;
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(-2, 2);
  const int64_t count = rows * dim;
  switch (type) {
    case ElemType::kFloat32: {
      m.bytes.resize(static_cast<size_t>(count) * 4);
      m.values.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        float v = small_ints ? static_cast<float>(small(rng)) : uni(rng);
        std::memcpy(m.bytes.data() + i * 4, &v, 4);
        m.values[i] = v;
      }
      break;
    }
    case ElemType::kFloat16: {
      m.bytes.resize(static_cast<size_t>(count) * 2);
      m.values.resize(static_cast<size_t>(count));
      std::uniform_int_distribution<int> exp(0, 16), mant(0, 1023), sign(0, 1);
      for (int64_t i = 0; i < count; ++i) {
        uint16_t h;
        if (small_ints) {
          int v = small(rng);
          // 0, +-1 (0x3c00), +-2 (0x4000)
          h = static_cast<uint16_t>((v < 0 ? 0x8000 : 0) | (v == 0 ? 0 : std::abs(v) == 1 ? 0x3c00 : 0x4000));
        } else {  // includes subnormals (exp 0)
          h = static_cast<uint16_t>((sign(rng) << 15) | (exp(rng) << 10) | mant(rng));
        }
        std::memcpy(m.bytes.data() + i * 2, &h, 2);
        m.values[i] = DecodeHalf(h);
      }
      break;
    }
    case ElemType::kBFloat16: {
      m.bytes.resize(static_cast<size_t>(count) * 2);
      m.values.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        float v = small_ints ? static_cast<float>(small(rng)) : uni(rng);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint16_t h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(m.bytes.data() + i * 2, &h, 2);
        bits = static_cast<uint32_t>(h) << 16;
        std::memcpy(&v, &bits, 4);
        m.values[i] = v;
      }
      break;
    }
    case ElemType::kInt8: {
      m.bytes.resize(static_cast<size_t>(count));
      m.values.resize(static_cast<size_t>(count));
      std::uniform_int_distribution<int> i8(-128, 127);
      for (int64_t i = 0; i < count; ++i) {
        int v = small_ints ? small(rng) : i8(rng);
        m.bytes[i] = static_cast<uint8_t>(static_cast<int8_t>(v));
        m.values[i] = v;
      }
      break;
    }
    case ElemType::kBinary: {
      m.bytes.resize(static_cast<size_t>(rows * dim / 8));
      std::uniform_int_distribution<int> byte(0, 255);
      for (auto& b : m.bytes) b = static_cast<uint8_t>(small_ints ? (byte(rng) & 0x11) : byte(rng));
      break;
    }
  }
  return m;
}

// Makes row r all zeros (bytes and values).
void ZeroRow(TestMatrix* m, int64_t r) {
  const int64_t row_bytes = static_cast<int64_t>(m->bytes.size()) / m->rows;
  std::memset(m->bytes.data() + r * row_bytes, 0, static_cast<size_t>(row_bytes));
  if (!m->values.empty()) std::fill_n(m->values.begin() + r * m->dim, m->dim, 0.0);
}

double RefDistance(Metric metric, const TestMatrix& q, int64_t qi, const TestMatrix& b, int64_t bi) {
  if (metric == Metric::kHamming || metric == Metric::kJaccard) {
    const uint8_t* x = q.BinaryRow(qi);
    const uint8_t* y = b.BinaryRow(bi);
    int inter = 0, uni = 0, diff = 0;
    for (int64_t j = 0; j < q.dim / 8; ++j) {
      inter += __builtin_popcount(x[j] & y[j]);
      uni += __builtin_popcount(x[j] | y[j]);
      diff += __builtin_popcount(x[j] ^ y[j]);
    }
    if (metric == Metric::kHamming) return diff;
    return uni == 0 ? 0.0 : 1.0 - static_cast<double>(inter) / uni;
  }
  const double* x = q.Row(qi);
  const double* y = b.Row(bi);
  double dot = 0, l2 = 0, nx = 0, ny = 0;
  for (int64_t j = 0; j < q.dim; ++j) {
    dot += x[j] * y[j];
    l2 += (x[j] - y[j]) * (x[j] - y[j]);
    nx += x[j] * x[j];
    ny += y[j] * y[j];
  }
  if (metric == Metric::kL2) return l2;
  if (metric == Metric::kIP) return dot;
  return (nx == 0 || ny == 0) ? 0.0 : dot / (std::sqrt(nx) * std::sqrt(ny));
}

// Absolute tolerance for query qi: float32 arithmetic over dim terms,
// relative to the magnitudes involved (the GEMM path's L2 is ||q||^2 +
// ||r||^2 - 2 q.r, so its error scales with the norms, not the distance).
double Tolerance(Metric metric, const TestMatrix& q, int64_t qi, const TestMatrix& b) {
  if (metric == Metric::kHamming) return 1e-9;
  if (metric == Metric::kJaccard) return 1e-6;
  if (metric == Metric::kCosine) return 1e-5 * std::sqrt(static_cast<double>(q.dim)) + 1e-6;
  double nq2 = 0, nb2 = 0;
  for (int64_t j = 0; j < q.dim; ++j) nq2 += q.Row(qi)[j] * q.Row(qi)[j];
  for (int64_t r = 0; r < b.rows; ++r) {
    double s = 0;
    for (int64_t j = 0; j < b.dim; ++j) s += b.Row(r)[j] * b.Row(r)[j];
    nb2 = std::max(nb2, s);
  }
  double scale = metric == Metric::kL2 ? nq2 + nb2 : std::sqrt(nq2 * nb2);
  return 1e-5 * std::sqrt(static_cast<double>(q.dim)) * (1 + scale);
}

bool InRange(Metric metric, double d, const SearchParams& p, double slack) {
  if (!p.radius) return true;
  if (HigherIsBetter(metric)) {
    if (!(d > *p.radius - slack)) return false;
    if (p.range_filter && !(d <= *p.range_filter + slack)) return false;
  } else {
    if (!(d < *p.radius + slack)) return false;
    if (p.range_filter && !(d >= *p.range_filter - slack)) return false;
  }
  return true;
}

struct RefHit {
  double d;
  int64_t id;
};

// All passing rows of query qi, best first, ties by id.
std::vector<RefHit> RefAll(Metric metric, const TestMatrix& q, int64_t qi, const TestMatrix& b,
                           const uint8_t* filter) {
  std::vector<RefHit> all;
  for (int64_t r = 0; r < b.rows; ++r) {
    if (filter && !filter[r]) continue;
    all.push_back({RefDistance(metric, q, qi, b, r), r});
  }
  const bool higher = HigherIsBetter(metric);
  std::sort(all.begin(), all.end(), [&](const RefHit& x, const RefHit& y) {
    if (x.d != y.d) return higher ? x.d > y.d : x.d < y.d;
    return x.id < y.id;
  });
  return all;
}

// Checks one query's hits against the reference within tolerance; with
// exact = true (integer data) ids and distances must match exactly.
void CheckQuery(Metric metric, const TestMatrix& q, int64_t qi, const TestMatrix& b, const SearchParams& p,
                const Hits& hits, bool exact) {
  SCOPED_TRACE("query " + std::to_string(qi));
  // Exact mode still allows JACCARD's float division its rounding.
  const double tol = exact ? (metric == Metric::kJaccard ? 1e-6 : 0.0) : Tolerance(metric, q, qi, b);
  std::vector<RefHit> all = RefAll(metric, q, qi, b, p.filter);
  std::vector<double> ref_d(static_cast<size_t>(b.rows), std::nan(""));
  for (const RefHit& h : all) ref_d[h.id] = h.d;
  std::vector<RefHit> strict, loose;
  for (const RefHit& h : all) {
    if (InRange(metric, h.d, p, -tol)) strict.push_back(h);
    if (InRange(metric, h.d, p, tol)) loose.push_back(h);
  }
  const int64_t begin = hits.offsets[qi], end = hits.offsets[qi + 1];
  const int64_t count = end - begin;
  const int64_t k = p.k;
  ASSERT_GE(count, std::min<int64_t>(k, static_cast<int64_t>(strict.size())));
  ASSERT_LE(count, std::min<int64_t>(k, static_cast<int64_t>(loose.size())));
  std::set<int64_t> seen;
  const bool higher = HigherIsBetter(metric);
  for (int64_t j = begin; j < end; ++j) {
    const int64_t id = hits.ids[j];
    const float d = hits.distances[j];
    ASSERT_GE(id, 0);
    ASSERT_LT(id, b.rows);
    ASSERT_TRUE(seen.insert(id).second) << "duplicate id " << id;
    ASSERT_FALSE(std::isnan(ref_d[id])) << "id " << id << " is filtered out";
    ASSERT_NEAR(d, ref_d[id], tol) << "id " << id;
    ASSERT_TRUE(InRange(metric, d, p, 0.0)) << "distance " << d << " outside the range";
    // The j-th best distance lies between the reference's j-th best with the
    // range widened (loose) and narrowed (strict) by the tolerance.
    const size_t rank = static_cast<size_t>(j - begin);
    const double s = higher ? -static_cast<double>(d) : d;
    ASSERT_GE(s, (higher ? -loose[rank].d : loose[rank].d) - tol) << "rank " << rank;
    if (rank < strict.size()) {
      ASSERT_LE(s, (higher ? -strict[rank].d : strict[rank].d) + tol) << "rank " << rank;
    }
    if (exact) {
      ASSERT_EQ(id, loose[rank].id) << "rank " << rank;
    }
    if (j > begin) {
      const float prev = hits.distances[j - 1];
      ASSERT_TRUE(higher ? prev >= d : prev <= d) << "not sorted at rank " << rank;
      if (prev == d) {
        ASSERT_LT(hits.ids[j - 1], id) << "tie not ordered by id at rank " << rank;
      }
    }
  }
}

void CheckSearch(Metric metric, const TestMatrix& q, const TestMatrix& b, const SearchParams& p, bool exact,
                 Hits* hits_out = nullptr) {
  Hits hits;
  Status s = Search(q.View(), b.View(), p, &hits);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(hits.offsets.size(), static_cast<size_t>(q.rows + 1));
  ASSERT_EQ(hits.offsets[0], 0);
  ASSERT_EQ(hits.ids.size(), hits.distances.size());
  ASSERT_EQ(static_cast<int64_t>(hits.ids.size()), hits.offsets[q.rows]);
  for (int64_t qi = 0; qi < q.rows; ++qi) {
    CheckQuery(metric, q, qi, b, p, hits, exact);
    if (testing::Test::HasFatalFailure()) return;
  }
  if (hits_out) *hits_out = std::move(hits);
}

std::vector<uint8_t> RandomFilter(int64_t n, double pass, std::mt19937_64& rng) {
  std::bernoulli_distribution d(pass);
  std::vector<uint8_t> f(static_cast<size_t>(n));
  for (auto& x : f) x = d(rng) ? 1 : 0;
  return f;
}

const char* Name(ElemType t) {
  switch (t) {
    case ElemType::kFloat32: return "float32";
    case ElemType::kFloat16: return "float16";
    case ElemType::kBFloat16: return "bfloat16";
    case ElemType::kInt8: return "int8";
    case ElemType::kBinary: return "binary";
  }
  return "?";
}
const char* Name(Metric m) {
  switch (m) {
    case Metric::kL2: return "L2";
    case Metric::kIP: return "IP";
    case Metric::kCosine: return "COSINE";
    case Metric::kHamming: return "HAMMING";
    case Metric::kJaccard: return "JACCARD";
  }
  return "?";
}

struct Case {
  ElemType type;
  Metric metric;
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (ElemType t : {ElemType::kFloat32, ElemType::kFloat16, ElemType::kBFloat16, ElemType::kInt8}) {
    for (Metric m : {Metric::kL2, Metric::kIP, Metric::kCosine}) cases.push_back({t, m});
  }
  cases.push_back({ElemType::kBinary, Metric::kHamming});
  cases.push_back({ElemType::kBinary, Metric::kJaccard});
  return cases;
}

std::vector<int64_t> DimsFor(ElemType t) {
  if (t == ElemType::kBinary) return {8, 24, 64, 128, 256, 776};  // bits, multiples of 8
  return {1, 3, 8, 17, 128, 769};
}

// Restores tuning and kernel level after a test changes them.
class FlatSearchTest : public testing::Test {
 protected:
  void TearDown() override {
    internal::MutableTuning() = internal::Tuning{};
    internal::ResetLevel();
  }

  // Every metric x type x dim x nq {1, 37} x k {1, 10, > n}, with and without
  // a filter, against the reference.
  void RunMatrix(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (const Case& c : AllCases()) {
      for (int64_t dim : DimsFor(c.type)) {
        TestMatrix base = Random(c.type, n, dim, rng);
        for (int64_t nq : {1, 37}) {
          TestMatrix q = Random(c.type, nq, dim, rng);
          std::vector<uint8_t> filter = RandomFilter(n, 0.3, rng);
          for (int64_t k : {int64_t{1}, int64_t{10}, n + 5}) {
            for (bool filtered : {false, true}) {
              SCOPED_TRACE(std::string(Name(c.type)) + " " + Name(c.metric) + " dim=" + std::to_string(dim) +
                           " nq=" + std::to_string(nq) + " k=" + std::to_string(k) +
                           (filtered ? " filtered" : ""));
              SearchParams p;
              p.metric = c.metric;
              p.k = k;
              p.filter = filtered ? filter.data() : nullptr;
              CheckSearch(c.metric, q, base, p, false);
              if (HasFatalFailure()) return;
            }
          }
        }
      }
    }
  }
};

TEST_F(FlatSearchTest, MatchesReferenceForEveryMetricTypeAndPath) { RunMatrix(300, 1); }

// Tiny blocks: many scan blocks, many GEMM base and query blocks, partial
// last blocks everywhere.
TEST_F(FlatSearchTest, MatchesReferenceWithSmallBlocks) {
  internal::Tuning& t = internal::MutableTuning();
  t.gemm_base_block = 37;
  t.gemm_query_block = 5;
  t.scan_block_bytes = 1;  // clamps to 16 rows
  RunMatrix(203, 2);
}

// The scan path for a batch and the GEMM path for a single query agree with
// the reference too (the paths are chosen by nq only by default).
TEST_F(FlatSearchTest, BothPathsForAnyQueryCount) {
  for (int64_t min_queries : {int64_t{1}, int64_t{1000}}) {
    internal::MutableTuning().gemm_min_queries = min_queries;
    std::mt19937_64 rng(3);
    for (const Case& c : AllCases()) {
      if (c.type == ElemType::kBinary) continue;
      for (int64_t nq : {1, 20}) {
        SCOPED_TRACE(std::string(Name(c.type)) + " " + Name(c.metric) + " nq=" + std::to_string(nq) +
                     " gemm_min_queries=" + std::to_string(min_queries));
        TestMatrix base = Random(c.type, 500, 33, rng);
        TestMatrix q = Random(c.type, nq, 33, rng);
        SearchParams p;
        p.metric = c.metric;
        p.k = 7;
        CheckSearch(c.metric, q, base, p, false);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Sparse (gathered) and dense (masked) filter blocks, and all-pass / none-pass;
// with tiny blocks, sparse windows span many blocks.
TEST_F(FlatSearchTest, FiltersAtEveryDensity) {
  for (int64_t block_bytes : {int64_t{512 * 1024}, int64_t{1}}) {
    internal::MutableTuning().scan_block_bytes = block_bytes;
    std::mt19937_64 rng(4);
    const int64_t n = 3000;
    for (const Case& c : AllCases()) {
      const int64_t dim = c.type == ElemType::kBinary ? 64 : 20;
      TestMatrix base = Random(c.type, n, dim, rng);
      for (int64_t nq : {1, 37}) {
        TestMatrix q = Random(c.type, nq, dim, rng);
        for (double pass : {0.0, 0.01, 0.3, 0.7, 0.99, 1.0}) {
          SCOPED_TRACE(std::string(Name(c.type)) + " " + Name(c.metric) + " nq=" + std::to_string(nq) +
                       " pass=" + std::to_string(pass) + " block_bytes=" + std::to_string(block_bytes));
          std::vector<uint8_t> filter = RandomFilter(n, pass, rng);
          // Nonzero bytes other than 1 also pass.
          for (size_t i = 0; i < filter.size(); i += 7) filter[i] = filter[i] ? 0xff : 0;
          SearchParams p;
          p.metric = c.metric;
          p.k = 10;
          p.filter = filter.data();
          CheckSearch(c.metric, q, base, p, false);
          if (HasFatalFailure()) return;
        }
      }
    }
  }
}

// Radius picked from the reference distances so that a fair number of rows
// fall inside; both range directions, with and without range_filter.
TEST_F(FlatSearchTest, RangeSearch) {
  std::mt19937_64 rng(5);
  const int64_t n = 800;
  for (const Case& c : AllCases()) {
    const int64_t dim = c.type == ElemType::kBinary ? 128 : 24;
    TestMatrix base = Random(c.type, n, dim, rng);
    for (int64_t nq : {1, 37}) {
      TestMatrix q = Random(c.type, nq, dim, rng);
      std::vector<RefHit> all = RefAll(c.metric, q, 0, base, nullptr);
      // radius admits the best ~30% of query 0's rows; range_filter drops the best ~5%.
      const float radius = static_cast<float>(all[all.size() * 3 / 10].d);
      const float range_filter = static_cast<float>(all[all.size() / 20].d);
      std::vector<uint8_t> filter = RandomFilter(n, 0.5, rng);
      for (int variant = 0; variant < 4; ++variant) {
        SCOPED_TRACE(std::string(Name(c.type)) + " " + Name(c.metric) + " nq=" + std::to_string(nq) +
                     " variant=" + std::to_string(variant));
        SearchParams p;
        p.metric = c.metric;
        p.k = variant == 2 ? 5 : n;  // variant 2: k caps the count
        p.radius = radius;
        if (variant >= 1) p.range_filter = range_filter;
        if (variant == 3) p.filter = filter.data();
        CheckSearch(c.metric, q, base, p, false);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_F(FlatSearchTest, RangeFilterWithoutRadiusIsIgnored) {
  std::mt19937_64 rng(6);
  TestMatrix base = Random(ElemType::kFloat32, 100, 8, rng);
  TestMatrix q = Random(ElemType::kFloat32, 1, 8, rng);
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = 10;
  p.range_filter = 1e9f;  // would exclude everything if applied
  Hits hits;
  ASSERT_TRUE(Search(q.View(), base.View(), p, &hits).ok());
  EXPECT_EQ(hits.ids.size(), 10u);
}

// Integer data with many duplicate rows: distances are exact in every path,
// so ids must match the reference exactly, equal distances by ascending id.
TEST_F(FlatSearchTest, TiesAreOrderedById) {
  std::mt19937_64 rng(7);
  for (const Case& c : AllCases()) {
    const int64_t dim = c.type == ElemType::kBinary ? 64 : 12;
    TestMatrix distinct = Random(c.type, 6, dim, rng, /*small_ints=*/true);
    TestMatrix base = distinct;
    base.rows = 700;
    const int64_t row_bytes = static_cast<int64_t>(distinct.bytes.size()) / distinct.rows;
    base.bytes.resize(static_cast<size_t>(base.rows * row_bytes));
    if (!distinct.values.empty()) base.values.resize(static_cast<size_t>(base.rows * dim));
    std::uniform_int_distribution<int> pick(0, 5);
    for (int64_t r = 0; r < base.rows; ++r) {
      int s = pick(rng);
      std::memcpy(base.bytes.data() + r * row_bytes, distinct.bytes.data() + s * row_bytes,
                  static_cast<size_t>(row_bytes));
      if (!base.values.empty()) std::copy_n(distinct.Row(s), dim, base.values.begin() + r * dim);
    }
    for (int64_t nq : {1, 37}) {
      TestMatrix q = Random(c.type, nq, dim, rng, /*small_ints=*/true);
      for (int64_t k : {1, 10, 150}) {
        SCOPED_TRACE(std::string(Name(c.type)) + " " + Name(c.metric) + " nq=" + std::to_string(nq) +
                     " k=" + std::to_string(k));
        SearchParams p;
        p.metric = c.metric;
        p.k = k;
        // COSINE divides by float norms, so only its ties (not its
        // cross-vector order) are exact; check it with tolerance.
        CheckSearch(c.metric, q, base, p, /*exact=*/c.metric != Metric::kCosine);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_F(FlatSearchTest, CosineZeroVectorsScoreZero) {
  std::mt19937_64 rng(8);
  for (ElemType t : {ElemType::kFloat32, ElemType::kFloat16, ElemType::kBFloat16, ElemType::kInt8}) {
    for (int64_t nq : {1, 37}) {
      TestMatrix base = Random(t, 50, 16, rng);
      for (int64_t r : {0, 13, 49}) ZeroRow(&base, r);
      TestMatrix q = Random(t, nq, 16, rng);
      ZeroRow(&q, 0);
      SearchParams p;
      p.metric = Metric::kCosine;
      p.k = 50;
      SCOPED_TRACE(std::string(Name(t)) + " nq=" + std::to_string(nq));
      Hits hits;
      CheckSearch(Metric::kCosine, q, base, p, false, &hits);
      if (HasFatalFailure()) return;
      // Query 0 is zero: every row scores 0, so the order is by id.
      ASSERT_EQ(hits.offsets[1], 50);
      for (int64_t j = 0; j < 50; ++j) {
        EXPECT_EQ(hits.ids[j], j);
        EXPECT_EQ(hits.distances[j], 0.0f);
      }
      // Zero rows score 0 against the other queries.
      for (int64_t qi = 1; qi < nq; ++qi) {
        for (int64_t j = hits.offsets[qi]; j < hits.offsets[qi + 1]; ++j) {
          if (hits.ids[j] == 0 || hits.ids[j] == 13 || hits.ids[j] == 49) {
            EXPECT_EQ(hits.distances[j], 0.0f);
          }
        }
      }
    }
  }
}

TEST_F(FlatSearchTest, JaccardOfZeroVectorsIsZero) {
  TestMatrix base;
  base.type = ElemType::kBinary;
  base.rows = 3;
  base.dim = 16;
  base.bytes = {0, 0, 0xff, 0, 0, 0};
  TestMatrix q = base;
  q.rows = 1;
  q.bytes = {0, 0};
  SearchParams p;
  p.metric = Metric::kJaccard;
  p.k = 3;
  Hits hits;
  ASSERT_TRUE(Search(q.View(), base.View(), p, &hits).ok());
  ASSERT_EQ(hits.ids, (std::vector<int64_t>{0, 2, 1}));
  EXPECT_EQ(hits.distances, (std::vector<float>{0.0f, 0.0f, 1.0f}));
}

// Large k (Milvus's topk limit) through both paths.
TEST_F(FlatSearchTest, LargeK) {
  std::mt19937_64 rng(9);
  TestMatrix base = Random(ElemType::kFloat32, 20000, 4, rng);
  for (int64_t nq : {1, 16}) {
    TestMatrix q = Random(ElemType::kFloat32, nq, 4, rng);
    for (Metric m : {Metric::kL2, Metric::kIP}) {
      SCOPED_TRACE(std::string(Name(m)) + " nq=" + std::to_string(nq));
      SearchParams p;
      p.metric = m;
      p.k = 16384;
      CheckSearch(m, q, base, p, false);
      if (HasFatalFailure()) return;
    }
  }
}

// Every kernel level this CPU supports gives the reference's results, and the
// same results as the scalar level within tolerance (exactly, on integer data).
TEST_F(FlatSearchTest, EveryDispatchLevelAgrees) {
  std::vector<Level> levels;
  for (Level l : {Level::kScalar, Level::kAvx2, Level::kAvx512}) {
    if (internal::LevelSupported(l)) levels.push_back(l);
  }
  ASSERT_TRUE(internal::LevelSupported(Level::kScalar));
  std::cout << "kernel levels tested:";
  for (Level l : levels) std::cout << " " << internal::LevelName(l);
  std::cout << " (default " << internal::LevelName(internal::Active().level) << ")\n";

  std::mt19937_64 rng(10);
  for (bool ints : {false, true}) {
    for (const Case& c : AllCases()) {
      for (int64_t dim : DimsFor(c.type)) {
        TestMatrix base = Random(c.type, 257, dim, rng, ints);
        for (int64_t nq : {1, 37}) {
          TestMatrix q = Random(c.type, nq, dim, rng, ints);
          std::vector<uint8_t> filter = RandomFilter(257, 0.6, rng);
          SearchParams p;
          p.metric = c.metric;
          p.k = 10;
          p.filter = filter.data();
          Hits scalar;
          for (Level l : levels) {
            SCOPED_TRACE(std::string(internal::LevelName(l)) + " " + Name(c.type) + " " + Name(c.metric) +
                         " dim=" + std::to_string(dim) + " nq=" + std::to_string(nq) + (ints ? " ints" : ""));
            ASSERT_TRUE(internal::ForceLevel(l));
            ASSERT_EQ(internal::Active().level, l);
            Hits hits;
            const bool exact = ints && c.metric != Metric::kCosine;
            CheckSearch(c.metric, q, base, p, exact, &hits);
            if (HasFatalFailure()) return;
            if (l == Level::kScalar) {
              scalar = hits;
              continue;
            }
            ASSERT_EQ(hits.offsets, scalar.offsets);
            for (size_t j = 0; j < hits.ids.size(); ++j) {
              const int64_t qi = std::upper_bound(hits.offsets.begin(), hits.offsets.end(), int64_t(j)) -
                                 hits.offsets.begin() - 1;
              const double tol = ints ? 1e-6 : Tolerance(c.metric, q, qi, base);
              ASSERT_NEAR(hits.distances[j], scalar.distances[j], tol) << "position " << j;
              if (exact) {
                ASSERT_EQ(hits.ids[j], scalar.ids[j]) << "position " << j;
              }
            }
          }
        }
      }
    }
  }
}

TEST_F(FlatSearchTest, ConversionKernelsMatchScalar) {
  std::vector<uint16_t> halves;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 0x1f) != 0x1f) halves.push_back(static_cast<uint16_t>(h));  // skip inf/NaN
  }
  std::vector<int8_t> ints;
  for (int v = -128; v < 128; ++v) ints.push_back(static_cast<int8_t>(v));
  for (Level l : {Level::kScalar, Level::kAvx2, Level::kAvx512}) {
    if (!internal::ForceLevel(l)) continue;
    SCOPED_TRACE(internal::LevelName(l));
    const internal::Kernels& kr = internal::Active();
    std::vector<float> out(halves.size());
    kr.f16_to_f32(halves.data(), static_cast<int64_t>(halves.size()), out.data());
    for (size_t i = 0; i < halves.size(); ++i) ASSERT_EQ(out[i], DecodeHalf(halves[i])) << std::hex << halves[i];
    kr.bf16_to_f32(halves.data(), static_cast<int64_t>(halves.size()), out.data());
    for (size_t i = 0; i < halves.size(); ++i) {
      uint32_t bits = static_cast<uint32_t>(halves[i]) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      ASSERT_EQ(out[i], f);
    }
    std::vector<float> iout(ints.size());
    kr.i8_to_f32(ints.data(), static_cast<int64_t>(ints.size()), iout.data());
    for (size_t i = 0; i < ints.size(); ++i) ASSERT_EQ(iout[i], ints[i]);
  }
}

TEST_F(FlatSearchTest, EmptyInputs) {
  std::mt19937_64 rng(11);
  TestMatrix base = Random(ElemType::kFloat32, 10, 4, rng);
  TestMatrix q = Random(ElemType::kFloat32, 3, 4, rng);
  SearchParams p;
  Hits hits;
  p.k = 0;
  ASSERT_TRUE(Search(q.View(), base.View(), p, &hits).ok());
  EXPECT_EQ(hits.offsets, (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_TRUE(hits.ids.empty());

  p.k = 5;
  TestMatrix empty_base = base;
  empty_base.rows = 0;
  ASSERT_TRUE(Search(q.View(), empty_base.View(), p, &hits).ok());
  EXPECT_EQ(hits.offsets, (std::vector<int64_t>{0, 0, 0, 0}));

  TestMatrix no_queries = q;
  no_queries.rows = 0;
  ASSERT_TRUE(Search(no_queries.View(), base.View(), p, &hits).ok());
  EXPECT_EQ(hits.offsets, (std::vector<int64_t>{0}));
}

TEST_F(FlatSearchTest, RejectsBadInput) {
  std::mt19937_64 rng(12);
  TestMatrix base = Random(ElemType::kFloat32, 10, 8, rng);
  TestMatrix q = Random(ElemType::kFloat32, 1, 8, rng);
  TestMatrix bits = Random(ElemType::kBinary, 10, 16, rng);
  Hits hits;
  auto expect_invalid = [&](Matrix qm, Matrix bm, SearchParams p, const char* what) {
    Status s = Search(qm, bm, p, &hits);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what << ": " << s.ToString();
  };
  SearchParams p;
  p.metric = Metric::kL2;
  expect_invalid(q.View(), bits.View(), p, "type mismatch");
  Matrix q_dim = q.View();
  q_dim.dim = 4;
  expect_invalid(q_dim, base.View(), p, "dim mismatch");
  Matrix zero_dim = base.View();
  zero_dim.dim = 0;
  expect_invalid(zero_dim, zero_dim, p, "dim 0");
  Matrix null_data = base.View();
  null_data.data = nullptr;
  expect_invalid(q.View(), null_data, p, "null data");
  Matrix bad_bits = bits.View();
  bad_bits.dim = 12;
  SearchParams ham;
  ham.metric = Metric::kHamming;
  expect_invalid(bad_bits, bad_bits, ham, "binary dim not a multiple of 8");
  expect_invalid(q.View(), base.View(), ham, "HAMMING on floats");
  expect_invalid(bits.View(), bits.View(), p, "L2 on binary");
  SearchParams neg_k;
  neg_k.k = -1;
  expect_invalid(q.View(), base.View(), neg_k, "negative k");
  SearchParams l2_range;
  l2_range.radius = 1.0f;
  l2_range.range_filter = 2.0f;
  expect_invalid(q.View(), base.View(), l2_range, "L2 range_filter >= radius");
  SearchParams ip_range;
  ip_range.metric = Metric::kIP;
  ip_range.radius = 1.0f;
  ip_range.range_filter = 0.5f;
  expect_invalid(q.View(), base.View(), ip_range, "IP range_filter <= radius");
  SearchParams nan_radius;
  nan_radius.radius = std::nanf("");
  expect_invalid(q.View(), base.View(), nan_radius, "NaN radius");
  EXPECT_EQ(Search(q.View(), base.View(), p, nullptr).code(), StatusCode::kInvalidArgument);
}

TEST_F(FlatSearchTest, NaNRowsAreNeverReturned) {
  std::vector<float> base = {0, 0, std::nanf(""), 0, 1, 1, 2, 2};
  std::vector<float> q = {0, 0};
  for (int64_t nq_path : {int64_t{1}, int64_t{1000}}) {
    internal::MutableTuning().gemm_min_queries = nq_path;
    SearchParams p;
    p.k = 4;
    Hits hits;
    ASSERT_TRUE(Search(Matrix{q.data(), 1, 2, ElemType::kFloat32}, Matrix{base.data(), 4, 2, ElemType::kFloat32},
                       p, &hits)
                    .ok());
    EXPECT_EQ(hits.ids, (std::vector<int64_t>{0, 2, 3}));
  }
}

// Concurrent calls (scan and GEMM paths, so OpenBLAS too) give the same
// results as sequential ones.
TEST_F(FlatSearchTest, ConcurrentSearchesAgree) {
  std::mt19937_64 rng(13);
  TestMatrix base = Random(ElemType::kFloat32, 5000, 48, rng);
  TestMatrix q = Random(ElemType::kFloat32, 64, 48, rng);
  TestMatrix q1 = q;
  q1.rows = 3;
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = 20;
  Hits batch_ref, scan_ref;
  ASSERT_TRUE(Search(q.View(), base.View(), p, &batch_ref).ok());
  ASSERT_TRUE(Search(q1.View(), base.View(), p, &scan_ref).ok());
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 10; ++rep) {
        Hits hits;
        const bool batch = (t + rep) % 2 == 0;
        if (!Search(batch ? q.View() : q1.View(), base.View(), p, &hits).ok()) ++mismatches[t];
        const Hits& ref = batch ? batch_ref : scan_ref;
        if (hits.ids != ref.ids || hits.distances != ref.distances) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(FlatMetricTest, HigherIsBetter) {
  EXPECT_FALSE(HigherIsBetter(Metric::kL2));
  EXPECT_TRUE(HigherIsBetter(Metric::kIP));
  EXPECT_TRUE(HigherIsBetter(Metric::kCosine));
  EXPECT_FALSE(HigherIsBetter(Metric::kHamming));
  EXPECT_FALSE(HigherIsBetter(Metric::kJaccard));
}

}  // namespace
}  // namespace kite::flat
