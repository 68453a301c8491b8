// A deterministic stand-in for the libFuzzer run under gcc: ~20k generated
// inputs (mutations and splices of the logic-test queries, random token
// soups, random bytes) are fed to LLVMFuzzerTestOneInput
// (tests/fuzz/expr_fuzzer.cc), which aborts on any invariant violation.
// KITE_EXPR_FUZZ_INPUTS=<n> runs n inputs instead (same proportions), and
// KITE_EXPR_FUZZ_SEED=<s> changes the seed, for longer runs under sanitizers.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern size_t kite_expr_fuzzer_compiled;

namespace {

namespace fs = std::filesystem;

std::vector<std::string> SeedQueries() {
  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(fs::path(KITE_SOURCE_DIR) / "tests" / "logic" / "expr")) {
    if (e.path().extension() != ".test") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("query ", 0) == 0) seeds.push_back(line.substr(6));
    }
  }
  std::sort(seeds.begin(), seeds.end());  // directory order is unspecified
  // Queries written for the fuzzer's schema (tests/fuzz/expr_fuzzer.cc).
  for (const char* q : {"age > 5 and name like \"a%\"", "json_contains(meta[\"arr\"], 1) or color == \"red\"",
                        "array_contains_any(tags, [\"a\", \"b\"]) and nums[0] == 0", "not (score * 2 < {d})",
                        "{a} < age <= 20", "meta[\"a\"] is null or exists size", "small % 3 == {a}",
                        "id in {c} or active", "ratio == 0.1 and array_length(nums) > 2"}) {
    seeds.emplace_back(q);
  }
  return seeds;
}

const char* const kTokens[] = {
    "age", "score", "ratio", "name", "active", "tags", "nums", "meta", "vec", "small", "id", "$meta", "color",
    "size", "[\"a\"]", "[0]", "[1]", " and ", " or ", " not ", "&&", "||", "!", "==", "!=", "<", "<=", ">", ">=",
    "+", "-", "*", "/", "%", "**", "(", ")", "[", "]", "{a}", "{c}", "{n}", "{zz}", " in ", " not in ", " like ",
    " is null", " is not null", "exists ", "json_contains(", "json_contains_all(", "array_contains_any(",
    "array_length(", ",", "1", "-1", "0", "2.5", "1e308", "9223372036854775807", "-9223372036854775808",
    "0x7f", "07", "0b11", "\"x\"", "'%a_'", "\"\\u00e9\"", "true", "False", "[]", "[1, 2]", "[[1], \"a\"]", " ",
};

std::string Mutate(std::string s, const std::vector<std::string>& seeds, std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    size_t pos = pick(s.size() + 1);
    switch (rng() % 6) {
      case 0: s.insert(pos, kTokens[pick(std::size(kTokens))]); break;
      case 1:
        if (!s.empty()) s.erase(pick(s.size()), 1 + pick(8));
        break;
      case 2: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
      case 3: {  // splice with another seed
        const std::string& other = seeds[pick(seeds.size())];
        size_t from = pick(other.size() + 1);
        s = s.substr(0, pos) + other.substr(from);
        break;
      }
      case 4:
        if (!s.empty()) {
          size_t from = pick(s.size());
          s.insert(pos, s.substr(from, 1 + pick(16)));
        }
        break;
      default:
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(" ()[]\"'\\%_<>=!&|"[pick(16)]);
        break;
    }
  }
  return s;
}

// Random well-formed expressions over the fuzzer's schema, so that a good
// share of inputs gets past the type checker into evaluation.
class Generator {
 public:
  explicit Generator(std::mt19937_64* rng) : rng_(*rng) {}

