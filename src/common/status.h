// Status and Result<T>: Kite's error values.
//
// Every fallible function returns a Status (or Result<T>). A Status carries a
// domain code (what kind of failure), an optional Reason (which Kite condition,
// e.g. "collection not found") and a human message naming the field/value at
// fault. Milvus error codes are derived from (code, reason) only at the RPC edge
// (src/rpc/status_map.cc). Thread-safe as a value type.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace kite {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,    // the caller's fault: nothing was changed
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,  // valid request, wrong state (e.g. collection not loaded)
  kResourceExhausted,   // a limit was hit
  kCorruption,
  kIOError,
  kCancelled,
  kUnimplemented,
  kInternal,
};

// The specific condition behind a status, when the RPC edge needs to tell
// conditions of the same code apart (Milvus has distinct codes for them).
enum class Reason {
  kNone = 0,
  kCollectionNotFound,
  kPartitionNotFound,
  kDatabaseNotFound,
  kAliasNotFound,
  kIndexNotFound,
  kFieldNotFound,
  kCollectionNotLoaded,
  kPartitionNotLoaded,
  kIllegalSchema,
  kInvalidName,
  kInvalidFieldName,
  kInvalidDatabaseName,
  kAliasNameConflict,   // alias equals a collection name or vice versa
  kAliasExists,
  kIndexDuplicate,
  kIndexNotSupported,
  kCollectionLimit,
  kDatabaseLimit,
  kParameterTooLarge,
  kMissingParameter,
  kDataDirInUse,
  kUnclassified,  // Milvus answers with a plain (non-merr) error: code 65535
  kDiskFull,  // ENOSPC / EDQUOT: Milvus ErrServiceDiskLimitExceeded (code 7)
  kServiceUnavailable,  // a backing service (e.g. Kafka) is down: Milvus ErrServiceUnavailable (2, retriable)
  kChannelNotAvailable,  // the WAL channel is owned by a newer term: Milvus ErrChannelNotAvailable (503)
  // merr leaf errors whose codes clients see (rpc/status_map.cc); values are
  // appended only: the role transport (roles/api/role_grpc.cc) sends them as ints.
  kCollectionLoaded,               // ErrCollectionLoaded (104): alter on a loaded collection
  kResourceGroupNotFound,          // ErrResourceGroupNotFound (300)
  kResourceGroupAlreadyExist,      // ErrResourceGroupAlreadyExist (301)
  kResourceGroupReachLimit,        // ErrResourceGroupReachLimit (302)
  kResourceGroupIllegalConfig,     // ErrResourceGroupIllegalConfig (303)
  kResourceGroupNodeNotEnough,     // ErrResourceGroupNodeNotEnough (304)
  kResourceGroupServiceAvailable,  // ErrResourceGroupServiceAvailable (305, retriable)
  kImportFailed,                   // ErrImportFailed (2100)
  kPrivilegeNotAuthenticated,      // ErrPrivilegeNotAuthenticated (1400)
  kPrivilegeNotPermitted,          // ErrPrivilegeNotPermitted (1401)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, Reason reason, std::string message)
      : code_(code), reason_(reason), message_(std::move(message)) {}

  static Status OK() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  Reason reason() const { return reason_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  bool Is(Reason r) const { return reason_ == r; }

 private:
  StatusCode code_ = StatusCode::kOk;
  Reason reason_ = Reason::kNone;
  std::string message_;
};

// Constructors: Status s = InvalidArgument("dim {} out of range", dim);
template <typename... Args>
Status InvalidArgument(fmt::format_string<Args...> f, Args&&... a) {
  return {StatusCode::kInvalidArgument, Reason::kNone, fmt::format(f, std::forward<Args>(a)...)};
}
// The caller's fault, where Milvus answers with a plain (non-merr) error:
// code 65535 at the RPC edge (Reason::kUnclassified).
template <typename... Args>
Status Unclassified(fmt::format_string<Args...> f, Args&&... a) {
  return {StatusCode::kInvalidArgument, Reason::kUnclassified, fmt::format(f, std::forward<Args>(a)...)};
}
template <typename... Args>
Status MakeStatus(StatusCode c, Reason r, fmt::format_string<Args...> f, Args&&... a) {
  return {c, r, fmt::format(f, std::forward<Args>(a)...)};
}
template <typename... Args>
Status Internal(fmt::format_string<Args...> f, Args&&... a) {
  return {StatusCode::kInternal, Reason::kNone, fmt::format(f, std::forward<Args>(a)...)};
}
template <typename... Args>
Status IOError(fmt::format_string<Args...> f, Args&&... a) {
  return {StatusCode::kIOError, Reason::kNone, fmt::format(f, std::forward<Args>(a)...)};
}
template <typename... Args>
Status Corruption(fmt::format_string<Args...> f, Args&&... a) {
  return {StatusCode::kCorruption, Reason::kNone, fmt::format(f, std::forward<Args>(a)...)};
}

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {          // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result from an OK status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kite

#define KITE_CONCAT_INNER(a, b) a##b
#define KITE_CONCAT(a, b) KITE_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if it is not OK.
#define KITE_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::kite::Status _kite_st = (expr);               \
    if (!_kite_st.ok()) return _kite_st;            \
  } while (0)

// KITE_ASSIGN_OR_RETURN(auto x, MakeX()); -- unwraps a Result or returns its status.
#define KITE_ASSIGN_OR_RETURN(lhs, expr) \
  KITE_ASSIGN_OR_RETURN_IMPL(KITE_CONCAT(_kite_res_, __LINE__), lhs, expr)
#define KITE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
