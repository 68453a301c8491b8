#include "expr/json_column.h"

#include <cmath>
#include <limits>

#include <simdjson.h>

namespace kite::expr::internal {

std::optional<int> CompareNumbers(int64_t a, double b) {
  if (std::isnan(b)) return std::nullopt;
  // 2^63 is exactly representable; every int64 is below it.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (b >= kTwo63) return -1;
  if (b < -kTwo63) return 1;
  double t = std::trunc(b);  // in [-2^63, 2^63): converts exactly
  int64_t ti = static_cast<int64_t>(t);
  if (a < ti) return -1;
  if (a > ti) return 1;
  if (b > t) return -1;  // a == trunc(b) < b
  if (b < t) return 1;
  return 0;
}
std::optional<int> CompareNumbers(double a, int64_t b) {
  auto r = CompareNumbers(b, a);
  if (!r) return r;
  return -*r;
}
std::optional<int> CompareNumbers(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::nullopt;
  return a < b ? -1 : (a > b ? 1 : 0);
}

std::optional<int> CompareLiteralNumbers(const TemplateValue& a, const TemplateValue& b) {
  if (a.is_int() && b.is_int()) return CompareNumbers(a.as_int(), b.as_int());
  if (a.is_int()) return CompareNumbers(a.as_int(), b.as_double());
  if (b.is_int()) return CompareNumbers(a.as_double(), b.as_int());
  return CompareNumbers(a.as_double(), b.as_double());
}

// Flattens simdjson DOM elements into a JsonColumn's nodes. Recursion follows
// the document's nesting, which simdjson bounds (DEFAULT_MAX_DEPTH = 1024).
class JsonFlattener {
 public:
  explicit JsonFlattener(JsonColumn* col) : col_(col) {}

  uint32_t Add(simdjson::dom::element e) {
    uint32_t idx = col_->Add();
    Fill(idx, e);
    return idx;
  }

 private:
  void Fill(uint32_t idx, simdjson::dom::element e) {
    JNode n;
    switch (e.type()) {
      case simdjson::dom::element_type::NULL_VALUE: n.type = JType::kNull; break;
      case simdjson::dom::element_type::BOOL:
        n.type = JType::kBool;
        n.b = e.get_bool().value_unsafe();
        break;
      case simdjson::dom::element_type::INT64:
        n.type = JType::kInt;
        n.u.i = e.get_int64().value_unsafe();
        break;
      case simdjson::dom::element_type::UINT64:
        n.type = JType::kDouble;
        n.u.d = static_cast<double>(e.get_uint64().value_unsafe());
        break;
      case simdjson::dom::element_type::DOUBLE:
        n.type = JType::kDouble;
        n.u.d = e.get_double().value_unsafe();
        break;
      case simdjson::dom::element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        n.type = JType::kString;
        n.u.off = col_->arena_.size();
        n.len = s.size();
        col_->arena_.append(s);
        break;
      }
      case simdjson::dom::element_type::ARRAY: {
        simdjson::dom::array arr = e.get_array().value_unsafe();
        uint32_t count = 0;
        for (auto child : arr) {
          (void)child;
          ++count;
        }
        n.type = JType::kArray;
        n.count = count;
        n.u.off = col_->nodes_.size();
        col_->nodes_.resize(col_->nodes_.size() + count);
        col_->nodes_[idx] = n;
        uint32_t k = 0;
        for (auto child : arr) Fill(static_cast<uint32_t>(n.u.off) + k++, child);
        return;
      }
      case simdjson::dom::element_type::OBJECT: n.type = JType::kObject; break;
    }
    col_->nodes_[idx] = n;
  }

  JsonColumn* col_;
};

uint32_t JsonColumn::Add() {
  nodes_.emplace_back();
  return static_cast<uint32_t>(nodes_.size() - 1);
}

namespace {

bool ParseIndex(std::string_view s, size_t* out) {
  if (s.empty() || s.size() > 18) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

JsonColumn JsonColumn::Extract(const Column& col, int64_t n, const std::vector<std::string>& path) {
  JsonColumn out;
  out.nodes_.emplace_back();  // node 0: missing
  out.root_.assign(static_cast<size_t>(n), 0);
  if (!col.valid.empty()) out.valid_.assign(col.valid.begin(), col.valid.begin() + n);
  JsonFlattener flat(&out);
  simdjson::dom::parser parser;
  for (int64_t r = 0; r < n; ++r) {
    if (col.IsNull(r)) continue;
    std::string_view text = col.GetBytes(r);
    simdjson::dom::element e;
    if (parser.parse(text.data(), text.size()).get(e) != simdjson::SUCCESS) continue;
    bool found = true;
    for (const std::string& step : path) {
      if (e.is_object()) {
        if (e.get_object().value_unsafe().at_key(step).get(e) != simdjson::SUCCESS) found = false;
      } else if (e.is_array()) {
        size_t idx = 0;
        if (!ParseIndex(step, &idx) || e.get_array().value_unsafe().at(idx).get(e) != simdjson::SUCCESS) {
          found = false;
        }
      } else {
        found = false;
      }
      if (!found) break;
    }
    if (found) out.root_[r] = flat.Add(e);
  }
  return out;
}

std::optional<int> CompareJson(const JsonColumn& col, const JNode& n, const TemplateValue& lit) {
  switch (n.type) {
    case JType::kInt:
      if (lit.is_int()) return CompareNumbers(n.u.i, lit.as_int());
      if (lit.is_double()) return CompareNumbers(n.u.i, lit.as_double());
      return std::nullopt;
    case JType::kDouble:
      if (lit.is_int()) return CompareNumbers(n.u.d, lit.as_int());
      if (lit.is_double()) return CompareNumbers(n.u.d, lit.as_double());
      return std::nullopt;
    case JType::kString:
      if (!lit.is_string()) return std::nullopt;
      {
        int c = col.Str(n).compare(lit.as_string());
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
    case JType::kBool:
      if (!lit.is_bool()) return std::nullopt;
      return static_cast<int>(n.b) - static_cast<int>(lit.as_bool());
    default: return std::nullopt;
  }
}

bool JsonEquals(const JsonColumn& col, const JNode& n, const TemplateValue& lit) {
  if (n.type == JType::kArray) {
    if (!lit.is_array()) return false;
    const auto& arr = lit.as_array();
    if (arr.size() != n.count) return false;
    for (uint32_t k = 0; k < n.count; ++k) {
      if (!JsonEquals(col, col.Element(n, k), arr[k])) return false;
    }
    return true;
  }
  auto c = CompareJson(col, n, lit);
  return c && *c == 0;
}

}  // namespace kite::expr::internal
