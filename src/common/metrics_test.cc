#include "common/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>

namespace kite::metrics {
namespace {

// Every line of a text exposition is a comment (# HELP / # TYPE) or a sample
// `name{label="value",...} value` (format 0.0.4).
void ExpectWellFormed(const std::string& text) {
  static const std::regex kHelp(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*)");
  static const std::regex kType(R"(# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))");
  static const std::regex kSample(
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([-+]?[0-9.eE+-]+|NaN|[+-]Inf))");
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    bool ok = std::regex_match(line, kHelp) || std::regex_match(line, kType) || std::regex_match(line, kSample);
    EXPECT_TRUE(ok) << "malformed line: " << line;
  }
}

TEST(MetricsTest, CounterRendersHelpTypeAndLabels) {
  Registry r;
  auto& f = r.AddCounter("milvus_proxy_req_count", "count of operation executed", {"function_name", "status"});
  f.With({"Insert", "success"}).Inc();
  f.With({"Insert", "success"}).Inc(2);
  f.With({"Search", "fail"}).Inc();
  std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP milvus_proxy_req_count count of operation executed\n"
            "# TYPE milvus_proxy_req_count counter\n"
            "milvus_proxy_req_count{function_name=\"Insert\",status=\"success\"} 3\n"
            "milvus_proxy_req_count{function_name=\"Search\",status=\"fail\"} 1\n");
  ExpectWellFormed(text);
}

TEST(MetricsTest, CounterIgnoresNegativeAndNaN) {
  Counter c;
  c.Inc(5);
  c.Inc(-1);
  c.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.Value(), 5);
}

TEST(MetricsTest, GaugeSetAndAdd) {
  Registry r;
  auto& g = r.AddGauge("kite_things", "things", {}).With(LabelValues{});
  g.Set(10);
  g.Add(-2.5);
  EXPECT_EQ(g.Value(), 7.5);
  EXPECT_EQ(r.Render(), "# HELP kite_things things\n# TYPE kite_things gauge\nkite_things 7.5\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.AddGauge("kite_x", "line one\nback\\slash", {"name"}).With({"a\"b\\c\nd"}).Set(1);
  std::string text = r.Render();
  EXPECT_NE(text.find("# HELP kite_x line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("kite_x{name=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  ExpectWellFormed(text);
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfAndCount) {
  Registry r;
  auto& h = r.AddHistogram("milvus_proxy_req_latency", "latency", {"function_name"}, {1, 2, 4}).With({"Search"});
  h.Observe(0.5);  // le=1
  h.Observe(1);    // le=1 (bounds are inclusive)
  h.Observe(3);    // le=4
  h.Observe(100);  // +Inf only
  std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP milvus_proxy_req_latency latency\n"
            "# TYPE milvus_proxy_req_latency histogram\n"
            "milvus_proxy_req_latency_bucket{function_name=\"Search\",le=\"1\"} 2\n"
            "milvus_proxy_req_latency_bucket{function_name=\"Search\",le=\"2\"} 2\n"
            "milvus_proxy_req_latency_bucket{function_name=\"Search\",le=\"4\"} 3\n"
            "milvus_proxy_req_latency_bucket{function_name=\"Search\",le=\"+Inf\"} 4\n"
            "milvus_proxy_req_latency_sum{function_name=\"Search\"} 104.5\n"
            "milvus_proxy_req_latency_count{function_name=\"Search\"} 4\n");
  ExpectWellFormed(text);
}

TEST(MetricsTest, MilvusBucketsAreOneToTwoToThe17th) {
  auto b = MilvusLatencyBucketsMs();
  ASSERT_EQ(b.size(), 18u);
  EXPECT_EQ(b.front(), 1);
  EXPECT_EQ(b.back(), 131072);
}

TEST(MetricsTest, FormatValue) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, Names) {
  EXPECT_TRUE(ValidMetricName("milvus_proxy_req_count"));
  EXPECT_TRUE(ValidMetricName("a:b_c9"));
  EXPECT_FALSE(ValidMetricName("9abc"));
  EXPECT_FALSE(ValidMetricName("a-b"));
  EXPECT_FALSE(ValidMetricName(""));
  EXPECT_TRUE(ValidLabelName("function_name"));
  EXPECT_FALSE(ValidLabelName("a:b"));
}

