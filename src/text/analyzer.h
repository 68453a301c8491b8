// Analyzer: turns text into tokens, as Milvus 2.6 analyzers do (full-text
// search, TEXT_MATCH / PHRASE_MATCH, run_analyzer).
//
// An analyzer is one tokenizer followed by filters, described by the
// `analyzer_params` JSON of a VARCHAR field (Milvus's format):
//   {"type": "standard" | "english" | "chinese", "stop_words": [...]}   built-in
//   {"tokenizer": "standard" | "whitespace" | "icu" | "jieba" | {"type": ..., ...}
//                 | {"type": "char_group", "delimiters": ["-", "whitespace", ...]},
//    "filter": ["lowercase", "asciifolding", "alphanumonly", "cnalphanumonly",
//               "cncharonly", "removepunct",
//               {"type": "length", "max": N},
//               {"type": "stop", "stop_words": [...], "stop_words_file": <file>},
//               {"type": "stemmer", "language": "english"},
//               {"type": "decompounder", "word_list": [...], "word_list_file": <file>},
//               {"type": "regex", "expr": "..."},
//               {"type": "synonym", "synonyms": ["a, b", "c => d"], "synonyms_file": <file>,
//                "expand": true}]}
// A <file> is {"type": "local", "path": "/path/on/every/node"} (one entry per
// line); {"type": "remote", ...} names a file resource, which Kite has none of
// (refused with Milvus's "not found in local resource list").
// Empty params ("" or {}) are the `standard` analyzer. Errors carry Milvus's
// messages (its analyzers live in tantivy-binding/src/analyzer).
//
// Behaviour, matching Milvus's:
//  - `standard` tokenizer: maximal runs of alphanumeric code points (Unicode
//    Alphabetic or Numeric), so "dog's" is "dog", "s"; with {"uax29": true},
//    Unicode word segmentation (ICU's word BreakIterator), keeping segments that
//    hold a letter, digit or emoji, cut into `max_token_length` (255) code points.
//  - `whitespace`: runs of non-White_Space code points.
//  - `char_group`: maximal runs of code points that are neither a `delimiters`
//    character nor in a named group listed there (whitespace, letter, digit,
//    punctuation, symbol, ascii_whitespace, ascii_letter, ascii_digit,
//    ascii_punctuation; Rust's char classes, digit being ASCII 0-9).
//  - `icu`: every segment of ICU's word BreakIterator (dictionary-based for
//    Chinese, Japanese, Thai...), spaces and punctuation included; positions
//    count code points.
//  - `jieba` (and the `chinese` built-in): Debian has no jieba, so Chinese is
//    segmented with ICU's dictionary word break and non-word segments dropped;
//    word boundaries can differ from jieba's.
//  - filters as tantivy's: lowercase (Unicode), asciifolding (ICU's
//    Latin-ASCII transliteration), alphanumonly (ASCII letters/digits only),
//    cnalphanumonly / cncharonly (token contains a Han char or ASCII
//    letter/digit / a Han char), length (drops tokens of more than `max` bytes),
//    stop (exact match; "_english_" etc. expand to built-in lists), stemmer
//    (Snowball, libstemmer), decompounder (splits a token wholly made of
//    dictionary words, longest match first), regex (keeps tokens in which ICU's
//    regex engine finds the expression), synonym (Milvus's rule syntax, inline
//    and from `synonyms_file`). Dictionary files are read when the analyzer is
//    built (analyzers are cached per params text: edit a file, restart).
//  Removed tokens keep their positions' gaps (phrase matching relies on them).
//
// Thread-safety: an Analyzer is immutable after Build and may be used from any
// number of threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kite::text {

struct Token {
  std::string text;
  int64_t start_offset = 0;  // bytes into the input
  int64_t end_offset = 0;
  int64_t position = 0;
  int64_t position_length = 1;
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual std::vector<Token> Analyze(std::string_view text) const = 0;
  // Only the token texts (what BM25 and text match index).
  std::vector<std::string> Terms(std::string_view text) const;
};

// Builds the analyzer `params_json` describes (Milvus's analyzer_params).
Result<std::unique_ptr<Analyzer>> BuildAnalyzer(std::string_view params_json);

// As BuildAnalyzer, from a process-wide cache keyed by the params text (the
// analyzers of a collection's fields are built once). Thread-safe.
Result<std::shared_ptr<const Analyzer>> SharedAnalyzer(const std::string& params_json);

// Multi-language analyzers: a VARCHAR field's `multi_analyzer_params`
//   {"by_field": "<VARCHAR field naming each row's analyzer>",
//    "analyzers": {"<name>": <analyzer_params>, ..., "default": <analyzer_params>},
//    "alias": {"<value>": "<name>", ...}}                      (alias optional)
// A row (or a BM25 query, by its `analyzer_name`) is analyzed by the analyzer
// its name selects: the alias first, then the analyzers by name, else
// "default" (also for an empty or null name), as Milvus's
// MultiAnalyzerBM25FunctionRunner does. Immutable once built, thread-safe.
class MultiAnalyzer {
 public:
  const std::string& by_field() const { return by_field_; }
  const Analyzer& For(std::string_view name) const;

  // Checks `params_json` with Milvus's validateMultiAnalyzerParams messages
  // (in its order) and builds every analyzer. `check_by_field(name, raw)`
  // checks the by_field against the collection (raw: its JSON text, which
  // Milvus quotes in one message); null: not checked.
  static Result<std::unique_ptr<MultiAnalyzer>> Build(
      std::string_view params_json,
      const std::function<Status(const std::string& name, const std::string& raw)>& check_by_field);

 private:
  std::string by_field_;
  std::map<std::string, std::shared_ptr<const Analyzer>, std::less<>> analyzers_;
  std::map<std::string, std::string, std::less<>> alias_;
};

// As MultiAnalyzer::Build without the by_field check, cached per params text
// (the params were checked against the collection when it was created).
Result<std::shared_ptr<const MultiAnalyzer>> SharedMultiAnalyzer(const std::string& params_json);

// The sparse-vector dimension of a term: CRC-32 (IEEE) of its first 100
// bytes, modulo 2^32 - 1 (Milvus's typeutil.HashString2LessUint32).
uint32_t TermHash(std::string_view term);

}  // namespace kite::text
