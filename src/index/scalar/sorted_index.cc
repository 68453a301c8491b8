// STL_SORT: every non-null, non-NaN row's value with its row id, sorted by
// (value, row). A range is two binary searches and one contiguous span of
// row ids; `in` one equal-range per value. Numbers and (Milvus 2.6) VarChar
// strings, compared bytewise as Milvus compares them.
#include "index/scalar/extract.h"
#include "index/scalar/scalar_index_internal.h"

namespace kite::index::scalar {
namespace {

template <typename Keys>
class SortedIndex final : public ScalarIndexBase {
 public:
  using T = typename Keys::Value;

  void Fill(Entries<T> e) {
    for (const auto& [v, r] : e.items) {
      values_.Add(v);
      rows_.push_back(r);
    }
    values_.Shrink();
    rows_.shrink_to_fit();
    SetCommon(meta(), std::move(e.nulls), std::move(e.nans));
  }

  Layout layout() const override { return Layout::kSortedPairs; }

  bool ReadBody(Reader* r) override {
    uint64_t n = 0;
    if (!values_.Read(r) || !r->U64(&n) || n != values_.size() || !r->Array(n, &rows_)) return false;
    for (size_t i = 0; i < values_.size(); ++i) {
      if (Keys::IsNan(values_[i]) || (i > 0 && values_[i] < values_[i - 1])) return false;
    }
    RowCheck check;
    return check.Start(*this, rows_.size()) && check.Mark(rows_.data(), rows_.size());
  }

 protected:
  bool SupportsOp(expr::IndexLeaf::Op op) const override {
    return op == expr::IndexLeaf::Op::kRange || op == expr::IndexLeaf::Op::kIn;
  }

  void Match(const expr::IndexLeaf& leaf, const RowSink& sink) const override {
    if (leaf.op == expr::IndexLeaf::Op::kRange) {
      Span s = RangeSpan(values_, leaf);
      if (UseComplement(s, sink)) {
        SetAllMatchable(sink);
        RowSink clear{sink.out, sink.rows, 0};
        Emit({0, s.begin}, clear);
        Emit({s.end, rows_.size()}, clear);
        return;
      }
      Emit(s, sink);
      return;
    }
    for (const expr::IndexKey& k : leaf.keys) Emit(EqualSpan(values_, k), sink);
  }

  MatchCost EstimateMatch(const expr::IndexLeaf& leaf) const override {
    MatchCost c;
    if (leaf.op == expr::IndexLeaf::Op::kRange) {
      Span s = RangeSpan(values_, leaf);
      c.emits = s.end - s.begin;
      if (2 * c.emits > rows_.size()) c.emits = ComplementEmits(c.emits, rows_.size());
      return c;
    }
    for (const expr::IndexKey& k : leaf.keys) {
      Span s = EqualSpan(values_, k);
      c.emits += s.end - s.begin;
    }
    return c;
  }

  void WriteBody(Writer* w) const override {
    values_.Write(w);
    w->U64(rows_.size());
    w->Array(rows_.data(), rows_.size());
  }

  size_t BodyMemoryBytes() const override { return values_.MemoryBytes() + rows_.capacity() * sizeof(uint32_t); }

 private:
  // A range matching most entries is cheaper written as its complement.
  bool UseComplement(Span s, const RowSink& sink) const {
    return sink.value == 1 && 2 * (s.end - s.begin) > rows_.size();
  }

  void Emit(Span s, const RowSink& sink) const {
    if (s.begin < s.end) sink.Add(rows_.data() + s.begin, s.end - s.begin);
  }

  Keys values_;
  std::vector<uint32_t> rows_;  // parallel to values_
};

}  // namespace

std::unique_ptr<ScalarIndexBase> NewSorted(const Meta& meta) {
  std::unique_ptr<ScalarIndexBase> idx;
  switch (KeyKindOf(meta.type, meta.element_type)) {
    case KeyKind::kDouble: idx = std::make_unique<SortedIndex<NumKeys<double>>>(); break;
    case KeyKind::kString: idx = std::make_unique<SortedIndex<StrKeys>>(); break;
    default: idx = std::make_unique<SortedIndex<NumKeys<int64_t>>>(); break;
  }
  idx->SetCommon(meta, Bitmap(), Bitmap());
  return idx;
}

namespace {
template <typename Keys>
std::unique_ptr<ScalarIndexBase> BuildSortedOf(const Meta& meta, const Column& column) {
  auto idx = std::make_unique<SortedIndex<Keys>>();
  idx->SetCommon(meta, Bitmap(), Bitmap());
  idx->Fill(ExtractEntries<typename Keys::Value>(column));
  return idx;
}
}  // namespace

std::unique_ptr<ScalarIndexBase> BuildSorted(const Meta& meta, const Column& column) {
  switch (KeyKindOf(meta.type, meta.element_type)) {
    case KeyKind::kDouble: return BuildSortedOf<NumKeys<double>>(meta, column);
    case KeyKind::kString: return BuildSortedOf<StrKeys>(meta, column);
    default: return BuildSortedOf<NumKeys<int64_t>>(meta, column);
  }
}

}  // namespace kite::index::scalar
