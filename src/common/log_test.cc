#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <set>
#include <sstream>

#include "common/metrics.h"
#include "common/request_observer.h"

namespace kite {
namespace {

TEST(LogTest, LogfmtValueQuotesOnlyWhenNeeded) {
  EXPECT_EQ(LogfmtValue("Insert"), "Insert");
  EXPECT_EQ(LogfmtValue("/v2/vectordb/entities/insert"), "/v2/vectordb/entities/insert");
  EXPECT_EQ(LogfmtValue(""), "\"\"");
  EXPECT_EQ(LogfmtValue("two words"), "\"two words\"");
  EXPECT_EQ(LogfmtValue("a=b"), "\"a=b\"");
  EXPECT_EQ(LogfmtValue("say \"hi\"\n\\"), "\"say \\\"hi\\\"\\n\\\\\"");
  EXPECT_EQ(LogfmtValue(std::string("\x01", 1)), "\"\\u0001\"");
}

TEST(LogTest, ParseLogLevel) {
  EXPECT_EQ(*ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("off"), spdlog::level::off);
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_FALSE(ParseLogLevel("").ok());
}

TEST(LogTest, RequestIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(RequestIdOrNew("client-id_42"), "client-id_42");
  EXPECT_NE(RequestIdOrNew("has space"), "has space");
  EXPECT_NE(RequestIdOrNew("quote\"d"), "quote\"d");
  EXPECT_NE(RequestIdOrNew(std::string(65, 'a')), std::string(65, 'a'));
  EXPECT_EQ(RequestIdOrNew("").size(), 16u);
}

TEST(LogTest, ScopedRequestIdNests) {
  EXPECT_EQ(CurrentRequestId(), "");
  {
    ScopedRequestId a("outer");
    EXPECT_EQ(CurrentRequestId(), "outer");
    {
      ScopedRequestId b("inner");
      EXPECT_EQ(CurrentRequestId(), "inner");
    }
    EXPECT_EQ(CurrentRequestId(), "outer");
  }
  EXPECT_EQ(CurrentRequestId(), "");
}

// Captures what the default logger writes after InitLogging.
class LogCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    spdlog::set_default_logger(logger);
    InitLogging(spdlog::level::debug);
  }
  void TearDown() override {
    spdlog::set_default_logger(previous_);
    InitLogging(spdlog::level::info);
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LogCaptureTest, FreeTextIsQuotedAndCarriesTheRequestId) {
  spdlog::info("recovered in {} ms", 3);
  {
    ScopedRequestId id("req-1");
    spdlog::warn("flushed");
  }
  std::string text = out_.str();
  EXPECT_NE(text.find(" level=info "), std::string::npos) << text;
  EXPECT_NE(text.find(" msg=\"recovered in 3 ms\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" level=warning "), std::string::npos) << text;
  EXPECT_NE(text.find(" msg=flushed request_id=req-1\n"), std::string::npos) << text;
  EXPECT_EQ(text.rfind("ts=", 0), 0u) << text;
}

TEST_F(LogCaptureTest, EventsAreKeyValue) {
  LogEvent(spdlog::level::debug, "request", {{"request_id", "abc"}, {"collection", "my docs"}});
  EXPECT_NE(out_.str().find(" level=debug tid="), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find(" msg=request request_id=abc collection=\"my docs\"\n"), std::string::npos) << out_.str();
}

TEST_F(LogCaptureTest, LevelFiltersEvents) {
  spdlog::set_level(spdlog::level::info);
  LogEvent(spdlog::level::debug, "request", {});
  EXPECT_EQ(out_.str(), "");
}

TEST_F(LogCaptureTest, RequestObserverCountsLogsAndKeepsSlowRequests) {
  RequestObserver& o = RequestObserver::Global();
  o.Configure({/*slow_threshold_ms=*/50, /*slow_ring_size=*/2});
  RequestRecord r;
  r.request_id = "fast-1";
  r.protocol = "grpc";
  r.function_name = "ObserverTestInsert";
  r.collection = "obs_test";
  r.inserted = 7;
  r.latency_ms = 1;
  o.Finish(r);
  for (const char* id : {"slow-1", "slow-2", "slow-3"}) {
    r.request_id = id;
    r.latency_ms = 100;
    o.Finish(r);
  }
  r.request_id = "failed";
  r.code = 100;
  r.error = "collection not found";
  r.latency_ms = 1;
  o.Finish(r);

  auto slow = o.SlowRequests();
  ASSERT_EQ(slow.size(), 2u);  // ring of 2, newest first
  EXPECT_EQ(slow[0].request_id, "slow-3");
  EXPECT_EQ(slow[1].request_id, "slow-2");

  std::string text = metrics::DefaultRegistry().Render();
  auto has = [&](const std::string& s) { return text.find(s) != std::string::npos; };
  const std::string labels = "node_id=\"1\",function_name=\"ObserverTestInsert\",";
  EXPECT_TRUE(has("milvus_proxy_req_count{" + labels + "status=\"total\",db_name=\"default\",collection_name=\"obs_test\"} 5\n"));
  EXPECT_TRUE(has("milvus_proxy_req_count{" + labels + "status=\"success\",db_name=\"default\",collection_name=\"obs_test\"} 4\n"));
  EXPECT_TRUE(has("milvus_proxy_req_count{" + labels + "status=\"fail\",db_name=\"default\",collection_name=\"obs_test\"} 1\n"));
  EXPECT_TRUE(has("milvus_proxy_insert_vectors_count{node_id=\"1\",db_name=\"default\",collection_name=\"obs_test\"} 28\n"));
  EXPECT_TRUE(has("milvus_proxy_slow_query_count{node_id=\"1\",msg_type=\"ObserverTestInsert\"} 3\n"));
  EXPECT_TRUE(has("milvus_proxy_req_latency_count{node_id=\"1\",function_name=\"ObserverTestInsert\"} 5\n"));

  std::string log = out_.str();
  EXPECT_NE(log.find("level=debug tid="), std::string::npos) << log;
  EXPECT_NE(log.find("msg=request request_id=fast-1 protocol=grpc rpc=ObserverTestInsert"), std::string::npos) << log;
  EXPECT_NE(log.find("level=warning"), std::string::npos) << log;
  EXPECT_NE(log.find("msg=\"slow request\" request_id=slow-1 "), std::string::npos) << log;
  EXPECT_NE(log.find("error=\"collection not found\""), std::string::npos) << log;
  o.Configure({});
}

}  // namespace
}  // namespace kite
