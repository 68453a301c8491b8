// TextIndex: the inverted index behind TEXT_MATCH / PHRASE_MATCH on a sealed
// segment's VARCHAR field with enable_match (Milvus builds a tantivy index of
// the analyzed tokens; this is Kite's).
//
// Built once from the column with the field's analyzer: for every token, the
// rows holding it and, per row, its positions (CSR arrays). Answers only
// kTextMatch (rows holding at least min_should_match distinct query terms)
// and kPhraseMatch (rows holding every query term, then the positions checked
// with text::PhraseMatch), exactly as analyzing each row would: the same
// analyzer, the same match functions. Null rows are invalid. Kept in memory
// only (rebuilt at load; Serialize refuses).
// Immutable after Build; thread-safe for concurrent Search.
#pragma once

#include <memory>

#include "index/scalar/scalar_index.h"
#include "text/analyzer.h"

namespace kite::index {

std::unique_ptr<ScalarIndex> BuildTextIndex(const Column& column, const text::Analyzer& analyzer);

}  // namespace kite::index
