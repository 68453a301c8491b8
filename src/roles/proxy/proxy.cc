#include "roles/proxy/proxy.h"

#include "roles/api/role_call.h"
#include "roles/api/role_codec.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "common/json_scan.h"
#include "common/log.h"
#include "roles/proxy/plan_error.h"
#include "schema/geometry.h"
#include "schema/timestamptz.h"

namespace kite {

// ----------------------------------------------------------------- utilities

namespace {

uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t HashBytes(std::string_view s) {  // FNV-1a 64
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return Mix64(h);
}

Status NotLoaded(const std::string& name) {
  return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionNotLoaded, "collection not loaded[collection={}]",
                    name);
}

}  // namespace

Result<const PartitionInfo*> FindPartitionOrError(const CollectionInfo& c, const std::string& name) {
  const PartitionInfo* p = c.FindPartition(name);
  if (!p) {
    return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]", name);
  }
  return p;
}

std::set<int64_t> PartitionIds(const CollectionInfo& c) {
  std::set<int64_t> ids;
  for (const auto& p : c.partitions) ids.insert(p.id.value);
  return ids;
}

int ShardOf(const PrimaryKey& pk, int num_shards) {
  uint64_t h = std::holds_alternative<int64_t>(pk) ? Mix64(static_cast<uint64_t>(std::get<int64_t>(pk)))
                                                   : HashBytes(std::get<std::string>(pk));
  return static_cast<int>(h % static_cast<uint64_t>(num_shards));
}

// ------------------------------------------------------------------------ DDL

Status Proxy::Recover() {
  KITE_ASSIGN_OR_RETURN(auto all, coord_->ListAllCollections());
  for (const auto& v : all) {
    KITE_RETURN_IF_ERROR(streaming_->Open(v.info));
    // Finishes a drop_partition that stopped between its meta commit and its data.
    KITE_RETURN_IF_ERROR(streaming_->RetainPartitions(v.info.id, PartitionIds(v.info)));
    if (v.info.load_state() == LoadState::kLoaded) KITE_RETURN_IF_ERROR(streaming_->Load(v.info));
  }
  return Status::OK();
}

Status Proxy::DropPartition(const std::string& db, const std::string& collection, const std::string& name) {
  KITE_RETURN_IF_ERROR(coord_->DropPartition(db, collection, name));
  // The partition is gone from meta (reads no longer see it); now its data.
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->RetainPartitions(v.info.id, PartitionIds(v.info));
}

Status Proxy::CreateCollection(const CreateCollectionParams& in) {
  KITE_RETURN_IF_ERROR(ValidateSchema(in.schema, limits_));
  CreateCollectionParams params = in;
  KITE_RETURN_IF_ERROR(PrepareTextSchema(&params.schema));
  // Milvus (createCollectionTask) takes a shard number <= 0 as its default.
  if (params.num_shards <= 0) params.num_shards = 1;
  if (params.num_shards > limits_.max_shard_num) {
    return InvalidArgument("maximum shards's number should be limited to {}, got {}", limits_.max_shard_num,
                           params.num_shards);
  }
  if (params.num_partitions < 0 || params.num_partitions > limits_.max_partition_num) {
    return InvalidArgument("partition number ({}) exceeds max configuration ({})", params.num_partitions,
                           limits_.max_partition_num);
  }
  const bool partition_key = std::any_of(params.schema.fields.begin(), params.schema.fields.end(),
                                         [](const FieldSchema& f) { return f.is_partition_key; });
  if (!partition_key && params.num_partitions != 0) {
    // Milvus createCollectionTask.validatePartitionKey (a plain error: 65535).
    return Unclassified("num_partitions should only be specified with partition key field enabled");
  }
  // Milvus createCollectionTask.PreExecute (validatePartitionKeyIsolation).
  KITE_RETURN_IF_ERROR(CheckIsolationHasPartitionKey(params.properties, params.schema));
  int consistency = static_cast<int>(params.consistency);
  if (consistency < 0 || consistency > static_cast<int>(ConsistencyLevel::kCustomized)) {
    return InvalidArgument("invalid consistency level {}", consistency);
  }
  KITE_RETURN_IF_ERROR(coord_->CreateCollection(params));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(params.db, params.schema.name));
  Status opened = streaming_->Open(v.info);
  if (!opened.ok()) {
    // No half-made collection (e.g. a full disk failed its WAL channels):
    // take the record back, with whatever channels were made.
    Status undo = coord_->DropCollection(params.db, params.schema.name);
    if (undo.ok()) undo = streaming_->Drop(v.info);
    if (!undo.ok()) {
      spdlog::warn("create_collection {}: could not undo after a failed channel open: {}", params.schema.name,
                   undo.ToString());
    }
  }
  return opened;
}

Status Proxy::DropCollection(const std::string& db, const std::string& name) {
  auto v = coord_->DescribeCollection(db, name);
  KITE_RETURN_IF_ERROR(coord_->DropCollection(db, name));
  if (v.ok() && v->info.schema.name == name) return streaming_->Drop(v->info);
  return Status::OK();
}

Status Proxy::CheckCollectionName(const std::string& name) const {
  return ValidateCollectionName(name, "name", limits_);
}

Status Proxy::CheckPartitionName(const std::string& name) const { return ValidatePartitionName(name, limits_); }

