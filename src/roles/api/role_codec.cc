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

rolepb::IndexLoad IndexLoadOf(const SegmentIndexRecord& r) {
  rolepb::IndexLoad il;
  il.set_segment(r.segment.value);
  il.set_index(r.index.value);
  il.set_field(r.field.value);
  il.set_key(r.key);
  il.set_num_rows(r.num_rows);
  return il;
}

SegmentIndexRecord IndexRecordOf(CollectionId collection, const rolepb::IndexLoad& il) {
  SegmentIndexRecord r;
  r.segment = SegmentId(il.segment());
  r.index = IndexId(il.index());
  r.collection = collection;
  r.field = FieldId(il.field());
  r.key = il.key();
  r.num_rows = il.num_rows();
  return r;
}

rolepb::SegmentLoad SegmentLoadOf(const SegmentRecord& rec, const std::vector<SegmentIndexRecord>& indexes) {
  rolepb::SegmentLoad l;
  l.set_id(rec.id.value);
  l.set_partition(rec.partition_id.value);
  l.set_channel(rec.channel);
  l.set_num_rows(rec.num_rows);
  for (const std::string& f : rec.files) l.add_files(f);
  for (const SegmentIndexRecord& r : indexes) {
    if (r.segment == rec.id) *l.add_indexes() = IndexLoadOf(r);
  }
  return l;
}

void DeletesToPb(CollectionId collection, const std::string& channel, const std::vector<DeleteRecord>& deletes,
                 rolepb::DeletesRequest* out) {
  out->set_collection(collection.value);
  out->set_channel(channel);
  for (const DeleteRecord& d : deletes) {
    if (const auto* i = std::get_if<int64_t>(&d.pk)) {
      out->add_int_pks(*i);
    } else {
      out->add_str_pks(std::get<std::string>(d.pk));
    }
    out->add_ts(d.ts);
    out->add_partitions(d.partition);
  }
}

std::vector<DeleteRecord> DeletesFromPb(const rolepb::DeletesRequest& in) {
  std::vector<DeleteRecord> out;
  const int n = in.ts_size();
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    DeleteRecord d;
    if (i < in.int_pks_size()) {
      d.pk = in.int_pks(i);
    } else if (i < in.str_pks_size()) {
      d.pk = in.str_pks(i);
    } else {
      break;
    }
    d.ts = in.ts(i);
    d.partition = i < in.partitions_size() ? in.partitions(i) : 0;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace kite
