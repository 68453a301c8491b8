// A small Prometheus metrics registry: counters, gauges and histograms with
// labels, rendered in the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Why our own: Debian 12 packages no Prometheus C++ client, and Kite needs
// only the three metric types, labels, and scrape-time callbacks.
//
// Model
//  * A Family is one metric name with fixed label names; With(values...)
//    returns its child for those label values, created on first use. A child
//    lives as long as the registry, so callers on hot paths may keep the
//    reference and skip the lookup. Label values often come from clients
//    (collection names), so a family holds at most kMaxChildren children;
//    past that, new label values all share one child whose every label is
//    "_overflow" (the scrape stays bounded, totals stay right).
//  * Counters and histograms are sharded: each thread updates one of
//    kShards cache-line-aligned slots (picked once per thread), and a scrape
//    sums the slots. Updates are lock-free (relaxed atomics); a scrape that
//    races with updates may miss the newest ones, never tear a value.
//  * A histogram's _count is its +Inf bucket, so the rendered buckets and
//    count always agree.
//  * Collectors are callbacks run at scrape time that add samples computed
//    then (segment counts, memory): AddCollector returns an id for
//    RemoveCollector, which must be called before what the callback borrows
//    goes away.
//
// Thread-safety: everything is thread-safe. Render() may run concurrently
// with updates and with other renders.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kite::metrics {

inline constexpr int kShards = 8;
inline constexpr size_t kMaxChildren = 10000;
inline constexpr char kOverflowLabelValue[] = "_overflow";

// The shard slot of the calling thread (0 .. kShards-1), fixed per thread.
int ThreadShard();

// Adds `delta` to an atomic double (CAS loop; std::atomic<double>::fetch_add is C++20 but not lock-free everywhere).
void AtomicAdd(std::atomic<double>& a, double delta);

class Counter {
 public:
  // Adds v (must be >= 0: counters only go up).
  void Inc(double v = 1);
  double Value() const;

 private:
  struct alignas(64) Slot {
    std::atomic<double> v{0};
  };
  std::array<Slot, kShards> slots_;
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double v) { AtomicAdd(v_, v); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  Snapshot Collect() const;

 private:
  struct alignas(64) Slot {
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;  // bounds.size() + 1
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Slot, kShards> slots_;
};

// Milvus's latency buckets in milliseconds: 1, 2, 4, ..., 131072
// (prometheus.ExponentialBuckets(1, 2, 18) in pkg/metrics/metrics.go).
std::vector<double> MilvusLatencyBucketsMs();
std::vector<double> ExponentialBuckets(double start, double factor, int count);

using LabelValues = std::vector<std::string>;

enum class Type { kCounter, kGauge, kHistogram };

// Collects samples into families and renders them. Used by Registry::Render
// and handed to collectors.
class Exposition {
 public:
  // Declares a family (first declaration wins for help/type/label names).
  void Declare(std::string_view name, std::string_view help, Type type);
  // One sample of a counter or gauge family (declared or not: undeclared
  // families are rendered as gauges without HELP).
  void Add(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels, double value);
  void AddHistogram(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                    const Histogram::Snapshot& h);
  // Families in name order, each: # HELP, # TYPE, samples in insertion order.
  std::string Render() const;

 private:
  struct Family {
    std::string help;
    Type type = Type::kGauge;
    bool declared = false;
    std::string samples;  // rendered lines
  };
  Family& Get(std::string_view name);
  std::map<std::string, Family, std::less<>> families_;
};

// Text-format helpers (exposed for tests).
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
std::string FormatValue(double v);
// True for [a-zA-Z_:][a-zA-Z0-9_:]* (metric names) / [a-zA-Z_][a-zA-Z0-9_]* (label names).
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);

template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::function<T*()> make)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), make_(std::move(make)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for these label values (as many as label names; extra or
  // missing values are an invariant violation and abort).
  T& With(const LabelValues& values);
  T& With(std::initializer_list<std::string_view> values) { return With(LabelValues(values.begin(), values.end())); }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls fn(values, child) for every child, in label-value order.
  void ForEach(const std::function<void(const LabelValues&, const T&)>& fn) const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::function<T*()> make_;
  mutable std::shared_mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> children_;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name twice returns the first family (same type required;
  // a clash of types or label names aborts: it is a programming error).
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> label_names);
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                  std::vector<double> bounds);

  using Collector = std::function<void(Exposition&)>;
  int64_t AddCollector(Collector fn);
  // After this returns the collector is not running and will not run again.
  void RemoveCollector(int64_t id);

  // Every family and collector, in the text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Entry {
    Type type;
    std::vector<std::string> label_names;
    std::unique_ptr<Family<Counter>> counter;
    std::unique_ptr<Family<Gauge>> gauge;
    std::unique_ptr<Family<Histogram>> histogram;
  };
  Entry& Find(const std::string& name, Type type, const std::vector<std::string>& label_names, bool* created);

  mutable std::mutex mu_;  // families_ (the map) and collectors_; held during Render
  std::map<std::string, Entry> families_;
  std::map<int64_t, Collector> collectors_;
  int64_t next_collector_ = 1;
};

// The process-wide registry that /metrics renders.
Registry& DefaultRegistry();

// Content-Type of the text exposition format.
inline constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// ---------------------------------------------------------------- templates

template <typename T>
T& Family<T>::With(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    std::fprintf(stderr, "metric %s: %zu label values for %zu labels\n", name_.c_str(), values.size(),
                 label_names_.size());
    std::abort();
  }
  {
    std::shared_lock lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    LabelValues key = children_.size() < kMaxChildren ? values : LabelValues(values.size(), kOverflowLabelValue);
    it = children_.try_emplace(std::move(key)).first;
    if (!it->second) it->second.reset(make_());
  }
  return *it->second;
}

template <typename T>
void Family<T>::ForEach(const std::function<void(const LabelValues&, const T&)>& fn) const {
  std::shared_lock lock(mu_);
  for (const auto& [values, child] : children_) fn(values, *child);
}

}  // namespace kite::metrics
