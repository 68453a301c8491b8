// The scalar index factory, the shared base (nulls, validity, the persisted
// frame of docs/formats/scalar_index.md), the bitmap and key codecs, and the
// evaluator lookup.
#include "index/scalar/scalar_index.h"

#include "index/scalar/json_flat_index.h"
#include "index/scalar/json_path_index.h"
#include "index/scalar/rtree_index.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "index/scalar/extract.h"
#include "index/scalar/scalar_index_internal.h"

namespace kite::index {
namespace scalar {
namespace {

constexpr char kMagic[4] = {'K', 'S', 'I', 'X'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxArrayChunk = 4096;  // values per 2^16 rows kept as a sorted list, else a bitset

uint32_t Crc32(std::string_view b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!b.empty()) {
    auto n = static_cast<uInt>(std::min<size_t>(b.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data()), n);
    b.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

std::string Upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::optional<IndexKind> ParseKind(std::string_view name) {
  std::string u = Upper(name);
  if (u == "STL_SORT") return IndexKind::kStlSort;
  if (u == "INVERTED") return IndexKind::kInverted;
  if (u == "BITMAP") return IndexKind::kBitmap;
  if (u == "TRIE") return IndexKind::kTrie;
  return std::nullopt;
}

Layout LayoutOf(IndexKind k) {
  switch (k) {
    case IndexKind::kStlSort: return Layout::kSortedPairs;
    case IndexKind::kBitmap: return Layout::kBitmaps;
    default: return Layout::kCsr;
  }
}

bool IsStr(DataType t) { return t == DataType::kVarChar || t == DataType::kString; }
bool IsIntLike(DataType t) { return t == DataType::kBool || IsIntegerType(t) || t == DataType::kTimestamptz; }

bool KeyMatches(KeyKind kind, const expr::IndexKey& k) {
  switch (kind) {
    case KeyKind::kInt: return std::holds_alternative<int64_t>(k);
    case KeyKind::kDouble: return std::holds_alternative<double>(k);
    case KeyKind::kString: return std::holds_alternative<std::string>(k);
  }
  return false;
}

// Every row in `b` as a RowSink target.
void EmitBitmap(const Bitmap& b, const RowSink& sink) {
  b.ForEachChunk([&](const uint32_t* p, size_t n) { sink.AddSorted(p, n); });
}

Status CheckColumn(const Column& c) {
  if (c.num_rows < 0 || static_cast<uint64_t>(c.num_rows) >= std::numeric_limits<uint32_t>::max()) {
    return InvalidArgument("cannot index a column of {} rows (at most {})", c.num_rows,
                           std::numeric_limits<uint32_t>::max() - 1);
  }
  const auto n = static_cast<size_t>(c.num_rows);
  if (!c.valid.empty() && c.valid.size() < n) return InvalidArgument("column validity holds fewer than {} rows", n);
  if (c.type == DataType::kArray || IsStr(c.type)) {
    if (c.offsets.size() < n + 1 || c.offsets[0] != 0 || c.offsets[n] > c.bytes.size()) {
      return InvalidArgument("variable-width column holds fewer than {} rows", n);
    }
    for (size_t i = 0; i < n; ++i) {
      if (c.offsets[i + 1] < c.offsets[i]) return InvalidArgument("column offsets decrease at row {}", i);
    }
    return Status::OK();
  }
  if (c.row_bytes != ElementWidth(c.type) || c.fixed.size() < n * c.row_bytes) {
    return InvalidArgument("fixed-width column of {} holds fewer than {} rows", DataTypeName(c.type), n);
  }
  return Status::OK();
}

}  // namespace

std::string_view IndexKindName(IndexKind k) {
  switch (k) {
    case IndexKind::kStlSort: return "STL_SORT";
    case IndexKind::kInverted: return "INVERTED";
    case IndexKind::kBitmap: return "BITMAP";
    case IndexKind::kTrie: return "Trie";
  }
  return "?";
}

KeyKind KeyKindOf(DataType type, DataType element_type) {
  DataType t = type == DataType::kArray ? element_type : type;
  if (IsFloatingType(t)) return KeyKind::kDouble;
  if (IsStr(t)) return KeyKind::kString;
  return KeyKind::kInt;
}

// ------------------------------------------------------------ codecs

void Bitmap::Write(Writer* w) const {
  std::string body;
  Writer bw(&body);
  uint32_t chunks = 0;
  std::vector<uint16_t> lows;
  uint32_t high = 0;
  auto flush = [&]() {
    if (lows.empty()) return;
    ++chunks;
    bw.U32(high);
    if (lows.size() <= kMaxArrayChunk) {
      bw.U8(0);
      bw.U32(static_cast<uint32_t>(lows.size()));
      bw.Array(lows.data(), lows.size());
    } else {
      uint64_t bits[1024] = {};
      for (uint16_t v : lows) bits[v >> 6] |= uint64_t{1} << (v & 63);
      bw.U8(1);
      bw.Array(bits, 1024);
    }
    lows.clear();
  };
  ForEachChunk([&](const uint32_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if ((p[i] >> 16) != high) {
        flush();
        high = p[i] >> 16;
      }
      lows.push_back(static_cast<uint16_t>(p[i] & 0xFFFF));
    }
  });
  flush();
  w->U64(body.size() + 4);
  w->U32(chunks);
  w->Raw(body.data(), body.size());
}

bool Bitmap::Read(Reader* r, uint64_t rows, Bitmap* out) {
  uint64_t len = 0;
  std::string_view body;
  if (!r->U64(&len) || !r->Bytes(len, &body)) return false;
  Reader br(body);
  uint32_t chunks = 0;
  if (!br.U32(&chunks) || chunks > 65536) return false;
  Bitmap b;
  std::vector<uint32_t> vals;
  int64_t prev_high = -1;
  for (uint32_t c = 0; c < chunks; ++c) {
    uint32_t high = 0;
    uint8_t kind = 0;
    if (!br.U32(&high) || high > 0xFFFF || static_cast<int64_t>(high) <= prev_high || !br.U8(&kind)) return false;
    prev_high = high;
    vals.clear();
    if (kind == 0) {
      uint32_t count = 0;
      std::vector<uint16_t> lows;
      if (!br.U32(&count) || count == 0 || count > kMaxArrayChunk || !br.Array(count, &lows)) return false;
      for (uint32_t i = 0; i < count; ++i) {
        if (i > 0 && lows[i] <= lows[i - 1]) return false;
        vals.push_back((high << 16) | lows[i]);
      }
    } else if (kind == 1) {
      std::vector<uint64_t> bits;
      if (!br.Array(1024, &bits)) return false;
      for (uint32_t w = 0; w < 1024; ++w) {
        for (uint64_t x = bits[w]; x != 0; x &= x - 1) {
          vals.push_back((high << 16) | (w << 6) | static_cast<uint32_t>(std::countr_zero(x)));
        }
      }
      if (vals.size() <= kMaxArrayChunk) return false;  // not how Write encodes it
    } else {
      return false;
    }
    if (vals.back() >= rows) return false;
    roaring_bitmap_add_many(b.r_, vals.size(), vals.data());
  }
  if (br.remaining() != 0) return false;
  roaring_bitmap_run_optimize(b.r_);
  roaring_bitmap_shrink_to_fit(b.r_);
  *out = std::move(b);
  return true;
}

void StrKeys::Write(Writer* w) const {
  w->U64(size());
  w->Array(off_.data() + 1, size());
  w->U64(blob_.size());
  w->Raw(blob_.data(), blob_.size());
}

bool StrKeys::Read(Reader* r) {
  uint64_t n = 0, bytes = 0;
  std::vector<uint64_t> ends;
  std::string_view blob;
  if (!r->U64(&n) || !r->Array(n, &ends) || !r->U64(&bytes) || !r->Bytes(bytes, &blob)) return false;
  uint64_t prev = 0;
  for (uint64_t e : ends) {
    if (e < prev || e > bytes) return false;
    prev = e;
  }
  if (prev != bytes) return false;
  off_.assign(1, 0);
  off_.insert(off_.end(), ends.begin(), ends.end());
  blob_.assign(blob);
  return true;
}

Span PrefixSpan(const StrKeys& keys, std::string_view prefix) {
  size_t begin = LowerBound(keys, prefix);
  // From `begin` on, keys starting with `prefix` come first.
  size_t lo = begin, hi = keys.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (keys[mid].starts_with(prefix)) lo = mid + 1;
    else hi = mid;
  }
  return {begin, lo};
}

// ------------------------------------------------------- row coverage

bool RowCheck::Start(const ScalarIndexBase& index, uint64_t entries) {
  index_ = &index;
  const Meta& m = index.meta();
  array_ = m.type == DataType::kArray;
  if (array_) return true;
  if (entries + index.nulls().Cardinality() + index.nans().Cardinality() != m.rows) return false;
  seen_.assign(m.rows, 0);
  auto mark = [&](const uint32_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) seen_[p[i]] = 1;
  };
  index.nulls().ForEachChunk(mark);  // Bitmap::Read checked these rows against m.rows
  index.nans().ForEachChunk(mark);
  return true;
}

bool RowCheck::Mark(const uint32_t* p, size_t n) {
  const uint64_t rows = index_->meta().rows;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = p[i];
    if (r >= rows) return false;
    if (array_) {
      if (roaring_bitmap_contains(index_->nulls().get(), r)) return false;
    } else {
      if (seen_[r]) return false;
      seen_[r] = 1;
    }
  }
  return true;
}

