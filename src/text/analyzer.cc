#include "text/analyzer.h"
#include "text/stop_words.h"

#include <libstemmer.h>
#include <unicode/brkiter.h>
#include <unicode/regex.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uscript.h>
#include <unicode/locid.h>
#include <unicode/utf8.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace kite::text {
namespace {

using json = nlohmann::json;

// ---- code points

// Decodes the code point at byte i of s (advancing i); invalid bytes decode to U+FFFD.
UChar32 NextCodePoint(std::string_view s, int32_t* i) {
  UChar32 c;
  U8_NEXT(reinterpret_cast<const uint8_t*>(s.data()), *i, static_cast<int32_t>(s.size()), c);
  return c < 0 ? 0xFFFD : c;
}

// Rust's char::is_alphanumeric: Alphabetic, or general category Nd / Nl / No.
bool IsAlphanumeric(UChar32 c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
  int8_t t = u_charType(c);
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool IsWhiteSpace(UChar32 c) { return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE); }

bool IsEmoji(UChar32 c) {
  return u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC) || u_hasBinaryProperty(c, UCHAR_EMOJI_PRESENTATION) ||
         u_hasBinaryProperty(c, UCHAR_REGIONAL_INDICATOR) || c == 0x20E3;
}

bool IsHan(UChar32 c) {
  UErrorCode err = U_ZERO_ERROR;
  return uscript_getScript(c, &err) == USCRIPT_HAN;
}

bool IsAsciiAlnum(UChar32 c) {
  return c < 0x80 && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

template <typename Pred>
bool AnyCodePoint(std::string_view s, Pred pred) {
  for (int32_t i = 0; i < static_cast<int32_t>(s.size());) {
    if (pred(NextCodePoint(s, &i))) return true;
  }
  return false;
}

int64_t CountCodePoints(std::string_view s) {
  int64_t n = 0;
  for (int32_t i = 0; i < static_cast<int32_t>(s.size());) {
    NextCodePoint(s, &i);
    ++n;
  }
  return n;
}

// ---- tokenizers

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual void Tokenize(std::string_view text, std::vector<Token>* out) const = 0;
};

// Maximal runs of code points for which `keep` holds.
template <typename Pred>
void RunsOf(std::string_view text, Pred keep, std::vector<Token>* out) {
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(text.size());
  int64_t position = 0;
  while (i < n) {
    int32_t start = i;
    UChar32 c = NextCodePoint(text, &i);
    if (!keep(c)) continue;
    int32_t end = i;
    while (i < n) {
      int32_t before = i;
      if (!keep(NextCodePoint(text, &i))) {
        i = before;
        break;
      }
      end = i;
    }
    out->push_back(Token{std::string(text.substr(start, end - start)), start, end, position++, 1});
  }
}

class AlphanumericTokenizer final : public Tokenizer {
 public:
  void Tokenize(std::string_view text, std::vector<Token>* out) const override { RunsOf(text, IsAlphanumeric, out); }
};

class WhitespaceTokenizer final : public Tokenizer {
 public:
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    RunsOf(text, [](UChar32 c) { return !IsWhiteSpace(c); }, out);
  }
};

// Calls fn(start_byte, end_byte, rule_status) for each segment of ICU's word
// break iteration of `text` (root locale; dictionaries for CJK and Thai).
void ForEachWordSegment(std::string_view text, const std::function<void(int32_t, int32_t, int32_t)>& fn) {
  UErrorCode err = U_ZERO_ERROR;
  // A BreakIterator is not thread-safe; one per thread, reused.
  thread_local std::unique_ptr<icu::BreakIterator> it(
      icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), err));
  if (!it) return;
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  it->setText(u);
  // Map UTF-16 indices back to UTF-8 byte offsets.
  std::vector<int32_t> byte_at(static_cast<size_t>(u.length()) + 1, 0);
  {
    int32_t b = 0, k = 0;
    while (b < static_cast<int32_t>(text.size())) {
      UChar32 c = NextCodePoint(text, &b);
      int32_t units = U16_LENGTH(c);
      for (int32_t j = 0; j < units && k + j < u.length(); ++j) byte_at[k + j + 1] = b;
      k += units;
    }
    for (int32_t j = 1; j <= u.length(); ++j) byte_at[j] = std::max(byte_at[j], byte_at[j - 1]);
  }
  int32_t start = it->first();
  for (int32_t end = it->next(); end != icu::BreakIterator::DONE; start = end, end = it->next()) {
    fn(byte_at[start], byte_at[end], it->getRuleStatus());
  }
}

// Milvus `icu` tokenizer: every segment (spaces and punctuation too);
// positions and lengths count code points.
class IcuTokenizer final : public Tokenizer {
 public:
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    int64_t position = 0;
    ForEachWordSegment(text, [&](int32_t s, int32_t e, int32_t) {
      if (e <= s) return;
      std::string_view piece = text.substr(s, e - s);
      int64_t chars = CountCodePoints(piece);
      out->push_back(Token{std::string(piece), s, e, position, chars});
      position += chars;
    });
  }
};

// Unicode word segmentation keeping word-like segments (a letter, digit or
// emoji), each cut into pieces of at most `max_len` code points.
class Uax29Tokenizer final : public Tokenizer {
 public:
  explicit Uax29Tokenizer(int64_t max_len) : max_len_(max_len) {}
  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    int64_t position = 0;
    ForEachWordSegment(text, [&](int32_t s, int32_t e, int32_t) {
      std::string_view seg = text.substr(s, e - s);
      if (!AnyCodePoint(seg, [](UChar32 c) { return IsAlphanumeric(c) || IsEmoji(c); })) return;
      int32_t i = 0;
      while (i < static_cast<int32_t>(seg.size())) {
        int32_t from = i;
        for (int64_t k = 0; k < max_len_ && i < static_cast<int32_t>(seg.size()); ++k) NextCodePoint(seg, &i);
        out->push_back(Token{std::string(seg.substr(from, i - from)), s + from, s + i, position++, 1});
      }
    });
  }

 private:
  int64_t max_len_;
};

