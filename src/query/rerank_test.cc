#include "query/rerank.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kite {
namespace {

CollectionSchema TestSchema() {
  CollectionSchema s;
  s.name = "c";
  auto add = [&](int64_t id, const char* name, DataType t, bool nullable = false) {
    FieldSchema f;
    f.id = FieldId{id};
    f.name = name;
    f.type = t;
    f.nullable = nullable;
    f.is_primary = id == 100;
    if (t == DataType::kFloatVector) f.type_params["dim"] = "4";
    if (t == DataType::kVarChar) f.type_params["max_length"] = "8";
    s.fields.push_back(f);
  };
  add(100, "id", DataType::kInt64);
  add(101, "v", DataType::kFloatVector);
  add(102, "ts", DataType::kInt64);
  add(103, "name", DataType::kVarChar);
  add(104, "maybe", DataType::kDouble, true);
  return s;
}

RerankRequest Req(std::vector<std::pair<std::string, std::string>> params, std::vector<std::string> inputs = {}) {
  RerankRequest r;
  r.input_field_names = std::move(inputs);
  r.params = std::move(params);
  return r;
}

HitList Hits(std::vector<std::pair<int64_t, float>> v) {
  HitList h;
  for (auto [pk, d] : v) h.push_back(Hit{d, PrimaryKey{pk}, {}});
  return h;
}

std::string ErrorOf(const RerankRequest& r) {
  auto s = TestSchema();
  auto p = ParseReranker(r, s);
  return p.ok() ? "" : p.status().message();
}

TEST(Rerank, RrfSumsReciprocalRanks) {
  auto s = TestSchema();
  auto r = ParseReranker(Req({{"reranker", "rrf"}, {"k", "10"}}), s);
  ASSERT_TRUE(r.ok() && r.value().has_value());
  HitList a = Hits({{1, 0.1f}, {2, 0.2f}, {3, 0.3f}});
  HitList b = Hits({{3, 0.9f}, {4, 0.8f}});
  RerankOptions o;
  o.limit = 10;
  auto out = Rerank(**r, {{&a, "L2", nullptr}, {&b, "IP", nullptr}}, o);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.value().size(), 4u);
  // id 3: 1/13 + 1/11 is best; then 1 (1/11), 4 (1/12), 2 (1/12) -> 2 before 4 by pk.
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 3);
  EXPECT_NEAR(out.value()[0].hit.distance, 1.0 / 13 + 1.0 / 11, 1e-6);
  EXPECT_EQ(std::get<int64_t>(out.value()[1].hit.pk), 1);
  EXPECT_EQ(std::get<int64_t>(out.value()[2].hit.pk), 2);
  EXPECT_EQ(std::get<int64_t>(out.value()[3].hit.pk), 4);
  // First occurrence: id 3 came from list 0 position 2.
  EXPECT_EQ(out.value()[0].list, 0);
  EXPECT_EQ(out.value()[0].pos, 2);
  // Offset and limit apply after fusion.
  o.offset = 1;
  o.limit = 2;
  out = Rerank(**r, {{&a, "L2", nullptr}, {&b, "IP", nullptr}}, o);
  ASSERT_EQ(out.value().size(), 2u);
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 1);
}

TEST(Rerank, WeightedNormalisesPerMetric) {
  auto s = TestSchema();
  auto r = ParseReranker(Req({{"reranker", "weighted"}, {"weights", "[0.25, 0.75]"}, {"norm_score", "true"}}), s);
  ASSERT_TRUE(r.ok());
  HitList a = Hits({{1, 2.0f}});  // L2 distance
  HitList b = Hits({{1, 0.5f}});  // IP
  auto out = Rerank(**r, {{&a, "L2", nullptr}, {&b, "IP", nullptr}}, RerankOptions{});
  ASSERT_TRUE(out.ok());
  double want = 0.25 * (1 - 2 * std::atan(2.0) / M_PI) + 0.75 * (0.5 + std::atan(0.5) / M_PI);
  EXPECT_NEAR(out.value()[0].hit.distance, want, 1e-6);
  EXPECT_NEAR(NormalizeScore("COSINE", 0.2f, true, false), 0.6, 1e-7);
  EXPECT_NEAR(NormalizeScore("BM25", 3.0f, true, false), 2 * std::atan(3.0) / M_PI, 1e-6);
  // Wrong number of weights is a search-time error.
  HitList c = Hits({{2, 1.0f}});
  out = Rerank(**r, {{&a, "L2", nullptr}, {&b, "IP", nullptr}, {&c, "IP", nullptr}}, RerankOptions{});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("the length of weights param mismatch with ann search requests"),
            std::string::npos);
}

