// Distance, conversion and top-k fold kernels behind flat::Search, one table
// per instruction-set level. Internal to kite_flat (and its tests/benchmark).
//
// The level is detected once per process with __builtin_cpu_supports:
//   kAvx512  AVX-512F (+AVX2, FMA, F16C); binary kernels use VPOPCNTDQ + BW
//            when the CPU has them and fall back to POPCNT otherwise
//   kAvx2    AVX2 + FMA + F16C + POPCNT
//   kScalar  portable C++
// The AVX kernels are compiled with function-level target attributes, so the
// library builds with the project's default flags and runs on any x86-64 CPU.
//
// Row kernels compute one "key" per row, smaller is better:
//   L2      ||q - r||^2
//   IP      -(q . r)
//   COSINE  (q . r) * (-q_inv) * r_inv, r_inv = 1/||r|| or 0 for a zero row
//   HAMMING popcount(q ^ r)
//   JACCARD 1 - popcount(q & r) / popcount(q | r), 0 when the union is empty
// where row i is base + (idx ? idx[i] : i) * dim elements. The query is
// always float32; Float16 / BFloat16 / Int8 rows are converted to float32 as
// they are loaded (F16C / shift / sign extension) inside the float kernels,
// so every element type streams from memory like float32 does.
//
// Thread-safety: kernels are pure. Active() is safe to call from any thread;
// ForceLevel() is a test/benchmark hook and must not race with searches.
#pragma once

#include <cstdint>

#include "index/flat/topk.h"

namespace kite::flat::internal {

enum class Level { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* LevelName(Level level);

// What Fold does to c[j] before it enters the heap.
enum class FoldMode {
  kKeys,    // key = c[j]
  kL2,      // key = max(0, c[j] + col[j] + scalar)   (c = -2 q.r, col = ||r||^2, scalar = ||q||^2)
  kCosine,  // key = (c[j] * scalar) * col[j]         (c = q.r, scalar = -1/||q||, col = 1/||r||)
};

struct FoldArgs {
  const float* c = nullptr;
  int64_t n = 0;
  FoldMode mode = FoldMode::kKeys;
  const float* col = nullptr;
  float scalar = 0;
  const int32_t* idx = nullptr;  // id of entry j: id0 + (idx ? idx[j] : j)
  int64_t id0 = 0;
};

enum class RowOp { kL2 = 0, kIP = 1, kCosine = 2 };
// Element types the float row kernels read, in flat::ElemType order.
inline constexpr int kFloatElemTypes = 4;  // float32, float16, bfloat16, int8

using RowsFn = void (*)(const float* q, float q_inv, const void* base, const int32_t* idx, int64_t n, int64_t dim,
                        float* out);  // q_inv: COSINE only
using BinaryRowsFn = void (*)(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes,
                              float* out);
using NormSqFn = void (*)(const float* base, int64_t n, int64_t dim, float* out);
using F16Fn = void (*)(const uint16_t* in, int64_t n, float* out);  // also bf16
using I8Fn = void (*)(const int8_t* in, int64_t n, float* out);
using FoldFn = void (*)(const FoldArgs& args, TopK* top);

struct Kernels {
  Level level;
  RowsFn rows[3][kFloatElemTypes];  // [RowOp][ElemType]
  NormSqFn norm_sq;                   // out[i] = ||row i||^2, contiguous float32 rows
  BinaryRowsFn hamming;
  BinaryRowsFn jaccard;
  F16Fn f16_to_f32;  // conversions for the GEMM path
  F16Fn bf16_to_f32;
  I8Fn i8_to_f32;
  FoldFn fold;  // feeds every entry that passes the heap's bounds into `top`
};

// The table in use: the best level this CPU supports unless ForceLevel said otherwise.
const Kernels& Active();
// Levels this CPU can run.
bool LevelSupported(Level level);
// Test/benchmark hook: use `level` from now on. False (no change) if unsupported.
bool ForceLevel(Level level);
// Back to the detected best level.
void ResetLevel();

// Per-level tables (defined in kernels_<level>.cc; the AVX ones may only be
// used when LevelSupported says so).
const Kernels& ScalarKernels();
const Kernels& Avx2Kernels();
const Kernels& Avx512Kernels();

// Knobs of flat::Search, set to measured defaults (bench/flat_bench.cc).
// MutableTuning() is a test/benchmark hook and must not race with searches.
struct Tuning {
  // Float queries at or above this count use the GEMM path.
  int64_t gemm_min_queries = 16;
  // GEMM path: base rows and queries per cblas_sgemm call.
  int64_t gemm_base_block = 4096;
  int64_t gemm_query_block = 256;
  // Scan path: base rows per block so that a block's rows take about this
  // many bytes (kept in L2 while every query of the call scores it).
  int64_t scan_block_bytes = 512 * 1024;
  // Filtered scan: when at least this fraction of a block's rows pass, the
  // whole block is scored and the rest masked; below it, only the passing
  // rows are gathered (with software prefetch) and scored.
  double dense_filter_fraction = 0.4;
};
const Tuning& GetTuning();
Tuning& MutableTuning();

// Scalar conversions, shared by all levels for tails.
float HalfToFloat(uint16_t h);
inline float BFloat16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

}  // namespace kite::flat::internal
