// AVX-512 kernels (level kAvx512), compiled with function-level targets so
// the file builds with default flags; only called when the CPU has AVX-512F.
// Same shape as kernels_avx2.cc with 16 lanes and mask registers for tails.
// Binary kernels use VPOPCNTDQ (+BW for masked byte loads) when the CPU has
// it, else the AVX2 level's POPCNT loops.
// GCC 12's AVX-512 headers build _mm512_undefined_* from a self-initialised
// variable, which -Wmaybe-uninitialized reports at every use: silence it here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "index/flat/kernels.h"

#define KITE_AVX512 __attribute__((target("avx512f,avx2,fma,f16c,popcnt")))
#define KITE_AVX512_POPCNT __attribute__((target("avx512f,avx512bw,avx512vpopcntdq,avx2,fma,f16c,popcnt")))

namespace kite::flat::internal {
namespace {

enum Op { kOpL2, kOpIP, kOpCos };

constexpr int64_t kPrefetchRows = 8;

template <class T>
inline const T* Row(const T* base, const int32_t* idx, int64_t i, int64_t dim) {
  return base + (idx ? static_cast<int64_t>(idx[i]) : i) * dim;
}

KITE_AVX512 inline void PrefetchRow(const void* row, int64_t bytes) {
  const char* p = static_cast<const char*>(row);
  for (int64_t off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

KITE_AVX512 inline __mmask16 TailMask16(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

KITE_AVX512 inline __m256 Half(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

KITE_AVX512 inline __m128 Reduce4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  __m256 t0 = _mm256_hadd_ps(Half(a0), Half(a1));
  __m256 t1 = _mm256_hadd_ps(Half(a2), Half(a3));
  __m256 t2 = _mm256_hadd_ps(t0, t1);
  return _mm_add_ps(_mm256_castps256_ps128(t2), _mm256_extractf128_ps(t2, 1));
}

// Sums the lanes in Reduce4's order, so a row's key is the same bits whether
// it was scored in a group of four or alone: exact duplicates tie exactly
// (and break ties by row), wherever they fall in a batch.
KITE_AVX512 inline float HSum(__m512 v) {
  __m256 h = Half(v);
  h = _mm256_hadd_ps(h, h);
  h = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

// Element loaders: 16 row elements as floats; Tail reads only `rem` elements.
struct F32 {
  using T = float;
  KITE_AVX512 static __m512 Load(const float* p) { return _mm512_loadu_ps(p); }
  KITE_AVX512 static __m512 Tail(const float* p, int64_t, __mmask16 tm) { return _mm512_maskz_loadu_ps(tm, p); }
};
struct F16 {
  using T = uint16_t;
  KITE_AVX512 static __m512 Load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  KITE_AVX512 static __m512 Tail(const uint16_t* p, int64_t rem, __mmask16) {
    alignas(32) uint16_t b[16] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};
struct BF16 {
  using T = uint16_t;
  KITE_AVX512 static __m512 Load(const uint16_t* p) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
  }
  KITE_AVX512 static __m512 Tail(const uint16_t* p, int64_t rem, __mmask16) {
    alignas(32) uint16_t b[16] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};
struct I8 {
  using T = int8_t;
  KITE_AVX512 static __m512 Load(const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  KITE_AVX512 static __m512 Tail(const int8_t* p, int64_t rem, __mmask16) {
    alignas(16) int8_t b[16] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};

template <int kOp>
KITE_AVX512 inline void Step(__m512& acc, __m512& nrm, __m512 qv, __m512 rv) {
  if constexpr (kOp == kOpL2) {
    __m512 d = _mm512_sub_ps(qv, rv);
    acc = _mm512_fmadd_ps(d, d, acc);
  } else {
    acc = _mm512_fmadd_ps(qv, rv, acc);
    if constexpr (kOp == kOpCos) nrm = _mm512_fmadd_ps(rv, rv, nrm);
  }
}

template <int kOp>
KITE_AVX512 inline __m128 Finish4(__m128 s, __m128 nn, float q_inv) {
  if constexpr (kOp == kOpL2) return s;
  if constexpr (kOp == kOpIP) return _mm_xor_ps(s, _mm_set1_ps(-0.0f));
  __m128 r_inv = _mm_div_ps(_mm_set1_ps(1.0f), _mm_sqrt_ps(nn));
  r_inv = _mm_and_ps(r_inv, _mm_cmpgt_ps(nn, _mm_setzero_ps()));
  return _mm_mul_ps(_mm_mul_ps(s, _mm_set1_ps(-q_inv)), r_inv);
}

template <int kOp>
KITE_AVX512 inline float Finish1(float s, float nn, float q_inv) {
  if constexpr (kOp == kOpL2) return s;
  if constexpr (kOp == kOpIP) return -s;
  float r_inv = nn > 0 ? 1.0f / std::sqrt(nn) : 0.0f;
  return (s * -q_inv) * r_inv;
}

template <int kOp, class E>
KITE_AVX512 void Rows(const float* q, float q_inv, const void* base_v, const int32_t* idx, int64_t n, int64_t dim,
                      float* out) {
  using T = typename E::T;
  const T* base = static_cast<const T*>(base_v);
  const int64_t dv = dim & ~int64_t{15};
  const int64_t rem = dim - dv;
  const __mmask16 tm = TailMask16(rem);
  // Rows i, i + m, i + 2m, i + 3m together: four ascending streams, which
  // the hardware prefetchers follow (four adjacent rows interleaved line by
  // line defeat them: 10 GB/s instead of 27 GB/s from memory, measured).
  const int64_t m = n / 4;
  for (int64_t i = 0; i < m; ++i) {
    if (idx && i + kPrefetchRows < m) {
      for (int t = 0; t < 4; ++t) PrefetchRow(Row(base, idx, i + kPrefetchRows + t * m, dim), dim * sizeof(T));
    }
    const T* r0 = Row(base, idx, i, dim);
    const T* r1 = Row(base, idx, i + m, dim);
    const T* r2 = Row(base, idx, i + 2 * m, dim);
    const T* r3 = Row(base, idx, i + 3 * m, dim);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m512 n0 = a0, n1 = a0, n2 = a0, n3 = a0;
    for (int64_t j = 0; j < dv; j += 16) {
      __m512 qv = _mm512_loadu_ps(q + j);
      Step<kOp>(a0, n0, qv, E::Load(r0 + j));
      Step<kOp>(a1, n1, qv, E::Load(r1 + j));
      Step<kOp>(a2, n2, qv, E::Load(r2 + j));
      Step<kOp>(a3, n3, qv, E::Load(r3 + j));
    }
    if (rem) {
      __m512 qv = _mm512_maskz_loadu_ps(tm, q + dv);
      Step<kOp>(a0, n0, qv, E::Tail(r0 + dv, rem, tm));
      Step<kOp>(a1, n1, qv, E::Tail(r1 + dv, rem, tm));
      Step<kOp>(a2, n2, qv, E::Tail(r2 + dv, rem, tm));
      Step<kOp>(a3, n3, qv, E::Tail(r3 + dv, rem, tm));
    }
    __m128 nn = kOp == kOpCos ? Reduce4(n0, n1, n2, n3) : _mm_setzero_ps();
    const __m128 k4 = Finish4<kOp>(Reduce4(a0, a1, a2, a3), nn, q_inv);
    _mm_store_ss(out + i, k4);
    _mm_store_ss(out + i + m, _mm_shuffle_ps(k4, k4, 1));
    _mm_store_ss(out + i + 2 * m, _mm_shuffle_ps(k4, k4, 2));
    _mm_store_ss(out + i + 3 * m, _mm_shuffle_ps(k4, k4, 3));
  }
  for (int64_t i = 4 * m; i < n; ++i) {
    const T* r = Row(base, idx, i, dim);
    __m512 a = _mm512_setzero_ps(), nrm = a;
    for (int64_t j = 0; j < dv; j += 16) Step<kOp>(a, nrm, _mm512_loadu_ps(q + j), E::Load(r + j));
    if (rem) Step<kOp>(a, nrm, _mm512_maskz_loadu_ps(tm, q + dv), E::Tail(r + dv, rem, tm));
    out[i] = Finish1<kOp>(HSum(a), kOp == kOpCos ? HSum(nrm) : 0.0f, q_inv);
  }
}

KITE_AVX512 void NormSq(const float* base, int64_t n, int64_t dim, float* out) {
  const int64_t dv = dim & ~int64_t{15};
  const __mmask16 tm = TailMask16(dim - dv);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = base + i * dim;
    __m512 a = _mm512_setzero_ps();
    for (int64_t j = 0; j < dv; j += 16) {
      __m512 v = _mm512_loadu_ps(r + j);
      a = _mm512_fmadd_ps(v, v, a);
    }
    if (dim > dv) {
      __m512 v = _mm512_maskz_loadu_ps(tm, r + dv);
      a = _mm512_fmadd_ps(v, v, a);
    }
    out[i] = HSum(a);
  }
}

// Binary rows shorter than this use the POPCNT loops: one masked 512-bit
// chunk plus the reduction costs more than a few scalar popcounts.
constexpr int64_t kMinVectorBytes = 64;

template <bool kJaccard>
KITE_AVX512_POPCNT inline void BinaryStep(__m512i x, __m512i y, __m512i& a, __m512i& b) {
  if constexpr (kJaccard) {
    a = _mm512_add_epi64(a, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
    b = _mm512_add_epi64(b, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
  } else {
    a = _mm512_add_epi64(a, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));
  }
}

template <bool kJaccard>
KITE_AVX512_POPCNT void BinaryRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n,
                                   int64_t bytes, float* out) {
  const int64_t bv = bytes & ~int64_t{63};
  const int64_t rem = bytes - bv;
  const __mmask64 tm = rem ? (~uint64_t{0} >> (64 - rem)) : 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = base + (idx ? static_cast<int64_t>(idx[i]) : i) * bytes;
    __m512i a = _mm512_setzero_si512(), b = a;
    for (int64_t j = 0; j < bv; j += 64) {
      BinaryStep<kJaccard>(_mm512_loadu_si512(q + j), _mm512_loadu_si512(r + j), a, b);
    }
    if (rem) BinaryStep<kJaccard>(_mm512_maskz_loadu_epi8(tm, q + bv), _mm512_maskz_loadu_epi8(tm, r + bv), a, b);
    int64_t ca = _mm512_reduce_add_epi64(a);
    if constexpr (kJaccard) {
      int64_t cb = _mm512_reduce_add_epi64(b);
      out[i] = cb == 0 ? 0.0f : 1.0f - static_cast<float>(ca) / static_cast<float>(cb);
    } else {
      out[i] = static_cast<float>(ca);
    }
  }
}

KITE_AVX512_POPCNT void HammingRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n,
                                    int64_t bytes, float* out) {
  if (bytes < kMinVectorBytes) return Avx2Kernels().hamming(q, base, idx, n, bytes, out);
  BinaryRows<false>(q, base, idx, n, bytes, out);
}
KITE_AVX512_POPCNT void JaccardRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n,
                                    int64_t bytes, float* out) {
  if (bytes < kMinVectorBytes) return Avx2Kernels().jaccard(q, base, idx, n, bytes, out);
  BinaryRows<true>(q, base, idx, n, bytes, out);
}

KITE_AVX512 void F16ToF32(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

KITE_AVX512 void BF16ToF32(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i)));
    _mm512_storeu_ps(out + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) out[i] = BFloat16ToFloat(in[i]);
}

KITE_AVX512 void I8ToF32(const int8_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i w = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm512_storeu_ps(out + i, _mm512_cvtepi32_ps(w));
  }
  for (; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

template <FoldMode kMode, bool kIdx>
KITE_AVX512 void FoldImpl(const FoldArgs& a, TopK* top) {
  const __m512 lo = _mm512_set1_ps(top->Lo());
  const __m512 sc = _mm512_set1_ps(a.scalar);
  __m512 bound = _mm512_set1_ps(top->Bound());
  alignas(64) float tmp[16];
  for (int64_t j = 0; j < a.n; j += 16) {
    const __mmask16 live = a.n - j >= 16 ? __mmask16(0xffff) : TailMask16(a.n - j);
    __m512 key = _mm512_maskz_loadu_ps(live, a.c + j);
    if constexpr (kMode == FoldMode::kL2) {
      key = _mm512_add_ps(_mm512_add_ps(key, _mm512_maskz_loadu_ps(live, a.col + j)), sc);
      key = _mm512_max_ps(_mm512_setzero_ps(), key);  // NaN stays NaN (max returns the 2nd operand)
    } else if constexpr (kMode == FoldMode::kCosine) {
      key = _mm512_mul_ps(_mm512_mul_ps(key, sc), _mm512_maskz_loadu_ps(live, a.col + j));
    }
    __mmask16 m = _mm512_mask_cmp_ps_mask(live, key, bound, _CMP_LE_OQ);
    m = _mm512_mask_cmp_ps_mask(m, key, lo, _CMP_GE_OQ);
    if (m == 0) continue;
    _mm512_store_ps(tmp, key);
    unsigned bits = m;
    do {
      int t = __builtin_ctz(bits);
      top->Push(tmp[t], a.id0 + (kIdx ? a.idx[j + t] : j + t));
      bits &= bits - 1;
    } while (bits);
    bound = _mm512_set1_ps(top->Bound());
  }
}

template <FoldMode kMode>
KITE_AVX512 void FoldMode2(const FoldArgs& a, TopK* top) {
  if (a.idx) {
    FoldImpl<kMode, true>(a, top);
  } else {
    FoldImpl<kMode, false>(a, top);
  }
}

KITE_AVX512 void Fold(const FoldArgs& a, TopK* top) {
  switch (a.mode) {
    case FoldMode::kKeys: return FoldMode2<FoldMode::kKeys>(a, top);
    case FoldMode::kL2: return FoldMode2<FoldMode::kL2>(a, top);
    case FoldMode::kCosine: return FoldMode2<FoldMode::kCosine>(a, top);
  }
}

bool CpuHasVpopcntdq() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw");
}

}  // namespace

const Kernels& Avx512Kernels() {
  static const Kernels k = [] {
#define KITE_ROWS(op) {Rows<op, F32>, Rows<op, F16>, Rows<op, BF16>, Rows<op, I8>}
    Kernels t{Level::kAvx512,
              {KITE_ROWS(kOpL2), KITE_ROWS(kOpIP), KITE_ROWS(kOpCos)},
              NormSq,
              HammingRows,
              JaccardRows,
              F16ToF32,
              BF16ToF32,
              I8ToF32,
              Fold};
#undef KITE_ROWS
    if (!CpuHasVpopcntdq()) {
      t.hamming = Avx2Kernels().hamming;
      t.jaccard = Avx2Kernels().jaccard;
    }
    return t;
  }();
  return k;
}

}  // namespace kite::flat::internal