TEST(Rerank, WeightedWithoutNormOnDistancesSortsAscending) {
  auto s = TestSchema();
  auto r = ParseReranker(Req({{"reranker", "weighted"}, {"weights", "[1, 1]"}, {"norm_score", "false"}}), s);
  HitList a = Hits({{1, 1.0f}, {2, 3.0f}});
  HitList b = Hits({{2, 0.5f}, {1, 4.0f}});
  auto out = Rerank(**r, {{&a, "L2", nullptr}, {&b, "L2", nullptr}}, RerankOptions{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 2);  // 3.5 < 5.0
  EXPECT_FLOAT_EQ(out.value()[0].hit.distance, 3.5f);
  // Mixed metrics without norm: distances become 1 - 2 atan(d) / pi, sorted descending.
  HitList ip = Hits({{1, 0.1f}, {2, 0.2f}});
  out = Rerank(**r, {{&a, "L2", nullptr}, {&ip, "IP", nullptr}}, RerankOptions{});
  double s1 = (1 - 2 * std::atan(1.0) / M_PI) + 0.1, s2 = (1 - 2 * std::atan(3.0) / M_PI) + 0.2;
  ASSERT_EQ(out.value().size(), 2u);
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), s1 > s2 ? 1 : 2);
}

TEST(Rerank, DecayMultipliesRelevanceByTheFieldsDecay) {
  auto s = TestSchema();
  for (const char* fn : {"gauss", "exp", "linear"}) {
    auto r = ParseReranker(Req({{"reranker", "decay"}, {"function", fn}, {"origin", "100"}, {"scale", "10"},
                                {"offset", "2"}, {"decay", "0.5"}},
                               {"ts"}),
                           s);
    ASSERT_TRUE(r.ok()) << r.status().message();
    // At |v - origin| = offset + scale every shape gives `decay`; inside offset it is 1.
    EXPECT_NEAR(DecayFactor(**r, 112), 0.5, 1e-12) << fn;
    EXPECT_NEAR(DecayFactor(**r, 88), 0.5, 1e-12) << fn;
    EXPECT_DOUBLE_EQ(DecayFactor(**r, 101), 1.0) << fn;
    HitList a = Hits({{1, 0.9f}, {2, 0.8f}});
    std::vector<double> values = {150, 100};
    auto out = Rerank(**r, {{&a, "COSINE", &values}}, RerankOptions{});
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 2);
    EXPECT_FLOAT_EQ(out.value()[0].hit.distance, 0.8f);
    EXPECT_FLOAT_EQ(out.value()[1].hit.distance, 0.9f * static_cast<float>(DecayFactor(**r, 150)));
  }
  // L2 distances become 1 - 2 atan(d) / pi before the decay.
  auto r = ParseReranker(Req({{"reranker", "decay"}, {"function", "exp"}, {"origin", "0"}, {"scale", "1"}}, {"ts"}), s);
  HitList a = Hits({{7, 2.0f}});
  std::vector<double> values = {0};
  auto out = Rerank(**r, {{&a, "L2", &values}}, RerankOptions{});
  EXPECT_NEAR(out.value()[0].hit.distance, 1 - 2 * std::atan(2.0) / M_PI, 1e-6);
}