Status Proxy::Load(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions) {
  KITE_RETURN_IF_ERROR(CheckCollectionName(collection));
  KITE_RETURN_IF_ERROR(coord_->Load(db, collection, partitions));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->Load(v.info);
}

Status Proxy::Release(const std::string& db, const std::string& collection,
                      const std::vector<std::string>& partitions) {
  KITE_RETURN_IF_ERROR(CheckCollectionName(collection));
  KITE_RETURN_IF_ERROR(coord_->Release(db, collection, partitions));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  if (v.info.load_state() != LoadState::kLoaded) return streaming_->Release(v.info.id);
  return Status::OK();
}

Result<CollectionStats> Proxy::Stats(const std::string& db, const std::string& collection,
                                     const std::string& partition) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  int64_t part = 0;
  if (!partition.empty()) {
    KITE_ASSIGN_OR_RETURN(const PartitionInfo* p, FindPartitionOrError(v.info, partition));
    part = p->id.value;
  }
  // Like Milvus: rows inserted (sealed + growing), deletes not subtracted until compaction.
  CollectionStats s;
  const std::set<int64_t> live = PartitionIds(v.info);
  KITE_ASSIGN_OR_RETURN(s.row_count, streaming_->RowCount(v.info.id, part, live));
  return s;
}

// ------------------------------------------------------------------------ DML

namespace {

Status CheckVarChar(const FieldSchema& f, const Column& c) {
  int64_t max = f.max_length();
  for (int64_t r = 0; r < c.num_rows; ++r) {
    if (c.IsNull(r)) continue;
    auto len = static_cast<int64_t>(c.GetBytes(r).size());
    if (len > max) {
      return InvalidArgument(
          "length of varchar field {} exceeds max length, row number: {}, length: {}, max length: {}", f.name, r, len,
          max);
    }
  }
  return Status::OK();
}

Status CheckArray(const FieldSchema& f, const Column& c) {
  int64_t cap = f.max_capacity();
  size_t ew = ElementBytes(f.element_type);
  for (int64_t r = 0; r < c.num_rows; ++r) {
    if (c.IsNull(r)) continue;
    std::string_view b = c.GetBytes(r);
    int64_t n = 0;
    if (ew > 0) {
      n = static_cast<int64_t>(b.size() / ew);
    } else {
      while (!b.empty()) {
        uint32_t len = 0;
        GetU32(&b, &len);
        if (f.max_length() > 0 && static_cast<int64_t>(len) > f.max_length()) {
          return InvalidArgument(
              "length of varchar element in array field {} exceeds max length, row number: {}, length: {}, max "
              "length: {}",
              f.name, r, len, f.max_length());
        }
        b.remove_prefix(std::min<size_t>(len, b.size()));
        ++n;
      }
    }
    if (n > cap) {
      return InvalidArgument("array length exceeds max capacity, field name: {}, row number: {}, array length: {}, "
                             "max capacity: {}",
                             f.name, r, n, cap);
    }
  }
  return Status::OK();
}

// A struct's vector sub-field: at most max_capacity vectors per row.
Status CheckVectorArray(const FieldSchema& f, const Column& c) {
  const size_t w = FixedRowBytes(f.element_type, f.dim());
  for (int64_t r = 0; r < c.num_rows && w > 0; ++r) {
    auto n = static_cast<int64_t>(c.GetBytes(r).size() / w);
    if (n > f.max_capacity()) {
      return InvalidArgument("array length exceeds max capacity, field name: {}, row number: {}, array length: {}, "
                             "max capacity: {}",
                             f.struct_name, r, n, f.max_capacity());
    }
  }
  return Status::OK();
}

Status CheckJson(const FieldSchema& f, const Column& c, const Limits& limits) {
  for (int64_t r = 0; r < c.num_rows; ++r) {
    if (c.IsNull(r)) continue;
    std::string_view b = c.GetBytes(r);
    // Milvus's length check (validate_util.go checkJSONFieldData), then the
    // depth, both before any parser sees the text.
    if (static_cast<int64_t>(b.size()) > limits.json_max_length) {
      if (f.is_dynamic) {
        return InvalidArgument(
            "the length ({}) of dynamic field exceeds max length ({}): invalid parameter[expected=valid length "
            "dynamic field][actual=length exceeds max length]",
            b.size(), limits.json_max_length);
      }
      return InvalidArgument(
          "the length ({}) of json field ({}) exceeds max length ({}): invalid parameter[expected=valid length json "
          "string][actual=length exceeds max length]",
          b.size(), f.name, limits.json_max_length);
    }
    if (JsonNestingDepth(b, limits.json_max_depth) > limits.json_max_depth) {
      return InvalidArgument(
          "the nesting depth of json field ({}) exceeds max depth ({}), row number: {}: invalid "
          "parameter[expected=valid json nesting depth][actual=nesting depth exceeds max depth]",
          f.name, limits.json_max_depth, r);
    }
    if (!nlohmann::json::accept(b)) {
      return InvalidArgument("invalid JSON in field {}, row number: {}: {}", f.name, r, b.substr(0, 64));
    }
    if (f.is_dynamic) {
      auto j = nlohmann::json::parse(b);
      if (!j.is_object()) {
        return InvalidArgument("the dynamic field value of row {} must be a JSON object, got {}", r, b.substr(0, 64));
      }
    }
  }
  return Status::OK();
}

// Replaces nulls by the field's default (Milvus: a null in a field with a
// default value stores the default).
void FillDefaults(const FieldSchema& f, Column* c) {
  if (!f.default_value || c->valid.empty()) return;
  Column out = Column::ForField(f);
  out.Reserve(c->num_rows);
  const ScalarValue& d = *f.default_value;
  for (int64_t r = 0; r < c->num_rows; ++r) {
    if (!c->IsNull(r)) {
      out.AppendFrom(*c, r);
      continue;
    }
    switch (f.type) {
      case DataType::kBool: {
        uint8_t v = std::get<bool>(d) ? 1 : 0;
        out.AppendFixed(&v);
        break;
      }
      case DataType::kInt8: {
        auto v = static_cast<int8_t>(std::get<int64_t>(d));
        out.AppendFixed(&v);
        break;
      }
      case DataType::kInt16: {
        auto v = static_cast<int16_t>(std::get<int64_t>(d));
        out.AppendFixed(&v);
        break;
      }
      case DataType::kInt32: {
        auto v = static_cast<int32_t>(std::get<int64_t>(d));
        out.AppendFixed(&v);
        break;
      }
      case DataType::kInt64: {
        int64_t v = std::get<int64_t>(d);
        out.AppendFixed(&v);
        break;
      }
      case DataType::kFloat: {
        auto v = static_cast<float>(std::get<double>(d));
        out.AppendFixed(&v);
        break;
      }
      case DataType::kDouble: {
        double v = std::get<double>(d);
        out.AppendFixed(&v);
        break;
      }
      case DataType::kVarChar: out.AppendVar(std::get<std::string>(d)); break;
      case DataType::kTimestamptz: {
        int64_t v = std::get<int64_t>(d);  // UTC microseconds
        out.AppendFixed(&v);
        break;
      }
      case DataType::kGeometry: {
        auto wkb = geo::WktToWkb(std::get<std::string>(d));  // checked when the schema was created
        if (wkb.ok()) {
          out.AppendVar(*wkb);
        } else {
          out.AppendNull();
        }
        break;
      }
      default: out.AppendNull();
    }
  }
  if (std::all_of(out.valid.begin(), out.valid.end(), [](uint8_t v) { return v != 0; })) out.valid.clear();
  *c = std::move(out);
}

}  // namespace

