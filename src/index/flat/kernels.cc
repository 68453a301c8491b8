// Run-time choice of the kernel level (see kernels.h).
#include "index/flat/kernels.h"

#include <atomic>

namespace kite::flat::internal {
namespace {

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
         __builtin_cpu_supports("popcnt");
}

bool CpuHasAvx512() { return CpuHasAvx2() && __builtin_cpu_supports("avx512f"); }

const Kernels& TableFor(Level level) {
  switch (level) {
    case Level::kAvx512: return Avx512Kernels();
    case Level::kAvx2: return Avx2Kernels();
    case Level::kScalar: break;
  }
  return ScalarKernels();
}

Level DetectedLevel() {
  static const Level level = CpuHasAvx512() ? Level::kAvx512 : CpuHasAvx2() ? Level::kAvx2 : Level::kScalar;
  return level;
}

std::atomic<const Kernels*>& Current() {
  static std::atomic<const Kernels*> current{&TableFor(DetectedLevel())};
  return current;
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kAvx512: return "avx512";
    case Level::kAvx2: return "avx2";
    case Level::kScalar: return "scalar";
  }
  return "?";
}

const Kernels& Active() { return *Current().load(std::memory_order_acquire); }

bool LevelSupported(Level level) {
  switch (level) {
    case Level::kAvx512: return CpuHasAvx512();
    case Level::kAvx2: return CpuHasAvx2();
    case Level::kScalar: return true;
  }
  return false;
}

bool ForceLevel(Level level) {
  if (!LevelSupported(level)) return false;
  Current().store(&TableFor(level), std::memory_order_release);
  return true;
}

Tuning& MutableTuning() {
  static Tuning tuning;
  return tuning;
}
const Tuning& GetTuning() { return MutableTuning(); }

void ResetLevel() { Current().store(&TableFor(DetectedLevel()), std::memory_order_release); }

}  // namespace kite::flat::internal
