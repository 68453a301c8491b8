#include "common/metrics.h"

#include <cmath>
#include <fmt/format.h>

namespace kite::metrics {

int ThreadShard() {
  static std::atomic<int> next{0};
  thread_local int shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

void AtomicAdd(std::atomic<double>& a, double delta) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + delta, std::memory_order_relaxed)) {
  }
}

// ------------------------------------------------------------------ Counter

void Counter::Inc(double v) {
  if (!(v >= 0)) return;  // counters never go down (NaN too is dropped)
  AtomicAdd(slots_[ThreadShard()].v, v);
}

double Counter::Value() const {
  double total = 0;
  for (const Slot& s : slots_) total += s.v.load(std::memory_order_relaxed);
  return total;
}

// ---------------------------------------------------------------- Histogram

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (Slot& s : slots_) {
    s.buckets = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) s.buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::Observe(double v) {
  // First bucket whose upper bound is >= v (le semantics); past the end is +Inf.
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  Slot& s = slots_[ThreadShard()];
  s.buckets[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(s.sum, v);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot out;
  out.bounds = bounds_;
  std::vector<uint64_t> counts(bounds_.size() + 1, 0);
  for (const Slot& s : slots_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) counts[i] += s.buckets[i].load(std::memory_order_relaxed);
    out.sum += s.sum.load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  out.cumulative.reserve(counts.size());
  for (uint64_t c : counts) {
    running += c;
    out.cumulative.push_back(running);
  }
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> b;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) b.push_back(v);
  return b;
}

std::vector<double> MilvusLatencyBucketsMs() { return ExponentialBuckets(1, 2, 18); }

// ------------------------------------------------------------- text format

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integral values print without a fraction or exponent (as Prometheus's own clients do up to 2^53).
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

namespace {

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool ValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

void AppendLabels(std::string* out, const std::vector<std::pair<std::string, std::string>>& labels,
                  const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (labels.empty() && !extra_name) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    fmt::format_to(std::back_inserter(*out), "{}=\"{}\"", k, EscapeLabelValue(v));
  }
  if (extra_name) {
    if (!first) out->push_back(',');
    fmt::format_to(std::back_inserter(*out), "{}=\"{}\"", extra_name, EscapeLabelValue(extra_value));
  }
  out->push_back('}');
}

std::vector<std::pair<std::string, std::string>> Zip(const std::vector<std::string>& names, const LabelValues& values) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], values[i]);
  return out;
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "metrics registry: %s\n", why.c_str());
  std::abort();
}

}  // namespace

bool ValidMetricName(std::string_view name) { return ValidName(name, true); }
bool ValidLabelName(std::string_view name) { return ValidName(name, false); }

Exposition::Family& Exposition::Get(std::string_view name) {
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  return it->second;
}

void Exposition::Declare(std::string_view name, std::string_view help, Type type) {
  Family& f = Get(name);
  if (f.declared) return;
  f.declared = true;
  f.help = std::string(help);
  f.type = type;
}

void Exposition::Add(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                     double value) {
  Family& f = Get(name);
  f.samples += name;
  AppendLabels(&f.samples, labels);
  f.samples += ' ';
  f.samples += FormatValue(value);
  f.samples += '\n';
}

void Exposition::AddHistogram(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels,
                              const Histogram::Snapshot& h) {
  Family& f = Get(name);
  for (size_t i = 0; i < h.cumulative.size(); ++i) {
    f.samples += name;
    f.samples += "_bucket";
    AppendLabels(&f.samples, labels, "le", i < h.bounds.size() ? FormatValue(h.bounds[i]) : "+Inf");
    f.samples += ' ';
    f.samples += FormatValue(static_cast<double>(h.cumulative[i]));
    f.samples += '\n';
  }
  f.samples += name;
  f.samples += "_sum";
  AppendLabels(&f.samples, labels);
  f.samples += ' ' + FormatValue(h.sum) + '\n';
  f.samples += name;
  f.samples += "_count";
  AppendLabels(&f.samples, labels);
  f.samples += ' ' + FormatValue(h.cumulative.empty() ? 0.0 : static_cast<double>(h.cumulative.back())) + '\n';
}