Status Proxy::CompleteRows(const CollectionInfo& c, InsertParams* p, Column* ids, Column* old_ids) {
  const CollectionSchema& s = c.schema;
  const FieldSchema* pkf = s.PrimaryField();
  int64_t n = p->rows.num_rows;
  if (n <= 0) return InvalidArgument("no rows to {} in collection {}", p->upsert ? "upsert" : "insert", s.name);
  for (const auto& col : p->rows.columns) {
    const FieldSchema* f = s.FindField(col.field_id);
    if (!f) return Internal("column of unknown field id {}", col.field_id.value);
    if (col.num_rows != n) {
      return InvalidArgument("the num_rows ({}) of field ({}) is not equal to passed num_rows ({})", col.num_rows,
                             f->name, n);
    }
  }
  // Primary key: generated for auto_id inserts and upserts (Milvus 2.6: an
  // upsert into an auto_id collection deletes the keys it was sent and
  // stores the rows under newly generated keys, which it returns).
  Column* pk = p->rows.Find(pkf->id);
  if (p->upsert) {
    if (!pk) return InvalidArgument("must assign pk when upsert, primary field: {}", pkf->name);
    // Milvus 2.6 upsertTask.PreExecute (CheckDuplicatePkExist): one batch
    // may not carry a key twice.
    std::set<PrimaryKey> seen;
    for (int64_t r = 0; r < n; ++r) {
      if (pk->IsNull(r)) continue;
      if (!seen.insert(PkAt(*pk, r)).second) {
        return InvalidArgument("duplicate primary keys are not allowed in the same batch: invalid parameter");
      }
    }
    *old_ids = *pk;
  }
  if (pkf->auto_id && !p->ids_assigned) {
    if (pk && !p->upsert) {
      return InvalidArgument("the value of primary key field {} should be empty when auto_id is true", pkf->name);
    }
    if (pk) {
      for (int64_t r = 0; r < n; ++r) {
        if (pk->IsNull(r)) return InvalidArgument("primary key field {} cannot be null, row number: {}", pkf->name, r);
      }
      std::erase_if(p->rows.columns, [&](const Column& col) { return col.field_id == pkf->id; });
    }
    KITE_ASSIGN_OR_RETURN(int64_t first, coord_->AllocIds(n));
    Column gen = Column::ForField(*pkf);
    gen.Reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      int64_t id = first + i;
      if (pkf->type == DataType::kInt64) {
        gen.AppendFixed(&id);
      } else {
        gen.AppendVar(std::to_string(id));
      }
    }
    p->rows.columns.push_back(std::move(gen));
    pk = &p->rows.columns.back();
  }
  if (!pk) {
    return InvalidArgument("the primary key field {} is missing: insert/upsert requires it when auto_id is false",
                           pkf->name);
  }
  if (!pk->valid.empty()) {
    for (int64_t r = 0; r < n; ++r) {
      if (pk->IsNull(r)) return InvalidArgument("primary key field {} cannot be null, row number: {}", pkf->name, r);
    }
  }
  for (const auto& f : s.fields) {
    if (f.is_function_output) continue;  // computed below
    Column* col = p->rows.Find(f.id);
    if (!col) {
      if (f.is_dynamic) {
        Column meta = Column::ForField(f);
        for (int64_t i = 0; i < n; ++i) meta.AppendVar("{}");
        p->rows.columns.push_back(std::move(meta));
        continue;
      }
      if (!f.nullable && !f.default_value) {
        // Milvus checkFieldsDataBySchema (pymilvus says "Insert missed an field" client-side).
        return InvalidArgument("fieldSchema({}) has no corresponding fieldData pass in: invalid parameter", f.name);
      }
      Column nulls = Column::ForField(f);
      for (int64_t i = 0; i < n; ++i) nulls.AppendNull();
      p->rows.columns.push_back(std::move(nulls));
      col = &p->rows.columns.back();
    }
    if (!col->valid.empty() && !f.nullable && !f.default_value && !f.is_dynamic) {
      for (int64_t r = 0; r < n; ++r) {
        if (col->IsNull(r)) {
          return InvalidArgument("the field {} is not nullable but got null, row number: {}", f.name, r);
        }
      }
    }
    FillDefaults(f, col);
    if (f.type == DataType::kVarChar) KITE_RETURN_IF_ERROR(CheckVarChar(f, *col));
    if (f.type == DataType::kArray) KITE_RETURN_IF_ERROR(CheckArray(f, *col));
    if (f.type == DataType::kArrayOfVector) KITE_RETURN_IF_ERROR(CheckVectorArray(f, *col));
    if (f.type == DataType::kJson) KITE_RETURN_IF_ERROR(CheckJson(f, *col, limits_));
  }
  KITE_RETURN_IF_ERROR(FillFunctionOutputs(s, &p->rows));
  *ids = *p->rows.Find(pkf->id);
  return Status::OK();
}

