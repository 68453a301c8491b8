// libFuzzer target for the filter-expression compiler and evaluator.
//
// Every input is compiled against a schema with a field of each filterable
// kind (plus the dynamic field) and fixed template values; whatever compiles
// is evaluated over a small batch with NULLs, arrays and JSON. Invariants
// (abort on violation): Compile fails only with InvalidArgument; a compiled
// plan evaluates OK over a batch holding every column, yields one byte per
// row, and its helpers (ReferencedFields, ExtractPrimaryKeys, PlanToString)
// run. Crashes, sanitizer reports and stack overflows are failures too.
//
// Built only with clang (src/expr/CMakeLists.txt):
//   cmake -DCMAKE_CXX_COMPILER=clang++ ... && ninja expr_fuzzer
//   ./src/expr/expr_fuzzer -max_total_time=60 ../tests/logic/expr
// (the .test files make a usable seed corpus: libFuzzer mutates whole lines).
// Under gcc, src/expr/expr_fuzz_test.cc calls LLVMFuzzerTestOneInput with
// ~20k generated inputs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "expr/expr.h"

namespace {

using kite::Column;
using kite::ColumnBatch;
using kite::CollectionSchema;
using kite::DataType;
using kite::FieldId;
using kite::FieldSchema;

FieldSchema MakeField(int64_t id, const char* name, DataType type, bool nullable = false,
                      DataType elem = DataType::kNone) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = name;
  f.type = type;
  f.nullable = nullable;
  f.element_type = elem;
  return f;
}

struct Fixture {
  CollectionSchema schema;
  ColumnBatch batch;
  kite::expr::TemplateValues values;

  Fixture() {
    schema.name = "fuzz";
    schema.enable_dynamic_field = true;
    schema.fields = {
        MakeField(100, "id", DataType::kInt64),
        MakeField(101, "age", DataType::kInt32, true),
        MakeField(102, "score", DataType::kDouble),
        MakeField(103, "ratio", DataType::kFloat),
        MakeField(104, "name", DataType::kVarChar, true),
        MakeField(105, "active", DataType::kBool),
        MakeField(106, "tags", DataType::kArray, true, DataType::kVarChar),
        MakeField(107, "nums", DataType::kArray, false, DataType::kInt64),
        MakeField(108, "meta", DataType::kJson, true),
        MakeField(109, "vec", DataType::kFloatVector),
        MakeField(110, "small", DataType::kInt8),
        MakeField(111, "$meta", DataType::kJson),
    };
    schema.fields[0].is_primary = true;
    schema.fields[9].type_params["dim"] = "2";
    schema.fields[11].is_dynamic = true;

    const char* metas[] = {R"({"a": 1, "b": {"c": "x"}, "arr": [1, 2, 3]})", R"({"a": "1", "arr": []})",
                           R"([1, 2.5, "x", null, [1]])", R"({"a": null, "s": "hello"})", "not json"};
    const char* dyns[] = {R"({"color": "red", "size": 10})", R"({})", R"({"color": 1})", R"({"size": 2.5})",
                          R"({"color": null})"};
    const char* names[] = {"alice", "", "b_b", "100%", "é"};
    constexpr int kRows = 5;
    batch.num_rows = kRows;
    for (const auto& f : schema.fields) batch.columns.push_back(Column::ForField(f));
    for (int64_t i = 0; i < kRows; ++i) {
      auto& c = batch.columns;
      c[0].AppendFixed(&i);
      int32_t age = static_cast<int32_t>(i * 10 - 5);
      c[1].AppendFixed(&age, i != 2);
      double score = 1.5 * static_cast<double>(i);
      c[2].AppendFixed(&score);
      float ratio = 0.1f * static_cast<float>(i);
      c[3].AppendFixed(&ratio);
      if (i == 4) {
        c[4].AppendNull();
      } else {
        c[4].AppendVar(names[i]);
      }
      uint8_t active = i % 2;
      c[5].AppendFixed(&active);
      std::string tags;
      for (int64_t k = 0; k < i; ++k) {
        std::string t(1, static_cast<char>('a' + k));
        kite::PutU32(&tags, static_cast<uint32_t>(t.size()));
        tags += t;
      }
      if (i == 3) {
        c[6].AppendNull();
      } else {
        c[6].AppendVar(tags);
      }
      std::string nums;
      for (int64_t k = 0; k < i; ++k) nums.append(reinterpret_cast<const char*>(&k), sizeof(k));
      c[7].AppendVar(nums);
      if (i == 1) {
        c[8].AppendNull();
      } else {
        c[8].AppendVar(metas[i]);
      }
      float vec[2] = {1, 2};
      c[9].AppendFixed(vec);
      int8_t small = static_cast<int8_t>(i * 60 - 120);
      c[10].AppendFixed(&small);
      c[11].AppendVar(dyns[i]);
    }
    values["a"] = 1;
    values["b"] = "x";
    values["c"] = kite::expr::TemplateValue::Array{1, 2};
    values["d"] = 1.5;
    values["e"] = true;
    values["n"] = kite::expr::TemplateValue();
  }
};

void Check(bool ok, const char* what, std::string_view text) {
  if (ok) return;
  std::fprintf(stderr, "expr_fuzzer invariant violated: %s\ninput: %.*s\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

}  // namespace

// Inputs that compiled (read by the gcc smoke test to report its coverage).
size_t kite_expr_fuzzer_compiled = 0;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture* fixture = new Fixture();  // never destroyed: shared by all inputs
  std::string_view text(reinterpret_cast<const char*>(data), size);
  kite::expr::ParseOptions options;
  options.max_length = 4096;
  options.max_depth = 64;
  auto plan = kite::expr::Compile(text, fixture->schema, fixture->values, options);
  if (!plan.ok()) {
    Check(plan.status().code() == kite::StatusCode::kInvalidArgument, "Compile failed with a non-user error", text);
    const std::string& msg = plan.status().message();
    // A call of an unknown function fails as Milvus's segment engine words it.
    const bool unknown_function = plan.status().Is(kite::Reason::kUnclassified) && msg.rfind("function ", 0) == 0;
    Check(msg.rfind("cannot parse expression: ", 0) == 0 || msg.rfind("predicate is not a boolean expression: ", 0) == 0 ||
              unknown_function,
          "error message shape", text);
    return 0;
  }
  ++kite_expr_fuzzer_compiled;
  std::vector<uint8_t> out;
  kite::Status st = kite::expr::Evaluate(**plan, fixture->batch, &out);
  Check(st.ok(), "Evaluate failed on a complete batch", text);
  Check(out.size() == static_cast<size_t>(fixture->batch.num_rows), "output size", text);
  for (uint8_t b : out) Check(b <= 1, "output byte not 0/1", text);
  (void)kite::expr::ReferencedFields(**plan);
  (void)kite::expr::ExtractPrimaryKeys(**plan, fixture->schema);
  (void)kite::expr::PlanToString(**plan);
  return 0;
}
