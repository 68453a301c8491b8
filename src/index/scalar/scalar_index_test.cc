// Scalar indexes: randomized differential tests (Evaluate with the indexes ==
// Evaluate scanning the columns, bit for bit, with nulls, NaNs, -0.0, odd Bool
// bytes and prefixes of other strings present), serialize -> load round
// trips, corruption, type checks, ColumnsNeeded and concurrency.
#include "index/scalar/scalar_index.h"

#include <atomic>
#include <cstring>
#include <iostream>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "expr/expr.h"

namespace kite::index {
namespace {

constexpr const char* kTypes[] = {"INVERTED", "STL_SORT", "BITMAP", "Trie"};

// Counts the leaves the indexes answered; answers every covered leaf (as if
// the column were absent) so the differential tests exercise the index paths.
class CountingLookup final : public expr::IndexLookup {
 public:
  explicit CountingLookup(const expr::IndexLookup* inner) : inner_(inner) {}
  bool Covers(const expr::IndexLeaf& leaf) const override { return inner_->Covers(leaf); }
  bool TryLeaf(const expr::IndexLeaf& leaf, int64_t rows, bool column_present,
               expr::LeafResult* out) const override {
    bool ok = inner_->TryLeaf(leaf, rows, /*column_present=*/false, out);
    if (ok) hits_.fetch_add(1);
    return ok;
  }
  int64_t hits() const { return hits_.load(); }

 private:
  const expr::IndexLookup* inner_;
  mutable std::atomic<int64_t> hits_{0};
};

std::string Quote(const std::string& s) { return expr::TemplateValue(s).ToString(); }

std::string Num(double d) { return fmt::format("{:.17g}", d); }

// One field under test: its schema, a column of random values, and a
// generator of random filter expressions on it.
struct FieldCase {
  DataType type;
  DataType elem = DataType::kNone;
  std::string name() const {
    return type == DataType::kArray ? fmt::format("Array<{}>", DataTypeName(elem)) : std::string(DataTypeName(type));
  }
};

class Generator {
 public:
  Generator(FieldCase fc, uint32_t seed) : fc_(fc), rng_(seed) {}

  CollectionSchema Schema() const {
    CollectionSchema s;
    s.name = "t";
    FieldSchema id;
    id.id = FieldId(100);
    id.name = "id";
    id.type = DataType::kInt64;
    id.is_primary = true;
    FieldSchema x;
    x.id = FieldId(101);
    x.name = "x";
    x.type = fc_.type;
    x.element_type = fc_.elem;
    x.nullable = true;
    if (fc_.type == DataType::kVarChar) x.type_params["max_length"] = "64";
    if (fc_.type == DataType::kArray) {
      x.type_params["max_capacity"] = "16";
      if (fc_.elem == DataType::kVarChar) x.type_params["max_length"] = "64";
    }
    FieldSchema y = x;
    y.id = FieldId(102);
    y.name = "y";
    s.fields = {id, x, y};
    return s;
  }

  ColumnBatch Batch(const CollectionSchema& schema, int64_t rows, double null_rate) {
    ColumnBatch b;
    b.num_rows = rows;
    Column id = Column::ForField(schema.fields[0]);
    for (int64_t i = 0; i < rows; ++i) id.AppendFixed(&i);
    b.columns.push_back(std::move(id));
    for (int f = 1; f <= 2; ++f) {
      Column c = Column::ForField(schema.fields[f]);
      for (int64_t i = 0; i < rows; ++i) AppendRandom(&c, null_rate);
      b.columns.push_back(std::move(c));
    }
    return b;
  }

  // A random predicate, `depth` levels of and/or/not at most.
  std::string Expr(int depth) {
    int r = Pick(10);
    if (depth <= 0 || r < 5) return Leaf(r % 4 == 0 ? "y" : "x");
    if (r < 7) return "not (" + Expr(depth - 1) + ")";
    return "(" + Expr(depth - 1) + (r < 9 ? " and " : " or ") + Expr(depth - 1) + ")";
  }

