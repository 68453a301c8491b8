// VectorIndex implementations against flat::Search (the exact answer):
// recall@10 per index type and metric on clustered data, serialize -> load ->
// same results, filters (a filtered-out row never comes back; a 10% filter
// still fills k), null rows, tiny segments, bad params, concurrent searches
// and "Search uses the calling thread only".
#include "index/vector_index.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace kite::index {
namespace {

constexpr int64_t kRows = 20000;
constexpr int64_t kDim = 64;
constexpr int64_t kQueries = 40;
constexpr int64_t kK = 10;

// ---------------------------------------------------------------- columns

Column FloatColumn(const std::vector<float>& v, int64_t rows, int64_t dim) {
  Column c;
  c.type = DataType::kFloatVector;
  c.dim = dim;
  c.row_bytes = static_cast<size_t>(dim) * 4;
  c.num_rows = rows;
  c.fixed.resize(v.size() * 4);
  std::memcpy(c.fixed.data(), v.data(), c.fixed.size());
  return c;
}

uint16_t FloatToHalf(float f) {  // round to nearest, normal range only (test data is small)
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0) return static_cast<uint16_t>(sign);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if (mant & 0x1000) ++h;
  return static_cast<uint16_t>(h);
}

Column HalfColumn(const std::vector<float>& v, int64_t rows, int64_t dim) {
  Column c;
  c.type = DataType::kFloat16Vector;
  c.dim = dim;
  c.row_bytes = static_cast<size_t>(dim) * 2;
  c.num_rows = rows;
  c.fixed.resize(v.size() * 2);
  for (size_t i = 0; i < v.size(); ++i) {
    uint16_t h = FloatToHalf(v[i]);
    std::memcpy(c.fixed.data() + 2 * i, &h, 2);
  }
  return c;
}

Column BinaryColumn(const std::vector<uint8_t>& v, int64_t rows, int64_t dim_bits) {
  Column c;
  c.type = DataType::kBinaryVector;
  c.dim = dim_bits;
  c.row_bytes = static_cast<size_t>(dim_bits / 8);
  c.num_rows = rows;
  c.fixed = v;
  return c;
}

using SparseRow = std::vector<std::pair<uint32_t, float>>;

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

// Rows [begin, begin + n) of a fixed-width column.
Column Slice(const Column& c, int64_t begin, int64_t n) {
  Column s = c;
  s.num_rows = n;
  s.fixed.assign(c.fixed.begin() + begin * c.row_bytes, c.fixed.begin() + (begin + n) * c.row_bytes);
  s.valid.clear();
  return s;
}

// ---------------------------------------------------------------- data

// Clustered points with a low intrinsic dimension, as embeddings have: 64
// centres in [-1, 1]^64, each point a centre plus a random 8-d latent
// displacement (a per-cluster 64x8 map) plus a little isotropic noise.
// `queries` more points are drawn the same way (not in the base).
struct FloatData {
  Column base;
  Column queries;
};

const FloatData& Clustered() {
  static const FloatData data = [] {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    const int centres = 64, latent = 8;
    std::vector<float> c(centres * kDim), maps(centres * kDim * latent);
    for (float& x : c) x = uni(rng);
    for (float& x : maps) x = 0.15f * gauss(rng);
    auto draw = [&](int64_t n) {
      std::vector<float> v(n * kDim);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ci = rng() % centres;
        float z[latent];
        for (float& x : z) x = gauss(rng);
        for (int64_t j = 0; j < kDim; ++j) {
          float x = c[ci * kDim + j] + 0.02f * gauss(rng);
          for (int l = 0; l < latent; ++l) x += maps[(ci * kDim + j) * latent + l] * z[l];
          v[i * kDim + j] = x;
        }
      }
      return v;
    };
    FloatData d;
    d.base = FloatColumn(draw(kRows), kRows, kDim);
    d.queries = FloatColumn(draw(kQueries), kQueries, kDim);
    return d;
  }();
  return data;
}

struct BinaryData {
  Column base;
  Column queries;
};

constexpr int64_t kBits = 256;

const BinaryData& BinaryClustered() {
  static const BinaryData data = [] {
    std::mt19937 rng(7);
    const int centres = 64;
    const int64_t bytes = kBits / 8;
    std::vector<uint8_t> c(centres * bytes);
    for (uint8_t& x : c) x = static_cast<uint8_t>(rng());
    auto draw = [&](int64_t n) {
      std::vector<uint8_t> v(n * bytes);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ci = rng() % centres;
        for (int64_t j = 0; j < bytes; ++j) {
          uint8_t flips = 0;
          for (int b = 0; b < 8; ++b) flips |= static_cast<uint8_t>((rng() % 10 == 0) << b);
          v[i * bytes + j] = c[ci * bytes + j] ^ flips;
        }
      }
      return v;
    };
    BinaryData d;
    d.base = BinaryColumn(draw(kRows), kRows, kBits);
    d.queries = BinaryColumn(draw(kQueries), kQueries, kBits);
    return d;
  }();
  return data;
}