Result<Timestamp> Proxy::WriteByShard(const CollectionInfo& c, DmlType type, PartitionId partition, ColumnBatch rows,
                                      const Column* delete_pks, PartitionId delete_partition) {
  // Rows go to the shard of their own key, deletes to the shard of the
  // deleted key: the two differ for an auto_id upsert (new key, old key).
  const FieldSchema* pkf = c.schema.PrimaryField();
  const int shards = c.num_shards;
  std::vector<std::vector<int64_t>> row_idx(static_cast<size_t>(shards));
  std::vector<std::vector<int64_t>> del_idx(static_cast<size_t>(shards));
  if (type != DmlType::kDelete) {
    const Column& keys = *rows.Find(pkf->id);
    for (int64_t r = 0; r < keys.num_rows; ++r) row_idx[ShardOf(PkAt(keys, r), shards)].push_back(r);
  }
  if (type != DmlType::kInsert) {
    for (int64_t r = 0; r < delete_pks->num_rows; ++r) del_idx[ShardOf(PkAt(*delete_pks, r), shards)].push_back(r);
  }
  Timestamp ts = 0;
  for (int s = 0; s < shards; ++s) {
    const auto& ri = row_idx[s];
    const auto& di = del_idx[s];
    if (ri.empty() && di.empty()) continue;
    DmlMessage msg;
    msg.type = ri.empty() ? DmlType::kDelete : di.empty() ? DmlType::kInsert : DmlType::kUpsert;
    msg.collection = c.id;
    msg.partition = partition;
    msg.delete_partition = delete_partition;
    if (!ri.empty()) {
      if (shards == 1) {
        msg.rows = std::move(rows);  // every row goes to the only shard
      } else {
        for (const auto& col : rows.columns) msg.rows.columns.push_back(col.Select(ri));
        msg.rows.num_rows = static_cast<int64_t>(ri.size());
      }
    }
    if (!di.empty()) msg.delete_pks = shards == 1 ? *delete_pks : delete_pks->Select(di);
    KITE_ASSIGN_OR_RETURN(Timestamp t, streaming_->Write(c.id, s, std::move(msg)));
    ts = std::max(ts, t);
  }
  return ts;
}