// Chinese word segmentation (stands in for jieba): ICU's dictionary word
// break, every non-space segment a token. Words of a jieba `dict` are kept
// whole: at each byte the longest such word starting there is one token, and
// the text between them is segmented by ICU.
class ChineseTokenizer final : public Tokenizer {
 public:
  explicit ChineseTokenizer(std::vector<std::string> words = {}) : words_(std::move(words)) {
    std::sort(words_.begin(), words_.end(), [](const std::string& a, const std::string& b) {
      return a.size() > b.size();  // longest first
    });
  }

  // Milvus's jieba tokenizer parameters (tantivy-binding jieba_tokenizer.rs):
  // `dict` an array of strings with at most one system dict (`_default_` or
  // `_extend_default_`), `mode` "exact" or "search", `hmm` a boolean; other
  // keys are ignored. Kite segments the same way in both modes and either hmm.
  static Result<std::unique_ptr<Tokenizer>> Build(const json* params) {
    std::vector<std::string> words;
    if (params == nullptr) return std::unique_ptr<Tokenizer>(std::make_unique<ChineseTokenizer>());
    if (auto d = params->find("dict"); d != params->end()) {
      if (!d->is_array()) return InvalidArgument("jieba tokenizer dict must be array");
      bool system_dict = false;
      for (const auto& w : *d) {
        if (!w.is_string()) return InvalidArgument("jieba tokenizer dict item must be string");
        const std::string text = w.get<std::string>();
        if (text == "_default_" || text == "_extend_default_") {
          if (system_dict) return InvalidArgument("jieba tokenizer dict can only set one default dict");
          system_dict = true;
        } else if (!text.empty()) {
          words.push_back(text);
        }
      }
    }
    if (auto m = params->find("mode"); m != params->end()) {
      if (!m->is_string()) return InvalidArgument("jieba tokenizer mode must be string");
      const std::string mode = m->get<std::string>();
      if (mode != "exact" && mode != "search") {
        return InvalidArgument("jieba tokenizer mode must be \"exact\" or \"search\"");
      }
    }
    if (auto h = params->find("hmm"); h != params->end() && !h->is_boolean()) {
      return InvalidArgument("jieba tokenizer mode must be boolean");
    }
    return std::unique_ptr<Tokenizer>(std::make_unique<ChineseTokenizer>(std::move(words)));
  }

  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    int64_t position = 0;
    size_t run = 0;  // start of the text not yet tokenized
    for (size_t i = 0; i < text.size();) {
      const std::string* word = nullptr;
      for (const auto& w : words_) {
        if (text.compare(i, w.size(), w) == 0) {
          word = &w;
          break;
        }
      }
      if (word == nullptr) {
        ++i;
        continue;
      }
      Segment(text, run, i, &position, out);
      out->push_back(Token{*word, static_cast<int64_t>(i), static_cast<int64_t>(i + word->size()), position++, 1});
      i += word->size();
      run = i;
    }
    Segment(text, run, text.size(), &position, out);
  }

 private:
  // ICU's segments of text[from, to), offsets into `text`.
  static void Segment(std::string_view text, size_t from, size_t to, int64_t* position, std::vector<Token>* out) {
    if (from >= to) return;
    std::string_view part = text.substr(from, to - from);
    const auto base = static_cast<int32_t>(from);
    ForEachWordSegment(part, [&](int32_t s, int32_t e, int32_t) {
      std::string_view seg = part.substr(s, e - s);
      if (seg.empty() || !AnyCodePoint(seg, [](UChar32 c) { return !IsWhiteSpace(c); })) return;
      out->push_back(Token{std::string(seg), base + s, base + e, (*position)++, 1});
    });
  }

  std::vector<std::string> words_;  // longest first
};

// Milvus `char_group` tokenizer: tokens are the maximal runs of code points
// that are neither one of the `delimiters` characters nor in one of the named
// groups listed there (Rust's char classes: whitespace = White_Space, letter
// = Alphabetic, digit = ASCII 0-9, punctuation = P*, symbol = S*, and their
// ascii_* forms). Byte offsets; positions count tokens.
class CharGroupTokenizer final : public Tokenizer {
 public:
  enum Group : uint32_t {
    kWhitespace = 1, kLetter = 2, kDigit = 4, kPunctuation = 8, kSymbol = 16,
    kAsciiWhitespace = 32, kAsciiLetter = 64, kAsciiDigit = 128, kAsciiPunctuation = 256,
  };

