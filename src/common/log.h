// Kite's log format: one line per event, logfmt (key=value pairs separated by
// spaces; values with spaces, quotes or '=' are double-quoted with Go-style
// escapes), written by spdlog:
//
//   ts=2026-11-30T10:02:03.123+00:00 level=info tid=4242 msg="recovered in 3 ms"
//   ts=... level=debug tid=4243 msg=request request_id=9f2c... protocol=grpc rpc=Insert db=default
//       collection=docs status=success code=0 latency_ms=1.42 rows=100
//
// Free-text messages (spdlog::info("...")) become msg="..."; while a request is
// being served on the thread, ` request_id=<id>` follows, so every line a
// request causes can be found by its id. Structured events (LogEvent) write
// msg=<event> and their fields as given.
//
// Thread-safety: InitLogging before any other thread logs; the rest is
// thread-safe. The request id is thread-local (ScopedRequestId).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace kite {

// Parses a level name: trace, debug, info, warn (or warning), error, critical, off.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// Installs the logfmt pattern on every logger and sets the level.
void InitLogging(spdlog::level::level_enum level);

// A value as logfmt writes it: bare when it is a plain token, else quoted.
std::string LogfmtValue(std::string_view v);

using LogFields = std::vector<std::pair<std::string_view, std::string>>;

// Logs `msg=<event> k=v ...` at `level` (nothing is formatted when the level is off).
void LogEvent(spdlog::level::level_enum level, std::string_view event, const LogFields& fields);
bool LogEnabled(spdlog::level::level_enum level);

// The id of the request the calling thread is serving, or empty.
const std::string& CurrentRequestId();

// Sets (empty: clears) the calling thread's request id.
void SetCurrentRequestId(std::string id);

// Sets the calling thread's request id for its lifetime (restores the previous one).
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// A fresh request id: 16 lower-case hex digits (random per process, then a counter).
std::string NewRequestId();
// A client-supplied id is used when it is 1..64 printable ASCII characters
// without spaces, quotes or '='; otherwise a fresh one is made.
std::string RequestIdOrNew(std::string_view client_id);

}  // namespace kite
