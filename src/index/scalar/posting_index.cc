// INVERTED, BITMAP and Trie: a sorted dictionary of distinct keys, each with
// the rows holding it. INVERTED and Trie keep the rows of all keys in one
// array ordered by (key, row) with per-key offsets (a key range is one
// contiguous span); BITMAP keeps one roaring bitmap per key.
#include <algorithm>

#include "index/scalar/extract.h"
#include "index/scalar/scalar_index_internal.h"

namespace kite::index::scalar {
namespace {

using Op = expr::IndexLeaf::Op;

// Rows per key as offsets into one row array.
class CsrPostings {
 public:
  static constexpr Layout kLayout = Layout::kCsr;

  void Begin(size_t keys) { off_.reserve(keys + 1); }
  void AddKey(std::vector<uint32_t>* rows) {
    rows_.insert(rows_.end(), rows->begin(), rows->end());
    off_.push_back(rows_.size());
  }
  void Finish() {
    off_.shrink_to_fit();
    rows_.shrink_to_fit();
  }
  size_t Count(size_t k) const { return off_[k + 1] - off_[k]; }
  uint64_t Count(Span s) const { return s.begin < s.end ? off_[s.end] - off_[s.begin] : 0; }
  uint64_t Total() const { return rows_.size(); }
  static constexpr bool kSpansContiguous = true;
  // The rows of keys outside `s`, written with sink.value.
  void EmitOutside(Span s, const RowSink& sink) const {
    if (s.begin >= s.end) {
      sink.Add(rows_.data(), rows_.size());
      return;
    }
    sink.Add(rows_.data(), off_[s.begin]);
    sink.Add(rows_.data() + off_[s.end], rows_.size() - off_[s.end]);
  }

  void Emit(Span s, const RowSink& sink) const {
    if (s.begin >= s.end) return;
    const uint32_t* p = rows_.data() + off_[s.begin];
    size_t n = off_[s.end] - off_[s.begin];
    if (s.end - s.begin == 1) {
      sink.AddSorted(p, n);
    } else {
      sink.Add(p, n);
    }
  }

  // Rows holding every key of `ks` (distinct key indexes).
  void EmitAll(std::vector<size_t> ks, const RowSink& sink) const {
    std::sort(ks.begin(), ks.end(), [&](size_t a, size_t b) { return Count(a) < Count(b); });
    std::vector<uint32_t> acc(rows_.begin() + off_[ks[0]], rows_.begin() + off_[ks[0] + 1]);
    std::vector<uint32_t> next;
    for (size_t i = 1; i < ks.size() && !acc.empty(); ++i) {
      next.clear();
      std::set_intersection(acc.begin(), acc.end(), rows_.begin() + off_[ks[i]], rows_.begin() + off_[ks[i] + 1],
                            std::back_inserter(next));
      acc.swap(next);
    }
    sink.AddSorted(acc.data(), acc.size());
  }

  size_t MemoryBytes() const { return off_.capacity() * sizeof(uint64_t) + rows_.capacity() * sizeof(uint32_t); }

  void Write(Writer* w) const {
    w->U64(rows_.size());
    w->Array(off_.data() + 1, off_.size() - 1);
    w->Array(rows_.data(), rows_.size());
  }

  // Each key's rows non-empty and strictly ascending, and passing RowCheck.
  bool Read(Reader* r, size_t keys, const ScalarIndexBase& index) {
    uint64_t total = 0;
    std::vector<uint64_t> ends;
    if (!r->U64(&total) || !r->Array(keys, &ends) || !r->Array(total, &rows_)) return false;
    off_.assign(1, 0);
    off_.insert(off_.end(), ends.begin(), ends.end());
    if (off_.back() != total) return false;
    for (size_t k = 0; k < keys; ++k) {
      if (off_[k + 1] <= off_[k]) return false;
      for (uint64_t i = off_[k] + 1; i < off_[k + 1]; ++i) {
        if (rows_[i] <= rows_[i - 1]) return false;
      }
    }
    RowCheck check;
    return check.Start(index, rows_.size()) && check.Mark(rows_.data(), rows_.size());
  }

 private:
  std::vector<uint64_t> off_{0};
  std::vector<uint32_t> rows_;
};

// One roaring bitmap per key.
class BitmapPostings {
 public:
  static constexpr Layout kLayout = Layout::kBitmaps;

  static constexpr bool kSpansContiguous = false;
  uint64_t Count(Span s) const {
    uint64_t n = 0;
    for (size_t k = s.begin; k < s.end; ++k) n += maps_[k].Cardinality();
    return n;
  }
  uint64_t Total() const { return total_; }
  void EmitOutside(Span, const RowSink&) const {}  // unused: kSpansContiguous is false