TEST(Rerank, ParseErrorsAreMilvusMessages) {
  auto decay = [](std::vector<std::pair<std::string, std::string>> extra, std::vector<std::string> in = {"ts"}) {
    std::vector<std::pair<std::string, std::string>> p = {{"reranker", "decay"}, {"function", "gauss"},
                                                          {"origin", "0"},       {"offset", "0"},
                                                          {"decay", "0.5"},      {"scale", "100"}};
    for (auto& kv : extra) {
      bool replaced = false;
      for (auto& old : p) {
        if (old.first == kv.first) {
          old.second = kv.second;
          replaced = true;
        }
      }
      if (!replaced) p.push_back(kv);
    }
    return Req(p, in);
  };
  EXPECT_EQ(ErrorOf(decay({{"reranker", "invalid"}})),
            "Unsupported rerank function: [invalid] , list of supported [decay,model,rrf,weighted]");
  EXPECT_EQ(ErrorOf(decay({{"function", "invalid"}})), "Invaild decay function: decay, only support [gauss,linear,exp]");
  EXPECT_EQ(ErrorOf(decay({{"origin", "invalid"}})), "Param origin:invalid is not a number");
  EXPECT_EQ(ErrorOf(decay({{"scale", "[1]"}})), "Param scale:[1] is not a number");
  EXPECT_EQ(ErrorOf(decay({{"scale", "0"}})), "Decay function param: scale must > 0, but got 0.000000");
  EXPECT_EQ(ErrorOf(decay({{"offset", "-1.0"}})), "Decay function param: offset must >= 0, but got -1.000000");
  EXPECT_EQ(ErrorOf(decay({{"decay", "2"}})), "Decay function param: decay must 0 < decay < 1, but got 2.000000");
  EXPECT_EQ(ErrorOf(decay({}, {"nope"})), "Function input field not found: nope");
  EXPECT_EQ(ErrorOf(decay({}, {"maybe"})), "Function input field cannot be nullable: field maybe");
  EXPECT_EQ(ErrorOf(decay({}, {"ts", "id"})), "Decay function only supports single input, but gets [[ts id]] input");
  EXPECT_EQ(ErrorOf(decay({}, {"name"})), "Decay rerank: unsupported input field type:VarChar, only support numberic field");
  EXPECT_EQ(ErrorOf(decay({}, {"v"})),
            "Decay rerank: unsupported input field type:FloatVector, only support numberic field");
  RerankRequest no_origin = Req({{"reranker", "decay"}, {"function", "gauss"}, {"scale", "1"}}, {"ts"});
  EXPECT_EQ(ErrorOf(no_origin), "Decay function lost param: origin");
  RerankRequest no_scale = Req({{"reranker", "decay"}, {"function", "gauss"}, {"origin", "1"}}, {"ts"});
  EXPECT_EQ(ErrorOf(no_scale), "Decay function lost param: scale");
  EXPECT_EQ(ErrorOf(Req({{"reranker", "rrf"}, {"k", "0"}})), "The rank params k should be in range (0, 16384)");
  EXPECT_EQ(ErrorOf(Req({{"reranker", "rrf"}, {"k", "x"}})), "Param k:x is not a number");
  EXPECT_EQ(ErrorOf(Req({{"reranker", "weighted"}, {"weights", "[2]"}})), "rank param weight should be in range [0, 1]");
  EXPECT_EQ(ErrorOf(Req({{"reranker", "weighted"}})), "weights not found");
  EXPECT_EQ(ErrorOf(Req({{"reranker", "weighted"}, {"weights", "[0.5]"}, {"norm_score", "yes"}})),
            "norm_score params must be true/false, bug got yes");
  auto s = TestSchema();
  auto st = ParseReranker(decay({{"origin", "x"}}), s).status();
  EXPECT_EQ(st.reason(), Reason::kUnclassified);
}

TEST(Rerank, GroupsRankedByBestMember) {
  auto s = TestSchema();
  auto r = ParseReranker(Req({{"reranker", "rrf"}, {"k", "1"}}), s);
  HitList a = Hits({{1, 0}, {2, 0}, {3, 0}, {4, 0}});
  std::vector<std::vector<std::string>> keys = {{"x", "y", "x", "y"}};
  RerankOptions o;
  o.limit = 1;
  o.group_keys = &keys;
  o.group_size = 2;
  auto out = Rerank(**r, {{&a, "IP", nullptr}}, o);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out.value().size(), 2u);  // group x: ids 1 and 3
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 1);
  EXPECT_EQ(std::get<int64_t>(out.value()[1].hit.pk), 3);
  o.offset = 1;
  out = Rerank(**r, {{&a, "IP", nullptr}}, o);
  EXPECT_EQ(std::get<int64_t>(out.value()[0].hit.pk), 2);
}

}  // namespace
TEST(BoostRandomScore, MatchesMilvusMurmurSpecialAndHashToDouble) {
  // Expected values from the independent Python implementation in tests/e2e/test_full_text_more.py.
  EXPECT_DOUBLE_EQ(RandomBoostScore(1000, 126), 0.33155434951799023);
  EXPECT_DOUBLE_EQ(RandomBoostScore(0, 0), 0.819323054181543);
  EXPECT_DOUBLE_EQ(RandomBoostScore(7, 5), 0.6979876578506099);
}

