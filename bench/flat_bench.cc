// kite_flat_bench: flat::Search on 1M x 128 float32 random vectors (fixed
// seed, generated in-process) against the machine's memory bandwidth and
// Faiss's brute force on the same data, in the same process.
//
//   ./bench/kite_flat_bench                       # everything, then a summary
//   ./bench/kite_flat_bench --benchmark_filter=nq1 --benchmark_repetitions=5
// The summary takes each case's best repetition (the machine is shared).
//
// Cases: nq=1 L2 / IP / COSINE k=10; nq=1 L2 with 1% and 99% of rows passing a
// filter (both with Kite's default policy and with each filter strategy
// forced); nq=1000 L2 / IP; nq 2..32 through the scan and the GEMM path
// (where the crossover Tuning::gemm_min_queries comes from); float16 and
// binary scans. The summary after the runs reports, per case, bytes scanned /
// time, that rate as a fraction of the measured single-core streaming
// bandwidth, and Kite's time / Faiss's time where Faiss has the same case.
//
// Threads: nq=1 cases run on one thread in both engines (Faiss only
// parallelises over queries). Batches use OpenBLAS's threads in both
// (OPENBLAS_NUM_THREADS), Faiss also its OpenMP threads for the heaps.
// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on _mm512_reduce_*.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "index/flat/flat_search.h"
#include "index/flat/kernels.h"

#ifdef KITE_HAVE_FAISS
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/distances.h>
#endif

namespace {

using kite::flat::ElemType;
using kite::flat::Hits;
using kite::flat::Matrix;
using kite::flat::Metric;
using kite::flat::SearchParams;
namespace internal = kite::flat::internal;

constexpr int64_t kRows = 1'000'000;
constexpr int64_t kDim = 128;
constexpr int64_t kQueries = 1000;
constexpr int64_t kK = 10;

struct Data {
  std::vector<float> base;     // kRows x kDim
  std::vector<float> queries;  // kQueries x kDim
  std::vector<uint16_t> base_f16;
  std::vector<uint16_t> queries_f16;
  std::vector<uint8_t> base_bits;  // kRows x kDim bits
  std::vector<uint8_t> queries_bits;
  std::vector<uint8_t> filter1, filter99;              // one byte per row
  std::vector<uint8_t> filter1_bitmap, filter99_bitmap;  // Faiss: one bit per row
  int64_t pass1 = 0, pass99 = 0;
};

__attribute__((target("f16c"))) uint16_t FloatToHalf(float f) {  // round to nearest even
  return static_cast<uint16_t>(_cvtss_sh(f, 0));
}

std::vector<uint8_t> Bitmap(const std::vector<uint8_t>& f) {
  std::vector<uint8_t> bm((f.size() + 7) / 8, 0);
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i]) bm[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  return bm;
}

const Data& GetData() {
  static const Data* data = [] {
    auto* d = new Data;
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    d->base.resize(kRows * kDim);
    for (float& v : d->base) v = uni(rng);
    d->queries.resize(kQueries * kDim);
    for (float& v : d->queries) v = uni(rng);
    d->base_f16.resize(d->base.size());
    for (size_t i = 0; i < d->base.size(); ++i) d->base_f16[i] = FloatToHalf(d->base[i]);
    d->queries_f16.resize(d->queries.size());
    for (size_t i = 0; i < d->queries.size(); ++i) d->queries_f16[i] = FloatToHalf(d->queries[i]);
    d->base_bits.resize(kRows * kDim / 8);
    for (auto& b : d->base_bits) b = static_cast<uint8_t>(rng());
    d->queries_bits.resize(kQueries * kDim / 8);
    for (auto& b : d->queries_bits) b = static_cast<uint8_t>(rng());
    std::bernoulli_distribution p1(0.01), p99(0.99);
    d->filter1.resize(kRows);
    d->filter99.resize(kRows);
    for (int64_t i = 0; i < kRows; ++i) {
      d->filter1[i] = p1(rng);
      d->filter99[i] = p99(rng);
      d->pass1 += d->filter1[i];
      d->pass99 += d->filter99[i];
    }
    d->filter1_bitmap = Bitmap(d->filter1);
    d->filter99_bitmap = Bitmap(d->filter99);
    return d;
  }();
  return *data;
}


// ---- memory bandwidth: streaming sum over the 512 MB base ------------------

// Sums the floats of four quarters of [p, p + n) in parallel: four
// sequential streams, the pattern the scan kernels read (one stream reaches
// a few percent less on this machine).
__attribute__((target("avx512f"))) float StreamSum512(const float* p, int64_t n) {
  const int64_t q = n / 4 / 16 * 16;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < q; i += 16) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + q + i));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + 2 * q + i));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + 3 * q + i));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2"))) float StreamSum256(const float* p, int64_t n) {
  const int64_t q = n / 4 / 8 * 8;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < q; i += 8) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + q + i));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + 2 * q + i));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + 3 * q + i));
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