  static Result<std::unique_ptr<Tokenizer>> Build(const json* params) {
    auto out = std::make_unique<CharGroupTokenizer>();
    const json* d = nullptr;
    if (params) {
      if (auto it = params->find("delimiters"); it != params->end()) d = &*it;
    }
    if (!d) return InvalidArgument("char group tokenizer delimiters can't be empty");
    if (!d->is_array()) return InvalidArgument("char group tokenizer delimiters must be a vector");
    static const std::map<std::string, uint32_t> kGroups = {
        {"whitespace", kWhitespace},          {"letter", kLetter},
        {"digit", kDigit},                    {"punctuation", kPunctuation},
        {"symbol", kSymbol},                  {"ascii_whitespace", kAsciiWhitespace},
        {"ascii_letter", kAsciiLetter},       {"ascii_digit", kAsciiDigit},
        {"ascii_punctuation", kAsciiPunctuation}};
    for (const auto& v : *d) {
      if (!v.is_string()) return InvalidArgument("char group tokenizer delimiter in delimiters must be string");
      const std::string s = v.get<std::string>();
      if (CountCodePoints(s) == 1) {
        int32_t i = 0;
        out->chars_.insert(NextCodePoint(s, &i));
        continue;
      }
      auto g = kGroups.find(s);
      if (g == kGroups.end()) return InvalidArgument("{} not a char or name of build-in char group", s);
      out->groups_ |= g->second;
    }
    return std::unique_ptr<Tokenizer>(std::move(out));
  }

  void Tokenize(std::string_view text, std::vector<Token>* out) const override {
    RunsOf(text, [this](UChar32 c) { return !IsDelimiter(c); }, out);
  }