constexpr uint32_t kVocab = 3000;

struct SparseData {
  std::vector<SparseRow> base_rows;
  std::vector<SparseRow> query_rows;
  Column base;
  Column queries;
};

const SparseData& Sparse() {
  static const SparseData data = [] {
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> val(0.01f, 1.0f);
    auto row = [&](int nnz, uint32_t vocab) {
      std::set<uint32_t> dims;
      while (static_cast<int>(dims.size()) < nnz) dims.insert(static_cast<uint32_t>(rng() % vocab));
      SparseRow r;
      for (uint32_t d : dims) r.emplace_back(d, val(rng));
      return r;
    };
    SparseData d;
    for (int64_t i = 0; i < kRows; ++i) d.base_rows.push_back(row(20, kVocab));
    for (int64_t i = 0; i < kQueries; ++i) d.query_rows.push_back(row(8, kVocab));
    d.base = SparseColumn(d.base_rows);
    d.queries = SparseColumn(d.query_rows);
    return d;
  }();
  return data;
}

// ---------------------------------------------------------------- helpers

flat::ElemType ElemOf(DataType t) {
  switch (t) {
    case DataType::kFloat16Vector: return flat::ElemType::kFloat16;
    case DataType::kBFloat16Vector: return flat::ElemType::kBFloat16;
    case DataType::kInt8Vector: return flat::ElemType::kInt8;
    case DataType::kBinaryVector: return flat::ElemType::kBinary;
    default: return flat::ElemType::kFloat32;
  }
}

flat::Metric MetricOf(const std::string& m) {
  if (m == "L2") return flat::Metric::kL2;
  if (m == "IP") return flat::Metric::kIP;
  if (m == "COSINE") return flat::Metric::kCosine;
  if (m == "HAMMING") return flat::Metric::kHamming;
  return flat::Metric::kJaccard;
}

float SparseDot(const SparseRow& a, const SparseRow& b) {
  float s = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].first == b[j].first) {
      s += a[i++].second * b[j++].second;
    } else if (a[i].first < b[j].first) {
      ++i;
    } else {
      ++j;
    }
  }
  return s;
}

// The exact answer: flat::Search for dense columns, brute force over rows
// sharing a dimension with the query for sparse ones.
flat::Hits Exact(const Column& base, const Column& queries, const std::string& metric, int64_t k,
                 const uint8_t* filter = nullptr) {
  flat::Hits hits;
  if (base.type == DataType::kSparseFloatVector) {
    const SparseData& s = Sparse();
    hits.offsets.push_back(0);
    for (const SparseRow& q : s.query_rows) {
      std::vector<std::pair<float, int64_t>> all;
      std::vector<uint8_t> in_query(kVocab, 0);
      for (const auto& t : q) in_query[t.first] = 1;
      for (int64_t r = 0; r < base.num_rows; ++r) {
        if (filter && !filter[r]) continue;
        bool overlap = false;
        for (const auto& t : s.base_rows[r]) overlap |= in_query[t.first] != 0;
        if (overlap) all.emplace_back(-SparseDot(q, s.base_rows[r]), r);
      }
      std::sort(all.begin(), all.end());
      for (int64_t i = 0; i < std::min<int64_t>(k, all.size()); ++i) {
        hits.ids.push_back(all[i].second);
        hits.distances.push_back(-all[i].first);
      }
      hits.offsets.push_back(static_cast<int64_t>(hits.ids.size()));
    }
    return hits;
  }
  flat::Matrix b{base.fixed.data(), base.num_rows, base.dim, ElemOf(base.type)};
  flat::Matrix q{queries.fixed.data(), queries.num_rows, queries.dim, ElemOf(queries.type)};
  flat::SearchParams sp;
  sp.metric = MetricOf(metric);
  sp.k = k;
  sp.filter = filter;
  EXPECT_TRUE(flat::Search(q, b, sp, &hits).ok());
  return hits;
}

double Recall(const flat::Hits& got, const flat::Hits& want) {
  double sum = 0;
  const size_t nq = want.offsets.size() - 1;
  for (size_t q = 0; q < nq; ++q) {
    std::set<int64_t> truth(want.ids.begin() + want.offsets[q], want.ids.begin() + want.offsets[q + 1]);
    if (truth.empty()) {
      sum += 1;
      continue;
    }
    int64_t found = 0;
    for (int64_t i = got.offsets[q]; i < got.offsets[q + 1]; ++i) found += truth.count(got.ids[i]);
    sum += static_cast<double>(found) / static_cast<double>(truth.size());
  }
  return sum / static_cast<double>(nq);
}

