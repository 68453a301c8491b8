// JSON path indexes: randomized differential tests (Evaluate with the
// indexes == Evaluate scanning the JSON column, bit for bit, over rows whose
// value at the path is of every JSON type, missing, or whose JSON is null),
// serialize -> load round trips, corruption, and the leaves declined.
#include "index/scalar/json_path_index.h"

#include "index/scalar/json_flat_index.h"

#include <atomic>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "expr/expr.h"

namespace kite::index {
namespace {

class CountingLookup final : public expr::IndexLookup {
 public:
  explicit CountingLookup(const expr::IndexLookup* inner) : inner_(inner) {}
  bool Covers(const expr::IndexLeaf& leaf) const override { return inner_->Covers(leaf); }
  bool TryLeaf(const expr::IndexLeaf& leaf, int64_t rows, bool column_present,
               expr::LeafResult* out) const override {
    bool ok = inner_->TryLeaf(leaf, rows, column_present, out);
    if (ok) hits_.fetch_add(1);
    return ok;
  }
  int64_t hits() const { return hits_.load(); }

 private:
  const expr::IndexLookup* inner_;
  mutable std::atomic<int64_t> hits_{0};
};

CollectionSchema Schema() {
  CollectionSchema s;
  s.name = "t";
  FieldSchema id;
  id.id = FieldId(100);
  id.name = "id";
  id.type = DataType::kInt64;
  id.is_primary = true;
  FieldSchema j;
  j.id = FieldId(101);
  j.name = "j";
  j.type = DataType::kJson;
  j.nullable = true;
  FieldSchema dyn;
  dyn.id = FieldId(102);
  dyn.name = "$meta";
  dyn.type = DataType::kJson;
  dyn.is_dynamic = true;
  s.fields = {id, j, dyn};
  s.enable_dynamic_field = true;
  return s;
}

class Gen {
 public:
  explicit Gen(uint32_t seed, bool big_ints = false) : rng_(seed), big_ints_(big_ints) {}

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Str() {
    static const char* kStrs[] = {"", "a", "ab", "abc", "b", "ba", "x%y", "zz", "A", "1.5"};
    return expr::TemplateValue(std::string(kStrs[Pick(10)])).ToString();
  }
  std::string Int() {
    if (big_ints_ && Pick(10) == 0) return Pick(2) ? "9007199254740993" : "-9223372036854775807";
    return std::to_string(Pick(11) - 5);
  }
  std::string Dbl() {
    static const char* kD[] = {"0.5", "-1.5", "2.0", "3.25", "-0.0", "1e300", "0.1"};
    return kD[Pick(7)];
  }
  std::string Scalar() {
    switch (Pick(5)) {
      case 0: return Int();
      case 1: return Dbl();
      case 2: return Str();
      case 3: return Pick(2) ? "true" : "false";
      default: return Int();
    }
  }
  // A JSON value of any type.
  std::string Value(int depth = 0) {
    switch (Pick(depth > 0 ? 6 : 9)) {
      case 0: return Int();
      case 1: return Dbl();
      case 2: return Str();
      case 3: return Pick(2) ? "true" : "false";
      case 4: return "null";
      case 5: return Int();
      case 6:
      case 7: {
        std::string a = "[";
        int n = Pick(4);
        int kind = Pick(4);  // mostly one element type, sometimes mixed
        for (int i = 0; i < n; ++i) {
          int k = kind == 3 ? Pick(3) : kind;
          a += (i ? "," : "") + (k == 0 ? Int() : k == 1 ? Str() : std::string(Pick(2) ? "true" : "false"));
        }
        if (Pick(8) == 0) a += std::string(n ? "," : "") + "[1]";
        return a + "]";
      }
      default: return "{\"c\": " + Value(depth + 1) + "}";
    }
  }
  std::string Row() {
    std::string r = "{";
    bool first = true;
    auto add = [&](const std::string& k, const std::string& v) {
      r += (first ? "" : ",") + expr::TemplateValue(k).ToString() + ":" + v;
      first = false;
    };
    if (Pick(6) != 0) add("a", Value());
    if (Pick(3) != 0) add("b", "{\"c\": " + Value(1) + "}");
    return r + "}";
  }

