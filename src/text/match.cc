#include "text/match.h"

#include <algorithm>
#include <cstdlib>
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

namespace {

// UTF-8 to code points (an invalid byte stands for itself).
std::u32string CodePoints(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (len == 1 || i + len > s.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp = c & (0xFF >> (len + 1));
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

}  // namespace

int64_t BoundedEditDistance(const std::u32string& a, const std::u32string& b, int64_t limit) {
  const int64_t n = static_cast<int64_t>(a.size()), m = static_cast<int64_t>(b.size());
  if (std::abs(n - m) > limit) return limit + 1;
  // Three rows of the dynamic programme: i-2, i-1, i.
  std::vector<int64_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (int64_t j = 0; j <= m; ++j) prev[j] = j;
  for (int64_t i = 1; i <= n; ++i) {
    cur[0] = i;
    int64_t row_min = cur[0];
    for (int64_t j = 1; j <= m; ++j) {
      const int64_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

bool FuzzyTermsMatch(const std::vector<Token>& doc, const std::vector<std::string>& query_terms, int64_t max_edits) {
  if (query_terms.empty()) return false;
  std::vector<std::u32string> want;
  for (const auto& q : query_terms) want.push_back(CodePoints(q));
  for (const Token& t : doc) {
    const std::u32string term = CodePoints(t.text);
    for (const auto& q : want) {
      if (BoundedEditDistance(term, q, max_edits) <= max_edits) return true;
    }
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
