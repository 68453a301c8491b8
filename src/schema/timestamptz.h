// TIMESTAMPTZ values: Milvus 2.6 stores them as int64 microseconds since the
// Unix epoch (UTC) and reads and writes them as ISO-8601 text in an IANA time
// zone (the request's `timezone`, else the collection's `timezone` property,
// else UTC). This header parses and formats that text exactly as Milvus's
// pkg/util/timestamptz does, and does the calendar arithmetic of filter
// INTERVALs (internal/core's TimestamptzArithCompareExpr: UTC civil fields).
//
// Time zones come from ICU's copy of the IANA database. All functions are
// thread-safe (zones are cached, immutable, shared).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kite::tz {

inline constexpr char kTimezoneKey[] = "timezone";
inline constexpr char kDefaultTimezone[] = "UTC";

// An IANA zone name ("Asia/Shanghai", "UTC"); "" is not valid.
bool IsValidTimezone(std::string_view name);

// Parses `text` as Milvus's ParseTimeTz: RFC 3339 with an offset or Z
// ("2025-01-02T03:04:05.123+08:00"), the same with a space for the T (offset
// "+08" allowed), or a naive "YYYY-MM-DD[T ]HH:MM:SS[.fraction]" read in
// `default_zone`. Offsets outside [-12:00, +14:00] are refused. Returns the
// instant in microseconds since the epoch; on error InvalidArgument with
// Milvus's message ("invalid timestamp string: '...'. Does not match any known
// format: invalid parameter", ...).
Result<int64_t> ParseTimestamp(std::string_view text, std::string_view default_zone);

// `micros` as RFC 3339 in `zone` ("2025-01-02T11:04:05.5+08:00", "...Z" at
// offset 0), fraction to microseconds without trailing zeros: Milvus's
// FormatTimeMicroWithoutTrailingZeros. An unknown zone formats in UTC.
std::string FormatTimestamp(int64_t micros, std::string_view zone);

// An ISO-8601 duration "P[nY][nM][nD][T[nH][nM][nS]]" (Milvus's
// parseISODuration; every part optional, no fractions, no weeks).
struct Interval {
  int64_t years = 0, months = 0, days = 0, hours = 0, minutes = 0, seconds = 0;
};
Result<Interval> ParseInterval(std::string_view text);

// micros + sign * interval, field by field on the UTC calendar and then
// normalised (Jan 31 + P1M = Mar 3 or 2), the sub-second part kept.
int64_t AddInterval(int64_t micros, const Interval& interval, int sign);

}  // namespace kite::tz
