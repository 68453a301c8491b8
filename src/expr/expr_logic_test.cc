// Runs the filter-language data files tests/logic/expr/*.test (format:
// tests/logic/README.md). Each file is one test; every case in it is checked
// and all failures are reported with file:line.
//
// Every query is evaluated three ways, which must agree: over the full batch,
// over a batch holding only ReferencedFields() (so a missing field in that
// list shows up), and over a batch whose num_rows is one less than its
// columns (rows past num_rows must not be read or change results).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "expr/expr.h"
#ifdef KITE_LOGIC_WITH_INDEXES
#include "index/scalar/scalar_index.h"
#endif

namespace kite::expr {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path LogicDir() { return fs::path(KITE_SOURCE_DIR) / "tests" / "logic" / "expr"; }

std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(LogicDir())) {
    if (e.path().extension() == ".test") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// "a, b ,c" -> {"a","b","c"}; "" and "none" -> {}.
std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::string t = Trim(s);
  if (t.empty() || t == "none" || t == "[]") return out;
  std::istringstream in(t);
  for (std::string item; std::getline(in, item, ',');) out.push_back(Trim(item));
  return out;
}

TemplateValue FromJson(const json& j) {
  if (j.is_null()) return TemplateValue();
  if (j.is_boolean()) return TemplateValue(j.get<bool>());
  if (j.is_number_integer()) return TemplateValue(j.get<int64_t>());
  if (j.is_number()) return TemplateValue(j.get<double>());
  if (j.is_string()) return TemplateValue(j.get<std::string>());
  TemplateValue::Array a;
  for (const auto& e : j) a.push_back(FromJson(e));
  return TemplateValue(std::move(a));
}

DataType ParseType(const std::string& word, DataType* elem, int64_t* dim) {
  if (word.rfind("Array<", 0) == 0 && word.back() == '>') {
    *elem = DataTypeFromName(word.substr(6, word.size() - 7));
    return DataType::kArray;
  }
  if (word.rfind("FloatVector(", 0) == 0 && word.back() == ')') {
    *dim = std::stoll(word.substr(12, word.size() - 13));
    return DataType::kFloatVector;
  }
  if (word == "JSON") return DataType::kJson;
  return DataTypeFromName(word);
}

template <typename T>
void AppendValue(Column* c, T v) {
  c->AppendFixed(&v);
}

// Kite's array encoding (schema/column_batch.h).
std::string EncodeArray(DataType elem, const json& arr) {
  std::string out;
  for (const auto& e : arr) {
    switch (elem) {
      case DataType::kBool: out.push_back(e.get<bool>() ? 1 : 0); break;
      case DataType::kInt8: { auto v = e.get<int8_t>(); out.append(reinterpret_cast<char*>(&v), 1); break; }
      case DataType::kInt16: { auto v = e.get<int16_t>(); out.append(reinterpret_cast<char*>(&v), 2); break; }
      case DataType::kInt32: { auto v = e.get<int32_t>(); out.append(reinterpret_cast<char*>(&v), 4); break; }
      case DataType::kInt64: { auto v = e.get<int64_t>(); out.append(reinterpret_cast<char*>(&v), 8); break; }
      case DataType::kFloat: { auto v = e.get<float>(); out.append(reinterpret_cast<char*>(&v), 4); break; }
      case DataType::kDouble: { auto v = e.get<double>(); out.append(reinterpret_cast<char*>(&v), 8); break; }
      default: {
        std::string s = e.get<std::string>();
        PutU32(&out, static_cast<uint32_t>(s.size()));
        out += s;
      }
    }
  }
  return out;
}