  void Begin(size_t keys) { maps_.reserve(keys); }
  void AddKey(std::vector<uint32_t>* rows) {
    maps_.push_back(Bitmap::Of(*rows));
    total_ += rows->size();
  }
  void Finish() { maps_.shrink_to_fit(); }

  void Emit(Span s, const RowSink& sink) const {
    for (size_t k = s.begin; k < s.end; ++k) {
      maps_[k].ForEachChunk([&](const uint32_t* p, size_t n) { sink.AddSorted(p, n); });
    }
  }

  void EmitAll(std::vector<size_t> ks, const RowSink& sink) const {
    if (ks.size() == 1) {
      Emit({ks[0], ks[0] + 1}, sink);
      return;
    }
    Bitmap acc(roaring_bitmap_and(maps_[ks[0]].get(), maps_[ks[1]].get()));
    for (size_t i = 2; i < ks.size() && !acc.Empty(); ++i) {
      roaring_bitmap_and_inplace(acc.mutable_get(), maps_[ks[i]].get());
    }
    acc.ForEachChunk([&](const uint32_t* p, size_t n) { sink.AddSorted(p, n); });
  }

  size_t MemoryBytes() const {
    size_t b = maps_.capacity() * sizeof(Bitmap);
    for (const Bitmap& m : maps_) b += m.MemoryBytes();
    return b;
  }

  void Write(Writer* w) const {
    for (const Bitmap& m : maps_) m.Write(w);
  }

  bool Read(Reader* r, size_t keys, const ScalarIndexBase& index) {
    maps_.clear();
    maps_.reserve(std::min<size_t>(keys, r->remaining()));
    uint64_t entries = 0;
    for (size_t k = 0; k < keys; ++k) {
      Bitmap m;
      if (!Bitmap::Read(r, index.meta().rows, &m) || m.Empty()) return false;
      entries += m.Cardinality();
      maps_.push_back(std::move(m));
    }
    total_ = entries;
    RowCheck check;
    if (!check.Start(index, entries)) return false;
    bool ok = true;
    for (const Bitmap& m : maps_) {
      m.ForEachChunk([&](const uint32_t* p, size_t n) { ok = ok && check.Mark(p, n); });
    }
    return ok;
  }

 private:
  std::vector<Bitmap> maps_;
  uint64_t total_ = 0;  // rows listed in all
};

template <typename Keys, typename Postings>
class PostingIndex final : public ScalarIndexBase {
 public:
  template <typename V>
  void Fill(Entries<V> e) {
    const auto& items = e.items;
    std::vector<uint32_t> rows;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && items[i - 1].first < items[i].first) {
        postings_.AddKey(&rows);
        rows.clear();
      }
      if (rows.empty()) keys_.Add(items[i].first);
      rows.push_back(items[i].second);
    }
    if (!rows.empty()) postings_.AddKey(&rows);
    keys_.Shrink();
    postings_.Finish();
    SetCommon(meta(), std::move(e.nulls), std::move(e.nans));
  }

  Layout layout() const override { return Postings::kLayout; }