  ColumnBatch Batch(const CollectionSchema& s, int64_t rows) {
    ColumnBatch b;
    b.num_rows = rows;
    for (const FieldSchema& f : s.fields) b.columns.push_back(Column::ForField(f));
    for (int64_t i = 0; i < rows; ++i) {
      b.columns[0].AppendFixed(&i);
      if (Pick(12) == 0) {
        b.columns[1].AppendNull();
      } else {
        b.columns[1].AppendVar(Row());
      }
      b.columns[2].AppendVar(Row());
    }
    return b;
  }

  std::string Leaf() {
    static const char* kPaths[] = {"j[\"a\"]", "j[\"b\"][\"c\"]", "a", "$meta[\"b\"][\"c\"]", "j"};
    std::string p = kPaths[Pick(5)];
    static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    switch (Pick(9)) {
      case 0:
      case 1: return fmt::format("{} {} {}", p, kOps[Pick(6)], Scalar());
      case 2: {
        int k = Pick(3);
        std::string lo = k == 0 ? Int() : k == 1 ? Dbl() : Str();
        std::string hi = k == 0 ? Int() : k == 1 ? Dbl() : Str();
        return fmt::format("{} {} {} {} {}", lo, Pick(2) ? "<" : "<=", p, Pick(2) ? "<" : "<=", hi);
      }
      case 3: {
        std::string in = "[";
        int n = 1 + Pick(3);
        int kind = Pick(4);
        for (int i = 0; i < n; ++i) {
          in += (i ? "," : "") + (kind == 0 ? Int() : kind == 1 ? Str() : kind == 2 ? Dbl() : Scalar());
        }
        return fmt::format("{} {} {}]", p, Pick(4) ? "in" : "not in", in);
      }
      case 4: {
        static const char* kLike[] = {"a%", "ab", "%b", "_", "x\\%%", "%", "b%a"};
        return fmt::format("{} like \"{}\"", p, kLike[Pick(7)]);
      }
      case 5: return fmt::format("json_contains({}, {})", p, Scalar());
      case 6:
      case 7: {
        std::string arr = "[";
        int n = Pick(3) + (Pick(5) ? 1 : 0);
        int kind = Pick(4);
        for (int i = 0; i < n; ++i) {
          arr += (i ? "," : "") + (kind == 0 ? Int() : kind == 1 ? Str() : kind == 2 ? std::string("true") : Scalar());
        }
        return fmt::format("{}({}, {}])", Pick(2) ? "json_contains_any" : "json_contains_all", p, arr);
      }
      default: return fmt::format("{} == {}", p, Int());
    }
  }
  std::string Expr(int depth) {
    if (depth == 0 || Pick(3) == 0) return Leaf();
    switch (Pick(3)) {
      case 0: return fmt::format("({}) and ({})", Expr(depth - 1), Expr(depth - 1));
      case 1: return fmt::format("({}) or ({})", Expr(depth - 1), Expr(depth - 1));
      default: return fmt::format("not ({})", Expr(depth - 1));
    }
  }