void AppendJsonValue(Column* c, const FieldSchema& f, const json& v) {
  if (v.is_null()) {
    if (IsVectorType(f.type)) {
      std::vector<uint8_t> zeros(c->row_bytes, 0);
      c->AppendFixed(zeros.data());
    } else {
      c->AppendNull();
    }
    return;
  }
  switch (f.type) {
    case DataType::kBool: AppendValue<uint8_t>(c, v.get<bool>() ? 1 : 0); break;
    case DataType::kInt8: AppendValue<int8_t>(c, v.get<int8_t>()); break;
    case DataType::kInt16: AppendValue<int16_t>(c, v.get<int16_t>()); break;
    case DataType::kInt32: AppendValue<int32_t>(c, v.get<int32_t>()); break;
    case DataType::kInt64: AppendValue<int64_t>(c, v.get<int64_t>()); break;
    case DataType::kFloat: AppendValue<float>(c, v.get<float>()); break;
    case DataType::kDouble: AppendValue<double>(c, v.get<double>()); break;
    case DataType::kJson: c->AppendVar(v.dump()); break;
    case DataType::kArray: c->AppendVar(EncodeArray(f.element_type, v)); break;
    case DataType::kFloatVector: {
      std::vector<float> vec = v.get<std::vector<float>>();
      c->AppendFixed(vec.data());
      break;
    }
    default: c->AppendVar(v.get<std::string>()); break;
  }
}

struct Case {
  int line = 0;
  std::string query;
  TemplateValues values;
  bool expect_error = false;
  std::string error_regex;
  std::vector<std::string> ids;
  bool check_pks = false;
  std::optional<std::vector<std::string>> pks;
};

class LogicFile {
 public:
  explicit LogicFile(std::string name) : name_(std::move(name)) {}

  // Runs the file; returns the number of cases run. Failures are reported
  // through gtest.
  int Run() {
    std::ifstream in(LogicDir() / name_);
    EXPECT_TRUE(in.good()) << "cannot open " << name_;
    std::string line;
    int cases = 0;
    std::optional<Case> pending;
    TemplateValues next_values;
    while (std::getline(in, line)) {
      ++line_no_;
      std::string t = Trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (t.rfind("expect ", 0) == 0 || t.rfind("error", 0) == 0) {
        if (!pending) {
          ADD_FAILURE() << Where() << "expectation without a query";
          continue;
        }
        Expectation(t, &*pending);
        if (t.rfind("expect pks:", 0) == 0 || t.rfind("expect no pks", 0) == 0) continue;
        continue;
      }
      // Any other directive closes the pending case.
      if (pending) {
        RunCase(*pending);
        ++cases;
        pending.reset();
      }
      std::string word = t.substr(0, t.find(' '));
      std::string rest = t.size() > word.size() ? Trim(t.substr(word.size())) : "";
      if (word == "schema") {
        ReadSchema(in, rest);
      } else if (word == "rows") {
        ReadRows(in);
      } else if (word == "template") {
        next_values.clear();
        json values = json::parse(rest);
        for (const auto& [k, v] : values.items()) next_values[k] = FromJson(v);
      } else if (word == "query") {
        pending = Case{};
        pending->line = line_no_;
        pending->query = line.substr(line.find("query") + 6);
        pending->values = std::move(next_values);
        next_values.clear();
      } else {
        ADD_FAILURE() << Where() << "unknown directive: " << t;
      }
    }
    if (pending) {
      RunCase(*pending);
      ++cases;
    }
    return cases;
  }

 private:
  std::string Where() const { return name_ + ":" + std::to_string(line_no_) + ": "; }

  void Expectation(const std::string& t, Case* c) {
    if (t.rfind("expect ids:", 0) == 0) {
      c->ids = SplitList(t.substr(11));
      c->expect_error = false;
    } else if (t.rfind("expect pks:", 0) == 0) {
      c->check_pks = true;
      c->pks = SplitList(t.substr(11));
    } else if (t.rfind("expect no pks", 0) == 0) {
      c->check_pks = true;
      c->pks.reset();
    } else if (t.rfind("error", 0) == 0) {
      c->expect_error = true;
      c->error_regex = Trim(t.substr(5));
    } else {
      ADD_FAILURE() << Where() << "unknown expectation: " << t;
    }
  }

