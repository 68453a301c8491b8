// kite_hnsw_bench: Kite's HNSW (src/index/hnsw) against hnswlib 0.6.2 (the
// Debian header-only package, used here only as the reference) on the same
// deterministic clustered Gaussian data, in the same process.
//
//   ./build/bench/kite_hnsw_bench                    # 200k x 128, L2
//   ./build/bench/kite_hnsw_bench --n 1000000 --metric IP --reps 5
//
// Measures, with M and efConstruction equal in both: build time with
// `--threads` threads (hnswlib: std::threads calling addPoint on rows taken
// from a shared counter, as its Python ParallelFor does); then for each ef:
// recall@k against exact results (flat::Search) and single-thread QPS. Each
// QPS is the best of --reps runs, Kite and hnswlib alternating, so both see
// the same machine load. The last table interpolates both recall/QPS curves
// (log QPS linear in recall between measured ef values) at fixed recalls.
//
// This file is compiled with -march=native so that hnswlib gets its AVX-512
// distance functions (it picks them at compile time); Kite picks its kernels
// at run time (kite_flat).
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

#include "index/flat/flat_search.h"
#include "index/flat/kernels.h"
#include "index/hnsw/hnsw_index.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Wall time and cpu time (of this thread, or of the process = all threads).
// The machine may be shared: cpu time leaves out the time other work held
// the core, wall time does not; both are reported.
struct Times {
  double wall = 1e30, cpu = 1e30;
  void Keep(const Times& t) {
    wall = std::min(wall, t.wall);
    cpu = std::min(cpu, t.cpu);
  }
};
class Stopwatch {
 public:
  explicit Stopwatch(clockid_t clock) : clock_(clock), wall0_(Clock::now()), cpu0_(Cpu()) {}
  Times Read() const { return {Seconds(wall0_, Clock::now()), Cpu() - cpu0_}; }

 private:
  double Cpu() const {
    timespec t;
    clock_gettime(clock_, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
  clockid_t clock_;
  Clock::time_point wall0_;
  double cpu0_;
};

struct Flags {
  int64_t n = 200000;
  int64_t dim = 128;
  int64_t nq = 1000;
  int64_t k = 10;
  int threads = 2;
  int m = 16;
  int efc = 200;
  int reps = 3;
  int build_reps = 1;
  std::string metric = "L2";
  std::vector<int> efs = {16, 32, 64, 128, 256};
  bool hnswlib = true;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") f.n = std::stoll(next());
    else if (a == "--dim") f.dim = std::stoll(next());
    else if (a == "--nq") f.nq = std::stoll(next());
    else if (a == "--k") f.k = std::stoll(next());
    else if (a == "--threads") f.threads = std::stoi(next());
    else if (a == "--M") f.m = std::stoi(next());
    else if (a == "--efc") f.efc = std::stoi(next());
    else if (a == "--reps") f.reps = std::stoi(next());
    else if (a == "--build-reps") f.build_reps = std::stoi(next());
    else if (a == "--metric") f.metric = next();
    else if (a == "--no-hnswlib") f.hnswlib = false;
    else if (a == "--ef") {
      f.efs.clear();
      std::string s = next();
      for (size_t p = 0; p < s.size();) {
        size_t c = s.find(',', p);
        f.efs.push_back(std::stoi(s.substr(p, c - p)));
        p = c == std::string::npos ? s.size() : c + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: kite_hnsw_bench [--n N] [--dim D] [--nq Q] [--k K] [--threads T] [--M M] [--efc E]\n"
                   "       [--ef 16,32,...] [--reps R] [--build-reps R] [--metric L2|IP|COSINE] [--no-hnswlib]\n");
      std::exit(2);
    }
  }
  return f;
}

// Gaussian clusters: 1024 centres ~ N(0, 1), points = centre + N(0, kNoise^2).
// Base and queries share the centres, not the points.
std::vector<float> Clustered(int64_t n, int64_t dim, uint64_t seed) {
  constexpr int kCenters = 1024;
  const float kNoise = std::getenv("KITE_BENCH_NOISE") ? std::stof(std::getenv("KITE_BENCH_NOISE")) : 1.2f;
  std::mt19937_64 gen(42);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> c(static_cast<size_t>(kCenters * dim));
  for (float& x : c) x = unit(gen);
  gen.seed(seed);
  std::uniform_int_distribution<int> pick(0, kCenters - 1);
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    const float* ci = c.data() + pick(gen) * dim;
    for (int64_t j = 0; j < dim; ++j) v[i * dim + j] = ci[j] + kNoise * unit(gen);
  }
  return v;
}