TEST(MetricsTest, SameNameReturnsSameFamily) {
  Registry r;
  auto& a = r.AddCounter("kite_c", "help", {"x"});
  auto& b = r.AddCounter("kite_c", "other help", {"x"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.With({"1"}), &b.With({"1"}));
}

TEST(MetricsDeathTest, ConflictingRegistrationAborts) {
  Registry r;
  r.AddCounter("kite_c", "help", {"x"});
  EXPECT_DEATH(r.AddGauge("kite_c", "help", {"x"}), "conflicting");
  EXPECT_DEATH(r.AddCounter("kite_c", "help", {"y"}), "conflicting");
  EXPECT_DEATH(r.AddCounter("kite_c", "help", {"x"}).With({"1", "2"}), "label values");
}

TEST(MetricsTest, ClientChosenLabelValuesAreBounded) {
  Registry r;
  auto& f = r.AddCounter("kite_c", "help", {"collection_name", "status"});
  for (size_t i = 0; i < kMaxChildren + 50; ++i) f.With({"c" + std::to_string(i), "fail"}).Inc();
  size_t children = 0;
  f.ForEach([&](const LabelValues&, const Counter&) { ++children; });
  EXPECT_EQ(children, kMaxChildren + 1);
  EXPECT_EQ(f.With({"c0", "fail"}).Value(), 1);  // existing children keep working
  EXPECT_EQ(f.With({"another", "x"}).Value(), 50);
  EXPECT_NE(r.Render().find("kite_c{collection_name=\"_overflow\",status=\"_overflow\"} 50\n"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  auto& c = r.AddCounter("kite_c", "help", {}).With(LabelValues{});
  auto& h = r.AddHistogram("kite_h", "help", {}, {10}).With(LabelValues{});
  constexpr int kThreads = 8, kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        c.Inc();
        h.Observe(i % 20);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i) ExpectWellFormed(r.Render());
  });
  for (auto& t : threads) t.join();
  scraper.join();
  EXPECT_EQ(c.Value(), kThreads * kPerThread);
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative.back(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.cumulative[0], static_cast<uint64_t>(kThreads * kPerThread * 11 / 20));  // 0..10 of every 20
}

TEST(MetricsTest, CollectorsAddSamplesAtScrapeTimeAndCanBeRemoved) {
  Registry r;
  int calls = 0;
  int64_t id = r.AddCollector([&](Exposition& out) {
    ++calls;
    out.Declare("milvus_rootcoord_collection_num", "number of collections", Type::kGauge);
    out.Add("milvus_rootcoord_collection_num", {{"db_name", "default"}}, 3);
  });
  std::string text = r.Render();
  EXPECT_EQ(calls, 1);
  EXPECT_NE(text.find("# TYPE milvus_rootcoord_collection_num gauge\n"
                      "milvus_rootcoord_collection_num{db_name=\"default\"} 3\n"),
            std::string::npos)
      << text;
  r.RemoveCollector(id);
  EXPECT_EQ(r.Render().find("milvus_rootcoord_collection_num"), std::string::npos);
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, FamiliesRenderInNameOrderWithOneHeaderEach) {
  Registry r;
  r.AddGauge("b_metric", "b", {"k"}).With({"1"}).Set(1);
  r.AddGauge("a_metric", "a", {"k"}).With({"1"}).Set(1);
  r.AddCollector([](Exposition& out) { out.Add("b_metric", {{"k", "2"}}, 2); });
  std::string text = r.Render();
  EXPECT_LT(text.find("a_metric"), text.find("b_metric"));
  size_t first = text.find("# TYPE b_metric");
  EXPECT_EQ(text.find("# TYPE b_metric", first + 1), std::string::npos);
  EXPECT_NE(text.find("b_metric{k=\"2\"} 2\n"), std::string::npos);
  ExpectWellFormed(text);
}

}  // namespace
}  // namespace kite::metrics