// ------------------------------------------------------------- base

size_t ScalarIndexBase::MemoryBytes() const {
  return sizeof(*this) + nulls_.MemoryBytes() + nans_.MemoryBytes() + BodyMemoryBytes();
}

bool ScalarIndexBase::Supports(const expr::IndexLeaf& leaf) const {
  using Op = expr::IndexLeaf::Op;
  const bool array = meta_.type == DataType::kArray;
  if (leaf.type != meta_.type || (array && leaf.element_type != meta_.element_type)) return false;
  const KeyKind kind = KeyKindOf(meta_.type, meta_.element_type);
  auto keys_ok = [&]() {
    return std::all_of(leaf.keys.begin(), leaf.keys.end(), [&](const auto& k) { return KeyMatches(kind, k); });
  };
  switch (leaf.op) {
    case Op::kIsNull:
    case Op::kIsNotNull: return true;
    case Op::kRange:
      return !array && SupportsOp(Op::kRange) && (!leaf.lo || KeyMatches(kind, leaf.lo->key)) &&
             (!leaf.hi || KeyMatches(kind, leaf.hi->key));
    case Op::kIn: return !array && SupportsOp(Op::kIn) && keys_ok();
    case Op::kNotEqual: return !array && SupportsOp(Op::kIn) && leaf.keys.size() == 1 && keys_ok();
    case Op::kPrefix: return !array && SupportsOp(Op::kPrefix) && leaf.keys.size() == 1 && keys_ok();
    case Op::kMatch: return !array && SupportsOp(Op::kMatch) && leaf.match && keys_ok();
    case Op::kContainsAny:
    case Op::kContainsAll: return array && SupportsOp(leaf.op) && keys_ok();
    case Op::kTextMatch:
    case Op::kPhraseMatch: return false;  // text indexes only (text_index.h)
  }
  return false;
}