std::string Exposition::Render() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    if (f.declared) {
      if (!f.help.empty()) fmt::format_to(std::back_inserter(out), "# HELP {} {}\n", name, EscapeHelp(f.help));
      fmt::format_to(std::back_inserter(out), "# TYPE {} {}\n", name, TypeName(f.type));
    }
    out += f.samples;
  }
  return out;
}

// ----------------------------------------------------------------- Registry

Registry::Entry& Registry::Find(const std::string& name, Type type, const std::vector<std::string>& label_names,
                                bool* created) {
  if (!ValidMetricName(name)) Die("invalid metric name " + name);
  for (const auto& l : label_names) {
    if (!ValidLabelName(l) || l == "le") Die("invalid label name " + l + " in " + name);
  }
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type || it->second.label_names != label_names) Die("conflicting registration of " + name);
    *created = false;
    return it->second;
  }
  *created = true;
  Entry& e = families_[name];
  e.type = type;
  e.label_names = label_names;
  return e;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  bool created = false;
  Entry& e = Find(name, Type::kCounter, label_names, &created);
  if (created) {
    e.counter = std::make_unique<Family<Counter>>(name, std::move(help), std::move(label_names),
                                                  [] { return new Counter(); });
  }
  return *e.counter;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  bool created = false;
  Entry& e = Find(name, Type::kGauge, label_names, &created);
  if (created) {
    e.gauge =
        std::make_unique<Family<Gauge>>(name, std::move(help), std::move(label_names), [] { return new Gauge(); });
  }
  return *e.gauge;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  for (size_t i = 1; i < bounds.size(); ++i) {
    if (!(bounds[i] > bounds[i - 1])) Die("histogram bounds not increasing in " + name);
  }
  std::lock_guard lock(mu_);
  bool created = false;
  Entry& e = Find(name, Type::kHistogram, label_names, &created);
  if (created) {
    e.histogram = std::make_unique<Family<Histogram>>(name, std::move(help), std::move(label_names),
                                                      [bounds] { return new Histogram(bounds); });
  }
  return *e.histogram;
}

int64_t Registry::AddCollector(Collector fn) {
  std::lock_guard lock(mu_);
  int64_t id = next_collector_++;
  collectors_.emplace(id, std::move(fn));
  return id;
}

void Registry::RemoveCollector(int64_t id) {
  std::lock_guard lock(mu_);  // waits for a Render in progress
  collectors_.erase(id);
}

std::string Registry::Render() const {
  Exposition ex;
  std::lock_guard lock(mu_);
  for (const auto& [name, e] : families_) {
    switch (e.type) {
      case Type::kCounter:
        ex.Declare(name, e.counter->help(), Type::kCounter);
        e.counter->ForEach(
            [&](const LabelValues& v, const Counter& c) { ex.Add(name, Zip(e.label_names, v), c.Value()); });
        break;
      case Type::kGauge:
        ex.Declare(name, e.gauge->help(), Type::kGauge);
        e.gauge->ForEach([&](const LabelValues& v, const Gauge& g) { ex.Add(name, Zip(e.label_names, v), g.Value()); });
        break;
      case Type::kHistogram:
        ex.Declare(name, e.histogram->help(), Type::kHistogram);
        e.histogram->ForEach([&](const LabelValues& v, const Histogram& h) {
          ex.AddHistogram(name, Zip(e.label_names, v), h.Collect());
        });
        break;
    }
  }
  for (const auto& [id, fn] : collectors_) fn(ex);
  return ex.Render();
}

Registry& DefaultRegistry() {
  static Registry* r = new Registry();  // never destroyed: metrics may be updated during static destruction
  return *r;
}

}  // namespace kite::metrics