 private:
  bool IsDelimiter(UChar32 c) const {
    if (chars_.count(c)) return true;
    if (!groups_) return false;
    const int8_t t = u_charType(c);
    const bool ascii = c < 0x80;
    if ((groups_ & kWhitespace) && IsWhiteSpace(c)) return true;
    if ((groups_ & kLetter) && u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
    if ((groups_ & (kDigit | kAsciiDigit)) && c >= '0' && c <= '9') return true;
    if ((groups_ & kPunctuation) &&
        (t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION ||
         t == U_END_PUNCTUATION || t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION ||
         t == U_OTHER_PUNCTUATION)) {
      return true;
    }
    if ((groups_ & kSymbol) &&
        (t == U_MATH_SYMBOL || t == U_CURRENCY_SYMBOL || t == U_MODIFIER_SYMBOL || t == U_OTHER_SYMBOL)) {
      return true;
    }
    if ((groups_ & kAsciiWhitespace) && (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r')) return true;
    if ((groups_ & kAsciiLetter) && ascii && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return true;
    if ((groups_ & kAsciiPunctuation) && ascii && c > 0x20 && c < 0x7f && !IsAsciiAlnum(c)) return true;
    return false;
  }

  std::unordered_set<UChar32> chars_;
  uint32_t groups_ = 0;
};

// ---- dictionary files (stop_words_file, word_list_file, synonyms_file)

// Resolves a file parameter as Milvus's get_resource_path does:
// {"type": "local", "path": "..."} is a path on this machine (every node that
// analyzes text must have it); {"type": "remote", "resource_name": ...,
// "file_name": ...} names a registered file resource, which Kite has none of.
// `key` names the file in the messages ("stop words dict file", ...).
Result<std::string> ResourcePath(const json& v, const std::string& key) {
  if (!v.is_object()) return InvalidArgument("file config of {} must be object", key);
  auto type = v.find("type");
  if (type == v.end()) return InvalidArgument("file type of {} must be set", key);
  if (!type->is_string()) return InvalidArgument("file type of {} must be string", key);
  const std::string t = type->get<std::string>();
  if (t == "local") {
    auto path = v.find("path");
    if (path == v.end()) return InvalidArgument("file path of local file `{}` must be set", key);
    if (!path->is_string()) return InvalidArgument("file path of local file `{}` must be string", key);
    return path->get<std::string>();
  }
  if (t == "remote") {
    auto name = v.find("resource_name");
    if (name == v.end()) return InvalidArgument("resource name of remote file `{}` must be set", key);
    if (!name->is_string()) {
      return InvalidArgument("remote file resource name of remote file `{}` must be string", key);
    }
    auto file = v.find("file_name");
    if (file == v.end()) return InvalidArgument("file name of remote file `{}` must be set", key);
    if (!file->is_string()) return InvalidArgument("remote file resource name of {} must be string", key);
    return InvalidArgument("file resource: {} not found in local resource list", name->get<std::string>());
  }
  return InvalidArgument("unsupported file type {} of {}", t, key);
}

// Rust's io::Error text for an OS error ("No such file or directory (os error 2)").
std::string OsErrorText(int err) { return fmt::format("{} (os error {})", std::strerror(err), err); }

// The lines of the file `v` names (without their "\n" / "\r\n"), as Rust's
// BufRead::lines reads them. Errors as Milvus's: an unopenable file is an
// IOError; an unreadable line is "read <key> failed, error: ...".
Result<std::vector<std::string>> ReadLineFile(const json& v, const std::string& key) {
  KITE_ASSIGN_OR_RETURN(std::string path, ResourcePath(v, key));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return InvalidArgument("IOError: {}", OsErrorText(errno));
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::fclose(f);
    return InvalidArgument("read {} failed, error: {}", key, OsErrorText(EISDIR));
  }
  std::string data;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) data.append(buf, n);
  const bool failed = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (failed) return InvalidArgument("read {} failed, error: {}", key, OsErrorText(err));
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    size_t next = end == std::string::npos ? data.size() : end + 1;
    if (end == std::string::npos) end = data.size();
    std::string line = data.substr(start, end - start);
    if (end < data.size() && !line.empty() && line.back() == '\r') line.pop_back();
    for (int32_t i = 0; i < static_cast<int32_t>(line.size());) {
      UChar32 c;
      U8_NEXT(reinterpret_cast<const uint8_t*>(line.data()), i, static_cast<int32_t>(line.size()), c);
      if (c < 0) return InvalidArgument("read {} failed, error: stream did not contain valid UTF-8", key);
    }
    lines.push_back(std::move(line));
    start = next;
  }
  return lines;
}

// ---- filters

class Filter {
 public:
  virtual ~Filter() = default;
  // Rewrites `tokens` in place (may drop or split tokens).
  virtual void Apply(std::vector<Token>* tokens) const = 0;
};

template <typename Pred>
void KeepIf(std::vector<Token>* tokens, Pred keep) {
  tokens->erase(std::remove_if(tokens->begin(), tokens->end(), [&](const Token& t) { return !keep(t); }),
                tokens->end());
}

class LowercaseFilter final : public Filter {
 public:
  void Apply(std::vector<Token>* tokens) const override {
    for (Token& t : *tokens) {
      bool ascii = std::all_of(t.text.begin(), t.text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
      if (ascii) {
        for (char& c : t.text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else {
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(t.text);
        u.toLower(icu::Locale::getRoot());
        std::string s;
        u.toUTF8String(s);
        t.text = std::move(s);
      }
    }
  }
};

class AsciiFoldingFilter final : public Filter {
 public:
  void Apply(std::vector<Token>* tokens) const override {
    thread_local std::unique_ptr<icu::Transliterator> tr = [] {
      UErrorCode err = U_ZERO_ERROR;
      return std::unique_ptr<icu::Transliterator>(
          icu::Transliterator::createInstance("Latin-ASCII", UTRANS_FORWARD, err));
    }();
    if (!tr) return;
    for (Token& t : *tokens) {
      if (std::all_of(t.text.begin(), t.text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        continue;
      }
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(t.text);
      tr->transliterate(u);
      std::string s;
      u.toUTF8String(s);
      t.text = std::move(s);
    }
  }
};

class PredicateFilter final : public Filter {
 public:
  explicit PredicateFilter(std::function<bool(const std::string&)> keep) : keep_(std::move(keep)) {}
  void Apply(std::vector<Token>* tokens) const override {
    KeepIf(tokens, [&](const Token& t) { return keep_(t.text); });
  }

 private:
  std::function<bool(const std::string&)> keep_;
};

class StopFilter final : public Filter {
 public:
  explicit StopFilter(std::vector<std::string> words) : words_(words.begin(), words.end()) {}
  void Apply(std::vector<Token>* tokens) const override {
    KeepIf(tokens, [&](const Token& t) { return !words_.count(t.text); });
  }

 private:
  std::unordered_set<std::string> words_;
};

class StemmerFilter final : public Filter {
 public:
  explicit StemmerFilter(std::string algorithm) : algorithm_(std::move(algorithm)) {}
  void Apply(std::vector<Token>* tokens) const override {
    // sb_stemmer keeps state per call: one per thread and language.
    struct Free {
      void operator()(sb_stemmer* s) const { sb_stemmer_delete(s); }
    };
    thread_local std::map<std::string, std::unique_ptr<sb_stemmer, Free>> stemmers;
    auto& st = stemmers[algorithm_];
    if (!st) st.reset(sb_stemmer_new(algorithm_.c_str(), "UTF_8"));
    if (!st) return;
    for (Token& t : *tokens) {
      const sb_symbol* out =
          sb_stemmer_stem(st.get(), reinterpret_cast<const sb_symbol*>(t.text.data()), static_cast<int>(t.text.size()));
      if (out) t.text.assign(reinterpret_cast<const char*>(out), static_cast<size_t>(sb_stemmer_length(st.get())));
    }
  }

 private:
  std::string algorithm_;
};

// Splits a token into dictionary words when the whole token is a sequence of
// them (longest word first at each point); otherwise keeps it.
class DecompounderFilter final : public Filter {
 public:
  explicit DecompounderFilter(std::vector<std::string> words) : words_(words.begin(), words.end()) {
    for (const auto& w : words_) max_len_ = std::max(max_len_, w.size());
  }
  void Apply(std::vector<Token>* tokens) const override {
    std::vector<Token> out;
    for (Token& t : *tokens) {
      std::vector<std::string> parts;
      size_t pos = 0;
      bool whole = !t.text.empty();
      while (pos < t.text.size()) {
        size_t best = 0;
        for (size_t len = std::min(max_len_, t.text.size() - pos); len > 0; --len) {
          if (words_.count(t.text.substr(pos, len))) {
            best = len;
            break;
          }
        }
        if (best == 0) {
          whole = false;
          break;
        }
        parts.push_back(t.text.substr(pos, best));
        pos += best;
      }
      if (!whole || parts.empty()) {
        out.push_back(std::move(t));
        continue;
      }
      for (auto& p : parts) {
        Token piece = t;
        piece.text = std::move(p);
        out.push_back(std::move(piece));
      }
    }
    *tokens = std::move(out);
  }

 private:
  std::set<std::string> words_;
  size_t max_len_ = 0;
};

// Keeps the tokens in which the regular expression finds a match (Milvus's
// regex filter: an unanchored search; ICU's regex engine, which has the
// look-around forms Milvus's fancy_regex accepts).
class RegexFilter final : public Filter {
 public:
  explicit RegexFilter(std::unique_ptr<icu::RegexPattern> pattern) : pattern_(std::move(pattern)) {}
  void Apply(std::vector<Token>* tokens) const override {
    UErrorCode err = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> m(pattern_->matcher(err));
    if (U_FAILURE(err) || !m) return;
    KeepIf(tokens, [&](const Token& t) {
      icu::UnicodeString u = icu::UnicodeString::fromUTF8(t.text);
      UErrorCode e = U_ZERO_ERROR;
      m->reset(u);
      bool found = m->find(0, e);
      return U_FAILURE(e) || found;  // as Milvus: an evaluation error keeps the token
    });
  }

 private:
  std::unique_ptr<icu::RegexPattern> pattern_;  // immutable; matchers are per call
};

// Milvus's synonym filter: rules "a, b, c" (equivalent words) and
// "a, b => x, y" (rewrites); with `expand` (default true) the original token is
// kept and every synonym emitted at its position, else it is replaced by the
// rule's target (a group's first word). "\" escapes ',', ' ', '\\' and "=>".
class SynonymFilter final : public Filter {
 public:
  static Result<std::unique_ptr<SynonymFilter>> Build(const json& p) {
    auto f = std::make_unique<SynonymFilter>();
    bool expand = true;
    if (auto it = p.find("expand"); it != p.end()) {
      if (!it->is_boolean()) return InvalidArgument("create synonym filter failed, `expand` must be bool");
      expand = it->get<bool>();
    }
    if (auto it = p.find("synonyms"); it != p.end()) {
      if (!it->is_array()) return InvalidArgument("create synonym filter failed, `synonyms` must be array");
      for (const auto& row : *it) {
        if (!row.is_string()) {
          return InvalidArgument("create synonym filter failed, item in `synonyms` must be string");
        }
        KITE_RETURN_IF_ERROR(f->AddRow(row.get<std::string>(), expand));
      }
    }
    if (auto it = p.find("synonyms_file"); it != p.end()) {
      KITE_ASSIGN_OR_RETURN(auto rows, ReadLineFile(*it, "synonyms dict file"));
      for (const auto& row : rows) KITE_RETURN_IF_ERROR(f->AddRow(row, expand));
    }
    return f;
  }

  void Apply(std::vector<Token>* tokens) const override {
    std::vector<Token> out;
    out.reserve(tokens->size());
    for (Token& t : *tokens) {
      auto it = dict_.find(t.text);
      if (it == dict_.end() || it->second.empty()) {
        out.push_back(std::move(t));
        continue;
      }
      for (const std::string& w : it->second) {
        Token s = t;
        s.text = w;
        out.push_back(std::move(s));
      }
    }
    *tokens = std::move(out);
  }

 private:
  void Add(const std::string& key, const std::vector<std::string>& words, bool expand) {
    auto [it, fresh] = dict_.try_emplace(key);
    if (fresh && expand) it->second.insert(key);
    it->second.insert(words.begin(), words.end());
  }

  Status AddRow(const std::string& row, bool expand) {
    std::vector<UChar32> cs;
    for (int32_t i = 0; i < static_cast<int32_t>(row.size());) cs.push_back(NextCodePoint(row, &i));
    auto utf8 = [](UChar32 c, std::string* out) {
      icu::UnicodeString u(c);
      u.toUTF8String(*out);
    };
    bool mapping = false, space = false;
    std::vector<std::string> left, right;
    std::string cur;
    auto push = [&] {
      if (!cur.empty()) (mapping ? right : left).push_back(cur);
      cur.clear();
      space = false;
    };
    for (size_t i = 0; i < cs.size();) {
      UChar32 c = cs[i];
      if (c == '\\') {
        if (i + 1 >= cs.size()) return InvalidArgument("invalid synonym escaped in the end: {}", row);
        UChar32 n = cs[i + 1];
        if (n == ',' || n == '\\' || n == ' ') {
          utf8(n, &cur);
          i += 2;
          continue;
        }
        if (n == '=' && i + 2 < cs.size() && cs[i + 2] == '>') {
          cur += "=>";
          i += 3;
          continue;
        }
        std::string shown;
        utf8(n, &shown);
        return InvalidArgument("invalid synonym escaped: \\{} in {}", shown, row);
      }
      if (c == ' ') {
        if (!cur.empty()) {
          while (i + 1 < cs.size() && cs[i + 1] == ' ') ++i;
          space = true;
        }
        ++i;
        continue;
      }
      if (c == ',') {
        push();
        ++i;
        continue;
      }
      if (c == '=' && i + 1 < cs.size() && cs[i + 1] == '>') {
        if (mapping) return InvalidArgument("read synonym dict failed, has more than one \"=>\" in {}", row);
        if (!cur.empty()) left.push_back(cur);
        cur.clear();
        space = false;
        mapping = true;
        i += 2;
        continue;
      }
      if (space) {
        return InvalidArgument(
            "read synonym dict failed, has space between words {}, please use \\ to escape space", row);
      }
      utf8(c, &cur);
      ++i;
    }
    if (!cur.empty()) (mapping ? right : left).push_back(cur);
    if (mapping) {
      for (const auto& k : left) Add(k, right, expand);
    } else if (!left.empty()) {
      std::vector<std::string> targets = expand ? left : std::vector<std::string>{left.front()};
      for (const auto& k : left) Add(k, targets, expand);
    }
    return Status::OK();
  }

  // word -> what it becomes (sorted: Milvus's order is a hash set's).
  std::map<std::string, std::set<std::string>> dict_;
};

// ---- built-in word lists

// Snowball's English stop words as Milvus ships them (tantivy's list).
const std::vector<std::string>& EnglishStopWords() {
  static const std::vector<std::string> kWords = {
      "a",    "an",   "and",   "are",  "as",    "at",    "be",   "but",  "by",   "for",  "if",
      "in",   "into", "is",    "it",   "no",    "not",   "of",   "on",   "or",   "such", "that",
      "the",  "their", "then", "there", "these", "they", "this", "to",   "was",  "will", "with"};
  return kWords;
}

// "_english_", "_german_", ... expand to the built-in lists (Milvus 2.6's:
// English and the Snowball languages); anything else is a literal word.
std::vector<std::string> ExpandStopWords(const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const auto& w : list) {
    if (w == "_english_") {
      const auto& e = EnglishStopWords();
      out.insert(out.end(), e.begin(), e.end());
    } else if (const auto* builtin = BuiltInStopWords(w)) {
      out.insert(out.end(), builtin->begin(), builtin->end());
    } else {
      out.push_back(w);
    }
  }
  return out;
}

Result<std::vector<std::string>> StringList(const json& v, const std::string& label) {
  if (!v.is_array()) return InvalidArgument("{} should be array", label);
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) return InvalidArgument("{} list item should be string", label);
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Snowball algorithm names for Milvus's stemmer languages.
std::optional<std::string> StemmerAlgorithm(std::string lang) {
  std::transform(lang.begin(), lang.end(), lang.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::map<std::string, std::string> kLangs = {
      {"arabic", "arabic"},       {"arabig", "arabic"},   {"danish", "danish"},     {"dutch", "dutch"},
      {"english", "english"},     {"finnish", "finnish"}, {"french", "french"},     {"german", "german"},
      {"greek", "greek"},         {"hungarian", "hungarian"}, {"italian", "italian"}, {"norwegian", "norwegian"},
      {"portuguese", "portuguese"}, {"romanian", "romanian"}, {"russian", "russian"}, {"spanish", "spanish"},
      {"swedish", "swedish"},     {"tamil", "tamil"},     {"turkish", "turkish"}};
  auto it = kLangs.find(lang);
  if (it == kLangs.end()) return std::nullopt;
  return it->second;
}

// ---- the pipeline

class Pipeline final : public Analyzer {
 public:
  Pipeline(std::unique_ptr<Tokenizer> tokenizer, std::vector<std::unique_ptr<Filter>> filters)
      : tokenizer_(std::move(tokenizer)), filters_(std::move(filters)) {}
  std::vector<Token> Analyze(std::string_view text) const override {
    std::vector<Token> tokens;
    tokenizer_->Tokenize(text, &tokens);
    for (const auto& f : filters_) f->Apply(&tokens);
    return tokens;
  }

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<std::unique_ptr<Filter>> filters_;
};

std::unique_ptr<Filter> SimpleFilter(std::string_view name) {
  if (name == "lowercase") return std::make_unique<LowercaseFilter>();
  if (name == "asciifolding") return std::make_unique<AsciiFoldingFilter>();
  if (name == "alphanumonly") {
    return std::make_unique<PredicateFilter>(
        [](const std::string& s) { return std::all_of(s.begin(), s.end(), [](char c) { return IsAsciiAlnum(c); }); });
  }
  if (name == "cncharonly") {
    return std::make_unique<PredicateFilter>([](const std::string& s) { return AnyCodePoint(s, IsHan); });
  }
  if (name == "cnalphanumonly") {
    return std::make_unique<PredicateFilter>(
        [](const std::string& s) { return AnyCodePoint(s, [](UChar32 c) { return IsHan(c) || IsAsciiAlnum(c); }); });
  }
  if (name == "removepunct") {
    return std::make_unique<PredicateFilter>([](const std::string& s) {
      return AnyCodePoint(s, [](UChar32 c) { return !u_ispunct(c); });
    });
  }
  return nullptr;
}

Result<std::unique_ptr<Filter>> FilterFromObject(const json& p) {
  auto type = p.find("type");
  if (type == p.end()) return InvalidArgument("no type field in filter params");
  if (!type->is_string()) return InvalidArgument("filter type should be string");
  const std::string t = type->get<std::string>();
  if (t == "length") {
    auto max = p.find("max");
    if (max == p.end() || !max->is_number_unsigned()) {
      return InvalidArgument("lenth max param was none or not uint");
    }
    uint64_t limit = max->get<uint64_t>();
    return std::unique_ptr<Filter>(
        std::make_unique<PredicateFilter>([limit](const std::string& s) { return s.size() <= limit; }));
  }
  if (t == "stop") {
    std::vector<std::string> words;
    if (auto it = p.find("stop_words"); it != p.end()) {
      auto list = StringList(*it, "stop_words");
      if (!list.ok()) return list.status();
      words = ExpandStopWords(*list);
    }
    if (auto it = p.find("stop_words_file"); it != p.end()) {  // lines as they are, no "_english_" expansion
      KITE_ASSIGN_OR_RETURN(auto lines, ReadLineFile(*it, "stop words dict file"));
      words.insert(words.end(), lines.begin(), lines.end());
    }
    return std::unique_ptr<Filter>(std::make_unique<StopFilter>(std::move(words)));
  }
  if (t == "stemmer") {
    auto lang = p.find("language");
    if (lang == p.end() || !lang->is_string()) return InvalidArgument("stemmer language field should be string");
    auto algo = StemmerAlgorithm(lang->get<std::string>());
    if (!algo) {
      std::string l = lang->get<std::string>();
      std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
      return InvalidArgument("create stemmer failed : unsupport language: {}", l);
    }
    return std::unique_ptr<Filter>(std::make_unique<StemmerFilter>(*algo));
  }
  if (t == "regex") {
    auto expr = p.find("expr");
    if (expr == p.end()) return InvalidArgument("must set expr for regex filter");
    if (!expr->is_string()) return InvalidArgument("expr must be string");
    std::string e = expr->get<std::string>();
    UParseError pe;
    UErrorCode err = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexPattern> pattern(
        icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(e), 0, pe, err));
    if (U_FAILURE(err) || !pattern) {
      return InvalidArgument("regex expression invalid, expr:{}, err: {} at offset {}", e, u_errorName(err),
                             pe.offset);
    }
    return std::unique_ptr<Filter>(std::make_unique<RegexFilter>(std::move(pattern)));
  }
  if (t == "synonym") {
    auto built = SynonymFilter::Build(p);
    if (!built.ok()) return built.status();
    return std::unique_ptr<Filter>(std::move(*built));
  }
  if (t == "decompounder") {
    std::vector<std::string> words;
    if (auto list = p.find("word_list"); list != p.end()) {
      if (!list->is_array()) return InvalidArgument("decompounder word list should be array");
      for (const auto& w : *list) {
        if (!w.is_string()) return InvalidArgument("decompounder word list item should be string");
        words.push_back(w.get<std::string>());
      }
    }
    if (auto it = p.find("word_list_file"); it != p.end()) {
      KITE_ASSIGN_OR_RETURN(auto lines,
                            ReadLineFile(*it, "decompounder word list file"));
      words.insert(words.end(), lines.begin(), lines.end());
    }
    if (words.empty()) return InvalidArgument("decompounder word list is empty");
    return std::unique_ptr<Filter>(std::make_unique<DecompounderFilter>(std::move(words)));
  }
  return InvalidArgument("unsupport filter type: {}", t);
}

Result<std::unique_ptr<Tokenizer>> TokenizerFrom(const json& p) {
  std::string name;
  const json* params = nullptr;
  if (p.is_string()) {
    name = p.get<std::string>();
  } else {
    auto type = p.find("type");
    if (type == p.end()) return InvalidArgument("costum tokenizer must set type");
    if (!type->is_string()) return InvalidArgument("tokenizer type should be string");
    name = type->get<std::string>();
    params = &p;
  }
  if (name == "standard") {
    bool uax29 = false;
    int64_t max_len = 255;
    if (params) {
      if (auto u = params->find("uax29"); u != params->end()) {
        if (!u->is_boolean()) return InvalidArgument("standard tokenizer uax29 must be a boolean");
        uax29 = u->get<bool>();
      }
      if (auto m = params->find("max_token_length"); m != params->end()) {
        if (!uax29) return InvalidArgument("standard tokenizer max_token_length requires uax29 to be true");
        if (!m->is_number_unsigned()) {
          return InvalidArgument("standard tokenizer max_token_length must be a positive integer");
        }
        uint64_t v = m->get<uint64_t>();
        if (v == 0 || v > 1024 * 1024) {
          return InvalidArgument("standard tokenizer max_token_length must be between 1 and {}", 1024 * 1024);
        }
        max_len = static_cast<int64_t>(v);
      }
    }
    if (uax29) return std::unique_ptr<Tokenizer>(std::make_unique<Uax29Tokenizer>(max_len));
    return std::unique_ptr<Tokenizer>(std::make_unique<AlphanumericTokenizer>());
  }
  if (name == "whitespace") return std::unique_ptr<Tokenizer>(std::make_unique<WhitespaceTokenizer>());
  if (name == "icu") return std::unique_ptr<Tokenizer>(std::make_unique<IcuTokenizer>());
  if (name == "jieba") return ChineseTokenizer::Build(params);
  if (name == "char_group") return CharGroupTokenizer::Build(params);
  return InvalidArgument("unsupported tokenizer: {}", name);
}

Result<std::unique_ptr<Analyzer>> BuiltIn(const std::string& type, const json& params) {
  std::vector<std::string> stop;
  if (auto it = params.find("stop_words"); it != params.end()) {
    auto list = StringList(*it, "filter stop_words");
    if (!list.ok()) return list.status();
    stop = ExpandStopWords(*list);
  }
  std::vector<std::unique_ptr<Filter>> filters;
  std::unique_ptr<Tokenizer> tok;
  if (type == "standard") {
    tok = std::make_unique<AlphanumericTokenizer>();
    filters.push_back(std::make_unique<LowercaseFilter>());
  } else if (type == "english") {
    tok = std::make_unique<AlphanumericTokenizer>();
    filters.push_back(std::make_unique<LowercaseFilter>());
    filters.push_back(std::make_unique<StemmerFilter>("english"));
    filters.push_back(std::make_unique<StopFilter>(EnglishStopWords()));
  } else if (type == "chinese") {
    tok = std::make_unique<ChineseTokenizer>();
    filters.push_back(SimpleFilter("cnalphanumonly"));
  } else {
    return InvalidArgument("unknown build-in analyzer type: {}", type);
  }
  if (!stop.empty()) filters.push_back(std::make_unique<StopFilter>(std::move(stop)));
  return std::unique_ptr<Analyzer>(std::make_unique<Pipeline>(std::move(tok), std::move(filters)));
}

Result<std::unique_ptr<Analyzer>> FromJson(const json& params) {
  if (params.empty()) return BuiltIn("standard", json::object());
  if (auto type = params.find("type"); type != params.end()) {
    if (!type->is_string()) return InvalidArgument("analyzer type shoud be string");
    return BuiltIn(type->get<std::string>(), params);
  }
  auto tok_params = params.find("tokenizer");
  if (tok_params == params.end()) return InvalidArgument("tokenizer name or type must be set");
  if (!tok_params->is_object() && !tok_params->is_string()) {
    return InvalidArgument("tokenizer name should be string or dict");
  }
  auto tok = TokenizerFrom(*tok_params);
  if (!tok.ok()) return tok.status();
  std::vector<std::unique_ptr<Filter>> filters;
  for (const auto& [key, value] : params.items()) {
    if (key == "tokenizer") continue;
    if (key != "filter") return InvalidArgument("unknown analyzer option key: {}", key);
    if (!value.is_array()) return InvalidArgument("filter params should be array");
    for (const auto& f : value) {
      if (f.is_string()) {
        auto simple = SimpleFilter(f.get<std::string>());
        if (!simple) return InvalidArgument("build analyzer failed, filter not found :{}", f.get<std::string>());
        filters.push_back(std::move(simple));
      } else if (f.is_object()) {
        auto built = FilterFromObject(f);
        if (!built.ok()) return built.status();
        filters.push_back(std::move(*built));
      }
    }
  }
  return std::unique_ptr<Analyzer>(std::make_unique<Pipeline>(std::move(*tok), std::move(filters)));
}

}  // namespace

std::vector<std::string> Analyzer::Terms(std::string_view text) const {
  std::vector<std::string> out;
  for (auto& t : Analyze(text)) out.push_back(std::move(t.text));
  return out;
}

Result<std::unique_ptr<Analyzer>> BuildAnalyzer(std::string_view params_json) {
  if (params_json.empty()) return FromJson(json::object());
  json params = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded()) return InvalidArgument("analyzer params is not a valid json: {}", params_json);
  if (!params.is_object()) return InvalidArgument("params should be a json map");
  return FromJson(params);
}

Result<std::shared_ptr<const Analyzer>> SharedAnalyzer(const std::string& params_json) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Analyzer>> cache;
  {
    std::lock_guard lock(mu);
    auto it = cache.find(params_json);
    if (it != cache.end()) return it->second;
  }
  auto built = BuildAnalyzer(params_json);
  if (!built.ok()) return built.status();
  std::shared_ptr<const Analyzer> a(std::move(*built));
  std::lock_guard lock(mu);
  if (cache.size() > 1024) cache.clear();  // bounded: params texts come from schemas and requests
  return cache.emplace(params_json, a).first->second;
}

namespace {

// Go's encoding/json name for the JSON type of `v` ("cannot unmarshal X into ...").
const char* GoJsonKind(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_array()) return "array";
  if (v.is_boolean()) return "bool";
  return "object";
}

}  // namespace