flat::Hits MustSearch(const VectorIndex& index, const Column& base, const Column& queries, const SearchArgs& args) {
  flat::Hits hits;
  Status s = index.Search(base, queries, args, &hits);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return hits;
}

// One build thread: libgomp's worker threads spin-wait at every barrier
// (OMP_WAIT_POLICY is active by default), and on a loaded 2-core machine a
// 2-thread k-means ran 20x slower than a 1-thread one. Builds with more
// threads are exercised by BuildWithThreads.
std::unique_ptr<VectorIndex> MustBuild(const Params& params, const Column& column, int threads = 1) {
  auto r = BuildVectorIndex(params, column, threads);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<uint8_t> RandomFilter(int64_t rows, int keep_percent, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> f(rows);
  for (auto& b : f) b = static_cast<int>(rng() % 100) < keep_percent;
  return f;
}

// ---------------------------------------------------------------- per type

struct Case {
  std::string type;
  std::string metric;
  Params build;
  Params search;
  double floor;  // recall@10 with `search`
  enum Data { kFloat, kBinary, kSparse } data = kFloat;
  int64_t rows = kRows;  // a prefix of the data set (PQ training is the slow part of this binary)
};

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  std::string n = info.param.type + "_" + info.param.metric;
  for (const auto& [k, v] : info.param.build) {
    if (k == "with_raw_data") n += "_raw_" + v;
  }
  for (const auto& [k, v] : info.param.search) n += "_" + k + v;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

// Keeps gtest (and ctest's test names) from printing a Case as raw bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << CaseName({c, 0}); }

class IndexCaseTest : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const Case& c = GetParam();
    const Column& all = c.data == Case::kBinary ? BinaryClustered().base
                        : c.data == Case::kSparse ? Sparse().base
                                                  : Clustered().base;
    base_ = c.rows == all.num_rows ? all : Slice(all, 0, c.rows);
  }
  const Column& Base() const { return base_; }
  const Column& Queries() const {
    switch (GetParam().data) {
      case Case::kBinary: return BinaryClustered().queries;
      case Case::kSparse: return Sparse().queries;
      default: return Clustered().queries;
    }
  }
  Params BuildParams() const {
    Params p = GetParam().build;
    p["index_type"] = GetParam().type;
    p["metric_type"] = GetParam().metric;
    return p;
  }
  // Cases that differ only in search params share one build.
  const VectorIndex* Index() const {
    static std::map<std::string, std::unique_ptr<VectorIndex>> cache;
    std::string key = std::to_string(GetParam().rows);
    for (const auto& [k, v] : BuildParams()) key += "|" + k + "=" + v;
    auto& slot = cache[key];
    if (!slot) slot = MustBuild(BuildParams(), Base());
    return slot.get();
  }

  Column base_;
};

