// JsonPathIndex (json_path_index.h): the value at a JSON path cast into a
// plain column, indexed by the INVERTED index; persisted as in
// docs/formats/scalar_index.md ("JSON path indexes").
#include "index/scalar/json_path_index.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "expr/json_column.h"

namespace kite::index {
namespace {

constexpr char kMagic[4] = {'K', 'J', 'P', 'X'};
constexpr uint32_t kVersion = 1;
constexpr uint8_t kFlagInexact = 1;         // an int at the path that no double equals
constexpr uint8_t kFlagStringToDouble = 2;  // json_cast_function STRING_TO_DOUBLE

using expr::internal::JNode;
using expr::internal::JsonColumn;
using expr::internal::JType;

uint32_t Crc32(std::string_view b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!b.empty()) {
    auto n = static_cast<uInt>(std::min<size_t>(b.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data()), n);
    b.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

// The column type and element type a cast type is indexed as.
bool CastColumnType(const std::string& cast, DataType* type, DataType* elem) {
  *elem = DataType::kNone;
  if (cast == "BOOL") *type = DataType::kBool;
  else if (cast == "DOUBLE") *type = DataType::kDouble;
  else if (cast == "VARCHAR") *type = DataType::kVarChar;
  else if (cast == "ARRAY_BOOL") *type = DataType::kArray, *elem = DataType::kBool;
  else if (cast == "ARRAY_DOUBLE") *type = DataType::kArray, *elem = DataType::kDouble;
  else if (cast == "ARRAY_VARCHAR") *type = DataType::kArray, *elem = DataType::kVarChar;
  else return false;
  return true;
}

// A JSON number as a double when it converts exactly.
bool ExactDouble(const JNode& n, double* out) {
  if (n.type == JType::kDouble) {
    *out = n.u.d;
    return true;
  }
  if (n.type != JType::kInt) return false;
  constexpr double kTwo63 = 9223372036854775808.0;
  auto d = static_cast<double>(n.u.i);
  if (d >= kTwo63 || d < -kTwo63 || static_cast<int64_t>(d) != n.u.i) return false;
  *out = d;
  return true;
}

bool IsNumber(const JNode& n) { return n.type == JType::kInt || n.type == JType::kDouble; }

// Appends one element of type `elem` from `n` to `buf` (Kite's array
// encoding); false when `n` is not of that type.
bool AppendElement(const JsonColumn& j, const JNode& n, DataType elem, std::string* buf, bool* inexact) {
  switch (elem) {
    case DataType::kBool: {
      if (n.type != JType::kBool) return false;
      buf->push_back(n.b ? 1 : 0);
      return true;
    }
    case DataType::kDouble: {
      if (!IsNumber(n)) return false;
      double d = 0;
      if (!ExactDouble(n, &d)) {
        *inexact = true;
        return false;
      }
      char b[8];
      std::memcpy(b, &d, 8);
      buf->append(b, 8);
      return true;
    }
    default: {
      if (n.type != JType::kString) return false;
      std::string_view s = j.Str(n);
      auto len = static_cast<uint32_t>(s.size());
      char b[4];
      std::memcpy(b, &len, 4);
      buf->append(b, 4);
      buf->append(s);
      return true;
    }
  }
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Raw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  void U8(uint8_t v) { Raw(&v, 1); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Raw(void* p, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool Str(std::string* s) {
    uint32_t n = 0;
    if (!U32(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool View(uint64_t n, std::string_view* v) {
    if (in_.size() < n) return false;
    *v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

std::string Param(const std::map<std::string, std::string>& p, const char* key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

// json_cast_function STRING_TO_DOUBLE on a string: its leading number, as
// Milvus 2.6 reads it (std::stod: leading blanks skipped, the longest numeric
// prefix taken, nothing numeric = no value).
bool StringToDouble(std::string_view s, double* out) {
  std::string text(s);
  try {
    *out = std::stod(text);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> JsonPointerSteps(std::string_view pointer) {
  std::vector<std::string> steps;
  if (pointer.empty()) return steps;
  size_t i = pointer[0] == '/' ? 1 : 0;
  std::string cur;
  for (; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      steps.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (pointer[i] == '~' && i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      cur += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    cur += pointer[i];
  }
  return steps;
}

Result<std::unique_ptr<JsonPathIndex>> JsonPathIndex::Build(const std::map<std::string, std::string>& params,
                                                            const Column& column) {
  if (column.type != DataType::kJson) {
    return InvalidArgument("a JSON path index needs a JSON column, not {}", DataTypeName(column.type));
  }
  std::unique_ptr<JsonPathIndex> idx(new JsonPathIndex());
  idx->cast_ = Param(params, "json_cast_type");
  idx->pointer_ = Param(params, "json_pointer");
  DataType type = DataType::kNone, elem = DataType::kNone;
  if (!CastColumnType(idx->cast_, &type, &elem)) {
    return InvalidArgument("json_cast_type {} is not built as a JSON path index", idx->cast_);
  }
  if (column.num_rows < 0 || static_cast<uint64_t>(column.num_rows) >= std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("cannot index a column of {} rows", column.num_rows);
  }
  const std::string fn = Param(params, "json_cast_function");
  if (!fn.empty()) {
    if (fn != "STRING_TO_DOUBLE" || type != DataType::kDouble) {
      return InvalidArgument("json_cast_function {} is not supported for json_cast_type {}", fn, idx->cast_);
    }
    idx->string_to_double_ = true;
  }
  idx->steps_ = JsonPointerSteps(idx->pointer_);
  idx->rows_ = column.num_rows;
  JsonColumn j = JsonColumn::Extract(column, column.num_rows, idx->steps_);

  Column cast;
  cast.type = type;
  cast.element_type = elem;
  cast.row_bytes = FixedRowBytes(type, 0);
  if (!cast.is_fixed()) cast.offsets.push_back(0);
  cast.Reserve(column.num_rows);
  std::string buf;
  for (int64_t r = 0; r < column.num_rows; ++r) {
    if (j.IsNull(r)) idx->null_rows_.push_back(static_cast<uint32_t>(r));
    const JNode& n = j.Row(r);
    if (type == DataType::kArray) {
      if (j.IsNull(r) || n.type != JType::kArray) {
        cast.AppendNull();
        continue;
      }
      buf.clear();
      for (uint32_t k = 0; k < n.count; ++k) (void)AppendElement(j, j.Element(n, k), elem, &buf, &idx->inexact_);
      cast.AppendVar(buf);
      continue;
    }
    buf.clear();
    double d = 0;
    if (idx->string_to_double_ && !j.IsNull(r) && n.type == JType::kString) {
      if (StringToDouble(j.Str(n), &d)) {
        cast.AppendFixed(&d);
      } else {
        cast.AppendNull();
      }
      continue;
    }
    if (j.IsNull(r) || !AppendElement(j, n, type, &buf, &idx->inexact_)) {
      cast.AppendNull();
    } else if (cast.is_fixed()) {
      cast.AppendFixed(buf.data());
    } else {
      cast.AppendVar(std::string_view(buf).substr(4));  // without the element's length prefix
    }
  }
  KITE_ASSIGN_OR_RETURN(idx->inner_, BuildScalarIndex({{"index_type", "INVERTED"}}, cast));
  return idx;
}

Result<std::unique_ptr<JsonPathIndex>> JsonPathIndex::Load(const std::map<std::string, std::string>& params,
                                                           std::string_view bytes) {
  if (bytes.size() < 8) return Corruption("JSON path index: {} bytes is too short", bytes.size());
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + body.size(), 4);
  if (crc != Crc32(body)) return Corruption("JSON path index: checksum mismatch");
  if (std::memcmp(body.data(), kMagic, 4) != 0) return Corruption("JSON path index: bad magic");
  Reader r(body.substr(4));
  std::unique_ptr<JsonPathIndex> idx(new JsonPathIndex());
  uint32_t version = 0, nulls = 0;
  uint64_t rows = 0, inner_len = 0;
  uint8_t flags = 0;
  if (!r.U32(&version) || !r.Str(&idx->cast_) || !r.Str(&idx->pointer_) || !r.U64(&rows) || !r.U8(&flags) ||
      !r.U32(&nulls)) {
    return Corruption("JSON path index: truncated header");
  }
  if (version != kVersion) return Corruption("JSON path index: unsupported version {}", version);
  DataType type = DataType::kNone, elem = DataType::kNone;
  if (!CastColumnType(idx->cast_, &type, &elem) || flags > (kFlagInexact | kFlagStringToDouble) ||
      ((flags & kFlagStringToDouble) && type != DataType::kDouble) || rows >= std::numeric_limits<uint32_t>::max() ||
      nulls > rows) {
    return Corruption("JSON path index: inconsistent header");
  }
  if ((params.count("json_cast_type") && Param(params, "json_cast_type") != idx->cast_) ||
      (params.count("json_pointer") && Param(params, "json_pointer") != idx->pointer_)) {
    return InvalidArgument("JSON path index params ({}, {}) do not match the stored ({}, {})",
                           Param(params, "json_cast_type"), Param(params, "json_pointer"), idx->cast_, idx->pointer_);
  }
  idx->string_to_double_ = (flags & kFlagStringToDouble) != 0;
  if (params.count("index_type") && (Param(params, "json_cast_function") == "STRING_TO_DOUBLE") != idx->string_to_double_) {
    return InvalidArgument("JSON path index params (json_cast_function {}) do not match the stored one ({})",
                           Param(params, "json_cast_function"), idx->string_to_double_ ? "STRING_TO_DOUBLE" : "none");
  }
  idx->rows_ = static_cast<int64_t>(rows);
  idx->inexact_ = (flags & kFlagInexact) != 0;
  idx->steps_ = JsonPointerSteps(idx->pointer_);
  idx->null_rows_.resize(nulls);
  for (uint32_t k = 0; k < nulls; ++k) {
    if (!r.U32(&idx->null_rows_[k]) || idx->null_rows_[k] >= rows ||
        (k > 0 && idx->null_rows_[k] <= idx->null_rows_[k - 1])) {
      return Corruption("JSON path index: bad null rows");
    }
  }
  std::string_view inner;
  if (!r.U64(&inner_len) || !r.View(inner_len, &inner) || r.remaining() != 0) {
    return Corruption("JSON path index: bad body");
  }
  KITE_ASSIGN_OR_RETURN(idx->inner_, LoadScalarIndex({{"index_type", "INVERTED"}}, inner));
  if (idx->inner_->rows() != idx->rows_ || idx->inner_->data_type() != type || idx->inner_->element_type() != elem) {
    return Corruption("JSON path index: inner index does not match the header");
  }
  return idx;
}

Status JsonPathIndex::Serialize(std::string* out) const {
  std::string inner;
  KITE_RETURN_IF_ERROR(inner_->Serialize(&inner));
  const size_t start = out->size();
  Writer w(out);
  w.Raw(kMagic, 4);
  w.U32(kVersion);
  w.Str(cast_);
  w.Str(pointer_);
  w.U64(static_cast<uint64_t>(rows_));
  w.U8(static_cast<uint8_t>((inexact_ ? kFlagInexact : 0) | (string_to_double_ ? kFlagStringToDouble : 0)));
  w.U32(static_cast<uint32_t>(null_rows_.size()));
  for (uint32_t row : null_rows_) w.U32(row);
  w.U64(inner.size());
  w.Raw(inner.data(), inner.size());
  w.U32(Crc32(std::string_view(*out).substr(start)));
  return Status::OK();
}

size_t JsonPathIndex::MemoryBytes() const {
  return inner_->MemoryBytes() + null_rows_.size() * sizeof(uint32_t) + sizeof(*this);
}

int64_t JsonPathIndex::cast_rows() const {
  expr::IndexLeaf leaf;
  leaf.op = expr::IndexLeaf::Op::kIsNotNull;
  leaf.type = inner_->data_type();
  leaf.element_type = inner_->element_type();
  expr::LeafResult r;
  if (!inner_->Search(leaf, rows_, &r)) return 0;
  return std::count(r.value.begin(), r.value.end(), uint8_t{1});
}

expr::IndexLeaf JsonPathIndex::InnerLeaf(const expr::IndexLeaf& leaf) const {
  expr::IndexLeaf inner = leaf;
  inner.json = false;
  inner.json_path.clear();
  return inner;
}

bool JsonPathIndex::Supports(const expr::IndexLeaf& leaf) const {
  using Op = expr::IndexLeaf::Op;
  if (!leaf.json || leaf.json_path != steps_) return false;
  if (leaf.type != inner_->data_type() || leaf.element_type != inner_->element_type()) return false;
  const bool numeric = leaf.type == DataType::kDouble || leaf.element_type == DataType::kDouble;
  if (numeric && inexact_) return false;
  switch (leaf.op) {
    case Op::kIn:
    case Op::kNotEqual:
    case Op::kRange:
    case Op::kPrefix:
    case Op::kMatch:
    case Op::kContainsAny:
    case Op::kContainsAll: return inner_->Supports(InnerLeaf(leaf));
    default: return false;  // null checks on a JSON path have the scan's own rules
  }
}

bool JsonPathIndex::Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const {
  if (rows < 0 || rows > rows_ || !Supports(leaf)) return false;
  expr::LeafResult inner;
  if (!inner_->Search(InnerLeaf(leaf), rows, &inner)) return false;
  const auto n = static_cast<size_t>(rows);
  out->value = std::move(inner.value);
  out->valid.clear();
  if (leaf.op == expr::IndexLeaf::Op::kNotEqual && !inner.valid.empty()) {
    // A value outside the cast type (or no value) is != every literal of it.
    for (size_t i = 0; i < n; ++i) out->value[i] |= inner.valid[i] ^ 1;
  }
  auto first_past = std::lower_bound(null_rows_.begin(), null_rows_.end(), static_cast<uint32_t>(rows));
  if (first_past != null_rows_.begin()) {
    out->valid.assign(n, 1);
    for (auto it = null_rows_.begin(); it != first_past; ++it) {
      out->valid[*it] = 0;
      out->value[*it] = 0;
    }
  }
  return true;
}

bool JsonPathIndex::PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const {
  (void)leaf, (void)rows;
  return false;
}

}  // namespace kite::index
