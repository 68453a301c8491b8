// Milvus's wording of a filter that does not compile: its proxy wraps the
// planner's error as "failed to create query plan: <error>: invalid
// parameter" (task_search.go, task_query.go), and clients match that text;
// and the names its planner accepts as identifiers. Header-only; no state.
#pragma once

#include <cctype>
#include <string_view>

#include "common/status.h"

namespace kite {

// Where Milvus's segment engine builds the plan the proxy sent, as it words a
// failure there: a query's retrieve plan or a search's plan.
inline constexpr std::string_view kRetrievePlanStep = "Create retrieve plan by expr failed";
inline constexpr std::string_view kSearchPlanStep = "Create Plan by expr failed";

// `s` is expr::Compile's error. Only the user's errors (InvalidArgument) are
// reworded; any other code passes through unchanged. A call of a function
// Milvus's planner does not know (Reason::kUnclassified) fails past the
// planner, at `segcore_step`.
inline Status PlanError(const Status& s, std::string_view segcore_step) {
  if (s.code() != StatusCode::kInvalidArgument) return s;
  if (s.Is(Reason::kUnclassified)) return Unclassified("{}: {}", segcore_step, s.message());
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
