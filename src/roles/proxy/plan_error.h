// Milvus's wording of a filter that does not compile: its proxy wraps the
// planner's error as "failed to create query plan: <error>: invalid
// parameter" (task_search.go, task_query.go), and clients match that text;
// and the names its planner accepts as identifiers. Header-only; no state.
#pragma once

#include <cctype>
#include <string_view>

#include "common/status.h"

namespace kite {

// `s` is expr::Compile's error. Only the user's errors (InvalidArgument) are
// reworded; any other code passes through unchanged.
inline Status PlanError(const Status& s) {
  if (s.code() != StatusCode::kInvalidArgument) return s;
  return InvalidArgument("failed to create query plan: {}: invalid parameter", s.message());
}

// [A-Za-z_$][A-Za-z0-9_]*: a name Milvus's filter grammar reads as one
// identifier (it parses output-field and group-by names that way).
inline bool IsFilterIdentifier(std::string_view n) {
  if (n.empty()) return false;
  auto head = [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$'; };
  if (!head(n[0])) return false;
  for (char ch : n.substr(1)) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  return true;
}

}  // namespace kite
