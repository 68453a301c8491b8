#include "schema/timestamptz.h"

#include <fmt/format.h>
#include <time.h>
#include <unicode/basictz.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace kite::tz {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int kMaxOffsetSeconds = 14 * 3600;
constexpr int kMinOffsetSeconds = -12 * 3600;

// ICU zones by name, created once; nullptr for names ICU does not know.
std::shared_ptr<const icu::BasicTimeZone> FindZone(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const icu::BasicTimeZone>, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const icu::BasicTimeZone> zone;
  if (!name.empty()) {
    std::unique_ptr<icu::TimeZone> tz(
        icu::TimeZone::createTimeZone(icu::UnicodeString::fromUTF8(icu::StringPiece(name.data(), name.size()))));
    auto* basic = dynamic_cast<icu::BasicTimeZone*>(tz.get());
    if (tz && *tz != icu::TimeZone::getUnknown() && basic) {
      tz.release();
      zone.reset(basic);
    }
  }
  if (cache.size() < 4096) cache.emplace(std::string(name), zone);
  return zone;
}

// Offset from UTC (seconds) in `zone` at the UTC instant `epoch_seconds`.
int OffsetAtUtc(const icu::BasicTimeZone& zone, int64_t epoch_seconds) {
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone.getOffset(static_cast<UDate>(epoch_seconds) * 1000.0, false, raw, dst, status);
  if (U_FAILURE(status)) return 0;
  return (raw + dst) / 1000;
}

// Offset from UTC (seconds) of local wall time `local_seconds` in `zone`.
int OffsetAtLocal(const icu::BasicTimeZone& zone, int64_t local_seconds) {
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  zone.getOffsetFromLocal(static_cast<UDate>(local_seconds) * 1000.0, UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER, raw,
                          dst, status);
  if (U_FAILURE(status)) return 0;
  return (raw + dst) / 1000;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days(year{y} / month{m} / day{d}).time_since_epoch().count();
}

// A cursor over the text; each Take* consumes on success only.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool Done() const { return i == s.size(); }
  bool Take(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool Digits(size_t n, int* out) {
    if (s.size() - i < n) return false;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    *out = v;
    return true;
  }
};

struct Civil {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t micros = 0;  // fraction, truncated to microseconds
};

enum class OffsetForm { kNone, kColon, kHourOnly };

// "YYYY-MM-DD<sep>HH:MM:SS[.fraction]": true when it matched, the cursor after it.
bool ParseCivil(Cursor* c, char sep, Civil* out) {
  if (!c->Digits(4, &out->year) || !c->Take('-') || !c->Digits(2, &out->month) || !c->Take('-') ||
      !c->Digits(2, &out->day) || !c->Take(sep) || !c->Digits(2, &out->hour) || !c->Take(':') ||
      !c->Digits(2, &out->minute) || !c->Take(':') || !c->Digits(2, &out->second)) {
    return false;
  }
  if (c->Take('.')) {
    int n = 0;
    int64_t frac = 0;
    while (!c->Done() && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
      if (n < 6) frac = frac * 10 + (c->s[c->i] - '0');
      ++n;
      ++c->i;
    }
    if (n == 0 || n > 9) return false;
    for (int k = n; k < 6; ++k) frac *= 10;
    out->micros = frac;
  }
  if (out->month < 1 || out->month > 12 || out->hour > 23 || out->minute > 59 || out->second > 59) return false;
  using namespace std::chrono;
  if (out->day < 1 || !year_month_day(year{out->year}, month{static_cast<unsigned>(out->month)},
                                      day{static_cast<unsigned>(out->day)})
                           .ok()) {
    return false;
  }
  return true;
}

// "Z", "+hh:mm" (kColon) or "+hh" (kHourOnly) to the end of the text.
bool ParseOffset(Cursor* c, OffsetForm form, int* offset_seconds) {
  if (c->Take('Z')) {
    *offset_seconds = 0;
    return c->Done();
  }
  int sign = 0;
  if (c->Take('+')) sign = 1;
  else if (c->Take('-')) sign = -1;
  else return false;
  int hh = 0, mm = 0;
  if (!c->Digits(2, &hh)) return false;
  if (form == OffsetForm::kColon && (!c->Take(':') || !c->Digits(2, &mm))) return false;
  if (mm > 59) return false;
  *offset_seconds = sign * (hh * 3600 + mm * 60);
  return c->Done();
}

int64_t LocalSeconds(const Civil& t) {
  return DaysFromCivil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day)) * 86400 +
         t.hour * 3600 + t.minute * 60 + t.second;
}

// An absolute form (explicit offset): the instant, or nullopt when `text` is
// not of this form.
std::optional<std::pair<int64_t, int>> TryAbsolute(std::string_view text, char sep, OffsetForm form) {
  Cursor c{text};
  Civil t;
  int offset = 0;
  if (!ParseCivil(&c, sep, &t) || !ParseOffset(&c, form, &offset)) return std::nullopt;
  return std::make_pair((LocalSeconds(t) - offset) * kMicrosPerSecond + t.micros, offset);
}

}  // namespace

bool IsValidTimezone(std::string_view name) { return FindZone(name) != nullptr; }