void BM_MemoryBandwidth(benchmark::State& state) {
  const Data& d = GetData();
  const bool avx512 = __builtin_cpu_supports("avx512f");
  for (auto _ : state) {
    float s = avx512 ? StreamSum512(d.base.data(), kRows * kDim) : StreamSum256(d.base.data(), kRows * kDim);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * kRows * kDim * 4);
}
BENCHMARK(BM_MemoryBandwidth)->Name("bandwidth/stream_sum_512MB")->Unit(benchmark::kMillisecond);

// ---- Kite --------------------------------------------------------------------

void RunKite(benchmark::State& state, const Matrix& q, const Matrix& b, const SearchParams& p, double bytes) {
  Hits hits;
  for (auto _ : state) {
    kite::Status s = kite::flat::Search(q, b, p, &hits);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(hits.ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["qps"] =
      benchmark::Counter(static_cast<double>(q.rows) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes_scanned"] = bytes;  // per call, for the summary
}

Matrix BaseF32() { return Matrix{GetData().base.data(), kRows, kDim, ElemType::kFloat32}; }
Matrix QueriesF32(int64_t nq) { return Matrix{GetData().queries.data(), nq, kDim, ElemType::kFloat32}; }

void BM_Kite_Nq1(benchmark::State& state, Metric metric) {
  SearchParams p;
  p.metric = metric;
  p.k = kK;
  RunKite(state, QueriesF32(1), BaseF32(), p, kRows * kDim * 4.0);
}
BENCHMARK_CAPTURE(BM_Kite_Nq1, L2, Metric::kL2)->Name("kite/nq1/L2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Nq1, IP, Metric::kIP)->Name("kite/nq1/IP")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Nq1, COSINE, Metric::kCosine)->Name("kite/nq1/COSINE")->Unit(benchmark::kMillisecond);

// Each kernel level on the same scan.
void BM_Kite_Nq1_Level(benchmark::State& state, internal::Level level) {
  if (!internal::ForceLevel(level)) {
    state.SkipWithError("level not supported on this CPU");
    return;
  }
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  RunKite(state, QueriesF32(1), BaseF32(), p, kRows * kDim * 4.0);
  internal::ResetLevel();
}
BENCHMARK_CAPTURE(BM_Kite_Nq1_Level, avx512, internal::Level::kAvx512)
    ->Name("kite/nq1/L2/level:avx512")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Nq1_Level, avx2, internal::Level::kAvx2)
    ->Name("kite/nq1/L2/level:avx2")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Nq1_Level, scalar, internal::Level::kScalar)
    ->Name("kite/nq1/L2/level:scalar")
    ->Unit(benchmark::kMillisecond);

// Filtered scans. policy: 0 = default, 1 = always gather passing rows,
// 2 = always score whole blocks and mask.
void BM_Kite_Filter(benchmark::State& state, int percent, int policy) {
  const Data& d = GetData();
  internal::Tuning saved = internal::GetTuning();
  if (policy == 1) internal::MutableTuning().dense_filter_fraction = 2.0;
  if (policy == 2) internal::MutableTuning().dense_filter_fraction = 0.0;
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  p.filter = percent == 1 ? d.filter1.data() : d.filter99.data();
  const int64_t pass = percent == 1 ? d.pass1 : d.pass99;
  RunKite(state, QueriesF32(1), BaseF32(), p, pass * kDim * 4.0);
  internal::MutableTuning() = saved;
}
BENCHMARK_CAPTURE(BM_Kite_Filter, p1, 1, 0)->Name("kite/nq1/L2/filter1%")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Filter, p99, 99, 0)->Name("kite/nq1/L2/filter99%")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Filter, p1g, 1, 1)->Name("kite/nq1/L2/filter1%/gather")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Filter, p1m, 1, 2)->Name("kite/nq1/L2/filter1%/mask")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Filter, p99g, 99, 1)->Name("kite/nq1/L2/filter99%/gather")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Filter, p99m, 99, 2)->Name("kite/nq1/L2/filter99%/mask")->Unit(benchmark::kMillisecond);

void BM_Kite_Batch(benchmark::State& state, Metric metric) {
  SearchParams p;
  p.metric = metric;
  p.k = kK;
  RunKite(state, QueriesF32(kQueries), BaseF32(), p, kRows * kDim * 4.0);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kQueries * kRows * kDim * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Kite_Batch, L2, Metric::kL2)
    ->Name("kite/nq1000/L2")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Kite_Batch, IP, Metric::kIP)
    ->Name("kite/nq1000/IP")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