Result<MutationOutcome> Proxy::Insert(InsertParams p) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(p.db, p.collection));
  const CollectionInfo& c = v.info;
  const FieldSchema* part_key = nullptr;
  for (const auto& f : c.schema.fields) {
    if (f.is_partition_key) part_key = &f;
  }
  PartitionId partition;
  if (part_key) {
    if (!p.partition.empty()) {
      return InvalidArgument("not support manually specifying the partition names if partition key mode is used");
    }
  } else {
    const std::string& name = p.partition.empty() ? std::string(kDefaultPartitionName) : p.partition;
    KITE_RETURN_IF_ERROR(ValidatePartitionName(name, limits_));  // Milvus: validatePartitionTag(strict)
    KITE_ASSIGN_OR_RETURN(const PartitionInfo* info, FindPartitionOrError(c, name));
    partition = info->id;
  }
  MutationOutcome out;
  Column old_ids;  // upsert: the keys to delete (those sent; != out.ids with auto_id)
  KITE_RETURN_IF_ERROR(CompleteRows(c, &p, &out.ids, &old_ids));
  int64_t n = p.rows.num_rows;
  DmlType type = p.upsert ? DmlType::kUpsert : DmlType::kInsert;
  const Column* del = p.upsert ? &old_ids : nullptr;
  if (!part_key) {
    // An upsert replaces the key only inside its target partition (Milvus).
    KITE_ASSIGN_OR_RETURN(out.ts, WriteByShard(c, type, partition, std::move(p.rows), del, partition));
  } else {
    // Route rows to the hashed partitions _default_0 .. _default_{n-1}.
    const Column* key = p.rows.Find(part_key->id);
    std::map<int64_t, std::vector<int64_t>> groups;
    for (int64_t r = 0; r < n; ++r) {
      int idx = ShardOf(PkAt(*key, r), static_cast<int>(c.partitions.size()));
      groups[c.partitions[idx].id.value].push_back(r);
    }
    for (const auto& [pid, rows] : groups) {
      ColumnBatch sub;
      for (const auto& col : p.rows.columns) sub.columns.push_back(col.Select(rows));
      sub.num_rows = static_cast<int64_t>(rows.size());
      // A key may move between partitions with its partition key: the
      // upsert deletes it in every partition.
      Column dels;
      if (p.upsert) dels = old_ids.Select(rows);
      KITE_ASSIGN_OR_RETURN(Timestamp t, WriteByShard(c, type, PartitionId(pid), std::move(sub),
                                                      p.upsert ? &dels : nullptr, PartitionId(0)));
      out.ts = std::max(out.ts, t);
    }
  }
  if (p.upsert) {
    out.upsert_count = n;
  } else {
    out.insert_count = n;
  }
  return out;
}

Result<Column> Proxy::MatchingKeys(const CollectionInfo& c, const std::string& text,
                                  const expr::TemplateValues& values, int64_t partition, const ReadAt& at) {
  const FieldSchema* pkf = c.schema.PrimaryField();
  expr::ParseOptions parse_options;
  if (auto it = c.properties.find(tz::kTimezoneKey); it != c.properties.end() && !it->second.empty()) {
    parse_options.timezone = it->second;
  }
  auto compiled = expr::Compile(text, c.schema, values, parse_options);
  if (!compiled.ok() && compiled.status().Is(Reason::kUnclassified)) {
    return Unclassified("{}: {}", kRetrievePlanStep, compiled.status().message());
  }
  KITE_ASSIGN_OR_RETURN(auto plan, std::move(compiled));
  Column keys = Column::ForField(*pkf);
  if (auto pks = expr::ExtractPrimaryKeys(*plan, c.schema)) {
    // delete(ids=...): the keys themselves, found or not (as Milvus does).
    for (const auto& k : *pks) {
      if (const auto* i = std::get_if<int64_t>(&k)) {
        keys.AppendFixed(i);
      } else {
        keys.AppendVar(std::get<std::string>(k));
      }
    }
    return keys;
  }
  // Any other filter is evaluated over the stored rows: like Milvus, that
  // needs the collection loaded (a released collection's sealed rows are not
  // read, and a delete that matched only growing rows would silently miss them).
  if (c.load_state() != LoadState::kLoaded) return NotLoaded(c.schema.name);
  RetrievePlan rp;
  rp.ts = at.ts;
  if (partition != 0) {
    rp.partitions.insert(partition);
  } else {
    rp.partitions = PartitionIds(c);
  }
  KITE_ASSIGN_OR_RETURN(Retrieved merged,
                        RetrieveShards(c, rp, at, text, values, parse_options.timezone, /*include_growing=*/true));
  if (!merged.rows.columns.empty()) keys = std::move(merged.rows.columns[0]);
  return keys;
}

Result<MutationOutcome> Proxy::Delete(const std::string& db, const std::string& collection,
                                      const std::string& partition, const std::string& expr,
                                      const expr::TemplateValues& values) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  const CollectionInfo& c = v.info;
  if (expr.find_first_not_of(" \t\n\r") == std::string::npos) {
    return InvalidArgument("expr cannot be empty for delete");
  }
  PartitionId part;
  if (!partition.empty()) {
    KITE_RETURN_IF_ERROR(ValidatePartitionName(partition, limits_));  // Milvus: validatePartitionTag(strict)
    KITE_ASSIGN_OR_RETURN(const PartitionInfo* info, FindPartitionOrError(c, partition));
    part = info->id;
  }
  // Keys matching a general filter are found at a Strong read timestamp.
  KITE_ASSIGN_OR_RETURN(ReadAt at, ReadTimestamp(c, ReadConsistency{false, ConsistencyLevel::kStrong, 0}));
  MutationOutcome out;
  KITE_ASSIGN_OR_RETURN(out.ids, MatchingKeys(c, expr, values, part.value, at));
  out.delete_count = out.ids.num_rows;
  if (out.ids.num_rows == 0) return out;
  KITE_ASSIGN_OR_RETURN(out.ts, WriteByShard(c, DmlType::kDelete, PartitionId(0), {}, &out.ids, part));
  return out;
}

Result<std::vector<SegmentId>> Proxy::Flush(const std::string& db, const std::string& collection) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->Flush(v.info.id);
}

// ------------------------------------------------------------------------ DQL

