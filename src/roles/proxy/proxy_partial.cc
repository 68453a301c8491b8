// Partial update (Milvus 2.6 upsert with partial_update=true, "merge mode"):
// the stored rows of the request's keys are read with strong consistency,
// the fields the request carries replace theirs, the dynamic field's keys
// are merged, and the merged rows are upserted as whole rows. Keys not stored
// yet are inserted from the request alone (missing fields: null or their
// default, as an insert).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>

#include "roles/proxy/proxy.h"

namespace kite {

namespace {

using Json = nlohmann::json;

std::string PkText(const PrimaryKey& k) {
  if (const auto* i = std::get_if<int64_t>(&k)) return std::to_string(*i);
  return std::get<std::string>(k);
}

// The dynamic field of a stored row with the request's keys written over it.
Result<std::string> MergeDynamic(std::string_view stored, std::string_view given) {
  Json base = Json::parse(stored, nullptr, /*allow_exceptions=*/false);
  Json add = Json::parse(given, nullptr, /*allow_exceptions=*/false);
  if (!add.is_object()) return InvalidArgument("the dynamic field of a partial update must be a JSON object");
  if (!base.is_object()) base = Json::object();
  for (auto it = add.begin(); it != add.end(); ++it) base[it.key()] = it.value();
  return base.dump();
}

// The elements of an encoded array (column_batch.h): each its bytes.
std::vector<std::string_view> ArrayElements(std::string_view b, DataType element_type) {
  std::vector<std::string_view> out;
  const size_t ew = ElementBytes(element_type);
  if (ew > 0) {
    for (size_t i = 0; i + ew <= b.size(); i += ew) out.push_back(b.substr(i, ew));
    return out;
  }
  while (b.size() >= 4) {
    std::string_view whole = b;
    uint32_t len = 0;
    GetU32(&b, &len);
    len = static_cast<uint32_t>(std::min<size_t>(len, b.size()));
    out.push_back(whole.substr(0, 4 + len));  // length prefix included: re-encoded as is
    b.remove_prefix(len);
  }
  return out;
}

// ARRAY_APPEND: the stored elements, then the given ones. ARRAY_REMOVE: the
// stored elements equal to none of the given ones.
std::string ApplyArrayOp(InsertParams::ArrayOp op, std::string_view stored, std::string_view given,
                         DataType element_type) {
  if (op == InsertParams::ArrayOp::kAppend) return std::string(stored) + std::string(given);
  std::vector<std::string_view> drop = ArrayElements(given, element_type);
  std::string out;
  for (std::string_view e : ArrayElements(stored, element_type)) {
    if (std::find(drop.begin(), drop.end(), e) == drop.end()) out += e;
  }
  return out;
}

}  // namespace

Result<MutationOutcome> Proxy::PartialUpsert(InsertParams p) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
  const CollectionSchema& s = v.info.schema;
  const FieldSchema* pkf = s.PrimaryField();
  const int64_t n = p.rows.num_rows;
  const Column* pk = p.rows.Find(pkf->id);
  if (!pk) return InvalidArgument("must assign pk when upsert, primary field: {}", pkf->name);
  if (n <= 0) return InvalidArgument("no rows to upsert in collection {}", s.name);
  for (const auto& col : p.rows.columns) {
    if (col.num_rows != n) {
      const FieldSchema* f = s.FindField(col.field_id);
      return InvalidArgument("the num_rows ({}) of field ({}) is not equal to passed num_rows ({})", col.num_rows,
                             f ? f->name : std::string("?"), n);
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    if (pk->IsNull(r)) return InvalidArgument("primary key field {} cannot be null, row number: {}", pkf->name, r);
  }
  for (const auto& [name, op] : p.field_ops) {
    const FieldSchema* f = s.FindField(name);
    if (!f || f->is_dynamic) {
      return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field not found[field={}]", name);
    }
    if (op != InsertParams::ArrayOp::kReplace && f->type != DataType::kArray) {
      return InvalidArgument("field {} is not an array field: ARRAY_APPEND and ARRAY_REMOVE apply to ARRAY fields",
                             name);
    }
    if (op != InsertParams::ArrayOp::kReplace && !p.rows.Find(f->id)) {
      return InvalidArgument("field {} has a partial update operator but no data in the request", name);
    }
  }

  // The stored rows, read as a Strong query (the collection must be loaded).
  QueryParams q;
  q.db = p.db;
  q.collection = p.collection;
  expr::TemplateValue::Array keys;
  keys.reserve(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    PrimaryKey k = PkAt(*pk, r);
    if (const auto* i = std::get_if<int64_t>(&k)) {
      keys.emplace_back(*i);
    } else {
      keys.emplace_back(std::get<std::string>(k));
    }
  }
  q.expr = pkf->name + " in {__kite_partial_update_keys}";
  q.expr_values["__kite_partial_update_keys"] = expr::TemplateValue(std::move(keys));
  q.consistency.use_default = false;
  q.consistency.level = ConsistencyLevel::kStrong;
  q.output_fields = {"*"};
  if (!p.partition.empty()) q.partitions = {p.partition};
  KITE_ASSIGN_OR_RETURN(QueryOutcome stored, Query(q));
  const ColumnBatch& old = stored.data.rows;
  const Column* old_pk = old.Find(pkf->id);
  std::unordered_map<std::string, int64_t> stored_row;  // key -> row of `old`
  for (int64_t r = 0; old_pk && r < old_pk->num_rows; ++r) stored_row[PkText(PkAt(*old_pk, r))] = r;
  std::vector<int64_t> match(static_cast<size_t>(n), -1);
  bool any_stored = false, any_new = false;
  for (int64_t r = 0; r < n; ++r) {
    auto it = stored_row.find(PkText(PkAt(*pk, r)));
    if (it != stored_row.end()) match[r] = it->second, any_stored = true;
    else any_new = true;
  }

  ColumnBatch merged;
  merged.num_rows = n;
  for (const auto& f : s.fields) {
    if (f.is_function_output) continue;  // recomputed from the merged inputs
    const Column* given = p.rows.Find(f.id);
    const Column* kept = old.Find(f.id);
    if (f.is_dynamic) {
      if (!given && !kept) continue;
      Column out = Column::ForField(f);
      out.Reserve(n);
      for (int64_t r = 0; r < n; ++r) {
        const bool has_old = match[r] >= 0 && kept && !kept->IsNull(match[r]);
        if (given && has_old) {
          KITE_ASSIGN_OR_RETURN(std::string m, MergeDynamic(kept->GetBytes(match[r]), given->GetBytes(r)));
          out.AppendVar(m);
        } else if (given) {
          out.AppendFrom(*given, r);
        } else if (has_old) {
          out.AppendFrom(*kept, match[r]);
        } else {
          out.AppendVar("{}");
        }
      }
      merged.columns.push_back(std::move(out));
      continue;
    }
    auto op_it = p.field_ops.find(f.name);
    const InsertParams::ArrayOp op = op_it == p.field_ops.end() ? InsertParams::ArrayOp::kReplace : op_it->second;
    if (given && op != InsertParams::ArrayOp::kReplace) {
      Column out = Column::ForField(f);
      out.Reserve(n);
      for (int64_t r = 0; r < n; ++r) {
        const bool has_old = match[r] >= 0 && kept && !kept->IsNull(match[r]);
        if (given->IsNull(r) || !has_old) {
          // Nothing stored to apply to: a new key stores what it is given
          // (ARRAY_APPEND) or nothing (ARRAY_REMOVE); a null keeps the stored array.
          if (given->IsNull(r) && has_old) {
            out.AppendFrom(*kept, match[r]);
          } else if (op == InsertParams::ArrayOp::kAppend || given->IsNull(r)) {
            out.AppendFrom(*given, r);
          } else {
            out.AppendVar("");
          }
          continue;
        }
        out.AppendVar(ApplyArrayOp(op, kept->GetBytes(match[r]), given->GetBytes(r), f.element_type));
      }
      merged.columns.push_back(std::move(out));
      continue;
    }
    if (given) {
      merged.columns.push_back(*given);
      continue;
    }
    if (!any_stored || !kept) continue;  // as an insert: null, default or Milvus's "missed a field" error
    if (any_new && !f.nullable && !f.default_value) {
      // Milvus checkFieldsDataBySchema (pymilvus says "Insert missed an field" client-side).
      return InvalidArgument("fieldSchema({}) has no corresponding fieldData pass in: invalid parameter", f.name);
    }
    Column out = Column::ForField(f);
    out.Reserve(n);
    for (int64_t r = 0; r < n; ++r) {
      if (match[r] >= 0) {
        out.AppendFrom(*kept, match[r]);
      } else {
        out.AppendNull();  // a new key: null, or the default filled in by the insert
      }
    }
    merged.columns.push_back(std::move(out));
  }
  p.rows = std::move(merged);
  p.upsert = true;
  return Insert(std::move(p));
}

}  // namespace kite