TEST_P(IndexCaseTest, RecallSerializeFilter) {
  const Case& c = GetParam();
  const VectorIndex* index = Index();
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->type(), c.type);
  EXPECT_EQ(index->rows(), c.rows);
  SearchArgs args;
  args.k = kK;
  args.params = c.search;

  // Recall against the exact answer.
  const flat::Hits want = Exact(Base(), Queries(), c.metric, kK);
  const flat::Hits got = MustSearch(*index, Base(), Queries(), args);
  const double recall = Recall(got, want);
  std::printf("[ recall ] %-22s %-8s %-22s %.4f\n", c.type.c_str(), c.metric.c_str(), CaseName({c, 0}).c_str(),
              recall);
  EXPECT_GE(recall, c.floor);
  for (size_t q = 0; q + 1 < got.offsets.size(); ++q) {
    EXPECT_EQ(got.offsets[q + 1] - got.offsets[q], kK) << "query " << q;
  }
  // Distances of rows found by both agree with the exact ones (unless the
  // index reports quantised distances, or scores only some query terms).
  const bool drops_terms = c.search.count("drop_ratio_search") && c.search.at("drop_ratio_search") != "0";
  const bool no_refine = c.build.count("with_raw_data") && c.build.at("with_raw_data") == "false";
  const bool approx_distances = c.type == "IVF_SQ8" || c.type == "IVF_PQ" || drops_terms || no_refine;
  // Best first, whatever the distances are.
  const bool higher = c.metric == "IP" || c.metric == "COSINE";
  for (size_t q = 0; q + 1 < got.offsets.size(); ++q) {
    for (int64_t i = got.offsets[q] + 1; i < got.offsets[q + 1]; ++i) {
      EXPECT_TRUE(higher ? got.distances[i - 1] >= got.distances[i] : got.distances[i - 1] <= got.distances[i])
          << "query " << q << " position " << i - got.offsets[q];
    }
  }
  if (approx_distances && !want.ids.empty() && !got.ids.empty()) {  // same sign and scale as the exact ones
    EXPECT_NEAR(got.distances[0], want.distances[0], 0.5 * std::max(1.0f, std::fabs(want.distances[0])));
  }
  if (!approx_distances) {
    for (size_t q = 0; q + 1 < got.offsets.size(); ++q) {
      for (int64_t i = got.offsets[q]; i < got.offsets[q + 1]; ++i) {
        for (int64_t j = want.offsets[q]; j < want.offsets[q + 1]; ++j) {
          if (want.ids[j] == got.ids[i]) {
            EXPECT_NEAR(got.distances[i], want.distances[j], 1e-3 * std::max(1.0f, std::fabs(want.distances[j])));
          }
        }
      }
    }
  }

  // Serialize -> load -> identical results.
  std::string bytes;
  ASSERT_TRUE(index->Serialize(&bytes).ok());
  auto loaded = LoadVectorIndex(BuildParams(), bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const flat::Hits again = MustSearch(**loaded, Base(), Queries(), args);
  EXPECT_EQ(again.ids, got.ids);
  EXPECT_EQ(again.distances, got.distances);
  EXPECT_EQ((*loaded)->rows(), c.rows);

  // A filter keeping half the rows: no filtered-out row comes back.
  std::vector<uint8_t> half = RandomFilter(c.rows, 50, 1);
  args.filter = half.data();
  const flat::Hits f50 = MustSearch(*index, Base(), Queries(), args);
  for (int64_t id : f50.ids) ASSERT_TRUE(half[id]) << "row " << id << " is filtered out";
  EXPECT_GE(Recall(f50, Exact(Base(), Queries(), c.metric, kK, half.data())), c.floor - 0.1);

  // A filter keeping 10%: still k hits per query (each query has >= k
  // candidates; sparse queries may share dimensions with fewer rows).
  std::vector<uint8_t> tenth = RandomFilter(c.rows, 10, 2);
  args.filter = tenth.data();
  args.filter_passing = std::count(tenth.begin(), tenth.end(), 1);
  const flat::Hits f10 = MustSearch(*index, Base(), Queries(), args);
  const flat::Hits f10_exact = Exact(Base(), Queries(), c.metric, kK, tenth.data());
  for (int64_t id : f10.ids) ASSERT_TRUE(tenth[id]) << "row " << id << " is filtered out";
  for (size_t q = 0; q + 1 < f10.offsets.size(); ++q) {
    const int64_t got_n = f10.offsets[q + 1] - f10.offsets[q];
    const int64_t want_n = f10_exact.offsets[q + 1] - f10_exact.offsets[q];
    if (drops_terms) {  // fewer terms, fewer candidate rows
      EXPECT_LE(got_n, want_n) << "query " << q;
    } else {
      EXPECT_EQ(got_n, want_n) << "query " << q;
    }
  }
}

Params P(std::initializer_list<std::pair<const std::string, std::string>> kv) { return Params(kv); }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const std::string m : {"L2", "IP", "COSINE"}) {
    cases.push_back({"FLAT", m, {}, {}, 1.0});
    cases.push_back({"IVF_FLAT", m, P({{"nlist", "128"}}), P({{"nprobe", "128"}}), 1.0});
    cases.push_back({"IVF_FLAT", m, P({{"nlist", "128"}}), {}, 0.9});
    cases.push_back({"IVF_SQ8", m, P({{"nlist", "128"}}), P({{"nprobe", "16"}}), 0.85});
    cases.push_back({"IVF_PQ", m, P({{"nlist", "64"}, {"m", "16"}}), P({{"nprobe", "16"}}), 0.5, Case::kFloat, 5000});
    cases.push_back({"SCANN", m, P({{"nlist", "128"}}), P({{"nprobe", "16"}, {"reorder_k", "50"}}), 0.9});
    cases.push_back({"SCANN", m, P({{"nlist", "128"}}), {}, 0.5});  // nprobe 8, reorder_k = k
    cases.push_back({"SCANN", m, P({{"nlist", "128"}, {"with_raw_data", "false"}}), P({{"nprobe", "16"}}), 0.5});
    cases.push_back({"HNSW", m, P({{"M", "16"}, {"efConstruction", "64"}}), P({{"ef", "64"}}), 0.95});
    cases.push_back({"HNSW", m, P({{"M", "16"}, {"efConstruction", "64"}}), {}, 0.8});  // ef = k
  }
  for (const std::string m : {"HAMMING", "JACCARD"}) {
    cases.push_back({"BIN_FLAT", m, {}, {}, 1.0, Case::kBinary});
    cases.push_back({"BIN_IVF_FLAT", m, P({{"nlist", "64"}}), P({{"nprobe", "64"}}), 1.0, Case::kBinary});
    cases.push_back({"BIN_IVF_FLAT", m, P({{"nlist", "64"}}), {}, 0.9, Case::kBinary});
  }
  cases.push_back({"SPARSE_INVERTED_INDEX", "IP", {}, {}, 1.0, Case::kSparse});
  cases.push_back({"SPARSE_WAND", "IP", {}, P({{"drop_ratio_search", "0"}}), 1.0, Case::kSparse});
  cases.push_back({"SPARSE_INVERTED_INDEX", "IP", {}, P({{"drop_ratio_search", "0.3"}}), 0.6, Case::kSparse});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(All, IndexCaseTest, testing::ValuesIn(Cases()), CaseName);

