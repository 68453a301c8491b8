// Internals shared by the scalar index implementations: the byte codec, a
// roaring bitmap handle, key containers, the output sink, and the base class
// that handles nulls, validity and the persisted frame for every index type.
// Internal to src/index/scalar.
#pragma once

#include <roaring/roaring.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "index/scalar/scalar_index.h"

namespace kite::index::scalar {

static_assert(std::endian::native == std::endian::little,
              "the persisted format is little-endian; add byte swapping for big-endian hosts");

// --------------------------------------------------------------- codec

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  // Bulk array of trivially copyable values (little-endian host).
  template <typename T>
  void Array(const T* p, size_t n) {
    Raw(p, n * sizeof(T));
  }
  void Raw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }

 private:
  std::string* out_;
};

// Reads never go past the input; every read reports failure instead.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  size_t remaining() const { return in_.size(); }
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  // `n` values; fails without allocating when the input is too short.
  template <typename T>
  bool Array(uint64_t n, std::vector<T>* out) {
    if (n > in_.size() / sizeof(T)) return false;
    out->resize(n);
    return Raw(out->data(), n * sizeof(T));
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > in_.size()) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool Raw(void* p, size_t n) {
    if (n > in_.size()) return false;
    if (n > 0) std::memcpy(p, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view in_;
};

// --------------------------------------------------------------- bitmap

// Owns a roaring bitmap of row ids. Move-only.
class Bitmap {
 public:
  Bitmap() : r_(roaring_bitmap_create()) {}
  explicit Bitmap(roaring_bitmap_t* r) : r_(r) {}
  Bitmap(Bitmap&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Bitmap& operator=(Bitmap&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
  ~Bitmap() {
    if (r_ != nullptr) roaring_bitmap_free(r_);
  }

  static Bitmap Of(const std::vector<uint32_t>& rows) {
    Bitmap b(roaring_bitmap_of_ptr(rows.size(), rows.data()));
    roaring_bitmap_run_optimize(b.r_);
    roaring_bitmap_shrink_to_fit(b.r_);
    return b;
  }
  const roaring_bitmap_t* get() const { return r_; }
  roaring_bitmap_t* mutable_get() { return r_; }
  uint64_t Cardinality() const { return roaring_bitmap_get_cardinality(r_); }
  bool Empty() const { return roaring_bitmap_is_empty(r_); }
  // UINT32_MAX when empty.
  uint32_t Min() const { return Empty() ? UINT32_MAX : roaring_bitmap_minimum(r_); }
  size_t MemoryBytes() const { return sizeof(roaring_bitmap_t) + roaring_bitmap_portable_size_in_bytes(r_); }

  // f(const uint32_t* rows, size_t n) over the rows in ascending order, in chunks.
  template <typename F>
  void ForEachChunk(F&& f) const {
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r_, &it);
    uint32_t buf[1024];
    while (true) {
      uint32_t n = roaring_read_uint32_iterator(&it, buf, 1024);
      if (n == 0) break;
      f(buf, static_cast<size_t>(n));
    }
  }

  // u64 byte length + roaring's portable serialization.
  void Write(Writer* w) const;
  // Fails on malformed bytes or a row >= rows.
  static bool Read(Reader* r, uint64_t rows, Bitmap* out);

 private:
  roaring_bitmap_t* r_;
};

// --------------------------------------------------------------- keys

enum class KeyKind : uint8_t { kInt = 0, kDouble = 1, kString = 2 };

// Sorted numeric keys.
template <typename T>
class NumKeys {
 public:
  using Value = T;
  static constexpr KeyKind kKind = std::is_same_v<T, int64_t> ? KeyKind::kInt : KeyKind::kDouble;
  size_t size() const { return v_.size(); }
  T operator[](size_t i) const { return v_[i]; }
  void Add(T v) { v_.push_back(v); }
  void Shrink() { v_.shrink_to_fit(); }
  size_t MemoryBytes() const { return v_.capacity() * sizeof(T); }
  void Write(Writer* w) const {
    w->U64(v_.size());
    w->Array(v_.data(), v_.size());
  }
  bool Read(Reader* r) {
    uint64_t n = 0;
    return r->U64(&n) && r->Array(n, &v_);
  }
  static T FromKey(const expr::IndexKey& k) { return std::get<T>(k); }
  static bool IsNan(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    return false;
  }

 private:
  std::vector<T> v_;
};

// Sorted strings packed into one buffer.
class StrKeys {
 public:
  using Value = std::string_view;
  static constexpr KeyKind kKind = KeyKind::kString;
  size_t size() const { return off_.size() - 1; }
  std::string_view operator[](size_t i) const {
    return std::string_view(blob_).substr(off_[i], off_[i + 1] - off_[i]);
  }
  void Add(std::string_view v) {
    blob_.append(v);
    off_.push_back(blob_.size());
  }
  void Shrink() {
    blob_.shrink_to_fit();
    off_.shrink_to_fit();
  }
  size_t MemoryBytes() const { return blob_.capacity() + off_.capacity() * sizeof(uint64_t); }
  void Write(Writer* w) const;
  bool Read(Reader* r);
  static std::string_view FromKey(const expr::IndexKey& k) { return std::get<std::string>(k); }
  static bool IsNan(std::string_view) { return false; }

 private:
  std::string blob_;
  std::vector<uint64_t> off_{0};
};

// First i with !(keys[i] < v), and first i with v < keys[i].
template <typename Keys, typename V>
size_t LowerBound(const Keys& keys, V v) {
  size_t lo = 0, hi = keys.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (keys[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
template <typename Keys, typename V>
size_t UpperBound(const Keys& keys, V v) {
  size_t lo = 0, hi = keys.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v < keys[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// [begin, end) of the sorted keys within a leaf's range (kRange), or empty.
struct Span {
  size_t begin = 0, end = 0;
};
template <typename Keys>
Span RangeSpan(const Keys& keys, const expr::IndexLeaf& leaf) {
  using V = typename Keys::Value;
  Span s{0, keys.size()};
  if (leaf.lo) {
    V v = Keys::FromKey(leaf.lo->key);
    if (Keys::IsNan(v)) return {};
    s.begin = leaf.lo->inclusive ? LowerBound(keys, v) : UpperBound(keys, v);
  }
  if (leaf.hi) {
    V v = Keys::FromKey(leaf.hi->key);
    if (Keys::IsNan(v)) return {};
    s.end = leaf.hi->inclusive ? UpperBound(keys, v) : LowerBound(keys, v);
  }
  if (s.begin >= s.end) return {};
  return s;
}
template <typename Keys>
Span EqualSpan(const Keys& keys, const expr::IndexKey& key) {
  auto v = Keys::FromKey(key);
  if (Keys::IsNan(v)) return {};
  return {LowerBound(keys, v), UpperBound(keys, v)};
}
// Keys starting with `prefix` (sorted strings: one contiguous span).
Span PrefixSpan(const StrKeys& keys, std::string_view prefix);

// --------------------------------------------------------------- output

// Writes `value` at the rows it is given, ignoring rows >= rows.
struct RowSink {
  uint8_t* out;
  uint64_t rows;
  uint8_t value;
  void Add(const uint32_t* p, size_t n) const {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] < rows) out[p[i]] = value;
    }
  }
  // Ascending rows: stops at the first row past the end.
  void AddSorted(const uint32_t* p, size_t n) const {
    for (size_t i = 0; i < n && p[i] < rows; ++i) out[p[i]] = value;
  }
};

// --------------------------------------------------------------- base

enum class IndexKind : uint8_t { kStlSort = 1, kInverted = 2, kBitmap = 3, kTrie = 4 };
enum class Layout : uint8_t { kSortedPairs = 1, kCsr = 2, kBitmaps = 3 };

std::string_view IndexKindName(IndexKind k);
KeyKind KeyKindOf(DataType type, DataType element_type);

struct Meta {
  IndexKind kind = IndexKind::kInverted;
  DataType type = DataType::kNone;
  DataType element_type = DataType::kNone;
  uint64_t rows = 0;
};

// Null rows, NaN rows, validity, the unsupported-leaf checks and the persisted
// frame; subclasses match keys.
class ScalarIndexBase : public ScalarIndex {
 public:
  std::string_view type() const final { return IndexKindName(meta_.kind); }
  DataType data_type() const final { return meta_.type; }
  DataType element_type() const final { return meta_.element_type; }
  int64_t rows() const final { return static_cast<int64_t>(meta_.rows); }
  size_t MemoryBytes() const final;
  bool Supports(const expr::IndexLeaf& leaf) const final;
  bool Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const final;
  bool PreferScan(const expr::IndexLeaf& leaf, int64_t rows) const final;
  Status Serialize(std::string* out) const final;

  const Meta& meta() const { return meta_; }
  const Bitmap& nulls() const { return nulls_; }
  const Bitmap& nans() const { return nans_; }
  void SetCommon(Meta meta, Bitmap nulls, Bitmap nans) {
    meta_ = meta;
    nulls_ = std::move(nulls);
    nans_ = std::move(nans);
  }

  virtual Layout layout() const = 0;
  // Reads the body written by WriteBody and checks it against meta(),
  // nulls() and nans(); false on any damage.
  virtual bool ReadBody(Reader* r) = 0;

 protected:
  // Whether the layout answers `op` at all (key kinds are checked by the base).
  virtual bool SupportsOp(expr::IndexLeaf::Op op) const = 0;
  // Writes sink->value at the rows matching `leaf` (kRange with a bound, kIn,
  // kPrefix, kContainsAny, kContainsAll with keys); null rows never match.
  virtual void Match(const expr::IndexLeaf& leaf, const RowSink& sink) const = 0;
  virtual void WriteBody(Writer* w) const = 0;
  virtual size_t BodyMemoryBytes() const = 0;

  // How many row ids Match(leaf) writes, and whether in ascending order
  // (cheap writes) or scattered.
  struct MatchCost {
    uint64_t emits = 0;
    bool sorted = false;
    double extra_ns = 0;  // work besides writing rows (testing dictionary keys)
  };
  virtual MatchCost EstimateMatch(const expr::IndexLeaf& leaf) const = 0;

  // For a match covering most rows, written as its complement: sets
  // sink.value at every row, then clears null and NaN rows; the caller then
  // clears the non-matching rows it holds. sink.value must be 1.
  void SetAllMatchable(const RowSink& sink) const;
  // The size of a complement written that way for `matched` of `entries` rows.
  uint64_t ComplementEmits(uint64_t matched, uint64_t entries) const {
    return entries - matched + nulls_.Cardinality() + nans_.Cardinality();
  }

 private:
  Meta meta_;
  Bitmap nulls_;  // null rows
  Bitmap nans_;   // non-null rows holding NaN (scalar floating fields)
};

// Checks the row ids a loaded body lists. Scalar fields: together with the
// null and NaN rows they are each row exactly once (a count check first, so a
// damaged row count allocates nothing). Arrays: each is a non-null row.
class RowCheck {
 public:
  // `entries`: how many row ids the body lists in all.
  bool Start(const ScalarIndexBase& index, uint64_t entries);
  bool Mark(const uint32_t* p, size_t n);

 private:
  const ScalarIndexBase* index_ = nullptr;
  bool array_ = false;
  std::vector<uint8_t> seen_;  // scalar fields: one byte per row
};

// --------------------------------------------------------------- builders

std::unique_ptr<ScalarIndexBase> BuildSorted(const Meta& meta, const Column& column);
std::unique_ptr<ScalarIndexBase> BuildPostings(const Meta& meta, const Column& column);
// An empty index of `meta`'s kind and layout, for Load to fill through ReadBody.
std::unique_ptr<ScalarIndexBase> NewSorted(const Meta& meta);
std::unique_ptr<ScalarIndexBase> NewPostings(const Meta& meta);

}  // namespace kite::index::scalar
