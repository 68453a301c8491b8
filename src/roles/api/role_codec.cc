#include "roles/api/role_codec.h"

namespace kite {

namespace {

void ValueToPb(const expr::TemplateValue& v, rolepb::Value* out) {
  if (v.is_null()) {
    out->set_null_value(true);
  } else if (v.is_bool()) {
    out->set_bool_value(v.as_bool());
  } else if (v.is_int()) {
    out->set_int_value(v.as_int());
  } else if (v.is_double()) {
    out->set_float_value(v.as_double());
  } else if (v.is_string()) {
    out->set_string_value(v.as_string());
  } else {
    rolepb::ValueList* list = out->mutable_array_value();
    for (const expr::TemplateValue& e : v.as_array()) ValueToPb(e, list->add_values());
  }
}

Result<expr::TemplateValue> ValueFromPb(const rolepb::Value& v, int depth) {
  if (depth > 64) return InvalidArgument("template value nested too deep");
  switch (v.kind_case()) {
    case rolepb::Value::kBoolValue: return expr::TemplateValue(v.bool_value());
    case rolepb::Value::kIntValue: return expr::TemplateValue(v.int_value());
    case rolepb::Value::kFloatValue: return expr::TemplateValue(v.float_value());
    case rolepb::Value::kStringValue: return expr::TemplateValue(v.string_value());
    case rolepb::Value::kArrayValue: {
      expr::TemplateValue::Array a;
      for (const rolepb::Value& e : v.array_value().values()) {
        KITE_ASSIGN_OR_RETURN(expr::TemplateValue x, ValueFromPb(e, depth + 1));
        a.push_back(std::move(x));
      }
      return expr::TemplateValue(std::move(a));
    }
    default: return expr::TemplateValue();
  }
}

}  // namespace

void FilterToPb(const std::string& text, const expr::TemplateValues& values, const std::string& timezone,
                rolepb::Filter* out) {
  out->set_expr(text);
  if (timezone != "UTC") out->set_timezone(timezone);
  for (const auto& [name, v] : values) ValueToPb(v, &(*out->mutable_values())[name]);
}

Result<expr::TemplateValues> TemplateValuesFromPb(const rolepb::Filter& f) {
  expr::TemplateValues out;
  for (const auto& [name, v] : f.values()) {
    KITE_ASSIGN_OR_RETURN(out[name], ValueFromPb(v, 0));
  }
  return out;
}

std::string EncodeBatch(const ColumnBatch& b) {
  std::string out;
  PutU64(&out, static_cast<uint64_t>(b.num_rows));
  PutU32(&out, static_cast<uint32_t>(b.columns.size()));
  for (const Column& c : b.columns) EncodeColumn(c, &out);
  return out;
}

Result<ColumnBatch> DecodeBatch(std::string_view in) {
  ColumnBatch b;
  if (in.empty()) return b;
  uint64_t rows = 0;
  uint32_t ncols = 0;
  if (!GetU64(&in, &rows) || !GetU32(&in, &ncols)) return Corruption("column batch: truncated header");
  b.num_rows = static_cast<int64_t>(rows);
  for (uint32_t i = 0; i < ncols; ++i) {
    KITE_ASSIGN_OR_RETURN(Column c, DecodeColumn(&in));
    if (c.num_rows != b.num_rows) return Corruption("column batch: column {} row count", c.field_id.value);
    b.columns.push_back(std::move(c));
  }
  if (!in.empty()) return Corruption("column batch: {} trailing bytes", in.size());
  return b;
}

void SearchPartToPb(const SearchPart& part, rolepb::SearchResponse* out) {
  size_t total = 0;
  for (const HitList& l : part.hits) total += l.size();
  out->mutable_hits_per_query()->Reserve(static_cast<int>(part.hits.size()));
  out->mutable_distances()->Reserve(static_cast<int>(total));
  // Every level lays its rows out in hit order (SearchSegments, ReduceParts),
  // so a hit's row is its position and the rows go as they are.
  for (const HitList& l : part.hits) {
    out->add_hits_per_query(static_cast<int64_t>(l.size()));
    for (const Hit& h : l) out->add_distances(h.distance);
  }
  out->set_rows(EncodeBatch(part.rows));
}

Result<SearchPart> SearchPartFromPb(const rolepb::SearchResponse& in) {
  SearchPart part;
  part.nq = in.hits_per_query_size();
  KITE_ASSIGN_OR_RETURN(part.rows, DecodeBatch(in.rows()));
  int64_t total = 0;
  for (int64_t n : in.hits_per_query()) total += n;
  if (total != in.distances_size() || (total > 0 && (part.rows.columns.empty() || part.rows.num_rows != total))) {
    return Corruption("search answer: {} hits, {} distances, {} rows", total, in.distances_size(), part.rows.num_rows);
  }
  const Column* pk = total > 0 ? &part.rows.columns[0] : nullptr;
  part.hits.resize(static_cast<size_t>(part.nq));
  int64_t r = 0;
  for (int64_t q = 0; q < part.nq; ++q) {
    HitList& l = part.hits[q];
    l.reserve(static_cast<size_t>(in.hits_per_query(static_cast<int>(q))));
    for (int64_t j = 0; j < in.hits_per_query(static_cast<int>(q)); ++j, ++r) {
      l.push_back(Hit{in.distances(static_cast<int>(r)), PkAt(*pk, r), HitSource{0, r}});
    }
  }
  return part;
}

void RetrievedToPb(const Retrieved& r, rolepb::RetrieveResponse* out) {
  out->set_rows(EncodeBatch(r.rows));
  out->mutable_ts()->Add(r.ts.begin(), r.ts.end());
  out->set_count(r.count);
}

Result<Retrieved> RetrievedFromPb(const rolepb::RetrieveResponse& in) {
  Retrieved r;
  KITE_ASSIGN_OR_RETURN(r.rows, DecodeBatch(in.rows()));
  r.ts.assign(in.ts().begin(), in.ts().end());
  r.count = in.count();
  return r;
}

std::set<int64_t> PartitionsOf(const rolepb::ReadScope& scope) {
  return std::set<int64_t>(scope.partitions().begin(), scope.partitions().end());
}

}  // namespace kite