kite::Column FloatColumn(const std::vector<float>& v, int64_t dim) {
  kite::Column c;
  c.type = kite::DataType::kFloatVector;
  c.dim = dim;
  c.row_bytes = 4 * static_cast<size_t>(dim);
  c.num_rows = static_cast<int64_t>(v.size()) / dim;
  c.fixed.resize(v.size() * 4);
  std::memcpy(c.fixed.data(), v.data(), c.fixed.size());
  return c;
}

double Recall(const std::vector<std::vector<int64_t>>& got, const kite::flat::Hits& truth) {
  int64_t hit = 0, total = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    std::set<int64_t> t(truth.ids.begin() + truth.offsets[q], truth.ids.begin() + truth.offsets[q + 1]);
    for (int64_t id : got[q]) hit += t.count(id);
    total += static_cast<int64_t>(t.size());
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "?";
}

struct Point {
  int ef;
  double recall, qps;
};

// QPS at `recall` on the curve (log QPS linear in recall), or -1 outside it.
double QpsAt(std::vector<Point> curve, double recall) {
  std::sort(curve.begin(), curve.end(), [](const Point& a, const Point& b) { return a.recall < b.recall; });
  for (size_t i = 0; i + 1 < curve.size(); ++i) {
    const Point& a = curve[i];
    const Point& b = curve[i + 1];
    if (recall >= a.recall && recall <= b.recall) {
      if (b.recall == a.recall) return std::max(a.qps, b.qps);
      const double t = (recall - a.recall) / (b.recall - a.recall);
      return std::exp(std::log(a.qps) + t * (std::log(b.qps) - std::log(a.qps)));
    }
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = Parse(argc, argv);
  using kite::flat::Metric;
  const Metric metric = f.metric == "IP" ? Metric::kIP : f.metric == "COSINE" ? Metric::kCosine : Metric::kL2;

  std::printf("kite_hnsw_bench: n=%lld dim=%lld nq=%lld k=%lld metric=%s M=%d efConstruction=%d threads=%d\n",
              static_cast<long long>(f.n), static_cast<long long>(f.dim), static_cast<long long>(f.nq),
              static_cast<long long>(f.k), f.metric.c_str(), f.m, f.efc, f.threads);
  std::printf("cpu: %s, %u hardware threads; Kite kernels: %s; hnswlib SIMD: %s\n", CpuModel().c_str(),
              std::thread::hardware_concurrency(),
              kite::flat::internal::LevelName(kite::flat::internal::Active().level),
#if defined(USE_AVX512)
              "AVX-512"
#elif defined(USE_AVX)
              "AVX"
#else
              "SSE"
#endif
  );

  auto t0 = Clock::now();
  const std::vector<float> base_v = Clustered(f.n, f.dim, 1);
  const std::vector<float> query_v = Clustered(f.nq, f.dim, 2);
  const kite::Column base = FloatColumn(base_v, f.dim);
  const kite::Column queries = FloatColumn(query_v, f.dim);
  kite::flat::Hits truth;
  {
    kite::flat::SearchParams p;
    p.metric = metric;
    p.k = f.k;
    // One query per call: the direct kernels (a batch would go through GEMM,
    // whose rounding can swap near-tied 10th and 11th neighbours).
    const kite::flat::Matrix bm{base_v.data(), f.n, f.dim, kite::flat::ElemType::kFloat32};
    truth.offsets.assign(1, 0);
    kite::flat::Hits one;
    for (int64_t q = 0; q < f.nq; ++q) {
      const kite::flat::Matrix qm{query_v.data() + q * f.dim, 1, f.dim, kite::flat::ElemType::kFloat32};
      if (!kite::flat::Search(qm, bm, p, &one).ok()) return 1;
      truth.ids.insert(truth.ids.end(), one.ids.begin(), one.ids.end());
      truth.offsets.push_back(static_cast<int64_t>(truth.ids.size()));
    }
  }
  std::printf("data + ground truth: %.1f s\n\n", Seconds(t0, Clock::now()));

  // ---- build -----------------------------------------------------------------
  const kite::index::Params params = {{"index_type", "HNSW"},
                                      {"metric_type", f.metric},
                                      {"M", std::to_string(f.m)},
                                      {"efConstruction", std::to_string(f.efc)}};
  std::unique_ptr<kite::index::VectorIndex> kite_ix;
  // hnswlib has no cosine: it gets normalised copies and inner product.
  std::vector<float> lib_base = base_v, lib_queries = query_v;
  if (metric == Metric::kCosine) {
    for (auto* v : {&lib_base, &lib_queries}) {
      for (size_t i = 0; i < v->size(); i += f.dim) {
        double s = 0;
        for (int64_t j = 0; j < f.dim; ++j) s += (*v)[i + j] * (*v)[i + j];
        const float inv = s > 0 ? static_cast<float>(1 / std::sqrt(s)) : 0.0f;
        for (int64_t j = 0; j < f.dim; ++j) (*v)[i + j] *= inv;
      }
    }
  }
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  if (metric == Metric::kL2) {
    space = std::make_unique<hnswlib::L2Space>(f.dim);
  } else {
    space = std::make_unique<hnswlib::InnerProductSpace>(f.dim);
  }
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> lib;
  Times kite_build, lib_build;
  for (int rep = 0; rep < f.build_reps; ++rep) {
    kite_ix.reset();
    Stopwatch sw(CLOCK_PROCESS_CPUTIME_ID);
    auto r = kite::index::BuildHnsw(params, base, f.threads);
    kite_build.Keep(sw.Read());
    if (!r.ok()) {
      std::fprintf(stderr, "BuildHnsw: %s\n", r.status().ToString().c_str());
      return 1;
    }
    kite_ix = std::move(r).value();
    if (!f.hnswlib) continue;
    lib.reset();
    Stopwatch lw(CLOCK_PROCESS_CPUTIME_ID);
    lib = std::make_unique<hnswlib::HierarchicalNSW<float>>(space.get(), f.n, f.m, f.efc, 100);
    std::atomic<int64_t> next{0};
    auto work = [&] {
      for (int64_t i; (i = next.fetch_add(1)) < f.n;) lib->addPoint(lib_base.data() + i * f.dim, i);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < f.threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    lib_build.Keep(lw.Read());
  }
  std::printf("build, %d threads, best of %d:\n", f.threads, f.build_reps);
  std::printf("  wall  Kite %8.2f s   hnswlib %8.2f s   Kite/hnswlib %.3f\n", kite_build.wall, lib_build.wall,
              f.hnswlib ? kite_build.wall / lib_build.wall : 0.0);
  std::printf("  cpu   Kite %8.2f s   hnswlib %8.2f s   Kite/hnswlib %.3f   (all threads)\n", kite_build.cpu,
              lib_build.cpu, f.hnswlib ? kite_build.cpu / lib_build.cpu : 0.0);
  std::printf("memory  Kite %.1f MiB (graph only; vectors stay in the column)   hnswlib %.1f MiB (with vectors)\n\n",
              kite_ix->MemoryBytes() / 1048576.0,
              f.hnswlib ? (f.n * lib->size_data_per_element_ + f.n * sizeof(void*)) / 1048576.0 : 0.0);

  // ---- search ----------------------------------------------------------------
  std::printf("single-thread search, k=%lld, best of %d; QPS from wall time and from the thread's cpu time\n",
              static_cast<long long>(f.k), f.reps);
  std::printf("%5s | %8s %8s | %8s %8s %6s | %8s %8s %6s\n", "ef", "recall", "recall", "QPS", "QPS", "ratio", "QPS",
              "QPS", "ratio");
  std::printf("%5s | %8s %8s | %8s %8s %6s | %8s %8s %6s\n", "", "Kite", "hnswlib", "Kite", "hnswlib", "wall", "Kite",
              "hnswlib", "cpu");
  std::vector<Point> kite_wall, lib_wall, kite_cpu, lib_cpu;
  std::vector<std::vector<int64_t>> got(static_cast<size_t>(f.nq));
  for (int ef : f.efs) {
    Times kt, lt;
    double kite_recall = 0, lib_recall = 0;
    kite::index::SearchArgs args;
    args.k = f.k;
    args.params = {{"ef", std::to_string(ef)}};
    if (f.hnswlib) lib->setEf(static_cast<size_t>(ef));
    for (int rep = 0; rep < f.reps; ++rep) {
      kite::flat::Hits hits;
      Stopwatch sw(CLOCK_THREAD_CPUTIME_ID);
      if (!kite_ix->Search(base, queries, args, &hits).ok()) return 1;
      kt.Keep(sw.Read());
      for (int64_t q = 0; q < f.nq; ++q) got[q].assign(hits.ids.begin() + hits.offsets[q], hits.ids.begin() + hits.offsets[q + 1]);
      kite_recall = Recall(got, truth);
      if (!f.hnswlib) continue;
      Stopwatch lw(CLOCK_THREAD_CPUTIME_ID);
      for (int64_t q = 0; q < f.nq; ++q) {
        auto pq = lib->searchKnn(lib_queries.data() + q * f.dim, static_cast<size_t>(f.k));
        got[q].clear();
        for (; !pq.empty(); pq.pop()) got[q].push_back(static_cast<int64_t>(pq.top().second));
      }
      lt.Keep(lw.Read());
      lib_recall = Recall(got, truth);
    }
    const double nq = static_cast<double>(f.nq);
    kite_wall.push_back({ef, kite_recall, nq / kt.wall});
    kite_cpu.push_back({ef, kite_recall, nq / kt.cpu});
    lib_wall.push_back({ef, lib_recall, nq / lt.wall});
    lib_cpu.push_back({ef, lib_recall, nq / lt.cpu});
    std::printf("%5d | %8.4f %8.4f | %8.0f %8.0f %6.3f | %8.0f %8.0f %6.3f\n", ef, kite_recall, lib_recall, nq / kt.wall,
                nq / lt.wall, lt.wall / kt.wall, nq / kt.cpu, nq / lt.cpu, lt.cpu / kt.cpu);
  }
  if (!f.hnswlib) return 0;
  std::printf("\nat equal recall (each curve interpolated, log QPS linear in recall)\n");
  std::printf("%7s | %8s %8s %6s | %8s %8s %6s\n", "recall", "QPS Kite", "hnswlib", "wall", "QPS Kite", "hnswlib", "cpu");
  auto cell = [](double v) { return v < 0 ? std::string("n/a") : std::to_string(static_cast<int64_t>(v)); };
  auto ratio = [](double a, double b) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.3f", a / b);
    return a < 0 || b < 0 ? std::string("n/a") : std::string(buf);
  };
  for (double r : {0.90, 0.95, 0.97, 0.99, 0.995}) {
    const double kw = QpsAt(kite_wall, r), lw = QpsAt(lib_wall, r), kc = QpsAt(kite_cpu, r), lc = QpsAt(lib_cpu, r);
    std::printf("%7.3f | %8s %8s %6s | %8s %8s %6s\n", r, cell(kw).c_str(), cell(lw).c_str(), ratio(kw, lw).c_str(),
                cell(kc).c_str(), cell(lc).c_str(), ratio(kc, lc).c_str());
  }
  return 0;
}
