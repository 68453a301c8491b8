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

}  // namespace kite::text