Result<int64_t> ParseTimestamp(std::string_view text, std::string_view default_zone) {
  std::optional<std::pair<int64_t, int>> abs = TryAbsolute(text, 'T', OffsetForm::kColon);
  if (!abs) abs = TryAbsolute(text, ' ', OffsetForm::kColon);
  if (!abs) abs = TryAbsolute(text, ' ', OffsetForm::kHourOnly);
  if (abs) {
    int offset = abs->second;
    if (offset > kMaxOffsetSeconds || offset < kMinOffsetSeconds) {
      return InvalidArgument("UTC offset hour {} is out of the valid range [{}, {}]: invalid parameter", offset / 3600,
                             kMinOffsetSeconds / 3600, kMaxOffsetSeconds / 3600);
    }
    return abs->first;
  }
  auto zone = FindZone(default_zone);
  if (!zone) {
    return InvalidArgument("invalid default timezone string '{}': unknown time zone {}: invalid parameter",
                           default_zone, default_zone);
  }
  for (char sep : {'T', ' '}) {
    Cursor c{text};
    Civil t;
    if (ParseCivil(&c, sep, &t) && c.Done()) {
      int64_t local = LocalSeconds(t);
      return (local - OffsetAtLocal(*zone, local)) * kMicrosPerSecond + t.micros;
    }
  }
  return InvalidArgument("invalid timestamp string: '{}'. Does not match any known format: invalid parameter", text);
}

std::string FormatTimestamp(int64_t micros, std::string_view zone_name) {
  int64_t secs = micros / kMicrosPerSecond;
  int64_t frac = micros % kMicrosPerSecond;
  if (frac < 0) {
    frac += kMicrosPerSecond;
    --secs;
  }
  int offset = 0;
  if (auto zone = FindZone(zone_name)) offset = OffsetAtUtc(*zone, secs);
  int64_t local = secs + offset;
  int64_t days = local / 86400;
  int64_t sod = local % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), sod / 3600,
                                (sod / 60) % 60, sod % 60);
  if (frac != 0) {
    std::string f = fmt::format("{:06}", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
  if (offset == 0) {
    out += 'Z';
  } else {
    int a = offset < 0 ? -offset : offset;
    out += fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
  }
  return out;
}

Result<Interval> ParseInterval(std::string_view text) {
  auto bad = [&] { return InvalidArgument("invalid ISO 8601 duration: {}", text); };
  Cursor c{text};
  if (!c.Take('P')) return bad();
  Interval iv;
  int64_t* date_parts[] = {&iv.years, &iv.months, &iv.days};
  const char date_units[] = {'Y', 'M', 'D'};
  int64_t* time_parts[] = {&iv.hours, &iv.minutes, &iv.seconds};
  const char time_units[] = {'H', 'M', 'S'};
  // Each part: digits then its unit, in order; a part may be skipped.
  auto parts = [&](int64_t** slots, const char* units) -> bool {
    size_t next = 0;
    while (!c.Done() && c.s[c.i] >= '0' && c.s[c.i] <= '9') {
      size_t start = c.i;
      while (!c.Done() && c.s[c.i] >= '0' && c.s[c.i] <= '9') ++c.i;
      if (c.Done()) return false;
      char u = c.s[c.i];
      while (next < 3 && units[next] != u) ++next;
      if (next == 3) return false;
      std::string_view digits = text.substr(start, c.i - start);
      if (digits.size() > 18) return false;
      *slots[next] = std::stoll(std::string(digits));
      ++next;
      ++c.i;
    }
    return true;
  };
  if (!parts(date_parts, date_units)) return bad();
  if (c.Take('T')) {
    if (!parts(time_parts, time_units)) return bad();
  }
  if (!c.Done()) return bad();
  return iv;
}

int64_t AddInterval(int64_t micros, const Interval& iv, int sign) {
  int64_t secs = micros / kMicrosPerSecond - (micros % kMicrosPerSecond < 0 ? 1 : 0);
  int64_t sub = micros - secs * kMicrosPerSecond;
  time_t t = static_cast<time_t>(secs);
  struct tm tm_buf {};
  if (gmtime_r(&t, &tm_buf) == nullptr) return micros;
  auto add = [&](int base, int64_t delta) {
    int64_t r = static_cast<int64_t>(base) + delta * sign;
    if (r > INT32_MAX) r = INT32_MAX;
    if (r < INT32_MIN) r = INT32_MIN;
    return static_cast<int>(r);
  };
  tm_buf.tm_year = add(tm_buf.tm_year, iv.years);
  tm_buf.tm_mon = add(tm_buf.tm_mon, iv.months);
  tm_buf.tm_mday = add(tm_buf.tm_mday, iv.days);
  tm_buf.tm_hour = add(tm_buf.tm_hour, iv.hours);
  tm_buf.tm_min = add(tm_buf.tm_min, iv.minutes);
  tm_buf.tm_sec = add(tm_buf.tm_sec, iv.seconds);
  int64_t out = static_cast<int64_t>(timegm(&tm_buf));
  constexpr int64_t kMaxSec = (INT64_MAX - 999999) / kMicrosPerSecond;
  constexpr int64_t kMinSec = (INT64_MIN + 999999) / kMicrosPerSecond;
  if (out > kMaxSec) out = kMaxSec;
  if (out < kMinSec) out = kMinSec;
  return out * kMicrosPerSecond + sub;
}

}  // namespace kite::tz