bool ScalarIndexBase::Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const {
  using Op = expr::IndexLeaf::Op;
  if (rows < 0 || static_cast<uint64_t>(rows) > meta_.rows || !Supports(leaf)) return false;
  const auto n = static_cast<size_t>(rows);
  out->value.assign(n, 0);
  out->valid.clear();
  uint8_t* v = out->value.data();
  if (leaf.op == Op::kIsNull) {
    EmitBitmap(nulls_, RowSink{v, n, 1});
    return true;
  }
  const bool any_null = nulls_.Min() < n;
  auto fill_non_null = [&](std::vector<uint8_t>* bytes) {
    std::fill(bytes->begin(), bytes->end(), 1);
    if (any_null) EmitBitmap(nulls_, RowSink{bytes->data(), n, 0});
  };
  if (leaf.op == Op::kIsNotNull) {
    fill_non_null(&out->value);
    return true;
  }
  if (any_null) {
    out->valid.resize(n);
    fill_non_null(&out->valid);
  }
  const bool every = (leaf.op == Op::kRange && !leaf.lo && !leaf.hi) || (leaf.op == Op::kContainsAll && leaf.keys.empty());
  if (every) {
    fill_non_null(&out->value);
  } else if (leaf.op == Op::kNotEqual) {
    fill_non_null(&out->value);
    expr::IndexLeaf eq;
    eq.op = Op::kIn;
    eq.keys = leaf.keys;
    Match(eq, RowSink{v, n, 0});
  } else {
    Match(leaf, RowSink{v, n, 1});
  }
  return true;
}