  void ReadSchema(std::ifstream& in, const std::string& args) {
    schema_ = CollectionSchema{};
    schema_.name = "t";
    schema_.enable_dynamic_field = args.find("dynamic") != std::string::npos;
    rows_.clear();
    int64_t next_id = kFirstUserFieldId;
    std::string line;
    while (std::getline(in, line)) {
      ++line_no_;
      std::string t = Trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (t == "end") break;
      auto words = SplitWords(t);
      FieldSchema f;
      f.id = FieldId(next_id++);
      f.name = words[0];
      int64_t dim = 0;
      f.type = ParseType(words.size() > 1 ? words[1] : "", &f.element_type, &dim);
      if (dim > 0) f.type_params["dim"] = std::to_string(dim);
      EXPECT_NE(f.type, DataType::kNone) << Where() << "bad type in " << t;
      for (size_t i = 2; i < words.size(); ++i) {
        if (words[i] == "primary") f.is_primary = true;
        if (words[i] == "nullable") f.nullable = true;
      }
      schema_.fields.push_back(f);
    }
    if (schema_.enable_dynamic_field) {
      FieldSchema f;
      f.id = FieldId(next_id++);
      f.name = kDynamicFieldName;
      f.type = DataType::kJson;
      f.is_dynamic = true;
      schema_.fields.push_back(f);
    }
  }

  void ReadRows(std::ifstream& in) {
    rows_.clear();
    std::string line;
    while (std::getline(in, line)) {
      ++line_no_;
      std::string t = Trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (t == "end") break;
      rows_.push_back(json::parse(t));
    }
    BuildBatch();
  }

  void BuildBatch() {
    batch_ = ColumnBatch{};
    batch_.num_rows = static_cast<int64_t>(rows_.size());
    for (const auto& f : schema_.fields) {
      Column c = Column::ForField(f);
      for (const auto& row : rows_) {
        if (f.is_dynamic) {
          json extra = json::object();
          for (const auto& [k, v] : row.items()) {
            if (!schema_.FindField(k)) extra[k] = v;
          }
          c.AppendVar(extra.dump());
        } else {
          AppendJsonValue(&c, f, row.contains(f.name) ? row[f.name] : json());
        }
      }
      batch_.columns.push_back(std::move(c));
    }
    ids_.clear();
    const FieldSchema* pk = schema_.PrimaryField();
    for (const auto& row : rows_) {
      const json& v = row.at(pk->name);
      ids_.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }

  std::vector<std::string> Matches(const std::vector<uint8_t>& mask, size_t n) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < n && i < mask.size(); ++i) {
      if (mask[i]) out.push_back(ids_[i]);
    }
    return out;
  }

  static std::string Join(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return "[" + s + "]";
  }

  void RunCase(const Case& c) {
    std::string where = name_ + ":" + std::to_string(c.line) + ": `" + c.query + "`: ";
    auto plan = Compile(c.query, schema_, c.values, ParseOptions{});
    if (c.expect_error) {
      if (plan.ok()) {
        ADD_FAILURE() << where << "expected an error matching /" << c.error_regex << "/, compiled to "
                      << PlanToString(**plan);
        return;
      }
      EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument) << where << plan.status().message();
      EXPECT_TRUE(std::regex_search(plan.status().message(), std::regex(c.error_regex)))
          << where << "error /" << c.error_regex << "/ does not match: " << plan.status().message();
      return;
    }
    if (!plan.ok()) {
      ADD_FAILURE() << where << "unexpected error: " << plan.status().message();
      return;
    }
    const Plan& p = **plan;
    std::vector<uint8_t> mask;
    Status st = Evaluate(p, batch_, &mask);
    if (!st.ok()) {
      ADD_FAILURE() << where << "evaluate failed: " << st.message();
      return;
    }
    EXPECT_EQ(mask.size(), rows_.size()) << where;
    auto got = Matches(mask, rows_.size());
    EXPECT_EQ(Join(got), Join(c.ids)) << where << "plan: " << PlanToString(p);

    // Only the referenced columns.
    ColumnBatch narrow;
    narrow.num_rows = batch_.num_rows;
    for (FieldId id : ReferencedFields(p)) {
      const Column* col = batch_.Find(id);
      if (col) narrow.columns.push_back(*col);
    }
    std::vector<uint8_t> mask2;
    st = Evaluate(p, narrow, &mask2);
    EXPECT_TRUE(st.ok()) << where << "with referenced columns only: " << st.message();
    EXPECT_EQ(mask2, mask) << where << "result differs with referenced columns only";

    // Fewer rows than the columns hold.
    if (!rows_.empty()) {
      ColumnBatch shorter = batch_;
      shorter.num_rows -= 1;
      std::vector<uint8_t> mask3;
      st = Evaluate(p, shorter, &mask3);
      EXPECT_TRUE(st.ok()) << where << st.message();
      EXPECT_EQ(mask3, std::vector<uint8_t>(mask.begin(), mask.end() - 1)) << where << "num_rows - 1 differs";
    }