 private:
  std::mt19937 rng_;
  bool big_ints_;
};

struct Def {
  int64_t field;
  const char* pointer;
  const char* cast;
};

constexpr Def kDefs[] = {
    {101, "/a", "DOUBLE"},         {101, "/a", "VARCHAR"},       {101, "/a", "BOOL"},
    {101, "/a", "ARRAY_DOUBLE"},   {101, "/a", "ARRAY_VARCHAR"}, {101, "/a", "ARRAY_BOOL"},
    {101, "/b/c", "DOUBLE"},       {101, "/b/c", "VARCHAR"},     {101, "/b/c", "ARRAY_DOUBLE"},
    {102, "/a", "DOUBLE"},         {102, "/a", "VARCHAR"},       {102, "/a", "ARRAY_VARCHAR"},
    {102, "/b/c", "BOOL"},         {102, "/b/c", "DOUBLE"},      {101, "", "DOUBLE"},
};

std::map<std::string, std::string> Params(const Def& d) {
  return {{"index_type", "INVERTED"}, {"json_cast_type", d.cast}, {"json_pointer", d.pointer}};
}

void Differential(uint32_t seed, int64_t rows, int n_exprs, bool big_ints) {
  Gen gen(seed, big_ints);
  CollectionSchema schema = Schema();
  ColumnBatch batch = gen.Batch(schema, rows);
  std::vector<std::unique_ptr<ScalarIndex>> built, loaded;
  ScalarIndexLookup lookup, loaded_lookup;
  for (const Def& d : kDefs) {
    auto idx = BuildScalarIndex(Params(d), *batch.Find(FieldId(d.field)));
    ASSERT_TRUE(idx.ok()) << idx.status().ToString();
    std::string bytes, again;
    ASSERT_TRUE((*idx)->Serialize(&bytes).ok());
    auto l = LoadScalarIndex(Params(d), bytes);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ASSERT_TRUE((*l)->Serialize(&again).ok());
    EXPECT_EQ(bytes, again);
    lookup.Add(FieldId(d.field), idx->get());
    loaded_lookup.Add(FieldId(d.field), l->get());
    built.push_back(std::move(*idx));
    loaded.push_back(std::move(*l));
  }
  CountingLookup counting(&lookup);
  ColumnBatch shorter = batch;
  shorter.num_rows = rows * 2 / 3;
  int compiled = 0;
  for (int i = 0; i < n_exprs; ++i) {
    std::string text = gen.Expr(2);
    auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
    if (!plan.ok()) continue;
    ++compiled;
    std::vector<uint8_t> scan, with, with_loaded, scan_short, with_short;
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &scan).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &counting, &with).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &loaded_lookup, &with_loaded).ok());
    ASSERT_EQ(scan, with) << text << "\nplan: " << expr::PlanToString(**plan);
    ASSERT_EQ(scan, with_loaded) << "(loaded) " << text;
    ASSERT_TRUE(expr::Evaluate(**plan, shorter, &scan_short).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, shorter, &counting, &with_short).ok());
    ASSERT_EQ(scan_short, with_short) << "(fewer rows) " << text;
  }
  EXPECT_GT(compiled, n_exprs / 2);
  EXPECT_GT(counting.hits(), compiled / 4) << "the indexes were hardly used";
}

TEST(JsonPathIndex, MatchesScan) {
  for (uint32_t seed = 1; seed <= 4; ++seed) Differential(seed * 7919, 1200 + seed * 97, 400, false);
}

TEST(JsonPathIndex, MatchesScanWithIntsNoDoubleEquals) {
  for (uint32_t seed = 11; seed <= 12; ++seed) Differential(seed, 900, 300, true);
}

TEST(JsonPathIndex, MatchesScanLarge) { Differential(4242, 70000, 40, false); }

