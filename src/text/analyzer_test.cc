#include "text/analyzer.h"
#include "text/stop_words.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace kite::text {
namespace {

std::vector<std::string> Terms(const std::string& params, const std::string& text) {
  auto a = BuildAnalyzer(params);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return {};
  return (*a)->Terms(text);
}

std::string ErrorOf(const std::string& params) {
  auto a = BuildAnalyzer(params);
  EXPECT_FALSE(a.ok()) << params;
  return a.ok() ? "" : a.status().message();
}

using V = std::vector<std::string>;

TEST(Analyzer, StandardSplitsOnNonAlphanumericAndLowercases) {
  EXPECT_EQ(Terms("", "The 2 QUICK Brown-Foxes dog's 32.3"), (V{"the", "2", "quick", "brown", "foxes", "dog", "s", "32", "3"}));
  EXPECT_EQ(Terms(R"({"type":"standard"})", "Straße ÉCLAIR"), (V{"straße", "éclair"}));
  // Han characters are Alphabetic: a run of them is one token.
  EXPECT_EQ(Terms("{}", "中文 abc"), (V{"中文", "abc"}));
}

TEST(Analyzer, StandardStopWordsExpandEnglishList) {
  EXPECT_EQ(Terms(R"({"type":"standard","stop_words":["_english_","fox"]})", "The quick fox is in the house"),
            (V{"quick", "house"}));
}

TEST(Analyzer, StopWordsExpandSnowballLanguageLists) {
  // Milvus 2.6's built-in lists besides _english_ (Snowball's, text/stop_words.h).
  EXPECT_EQ(Terms(R"({"type":"standard","stop_words":["_german_"]})", "Der Hund und die Katze"), (V{"hund", "katze"}));
  EXPECT_EQ(Terms(R"({"type":"standard","stop_words":["_french_","_spanish_"]})", "Le chat et el perro y la casa"),
            (V{"chat", "perro", "casa"}));
  // Any other _name_ is a literal word, as in Milvus.
  EXPECT_EQ(Terms(R"({"type":"standard","stop_words":["_klingon_","der"]})", "der Hund"), (V{"hund"}));
  ASSERT_NE(text::BuiltInStopWords("_russian_"), nullptr);
  EXPECT_EQ(text::BuiltInStopWords("_english_"), nullptr);  // analyzer.cc keeps Milvus's own English list
  ASSERT_NE(text::BuiltInStopWords("_chinese_"), nullptr);  // stopwords-iso's list (text/stop_words.h)
  EXPECT_EQ(text::BuiltInStopWords("_klingon_"), nullptr);
}

TEST(Analyzer, EnglishStemsThenDropsStopWords) {
  // Snowball English (Porter2): running -> run, runners -> runner, quickly -> quick, ponies -> poni.
  EXPECT_EQ(Terms(R"({"type":"english"})", "The runners were running quickly past the ponies"),
            (V{"runner", "were", "run", "quick", "past", "poni"}));
}

TEST(Analyzer, PositionsKeepGapsOfRemovedTokens) {
  auto a = BuildAnalyzer(R"({"type":"english"})");
  ASSERT_TRUE(a.ok());
  auto toks = (*a)->Analyze("the cat and the dog");
  ASSERT_EQ(toks.size(), 2u);
  EXPECT_EQ(toks[0].text, "cat");
  EXPECT_EQ(toks[0].position, 1);
  EXPECT_EQ(toks[0].start_offset, 4);
  EXPECT_EQ(toks[0].end_offset, 7);
  EXPECT_EQ(toks[1].text, "dog");
  EXPECT_EQ(toks[1].position, 4);
}

TEST(Analyzer, WhitespaceTokenizerAndFilters) {
  EXPECT_EQ(Terms(R"({"tokenizer":"whitespace"})", "Hello, World!  x"), (V{"Hello,", "World!", "x"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"whitespace","filter":["lowercase","alphanumonly"]})", "Hello, World x1"),
            (V{"world", "x1"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"standard","filter":[{"type":"length","max":3}]})", "a abc abcd"), (V{"a", "abc"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"standard","filter":["asciifolding","lowercase"]})", "Café Naïve Ærø"),
            (V{"cafe", "naive", "aero"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"standard","filter":[{"type":"stemmer","language":"English"}]})", "jumping"),
            (V{"jump"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"whitespace","filter":["cnalphanumonly"]})", "中文 abc ,,, ！"), (V{"中文", "abc"}));
  EXPECT_EQ(Terms(R"({"tokenizer":"whitespace","filter":["cncharonly"]})", "中文 abc"), (V{"中文"}));
}

TEST(Analyzer, DecompounderSplitsWholeCompoundsOnly) {
  const std::string p =
      R"({"tokenizer":"standard","filter":[{"type":"decompounder","word_list":["dampf","schiff","fahrt"]}]})";
  EXPECT_EQ(Terms(p, "dampfschifffahrt dampfer"), (V{"dampf", "schiff", "fahrt", "dampfer"}));
}

TEST(Analyzer, IcuTokenizerKeepsEverySegment) {
  auto a = BuildAnalyzer(R"({"tokenizer":"icu"})");
  ASSERT_TRUE(a.ok());
  auto toks = (*a)->Analyze("hi, 中文");
  std::vector<std::string> texts;
  for (auto& t : toks) texts.push_back(t.text);
  EXPECT_EQ(texts.front(), "hi");
  EXPECT_EQ(texts[1], ",");
  EXPECT_EQ(texts[2], " ");
  // Positions count code points.
  EXPECT_EQ(toks[3].position, 4);
}

TEST(Analyzer, ChineseUsesDictionarySegmentation) {
  auto terms = Terms(R"({"type":"chinese"})", "我们是中国人, hello!");
  // Punctuation and spaces are dropped; the Latin word survives; the Han text
  // is cut into more than one word.
  ASSERT_FALSE(terms.empty());
  EXPECT_EQ(terms.back(), "hello");
  EXPECT_GT(terms.size(), 2u);
  for (auto& t : terms) EXPECT_EQ(t.find(','), std::string::npos);
}

TEST(Analyzer, Uax29StandardKeepsContractionsAndNumbers) {
  EXPECT_EQ(Terms(R"({"tokenizer":{"type":"standard","uax29":true}})", "O'Reilly can't jump 32.3 feet"),
            (V{"O'Reilly", "can't", "jump", "32.3", "feet"}));
  EXPECT_EQ(Terms(R"({"tokenizer":{"type":"standard","uax29":true,"max_token_length":5}})", "jumped"),
            (V{"jumpe", "d"}));
}

TEST(Analyzer, BadParamsGiveMilvusMessages) {
  EXPECT_EQ(ErrorOf(R"({"type":"nope"})"), "unknown build-in analyzer type: nope");
  EXPECT_EQ(ErrorOf(R"({"type":1})"), "analyzer type shoud be string");
  EXPECT_EQ(ErrorOf(R"({"filter":["lowercase"]})"), "tokenizer name or type must be set");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":1})"), "tokenizer name should be string or dict");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"nope"})"), "unsupported tokenizer: nope");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":{}})"), "costum tokenizer must set type");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","x":1})"), "unknown analyzer option key: x");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":"lowercase"})"), "filter params should be array");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":["nope"]})"), "build analyzer failed, filter not found :nope");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"max":3}]})"), "no type field in filter params");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"zz"}]})"), "unsupport filter type: zz");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"length","max":-1}]})"),
            "lenth max param was none or not uint");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"stop","stop_words":"a"}]})"),
            "stop_words should be array");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"stemmer","language":"klingon"}]})"),
            "create stemmer failed : unsupport language: klingon");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"decompounder"}]})"),
            "decompounder word list is empty");
  EXPECT_EQ(ErrorOf(R"({"tokenizer":"standard","filter":[{"type":"decompounder","word_list":"a"}]})"),
            "decompounder word list should be array");
  EXPECT_EQ(ErrorOf(R"([1])"), "params should be a json map");
  EXPECT_EQ(ErrorOf(R"({"type":"english","stop_words":[1]})"), "filter stop_words list item should be string");
}