const Analyzer& MultiAnalyzer::For(std::string_view name) const {
  if (auto a = alias_.find(name); a != alias_.end()) name = a->second;
  if (auto it = analyzers_.find(name); it != analyzers_.end()) return *it->second;
  return *analyzers_.find(std::string_view("default"))->second;  // Build requires it
}

Result<std::unique_ptr<MultiAnalyzer>> MultiAnalyzer::Build(
    std::string_view params_json,
    const std::function<Status(const std::string& name, const std::string& raw)>& check_by_field) {
  json m = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) return Unclassified("multi analyzer params is not a valid json: {}", params_json);
  if (!m.is_object() && !m.is_null()) {
    return Unclassified("json: cannot unmarshal {} into Go value of type map[string]json.RawMessage", GoJsonKind(m));
  }
  if (m.is_null()) m = json::object();
  auto out = std::make_unique<MultiAnalyzer>();
  auto by = m.find("by_field");
  if (by == m.end()) {
    return Unclassified("multi analyzer params now must set by_field to specify with field decide analyzer");
  }
  if (!by->is_string() && !by->is_null()) {
    return Unclassified("multi analyzer params by_field must be string but now: {}", by->dump());
  }
  out->by_field_ = by->is_string() ? by->get<std::string>() : std::string();
  if (check_by_field) KITE_RETURN_IF_ERROR(check_by_field(out->by_field_, by->dump()));
  if (auto alias = m.find("alias"); alias != m.end() && !alias->is_null()) {
    bool ok = alias->is_object();
    if (ok) {
      for (const auto& [k, v] : alias->items()) ok = ok && v.is_string();
    }
    if (!ok) return Unclassified("multi analyzer alias must be string map but now: {}", alias->dump());
    for (const auto& [k, v] : alias->items()) out->alias_[k] = v.get<std::string>();
  }
  auto analyzers = m.find("analyzers");
  if (analyzers == m.end()) return Unclassified("multi analyzer params must set analyzers ");
  if (!analyzers->is_object() && !analyzers->is_null()) {
    return Unclassified(
        "unmarshal analyzers failed: json: cannot unmarshal {} into Go value of type map[string]json.RawMessage",
        GoJsonKind(*analyzers));
  }
  if (analyzers->is_object()) {
    for (const auto& [name, params] : analyzers->items()) {  // sorted by name
      auto built = BuildAnalyzer(params.dump());
      if (!built.ok()) return Unclassified("analyzer {} params invalid: {}", name, built.status().message());
      out->analyzers_[name] = std::shared_ptr<const Analyzer>(std::move(*built));
    }
  }
  if (!out->analyzers_.count(std::string_view("default"))) {
    return Unclassified("multi analyzer must set default analyzer for all unknown value");
  }
  return out;
}

Result<std::shared_ptr<const MultiAnalyzer>> SharedMultiAnalyzer(const std::string& params_json) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const MultiAnalyzer>> cache;
  {
    std::lock_guard lock(mu);
    auto it = cache.find(params_json);
    if (it != cache.end()) return it->second;
  }
  auto built = MultiAnalyzer::Build(params_json, nullptr);
  if (!built.ok()) return built.status();
  std::shared_ptr<const MultiAnalyzer> a(std::move(*built));
  std::lock_guard lock(mu);
  if (cache.size() > 256) cache.clear();  // bounded: params texts come from schemas
  return cache.emplace(params_json, a).first->second;
}

uint32_t TermHash(std::string_view term) {
  size_t n = std::min<size_t>(term.size(), 100);
  uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(term.data()), static_cast<uInt>(n)));
  return crc % 0xFFFFFFFFu;
}

}  // namespace kite::text