Timestamp Proxy::ExpireBefore(const CollectionInfo& c, Timestamp ts) {
  auto it = c.properties.find("collection.ttl.seconds");
  if (it == c.properties.end()) return 0;
  int64_t ttl_s = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ttl_s);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || ttl_s <= 0) return 0;
  const uint64_t ttl_ms = static_cast<uint64_t>(ttl_s) * 1000;
  const uint64_t now_ms = PhysicalMs(ts);
  return now_ms > ttl_ms ? ComposeTs(now_ms - ttl_ms, 0) : 0;
}

Result<Proxy::ReadAt> Proxy::ReadTimestamp(const CollectionInfo& c, const ReadConsistency& rc) {
  KITE_ASSIGN_OR_RETURN(ReadAt at, ReadTimestampIgnoringTtl(c, rc));
  at.expire_before = ExpireBefore(c, at.ts);
  return at;
}

Result<Proxy::ReadAt> Proxy::ReadTimestampIgnoringTtl(const CollectionInfo& c, const ReadConsistency& rc) {
  ConsistencyLevel level = rc.use_default ? c.consistency : rc.level;
  KITE_ASSIGN_OR_RETURN(Timestamp now, coord_->AllocTimestamp());
  if (rc.pin && rc.guarantee_ts > 2) {
    if (rc.guarantee_ts > now) return InvalidArgument("guarantee timestamp {} is in the future", rc.guarantee_ts);
    return ReadAt{rc.guarantee_ts, rc.guarantee_ts};
  }
  if (level == ConsistencyLevel::kStrong) {
    // Every write acknowledged before `now` was allocated is applied once
    // each shard's tsafe reaches it: the delegators wait for that.
    return ReadAt{now, now};
  }
  // Bounded / Eventually: the freshest fully applied state (never half a write).
  KITE_ASSIGN_OR_RETURN(Timestamp safe, streaming_->SafeTimestamp(c.id, now));
  // Session / Customized: at least the client's guarantee timestamp. pymilvus
  // sends 1 (Eventually) or 2 (Bounded) as markers; real timestamps are larger.
  Timestamp want = rc.guarantee_ts > 2 ? rc.guarantee_ts : 0;
  if (want > safe) {
    Timestamp ts = std::max(now, want);
    return ReadAt{ts, ts};
  }
  return ReadAt{safe, 0};
}

Status Proxy::CheckReadable(const CollectionInfo& c, const std::vector<std::string>& partitions,
                            std::set<int64_t>* partition_ids) {
  if (c.load_state() != LoadState::kLoaded) return NotLoaded(c.schema.name);
  if (partitions.empty()) {
    // Every loaded partition, and nothing else: the data of a released or
    // dropped partition may still be held (until its drop completes).
    for (const auto& p : c.partitions) {
      if (p.loaded) partition_ids->insert(p.id.value);
    }
    return Status::OK();
  }
  for (const auto& name : partitions) {
    // Milvus's search and query word an unknown partition their own way
    // (getPartitionIDs in search_util.go), not as the meta cache does.
    auto found = FindPartitionOrError(c, name);
    if (!found.ok()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition name {} not found", name);
    }
    const PartitionInfo* p = *found;
    if (!p->loaded) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kPartitionNotLoaded, "partition not loaded[partition={}]", name);
    }
    partition_ids->insert(p->id.value);
  }
  return Status::OK();
}

void Proxy::FillScope(CollectionId collection, const std::set<int64_t>& partitions, const ReadAt& at,
                      bool include_growing, rolepb::ReadScope* scope) {
  scope->set_collection(collection.value);
  for (int64_t p : partitions) scope->add_partitions(p);
  scope->set_ts(at.ts);
  scope->set_guarantee_ts(at.guarantee);
  scope->set_expire_before(at.expire_before);
  scope->set_include_growing(include_growing);
}

Result<Retrieved> Proxy::RetrieveShards(const CollectionInfo& c, const RetrievePlan& plan, const ReadAt& at,
                                        const std::string& expr, const expr::TemplateValues& values,
                                        const std::string& timezone, bool include_growing) {
  rolepb::RetrieveRequest req;
  FillRequestContext(req.mutable_ctx());
  FillScope(c.id, plan.partitions, at, include_growing, req.mutable_scope());
  if (plan.pks) {
    Column pks = Column::ForField(*c.schema.PrimaryField());
    for (const PrimaryKey& k : *plan.pks) {
      if (const auto* i = std::get_if<int64_t>(&k)) {
        pks.AppendFixed(i);
      } else {
        pks.AppendVar(std::get<std::string>(k));
      }
    }
    std::string bytes;
    EncodeColumn(pks, &bytes);
    req.set_pks(std::move(bytes));
    req.set_has_pks(true);
  } else {
    FilterToPb(expr, values, timezone, req.mutable_filter());
  }
  for (FieldId f : plan.output_fields) req.add_output_fields(f.value);
  req.set_count_only(plan.count_only);
  req.set_limit(plan.limit >= 0 ? plan.limit + plan.offset : -1);
  req.set_offset(0);
  std::vector<Retrieved> parts;
  for (size_t shard = 0; shard < c.channels.size(); ++shard) {
    req.mutable_scope()->set_shard(static_cast<int32_t>(shard));
    req.mutable_scope()->set_channel(c.channels[shard]);
    KITE_RETURN_IF_ERROR(streaming_->Retrieve(req, &parts.emplace_back()));
  }
  return MergeRetrieved(std::move(parts), plan);
}