// ---------------------------------------------------------------- other types

// Float16 / BFloat16 / Int8 columns are converted to float32 for Faiss (by
// index_util's converters); with every list probed, IVF_FLAT must find what
// flat::Search finds over the same column, and the graph and PQ indexes
// must stay close to it.
Column ConvertedColumn(DataType type, const Column& src, int64_t rows) {
  std::vector<float> v(static_cast<size_t>(rows * kDim));
  std::memcpy(v.data(), src.fixed.data(), v.size() * 4);
  if (type == DataType::kFloat16Vector) return HalfColumn(v, rows, kDim);
  Column c;
  c.type = type;
  c.dim = kDim;
  c.num_rows = rows;
  if (type == DataType::kBFloat16Vector) {
    c.row_bytes = kDim * 2;
    for (float f : v) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      const auto h = static_cast<uint16_t>(bits >> 16);
      c.fixed.push_back(static_cast<uint8_t>(h & 0xff));
      c.fixed.push_back(static_cast<uint8_t>(h >> 8));
    }
  } else {  // Int8Vector
    c.row_bytes = kDim;
    for (float f : v) c.fixed.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::lround(f * 50.0f))));
  }
  return c;
}

TEST(VectorIndexTest, HalfAndInt8Columns) {
  for (const DataType type : {DataType::kFloat16Vector, DataType::kBFloat16Vector, DataType::kInt8Vector}) {
    const Column base = ConvertedColumn(type, Clustered().base, 3000);
    const Column queries = ConvertedColumn(type, Clustered().queries, kQueries);
    for (const std::string metric : {"L2", "COSINE"}) {
      for (const std::string index_type : {"IVF_FLAT", "HNSW", "SCANN"}) {
        if (index_type != "IVF_FLAT" && (type != DataType::kFloat16Vector || metric != "COSINE")) continue;
        auto index = MustBuild({{"index_type", index_type},
                                {"metric_type", metric},
                                {"nlist", "16"},
                                {"M", "16"},
                                {"efConstruction", "64"}},
                               base);
        ASSERT_NE(index, nullptr);
        SearchArgs args;
        args.k = kK;
        args.params = {{"nprobe", "16"}, {"ef", "64"}, {"reorder_k", "100"}};
        const double recall = Recall(MustSearch(*index, base, queries, args), Exact(base, queries, metric, kK));
        EXPECT_GE(recall, index_type == "IVF_FLAT" ? 0.99 : 0.95)
            << DataTypeName(type) << " " << metric << " " << index_type;
      }
    }
  }
}

// Milvus's other graph indexes are served by the HNSW graph, IVF_RABITQ by
// IVF_FLAT: they build, round-trip through their bytes and find each row as
// its own neighbour.
TEST(VectorIndexTest, GraphIndexTypesShareTheHnswGraph) {
  const Column base = Slice(Clustered().base, 0, 500);
  for (const std::string type : {"DISKANN", "HNSW_SQ", "HNSW_PQ", "HNSW_PRQ", "IVF_RABITQ"}) {
    const Params params = {{"index_type", type}, {"metric_type", "L2"}, {"nlist", "8"}};
    auto index = MustBuild(params, base);
    ASSERT_NE(index, nullptr) << type;
    std::string bytes;
    ASSERT_TRUE(index->Serialize(&bytes).ok()) << type;
    auto loaded = LoadVectorIndex(params, bytes);
    ASSERT_TRUE(loaded.ok()) << type << ": " << loaded.status().message();
    SearchArgs args;
    args.k = 1;
    const Column self = Slice(base, 42, 1);
    flat::Hits hits;
    ASSERT_TRUE((*loaded)->Search(base, self, args, &hits).ok()) << type;
    ASSERT_EQ(hits.ids.size(), 1u);
    EXPECT_EQ(hits.ids[0], 42) << type;
  }
}