TEST(Analyzer, TermHashIsCrc32OfFirst100Bytes) {
  EXPECT_EQ(TermHash("hello"), 0x3610a686u);  // the well-known CRC-32 of "hello"
  std::string long_a(150, 'a'), long_b = std::string(100, 'a') + std::string(50, 'b');
  EXPECT_EQ(TermHash(long_a), TermHash(long_b));
  EXPECT_NE(TermHash("hello"), TermHash("world"));
}

}  // namespace
TEST(Analyzer, RegexFilterKeepsTokensWhereTheExpressionIsFound) {
  EXPECT_EQ(Terms(R"j({"tokenizer":"whitespace","filter":[{"type":"regex","expr":"^(?!test)"}]})j",
                  "test milvus testing retest"),
            (V{"milvus", "retest"}));
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":"standard","filter":[{"type":"regex"}]})j"), "must set expr for regex filter");
}

TEST(Analyzer, SynonymFilterExpandsOrNormalizes) {
  const char* expand =
      R"j({"tokenizer":"whitespace","filter":[{"type":"synonym","synonyms":["fast, quick => speedy","a, b, c"]}]})j";
  EXPECT_EQ(Terms(expand, "fast b x"), (V{"fast", "speedy", "a", "b", "c", "x"}));
  const char* normalize =
      R"j({"tokenizer":"whitespace","filter":[{"type":"synonym","expand":false,"synonyms":["fast => speedy","a, b, c"]}]})j";
  EXPECT_EQ(Terms(normalize, "fast b x a"), (V{"speedy", "a", "x", "a"}));
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":"standard","filter":[{"type":"synonym","synonyms":["a b"]}]})j"),
            "read synonym dict failed, has space between words a b, please use \\ to escape space");
}

