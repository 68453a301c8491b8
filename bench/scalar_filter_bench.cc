// Filter evaluation with and without scalar indexes: 1M rows of an Int64
// column (uniform over 1M values), a low-cardinality Int64 column (16
// values), and a VarChar column (100k distinct keys "key_<n>"), each with 1%
// nulls. For each filter, the median time of expr::Evaluate scanning the
// columns and answering from each index type that takes the field, and the
// ratio scan / index. Plain main (no Google Benchmark needed):
//   ./build/bench/kite_scalar_filter_bench [rows] [repetitions]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "expr/expr.h"
#include "index/scalar/scalar_index.h"

using namespace kite;

namespace {

double MedianMs(int reps, const std::function<void()>& f) {
  std::vector<double> t;
  f();  // warm up
  for (int i = 0; i < reps; ++i) {
    auto a = std::chrono::steady_clock::now();
    f();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

FieldSchema Field(int64_t id, const char* name, DataType type) {
  FieldSchema f;
  f.id = FieldId(id);
  f.name = name;
  f.type = type;
  f.nullable = id != 100;
  f.is_primary = id == 100;
  if (type == DataType::kVarChar) f.type_params["max_length"] = "64";
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 15;
  CollectionSchema schema;
  schema.name = "bench";
  schema.fields = {Field(100, "id", DataType::kInt64), Field(101, "x", DataType::kInt64),
                   Field(102, "c", DataType::kInt64), Field(103, "s", DataType::kVarChar)};
  ColumnBatch batch;
  batch.num_rows = rows;
  std::mt19937_64 rng(42);
  std::vector<Column> cols;
  for (const auto& f : schema.fields) cols.push_back(Column::ForField(f));
  for (int64_t i = 0; i < rows; ++i) {
    cols[0].AppendFixed(&i);
    bool null = rng() % 100 == 0;
    int64_t x = static_cast<int64_t>(rng() % 1000000);
    int64_t c = static_cast<int64_t>(rng() % 16);
    std::string s = fmt::format("key_{}", rng() % 100000);
    if (null) {
      cols[1].AppendNull();
      cols[2].AppendNull();
      cols[3].AppendNull();
    } else {
      cols[1].AppendFixed(&x);
      cols[2].AppendFixed(&c);
      cols[3].AppendVar(s);
    }
  }
  batch.columns = std::move(cols);

  struct Built {
    std::string field, type;
    std::unique_ptr<index::ScalarIndex> index;
  };
  std::vector<Built> built;
  std::printf("%lld rows; index builds:\n", static_cast<long long>(rows));
  for (auto [fid, name] : {std::pair<int64_t, const char*>{101, "x"}, {102, "c"}, {103, "s"}}) {
    const Column& col = *batch.Find(FieldId(fid));
    for (const char* type : {"STL_SORT", "INVERTED", "BITMAP", "Trie"}) {
      if (!index::CheckScalarIndexType(type, col.type, col.element_type).ok()) continue;
      if (std::string(type) == "BITMAP" && fid == 101) continue;  // high cardinality: not what BITMAP is for
      auto a = std::chrono::steady_clock::now();
      auto idx = index::BuildScalarIndex({{"index_type", type}}, col);
      auto b = std::chrono::steady_clock::now();
      if (!idx.ok()) {
        std::fprintf(stderr, "build failed: %s\n", idx.status().ToString().c_str());
        return 1;
      }
      std::string bytes;
      (void)(*idx)->Serialize(&bytes);
      auto c = std::chrono::steady_clock::now();
      auto loaded = index::LoadScalarIndex({{"index_type", type}}, bytes);
      auto d = std::chrono::steady_clock::now();
      std::printf("  %-2s %-9s build %7.1f ms  load %6.1f ms  memory %6.1f MiB  file %6.1f MiB\n", name, type,
                  std::chrono::duration<double, std::milli>(b - a).count(),
                  std::chrono::duration<double, std::milli>(d - c).count(), (*idx)->MemoryBytes() / 1048576.0,
                  bytes.size() / 1048576.0);
      if (!loaded.ok()) return 1;
      built.push_back({name, type, std::move(*idx)});
    }
  }

  const char* filters[] = {
      "x == 123457",
      "x in [5, 77, 1234, 99999, 500000, 777777, 999]",
      "1000 <= x < 11000",
      "x < 100000",
      "x > 3 and x < 1000",
      "c == 3",
      "c in [1, 2]",
      "s == \"key_4242\"",
      "s in [\"key_1\", \"key_2\", \"key_3\"]",
      "s like \"key\\\\_123%\"",
      "s like \"%999\"",
      "s like \"%123%\"",
      "s > \"key_99\"",
      "s is null",
      "s == \"key_4242\" and x < 500000",
  };
  std::printf("\n%-48s %10s   %s\n", "filter", "scan ms", "index ms (scan/index)");
  for (const char* text : filters) {
    auto plan = expr::Compile(text, schema, {}, expr::ParseOptions{});
    if (!plan.ok()) {
      std::fprintf(stderr, "%s: %s\n", text, plan.status().ToString().c_str());
      return 1;
    }
    std::vector<uint8_t> want, got;
    (void)expr::Evaluate(**plan, batch, &want);
    double scan = MedianMs(reps, [&]() { (void)expr::Evaluate(**plan, batch, &got); });
    std::string line = fmt::format("{:<48} {:10.3f}  ", text, scan);
    int64_t matches = std::count(want.begin(), want.end(), 1);
    for (const Built& b : built) {
      if (std::string(text).find(b.field + " ") != 0 && std::string(text).find(" " + b.field + " ") == std::string::npos) {
        continue;
      }
      index::ScalarIndexLookup lookup;
      lookup.Add(FieldId(b.field == "x" ? 101 : b.field == "c" ? 102 : 103), b.index.get());
      double t = MedianMs(reps, [&]() { (void)expr::Evaluate(**plan, batch, &lookup, &got); });
      if (got != want) {
        std::fprintf(stderr, "MISMATCH %s with %s\n", text, b.type.c_str());
        return 1;
      }
      line += fmt::format(" {} {:.3f} ({:.1f}x)", b.type, t, scan / t);
    }
    std::printf("%s   [%lld rows]\n", line.c_str(), static_cast<long long>(matches));
  }
  return 0;
}
