#include "segment/segment.h"

#include "index/scalar/text_index.h"
#include "text/analyzer.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace kite {

std::vector<const FieldSchema*> StoredFields(const CollectionSchema& schema) {
  std::vector<const FieldSchema*> out;
  for (const auto& f : schema.fields) out.push_back(&f);
  return out;
}

Segment::Segment(SegmentMeta meta, std::shared_ptr<const CollectionSchema> schema)
    : meta_(std::move(meta)), schema_(std::move(schema)) {
  pk_field_ = schema_->PrimaryField()->id;
  for (const FieldSchema* f : StoredFields(*schema_)) columns_.columns.push_back(Column::ForField(*f));
}

Result<std::shared_ptr<Segment>> Segment::FromColumns(SegmentMeta meta, std::shared_ptr<const CollectionSchema> schema,
                                                      ColumnBatch columns, std::vector<Timestamp> timestamps) {
  auto seg = std::make_shared<Segment>(std::move(meta), std::move(schema));
  int64_t n = static_cast<int64_t>(timestamps.size());
  for (auto& c : seg->columns_.columns) {
    Column* src = columns.Find(c.field_id);
    if (src == nullptr) {
      // A field added after the segment was written: its default, else null.
      const FieldSchema* f = seg->schema_->FindField(c.field_id);
      for (int64_t i = 0; i < n; ++i) f ? AppendDefaultOrNull(*f, &c) : c.AppendNull();
      continue;
    }
    if (src->num_rows != n || src->type != c.type) {
      return Corruption("segment {} column {} has {} rows of type {}, expected {} of type {}", seg->id().value,
                        c.field_id.value, src->num_rows, static_cast<int>(src->type), n, static_cast<int>(c.type));
    }
    c = std::move(*src);
  }
  seg->columns_.num_rows = n;
  seg->ts_ = std::move(timestamps);
  for (Timestamp t : seg->ts_) {
    seg->max_ts_ = std::max(seg->max_ts_, t);
    seg->min_ts_ = std::min(seg->min_ts_, t);
  }
  seg->ReserveKeysLocked(n);
  for (int64_t r = 0; r < n; ++r) seg->IndexRowLocked(r);
  seg->sealed_ = true;
  return seg;
}

void Segment::IndexRowLocked(int64_t row) {
  const Column* pk = columns_.Find(pk_field_);
  if (pk->type == DataType::kInt64) {
    int_pks_[pk->Get<int64_t>(row)].push_back(row);
  } else {
    str_pks_[std::string(pk->GetBytes(row))].push_back(row);
  }
}

void Segment::Append(const ColumnBatch& rows, const std::vector<Timestamp>& timestamps) {
  std::unique_lock lock(mu_);
  int64_t base = columns_.num_rows;
  for (auto& c : columns_.columns) {
    const Column* src = rows.Find(c.field_id);
    if (src) {
      c.AppendRange(*src, 0, rows.num_rows);
    } else {
      // Rows written before the field was added (WAL replay): default or null.
      const FieldSchema* f = schema_->FindField(c.field_id);
      for (int64_t i = 0; i < rows.num_rows; ++i) f ? AppendDefaultOrNull(*f, &c) : c.AppendNull();
    }
  }
  columns_.num_rows += rows.num_rows;
  ts_.insert(ts_.end(), timestamps.begin(), timestamps.end());
  for (Timestamp t : timestamps) {
    max_ts_ = std::max(max_ts_, t);
    min_ts_ = std::min(min_ts_, t);
  }
  for (int64_t r = base; r < columns_.num_rows; ++r) IndexRowLocked(r);
}