#ifdef KITE_LOGIC_WITH_INDEXES
    CheckWithIndexes(p, mask, where);
#endif

    if (c.check_pks) {
      auto pks = ExtractPrimaryKeys(p, schema_);
      if (!c.pks) {
        EXPECT_FALSE(pks.has_value()) << where << "expected no primary-key fast path";
      } else if (!pks) {
        ADD_FAILURE() << where << "expected primary keys " << Join(*c.pks) << ", got no fast path";
      } else {
        std::vector<std::string> got_pks;
        for (const auto& k : *pks) got_pks.push_back(PkToString(k));
        EXPECT_EQ(got_pks, *c.pks) << where << "primary keys (in order)";
      }
    }
  }

#ifdef KITE_LOGIC_WITH_INDEXES
  // Same answers with indexes of each type on every column the type takes,
  // over the whole batch, one row fewer, and only the columns still needed.
  void CheckWithIndexes(const Plan& p, const std::vector<uint8_t>& mask, const std::string& where) {
    for (const char* type : {"INVERTED", "STL_SORT", "BITMAP", "Trie"}) {
      std::vector<std::unique_ptr<index::ScalarIndex>> indexes;
      index::ScalarIndexLookup lookup;
      for (const Column& col : batch_.columns) {
        if (!index::CheckScalarIndexType(type, col.type, col.element_type).ok()) continue;
        auto idx = index::BuildScalarIndex({{"index_type", type}}, col);
        ASSERT_TRUE(idx.ok()) << where << type << ": " << idx.status().ToString();
        lookup.Add(col.field_id, idx->get());
        indexes.push_back(std::move(*idx));
      }
      std::vector<uint8_t> got;
      Status st = Evaluate(p, batch_, &lookup, &got);
      ASSERT_TRUE(st.ok()) << where << type << ": " << st.message();
      EXPECT_EQ(got, mask) << where << "differs with " << type << " indexes";
      ColumnBatch narrow;
      narrow.num_rows = batch_.num_rows;
      for (FieldId id : ColumnsNeeded(p, &lookup)) narrow.columns.push_back(*batch_.Find(id));
      st = Evaluate(p, narrow, &lookup, &got);
      ASSERT_TRUE(st.ok()) << where << type << " with only the columns needed: " << st.message();
      EXPECT_EQ(got, mask) << where << "differs with " << type << " indexes and only the columns needed";
      if (!rows_.empty()) {
        ColumnBatch shorter = batch_;
        shorter.num_rows -= 1;
        st = Evaluate(p, shorter, &lookup, &got);
        ASSERT_TRUE(st.ok()) << where << st.message();
        EXPECT_EQ(got, std::vector<uint8_t>(mask.begin(), mask.end() - 1)) << where << type << ": num_rows - 1 differs";
      }
    }
  }
#endif

  std::string name_;
  int line_no_ = 0;
  CollectionSchema schema_;
  std::vector<json> rows_;
  ColumnBatch batch_;
  std::vector<std::string> ids_;
};

int total_cases = 0;

class ExprLogicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExprLogicTest, File) {
  LogicFile f(GetParam());
  int n = f.Run();
  total_cases += n;
  EXPECT_GT(n, 0) << GetParam() << " has no cases";
  std::cout << "[ logic    ] " << GetParam() << ": " << n << " cases\n";
}

INSTANTIATE_TEST_SUITE_P(Files, ExprLogicTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param.substr(0, info.param.size() - 5);
                           for (char& ch : n) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace kite::expr