// Scan vs GEMM for small batches: args {nq, gemm (0/1)}.
void BM_Kite_Crossover(benchmark::State& state) {
  const int64_t nq = state.range(0);
  internal::Tuning saved = internal::GetTuning();
  internal::MutableTuning().gemm_min_queries = state.range(1) ? 1 : kQueries + 1;
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  RunKite(state, QueriesF32(nq), BaseF32(), p, kRows * kDim * 4.0);
  internal::MutableTuning() = saved;
}
BENCHMARK(BM_Kite_Crossover)
    ->Name("kite/crossover/L2")
    ->ArgNames({"nq", "gemm"})
    ->ArgsProduct({{2, 4, 8, 12, 16, 32}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// Scan block size (Tuning::scan_block_bytes): args {KiB, nq}.
void BM_Kite_ScanBlock(benchmark::State& state) {
  internal::Tuning saved = internal::GetTuning();
  internal::MutableTuning().scan_block_bytes = state.range(0) * 1024;
  internal::MutableTuning().gemm_min_queries = kQueries + 1;
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  RunKite(state, QueriesF32(state.range(1)), BaseF32(), p, kRows * kDim * 4.0);
  internal::MutableTuning() = saved;
}
BENCHMARK(BM_Kite_ScanBlock)
    ->Name("kite/scan_block/L2")
    ->ArgNames({"KiB", "nq"})
    ->ArgsProduct({{128, 256, 512, 768}, {1, 8}})
    ->Unit(benchmark::kMillisecond);

// Float16 / BFloat16 rows (converted as loaded). Half the bytes of float32.
void BM_Kite_Half(benchmark::State& state, ElemType type) {
  const Data& d = GetData();
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  // bfloat16 reuses the float16 bit patterns: any finite values will do.
  RunKite(state, Matrix{d.queries_f16.data(), 1, kDim, type}, Matrix{d.base_f16.data(), kRows, kDim, type}, p,
          kRows * kDim * 2.0);
}
BENCHMARK_CAPTURE(BM_Kite_Half, f16, ElemType::kFloat16)->Name("kite/nq1/L2/float16")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Kite_Half, bf16, ElemType::kBFloat16)
    ->Name("kite/nq1/L2/bfloat16")
    ->Unit(benchmark::kMillisecond);

void BM_Kite_I8(benchmark::State& state) {
  const Data& d = GetData();
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  // Reuses the float16 bit patterns' low bytes as int8 values: any bytes will do.
  RunKite(state, Matrix{d.queries_f16.data(), 1, kDim, ElemType::kInt8},
          Matrix{d.base_f16.data(), kRows, kDim, ElemType::kInt8}, p, kRows * kDim * 1.0);
}
BENCHMARK(BM_Kite_I8)->Name("kite/nq1/L2/int8")->Unit(benchmark::kMillisecond);

// Filter strategy by pass rate: args {percent, policy} (policy 1 = gather,
// 2 = score whole blocks and mask), for the dense_filter_fraction default.
void BM_Kite_FilterSweep(benchmark::State& state) {
  const int64_t percent = state.range(0);
  std::vector<uint8_t> filter(kRows);
  std::mt19937_64 rng(7);
  std::bernoulli_distribution pass(percent / 100.0);
  for (auto& f : filter) f = pass(rng);
  internal::Tuning saved = internal::GetTuning();
  internal::MutableTuning().dense_filter_fraction = state.range(1) == 1 ? 2.0 : 0.0;
  SearchParams p;
  p.metric = Metric::kL2;
  p.k = kK;
  p.filter = filter.data();
  RunKite(state, QueriesF32(1), BaseF32(), p, percent / 100.0 * kRows * kDim * 4.0);
  internal::MutableTuning() = saved;
}
BENCHMARK(BM_Kite_FilterSweep)
    ->Name("kite/filter_sweep/L2")
    ->ArgNames({"pct", "policy"})
    ->ArgsProduct({{10, 30, 50, 70, 90}, {1, 2}})
    ->Unit(benchmark::kMillisecond);

void BM_Kite_Binary(benchmark::State& state) {
  const Data& d = GetData();
  SearchParams p;
  p.metric = Metric::kHamming;
  p.k = kK;
  RunKite(state, Matrix{d.queries_bits.data(), 1, kDim, ElemType::kBinary},
          Matrix{d.base_bits.data(), kRows, kDim, ElemType::kBinary}, p, kRows * kDim / 8.0);
}
BENCHMARK(BM_Kite_Binary)->Name("kite/nq1/HAMMING/binary128")->Unit(benchmark::kMillisecond);

// ---- Faiss -------------------------------------------------------------------

#ifdef KITE_HAVE_FAISS
void RunFaiss(benchmark::State& state, Metric metric, int64_t nq, const faiss::IDSelector* sel, double bytes) {
  const Data& d = GetData();
  std::vector<float> dist(nq * kK);
  std::vector<int64_t> ids(nq * kK);
  for (auto _ : state) {
    if (metric == Metric::kL2) {
      faiss::knn_L2sqr(d.queries.data(), d.base.data(), kDim, nq, kRows, kK, dist.data(), ids.data(), nullptr, sel);
    } else {
      faiss::knn_inner_product(d.queries.data(), d.base.data(), kDim, nq, kRows, kK, dist.data(), ids.data(), sel);
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["qps"] = benchmark::Counter(static_cast<double>(nq) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes_scanned"] = bytes;  // per call, for the summary
}

void BM_Faiss_Nq1(benchmark::State& state, Metric metric) { RunFaiss(state, metric, 1, nullptr, kRows * kDim * 4.0); }
BENCHMARK_CAPTURE(BM_Faiss_Nq1, L2, Metric::kL2)->Name("faiss/nq1/L2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Faiss_Nq1, IP, Metric::kIP)->Name("faiss/nq1/IP")->Unit(benchmark::kMillisecond);

void BM_Faiss_Filter(benchmark::State& state, int percent) {
  const Data& d = GetData();
  const auto& bm = percent == 1 ? d.filter1_bitmap : d.filter99_bitmap;
  faiss::IDSelectorBitmap sel(bm.size(), bm.data());
  const int64_t pass = percent == 1 ? d.pass1 : d.pass99;
  RunFaiss(state, Metric::kL2, 1, &sel, pass * kDim * 4.0);
}
BENCHMARK_CAPTURE(BM_Faiss_Filter, p1, 1)->Name("faiss/nq1/L2/filter1%")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Faiss_Filter, p99, 99)->Name("faiss/nq1/L2/filter99%")->Unit(benchmark::kMillisecond);

void BM_Faiss_Batch(benchmark::State& state, Metric metric) {
  RunFaiss(state, metric, kQueries, nullptr, kRows * kDim * 4.0);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * kQueries * kRows * kDim * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Faiss_Batch, L2, Metric::kL2)
    ->Name("faiss/nq1000/L2")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Faiss_Batch, IP, Metric::kIP)
    ->Name("faiss/nq1000/IP")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
#endif

// ---- summary -------------------------------------------------------------------

// Console output as usual, plus the best real time per iteration of each case
// over its repetitions (--benchmark_repetitions) for the summary.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      // Best repetition: the machine is shared, noise only ever adds time.
      const double s = r.real_accumulated_time / static_cast<double>(r.iterations);
      auto it = seconds_.find(r.benchmark_name());
      if (it == seconds_.end() || s < it->second) seconds_[r.benchmark_name()] = s;
      auto b = r.counters.find("bytes_scanned");
      if (b != r.counters.end()) bytes_[r.benchmark_name()] = b->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& seconds() const { return seconds_; }
  const std::map<std::string, double>& bytes() const { return bytes_; }

 private:
  std::map<std::string, double> seconds_;
  std::map<std::string, double> bytes_;  // bytes of base rows one call reads
};

void PrintSummary(const std::map<std::string, double>& seconds, const std::map<std::string, double>& bytes) {
  auto bw_it = seconds.find("bandwidth/stream_sum_512MB");
  const double bandwidth = bw_it == seconds.end() ? 0 : kRows * kDim * 4.0 / bw_it->second;
  std::printf("\nkernel level: %s; measured streaming bandwidth (1 thread): %.1f GB/s\n",
              internal::LevelName(internal::Active().level), bandwidth / 1e9);
  std::printf("%-34s %10s %9s %11s %14s\n", "case", "ms", "GB/s", "of bandwidth", "kite / faiss");
  for (const auto& [name, s] : seconds) {
    if (name.rfind("kite/", 0) != 0) continue;
    auto b = bytes.find(name);
    const double gbs = b == bytes.end() ? 0 : b->second / s / 1e9;
    std::string faiss_name = "faiss/" + name.substr(5);
    auto f = seconds.find(faiss_name);
    char ratio[32] = "-";
    if (f != seconds.end()) std::snprintf(ratio, sizeof ratio, "%.3f", s / f->second);
    std::printf("%-34s %10.2f %9.2f %11.1f%% %14s\n", name.c_str(), s * 1e3, gbs,
                bandwidth > 0 ? 100.0 * gbs * 1e9 / bandwidth : 0.0, ratio);
  }
  for (const auto& [name, s] : seconds) {
    if (name.rfind("faiss/", 0) != 0) continue;
    auto b = bytes.find(name);
    const double gbs = b == bytes.end() ? 0 : b->second / s / 1e9;
    std::printf("%-34s %10.2f %9.2f %11.1f%%\n", name.c_str(), s * 1e3, gbs,
                bandwidth > 0 ? 100.0 * gbs * 1e9 / bandwidth : 0.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  GetData();  // generate outside the timed runs
  CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  PrintSummary(reporter.seconds(), reporter.bytes());
  benchmark::Shutdown();
  return 0;
}