Status Segment::CheckAppendable(const ColumnBatch& rows) const {
  std::shared_lock lock(mu_);
  for (const Column& c : columns_.columns) {
    const Column* src = rows.Find(c.field_id);
    if (src == nullptr) continue;
    const FieldSchema* f = schema_->FindField(c.field_id);
    const std::string name = f ? f->name : std::to_string(c.field_id.value);
    if (src->type != c.type || src->element_type != c.element_type || src->dim != c.dim) {
      return Corruption("rows for field {} are {} (dim {}), the schema's field is {} (dim {})", name,
                        static_cast<int>(src->type), src->dim, static_cast<int>(c.type), c.dim);
    }
    if (src->num_rows < rows.num_rows) {
      return Corruption("field {} has {} values for {} rows", name, src->num_rows, rows.num_rows);
    }
    if (src->is_fixed() && src->fixed.size() < static_cast<size_t>(rows.num_rows) * src->row_bytes) {
      return Corruption("field {} holds {} bytes for {} rows of {} bytes", name, src->fixed.size(), rows.num_rows,
                        src->row_bytes);
    }
    if (!src->is_fixed() && src->offsets.size() < static_cast<size_t>(rows.num_rows) + 1) {
      return Corruption("field {} has {} offsets for {} rows", name, src->offsets.size(), rows.num_rows);
    }
  }
  return Status::OK();
}

void Segment::Reserve(int64_t rows) {
  std::unique_lock lock(mu_);
  for (auto& c : columns_.columns) c.Reserve(rows);
  ts_.reserve(static_cast<size_t>(rows));
  ReserveKeysLocked(rows);
}

void Segment::ReserveKeysLocked(int64_t rows) {
  const Column* pk = columns_.Find(pk_field_);
  if (pk && pk->type == DataType::kInt64) {
    int_pks_.reserve(static_cast<size_t>(rows));
  } else {
    str_pks_.reserve(static_cast<size_t>(rows));
  }
}

void Segment::Seal() {
  std::unique_lock lock(mu_);
  sealed_ = true;
}

bool Segment::sealed() const {
  std::shared_lock lock(mu_);
  return sealed_;
}

const Segment::RowList* Segment::RowsOf(const PrimaryKey& pk) const {
  if (const auto* i = std::get_if<int64_t>(&pk)) {
    auto it = int_pks_.find(*i);
    return it == int_pks_.end() ? nullptr : &it->second;
  }
  auto it = str_pks_.find(std::get<std::string>(pk));
  return it == str_pks_.end() ? nullptr : &it->second;
}

bool Segment::ApplyDelete(const PrimaryKey& pk, Timestamp ts) {
  std::unique_lock lock(mu_);
  const RowList* rows = RowsOf(pk);
  if (!rows) return false;
  bool older = std::any_of(rows->begin(), rows->end(), [&](int64_t r) { return ts_[r] < ts; });
  if (!older) return false;
  if (const auto* i = std::get_if<int64_t>(&pk)) {
    int_deletes_[*i].push_back(ts);
  } else {
    str_deletes_[std::get<std::string>(pk)].push_back(ts);
  }
  return true;
}

void Segment::CopyDeletesFrom(const Segment& other) {
  std::vector<std::pair<PrimaryKey, Timestamp>> deletes;
  {
    std::shared_lock lock(other.mu_);
    for (const auto& [pk, list] : other.int_deletes_) {
      for (Timestamp t : list) deletes.emplace_back(pk, t);
    }
    for (const auto& [pk, list] : other.str_deletes_) {
      for (Timestamp t : list) deletes.emplace_back(pk, t);
    }
  }
  for (const auto& [pk, t] : deletes) ApplyDelete(pk, t);
}

int64_t Segment::num_rows() const {
  std::shared_lock lock(mu_);
  return columns_.num_rows;
}

size_t Segment::MemoryBytes() const {
  std::shared_lock lock(mu_);
  return columns_.MemoryBytes() + ts_.size() * sizeof(Timestamp);
}

Timestamp Segment::max_timestamp() const {
  std::shared_lock lock(mu_);
  return max_ts_;
}

bool Segment::IsVisibleLocked(int64_t row, Timestamp ts, Timestamp expire_before) const {
  Timestamp rts = ts_[row];
  if (rts > ts || rts < expire_before) return false;
  const absl::InlinedVector<Timestamp, 1>* dels = nullptr;
  const Column* pk = columns_.Find(pk_field_);
  if (pk->type == DataType::kInt64) {
    if (int_deletes_.empty()) return true;
    auto it = int_deletes_.find(pk->Get<int64_t>(row));
    if (it != int_deletes_.end()) dels = &it->second;
  } else {
    if (str_deletes_.empty()) return true;
    auto it = str_deletes_.find(std::string(pk->GetBytes(row)));
    if (it != str_deletes_.end()) dels = &it->second;
  }
  if (!dels) return true;
  for (Timestamp d : *dels) {
    if (rts < d && d <= ts) return false;
  }
  return true;
}