TEST(MultiAnalyzer, PicksByAliasThenNameElseDefault) {
  auto m = MultiAnalyzer::Build(
      R"j({"by_field":"lang","analyzers":{"en":{"type":"english"},"default":{"tokenizer":"whitespace"}},
          "alias":{"english":"en"}})j",
      nullptr);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->by_field(), "lang");
  EXPECT_EQ((*m)->For("en").Terms("Running dogs"), (V{"run", "dog"}));
  EXPECT_EQ((*m)->For("english").Terms("Running dogs"), (V{"run", "dog"}));
  EXPECT_EQ((*m)->For("").Terms("Running dogs"), (V{"Running", "dogs"}));
  EXPECT_EQ((*m)->For("fr").Terms("Running dogs"), (V{"Running", "dogs"}));
  auto no_default = MultiAnalyzer::Build(R"j({"by_field":"lang","analyzers":{"en":{"type":"english"}}})j", nullptr);
  ASSERT_FALSE(no_default.ok());
  EXPECT_EQ(no_default.status().message(), "multi analyzer must set default analyzer for all unknown value");
}

TEST(Analyzer, CharGroupSplitsOnCharsAndNamedGroups) {
  // Milvus's own example: "o", punctuation and digits are delimiters.
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":["o","punctuation","digit"]}})j",
                  "testotest,test1test"),
            (V{"test", "test", "test", "test"}));
  // A multi-byte character is one delimiter; runs of delimiters give no empty tokens.
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":["，","whitespace"]}})j", "a，b  c，，d"),
            (V{"a", "b", "c", "d"}));
  // letter = Unicode Alphabetic; digit = ASCII digits only (Arabic-Indic digits stay).
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":["letter"]}})j", "ab12é٣4x"), (V{"12", "٣4"}));
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":["symbol","ascii_whitespace"]}})j",
                  "1+1=2 $5\u00a0ok"),
            (V{"1", "1", "2", "5\u00a0ok"}));
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":["ascii_punctuation"]}})j", "a-b_c。d"),
            (V{"a", "b", "c。d"}));
  // No delimiters: the whole text is one token; filters run after it.
  EXPECT_EQ(Terms(R"j({"tokenizer":{"type":"char_group","delimiters":[]},"filter":["lowercase"]})j", "Ab C"),
            (V{"ab c"}));
  auto a = BuildAnalyzer(R"j({"tokenizer":{"type":"char_group","delimiters":["-"]}})j");
  ASSERT_TRUE(a.ok());
  auto tokens = (*a)->Analyze("ab-cd");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].start_offset, 3);
  EXPECT_EQ(tokens[1].end_offset, 5);
  EXPECT_EQ(tokens[1].position, 1);
}

