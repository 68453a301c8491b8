// Token matching behind TEXT_MATCH and PHRASE_MATCH (Milvus filter functions),
// over analyzer output (analyzer.h).
//
// TEXT_MATCH(field, 'q'): a row matches when at least `min_should_match`
// (default 1) distinct query terms occur among its tokens.
// PHRASE_MATCH(field, 'q', slop): the query tokens occur at positions p_i
// such that, with q_i the query token's own position, the spread
// max(p_i - q_i) - min(p_i - q_i) is at most `slop` (Lucene's sloppy phrase
// distance, which Milvus's docs describe: slop 0 = adjacent and in order;
// slop 1 lets one word in between; slop 2 also matches two terms swapped).
// TEXT_MATCH_FUZZY(field, 'q', max_edit_distance=k): a row matches when one
// of its tokens is within k edits of a query term, an edit being the
// insertion, deletion or substitution of one code point or the swap of two
// adjacent ones (optimal string alignment distance, as Tantivy's fuzzy term
// query with transpositions counted once, which Milvus uses).
// A query with no tokens matches nothing.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/analyzer.h"

namespace kite::text {

bool TermsMatch(const std::vector<Token>& doc, const std::vector<std::string>& query_terms, int64_t min_should_match);

bool PhraseMatch(const std::vector<Token>& doc, const std::vector<Token>& query, int64_t slop);

bool FuzzyTermsMatch(const std::vector<Token>& doc, const std::vector<std::string>& query_terms, int64_t max_edits);

// The optimal string alignment distance between a and b in code points, or
// any value above `limit` once it exceeds `limit`.
int64_t BoundedEditDistance(const std::u32string& a, const std::u32string& b, int64_t limit);

}  // namespace kite::text
