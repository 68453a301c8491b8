#include "text/match.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace kite::text {

bool TermsMatch(const std::vector<Token>& doc, const std::vector<std::string>& query_terms, int64_t min_should_match) {
  if (query_terms.empty()) return false;
  std::set<std::string> want(query_terms.begin(), query_terms.end());
  const int64_t need = std::max<int64_t>(1, min_should_match);
  std::set<std::string> found;
  for (const Token& t : doc) {
    if (want.count(t.text) && found.insert(t.text).second && static_cast<int64_t>(found.size()) >= need) return true;
  }
  return false;
}

bool PhraseMatch(const std::vector<Token>& doc, const std::vector<Token>& query, int64_t slop) {
  if (query.empty()) return false;
  // Positions of each query term in the document.
  std::unordered_map<std::string, std::vector<int64_t>> where;
  for (const Token& q : query) where.emplace(q.text, std::vector<int64_t>{});
  for (const Token& t : doc) {
    auto it = where.find(t.text);
    if (it != where.end()) it->second.push_back(t.position);
  }
  // For query token i, the candidate offsets d = p - q_i; a match is a choice
  // of one offset per token whose spread is <= slop: the smallest window
  // covering one element of every list (a sweep over the merged offsets).
  const size_t k = query.size();
  std::vector<std::pair<int64_t, size_t>> offsets;  // (offset, query token)
  for (size_t i = 0; i < k; ++i) {
    const auto& ps = where[query[i].text];
    if (ps.empty()) return false;
    for (int64_t p : ps) offsets.emplace_back(p - query[i].position, i);
  }
  std::sort(offsets.begin(), offsets.end());
  std::vector<int64_t> count(k, 0);
  size_t covered = 0;
  size_t lo = 0;
  for (size_t hi = 0; hi < offsets.size(); ++hi) {
    if (count[offsets[hi].second]++ == 0) ++covered;
    while (covered == k) {
      if (offsets[hi].first - offsets[lo].first <= slop) return true;
      if (--count[offsets[lo].second] == 0) --covered;
      ++lo;
    }
  }
  return false;
}

}  // namespace kite::text