  std::string Leaf(const std::string& f) {
    int r = Pick(20);
    if (r == 0) return f + " is null";
    if (r == 1) return f + " is not null";
    if (r == 2) return "id % 3 == 1";  // never from an index
    if (fc_.type == DataType::kArray) return ArrayLeaf(f);
    if (fc_.type == DataType::kBool) return BoolLeaf(f);
    static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    if (r < 10) {
      std::string lit = Literal();
      const char* op = kOps[Pick(6)];
      return Pick(4) == 0 ? lit + " " + op + " " + f : f + " " + op + " " + lit;
    }
    if (r < 13) {
      const char* lo = Pick(2) ? "<" : "<=";
      const char* hi = Pick(2) ? "<" : "<=";
      std::string a = Literal(), b = Literal();
      if (Pick(2)) return a + " " + lo + " " + f + " " + hi + " " + b;
      return b + " " + (lo[1] ? ">=" : ">") + " " + f + " " + (hi[1] ? ">=" : ">") + " " + a;
    }
    if (r < 16) {
      std::string list = "[";
      int n = Pick(5);
      for (int i = 0; i < n; ++i) list += (i ? ", " : "") + Literal();
      return f + (Pick(3) == 0 ? " not in " : " in ") + list + "]";
    }
    if (fc_.type == DataType::kVarChar) {
      std::string s = Str();
      switch (Pick(5)) {
        case 0: return f + " like " + Quote(s);
        case 1: return f + " like " + Quote(s + "%");
        case 2: return f + " not like " + Quote(s + "%");
        case 3: return f + " like " + Quote("%" + s);
        default: return f + " like " + Quote(s + "_%");
      }
    }
    return f + " " + kOps[Pick(6)] + " " + Literal();
  }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Str() {
    static const char kAlpha[] = "abc";
    std::string s;
    int n = Pick(4);
    for (int i = 0; i < n; ++i) s.push_back(kAlpha[Pick(3)]);
    return s;
  }

  static bool IsInt(DataType t) { return IsIntegerType(t); }

  DataType Scalar() const { return fc_.type == DataType::kArray ? fc_.elem : fc_.type; }

  // A value as stored (doubles: the stored double; ints: int64; strings).
  double FloatValue() {
    static const double kVals[] = {-2.5, -1.0, -0.0, 0.0, 0.1, 1.0, 1.5, 3.25, 1e30, 7.0, 2.0, -7.75};
    int r = Pick(40);
    if (r == 0) return std::numeric_limits<double>::quiet_NaN();
    if (r == 1) return std::numeric_limits<double>::infinity();
    if (r == 2) return -std::numeric_limits<double>::infinity();
    return kVals[Pick(12)];
  }
  int64_t IntValue(DataType t) {
    int r = Pick(30);
    if (t == DataType::kInt64 && r == 0) return std::numeric_limits<int64_t>::min();
    if (t == DataType::kInt64 && r == 1) return std::numeric_limits<int64_t>::max();
    if (t == DataType::kInt8 && r == 0) return -128;
    if (t == DataType::kInt8 && r == 1) return 127;
    return Pick(21) - 10;
  }

  std::string Literal() {
    DataType t = Scalar();
    if (t == DataType::kVarChar) return Quote(Str());
    if (t == DataType::kBool) return Pick(2) ? "true" : "false";
    if (IsInt(t)) {
      int r = Pick(12);
      if (r == 0) return "2.5";
      if (r == 1) return "-3.0";
      if (r == 2) return "1e19";
      if (r == 3) return "-1e19";
      if (r == 4 && t == DataType::kInt64) return "9223372036854775807";
      if (r == 5 && t == DataType::kInt64) return "(-9223372036854775807 - 1)";
      return std::to_string(IntValue(t));
    }
    double d = FloatValue();
    if (!std::isfinite(d)) return "1e300";
    if (Pick(8) == 0) return std::to_string(Pick(9) - 4);  // integer literal on a float field
    return Num(d);
  }

  std::string BoolLeaf(const std::string& f) {
    switch (Pick(9)) {
      case 0: return f;
      case 1: return "not " + f;
      case 2: return f + " == true";
      case 3: return f + " == false";
      case 4: return f + " != true";
      case 5: return f + " in [true]";
      case 6: return f + " in [false]";
      case 7: return f + " not in [true, false]";
      default: return f + " in []";
    }
  }