bool Segment::IsVisible(int64_t row, Timestamp ts, Timestamp expire_before) const {
  std::shared_lock lock(mu_);
  return IsVisibleLocked(row, ts, expire_before);
}

std::vector<int64_t> Segment::FindVisible(const PrimaryKey& pk, Timestamp ts, Timestamp expire_before) const {
  std::shared_lock lock(mu_);
  std::vector<int64_t> out;
  const RowList* rows = RowsOf(pk);
  if (!rows) return out;
  for (int64_t r : *rows) {
    if (IsVisibleLocked(r, ts, expire_before)) out.push_back(r);
  }
  return out;
}

std::vector<int64_t> Segment::AllVisible(Timestamp ts, Timestamp expire_before) const {
  std::shared_lock lock(mu_);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(columns_.num_rows));
  for (int64_t r = 0; r < columns_.num_rows; ++r) {
    if (IsVisibleLocked(r, ts, expire_before)) out.push_back(r);
  }
  return out;
}

void Segment::Gather(const std::vector<int64_t>& rows, const std::vector<FieldId>& fields, ColumnBatch* out,
                     std::vector<Timestamp>* timestamps) const {
  std::shared_lock lock(mu_);
  std::vector<FieldId> wanted;
  wanted.push_back(pk_field_);
  for (FieldId f : fields) {
    if (f != pk_field_) wanted.push_back(f);
  }
  if (out->columns.empty()) {
    for (FieldId f : wanted) out->columns.push_back(Column::ForField(*schema_->FindField(f)));
  }
  for (auto& c : out->columns) {
    const Column* src = columns_.Find(c.field_id);
    c.Reserve(c.num_rows + static_cast<int64_t>(rows.size()));
    for (int64_t r : rows) c.AppendFrom(*src, r);
  }
  out->num_rows += static_cast<int64_t>(rows.size());
  if (timestamps) {
    for (int64_t r : rows) timestamps->push_back(ts_[r]);
  }
}

void Segment::WithSnapshot(Timestamp ts, Timestamp expire_before,
                           const std::function<void(const ColumnBatch&, const std::vector<uint8_t>&)>& fn) const {
  WithVisibleRows(ts, expire_before, [&](const ColumnBatch& batch, const std::vector<uint8_t>& visible) {
    if (!visible.empty()) return fn(batch, visible);
    fn(batch, std::vector<uint8_t>(static_cast<size_t>(batch.num_rows), 1));
  });
}

void Segment::WithVisibleRows(Timestamp ts, Timestamp expire_before,
                              const std::function<void(const ColumnBatch&, const std::vector<uint8_t>&)>& fn) const {
  std::shared_lock lock(mu_);
  std::vector<uint8_t> visible;
  const bool none_expired = columns_.num_rows == 0 || min_ts_ >= expire_before;
  if (!(int_deletes_.empty() && str_deletes_.empty() && max_ts_ <= ts && none_expired)) {
    visible.resize(static_cast<size_t>(columns_.num_rows));
    for (int64_t r = 0; r < columns_.num_rows; ++r) visible[r] = IsVisibleLocked(r, ts, expire_before) ? 1 : 0;
  }
  fn(columns_, visible);
}

const Column* Segment::SealedColumn(FieldId field) const {
  std::shared_lock lock(mu_);
  return sealed_ ? columns_.Find(field) : nullptr;
}

void Segment::WithColumns(const std::function<void(const ColumnBatch&, const std::vector<Timestamp>&)>& fn) const {
  std::shared_lock lock(mu_);
  fn(columns_, ts_);
}

