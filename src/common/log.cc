#include "common/log.h"

#include "common/call_context.h"

#include <spdlog/pattern_formatter.h>

#include <atomic>
#include <chrono>
#include <random>

namespace kite {
namespace {

constexpr char kEventLoggerName[] = "kite.event";
constexpr char kPattern[] = "ts=%Y-%m-%dT%H:%M:%S.%e%z level=%l tid=%t %*";

thread_local std::string t_request_id;
thread_local CallContext t_call;

void AppendLogfmt(std::string_view v, spdlog::memory_buf_t& dest) {
  std::string s = LogfmtValue(v);
  dest.append(s.data(), s.data() + s.size());
}

// %*: the message. Events are already key=value; anything else is quoted as msg="...".
class MessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (std::string_view(msg.logger_name.data(), msg.logger_name.size()) == kEventLoggerName) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    static constexpr std::string_view kMsg = "msg=";
    dest.append(kMsg.data(), kMsg.data() + kMsg.size());
    AppendLogfmt(payload, dest);
    if (!t_request_id.empty()) {
      static constexpr std::string_view kId = " request_id=";
      dest.append(kId.data(), kId.data() + kId.size());
      AppendLogfmt(t_request_id, dest);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<MessageFlag>(); }
};

std::unique_ptr<spdlog::formatter> MakeFormatter() {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<MessageFlag>('*').set_pattern(kPattern);
  return f;
}

spdlog::logger& EventLogger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    std::shared_ptr<spdlog::logger> existing = spdlog::get(kEventLoggerName);
    if (existing) return existing;
    auto d = spdlog::default_logger();
    auto l = std::make_shared<spdlog::logger>(kEventLoggerName, d->sinks().begin(), d->sinks().end());
    l->set_level(d->level());
    spdlog::register_logger(l);
    return l;
  }();
  return *logger;
}

}  // namespace

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  using L = spdlog::level::level_enum;
  static const std::pair<std::string_view, L> kLevels[] = {
      {"trace", L::trace}, {"debug", L::debug},       {"info", L::info},         {"warn", L::warn},
      {"warning", L::warn}, {"error", L::err},        {"critical", L::critical}, {"fatal", L::critical},
      {"off", L::off},
  };
  for (const auto& [n, l] : kLevels) {
    if (n == name) return l;
  }
  return InvalidArgument("log level '{}' is not one of trace, debug, info, warn, error, critical, off", name);
}

void InitLogging(spdlog::level::level_enum level) {
  // Events go where the default logger writes (registered, so the calls below reach it too).
  EventLogger().sinks() = spdlog::default_logger()->sinks();
  spdlog::set_formatter(MakeFormatter());
  spdlog::set_level(level);
}

bool LogEnabled(spdlog::level::level_enum level) { return EventLogger().should_log(level); }

std::string LogfmtValue(std::string_view v) {
  bool bare = !v.empty();
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '"' || c == '=' || c == '\\' || u == 0x7f) {
      bare = false;
      break;
    }
  }
  if (bare) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

void LogEvent(spdlog::level::level_enum level, std::string_view event, const LogFields& fields) {
  spdlog::logger& l = EventLogger();
  if (!l.should_log(level)) return;
  std::string line = "msg=" + LogfmtValue(event);
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    line += LogfmtValue(v);
  }
  l.log(level, "{}", line);
}

const std::string& CurrentRequestId() { return t_request_id; }
void SetCurrentRequestId(std::string id) {
  t_request_id = std::move(id);
  t_call = CallContext{};
}

ScopedRequestId::ScopedRequestId(std::string id) : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
  t_call = CallContext{};
}
ScopedRequestId::~ScopedRequestId() {
  t_request_id = std::move(previous_);
  t_call = CallContext{};
}

const CallContext& CurrentCallContext() { return t_call; }
void SetCurrentCaller(std::string caller) { t_call.caller = std::move(caller); }
void SetCurrentDeadline(int64_t deadline_unix_us) { t_call.deadline_unix_us = deadline_unix_us; }
void SetCurrentCallContext(CallContext ctx) { t_call = std::move(ctx); }

std::string NewRequestId() {
  static const uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  static std::atomic<uint64_t> counter{0};
  // splitmix64 finalizer: a bijection, so distinct counters give distinct ids.
  uint64_t z = seed + counter.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return fmt::format("{:016x}", z);
}

std::string RequestIdOrNew(std::string_view client_id) {
  if (client_id.empty() || client_id.size() > 64) return NewRequestId();
  for (char c : client_id) {
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f || c == '"' || c == '=' || c == '\\') return NewRequestId();
  }
  return std::string(client_id);
}

}  // namespace kite