TEST(BoostRandomScore, ParsesSeedAndInt64FieldWithMilvusMessages) {
  CollectionSchema s = TestSchema();
  auto boost = [&](const std::string& random) {
    RerankRequest r;
    r.params = {{"reranker", "boost"}, {"weight", "2"}, {"random_score", random}};
    return ParseBoost(r, {}, s);
  };
  auto ok = boost(R"j({"seed": 9, "field": "ts"})j");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->random);
  EXPECT_EQ(ok->seed, 9);
  EXPECT_EQ(ok->random_field.value, 102);
  EXPECT_EQ(boost(R"j({"field": "name"})j").status().message(),
            "only support int64 field as random seed, but got VarChar: invalid parameter");
  EXPECT_EQ(boost(R"j({"seed": "x"})j").status().message(), "random seed must be number: invalid parameter");
  EXPECT_EQ(boost("{'seed': 1}").status().message(),
            "invalid character '\\'' looking for beginning of object key string");
}

TEST(Boost, ParamsAndModesWithMilvusMessages) {
  CollectionSchema s = TestSchema();
  auto parse = [&](std::vector<std::pair<std::string, std::string>> params,
                   std::vector<std::pair<std::string, std::string>> score_params) {
    RerankRequest r;
    r.params = std::move(params);
    r.params.emplace_back("reranker", "boost");
    return ParseBoost(r, score_params, s);
  };
  EXPECT_EQ(parse({}, {}).status().message(), "must set weight params for weight scorer");
  EXPECT_EQ(parse({{"weight", "abc"}}, {}).status().message(),
            "parse function scorer weight params failed with error: {strconv.ParseFloat: parsing \"abc\": invalid "
            "syntax}");
  EXPECT_EQ(parse({{"weight", "1e39"}}, {}).status().message(),
            "parse function scorer weight params failed with error: {strconv.ParseFloat: parsing \"1e39\": value out "
            "of range}");
  EXPECT_EQ(parse({{"weight", "2"}}, {{"boost_mode", "Max"}}).status().message(),
            "unknown boost mode: max: invalid parameter");
  EXPECT_EQ(parse({{"weight", "2"}}, {{"function_mode", "avg"}}).status().message(),
            "unknown function mode: avg: invalid parameter");
  auto ok = parse({{"weight", "0.5"}, {"filter", "ts > 3"}}, {{"boost_mode", "SUM"}, {"function_mode", "sum"}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->sum);
  EXPECT_TRUE(ok->function_sum);
  EXPECT_FLOAT_EQ(ok->weight, 0.5f);
  EXPECT_EQ(ok->filter, "ts > 3");
}

TEST(Boost, FunctionModeCombinesMatchedWeightsThenBoostModeAppliesThem) {
  // Three candidates: matched by both boosts, by the second only, by none.
  const std::vector<std::vector<uint8_t>> matched = {{1, 0, 0}, {1, 1, 0}};
  const std::vector<std::vector<double>> no_random(2);
  auto run = [&](bool boost_sum, bool function_sum) {
    std::vector<BoostRanker> b(2);
    b[0].weight = 2;
    b[1].weight = 3;
    for (auto& x : b) {
      x.sum = boost_sum;
      x.function_sum = function_sum;
    }
    std::vector<float> scores = {10, 10, 10};
    ApplyBoosts(b, matched, no_random, &scores);
    return scores;
  };
  EXPECT_EQ(run(false, false), (std::vector<float>{60, 30, 10}));  // 10 x (2 x 3), 10 x 3
  EXPECT_EQ(run(false, true), (std::vector<float>{50, 30, 10}));   // 10 x (2 + 3)
  EXPECT_EQ(run(true, false), (std::vector<float>{16, 13, 10}));   // 10 + (2 x 3)
  EXPECT_EQ(run(true, true), (std::vector<float>{15, 13, 10}));    // 10 + (2 + 3)
  // A random_score boost's value is weight x its random value.
  std::vector<BoostRanker> r(1);
  r[0].weight = 4;
  r[0].random = true;
  std::vector<float> scores = {1, 1};
  ApplyBoosts(r, {{1, 0}}, {{0.25, 0.5}}, &scores);
  EXPECT_EQ(scores, (std::vector<float>{1, 1}));
  scores = {2, 2};
  ApplyBoosts(r, {{1, 1}}, {{0.25, 0.5}}, &scores);
  EXPECT_EQ(scores, (std::vector<float>{2, 4}));
}

}  // namespace kite
