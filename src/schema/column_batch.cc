#include "schema/column_batch.h"

namespace kite {

size_t FixedRowBytes(DataType t, int64_t dim) {
  switch (t) {
    case DataType::kBool:
    case DataType::kInt8: return 1;
    case DataType::kInt16: return 2;
    case DataType::kInt32:
    case DataType::kFloat: return 4;
    case DataType::kInt64:
    case DataType::kDouble:
    case DataType::kTimestamptz: return 8;
    case DataType::kFloatVector: return 4 * static_cast<size_t>(dim);
    case DataType::kFloat16Vector:
    case DataType::kBFloat16Vector: return 2 * static_cast<size_t>(dim);
    case DataType::kInt8Vector: return static_cast<size_t>(dim);
    case DataType::kBinaryVector: return static_cast<size_t>(dim) / 8;
    default: return 0;
  }
}

size_t ElementBytes(DataType t) {
  if (t == DataType::kVarChar) return 0;
  return FixedRowBytes(t, 0);
}

Column Column::ForField(const FieldSchema& f) {
  Column c;
  c.field_id = f.id;
  c.type = f.type;
  c.element_type = f.element_type;
  c.dim = f.dim();
  c.row_bytes = FixedRowBytes(f.type, c.dim);
  if (!c.is_fixed()) c.offsets.push_back(0);
  return c;
}

Column Column::EmptyLike() const {
  Column c;
  c.field_id = field_id;
  c.type = type;
  c.element_type = element_type;
  c.dim = dim;
  c.row_bytes = row_bytes;
  if (!c.is_fixed()) c.offsets.push_back(0);
  return c;
}

Column Column::Select(const std::vector<int64_t>& rows) const {
  Column c = EmptyLike();
  c.Reserve(static_cast<int64_t>(rows.size()));
  for (int64_t r : rows) c.AppendFrom(*this, r);
  return c;
}

void Column::PushValid(bool v) {
  if (valid.empty()) {
    if (v) return;  // still all valid: no validity bytes
    valid.assign(static_cast<size_t>(num_rows), 1);
  }
  valid.push_back(v ? 1 : 0);
}

void Column::AppendFixed(const void* data, bool is_valid) {
  PushValid(is_valid);
  const auto* p = static_cast<const uint8_t*>(data);
  fixed.insert(fixed.end(), p, p + row_bytes);
  ++num_rows;
}

void Column::AppendVar(std::string_view data, bool is_valid) {
  PushValid(is_valid);
  bytes.append(data);
  offsets.push_back(bytes.size());
  ++num_rows;
}

void Column::AppendNull() {
  if (is_fixed()) {
    PushValid(false);
    fixed.resize(fixed.size() + row_bytes, 0);
    ++num_rows;
  } else {
    AppendVar({}, false);
  }
}

void AppendDefaultOrNull(const FieldSchema& f, Column* c) {
  if (!f.default_value) {
    c->AppendNull();
    return;
  }
  const ScalarValue& d = *f.default_value;
  auto fixed = [&](auto v) { c->AppendFixed(&v); };
  switch (f.type) {
    case DataType::kBool: fixed(static_cast<uint8_t>(std::get<bool>(d) ? 1 : 0)); return;
    case DataType::kInt8: fixed(static_cast<int8_t>(std::get<int64_t>(d))); return;
    case DataType::kInt16: fixed(static_cast<int16_t>(std::get<int64_t>(d))); return;
    case DataType::kInt32: fixed(static_cast<int32_t>(std::get<int64_t>(d))); return;
    case DataType::kInt64: fixed(std::get<int64_t>(d)); return;
    case DataType::kFloat: fixed(static_cast<float>(std::get<double>(d))); return;
    case DataType::kDouble: fixed(std::get<double>(d)); return;
    case DataType::kVarChar: c->AppendVar(std::get<std::string>(d)); return;
    default: c->AppendNull(); return;
  }
}

void Column::AppendFrom(const Column& src, int64_t row) {
  bool v = !src.IsNull(row);
  if (is_fixed()) {
    AppendFixed(src.RowPtr(row), v);
  } else {
    AppendVar(src.GetBytes(row), v);
  }
}

void Column::AppendRange(const Column& src, int64_t begin, int64_t count) {
  if (count <= 0) return;
  bool any_null = !src.valid.empty();
  if (any_null || !valid.empty()) {
    for (int64_t i = 0; i < count; ++i) AppendFrom(src, begin + i);
    return;
  }
  if (is_fixed()) {
    fixed.insert(fixed.end(), src.RowPtr(begin), src.RowPtr(begin) + count * row_bytes);
  } else {
    uint64_t base = bytes.size();
    uint64_t from = src.offsets[begin];
    bytes.append(src.bytes, from, src.offsets[begin + count] - from);
    for (int64_t i = 1; i <= count; ++i) offsets.push_back(base + src.offsets[begin + i] - from);
  }
  num_rows += count;
}

void Column::Reserve(int64_t rows) {
  if (is_fixed()) {
    fixed.reserve(static_cast<size_t>(rows) * row_bytes);
  } else {
    offsets.reserve(static_cast<size_t>(rows) + 1);
  }
}

size_t Column::MemoryBytes() const {
  return fixed.size() + offsets.size() * sizeof(uint64_t) + bytes.size() + valid.size();
}

const Column* ColumnBatch::Find(FieldId id) const {
  for (const auto& c : columns) {
    if (c.field_id == id) return &c;
  }
  return nullptr;
}
Column* ColumnBatch::Find(FieldId id) {
  for (auto& c : columns) {
    if (c.field_id == id) return &c;
  }
  return nullptr;
}
size_t ColumnBatch::MemoryBytes() const {
  size_t n = 0;
  for (const auto& c : columns) n += c.MemoryBytes();
  return n;
}

PrimaryKey PkAt(const Column& pk, int64_t row) {
  if (pk.type == DataType::kInt64) return pk.Get<int64_t>(row);
  return std::string(pk.GetBytes(row));
}

std::string PkToString(const PrimaryKey& pk) {
  if (const auto* i = std::get_if<int64_t>(&pk)) return std::to_string(*i);
  return std::get<std::string>(pk);
}

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
void PutBytes(std::string* out, std::string_view b) {
  PutU64(out, b.size());
  out->append(b);
}
bool GetU32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(4);
  return true;
}
bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
  in->remove_prefix(8);
  return true;
}
bool GetBytes(std::string_view* in, std::string_view* b) {
  uint64_t n = 0;
  if (!GetU64(in, &n) || in->size() < n) return false;
  *b = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// Layout: field_id u64 | type u32 | element_type u32 | dim u64 | num_rows u64 |
//         valid bytes | fixed bytes | offsets (u64 each, as bytes) | var bytes
// where "X bytes" is a u64 length followed by that many bytes.
void EncodeColumnParts(const Column& c, ColumnEncoding* out) {
  for (auto& h : out->heads) h.clear();
  std::string& h0 = out->heads[0];
  PutU64(&h0, static_cast<uint64_t>(c.field_id.value));
  PutU32(&h0, static_cast<uint32_t>(c.type));
  PutU32(&h0, static_cast<uint32_t>(c.element_type));
  PutU64(&h0, static_cast<uint64_t>(c.dim));
  PutU64(&h0, static_cast<uint64_t>(c.num_rows));
  const std::string_view bufs[4] = {
      std::string_view(reinterpret_cast<const char*>(c.valid.data()), c.valid.size()),
      std::string_view(reinterpret_cast<const char*>(c.fixed.data()), c.fixed.size()),
      std::string_view(reinterpret_cast<const char*>(c.offsets.data()), c.offsets.size() * 8),
      std::string_view(c.bytes)};
  out->parts.clear();
  for (int i = 0; i < 4; ++i) {
    PutU64(&out->heads[i], bufs[i].size());
    out->parts.push_back(out->heads[i]);
    out->parts.push_back(bufs[i]);
  }
}

void EncodeColumn(const Column& c, std::string* out) {
  ColumnEncoding enc;
  EncodeColumnParts(c, &enc);
  size_t n = out->size();
  for (std::string_view p : enc.parts) n += p.size();
  out->reserve(n);
  for (std::string_view p : enc.parts) out->append(p);
}

Result<std::string> ReadRemaining(ByteSource* in) {
  std::string out(in->remaining(), '\0');
  KITE_RETURN_IF_ERROR(in->Read(out.data(), out.size()));
  return out;
}

Status ViewSource::Read(void* dst, size_t n) {
  if (n > in_->size()) return Corruption("truncated {}", what_);
  if (n > 0) std::memcpy(dst, in_->data(), n);
  in_->remove_prefix(n);
  return Status::OK();
}

namespace {

// A little-endian uint32_t or uint64_t (GetU32/GetU64 over the bytes read).
template <typename T>
Status ReadLE(ByteSource* in, T* v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  if (in->remaining() < sizeof(T)) return Corruption("truncated column encoding");
  char b[sizeof(T)];
  KITE_RETURN_IF_ERROR(in->Read(b, sizeof(T)));
  std::string_view bytes(b, sizeof(T));
  if constexpr (sizeof(T) == 8) {
    GetU64(&bytes, v);
  } else {
    GetU32(&bytes, v);
  }
  return Status::OK();
}

// A length-prefixed buffer read into `out` (a vector of bytes or u64s, or a string).
template <typename Buf>
Status ReadBuffer(ByteSource* in, Buf* out, size_t elem_bytes) {
  uint64_t n = 0;
  KITE_RETURN_IF_ERROR(ReadLE(in, &n));
  if (n > in->remaining()) return Corruption("truncated column encoding");
  if (n % elem_bytes != 0) return Corruption("column offsets are not 8-byte aligned");
  out->resize(n / elem_bytes);
  return in->Read(out->data(), n);
}

}  // namespace

Result<Column> DecodeColumn(std::string_view* in) {
  ViewSource src(in, "column encoding");
  return DecodeColumnFrom(&src);
}

Result<Column> DecodeColumnFrom(ByteSource* in) {
  Column c;
  uint64_t fid = 0, dim = 0, rows = 0;
  uint32_t type = 0, etype = 0;
  KITE_RETURN_IF_ERROR(ReadLE(in, &fid));
  KITE_RETURN_IF_ERROR(ReadLE(in, &type));
  KITE_RETURN_IF_ERROR(ReadLE(in, &etype));
  KITE_RETURN_IF_ERROR(ReadLE(in, &dim));
  KITE_RETURN_IF_ERROR(ReadLE(in, &rows));
  c.field_id = FieldId(static_cast<int64_t>(fid));
  c.type = static_cast<DataType>(type);
  c.element_type = static_cast<DataType>(etype);
  c.dim = static_cast<int64_t>(dim);
  c.num_rows = static_cast<int64_t>(rows);
  c.row_bytes = FixedRowBytes(c.type, c.dim);
  KITE_RETURN_IF_ERROR(ReadBuffer(in, &c.valid, 1));
  KITE_RETURN_IF_ERROR(ReadBuffer(in, &c.fixed, 1));
  KITE_RETURN_IF_ERROR(ReadBuffer(in, &c.offsets, 8));
  KITE_RETURN_IF_ERROR(ReadBuffer(in, &c.bytes, 1));
  bool ok = c.valid.empty() || c.valid.size() == rows;
  if (c.is_fixed()) {
    ok = ok && c.fixed.size() == rows * c.row_bytes && c.offsets.empty();
  } else {
    ok = ok && c.offsets.size() == rows + 1 && c.offsets.front() == 0 && c.offsets.back() == c.bytes.size();
    for (size_t i = 1; ok && i < c.offsets.size(); ++i) ok = c.offsets[i - 1] <= c.offsets[i];
  }
  if (!ok) return Corruption("inconsistent column encoding for field {}", fid);
  return c;
}

}  // namespace kite
