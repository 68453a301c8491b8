// Parser-level behaviour through Compile: error positions and message shape,
// the length and depth limits (including inputs built to overflow a naive
// recursive parser), template values, and constant folding.
#include <pthread.h>

#include <chrono>
#include <climits>
#include <string>

#include <gtest/gtest.h>

#include "expr/expr.h"

namespace kite::expr {
namespace {

CollectionSchema TestSchema() {
  CollectionSchema s;
  s.name = "t";
  s.enable_dynamic_field = true;
  auto add = [&](int64_t id, std::string name, DataType type, bool nullable = false) {
    FieldSchema f;
    f.id = FieldId(id);
    f.name = std::move(name);
    f.type = type;
    f.nullable = nullable;
    s.fields.push_back(f);
    return &s.fields.back();
  };
  add(100, "id", DataType::kInt64)->is_primary = true;
  add(101, "age", DataType::kInt64, true);
  add(102, "name", DataType::kVarChar);
  add(103, "meta", DataType::kJson);
  FieldSchema* dyn = add(104, "$meta", DataType::kJson);
  dyn->is_dynamic = true;
  return s;
}

Result<std::unique_ptr<const Plan>> C(std::string_view text, const TemplateValues& values = {},
                                      ParseOptions options = {}) {
  return Compile(text, TestSchema(), values, options);
}

std::string ErrorOf(std::string_view text, ParseOptions options = {}, const TemplateValues& values = {}) {
  auto r = C(text, values, options);
  if (r.ok()) return "<compiled: " + PlanToString(**r) + ">";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
  return r.status().message();
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(ExprParserTest, ErrorMessageNamesTextWhatAndWhere) {
  EXPECT_EQ(ErrorOf("age >> "), "cannot parse expression: age >> , error: bitwise operator '>>' is not supported at position 4");
  EXPECT_EQ(ErrorOf("age > "), "cannot parse expression: age > , error: unexpected end of expression at position 6");
  EXPECT_EQ(ErrorOf("age > 1 and (name == \"x\""),
            "cannot parse expression: age > 1 and (name == \"x\", error: expected ')' to close '(' at position 12, got "
            "end of expression at position 24");
  EXPECT_EQ(ErrorOf("age @ 1"), "cannot parse expression: age @ 1, error: unexpected character '@' at position 4");
  EXPECT_EQ(ErrorOf("age > \"x\""),
            "cannot parse expression: age > \"x\", error: comparisons between age (Int64) and \"x\" (VarChar) are "
            "not supported");
}

TEST(ExprParserTest, PositionsAreByteOffsets) {
  // "é" is two bytes: the '@' after it is at byte 13 (character 12).
  EXPECT_NE(ErrorOf("name == \"é\" @").find("at position 13"), std::string::npos) << ErrorOf("name == \"é\" @");
  EXPECT_NE(ErrorOf("\xff").find("unexpected byte 0xff at position 0"), std::string::npos);
}

TEST(ExprParserTest, LongTextIsTruncatedInMessages) {
  std::string text = "age > 1 and " + std::string(2000, ' ') + "@";
  std::string msg = ErrorOf(text);
  EXPECT_LT(msg.size(), 700u);
  EXPECT_NE(msg.find("...,"), std::string::npos);
  EXPECT_NE(msg.find("at position 2012"), std::string::npos);
}

TEST(ExprParserTest, EmptyExpressionMatchesEverything) {
  for (std::string_view text : {"", "   ", "\n\t "}) {
    auto r = C(text);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(PlanToString(**r), "true");
  }
}

TEST(ExprParserTest, LengthLimit) {
  std::string ok = "age > 1" + std::string(65536 - 7, ' ');
  ASSERT_EQ(ok.size(), 65536u);
  EXPECT_TRUE(C(ok).ok());
  std::string too_long = ok + " ";
  EXPECT_NE(ErrorOf(too_long).find("expression length 65537 exceeds the limit of 65536 bytes"), std::string::npos);
  ParseOptions small;
  small.max_length = 5;
  EXPECT_NE(ErrorOf("age > 1", small).find("exceeds the limit of 5 bytes"), std::string::npos);
}

ParseOptions Unlimited() {
  ParseOptions o;
  o.max_length = SIZE_MAX;
  return o;
}

TEST(ExprParserTest, MillionNestedParenthesesFailFast) {
  const size_t n = 1'000'000;
  std::string text = std::string(n, '(') + "age > 1" + std::string(n, ')');
  auto t0 = std::chrono::steady_clock::now();
  std::string msg = ErrorOf(text, Unlimited());
  // A guard against super-linear parsing (a quadratic scan of 1M levels takes
  // hours), not a speed target: loose enough for a loaded 2-core machine.
  EXPECT_LT(SecondsSince(t0), 10.0);
  EXPECT_NE(msg.find("expression is nested too deeply (max depth 256)"), std::string::npos) << msg.substr(0, 200);
}

TEST(ExprParserTest, MillionPrefixOperatorsFailFast) {
  for (std::string unit : {"not ", "!", "-", "+", "[", "json_contains("}) {
    std::string text;
    text.reserve(unit.size() * 1'000'000 + 16);
    for (int i = 0; i < 1'000'000; ++i) text += unit;
    text += "age > 1";
    auto t0 = std::chrono::steady_clock::now();
    std::string msg = ErrorOf(text, Unlimited());
    EXPECT_LT(SecondsSince(t0), 10.0) << unit;  // super-linear guard, as above
    EXPECT_NE(msg.find("nested too deeply"), std::string::npos) << unit << ": " << msg.substr(0, 200);
  }
}

TEST(ExprParserTest, DepthLimitIsConfigurableAndClamped) {
  auto nested = [](int depth) { return std::string(depth, '(') + "age > 1" + std::string(depth, ')'); };
  ParseOptions o;
  o.max_depth = 10;
  EXPECT_TRUE(C(nested(5), {}, o).ok());
  EXPECT_NE(ErrorOf(nested(20), o).find("max depth 10"), std::string::npos);
  EXPECT_TRUE(C(nested(200)).ok());
  // Above kMaxDepthLimit the limit is clamped, so even INT_MAX is safe.
  o = Unlimited();
  o.max_depth = INT_MAX;
  EXPECT_TRUE(C(nested(500), {}, o).ok());
  EXPECT_NE(ErrorOf(nested(100'000), o).find("max depth 1000"), std::string::npos);
  o.max_depth = 0;  // clamped up to 1: only a lone literal fits
  EXPECT_TRUE(C("true", {}, o).ok());
  EXPECT_NE(ErrorOf("age > 1", o).find("max depth 1"), std::string::npos);
}

TEST(ExprParserTest, TreeDepthIsLimitedForLeftDeepChains) {
  // `a + 1 + 1 + ...` never nests parentheses but builds a deep tree.
  std::string text = "age";
  for (int i = 0; i < 300; ++i) text += " + 1";
  text += " > 0";
  EXPECT_NE(ErrorOf(text).find("nested too deeply"), std::string::npos);
  // Long and/or chains are flattened, so they are not deep.
  std::string conj = "age > 0";
  for (int i = 0; i < 5000; ++i) conj += " and age > 0";
  auto r = C(conj, {}, Unlimited());
  EXPECT_TRUE(r.ok()) << r.status().message();
}

// Runs f on a thread with a `stack_bytes` stack (gtest assertions inside are fine).
template <typename F>
void RunWithStack(size_t stack_bytes, F f) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_t t;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<F*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&t, &attr, trampoline, &f), 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
}

TEST(ExprParserTest, DeepestAllowedExpressionsFitInA1MiBStack) {
  // At the clamp (kMaxDepthLimit) every shape that nests the tree compiles,
  // evaluates and is destroyed on a 1 MiB stack.
  ParseOptions o = Unlimited();
  o.max_depth = kMaxDepthLimit;
  const int n = kMaxDepthLimit - 5;
  auto repeat = [](std::string_view unit, int k) {
    std::string s;
    for (int i = 0; i < k; ++i) s += unit;
    return s;
  };
  const std::string texts[] = {
      repeat("not ", n) + "age > 1",
      "age > " + repeat("-", n) + "1",
      "age > " + repeat("-(", n / 2) + "age" + repeat(")", n / 2),
      "meta[\"k\"] == " + repeat("[", n) + repeat("]", n),
      std::string(n, '(') + "age > 1" + std::string(n, ')'),
      repeat("(age > 1 or ", n / 2) + "age > 1" + std::string(n / 2, ')'),
  };
  CollectionSchema schema = TestSchema();
#if defined(__SANITIZE_ADDRESS__)
  const size_t stack = size_t{16} << 20;  // ASan's redzones make every frame several times larger
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  const size_t stack = size_t{16} << 20;
#else
  const size_t stack = size_t{1} << 20;
#endif
#else
  const size_t stack = size_t{1} << 20;
#endif
  RunWithStack(stack, [&] {
    for (const auto& text : texts) {
      auto r = Compile(text, schema, {}, o);
      ASSERT_TRUE(r.ok()) << text.substr(0, 40) << ": " << r.status().message().substr(0, 300);
      ColumnBatch b;
      b.num_rows = 2;
      for (const auto& f : schema.fields) {
        Column c = Column::ForField(f);
        for (int64_t i = 0; i < 2; ++i) {
          if (c.is_fixed()) {
            c.AppendFixed(&i);
          } else {
            c.AppendVar(f.type == DataType::kJson ? "{\"k\": [[1]]}" : "x");
          }
        }
        b.columns.push_back(std::move(c));
      }
      std::vector<uint8_t> out;
      EXPECT_TRUE(Evaluate(**r, b, &out).ok()) << text.substr(0, 40);
    }
  });
}

TEST(ExprParserTest, KeywordsAreCaseInsensitive) {
  for (std::string_view text : {"age > 1 and name == \"a\"", "age > 1 AND name == \"a\"", "age > 1 aNd name == \"a\"",
                                "age > 1 && name == \"a\""}) {
    auto r = C(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(PlanToString(**r), "(age > 1 and name == \"a\")") << text;
  }
  auto r = C("NOT age IN [1] OR name LIKE \"a%\"");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(PlanToString(**r), "(not (age in [1]) or name like \"a%\")");
}

TEST(ExprParserTest, ConstantFolding) {
  auto plan = [](std::string_view text) {
    auto r = C(text);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? PlanToString(**r) : "";
  };
  EXPECT_EQ(plan("1 + 2 < age"), "age > 3");
  EXPECT_EQ(plan("age > 2 ** 3"), "age > 8.0");
  EXPECT_EQ(plan("not (1 < 2)"), "false");
  EXPECT_EQ(plan("1 < 2 and 3 > 2"), "true");
  EXPECT_EQ(plan("age > -(-5)"), "age > 5");
  EXPECT_EQ(plan("age > -9223372036854775808"), "age > -9223372036854775808");
  EXPECT_EQ(plan("10 < age <= 20"), "10 < age <= 20");
  EXPECT_EQ(plan("20 >= age > 10"), "10 < age <= 20");
  EXPECT_EQ(plan("color == \"red\""), "color == \"red\"");
  EXPECT_EQ(plan("age not in [1, 2]"), "not (age in [1, 2])");
}

TEST(ExprParserTest, Templates) {
  TemplateValues v;
  v["i"] = 5;
  v["l"] = 7LL;
  v["f"] = 1.5f;
  v["s"] = "x";
  v["b"] = true;
  v["a"] = TemplateValue::Array{1, 2, 3};
  v["n"] = TemplateValue();
  v["nested"] = TemplateValue::Array{TemplateValue::Array{1, "a"}, 2.5};
  auto plan = [&](std::string_view text) {
    auto r = C(text, v);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? PlanToString(**r) : "";
  };
  EXPECT_EQ(plan("age > {i}"), "age > 5");
  EXPECT_EQ(plan("age < {l}"), "age < 7");
  EXPECT_EQ(plan("age < {f}"), "age < 1.5");
  EXPECT_EQ(plan("name == {s}"), "name == \"x\"");
  EXPECT_EQ(plan("age in {a}"), "age in [1, 2, 3]");
  EXPECT_EQ(plan("meta[\"k\"] == {nested}"), "meta[\"k\"] == [[1, \"a\"], 2.5]");
  EXPECT_EQ(plan("{i} < age < {l}"), "5 < age < 7");
  EXPECT_EQ(plan("json_contains(meta[\"k\"], {b})"), "contains(meta[\"k\"], true)");
  EXPECT_EQ(plan("age > {i} + 1"), "age > 6");
  EXPECT_NE(ErrorOf("age > {n}", {}, v).find("template variable {n} is null"), std::string::npos);
  EXPECT_NE(ErrorOf("age > {zz}").find("the value of expression template variable name {zz} is not found"),
            std::string::npos);
  EXPECT_NE(ErrorOf("age > {s}", {}, v).find("comparisons between age (Int64) and \"x\" (VarChar)"),
            std::string::npos);
}

TEST(ExprParserTest, TemplateValueRendering) {
  EXPECT_EQ(TemplateValue().ToString(), "null");
  EXPECT_EQ(TemplateValue(2.0).ToString(), "2.0");
  EXPECT_EQ(TemplateValue("a\"b\\\n").ToString(), "\"a\\\"b\\\\\\n\"");
  EXPECT_EQ(TemplateValue(TemplateValue::Array{}).ToString(), "[]");
  EXPECT_EQ(TemplateValue(int64_t{-3}).TypeName(), "Int64");
  EXPECT_TRUE(TemplateValue(3) == TemplateValue(int64_t{3}));
}

}  // namespace
}  // namespace kite::expr
