#include "index/scalar/text_index.h"

#include <algorithm>
#include <unordered_map>

#include "text/match.h"

namespace kite::index {
namespace {

using Op = expr::IndexLeaf::Op;

class TextIndex final : public ScalarIndex {
 public:
  TextIndex(const Column& column, const text::Analyzer& analyzer) : rows_(column.num_rows) {
    valid_ = column.valid;
    // token -> (row, position) in row order, then packed.
    std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> acc;
    for (int64_t r = 0; r < column.num_rows; ++r) {
      if (column.IsNull(r)) continue;
      for (const auto& t : analyzer.Analyze(column.GetBytes(r))) {
        acc[t.text].emplace_back(static_cast<uint32_t>(r), static_cast<uint32_t>(t.position));
      }
    }
    terms_.reserve(acc.size());
    for (auto& [term, occ] : acc) {
      Postings p;
      for (const auto& [row, pos] : occ) {
        if (p.rows.empty() || p.rows.back() != row) {
          p.rows.push_back(row);
          p.offsets.push_back(static_cast<uint32_t>(p.positions.size()));
        }
        p.positions.push_back(pos);
      }
      p.offsets.push_back(static_cast<uint32_t>(p.positions.size()));
      bytes_ += p.rows.size() * 8 + p.positions.size() * 4 + term.size();
      terms_.emplace(term, std::move(p));
    }
  }

  std::string_view type() const override { return "TEXT"; }
  DataType data_type() const override { return DataType::kVarChar; }
  DataType element_type() const override { return DataType::kNone; }
  int64_t rows() const override { return rows_; }
  size_t MemoryBytes() const override { return sizeof(*this) + bytes_ + valid_.size(); }
  bool Supports(const expr::IndexLeaf& leaf) const override {
    return (leaf.op == Op::kTextMatch || leaf.op == Op::kPhraseMatch) &&
           std::all_of(leaf.keys.begin(), leaf.keys.end(),
                       [](const expr::IndexKey& k) { return std::holds_alternative<std::string>(k); }) &&
           (leaf.op == Op::kTextMatch || leaf.positions.size() == leaf.keys.size());
  }
  bool PreferScan(const expr::IndexLeaf&, int64_t) const override { return false; }
  Status Serialize(std::string*) const override {
    return MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "text indexes are rebuilt at load, not persisted");
  }

  bool Search(const expr::IndexLeaf& leaf, int64_t rows, expr::LeafResult* out) const override {
    if (rows < 0 || rows > rows_ || !Supports(leaf)) return false;
    const auto n = static_cast<size_t>(rows);
    out->value.assign(n, 0);
    out->valid.clear();
    if (!valid_.empty()) out->valid.assign(valid_.begin(), valid_.begin() + static_cast<std::ptrdiff_t>(n));
    if (leaf.keys.empty()) return true;
    std::vector<const Postings*> lists;
    std::vector<std::string> distinct;
    for (const auto& k : leaf.keys) {
      const std::string& term = std::get<std::string>(k);
      if (std::find(distinct.begin(), distinct.end(), term) != distinct.end()) continue;
      distinct.push_back(term);
      auto it = terms_.find(term);
      lists.push_back(it == terms_.end() ? nullptr : &it->second);
    }
    if (leaf.op == Op::kTextMatch) {
      const int64_t need = std::max<int64_t>(1, leaf.min_should_match);
      std::vector<uint16_t> count(n, 0);
      for (const Postings* p : lists) {
        if (!p) continue;
        for (uint32_t r : p->rows) {
          if (r < n && ++count[r] == need) out->value[r] = 1;
        }
      }
      return true;
    }
    // Phrase: rows holding every term, then the positions.
    for (const Postings* p : lists) {
      if (!p) return true;
    }
    std::vector<uint16_t> count(n, 0);
    for (const Postings* p : lists) {
      for (uint32_t r : p->rows) {
        if (r < n) ++count[r];
      }
    }
    std::vector<text::Token> query;
    for (size_t i = 0; i < leaf.keys.size(); ++i) {
      query.push_back(text::Token{std::get<std::string>(leaf.keys[i]), 0, 0, leaf.positions[i], 1});
    }
    const Postings& first = *lists[0];
    std::vector<text::Token> doc;
    for (uint32_t r : first.rows) {
      if (r >= n || count[r] != lists.size()) continue;
      doc.clear();
      for (size_t i = 0; i < lists.size(); ++i) {
        const Postings& p = *lists[i];
        auto it = std::lower_bound(p.rows.begin(), p.rows.end(), r);
        const size_t j = static_cast<size_t>(it - p.rows.begin());
        for (uint32_t k = p.offsets[j]; k < p.offsets[j + 1]; ++k) {
          doc.push_back(text::Token{distinct[i], 0, 0, p.positions[k], 1});
        }
      }
      out->value[r] = text::PhraseMatch(doc, query, leaf.slop) ? 1 : 0;
    }
    return true;
  }

 private:
  struct Postings {
    std::vector<uint32_t> rows;       // ascending
    std::vector<uint32_t> offsets;    // rows.size() + 1, into positions
    std::vector<uint32_t> positions;  // ascending within a row
  };
  int64_t rows_;
  std::vector<uint8_t> valid_;
  std::unordered_map<std::string, Postings> terms_;
  size_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<ScalarIndex> BuildTextIndex(const Column& column, const text::Analyzer& analyzer) {
  return std::make_unique<TextIndex>(column, analyzer);
}

}  // namespace kite::index
