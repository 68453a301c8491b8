// What Faiss 1.7.3 (Debian's libfaiss-dev) does with SearchParameters::sel,
// checked directly against Faiss: the adapters in this directory rely on
// these facts, and a Faiss upgrade that changes one of them fails here first.
//
//   IndexIVFFlat / IndexIVFScalarQuantizer / IndexIVFPQ   honour sel
//   IndexHNSWFlat                                         honours sel
//   IndexIVFPQFastScan::search                            rejects any params
//   IndexBinaryIVF::search                                rejects any params
//   IndexBinaryIVF::search_preassigned                    ignores sel
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexIVFPQFastScan.h>
#include <faiss/IndexScalarQuantizer.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "index/faiss/faiss_util.h"

namespace kite::index::internal {
namespace {

constexpr int kD = 32;
constexpr int kN = 4000;
constexpr int kNq = 8;
constexpr int kK = 10;

std::vector<float> Data(int n) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  std::vector<float> x(static_cast<size_t>(n) * kD);
  for (float& v : x) v = g(rng);
  return x;
}

// Keeps rows whose number is 3 mod 10 (10%).
std::vector<uint8_t> TenthMask() {
  std::vector<uint8_t> m(kN);
  for (int i = 0; i < kN; ++i) m[i] = i % 10 == 3;
  return m;
}

// Counts returned labels outside the mask and missing results.
void Check(const std::vector<faiss::Index::idx_t>& labels, const std::vector<uint8_t>& mask, const char* what) {
  int bad = 0, missing = 0;
  for (auto l : labels) {
    if (l < 0) {
      ++missing;
    } else if (!mask[l]) {
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what;
  EXPECT_EQ(missing, 0) << what;
}

TEST(Faiss173SelectorTest, IvfAndHnswHonourSel) {
  OmpThreads one(1);  // see vector_index_test.cc on OpenMP spinning
  const std::vector<float> x = Data(kN);
  const std::vector<uint8_t> mask = TenthMask();
  MaskSelector sel(mask.data(), nullptr);
  std::vector<float> d(kNq * kK);
  std::vector<faiss::Index::idx_t> l(kNq * kK);

  faiss::IndexFlatL2 q1(kD), q2(kD), q3(kD);
  faiss::IndexIVFFlat ivf_flat(&q1, kD, 16);
  faiss::IndexIVFScalarQuantizer ivf_sq(&q2, kD, 16, faiss::ScalarQuantizer::QT_8bit);
  faiss::IndexIVFPQ ivf_pq(&q3, kD, 16, 8, 4);
  for (faiss::IndexIVF* ivf : std::initializer_list<faiss::IndexIVF*>{&ivf_flat, &ivf_sq, &ivf_pq}) {
    ivf->train(kN, x.data());
    ivf->add(kN, x.data());
    faiss::SearchParametersIVF p;
    p.nprobe = 8;
    p.sel = &sel;
    ivf->search(kNq, x.data(), kK, d.data(), l.data(), &p);
    Check(l, mask, "ivf");
  }
  faiss::IndexHNSWFlat hnsw(kD, 16);
  hnsw.add(kN, x.data());
  faiss::SearchParametersHNSW hp;
  hp.efSearch = 32;
  hp.sel = &sel;
  hnsw.search(kNq, x.data(), kK, d.data(), l.data(), &hp);
  Check(l, mask, "hnsw");
}

TEST(Faiss173SelectorTest, FastScanAndBinaryIvfRejectParams) {
  OmpThreads one(1);
  const std::vector<float> x = Data(kN);
  faiss::IndexFlatL2 q(kD);
  faiss::IndexIVFPQFastScan fs(&q, kD, 16, 16, 4);
  fs.train(kN, x.data());
  fs.add(kN, x.data());
  std::vector<float> d(kNq * kK);
  std::vector<faiss::Index::idx_t> l(kNq * kK);
  faiss::SearchParametersIVF p;
  p.nprobe = 4;
  EXPECT_ANY_THROW(fs.search(kNq, x.data(), kK, d.data(), l.data(), &p));

  std::vector<uint8_t> codes(static_cast<size_t>(kN) * kD / 8);
  std::mt19937 rng(3);
  for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
  faiss::IndexBinaryFlat bq(kD);
  faiss::IndexBinaryIVF bivf(&bq, kD, 16);
  bivf.train(kN, codes.data());
  bivf.add(kN, codes.data());
  std::vector<int32_t> bd(kNq * kK);
  EXPECT_ANY_THROW(bivf.search(kNq, codes.data(), kK, bd.data(), l.data(), &p));

  // search_preassigned takes IVF params but does not filter.
  const std::vector<uint8_t> mask = TenthMask();
  MaskSelector sel(mask.data(), nullptr);
  p.sel = &sel;
  std::vector<int32_t> cd(kNq * 4);
  std::vector<faiss::Index::idx_t> assign(kNq * 4);
  bq.search(kNq, codes.data(), 4, cd.data(), assign.data());
  bivf.search_preassigned(kNq, codes.data(), kK, assign.data(), cd.data(), bd.data(), l.data(), false, &p);
  int outside = 0;
  for (auto id : l) outside += id >= 0 && !mask[id];
  EXPECT_GT(outside, 0);
}

TEST(Faiss173SelectorTest, OmpThreadsIsPerThread) {
  const int outer = omp_get_max_threads();
  int inner = 0, restored = 0;
  std::thread([&] {
    const int before = omp_get_max_threads();
    {
      OmpThreads one(1);
      inner = omp_get_max_threads();
      EXPECT_EQ(omp_get_max_threads(), 1);
    }
    restored = omp_get_max_threads() == before;
  }).join();
  EXPECT_EQ(inner, 1);
  EXPECT_TRUE(restored);
  EXPECT_EQ(omp_get_max_threads(), outer);
}

}  // namespace
}  // namespace kite::index::internal
