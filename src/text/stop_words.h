// Built-in stop word lists of the `stop` filter (Milvus's analyzer
// `stop_words`: "_danish_", "_dutch_", ..., "_chinese_" besides "_english_", which
// analyzer.cc keeps as Milvus ships it).
//
// The lists are the Snowball project's stop word lists, which Milvus's
// tantivy binding embeds too. Kite does not type them: at configure time
// cmake/StopWords.cmake reads them from the copies PostgreSQL ships
// (Debian package postgresql-15, /usr/share/postgresql/15/tsearch_data/
// <language>.stop, taken from Snowball; BSD-3-Clause, Copyright (c) 2001 Dr
// Martin Porter and contributors) into a generated source file; "_chinese_"
// from the Chinese list of the stopwords-iso collection (PyPI package
// stopwordsiso, MIT), as PostgreSQL ships none. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kite::text {

// The words of a built-in list named as Milvus names it ("_german_"), or
// nullptr when `name` names none ("_english_" included: see analyzer.cc).
const std::vector<std::string>* BuiltInStopWords(std::string_view name);

}  // namespace kite::text
