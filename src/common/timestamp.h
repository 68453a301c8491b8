// Hybrid timestamps as Milvus uses them: (physical_ms << 18) | logical.
// Issued by the coordinator's TSO (roles/coordinator/tso.h); every WAL
// message and every read carries one.
#pragma once

#include <chrono>
#include <cstdint>

namespace kite {

using Timestamp = uint64_t;

inline constexpr int kLogicalBits = 18;
inline constexpr uint64_t kLogicalMask = (uint64_t{1} << kLogicalBits) - 1;

constexpr Timestamp ComposeTs(uint64_t physical_ms, uint64_t logical) {
  return (physical_ms << kLogicalBits) | (logical & kLogicalMask);
}
constexpr uint64_t PhysicalMs(Timestamp ts) { return ts >> kLogicalBits; }
constexpr uint64_t Logical(Timestamp ts) { return ts & kLogicalMask; }

inline uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace kite