void ScalarIndexBase::SetAllMatchable(const RowSink& sink) const {
  std::fill(sink.out, sink.out + sink.rows, sink.value);
  RowSink clear{sink.out, sink.rows, 0};
  EmitBitmap(nulls_, clear);
  EmitBitmap(nans_, clear);
}

namespace {

// Rough nanoseconds per row for the evaluator's scan of `leaf` (measured on
// an x86 server core: typed loops over numbers, string_view loops and hash
// lookups over VarChar, element decoding over Arrays).
double ScanNsPerRow(const expr::IndexLeaf& leaf, KeyKind kind, bool array) {
  using Op = expr::IndexLeaf::Op;
  const bool str = kind == KeyKind::kString;
  if (array) return 30;
  switch (leaf.op) {
    case Op::kIsNull:
    case Op::kIsNotNull: return str ? 10 : 0.5;
    case Op::kRange: return str ? 15 : 0.6;
    case Op::kIn:
      if (str) return leaf.keys.size() <= 1 ? 6 : 40;
      return leaf.keys.size() <= 1 ? 0.6 : std::min<double>(1.0 + static_cast<double>(leaf.keys.size()), 10);
    case Op::kNotEqual: return str ? 6 : 0.6;
    case Op::kPrefix: return 8;
    case Op::kMatch: return 20;
    default: return 30;
  }
}

}  // namespace

bool ScalarIndexBase::PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const {
  using Op = expr::IndexLeaf::Op;
  if (rows < 0 || static_cast<uint64_t>(rows) > meta_.rows || !Supports(leaf)) return true;
  const auto n = static_cast<double>(rows);
  MatchCost cost;
  cost.sorted = true;
  cost.emits = nulls_.Cardinality();
  const bool every = (leaf.op == Op::kRange && !leaf.lo && !leaf.hi) || (leaf.op == Op::kContainsAll && leaf.keys.empty());
  if (leaf.op == Op::kNotEqual) {
    expr::IndexLeaf eq;
    eq.op = Op::kIn;
    eq.keys = leaf.keys;
    MatchCost m = EstimateMatch(eq);
    cost.emits += m.emits;
    cost.sorted = m.sorted;
  } else if (!every && leaf.op != Op::kIsNull && leaf.op != Op::kIsNotNull) {
    MatchCost m = EstimateMatch(leaf);
    cost.emits += m.emits;
    cost.sorted = m.sorted;
    cost.extra_ns = m.extra_ns;
  }
  // Zero-filling the value and validity bytes, then one write per row id.
  double index_ns = 0.1 * n + static_cast<double>(cost.emits) * (cost.sorted ? 1.5 : 4.0) + cost.extra_ns;
  double scan_ns = n * ScanNsPerRow(leaf, KeyKindOf(meta_.type, meta_.element_type), meta_.type == DataType::kArray);
  return index_ns > scan_ns;
}

Status ScalarIndexBase::Serialize(std::string* out) const {
  const size_t start = out->size();
  Writer w(out);
  w.Raw(kMagic, 4);
  w.U32(kVersion);
  w.U8(static_cast<uint8_t>(meta_.kind));
  w.U8(static_cast<uint8_t>(layout()));
  w.U8(static_cast<uint8_t>(KeyKindOf(meta_.type, meta_.element_type)));
  w.U8(0);
  w.U32(static_cast<uint32_t>(meta_.type));
  w.U32(static_cast<uint32_t>(meta_.element_type));
  w.U64(meta_.rows);
  nulls_.Write(&w);
  nans_.Write(&w);
  WriteBody(&w);
  w.U32(Crc32(std::string_view(*out).substr(start)));
  return Status::OK();
}

}  // namespace scalar

using scalar::IndexKind;

