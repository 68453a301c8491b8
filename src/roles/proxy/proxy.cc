#include "roles/proxy/proxy.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>

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

int ShardOf(const PrimaryKey& pk, int num_shards) {
  uint64_t h = std::holds_alternative<int64_t>(pk) ? Mix64(static_cast<uint64_t>(std::get<int64_t>(pk)))
                                                   : HashBytes(std::get<std::string>(pk));
  return static_cast<int>(h % static_cast<uint64_t>(num_shards));
}

Result<std::optional<std::vector<PrimaryKey>>> ParsePkFilter(const std::string& expr, const FieldSchema& pk) {
  std::string_view s = expr;
  auto skip = [&] {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s[0]))) s.remove_prefix(1);
  };
  auto unsupported = [&]() -> Status {
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone,
                      "filter expression '{}' is not supported yet: only `{} in [...]` and `{} == value` are", expr,
                      pk.name, pk.name);
  };
  skip();
  if (s.empty()) return std::optional<std::vector<PrimaryKey>>();
  if (s.substr(0, pk.name.size()) != pk.name) return unsupported();
  s.remove_prefix(pk.name.size());
  skip();
  bool list = false;
  if (s.substr(0, 2) == "in" && (s.size() == 2 || !std::isalnum(static_cast<unsigned char>(s[2])))) {
    list = true;
    s.remove_prefix(2);
  } else if (s.substr(0, 2) == "==") {
    s.remove_prefix(2);
  } else {
    return unsupported();
  }
  skip();
  std::vector<PrimaryKey> keys;
  auto parse_value = [&]() -> Status {
    skip();
    if (s.empty()) return InvalidArgument("cannot parse expression: {}: value expected", expr);
    if (s[0] == '"' || s[0] == '\'') {
      if (pk.type != DataType::kVarChar) {
        return InvalidArgument("cannot parse expression: {}, error: value '{}' is not an integer for Int64 field {}",
                               expr, s.substr(0, 16), pk.name);
      }
      char q = s[0];
      s.remove_prefix(1);
      std::string v;
      while (!s.empty() && s[0] != q) {
        if (s[0] == '\\' && s.size() > 1) s.remove_prefix(1);
        v.push_back(s[0]);
        s.remove_prefix(1);
      }
      if (s.empty()) return InvalidArgument("cannot parse expression: {}: unterminated string", expr);
      s.remove_prefix(1);
      keys.emplace_back(std::move(v));
      return Status::OK();
    }
    if (pk.type != DataType::kInt64) {
      return InvalidArgument("cannot parse expression: {}, error: value is not a string for VarChar field {}", expr,
                             pk.name);
    }
    size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || (n == 0 && (s[n] == '-' || s[n] == '+')))) ++n;
    if (n == 0) return InvalidArgument("cannot parse expression: {}: integer expected", expr);
    try {
      keys.emplace_back(static_cast<int64_t>(std::stoll(std::string(s.substr(0, n)))));
    } catch (...) {
      return InvalidArgument("cannot parse expression: {}: integer out of range", expr);
    }
    s.remove_prefix(n);
    return Status::OK();
  };
  if (list) {
    if (s.empty() || s[0] != '[') return unsupported();
    s.remove_prefix(1);
    skip();
    if (!s.empty() && s[0] == ']') {
      s.remove_prefix(1);
    } else {
      while (true) {
        KITE_RETURN_IF_ERROR(parse_value());
        skip();
        if (!s.empty() && s[0] == ',') {
          s.remove_prefix(1);
          continue;
        }
        if (!s.empty() && s[0] == ']') {
          s.remove_prefix(1);
          break;
        }
        return InvalidArgument("cannot parse expression: {}: ',' or ']' expected", expr);
      }
    }
  } else {
    KITE_RETURN_IF_ERROR(parse_value());
  }
  skip();
  if (!s.empty()) return unsupported();
  return std::optional<std::vector<PrimaryKey>>(std::move(keys));
}

// ------------------------------------------------------------------------ DDL

