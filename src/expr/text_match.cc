// TEXT_MATCH / PHRASE_MATCH evaluation: every row's text is analyzed and
// matched (text/match.h).
#include "expr/plan.h"
#include "text/match.h"

namespace kite::expr::internal {

TextMatchPred::TextMatchPred(FieldId id, std::string name, bool phrase, std::shared_ptr<const text::Analyzer> analyzer,
                             std::string query, int64_t slop, int64_t min_should_match,
                             int64_t max_edit_distance)
    : PredNode(PredKind::kTextMatch),
      id_(id),
      name_(std::move(name)),
      phrase_(phrase),
      analyzer_(std::move(analyzer)),
      query_(std::move(query)),
      slop_(slop),
      min_should_match_(min_should_match),
      max_edit_distance_(max_edit_distance) {
  query_tokens_ = analyzer_->Analyze(query_);
  for (const auto& t : query_tokens_) query_terms_.push_back(t.text);
  if (max_edit_distance_ >= 0) return;  // scanned
  // A leaf a text index (index/scalar/text_index.h) answers on sealed segments.
  IndexLeaf leaf;
  leaf.field = id_;
  leaf.type = DataType::kVarChar;
  leaf.op = phrase_ ? IndexLeaf::Op::kPhraseMatch : IndexLeaf::Op::kTextMatch;
  for (const auto& t : query_tokens_) {
    leaf.keys.emplace_back(t.text);
    leaf.positions.push_back(t.position);
  }
  leaf.slop = slop_;
  leaf.min_should_match = min_should_match_;
  leaf_ = std::move(leaf);
}

Status TextMatchPred::Eval(EvalContext& ctx, BoolVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, DataType::kVarChar, name_));
  const int64_t n = ctx.rows();
  out->value.assign(static_cast<size_t>(n), 0);
  out->valid.clear();
  // Null rows are neither matches nor non-matches (as a text index answers).
  if (!col->valid.empty()) out->valid.assign(col->valid.begin(), col->valid.begin() + n);
  if (query_tokens_.empty()) return Status::OK();
  for (int64_t r = 0; r < n; ++r) {
    if (col->IsNull(r)) continue;
    std::vector<text::Token> doc = analyzer_->Analyze(col->GetBytes(r));
    if (max_edit_distance_ >= 0) {
      out->value[r] = text::FuzzyTermsMatch(doc, query_terms_, max_edit_distance_);
    } else {
      out->value[r] = phrase_ ? text::PhraseMatch(doc, query_tokens_, slop_)
                              : text::TermsMatch(doc, query_terms_, min_should_match_);
    }
  }
  return Status::OK();
}

std::string TextMatchPred::ToString() const {
  std::string q = "'" + query_ + "'";
  if (phrase_) return "phrase_match(" + name_ + ", " + q + ", " + std::to_string(slop_) + ")";
  if (max_edit_distance_ >= 0) {
    return "text_match_fuzzy(" + name_ + ", " + q + ", max_edit_distance=" + std::to_string(max_edit_distance_) + ")";
  }
  return "text_match(" + name_ + ", " + q + ")";
}

}  // namespace kite::expr::internal
