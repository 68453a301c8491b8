#include "query/order_by.h"

#include <cctype>

#include <nlohmann/json.hpp>

namespace kite {
namespace {

std::string Trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

// `base["k1"][2]...`: false when the brackets are malformed.
bool SplitPath(const std::string& name, std::string* base, std::vector<std::string>* path) {
  size_t open = name.find('[');
  *base = name.substr(0, open);
  if (open == std::string::npos) return !base->empty();
  size_t i = open;
  while (i < name.size()) {
    if (name[i] != '[') return false;
    ++i;
    std::string key;
    if (i < name.size() && name[i] == '"') {
      size_t end = name.find('"', i + 1);
      if (end == std::string::npos) return false;
      key = name.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) key += name[i++];
      if (key.empty()) return false;
    }
    if (i >= name.size() || name[i] != ']') return false;
    ++i;
    path->push_back(key);
  }
  return !base->empty();
}

bool Sortable(DataType t) {
  return t == DataType::kBool || IsIntegerType(t) || t == DataType::kFloat || t == DataType::kDouble ||
         t == DataType::kVarChar || t == DataType::kString;
}

OrderValue FromJson(const nlohmann::json& j) {
  OrderValue v;
  if (j.is_number()) {
    v.kind = OrderValue::kNumber;
    v.number = j.get<double>();
  } else if (j.is_boolean()) {
    v.kind = OrderValue::kNumber;
    v.number = j.get<bool>() ? 1 : 0;
  } else if (j.is_string()) {
    v.kind = OrderValue::kString;
    v.text = j.get<std::string>();
  }
  return v;
}

}  // namespace

std::vector<OrderBySpec> ParseOrderByFields(const std::string& text) {
  std::vector<OrderBySpec> out;
  std::string item;
  int depth = 0;
  bool quoted = false;
  auto flush = [&] {
    std::string t = Trim(item);
    item.clear();
    if (t.empty()) return;
    // The last colon outside brackets and quotes separates the direction.
    int d = 0;
    bool q = false;
    size_t colon = std::string::npos;
    for (size_t i = 0; i < t.size(); ++i) {
      char ch = t[i];
      if (ch == '"') q = !q;
      if (q) continue;
      if (ch == '[') ++d;
      if (ch == ']') --d;
      if (ch == ':' && d == 0) colon = i;
    }
    if (colon == std::string::npos) {
      out.push_back({t, ""});
    } else {
      out.push_back({Trim(t.substr(0, colon)), Trim(t.substr(colon + 1))});
    }
  };
  for (char ch : text) {
    if (ch == '"') quoted = !quoted;
    if (!quoted) {
      if (ch == '[') ++depth;
      if (ch == ']') --depth;
      if (ch == ',' && depth == 0) {
        flush();
        continue;
      }
    }
    item += ch;
  }
  flush();
  return out;
}