  std::string ArrayLeaf(const std::string& f) {
    auto elem_lit = [&]() {
      if (Pick(12) == 0) {  // a literal of another kind, or a fraction
        static const char* kOdd[] = {"2.5", "3", "\"a\"", "true", "2.0"};
        return std::string(kOdd[Pick(5)]);
      }
      return Literal();
    };
    auto list = [&]() {
      std::string s = "[";
      int n = Pick(4);
      for (int i = 0; i < n; ++i) s += (i ? ", " : "") + elem_lit();
      return s + "]";
    };
    switch (Pick(4)) {
      case 0: return "array_contains(" + f + ", " + elem_lit() + ")";
      case 1: return "array_contains_any(" + f + ", " + list() + ")";
      case 2: return "array_contains_all(" + f + ", " + list() + ")";
      default: return "not array_contains(" + f + ", " + elem_lit() + ")";
    }
  }

  template <typename T>
  void Put(std::string* out, T v) {
    out->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }

  void AppendElement(DataType t, std::string* out) {
    switch (t) {
      case DataType::kBool: Put<uint8_t>(out, Pick(2)); break;
      case DataType::kInt8: Put<int8_t>(out, static_cast<int8_t>(IntValue(t))); break;
      case DataType::kInt16: Put<int16_t>(out, static_cast<int16_t>(IntValue(t))); break;
      case DataType::kInt32: Put<int32_t>(out, static_cast<int32_t>(IntValue(t))); break;
      case DataType::kInt64: Put<int64_t>(out, IntValue(t)); break;
      case DataType::kFloat: Put<float>(out, static_cast<float>(FloatValue())); break;
      case DataType::kDouble: Put<double>(out, FloatValue()); break;
      default: {
        std::string s = Str();
        PutU32(out, static_cast<uint32_t>(s.size()));
        *out += s;
      }
    }
  }

  void AppendRandom(Column* c, double null_rate) {
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < null_rate) {
      c->AppendNull();
      return;
    }
    if (fc_.type == DataType::kArray) {
      std::string row;
      int n = Pick(5);
      for (int i = 0; i < n; ++i) AppendElement(fc_.elem, &row);
      c->AppendVar(row);
      return;
    }
    if (fc_.type == DataType::kVarChar) {
      c->AppendVar(Str());
      return;
    }
    std::string v;
    if (fc_.type == DataType::kBool) {
      Put<uint8_t>(&v, Pick(50) == 0 ? 2 : Pick(2));  // an odd byte now and then
    } else {
      AppendElement(fc_.type, &v);
    }
    c->AppendFixed(v.data());
  }