Status Proxy::Recover() {
  KITE_ASSIGN_OR_RETURN(auto all, coord_->ListAllCollections());
  for (const auto& v : all) {
    KITE_RETURN_IF_ERROR(streaming_->Open(v.info));
    if (v.info.load_state() == LoadState::kLoaded) KITE_RETURN_IF_ERROR(streaming_->Load(v.info));
  }
  return Status::OK();
}

Status Proxy::CreateCollection(const CreateCollectionParams& params) {
  KITE_RETURN_IF_ERROR(ValidateSchema(params.schema, limits_));
  if (params.num_shards <= 0 || params.num_shards > limits_.max_shard_num) {
    return InvalidArgument("maximum shards's number should be limited to {}, got {}", limits_.max_shard_num,
                           params.num_shards);
  }
  if (params.num_partitions < 0 || params.num_partitions > limits_.max_partition_num) {
    return InvalidArgument("partition number ({}) exceeds max configuration ({})", params.num_partitions,
                           limits_.max_partition_num);
  }
  int consistency = static_cast<int>(params.consistency);
  if (consistency < 0 || consistency > static_cast<int>(ConsistencyLevel::kCustomized)) {
    return InvalidArgument("invalid consistency level {}", consistency);
  }
  KITE_RETURN_IF_ERROR(coord_->CreateCollection(params));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(params.db, params.schema.name));
  return streaming_->Open(v.info);
}

Status Proxy::DropCollection(const std::string& db, const std::string& name) {
  auto v = coord_->DescribeCollection(db, name);
  KITE_RETURN_IF_ERROR(coord_->DropCollection(db, name));
  if (v.ok() && v->info.schema.name == name) return streaming_->Drop(v->info);
  return Status::OK();
}

Status Proxy::Load(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions) {
  KITE_RETURN_IF_ERROR(coord_->Load(db, collection, partitions));
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  return streaming_->Load(v.info);
}

Status Proxy::Release(const std::string& db, const std::string& collection,
                      const std::vector<std::string>& partitions) {
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
    const PartitionInfo* p = v.info.FindPartition(partition);
    if (!p) {
      return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]",
                        partition);
    }
    part = p->id.value;
  }
  // Like Milvus: rows inserted (sealed + growing), deletes not subtracted until compaction.
  CollectionStats s;
  s.row_count = streaming_->FlushedRows(v.info.id, part);
  for (const SegmentPtr& seg : streaming_->GrowingSegments(v.info.id)) {
    if (part == 0 || seg->meta().partition_id.value == part) s.row_count += seg->num_rows();
  }
  (void)query_node_;
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

Status CheckJson(const FieldSchema& f, const Column& c) {
  for (int64_t r = 0; r < c.num_rows; ++r) {
    if (c.IsNull(r)) continue;
    std::string_view b = c.GetBytes(r);
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
      default: out.AppendNull();
    }
  }
  if (std::all_of(out.valid.begin(), out.valid.end(), [](uint8_t v) { return v != 0; })) out.valid.clear();
  *c = std::move(out);
}

}  // namespace