  bool ReadBody(Reader* r) override {
    if (!keys_.Read(r)) return false;
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (Keys::IsNan(keys_[i]) || (i > 0 && !(keys_[i - 1] < keys_[i]))) return false;
    }
    return postings_.Read(r, keys_.size(), *this);
  }

 protected:
  bool SupportsOp(Op op) const override {
    if (meta().type == DataType::kArray) return op == Op::kContainsAny || op == Op::kContainsAll;
    if (op == Op::kPrefix || op == Op::kMatch) return Keys::kKind == KeyKind::kString;
    return op == Op::kRange || op == Op::kIn;
  }

  void Match(const expr::IndexLeaf& leaf, const RowSink& sink) const override {
    switch (leaf.op) {
      case Op::kRange: {
        Span s = RangeSpan(keys_, leaf);
        if constexpr (Postings::kSpansContiguous) {
          uint64_t total = postings_.Total();
          if (sink.value == 1 && 2 * postings_.Count(s) > total) {
            SetAllMatchable(sink);
            postings_.EmitOutside(s, RowSink{sink.out, sink.rows, 0});
            return;
          }
        }
        postings_.Emit(s, sink);
        return;
      }
      case Op::kPrefix:
        if constexpr (std::is_same_v<Keys, StrKeys>) {
          postings_.Emit(PrefixSpan(keys_, std::get<std::string>(leaf.keys[0])), sink);
        }
        return;
      case Op::kMatch:
        if constexpr (std::is_same_v<Keys, StrKeys>) {
          // Runs of consecutive matching keys, one span each.
          size_t begin = 0;
          for (size_t k = 0; k <= keys_.size(); ++k) {
            if (k < keys_.size() && leaf.match(keys_[k])) continue;
            if (begin < k) postings_.Emit({begin, k}, sink);
            begin = k + 1;
          }
        }
        return;
      case Op::kContainsAll: {
        std::vector<size_t> ks;
        for (const expr::IndexKey& k : leaf.keys) {
          Span s = EqualSpan(keys_, k);
          if (s.begin >= s.end) return;  // a missing value: no row holds them all
          ks.push_back(s.begin);
        }
        std::sort(ks.begin(), ks.end());
        ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
        postings_.EmitAll(std::move(ks), sink);
        return;
      }
      default:  // kIn, kContainsAny
        for (const expr::IndexKey& k : leaf.keys) postings_.Emit(EqualSpan(keys_, k), sink);
        return;
    }
  }

  MatchCost EstimateMatch(const expr::IndexLeaf& leaf) const override {
    MatchCost c;
    switch (leaf.op) {
      case Op::kRange: {
        Span s = RangeSpan(keys_, leaf);
        c.emits = postings_.Count(s);
        c.sorted = s.end - s.begin <= 1;
        if (Postings::kSpansContiguous && 2 * c.emits > postings_.Total()) {
          c.emits = ComplementEmits(c.emits, postings_.Total());
        }
        return c;
      }
      case Op::kPrefix:
        if constexpr (std::is_same_v<Keys, StrKeys>) {
          Span s = PrefixSpan(keys_, std::get<std::string>(leaf.keys[0]));
          c.emits = postings_.Count(s);
          c.sorted = s.end - s.begin <= 1;
        }
        return c;
      case Op::kMatch:
        // Unknown before testing the keys: say half the rows, scattered.
        c.emits = postings_.Total() / 2;
        c.extra_ns = 15.0 * static_cast<double>(keys_.size());
        return c;
      case Op::kContainsAll: {
        c.sorted = true;
        c.emits = UINT64_MAX;
        for (const expr::IndexKey& k : leaf.keys) c.emits = std::min(c.emits, postings_.Count(EqualSpan(keys_, k)));
        if (leaf.keys.empty()) c.emits = 0;
        return c;
      }
      default:
        c.sorted = leaf.keys.size() <= 1;
        for (const expr::IndexKey& k : leaf.keys) c.emits += postings_.Count(EqualSpan(keys_, k));
        return c;
    }
  }

  void WriteBody(Writer* w) const override {
    keys_.Write(w);
    postings_.Write(w);
  }

  size_t BodyMemoryBytes() const override { return keys_.MemoryBytes() + postings_.MemoryBytes(); }

 private:
  Keys keys_;  // distinct, ascending
  Postings postings_;
};

template <typename Postings>
std::unique_ptr<ScalarIndexBase> NewOf(const Meta& meta) {
  std::unique_ptr<ScalarIndexBase> idx;
  switch (KeyKindOf(meta.type, meta.element_type)) {
    case KeyKind::kInt: idx = std::make_unique<PostingIndex<NumKeys<int64_t>, Postings>>(); break;
    case KeyKind::kDouble: idx = std::make_unique<PostingIndex<NumKeys<double>, Postings>>(); break;
    case KeyKind::kString: idx = std::make_unique<PostingIndex<StrKeys, Postings>>(); break;
  }
  idx->SetCommon(meta, Bitmap(), Bitmap());
  return idx;
}

template <typename Keys, typename V, typename Postings>
std::unique_ptr<ScalarIndexBase> BuildOf(const Meta& meta, const Column& column) {
  auto idx = std::make_unique<PostingIndex<Keys, Postings>>();
  idx->SetCommon(meta, Bitmap(), Bitmap());
  idx->Fill(ExtractEntries<V>(column));
  return idx;
}

template <typename Postings>
std::unique_ptr<ScalarIndexBase> BuildWith(const Meta& meta, const Column& column) {
  switch (KeyKindOf(meta.type, meta.element_type)) {
    case KeyKind::kInt: return BuildOf<NumKeys<int64_t>, int64_t, Postings>(meta, column);
    case KeyKind::kDouble: return BuildOf<NumKeys<double>, double, Postings>(meta, column);
    case KeyKind::kString: break;
  }
  return BuildOf<StrKeys, std::string_view, Postings>(meta, column);
}

}  // namespace

std::unique_ptr<ScalarIndexBase> NewPostings(const Meta& meta) {
  if (meta.kind == IndexKind::kBitmap) return NewOf<BitmapPostings>(meta);
  return NewOf<CsrPostings>(meta);
}

std::unique_ptr<ScalarIndexBase> BuildPostings(const Meta& meta, const Column& column) {
  if (meta.kind == IndexKind::kBitmap) return BuildWith<BitmapPostings>(meta, column);
  return BuildWith<CsrPostings>(meta, column);
}

}  // namespace kite::index::scalar