  FieldCase fc_;
  std::mt19937 rng_;
};

const FieldCase kCases[] = {
    {DataType::kBool},   {DataType::kInt8},  {DataType::kInt16},   {DataType::kInt32},
    {DataType::kInt64},  {DataType::kFloat}, {DataType::kDouble},  {DataType::kVarChar},
    {DataType::kArray, DataType::kBool},     {DataType::kArray, DataType::kInt8},
    {DataType::kArray, DataType::kInt64},    {DataType::kArray, DataType::kFloat},
    {DataType::kArray, DataType::kDouble},   {DataType::kArray, DataType::kVarChar},
};

std::map<std::string, std::string> Params(const char* type) { return {{"index_type", type}}; }

struct Built {
  std::vector<std::unique_ptr<ScalarIndex>> indexes;
  ScalarIndexLookup lookup;
};

// Indexes of `type` on x and y, or nothing when the type does not take them.
std::unique_ptr<Built> BuildAll(const char* type, const ColumnBatch& batch) {
  auto b = std::make_unique<Built>();
  for (int64_t f : {101, 102}) {
    const Column* c = batch.Find(FieldId(f));
    if (!CheckScalarIndexType(type, c->type, c->element_type).ok()) return nullptr;
    auto idx = BuildScalarIndex(Params(type), *c);
    EXPECT_TRUE(idx.ok()) << idx.status().ToString();
    if (!idx.ok()) return nullptr;
    b->lookup.Add(FieldId(f), idx->get());
    b->indexes.push_back(std::move(*idx));
  }
  return b;
}

// Evaluates `n_exprs` random expressions with and without the indexes.
void Differential(const FieldCase& fc, const char* type, int64_t rows, int n_exprs, uint32_t seed) {
  Generator gen(fc, seed);
  CollectionSchema schema = gen.Schema();
  ColumnBatch batch = gen.Batch(schema, rows, 0.1);
  auto built = BuildAll(type, batch);
  if (!built) return;
  // Serialize -> load must give the same bytes and the same answers.
  Built loaded;
  for (size_t i = 0; i < built->indexes.size(); ++i) {
    std::string bytes, again;
    ASSERT_TRUE(built->indexes[i]->Serialize(&bytes).ok());
    auto l = LoadScalarIndex(Params(type), bytes);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    ASSERT_TRUE((*l)->Serialize(&again).ok());
    EXPECT_EQ(bytes, again) << fc.name() << " " << type;
    EXPECT_EQ((*l)->rows(), rows);
    EXPECT_GT((*l)->MemoryBytes(), 0u);
    loaded.lookup.Add(FieldId(101 + static_cast<int64_t>(i)), l->get());
    loaded.indexes.push_back(std::move(*l));
  }
  CountingLookup counting(&built->lookup);
  ColumnBatch shorter = batch;
  shorter.num_rows = rows * 3 / 4;
  int compiled = 0;
  for (int i = 0; i < n_exprs; ++i) {
    std::string text = gen.Expr(3);
    auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
    if (!plan.ok()) continue;  // e.g. a literal of the wrong kind for an array
    ++compiled;
    std::vector<uint8_t> scan, with, with_loaded, scan_short, with_short;
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &scan).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &counting, &with).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, batch, &loaded.lookup, &with_loaded).ok());  // may prefer scanning
    ASSERT_EQ(scan, with) << fc.name() << " " << type << ": " << text << "\nplan: " << expr::PlanToString(**plan);
    ASSERT_EQ(scan, with_loaded) << fc.name() << " " << type << " (loaded, cost-based): " << text;
    ASSERT_TRUE(expr::Evaluate(**plan, shorter, &scan_short).ok());
    ASSERT_TRUE(expr::Evaluate(**plan, shorter, &counting, &with_short).ok());
    ASSERT_EQ(scan_short, with_short) << fc.name() << " " << type << " (fewer rows): " << text;
    // Only the columns the indexes do not cover.
    ColumnBatch narrow;
    narrow.num_rows = batch.num_rows;
    for (FieldId f : expr::ColumnsNeeded(**plan, &built->lookup)) narrow.columns.push_back(*batch.Find(f));
    std::vector<uint8_t> with_narrow;
    Status st = expr::Evaluate(**plan, narrow, &built->lookup, &with_narrow);
    ASSERT_TRUE(st.ok()) << text << ": " << st.ToString();
    ASSERT_EQ(scan, with_narrow) << fc.name() << " " << type << " (covered columns dropped): " << text;
  }
  EXPECT_GT(compiled, n_exprs / 3) << fc.name();
  EXPECT_GT(counting.hits(), compiled / 4) << fc.name() << " " << type << ": the indexes were hardly used";
}

class ScalarIndexDiff : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ScalarIndexDiff, MatchesScan) {
  const FieldCase& fc = GetParam();
  for (const char* type : kTypes) {
    for (uint32_t seed = 1; seed <= 3; ++seed) Differential(fc, type, 1500 + seed * 211, 250, seed * 7919);
  }
}

// Enough rows for dense bitmap chunks (bitsets in the persisted form).
TEST_P(ScalarIndexDiff, MatchesScanLarge) {
  const FieldCase& fc = GetParam();
  for (const char* type : kTypes) Differential(fc, type, 70000, 20, 4242);
}