// Builds with 2 threads give an index as good as one built with 1.
TEST(VectorIndexTest, BuildWithThreads) {
  const Column base = Slice(Clustered().base, 0, 4000);
  const Column& queries = Clustered().queries;
  for (const std::string type : {"IVF_FLAT", "HNSW"}) {
    auto index = MustBuild(
        {{"index_type", type}, {"metric_type", "L2"}, {"nlist", "16"}, {"M", "16"}, {"efConstruction", "64"}}, base, 2);
    ASSERT_NE(index, nullptr);
    SearchArgs args;
    args.k = kK;
    args.params = {{"nprobe", "16"}, {"ef", "64"}};
    EXPECT_GE(Recall(MustSearch(*index, base, queries, args), Exact(base, queries, "L2", kK)), 0.95) << type;
  }
}

// ---------------------------------------------------------------- nulls

std::vector<Params> AllFloatTypes() {
  std::vector<Params> out;
  for (const std::string t : {"FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "SCANN", "HNSW"}) {
    out.push_back({{"index_type", t},
                   {"metric_type", "L2"},
                   {"nlist", "16"},
                   {"m", "8"},
                   {"nbits", "4"},
                   {"M", "16"},
                   {"efConstruction", "64"}});
  }
  return out;
}

TEST(VectorIndexTest, NullRowsAreNeverReturned) {
  Column base = Slice(Clustered().base, 0, 2000);
  base.valid.assign(2000, 1);
  for (int64_t r = 0; r < 2000; r += 3) {
    base.valid[r] = 0;
    std::fill(base.fixed.begin() + r * base.row_bytes, base.fixed.begin() + (r + 1) * base.row_bytes, 0);
  }
  // Queries at the zero vector would find null rows first if they were indexed.
  Column queries = Slice(Clustered().queries, 0, 4);
  std::fill(queries.fixed.begin(), queries.fixed.begin() + queries.row_bytes, 0);
  std::vector<uint8_t> filter = RandomFilter(2000, 50, 3);
  for (const Params& p : AllFloatTypes()) {
    auto index = MustBuild(p, base);
    ASSERT_NE(index, nullptr);
    for (const uint8_t* f : {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(filter.data())}) {
      SearchArgs args;
      args.k = 50;
      args.filter = f;
      std::string bytes;
      ASSERT_TRUE(index->Serialize(&bytes).ok());
      auto loaded = LoadVectorIndex(p, bytes);
      ASSERT_TRUE(loaded.ok());
      for (const VectorIndex* idx : {index.get(), loaded->get()}) {
        const flat::Hits hits = MustSearch(*idx, base, queries, args);
        EXPECT_EQ(hits.ids.size(), 4u * 50) << p.at("index_type");
        for (int64_t id : hits.ids) {
          ASSERT_TRUE(base.valid[id]) << p.at("index_type") << " returned null row " << id;
          if (f) {
            ASSERT_TRUE(f[id]);
          }
        }
      }
    }
  }
  // Binary and sparse.
  Column bin = Slice(BinaryClustered().base, 0, 2000);
  bin.valid = base.valid;
  for (const std::string t : {"BIN_FLAT", "BIN_IVF_FLAT"}) {
    auto index = MustBuild({{"index_type", t}, {"metric_type", "JACCARD"}, {"nlist", "16"}}, bin);
    SearchArgs args;
    args.k = 50;
    const flat::Hits hits = MustSearch(*index, bin, Slice(BinaryClustered().queries, 0, 4), args);
    EXPECT_EQ(hits.ids.size(), 4u * 50);
    for (int64_t id : hits.ids) ASSERT_TRUE(bin.valid[id]) << t;
  }
  std::vector<SparseRow> rows(Sparse().base_rows.begin(), Sparse().base_rows.begin() + 2000);
  for (int64_t r = 0; r < 2000; r += 3) rows[r].clear();
  Column sparse = SparseColumn(rows);
  sparse.valid = base.valid;
  auto index = MustBuild({{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}}, sparse);
  SearchArgs args;
  args.k = 50;
  const flat::Hits hits = MustSearch(*index, sparse, Sparse().queries, args);
  EXPECT_FALSE(hits.ids.empty());
  for (int64_t id : hits.ids) ASSERT_TRUE(sparse.valid[id]);
}

// ---------------------------------------------------------------- tiny segments

TEST(VectorIndexTest, TinySegmentsBuildAndSearch) {
  const Column queries = Slice(Clustered().queries, 0, 3);
  std::vector<Params> all = AllFloatTypes();
  for (Params& p : all) p.erase("nbits");  // PQ with default nbits 8: too few rows to train
  auto sorted = [](std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const int64_t n : {0, 1, 5, 50}) {
    const Column base = Slice(Clustered().base, 0, n);
    SearchArgs args;
    args.k = 5;
    args.params = {{"nprobe", "1000"}, {"reorder_k", "50"}};
    const flat::Hits want = Exact(base, queries, "L2", 5);
    for (const Params& p : all) {
      auto index = MustBuild(p, base);
      ASSERT_NE(index, nullptr) << p.at("index_type") << " rows " << n;
      const flat::Hits hits = MustSearch(*index, base, queries, args);
      ASSERT_EQ(hits.offsets, want.offsets) << p.at("index_type") << " rows " << n;
      if (n <= 5) {  // k >= rows: every row, in whatever order
        for (size_t q = 0; q < 3; ++q) {
          std::vector<int64_t> a(hits.ids.begin() + hits.offsets[q], hits.ids.begin() + hits.offsets[q + 1]);
          std::vector<int64_t> b(want.ids.begin() + want.offsets[q], want.ids.begin() + want.offsets[q + 1]);
          EXPECT_EQ(sorted(a), sorted(b)) << p.at("index_type") << " rows " << n;
        }
      }
      std::string bytes;
      ASSERT_TRUE(index->Serialize(&bytes).ok());
      ASSERT_TRUE(LoadVectorIndex(p, bytes).ok()) << p.at("index_type") << " rows " << n;
    }
    const Column bin = Slice(BinaryClustered().base, 0, n);
    auto index = MustBuild({{"index_type", "BIN_IVF_FLAT"}, {"metric_type", "HAMMING"}}, bin);
    ASSERT_NE(index, nullptr);
    const Column bq = Slice(BinaryClustered().queries, 0, 3);
    EXPECT_EQ(MustSearch(*index, bin, bq, args).ids, Exact(bin, bq, "HAMMING", 5).ids) << "rows " << n;
  }
}

// ---------------------------------------------------------------- errors

void ExpectInvalid(const Status& s, const std::string& needle) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

TEST(VectorIndexTest, BadBuildParamsAreRejected) {
  const Column base = Slice(Clustered().base, 0, 100);
  auto build = [&](Params p) { return BuildVectorIndex(p, base, 1).status(); };
  ExpectInvalid(build({{"index_type", "IVF_FLAT"}, {"metric_type", "L2"}, {"nlist", "0"}}),
                "param 'nlist' (0) should be in range [1, 65536]");
  ExpectInvalid(build({{"index_type", "IVF_SQ8"}, {"metric_type", "L2"}, {"nlist", "70000"}}), "'nlist' (70000)");
  ExpectInvalid(build({{"index_type", "IVF_FLAT"}, {"metric_type", "L2"}, {"nlist", "12x"}}), "'nlist' (12x)");
  ExpectInvalid(build({{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"m", "7"}}), "'m' (7)");
  ExpectInvalid(build({{"index_type", "IVF_PQ"}, {"metric_type", "L2"}, {"nbits", "17"}}), "'nbits' (17)");
  ExpectInvalid(build({{"index_type", "HNSW"}, {"metric_type", "L2"}, {"M", "1"}}), "'M' (1)");
  ExpectInvalid(build({{"index_type", "HNSW"}, {"metric_type", "L2"}, {"efConstruction", "-5"}}),
                "'efConstruction' (-5)");
  ExpectInvalid(build({{"index_type", "SCANN"}, {"metric_type", "L2"}, {"with_raw_data", "maybe"}}),
                "'with_raw_data' (maybe)");
  ExpectInvalid(build({{"index_type", "HNSW"}, {"metric_type", "HAMMING"}}), "HAMMING");
  ExpectInvalid(build({{"index_type", "FLAT"}, {"metric_type", "MANHATTAN"}}), "MANHATTAN");
  ExpectInvalid(build({{"index_type", "BIN_FLAT"}, {"metric_type", "HAMMING"}}), "BinaryVector");
  ExpectInvalid(build({{"index_type", "SPARSE_WAND"}, {"metric_type", "IP"}}), "SparseFloatVector");
  EXPECT_EQ(build({{"index_type", "MINHASH_LSH"}, {"metric_type", "L2"}}).code(), StatusCode::kUnimplemented);
  const Column bin = Slice(BinaryClustered().base, 0, 100);
  ExpectInvalid(BuildVectorIndex({{"index_type", "BIN_IVF_FLAT"}, {"metric_type", "L2"}}, bin, 1).status(), "L2");
}

TEST(VectorIndexTest, BadSearchParamsAreRejected) {
  const Column base = Slice(Clustered().base, 0, 500);
  const Column queries = Slice(Clustered().queries, 0, 2);
  struct Bad {
    std::string type, key, value;
  };
  for (const Bad& b : std::vector<Bad>{{"IVF_FLAT", "nprobe", "0"},
                                       {"IVF_PQ", "nprobe", "65537"},
                                       {"SCANN", "reorder_k", "0"},
                                       {"HNSW", "ef", "0"},
                                       {"HNSW", "ef", "abc"}}) {
    auto index = MustBuild({{"index_type", b.type}, {"metric_type", "L2"}, {"nbits", "4"}}, base);
    ASSERT_NE(index, nullptr);
    SearchArgs args;
    args.params = {{b.key, b.value}};
    flat::Hits hits;
    ExpectInvalid(index->Search(base, queries, args, &hits), "param '" + b.key + "' (" + b.value + ")");
  }
  auto sparse = MustBuild({{"index_type", "SPARSE_INVERTED_INDEX"}, {"metric_type", "IP"}}, Sparse().base);
  SearchArgs args;
  args.params = {{"drop_ratio_search", "1"}};
  flat::Hits hits;
  ExpectInvalid(sparse->Search(Sparse().base, Sparse().queries, args, &hits),
                "param 'drop_ratio_search' (1) should be in range [0, 1)");
  // Queries of another type or dim.
  auto flat_index = MustBuild({{"index_type", "FLAT"}, {"metric_type", "L2"}}, base);
  EXPECT_EQ(flat_index->Search(base, BinaryClustered().queries, SearchArgs{}, &hits).code(),
            StatusCode::kInvalidArgument);
  // Unknown keys are ignored.
  args.params = {{"whatever", "x"}};
  EXPECT_TRUE(flat_index->Search(base, queries, args, &hits).ok());
}

TEST(VectorIndexTest, LoadRejectsWrongParamsAndBrokenBytes) {
  const Column base = Slice(Clustered().base, 0, 2000);
  const Params p = {{"index_type", "IVF_FLAT"}, {"metric_type", "L2"}, {"nlist", "16"}};
  auto index = MustBuild(p, base);
  std::string bytes;
  ASSERT_TRUE(index->Serialize(&bytes).ok());
  EXPECT_FALSE(LoadVectorIndex({{"index_type", "IVF_FLAT"}, {"metric_type", "IP"}}, bytes).ok());
  EXPECT_FALSE(LoadVectorIndex({{"index_type", "HNSW"}, {"metric_type", "L2"}}, bytes).ok());
  for (size_t cut : {size_t{3}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    auto r = LoadVectorIndex(p, std::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(r.ok()) << cut;
  }
  EXPECT_FALSE(LoadVectorIndex(p, bytes + "x").ok());
}

// ---------------------------------------------------------------- threads

int ThreadCount() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

// Faiss searches run under OmpThreads(1): a search from a fresh thread (whose
// OpenMP default would be a team of all cores) starts no OpenMP thread, and
// concurrent searches agree with a sequential one.
TEST(VectorIndexTest, SearchUsesTheCallingThreadAndIsThreadSafe) {
  const Column base = Slice(Clustered().base, 0, 5000);
  const Column& queries = Clustered().queries;
  for (const std::string t : {"IVF_FLAT", "SCANN", "HNSW"}) {
    auto index = MustBuild(
        {{"index_type", t}, {"metric_type", "L2"}, {"nlist", "32"}, {"M", "16"}, {"efConstruction", "64"}}, base);
    SearchArgs args;
    args.k = kK;
    const flat::Hits first = MustSearch(*index, base, queries, args);  // warms any BLAS pool
    int before = 0, after = 0;
    std::thread([&] {
      before = ThreadCount();
      MustSearch(*index, base, queries, args);
      after = ThreadCount();
    }).join();
    EXPECT_EQ(after, before) << t;
    std::vector<std::thread> threads;
    std::vector<flat::Hits> results(4);
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        SearchArgs a = args;
        a.params = {{"nprobe", std::to_string(4 + i)}};  // SCANN: different nprobe at the same time
        results[i] = MustSearch(*index, base, queries, a);
      });
    }
    for (auto& th : threads) th.join();
    for (int i = 0; i < 4; ++i) {
      SearchArgs a = args;
      a.params = {{"nprobe", std::to_string(4 + i)}};
      EXPECT_EQ(results[i].ids, MustSearch(*index, base, queries, a).ids) << t;
    }
  }
}

}  // namespace
}  // namespace kite::index