Result<std::vector<OrderByKey>> ResolveOrderBy(const std::vector<OrderBySpec>& specs, const CollectionSchema& s) {
  std::vector<OrderByKey> keys;
  for (const OrderBySpec& spec : specs) {
    OrderByKey k;
    k.name = spec.field;
    std::string base;
    std::vector<std::string> path;
    bool well_formed = SplitPath(spec.field, &base, &path);
    const FieldSchema* f = well_formed ? s.FindField(base) : nullptr;
    if (f && f->is_dynamic) f = nullptr;
    if (f) {
      if (path.empty() && !Sortable(f->type)) {
        return Unclassified(
            "order_by field '{}' has unsortable type {}; supported types: bool, int8/16/32/64, float, double, string, "
            "varchar; for JSON fields use path syntax like field[\"key\"]",
            spec.field, DataTypeName(f->type));
      }
      if (!path.empty() && f->type != DataType::kJson) {
        return Unclassified("order_by field '{}' does not exist in collection schema", spec.field);
      }
      k.field = f;
      k.path = std::move(path);
    } else if (well_formed && s.DynamicField()) {
      k.field = s.DynamicField();
      k.path.push_back(base);
      for (auto& p : path) k.path.push_back(std::move(p));
    } else {
      return Unclassified("order_by field '{}' does not exist in collection schema", spec.field);
    }
    std::string dir;
    for (char ch : spec.direction) dir += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (dir.empty() || dir == "asc" || dir == "ascending") {
      k.ascending = true;
    } else if (dir == "desc" || dir == "descending") {
      k.ascending = false;
    } else {
      return Unclassified("invalid order direction '{}' for field '{}', expected 'asc' or 'desc'", spec.direction,
                          spec.field);
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

Result<std::vector<OrderByKey>> ResolveQueryOrderBy(const std::string& text, const CollectionSchema& s) {
  std::vector<OrderByKey> keys;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = Trim(text.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    std::vector<std::string> parts;
    for (size_t from = 0;;) {
      size_t colon = item.find(':', from);
      parts.push_back(Trim(item.substr(from, colon == std::string::npos ? std::string::npos : colon - from)));
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
    auto lower = [](std::string v) {
      for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return v;
    };
    OrderByKey k;
    k.name = parts[0];
    if (parts.size() > 1) {
      const std::string dir = lower(parts[1]);
      if (dir == "desc" || dir == "descending") {
        k.ascending = false;
      } else if (dir != "asc" && dir != "ascending" && !dir.empty()) {
        return Unclassified("invalid order direction '{}' for field '{}', must be 'asc' or 'desc'", dir, k.name);
      }
    }
    k.nulls_first = !k.ascending;
    if (parts.size() > 2) {
      const std::string nulls = lower(parts[2]);
      if (nulls == "nulls_first" || nulls == "nulls_last") {
        k.nulls_first = nulls == "nulls_first";
      } else {
        return Unclassified("invalid null ordering '{}', must be 'nulls_first' or 'nulls_last'", nulls);
      }
    }
    const FieldSchema* f = s.FindField(k.name);
    if (f == nullptr || f->is_dynamic) {
      return Unclassified("order_by field '{}' does not exist in collection schema", k.name);
    }
    if (!Sortable(f->type)) {
      return Unclassified("order_by field '{}' has type {} which is not sortable", k.name, DataTypeName(f->type));
    }
    k.field = f;
    keys.push_back(std::move(k));
  }
  return keys;
}

OrderValue OrderValueAt(const OrderByKey& key, const Column& c, int64_t row) {
  OrderValue v;
  if (c.IsNull(row)) return v;
  if (!key.path.empty() || c.type == DataType::kJson) {
    nlohmann::json j = nlohmann::json::parse(c.GetBytes(row), nullptr, false);
    if (j.is_discarded()) return v;
    const nlohmann::json* cur = &j;
    for (const std::string& p : key.path) {
      if (cur->is_object() && cur->contains(p)) {
        cur = &cur->at(p);
      } else if (cur->is_array() && !p.empty() && std::isdigit(static_cast<unsigned char>(p[0])) &&
                 std::stoull(p) < cur->size()) {
        cur = &cur->at(std::stoull(p));
      } else {
        return v;
      }
    }
    return FromJson(*cur);
  }
  switch (c.type) {
    case DataType::kBool: v.number = c.Get<uint8_t>(row) ? 1 : 0; break;
    case DataType::kInt8: v.number = c.Get<int8_t>(row); break;
    case DataType::kInt16: v.number = c.Get<int16_t>(row); break;
    case DataType::kInt32: v.number = c.Get<int32_t>(row); break;
    case DataType::kInt64: v.number = static_cast<double>(c.Get<int64_t>(row)); break;
    case DataType::kFloat: v.number = c.Get<float>(row); break;
    case DataType::kDouble: v.number = c.Get<double>(row); break;
    case DataType::kVarChar:
    case DataType::kString:
      v.kind = OrderValue::kString;
      v.text = std::string(c.GetBytes(row));
      return v;
    default: return v;
  }
  v.kind = OrderValue::kNumber;
  return v;
}

bool OrderBefore(const std::vector<OrderByKey>& keys, const std::vector<OrderValue>& a,
                 const std::vector<OrderValue>& b) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const OrderValue& x = a[i];
    const OrderValue& y = b[i];
    if (x.kind == OrderValue::kNull || y.kind == OrderValue::kNull) {
      if (x.kind == y.kind) continue;
      return keys[i].nulls_first ? x.kind == OrderValue::kNull : y.kind == OrderValue::kNull;
    }
    int cmp = 0;
    if (x.kind != y.kind) {
      cmp = x.kind < y.kind ? -1 : 1;
    } else if (x.kind == OrderValue::kNumber) {
      cmp = x.number < y.number ? -1 : (x.number > y.number ? 1 : 0);
    } else {
      cmp = x.text.compare(y.text);
      cmp = cmp < 0 ? -1 : (cmp > 0 ? 1 : 0);
    }
    if (cmp != 0) return keys[i].ascending ? cmp < 0 : cmp > 0;
  }
  return false;
}

}  // namespace kite