INSTANTIATE_TEST_SUITE_P(Types, ScalarIndexDiff, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<FieldCase>& info) {
                           std::string n = info.param.name();
                           for (char& ch : n) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

Column IntColumn(const std::vector<std::optional<int64_t>>& vals) {
  FieldSchema f;
  f.id = FieldId(101);
  f.name = "x";
  f.type = DataType::kInt64;
  f.nullable = true;
  Column c = Column::ForField(f);
  for (const auto& v : vals) {
    if (v) {
      c.AppendFixed(&*v);
    } else {
      c.AppendNull();
    }
  }
  return c;
}

TEST(ScalarIndex, RejectsUnsupportedTypes) {
  EXPECT_TRUE(CheckScalarIndexType("STL_SORT", DataType::kInt64, DataType::kNone).ok());
  EXPECT_TRUE(CheckScalarIndexType("stl_sort", DataType::kDouble, DataType::kNone).ok());
  EXPECT_TRUE(CheckScalarIndexType("STL_SORT", DataType::kVarChar, DataType::kNone).ok());  // Milvus 2.6
  EXPECT_FALSE(CheckScalarIndexType("STL_SORT", DataType::kBool, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("STL_SORT", DataType::kArray, DataType::kInt64).ok());
  EXPECT_TRUE(CheckScalarIndexType("Trie", DataType::kVarChar, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("Trie", DataType::kInt64, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("BITMAP", DataType::kFloat, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("BITMAP", DataType::kArray, DataType::kDouble).ok());
  EXPECT_TRUE(CheckScalarIndexType("BITMAP", DataType::kArray, DataType::kVarChar).ok());
  EXPECT_TRUE(CheckScalarIndexType("INVERTED", DataType::kArray, DataType::kFloat).ok());
  EXPECT_FALSE(CheckScalarIndexType("INVERTED", DataType::kJson, DataType::kNone).ok());
  EXPECT_FALSE(CheckScalarIndexType("NGRAM", DataType::kVarChar, DataType::kNone).ok());

  Column c = IntColumn({1, 2});
  auto r = BuildScalarIndex(Params("Trie"), c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(BuildScalarIndex({}, c).ok());
  Column bad = c;
  bad.fixed.resize(8);  // holds one row, claims two
  EXPECT_EQ(BuildScalarIndex(Params("STL_SORT"), bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(ScalarIndex, EmptyAndAllNullColumns) {
  for (const char* type : {"INVERTED", "STL_SORT", "BITMAP"}) {
    for (const auto& vals : {std::vector<std::optional<int64_t>>{},
                             std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt}}) {
      Column c = IntColumn(vals);
      auto idx = BuildScalarIndex(Params(type), c);
      ASSERT_TRUE(idx.ok()) << type;
      std::string bytes;
      ASSERT_TRUE((*idx)->Serialize(&bytes).ok());
      auto l = LoadScalarIndex(Params(type), bytes);
      ASSERT_TRUE(l.ok()) << l.status().ToString();
      expr::IndexLeaf leaf;
      leaf.field = FieldId(101);
      leaf.type = DataType::kInt64;
      leaf.op = expr::IndexLeaf::Op::kIsNull;
      expr::LeafResult res;
      ASSERT_TRUE((*l)->Search(leaf, static_cast<int64_t>(vals.size()), &res));
      EXPECT_EQ(res.value, std::vector<uint8_t>(vals.size(), 1));
      EXPECT_FALSE((*l)->Search(leaf, static_cast<int64_t>(vals.size()) + 1, &res));  // past the indexed rows
    }
  }
}

TEST(ScalarIndex, LeavesAnsweredAndDeclined) {
  Column c = IntColumn({5, std::nullopt, 3, 5, 9});
  auto idx = BuildScalarIndex(Params("STL_SORT"), c);
  ASSERT_TRUE(idx.ok());
  expr::IndexLeaf leaf;
  leaf.field = FieldId(101);
  leaf.type = DataType::kInt64;
  leaf.op = expr::IndexLeaf::Op::kRange;
  leaf.lo = expr::IndexBound{int64_t{4}, true};
  expr::LeafResult r;
  ASSERT_TRUE((*idx)->Search(leaf, 5, &r));
  EXPECT_EQ(r.value, (std::vector<uint8_t>{1, 0, 0, 1, 1}));
  EXPECT_EQ(r.valid, (std::vector<uint8_t>{1, 0, 1, 1, 1}));
  leaf.op = expr::IndexLeaf::Op::kNotEqual;
  leaf.keys = {int64_t{5}};
  ASSERT_TRUE((*idx)->Search(leaf, 5, &r));
  EXPECT_EQ(r.value, (std::vector<uint8_t>{0, 0, 1, 0, 1}));
  leaf.keys = {std::string("5")};  // wrong key kind: declined
  EXPECT_FALSE((*idx)->Supports(leaf));
  EXPECT_FALSE((*idx)->Search(leaf, 5, &r));
  leaf.keys = {int64_t{5}};
  leaf.type = DataType::kInt32;  // another field type: declined
  EXPECT_FALSE((*idx)->Supports(leaf));
  leaf.type = DataType::kInt64;
  leaf.op = expr::IndexLeaf::Op::kPrefix;  // not on numbers
  EXPECT_FALSE((*idx)->Supports(leaf));
}

TEST(ScalarIndex, ColumnsNeededSkipsCoveredFields) {
  Generator gen({DataType::kInt64}, 5);
  CollectionSchema schema = gen.Schema();
  ColumnBatch batch = gen.Batch(schema, 1000, 0.1);
  auto built = BuildAll("STL_SORT", batch);
  ASSERT_TRUE(built);
  ScalarIndexLookup only_x;
  only_x.Add(FieldId(101), built->indexes[0].get());
  auto plan = expr::Compile("x > 3 and (y < 2 or x in [1, 2]) and id + 1 > 5", schema, {}, expr::ParseOptions{});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(expr::ColumnsNeeded(**plan, &only_x), (std::vector<FieldId>{FieldId(100), FieldId(102)}));
  EXPECT_EQ(expr::ColumnsNeeded(**plan, nullptr), (std::vector<FieldId>{FieldId(100), FieldId(101), FieldId(102)}));
  // Arithmetic on an indexed field still needs its column.
  auto arith = expr::Compile("x + 1 > 3 and x < 2", schema, {}, expr::ParseOptions{});
  ASSERT_TRUE(arith.ok());
  EXPECT_EQ(expr::ColumnsNeeded(**arith, &only_x), (std::vector<FieldId>{FieldId(101)}));
}

// Every single-byte change and every truncation is detected (the CRC), never a crash.
TEST(ScalarIndex, CorruptBytesRejected) {
  for (const FieldCase& fc : kCases) {
    Generator gen(fc, 99);
    CollectionSchema schema = gen.Schema();
    ColumnBatch batch = gen.Batch(schema, 300, 0.2);
    for (const char* type : kTypes) {
      auto built = BuildAll(type, batch);
      if (!built) continue;
      std::string bytes;
      ASSERT_TRUE(built->indexes[0]->Serialize(&bytes).ok());
      for (size_t i = 0; i < bytes.size(); i += 1 + i / 64) {
        std::string bad = bytes;
        bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
        auto l = LoadScalarIndex(Params(type), bad);
        ASSERT_FALSE(l.ok()) << fc.name() << " " << type << " byte " << i;
        EXPECT_EQ(l.status().code(), StatusCode::kCorruption);
      }
      for (size_t n = 0; n < bytes.size(); n += 1 + n / 16) {
        ASSERT_FALSE(LoadScalarIndex(Params(type), bytes.substr(0, n)).ok()) << fc.name() << " " << type << " " << n;
      }
      auto other = std::string(type) == "STL_SORT" ? "INVERTED" : "STL_SORT";
      EXPECT_EQ(LoadScalarIndex(Params(other), bytes).status().code(), StatusCode::kInvalidArgument);
    }
  }
}

// Damage behind a valid checksum (a buggy writer, not a disk): Load checks the
// structure itself, and whatever it accepts can be searched without a crash.
TEST(ScalarIndex, StructuralDamageWithValidChecksum) {
  std::mt19937 rng(7);
  auto fix_crc = [](std::string* b) {
    const size_t n = b->size() - 4;
    auto crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(b->data()), static_cast<uInt>(n)));
    std::memcpy(b->data() + n, &crc, 4);
  };
  int accepted = 0, total = 0;
  for (const FieldCase& fc : kCases) {
    Generator gen(fc, 3);
    CollectionSchema schema = gen.Schema();
    ColumnBatch batch = gen.Batch(schema, 200, 0.2);
    for (const char* type : kTypes) {
      auto built = BuildAll(type, batch);
      if (!built) continue;
      std::string bytes;
      ASSERT_TRUE(built->indexes[0]->Serialize(&bytes).ok());
      {
        std::string same = bytes;
        fix_crc(&same);
        ASSERT_EQ(same, bytes) << "the test's CRC differs from the writer's";
      }
      for (int t = 0; t < 150; ++t) {
        std::string bad = bytes;
        int flips = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < flips; ++k) bad[rng() % (bad.size() - 4)] ^= static_cast<char>(1 + rng() % 255);
        fix_crc(&bad);
        ++total;
        auto l = LoadScalarIndex(Params(type), bad);
        if (!l.ok()) continue;
        ++accepted;
        if ((*l)->rows() > (1 << 20)) continue;  // an accepted damaged row count: searching would allocate it
        expr::IndexLeaf leaf;
        leaf.field = FieldId(101);
        leaf.type = (*l)->data_type();
        leaf.element_type = (*l)->element_type();
        leaf.op = expr::IndexLeaf::Op::kIsNotNull;
        expr::LeafResult r;
        EXPECT_TRUE((*l)->Search(leaf, (*l)->rows(), &r));
      }
    }
  }
  EXPECT_LT(accepted, total);
  std::cout << "[ damage   ] " << total << " damaged indexes with valid checksums, " << accepted << " accepted\n";
}

TEST(ScalarIndex, ConcurrentSearches) {
  Generator gen({DataType::kVarChar}, 11);
  CollectionSchema schema = gen.Schema();
  ColumnBatch batch = gen.Batch(schema, 20000, 0.1);
  auto built = BuildAll("INVERTED", batch);
  ASSERT_TRUE(built);
  std::vector<std::unique_ptr<const expr::Plan>> plans;
  std::vector<std::vector<uint8_t>> want;
  for (int i = 0; i < 40; ++i) {
    auto p = expr::Compile(gen.Expr(2), schema, {}, expr::ParseOptions{});
    if (!p.ok()) continue;
    std::vector<uint8_t> m;
    ASSERT_TRUE(expr::Evaluate(**p, batch, &m).ok());
    plans.push_back(std::move(*p));
    want.push_back(std::move(m));
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&]() {
      for (int rep = 0; rep < 5; ++rep) {
        for (size_t i = 0; i < plans.size(); ++i) {
          std::vector<uint8_t> m;
          if (!expr::Evaluate(*plans[i], batch, &built->lookup, &m).ok() || m != want[i]) bad.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace kite::index

#include "index/scalar/text_index.h"
#include "text/match.h"

namespace kite::index {
namespace {

// The text index answers TEXT_MATCH / PHRASE_MATCH leaves exactly as
// analyzing every row does (null rows invalid).
TEST(TextIndexTest, AnswersEqualPerRowAnalysis) {
  FieldSchema f;
  f.id = FieldId(7);
  f.name = "text";
  f.type = DataType::kVarChar;
  Column col = Column::ForField(f);
  const std::vector<std::string> docs = {"machine learning boosts efficiency", "learning machine", "deep machine learning",
                                         "", "the file object", "file the object the file"};
  for (const auto& d : docs) col.AppendVar(d);
  col.AppendNull();
  auto analyzer = text::BuildAnalyzer("");
  ASSERT_TRUE(analyzer.ok());
  auto idx = BuildTextIndex(col, **analyzer);
  struct Case {
    expr::IndexLeaf::Op op;
    std::string q;
    int64_t slop_or_min;
  };
  for (const Case& c : std::vector<Case>{{expr::IndexLeaf::Op::kTextMatch, "machine file", 1},
                                         {expr::IndexLeaf::Op::kTextMatch, "machine learning deep", 2},
                                         {expr::IndexLeaf::Op::kPhraseMatch, "machine learning", 0},
                                         {expr::IndexLeaf::Op::kPhraseMatch, "machine learning", 2},
                                         {expr::IndexLeaf::Op::kPhraseMatch, "the file", 1},
                                         {expr::IndexLeaf::Op::kPhraseMatch, "absent file", 3}}) {
    auto q = (*analyzer)->Analyze(c.q);
    expr::IndexLeaf leaf;
    leaf.field = f.id;
    leaf.type = DataType::kVarChar;
    leaf.op = c.op;
    std::vector<std::string> terms;
    for (const auto& t : q) {
      leaf.keys.emplace_back(t.text);
      leaf.positions.push_back(t.position);
      terms.push_back(t.text);
    }
    leaf.slop = c.slop_or_min;
    leaf.min_should_match = c.slop_or_min;
    expr::LeafResult r;
    ASSERT_TRUE(idx->Search(leaf, col.num_rows, &r));
    for (int64_t row = 0; row < col.num_rows; ++row) {
      if (col.IsNull(row)) {
        EXPECT_EQ(r.valid.at(row), 0);
        EXPECT_EQ(r.value[row], 0);
        continue;
      }
      auto doc = (*analyzer)->Analyze(col.GetBytes(row));
      bool want = c.op == expr::IndexLeaf::Op::kTextMatch ? text::TermsMatch(doc, terms, c.slop_or_min)
                                                          : text::PhraseMatch(doc, q, c.slop_or_min);
      EXPECT_EQ(r.value[row] != 0, want) << c.q << " row " << row;
    }
  }
}

}  // namespace
}  // namespace kite::index