Status Proxy::ResolveOutputFields(const CollectionSchema& s, const std::vector<std::string>& names,
                                  std::vector<FieldId>* fields, std::vector<std::string>* dynamic_keys,
                                  bool* include_all_dynamic, bool* count_only) {
  const FieldSchema* pkf = s.PrimaryField();
  const FieldSchema* dyn = s.DynamicField();
  fields->push_back(pkf->id);
  auto add = [&](FieldId id) {
    if (std::find(fields->begin(), fields->end(), id) == fields->end()) fields->push_back(id);
  };
  for (const auto& name : names) {
    std::string n = name;
    n.erase(0, n.find_first_not_of(' '));
    n.erase(n.find_last_not_of(' ') + 1);
    if (n == "count(*)" && count_only) {
      *count_only = true;
      continue;
    }
    if (n == "*") {
      for (const auto& f : s.fields) {
        if (f.is_dynamic) *include_all_dynamic = true;
        add(f.id);
      }
      continue;
    }
    const FieldSchema* f = s.FindField(n);
    if (f && !f->is_dynamic) {
      add(f->id);
      continue;
    }
    if (s.FindStruct(n)) {  // an Array of Structs field: all its sub-fields
      for (const FieldSchema* sub : s.SubFields(n)) add(sub->id);
      continue;
    }
    if (!dyn) return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field {} not exist", n);
    if (n == kDynamicFieldName) {
      *include_all_dynamic = true;
    } else {
      // Milvus parses a dynamic key named here as a filter identifier
      // (planparserv2.ParseIdentifier): "%", "-", "1a" or "" are refused.
      if (n.rfind("$meta[", 0) != 0 && !IsFilterIdentifier(n)) {
        return InvalidArgument("parse output field name failed: {}", n);
      }
      dynamic_keys->push_back(n);
    }
    add(dyn->id);
  }
  return Status::OK();
}

namespace {

// query order_by_fields: orders the merged rows (in key order, so ties stay
// by primary key), keeps `limit` after `offset`, and drops the columns read
// only for ordering (those past `keep_columns`).
void OrderQueryRows(const std::vector<OrderByKey>& keys, size_t keep_columns, int64_t limit, int64_t offset,
                    ColumnBatch* rows) {
  const int64_t n = rows->columns.empty() ? 0 : rows->columns[0].size();
  std::vector<std::vector<OrderValue>> values(static_cast<size_t>(n));
  for (const OrderByKey& k : keys) {
    const Column* c = k.field->is_primary ? &rows->columns[0] : rows->Find(k.field->id);
    for (int64_t r = 0; r < n; ++r) values[r].push_back(c ? OrderValueAt(k, *c, r) : OrderValue{});
  }
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) perm[r] = r;
  std::stable_sort(perm.begin(), perm.end(),
                   [&](int64_t a, int64_t b) { return OrderBefore(keys, values[a], values[b]); });
  int64_t begin = std::min(offset, n);
  int64_t end = limit < 0 ? n : std::min(n, begin + limit);
  std::vector<int64_t> keep(perm.begin() + begin, perm.begin() + end);
  if (rows->columns.size() > keep_columns) rows->columns.resize(keep_columns);
  for (Column& c : rows->columns) c = c.Select(keep);
  rows->num_rows = static_cast<int64_t>(keep.size());
}

}  // namespace

Result<std::string> Proxy::Timezone(const CollectionView& v, std::string_view request_tz) {
  if (!request_tz.empty()) {
    if (!tz::IsValidTimezone(request_tz)) {
      return InvalidArgument("unknown or invalid IANA Time Zone ID: {}: invalid parameter", request_tz);
    }
    return std::string(request_tz);
  }
  if (auto it = v.info.properties.find(tz::kTimezoneKey); it != v.info.properties.end() && !it->second.empty()) {
    return it->second;
  }
  if (auto it = v.info.schema.properties.find(tz::kTimezoneKey);
      it != v.info.schema.properties.end() && !it->second.empty()) {
    return it->second;
  }
  auto db = coord_->DescribeDatabase(v.db_name);
  if (db.ok()) {
    if (auto it = db->properties.find(tz::kTimezoneKey); it != db->properties.end() && !it->second.empty()) {
      return it->second;
    }
  }
  return std::string(tz::kDefaultTimezone);
}