// json_cast_type JSON: one flat index per field over every key below its
// path (the whole of j, and $meta's "b"), answering as the scan does.
TEST(JsonFlatIndex, MatchesScan) {
  for (uint32_t seed = 21; seed <= 23; ++seed) {
    Gen gen(seed);
    CollectionSchema schema = Schema();
    ColumnBatch batch = gen.Batch(schema, 1500);
    std::vector<std::unique_ptr<ScalarIndex>> held;
    ScalarIndexLookup lookup, loaded_lookup;
    for (const Def& d : {Def{101, "", "JSON"}, Def{102, "/b", "JSON"}}) {
      auto idx = BuildScalarIndex(Params(d), *batch.Find(FieldId(d.field)));
      ASSERT_TRUE(idx.ok()) << idx.status().ToString();
      auto* flat = dynamic_cast<JsonFlatIndex*>(idx->get());
      ASSERT_NE(flat, nullptr);
      EXPECT_FALSE(flat->Keys().empty());
      std::string bytes, again;
      ASSERT_TRUE((*idx)->Serialize(&bytes).ok());
      auto l = LoadScalarIndex(Params(d), bytes);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      ASSERT_TRUE((*l)->Serialize(&again).ok());
      EXPECT_EQ(bytes, again);
      for (size_t i = 0; i < bytes.size(); i += 97) {
        std::string bad = bytes;
        bad[i] ^= 0x21;
        EXPECT_FALSE(LoadScalarIndex(Params(d), bad).ok()) << "flipped byte " << i;
      }
      lookup.Add(FieldId(d.field), idx->get());
      loaded_lookup.Add(FieldId(d.field), l->get());
      held.push_back(std::move(*idx));
      held.push_back(std::move(*l));
    }
    CountingLookup counting(&lookup);
    int compiled = 0;
    for (int i = 0; i < 300; ++i) {
      std::string text = gen.Expr(2);
      auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
      if (!plan.ok()) continue;
      ++compiled;
      std::vector<uint8_t> scan, with, with_loaded;
      ASSERT_TRUE(expr::Evaluate(**plan, batch, &scan).ok());
      ASSERT_TRUE(expr::Evaluate(**plan, batch, &counting, &with).ok());
      ASSERT_TRUE(expr::Evaluate(**plan, batch, &loaded_lookup, &with_loaded).ok());
      ASSERT_EQ(scan, with) << text;
      ASSERT_EQ(scan, with_loaded) << "(loaded) " << text;
    }
    EXPECT_GT(counting.hits(), compiled / 4) << "the flat indexes were hardly used";
  }
}