TEST(Analyzer, CharGroupParamErrorsAreMilvus) {
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":{"type":"char_group"}})j"), "char group tokenizer delimiters can't be empty");
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":"char_group"})j"), "char group tokenizer delimiters can't be empty");
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":{"type":"char_group","delimiters":"-"}})j"),
            "char group tokenizer delimiters must be a vector");
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":{"type":"char_group","delimiters":[1]}})j"),
            "char group tokenizer delimiter in delimiters must be string");
  EXPECT_EQ(ErrorOf(R"j({"tokenizer":{"type":"char_group","delimiters":["ab"]}})j"),
            "ab not a char or name of build-in char group");
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Analyzer, DictionaryFilesAreReadFromLocalPaths) {
  const std::string syn = WriteTemp("kite_syn.txt", "distance, range\r\nquick => fast\n\n");
  const std::string stop = WriteTemp("kite_stop.txt", "the\nof\n");
  const std::string words = WriteTemp("kite_words.txt", "bank\nnote\n");
  auto params = [](const std::string& filter) {
    return R"j({"tokenizer":"whitespace","filter":[)j" + filter + "]}";
  };
  EXPECT_EQ(Terms(params(R"j({"type":"synonym","synonyms_file":{"type":"local","path":")j" + syn + R"j("}})j"),
                  "quick range x"),
            (V{"fast", "quick", "distance", "range", "x"}));
  EXPECT_EQ(Terms(params(R"j({"type":"stop","stop_words":["a"],"stop_words_file":{"type":"local","path":")j" + stop +
                         R"j("}})j"),
                  "a tale of the city"),
            (V{"tale", "city"}));
  EXPECT_EQ(Terms(params(R"j({"type":"decompounder","word_list_file":{"type":"local","path":")j" + words + R"j("}})j"),
                  "banknote"),
            (V{"bank", "note"}));
  // Milvus's messages.
  EXPECT_EQ(ErrorOf(params(R"j({"type":"synonym","synonyms_file":{"type":"local","path":"/nonexistent/kite.txt"}})j")),
            "IOError: No such file or directory (os error 2)");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"stop","stop_words_file":{"type":"local","path":"/"}})j")),
            "read stop words dict file failed, error: Is a directory (os error 21)");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"stop","stop_words_file":"x"})j")),
            "file config of stop words dict file must be object");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"stop","stop_words_file":{}})j")),
            "file type of stop words dict file must be set");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"stop","stop_words_file":{"type":1}})j")),
            "file type of stop words dict file must be string");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"synonym","synonyms_file":{"type":"local"}})j")),
            "file path of local file `synonyms dict file` must be set");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"synonym","synonyms_file":{"type":"local","path":3}})j")),
            "file path of local file `synonyms dict file` must be string");
  EXPECT_EQ(ErrorOf(params(
                R"j({"type":"decompounder","word_list_file":{"type":"remote","resource_name":"r","file_name":"f"}})j")),
            "file resource: r not found in local resource list");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"decompounder","word_list_file":{"type":"remote"}})j")),
            "resource name of remote file `decompounder word list file` must be set");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"decompounder","word_list_file":{"type":"s3"}})j")),
            "unsupported file type s3 of decompounder word list file");
  const std::string bad = WriteTemp("kite_bad.txt", "ok\n\xff\xfe\n");
  EXPECT_EQ(ErrorOf(params(R"j({"type":"synonym","synonyms_file":{"type":"local","path":")j" + bad + R"j("}})j")),
            "read synonyms dict file failed, error: stream did not contain valid UTF-8");
}

}  // namespace kite::text