Status CheckScalarIndexType(std::string_view index_type, DataType type, DataType element_type) {
  if (scalar::Upper(index_type) == "RTREE") {
    if (type != DataType::kGeometry) {
      return InvalidArgument("index type RTREE does not support fields of type {}", DataTypeName(type));
    }
    return Status::OK();
  }
  if (type == DataType::kGeometry) {
    return InvalidArgument("index type {} does not support fields of type Geometry", index_type);
  }
  auto kind = scalar::ParseKind(index_type);
  if (!kind) return InvalidArgument("unknown scalar index type {}", index_type);
  const bool array = type == DataType::kArray;
  const DataType t = array ? element_type : type;
  const bool numeric = scalar::IsIntLike(t) || IsFloatingType(t);
  bool ok = false;
  switch (*kind) {
    case IndexKind::kStlSort: ok = !array && (IsIntegerType(t) || IsFloatingType(t) || t == DataType::kTimestamptz || scalar::IsStr(t)); break;
    case IndexKind::kTrie: ok = !array && scalar::IsStr(t); break;
    case IndexKind::kBitmap: ok = scalar::IsIntLike(t) || scalar::IsStr(t); break;
    case IndexKind::kInverted: ok = numeric || scalar::IsStr(t); break;
  }
  if (!ok) {
    return InvalidArgument("index type {} does not support fields of type {}{}", scalar::IndexKindName(*kind),
                           DataTypeName(type), array ? fmt::format(" of {}", DataTypeName(element_type)) : "");
  }
  return Status::OK();
}

Result<std::unique_ptr<ScalarIndex>> BuildScalarIndex(const std::map<std::string, std::string>& params,
                                                      const Column& column) {
  if (params.count("json_pointer") && params.count("json_cast_type") && params.at("json_cast_type") == "JSON") {
    KITE_ASSIGN_OR_RETURN(auto flat, JsonFlatIndex::Build(params, column));
    return std::unique_ptr<ScalarIndex>(std::move(flat));
  }
  if (params.count("json_pointer")) {
    KITE_ASSIGN_OR_RETURN(auto json, JsonPathIndex::Build(params, column));
    return std::unique_ptr<ScalarIndex>(std::move(json));
  }
  auto it = params.find("index_type");
  if (it == params.end()) return InvalidArgument("scalar index params lack index_type");
  KITE_RETURN_IF_ERROR(CheckScalarIndexType(it->second, column.type, column.element_type));
  if (scalar::Upper(it->second) == "RTREE") {
    KITE_ASSIGN_OR_RETURN(auto rtree, RtreeIndex::Build(column));
    return std::unique_ptr<ScalarIndex>(std::move(rtree));
  }
  KITE_RETURN_IF_ERROR(scalar::CheckColumn(column));
  scalar::Meta meta;
  meta.kind = *scalar::ParseKind(it->second);
  meta.type = column.type;
  meta.element_type = column.type == DataType::kArray ? column.element_type : DataType::kNone;
  meta.rows = static_cast<uint64_t>(column.num_rows);
  if (meta.kind == IndexKind::kStlSort) return std::unique_ptr<ScalarIndex>(scalar::BuildSorted(meta, column));
  return std::unique_ptr<ScalarIndex>(scalar::BuildPostings(meta, column));
}