// Which leaves each cast type answers, on one small column.
TEST(JsonPathIndex, LeavesAnsweredAndDeclined) {
  CollectionSchema schema = Schema();
  ColumnBatch b;
  b.num_rows = 6;
  for (const FieldSchema& f : schema.fields) b.columns.push_back(Column::ForField(f));
  const char* rows[] = {R"({"a": 1})", R"({"a": "x"})", R"({"a": [1, 2]})", R"({"a": true})", R"({})", nullptr};
  for (int64_t i = 0; i < 6; ++i) {
    b.columns[0].AppendFixed(&i);
    rows[i] ? b.columns[1].AppendVar(rows[i]) : b.columns[1].AppendNull();
    b.columns[2].AppendVar("{}");
  }
  auto dbl = BuildScalarIndex(Params({101, "/a", "DOUBLE"}), b.columns[1]);
  ASSERT_TRUE(dbl.ok());
  EXPECT_EQ(static_cast<JsonPathIndex*>(dbl->get())->cast_rows(), 1);
  ScalarIndexLookup lookup;
  lookup.Add(FieldId(101), dbl->get());
  CountingLookup counting(&lookup);
  auto run = [&](const std::string& text) {
    auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
    EXPECT_TRUE(plan.ok()) << text;
    std::vector<uint8_t> out;
    EXPECT_TRUE(expr::Evaluate(**plan, b, &counting, &out).ok());
    return out;
  };
  int64_t before = counting.hits();
  EXPECT_EQ(run(R"(j["a"] == 1)"), (std::vector<uint8_t>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(run(R"(j["a"] != 1)"), (std::vector<uint8_t>{0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(run(R"(j["a"] > 0.5)"), (std::vector<uint8_t>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(counting.hits(), before + 3);
  before = counting.hits();
  EXPECT_EQ(run(R"(j["a"] == "x")"), (std::vector<uint8_t>{0, 1, 0, 0, 0, 0}));  // a string: scanned
  EXPECT_EQ(run(R"(j["b"] == 1)"), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0}));    // another path: scanned
  EXPECT_EQ(counting.hits(), before);
}

// json_cast_function STRING_TO_DOUBLE: strings at the path are indexed as the
// number they start with (Milvus 2.6's std::stod), so numeric leaves answered
// by the index also match them; the flag survives serialize -> load.
TEST(JsonPathIndex, StringToDoubleIndexesNumericStrings) {
  CollectionSchema schema = Schema();
  ColumnBatch b;
  const char* rows[] = {R"({"a": 12})",     R"({"a": "12.5"})", R"({"a": " 7"})", R"({"a": "3abc"})",
                        R"({"a": "abc"})", R"({"a": true})",   R"({})",         nullptr};
  const int64_t n = 8;
  b.num_rows = n;
  for (const FieldSchema& f : schema.fields) b.columns.push_back(Column::ForField(f));
  for (int64_t i = 0; i < n; ++i) {
    b.columns[0].AppendFixed(&i);
    rows[i] ? b.columns[1].AppendVar(rows[i]) : b.columns[1].AppendNull();
    b.columns[2].AppendVar("{}");
  }
  auto params = Params({101, "/a", "DOUBLE"});
  params["json_cast_function"] = "STRING_TO_DOUBLE";
  auto built = BuildScalarIndex(params, b.columns[1]);
  ASSERT_TRUE(built.ok()) << built.status().message();
  EXPECT_EQ(static_cast<JsonPathIndex*>(built->get())->cast_rows(), 4);
  std::string bytes;
  ASSERT_TRUE((*built)->Serialize(&bytes).ok());
  auto loaded = LoadScalarIndex(params, bytes);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  // the plain DOUBLE definition does not take this file, nor the reverse
  EXPECT_EQ(LoadScalarIndex(Params({101, "/a", "DOUBLE"}), bytes).status().code(), StatusCode::kInvalidArgument);
  for (const ScalarIndex* idx : {built->get(), loaded->get()}) {
    ScalarIndexLookup lookup;
    lookup.Add(FieldId(101), idx);
    auto run = [&](const std::string& text) {
      auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
      EXPECT_TRUE(plan.ok()) << text;
      std::vector<uint8_t> out;
      EXPECT_TRUE(expr::Evaluate(**plan, b, &lookup, &out).ok());
      return out;
    };
    EXPECT_EQ(run(R"(j["a"] > 5)"), (std::vector<uint8_t>{1, 1, 1, 0, 0, 0, 0, 0}));
    EXPECT_EQ(run(R"(j["a"] == 3)"), (std::vector<uint8_t>{0, 0, 0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(run(R"(j["a"] in [7, 12.5])"), (std::vector<uint8_t>{0, 1, 1, 0, 0, 0, 0, 0}));
    EXPECT_EQ(run(R"(j["a"] != 12)"), (std::vector<uint8_t>{0, 1, 1, 1, 1, 1, 1, 0}));
  }
  // only with DOUBLE
  auto bad = Params({101, "/a", "VARCHAR"});
  bad["json_cast_function"] = "STRING_TO_DOUBLE";
  EXPECT_FALSE(BuildScalarIndex(bad, b.columns[1]).ok());
}

TEST(JsonPathIndex, CorruptBytesRejected) {
  Gen gen(5);
  ColumnBatch batch = gen.Batch(Schema(), 300);
  const Def d{101, "/a", "VARCHAR"};
  auto idx = BuildScalarIndex(Params(d), *batch.Find(FieldId(101)));
  ASSERT_TRUE(idx.ok());
  std::string bytes;
  ASSERT_TRUE((*idx)->Serialize(&bytes).ok());
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string bad = bytes;
    bad[i] ^= 0x5a;
    EXPECT_FALSE(LoadScalarIndex(Params(d), bad).ok()) << "flipped byte " << i;
  }
  EXPECT_FALSE(LoadScalarIndex(Params(d), bytes.substr(0, bytes.size() / 2)).ok());
  auto other = LoadScalarIndex(Params({101, "/b", "VARCHAR"}), bytes);
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
}

TEST(JsonPathIndex, PointerSteps) {
  EXPECT_EQ(JsonPointerSteps(""), std::vector<std::string>{});
  EXPECT_EQ(JsonPointerSteps("/a/0"), (std::vector<std::string>{"a", "0"}));
  EXPECT_EQ(JsonPointerSteps("/a~1b/c~0d"), (std::vector<std::string>{"a/b", "c~d"}));
  EXPECT_EQ(JsonPointerSteps("/"), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace kite::index