Result<QueryOutcome> Proxy::Query(const QueryParams& q) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(q.db, q.collection));
  const CollectionInfo& c = v.info;
  expr::ParseOptions parse_options;
  KITE_ASSIGN_OR_RETURN(parse_options.timezone, Timezone(v, q.timezone));
  RetrievePlan plan;
  KITE_RETURN_IF_ERROR(CheckReadable(c, q.partitions, &plan.partitions));
  QueryOutcome out;
  out.timezone = parse_options.timezone;
  out.schema = std::make_shared<const CollectionSchema>(c.schema);
  const CollectionSchema& s = *out.schema;
  // Milvus queryTask.PreExecute: ORDER BY needs a limit, no iterator, and
  // (without GROUP BY) no aggregate among the outputs.
  std::vector<OrderByKey> order;
  const bool ordered = q.order_by.find_first_not_of(" \t,") != std::string::npos;
  if (ordered) {
    KITE_ASSIGN_OR_RETURN(order, ResolveQueryOrderBy(q.order_by, s));
    if (q.limit < 0) return InvalidArgument("ORDER BY requires explicit limit: invalid parameter");
    if (q.consistency.pin) return InvalidArgument("ORDER BY with iterator is not supported: invalid parameter");
    for (const std::string& f : q.output_fields) {
      if (f.find('(') != std::string::npos && f.back() == ')') {
        return InvalidArgument(
            "ORDER BY field '{}' is not valid: when using GROUP BY or aggregates, ORDER BY can only reference GROUP "
            "BY columns. Valid targets are: []: invalid parameter",
            order[0].name);
      }
    }
  }
  KITE_RETURN_IF_ERROR(ResolveOutputFields(s, q.output_fields, &out.fields, &out.dynamic_keys,
                                           &out.include_all_dynamic, &out.count_only));
  if (out.count_only && q.output_fields.size() > 1) {
    return InvalidArgument("count entities with pagination is not allowed: count(*) must be the only output field");
  }
  bool empty_expr = q.expr.find_first_not_of(" \t\n\r") == std::string::npos;
  std::unique_ptr<const expr::Plan> filter;
  if (!empty_expr) {
    auto compiled = expr::Compile(q.expr, s, q.expr_values, parse_options);
    if (!compiled.ok()) return PlanError(compiled.status(), kRetrievePlanStep);
    filter = std::move(*compiled);
    if (auto pks = expr::ExtractPrimaryKeys(*filter, s)) {
      plan.pks = std::move(pks);
    } else {
      plan.filter = filter.get();
    }
  } else if (!out.count_only && q.limit < 0) {
    return InvalidArgument("empty expression should be used with limit: invalid parameter");
  }
  if (q.limit > limits_.max_topk || q.offset + std::max<int64_t>(q.limit, 0) > limits_.max_topk) {
    return InvalidArgument("invalid max query result window, (offset+limit) should be in range [1, {}], but got {}",
                           limits_.max_topk, q.offset + q.limit);
  }
  plan.output_fields.assign(out.fields.begin() + 1, out.fields.end());
  plan.count_only = out.count_only;
  plan.limit = q.limit;
  plan.offset = q.offset;
  if (!order.empty()) {
    // Every match is read, ordered here, then paged.
    for (const OrderByKey& k : order) {
      if (!k.field->is_primary &&
          std::find(plan.output_fields.begin(), plan.output_fields.end(), k.field->id) == plan.output_fields.end()) {
        plan.output_fields.push_back(k.field->id);
      }
    }
    plan.limit = -1;
    plan.offset = 0;
  }
  KITE_ASSIGN_OR_RETURN(ReadAt at, ReadTimestamp(c, q.consistency));
  plan.ts = at.ts;
  out.ts = plan.ts;
  KITE_ASSIGN_OR_RETURN(Retrieved merged,
                        RetrieveShards(c, plan, at, empty_expr ? std::string() : q.expr, q.expr_values,
                                       parse_options.timezone, !q.ignore_growing));
  if (!order.empty()) OrderQueryRows(order, out.fields.size(), q.limit, q.offset, &merged.rows);
  out.count = merged.count;
  out.data = std::move(merged);
  return out;
}

}  // namespace kite

namespace kite {

Status Proxy::CreateIndex(const CreateIndexParams& params) {
  KITE_RETURN_IF_ERROR(coord_->CreateIndex(params));
  if (data_node_) data_node_->Kick();
  return Status::OK();
}

Status Proxy::DropIndex(const std::string& db, const std::string& collection, const std::string& field_name,
                        const std::string& index_name) {
  KITE_RETURN_IF_ERROR(coord_->DropIndex(db, collection, field_name, index_name));
  if (data_node_) data_node_->Kick();
  return Status::OK();
}

Result<int64_t> Proxy::Compact(const std::string& db, const std::string& collection, int64_t collection_id) {
  if (!data_node_) return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "compaction is not available");
  if (!collection.empty()) {
    KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
    return data_node_->RequestCompaction(v.info.id);
  }
  KITE_ASSIGN_OR_RETURN(auto all, coord_->ListAllCollections());
  for (const auto& v : all) {
    if (v.info.id.value == collection_id) return data_node_->RequestCompaction(v.info.id);
  }
  return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[collection={}]",
                    collection_id);
}

CompactionJob Proxy::GetCompaction(int64_t job) { return data_node_ ? data_node_->GetCompaction(job) : CompactionJob{}; }

Result<std::vector<Proxy::IndexStatus>> Proxy::DescribeIndex(const std::string& db, const std::string& collection,
                                                             const std::string& field_name,
                                                             const std::string& index_name, Timestamp as_of) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  KITE_ASSIGN_OR_RETURN(auto indexes, coord_->DescribeIndex(db, collection, field_name, index_name));
  std::vector<IndexStatus> out;
  for (auto& idx : indexes) {
    IndexStatus st;
    if (data_node_) st.progress = data_node_->Progress(v.info.id, idx, as_of);
    st.info = std::move(idx);
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace kite