Result<std::unique_ptr<ScalarIndex>> LoadScalarIndex(const std::map<std::string, std::string>& params,
                                                     std::string_view bytes) {
  using scalar::Reader;
  if (params.count("json_pointer") && params.count("json_cast_type") && params.at("json_cast_type") == "JSON") {
    KITE_ASSIGN_OR_RETURN(auto flat, JsonFlatIndex::Load(params, bytes));
    return std::unique_ptr<ScalarIndex>(std::move(flat));
  }
  if (params.count("json_pointer")) {
    KITE_ASSIGN_OR_RETURN(auto json, JsonPathIndex::Load(params, bytes));
    return std::unique_ptr<ScalarIndex>(std::move(json));
  }
  if (auto it = params.find("index_type"); it != params.end() && scalar::Upper(it->second) == "RTREE") {
    KITE_ASSIGN_OR_RETURN(auto rtree, RtreeIndex::Load(bytes));
    return std::unique_ptr<ScalarIndex>(std::move(rtree));
  }
  constexpr size_t kHeader = 4 + 4 + 4 + 4 + 4 + 8;
  if (bytes.size() < kHeader + 4) return Corruption("scalar index: {} bytes is too short", bytes.size());
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t crc = 0;
  std::memcpy(&crc, bytes.data() + body.size(), 4);
  if (crc != scalar::Crc32(body)) return Corruption("scalar index: checksum mismatch");
  if (std::memcmp(body.data(), scalar::kMagic, 4) != 0) return Corruption("scalar index: bad magic");
  Reader r(body.substr(4));
  uint32_t version = 0, type = 0, elem = 0;
  uint8_t kind = 0, layout = 0, key_kind = 0, reserved = 0;
  uint64_t rows = 0;
  bool ok = r.U32(&version) && r.U8(&kind) && r.U8(&layout) && r.U8(&key_kind) && r.U8(&reserved) &&
            r.U32(&type) && r.U32(&elem) && r.U64(&rows);
  if (!ok) return Corruption("scalar index: truncated header");
  if (version != scalar::kVersion) return Corruption("scalar index: unsupported version {}", version);
  if (kind < 1 || kind > 4) return Corruption("scalar index: unknown index kind {}", kind);
  scalar::Meta meta;
  meta.kind = static_cast<IndexKind>(kind);
  meta.type = static_cast<DataType>(type);
  meta.element_type = static_cast<DataType>(elem);
  meta.rows = rows;
  if (meta.type != DataType::kArray && meta.element_type != DataType::kNone) {
    return Corruption("scalar index: element type on a non-array field");
  }
  if (!CheckScalarIndexType(scalar::IndexKindName(meta.kind), meta.type, meta.element_type).ok() ||
      layout != static_cast<uint8_t>(scalar::LayoutOf(meta.kind)) ||
      key_kind != static_cast<uint8_t>(scalar::KeyKindOf(meta.type, meta.element_type)) || reserved != 0 ||
      rows >= std::numeric_limits<uint32_t>::max()) {
    return Corruption("scalar index: inconsistent header");
  }
  auto it = params.find("index_type");
  if (it != params.end() && scalar::ParseKind(it->second) != meta.kind) {
    return InvalidArgument("index_type {} does not match the stored {} index", it->second,
                           scalar::IndexKindName(meta.kind));
  }
  scalar::Bitmap nulls, nans;
  if (!scalar::Bitmap::Read(&r, rows, &nulls) || !scalar::Bitmap::Read(&r, rows, &nans)) {
    return Corruption("scalar index: bad null or NaN rows");
  }
  bool nan_ok = nans.Empty() || (meta.type != DataType::kArray && IsFloatingType(meta.type));
  if (!nan_ok || roaring_bitmap_and_cardinality(nulls.get(), nans.get()) != 0) {
    return Corruption("scalar index: bad NaN rows");
  }
  auto idx = meta.kind == IndexKind::kStlSort ? scalar::NewSorted(meta) : scalar::NewPostings(meta);
  idx->SetCommon(meta, std::move(nulls), std::move(nans));
  if (!idx->ReadBody(&r) || r.remaining() != 0) return Corruption("scalar index: bad {} body", idx->type());
  return std::unique_ptr<ScalarIndex>(std::move(idx));
}

// ------------------------------------------------------------ lookup

void ScalarIndexLookup::Add(FieldId field, const ScalarIndex* index) {
  for (auto& [f, idx] : indexes_) {
    if (f == field && idx->type() == index->type() && !index->json_path() && !idx->json_path()) {
      idx = index;
      return;
    }
  }
  indexes_.emplace_back(field, index);
}

const ScalarIndex* ScalarIndexLookup::Find(const expr::IndexLeaf& leaf) const {
  // A field may have a scalar index and a text index: the one that answers the leaf.
  for (const auto& [f, idx] : indexes_) {
    if (f == leaf.field && (idx->json_path() != nullptr) == leaf.json && idx->Supports(leaf)) return idx;
  }
  return nullptr;
}

bool ScalarIndexLookup::Covers(const expr::IndexLeaf& leaf) const { return Find(leaf) != nullptr; }

bool ScalarIndexLookup::SpatialCandidates(FieldId field, const geo::Envelope& box, int64_t rows,
                                          std::vector<uint32_t>* out) const {
  for (const auto& [f, idx] : indexes_) {
    if (f != field) continue;
    if (const auto* rtree = dynamic_cast<const RtreeIndex*>(idx); rtree && rows <= rtree->rows()) {
      rtree->Candidates(box, rows, out);
      return true;
    }
  }
  return false;
}

bool ScalarIndexLookup::TryLeaf(const expr::IndexLeaf& leaf, int64_t rows, bool column_present,
                                expr::LeafResult* out) const {
  const ScalarIndex* idx = Find(leaf);
  if (idx == nullptr || (column_present && idx->PreferScan(leaf, rows))) return false;
  return idx->Search(leaf, rows, out);
}

}  // namespace kite::index