  std::string Pred(int depth) {
    switch (depth <= 0 ? Pick(6) : Pick(12)) {
      case 0: return Value(depth - 1) + " " + Cmp() + " " + Value(depth - 1);
      case 1: return Literal() + " " + (Pick(2) ? "<" : "<=") + " " + Value(depth - 1) + " " + (Pick(2) ? "<" : "<=") +
                     " " + Literal();
      case 2: return Value(depth - 1) + (Pick(2) ? " in " : " not in ") + List();
      case 3: return Value(depth - 1) + " like " + Pattern();
      case 4: return Column() + (Pick(2) ? " is null" : " is not null");
      case 5: return "active";
      case 6: return std::string(Pick(2) ? "json_contains" : "array_contains") + Suffix() + "(" + Container() + ", " +
                     (Pick(2) ? Literal() : List()) + ")";
      case 7: return "exists " + Json();
      case 8: return (Pick(2) ? "not " : "!") + std::string("(") + Pred(depth - 1) + ")";
      case 9: return "(" + Pred(depth - 1) + (Pick(2) ? " and " : " || ") + Pred(depth - 1) + ")";
      case 10: return Pred(depth - 1) + (Pick(2) ? " or " : " && ") + Pred(depth - 1);
      default: return "array_length(" + Container() + ") " + Cmp() + " " + Literal();
    }
  }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  template <size_t N>
  const char* From(const char* const (&a)[N]) {
    return a[Pick(N)];
  }
  std::string Cmp() { return From({"==", "!=", "<", "<=", ">", ">="}); }
  std::string Suffix() { return From({"", "_all", "_any"}); }
  std::string Column() {
    return From({"age", "score", "ratio", "name", "active", "tags", "nums", "meta", "small", "id", "color", "size",
                 "meta[\"a\"]", "meta[\"arr\"][0]", "$meta[\"color\"]"});
  }
  std::string Json() { return From({"meta[\"a\"]", "meta[\"b\"][\"c\"]", "meta[\"arr\"]", "color", "size"}); }
  std::string Container() { return From({"tags", "nums", "meta[\"arr\"]", "meta", "size", "$meta[\"x\"]"}); }
  std::string Literal() {
    return From({"0", "1", "-1", "2.5", "-0.0", "1e300", "9223372036854775807", "-9223372036854775808", "\"x\"",
                 "\"\"", "'a'", "true", "false", "{a}", "{d}", "{b}", "[]", "[1, \"x\"]"});
  }
  std::string List() { return From({"[]", "[1, 2]", "[\"a\", \"b\"]", "[1.5, 2]", "[true]", "{c}", "[[1], 2]"}); }
  std::string Pattern() { return From({"\"%\"", "\"a%\"", "\"%b\"", "\"%_%\"", "\"_\"", "\"\\\\%\"", "\"a%b%c\""}); }
  std::string Value(int depth) {
    switch (depth <= 0 ? Pick(2) : Pick(5)) {
      case 0: return Column();
      case 1: return Literal();
      case 2: return Column() + "[" + std::to_string(Pick(3)) + "]";
      case 3: return "array_length(" + Container() + ")";
      default:
        return "(" + Value(depth - 1) + " " + From({"+", "-", "*", "/", "%", "**"}) + " " + Value(depth - 1) + ")";
    }
  }

  std::mt19937_64& rng_;
};

TEST(ExprFuzzSmokeTest, TwentyThousandInputsDoNotCrash) {
  std::vector<std::string> seeds = SeedQueries();
  ASSERT_GT(seeds.size(), 100u);
  const char* n_env = std::getenv("KITE_EXPR_FUZZ_INPUTS");
  const char* seed_env = std::getenv("KITE_EXPR_FUZZ_SEED");
  const int total = n_env ? std::atoi(n_env) : 20000;
  std::mt19937_64 rng(seed_env ? std::strtoull(seed_env, nullptr, 10) : 20240611);
  int inputs = 0;
  auto feed = [&](const std::string& s) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    ++inputs;
  };
  for (const auto& s : seeds) feed(s);
  while (inputs < total * 45 / 100) feed(Mutate(seeds[rng() % seeds.size()], seeds, rng));
  Generator gen(&rng);
  while (inputs < total * 75 / 100) feed(gen.Pred(static_cast<int>(rng() % 5)));
  while (inputs < total * 9 / 10) {  // token soup
    std::string s;
    int n = 1 + static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) s += kTokens[rng() % std::size(kTokens)];
    feed(s);
  }
  while (inputs < total) {  // raw bytes
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    feed(s);
  }
  // Deep and long inputs go through the same invariants.
  feed(std::string(100000, '('));
  feed(std::string(5000, '-') + "1 == 1");
  std::string chain = "age > 0";
  for (int i = 0; i < 300; ++i) chain += " and age > 0";
  feed(chain);
  EXPECT_GE(inputs, total);
  std::cout << "[ fuzz     ] " << inputs << " inputs, " << kite_expr_fuzzer_compiled
            << " compiled and evaluated\n";
}

}  // namespace