Status Proxy::CompleteRows(const CollectionInfo& c, InsertParams* p, Column* ids) {
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
  // Primary key: generated for auto_id inserts.
  Column* pk = p->rows.Find(pkf->id);
  if (pkf->auto_id && !p->upsert) {
    if (pk) {
      return InvalidArgument("the value of primary key field {} should be empty when auto_id is true", pkf->name);
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
    Column* col = p->rows.Find(f.id);
    if (!col) {
      if (f.is_dynamic) {
        Column meta = Column::ForField(f);
        for (int64_t i = 0; i < n; ++i) meta.AppendVar("{}");
        p->rows.columns.push_back(std::move(meta));
        continue;
      }
      if (!f.nullable && !f.default_value) {
        return InvalidArgument("Insert missed an field `{}` to collection without set nullable==true or set "
                               "default_value",
                               f.name);
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
    if (f.type == DataType::kJson) KITE_RETURN_IF_ERROR(CheckJson(f, *col));
  }
  *ids = *p->rows.Find(pkf->id);
  return Status::OK();
}

Result<Timestamp> Proxy::WriteByShard(const CollectionInfo& c, DmlType type, PartitionId partition, ColumnBatch rows,
                                      const Column* delete_pks, PartitionId delete_partition) {
  const FieldSchema* pkf = c.schema.PrimaryField();
  const Column& keys = delete_pks ? *delete_pks : *rows.Find(pkf->id);
  int shards = c.num_shards;
  std::vector<std::vector<int64_t>> by_shard(static_cast<size_t>(shards));
  for (int64_t r = 0; r < keys.num_rows; ++r) by_shard[ShardOf(PkAt(keys, r), shards)].push_back(r);
  Timestamp ts = 0;
  for (int s = 0; s < shards; ++s) {
    const auto& idx = by_shard[s];
    if (idx.empty()) continue;
    DmlMessage msg;
    msg.type = type;
    msg.collection = c.id;
    msg.partition = partition;
    msg.delete_partition = delete_partition;
    if (type != DmlType::kDelete) {
      if (shards == 1) {
        msg.rows = rows;
      } else {
        for (const auto& col : rows.columns) {
          Column part = col;
          part.fixed.clear(), part.bytes.clear(), part.valid.clear(), part.offsets.clear();
          if (!part.is_fixed()) part.offsets.push_back(0);
          part.num_rows = 0;
          for (int64_t r : idx) part.AppendFrom(col, r);
          msg.rows.columns.push_back(std::move(part));
        }
        msg.rows.num_rows = static_cast<int64_t>(idx.size());
      }
    }
    if (type != DmlType::kInsert) {
      msg.delete_pks = Column::ForField(*pkf);
      for (int64_t r : idx) msg.delete_pks.AppendFrom(keys, r);
    }
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
    const PartitionInfo* info = c.FindPartition(name);
    if (!info) {
      return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]", name);
    }
    partition = info->id;
  }
  MutationOutcome out;
  KITE_RETURN_IF_ERROR(CompleteRows(c, &p, &out.ids));
  int64_t n = p.rows.num_rows;
  DmlType type = p.upsert ? DmlType::kUpsert : DmlType::kInsert;
  if (!part_key) {
    const Column* del = p.upsert ? &out.ids : nullptr;
    KITE_ASSIGN_OR_RETURN(out.ts, WriteByShard(c, type, partition, std::move(p.rows), del, PartitionId(0)));
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
      for (const auto& col : p.rows.columns) {
        Column part = Column::ForField(*c.schema.FindField(col.field_id));
        for (int64_t r : rows) part.AppendFrom(col, r);
        sub.columns.push_back(std::move(part));
      }
      sub.num_rows = static_cast<int64_t>(rows.size());
      Column ids = *sub.Find(c.schema.PrimaryField()->id);
      KITE_ASSIGN_OR_RETURN(Timestamp t, WriteByShard(c, type, PartitionId(pid), std::move(sub),
                                                      p.upsert ? &ids : nullptr, PartitionId(0)));
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

Result<MutationOutcome> Proxy::Delete(const std::string& db, const std::string& collection,
                                      const std::string& partition, const std::string& expr) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(db, collection));
  const CollectionInfo& c = v.info;
  const FieldSchema* pkf = c.schema.PrimaryField();
  if (expr.find_first_not_of(" \t\n") == std::string::npos) {
    return InvalidArgument("expr cannot be empty for delete");
  }
  PartitionId part;
  if (!partition.empty()) {
    const PartitionInfo* info = c.FindPartition(partition);
    if (!info) {
      return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]",
                        partition);
    }
    part = info->id;
  }
  KITE_ASSIGN_OR_RETURN(auto keys, ParsePkFilter(expr, *pkf));
  MutationOutcome out;
  out.ids = Column::ForField(*pkf);
  for (const auto& k : *keys) {
    if (const auto* i = std::get_if<int64_t>(&k)) {
      out.ids.AppendFixed(i);
    } else {
      out.ids.AppendVar(std::get<std::string>(k));
    }
  }
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

Result<Timestamp> Proxy::ReadTimestamp(CollectionId collection) {
  // Strong: every write acknowledged before this read is applied before it runs.
  KITE_ASSIGN_OR_RETURN(Timestamp ts, coord_->AllocTimestamp());
  streaming_->Barrier(collection);
  return ts;
}

Result<QueryOutcome> Proxy::Query(const QueryParams& q) {
  KITE_ASSIGN_OR_RETURN(CollectionView v, coord_->DescribeCollection(q.db, q.collection));
  const CollectionInfo& c = v.info;
  if (c.load_state() != LoadState::kLoaded || !query_node_->IsLoaded(c.id)) return NotLoaded(c.schema.name);
  QueryOutcome out;
  out.schema = std::make_shared<const CollectionSchema>(c.schema);
  const CollectionSchema& s = *out.schema;
  const FieldSchema* pkf = s.PrimaryField();
  RetrievePlan plan;
  for (const auto& name : q.partitions) {
    const PartitionInfo* p = c.FindPartition(name);
    if (!p) return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]", name);
    if (!p->loaded) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kNone, "partition not loaded[partition={}]", name);
    }
    plan.partitions.insert(p->id.value);
  }
  // Output fields.
  out.fields.push_back(pkf->id);
  const FieldSchema* dyn = s.DynamicField();
  for (const auto& name : q.output_fields) {
    std::string n = name;
    n.erase(0, n.find_first_not_of(' '));
    n.erase(n.find_last_not_of(' ') + 1);
    if (n == "count(*)") {
      out.count_only = true;
      continue;
    }
    if (n == "*") {
      for (const auto& f : s.fields) {
        if (f.is_dynamic) {
          out.include_all_dynamic = true;
        }
        if (std::find(out.fields.begin(), out.fields.end(), f.id) == out.fields.end()) out.fields.push_back(f.id);
      }
      continue;
    }
    const FieldSchema* f = s.FindField(n);
    if (f && !f->is_dynamic) {
      if (std::find(out.fields.begin(), out.fields.end(), f->id) == out.fields.end()) out.fields.push_back(f->id);
      continue;
    }
    if (n == kDynamicFieldName && dyn) {
      out.include_all_dynamic = true;
    } else if (dyn) {
      out.dynamic_keys.push_back(n);
    } else {
      return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field {} not exist", n);
    }
    if (std::find(out.fields.begin(), out.fields.end(), dyn->id) == out.fields.end()) out.fields.push_back(dyn->id);
  }
  if (out.count_only && q.output_fields.size() > 1) {
    return InvalidArgument("count entities with pagination is not allowed: count(*) must be the only output field");
  }
  KITE_ASSIGN_OR_RETURN(plan.pks, ParsePkFilter(q.expr, *pkf));
  if (!plan.pks && !out.count_only && q.limit < 0) {
    return InvalidArgument("empty expression should be used with limit");
  }
  if (q.limit > limits_.max_topk || q.offset + std::max<int64_t>(q.limit, 0) > limits_.max_topk) {
    return InvalidArgument("invalid max query result window, (offset+limit) should be in range [1, {}], but got {}",
                           limits_.max_topk, q.offset + q.limit);
  }
  plan.output_fields.assign(out.fields.begin() + 1, out.fields.end());
  plan.count_only = out.count_only;
  plan.limit = q.limit;
  plan.offset = q.offset;
  KITE_ASSIGN_OR_RETURN(plan.ts, ReadTimestamp(c.id));
  out.ts = plan.ts;
  std::vector<Retrieved> parts;
  parts.push_back(streaming_->RetrieveGrowing(c.id, plan));
  parts.push_back(query_node_->Retrieve(c.id, plan));
  Retrieved merged = MergeRetrieved(std::move(parts), plan);
  out.count = merged.count;
  out.data = std::move(merged);
  return out;
}

}  // namespace kite