Segment::Bm25Counts Segment::Bm25Stats(FieldId field, const std::vector<uint32_t>& terms) const {
  std::lock_guard bm25_lock(bm25_mu_);
  Bm25Acc& acc = bm25_[field.value];
  {
    std::shared_lock lock(mu_);
    const Column* c = columns_.Find(field);
    if (c && c->num_rows > acc.rows) {
      for (int64_t r = acc.rows; r < c->num_rows; ++r) {
        if (c->IsNull(r)) continue;
        std::string_view row = c->GetBytes(r);
        for (size_t i = 0; i + 8 <= row.size(); i += 8) {
          uint32_t term;
          float value;
          std::memcpy(&term, row.data() + i, 4);
          std::memcpy(&value, row.data() + i + 4, 4);
          ++acc.df[term];
          acc.tokens += value;
        }
      }
      acc.rows = c->num_rows;
    }
  }
  Bm25Counts out;
  out.rows = acc.rows;
  out.tokens = acc.tokens;
  out.df.reserve(terms.size());
  for (uint32_t t : terms) {
    auto it = acc.df.find(t);
    out.df.push_back(it == acc.df.end() ? 0 : it->second);
  }
  return out;
}

void Segment::AttachVectorIndex(FieldId field, IndexId index, std::shared_ptr<const index::VectorIndex> idx) {
  std::lock_guard lock(index_mu_);
  vector_indexes_[field.value] = AttachedVectorIndex{index, std::move(idx)};
}

void Segment::AttachScalarIndex(FieldId field, IndexId index, std::shared_ptr<const index::ScalarIndex> idx) {
  std::lock_guard lock(index_mu_);
  if (idx->json_path() != nullptr) {
    json_path_indexes_[index.value] = {field, AttachedScalarIndex{index, std::move(idx)}};
    return;
  }
  scalar_indexes_[field.value] = AttachedScalarIndex{index, std::move(idx)};
}

void Segment::DetachIndex(IndexId index) {
  std::lock_guard lock(index_mu_);
  std::erase_if(vector_indexes_, [&](const auto& kv) { return kv.second.id == index; });
  std::erase_if(scalar_indexes_, [&](const auto& kv) { return kv.second.id == index; });
  json_path_indexes_.erase(index.value);
}

void Segment::BuildTextIndexesOnce() const {
  std::lock_guard lock(text_mu_);
  if (text_built_ || !sealed()) return;
  for (const auto& f : schema_->fields) {
    if (f.type != DataType::kVarChar || !f.enable_match()) continue;
    auto analyzer = text::SharedAnalyzer(f.analyzer_params());
    const Column* col = SealedColumn(f.id);
    if (!analyzer.ok() || !col) continue;  // the filter then analyzes each row
    text_indexes_.emplace_back(f.id, index::BuildTextIndex(*col, **analyzer));
  }
  text_built_ = true;
}

std::unique_ptr<Segment::FilterIndexes> Segment::ScalarIndexes() const {
  BuildTextIndexesOnce();
  std::lock_guard lock(index_mu_);
  if (scalar_indexes_.empty() && text_indexes_.empty() && json_path_indexes_.empty()) return nullptr;
  auto out = std::make_unique<FilterIndexes>();
  for (const auto& [field, a] : scalar_indexes_) {
    out->pinned.push_back(a.index);
    out->lookup.Add(FieldId(field), a.index.get());
  }
  for (const auto& [id, fa] : json_path_indexes_) {
    out->pinned.push_back(fa.second.index);
    out->lookup.Add(fa.first, fa.second.index.get());
  }
  for (const auto& [field, idx] : text_indexes_) {
    out->pinned.push_back(idx);
    out->lookup.Add(field, idx.get());
  }
  return out;
}

std::shared_ptr<const index::VectorIndex> Segment::VectorIndexOf(FieldId field) const {
  std::lock_guard lock(index_mu_);
  auto it = vector_indexes_.find(field.value);
  return it == vector_indexes_.end() ? nullptr : it->second.index;
}

bool Segment::HasIndex(IndexId index) const {
  std::lock_guard lock(index_mu_);
  for (const auto& [f, a] : vector_indexes_) {
    if (a.id == index) return true;
  }
  for (const auto& [f, a] : scalar_indexes_) {
    if (a.id == index) return true;
  }
  return json_path_indexes_.count(index.value) > 0;
}

}  // namespace kite
