// AVX2 + FMA kernels (level kAvx2), compiled with a function-level target so
// the file builds with default flags; only called when the CPU has AVX2.
//
// Float rows: four base rows per iteration (one from each quarter of the
// block, so memory is read as four sequential streams), one 8-lane
// accumulator each (two for COSINE: dot and norm in the same pass), the four
// sums reduced together with two hadds. The dim tail uses masked loads, so no
// row is read past its end.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "index/flat/kernels.h"

#define KITE_AVX2 __attribute__((target("avx2,fma,f16c,popcnt")))

namespace kite::flat::internal {
namespace {

enum Op { kOpL2, kOpIP, kOpCos };

// Rows this many ahead are prefetched when rows are gathered through idx.
constexpr int64_t kPrefetchRows = 8;

template <class T>
inline const T* Row(const T* base, const int32_t* idx, int64_t i, int64_t dim) {
  return base + (idx ? static_cast<int64_t>(idx[i]) : i) * dim;
}

KITE_AVX2 inline void PrefetchRow(const void* row, int64_t bytes) {
  const char* p = static_cast<const char*>(row);
  for (int64_t off = 0; off < bytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
}

KITE_AVX2 inline __m256i TailMask(int64_t rem) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), lanes);
}

// [sum(a0), sum(a1), sum(a2), sum(a3)]
KITE_AVX2 inline __m128 Reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  __m256 t0 = _mm256_hadd_ps(a0, a1);
  __m256 t1 = _mm256_hadd_ps(a2, a3);
  __m256 t2 = _mm256_hadd_ps(t0, t1);
  return _mm_add_ps(_mm256_castps256_ps128(t2), _mm256_extractf128_ps(t2, 1));
}

// Sums the lanes in Reduce4's order, so a row's key is the same bits whether
// it was scored in a group of four or alone: exact duplicates tie exactly
// (and break ties by row), wherever they fall in a batch.
KITE_AVX2 inline float HSum(__m256 v) {
  v = _mm256_hadd_ps(v, v);
  v = _mm256_hadd_ps(v, v);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

// Element loaders: 8 row elements as floats; Tail reads only `rem` elements.
struct F32 {
  using T = float;
  KITE_AVX2 static __m256 Load(const float* p) { return _mm256_loadu_ps(p); }
  KITE_AVX2 static __m256 Tail(const float* p, int64_t, __m256i tm) { return _mm256_maskload_ps(p, tm); }
};
struct F16 {
  using T = uint16_t;
  KITE_AVX2 static __m256 Load(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  KITE_AVX2 static __m256 Tail(const uint16_t* p, int64_t rem, __m256i) {
    alignas(16) uint16_t b[8] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};
struct BF16 {
  using T = uint16_t;
  KITE_AVX2 static __m256 Load(const uint16_t* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
  KITE_AVX2 static __m256 Tail(const uint16_t* p, int64_t rem, __m256i) {
    alignas(16) uint16_t b[8] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};
struct I8 {
  using T = int8_t;
  KITE_AVX2 static __m256 Load(const int8_t* p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  KITE_AVX2 static __m256 Tail(const int8_t* p, int64_t rem, __m256i) {
    alignas(16) int8_t b[8] = {};
    std::memcpy(b, p, static_cast<size_t>(rem) * sizeof(T));
    return Load(b);
  }
};

template <int kOp>
KITE_AVX2 inline void Step(__m256& acc, __m256& nrm, __m256 qv, __m256 rv) {
  if constexpr (kOp == kOpL2) {
    __m256 d = _mm256_sub_ps(qv, rv);
    acc = _mm256_fmadd_ps(d, d, acc);
  } else {
    acc = _mm256_fmadd_ps(qv, rv, acc);
    if constexpr (kOp == kOpCos) nrm = _mm256_fmadd_ps(rv, rv, nrm);
  }
}

// key from the dot/distance sum s and, for COSINE, the squared row norm nn.
template <int kOp>
KITE_AVX2 inline __m128 Finish4(__m128 s, __m128 nn, float q_inv) {
  if constexpr (kOp == kOpL2) return s;
  if constexpr (kOp == kOpIP) return _mm_xor_ps(s, _mm_set1_ps(-0.0f));
  __m128 r_inv = _mm_div_ps(_mm_set1_ps(1.0f), _mm_sqrt_ps(nn));
  r_inv = _mm_and_ps(r_inv, _mm_cmpgt_ps(nn, _mm_setzero_ps()));
  return _mm_mul_ps(_mm_mul_ps(s, _mm_set1_ps(-q_inv)), r_inv);
}

template <int kOp>
KITE_AVX2 inline float Finish1(float s, float nn, float q_inv) {
  if constexpr (kOp == kOpL2) return s;
  if constexpr (kOp == kOpIP) return -s;
  float r_inv = nn > 0 ? 1.0f / std::sqrt(nn) : 0.0f;
  return (s * -q_inv) * r_inv;
}

template <int kOp, class E>
KITE_AVX2 void Rows(const float* q, float q_inv, const void* base_v, const int32_t* idx, int64_t n, int64_t dim,
                    float* out) {
  using T = typename E::T;
  const T* base = static_cast<const T*>(base_v);
  const int64_t dv = dim & ~int64_t{7};
  const int64_t rem = dim - dv;
  const __m256i tm = TailMask(rem);
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
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 n0 = a0, n1 = a0, n2 = a0, n3 = a0;
    for (int64_t j = 0; j < dv; j += 8) {
      __m256 qv = _mm256_loadu_ps(q + j);
      Step<kOp>(a0, n0, qv, E::Load(r0 + j));
      Step<kOp>(a1, n1, qv, E::Load(r1 + j));
      Step<kOp>(a2, n2, qv, E::Load(r2 + j));
      Step<kOp>(a3, n3, qv, E::Load(r3 + j));
    }
    if (rem) {
      __m256 qv = _mm256_maskload_ps(q + dv, tm);
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
    __m256 a = _mm256_setzero_ps(), nrm = a;
    for (int64_t j = 0; j < dv; j += 8) Step<kOp>(a, nrm, _mm256_loadu_ps(q + j), E::Load(r + j));
    if (rem) Step<kOp>(a, nrm, _mm256_maskload_ps(q + dv, tm), E::Tail(r + dv, rem, tm));
    out[i] = Finish1<kOp>(HSum(a), kOp == kOpCos ? HSum(nrm) : 0.0f, q_inv);
  }
}

KITE_AVX2 void NormSq(const float* base, int64_t n, int64_t dim, float* out) {
  const int64_t dv = dim & ~int64_t{7};
  const __m256i tm = TailMask(dim - dv);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = base + i * dim;
    __m256 a = _mm256_setzero_ps();
    for (int64_t j = 0; j < dv; j += 8) {
      __m256 v = _mm256_loadu_ps(r + j);
      a = _mm256_fmadd_ps(v, v, a);
    }
    if (dim > dv) {
      __m256 v = _mm256_maskload_ps(r + dv, tm);
      a = _mm256_fmadd_ps(v, v, a);
    }
    out[i] = HSum(a);
  }
}

KITE_AVX2 inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Fixed row sizes (64 / 128 / 256 bits): the query words stay in registers
// and the word loop unrolls.
template <int kWords, bool kJaccard>
KITE_AVX2 void BinaryRowsFixed(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, float* out) {
  uint64_t qw[kWords];
  for (int w = 0; w < kWords; ++w) qw[w] = Load64(q + 8 * w);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = base + (idx ? static_cast<int64_t>(idx[i]) : i) * (8 * kWords);
    int64_t a = 0, b = 0;
    for (int w = 0; w < kWords; ++w) {
      uint64_t y = Load64(r + 8 * w);
      if constexpr (kJaccard) {
        a += __builtin_popcountll(qw[w] & y);
        b += __builtin_popcountll(qw[w] | y);
      } else {
        a += __builtin_popcountll(qw[w] ^ y);
      }
    }
    if constexpr (kJaccard) {
      out[i] = b == 0 ? 0.0f : 1.0f - static_cast<float>(a) / static_cast<float>(b);
    } else {
      out[i] = static_cast<float>(a);
    }
  }
}

template <bool kJaccard>
KITE_AVX2 void BinaryRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes,
                          float* out) {
  switch (bytes) {
    case 8: return BinaryRowsFixed<1, kJaccard>(q, base, idx, n, out);
    case 16: return BinaryRowsFixed<2, kJaccard>(q, base, idx, n, out);
    case 32: return BinaryRowsFixed<4, kJaccard>(q, base, idx, n, out);
    default: break;
  }
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = base + (idx ? static_cast<int64_t>(idx[i]) : i) * bytes;
    int64_t a = 0, b = 0, j = 0;
    for (; j + 8 <= bytes; j += 8) {
      uint64_t x = Load64(q + j), y = Load64(r + j);
      if constexpr (kJaccard) {
        a += __builtin_popcountll(x & y);
        b += __builtin_popcountll(x | y);
      } else {
        a += __builtin_popcountll(x ^ y);
      }
    }
    for (; j < bytes; ++j) {
      unsigned x = q[j], y = r[j];
      if constexpr (kJaccard) {
        a += __builtin_popcount(x & y);
        b += __builtin_popcount(x | y);
      } else {
        a += __builtin_popcount(x ^ y);
      }
    }
    if constexpr (kJaccard) {
      out[i] = b == 0 ? 0.0f : 1.0f - static_cast<float>(a) / static_cast<float>(b);
    } else {
      out[i] = static_cast<float>(a);
    }
  }
}

KITE_AVX2 void HammingRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes,
                           float* out) {
  BinaryRows<false>(q, base, idx, n, bytes, out);
}
KITE_AVX2 void JaccardRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes,
                           float* out) {
  BinaryRows<true>(q, base, idx, n, bytes, out);
}

KITE_AVX2 void F16ToF32(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

KITE_AVX2 void BF16ToF32(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) out[i] = BFloat16ToFloat(in[i]);
}

KITE_AVX2 void I8ToF32(const int8_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i w = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_cvtepi32_ps(w));
  }
  for (; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

template <FoldMode kMode>
KITE_AVX2 inline float KeyAt(const FoldArgs& a, int64_t j) {
  float c = a.c[j];
  if constexpr (kMode == FoldMode::kL2) {
    float key = (c + a.col[j]) + a.scalar;
    return key < 0 ? 0.0f : key;
  } else if constexpr (kMode == FoldMode::kCosine) {
    return (c * a.scalar) * a.col[j];
  }
  return c;
}

template <FoldMode kMode, bool kIdx>
KITE_AVX2 void FoldImpl(const FoldArgs& a, TopK* top) {
  const __m256 lo = _mm256_set1_ps(top->Lo());
  const __m256 sc = _mm256_set1_ps(a.scalar);
  __m256 bound = _mm256_set1_ps(top->Bound());
  alignas(32) float tmp[8];
  int64_t j = 0;
  for (; j + 8 <= a.n; j += 8) {
    __m256 key = _mm256_loadu_ps(a.c + j);
    if constexpr (kMode == FoldMode::kL2) {
      key = _mm256_add_ps(_mm256_add_ps(key, _mm256_loadu_ps(a.col + j)), sc);
      key = _mm256_max_ps(_mm256_setzero_ps(), key);  // NaN stays NaN (max returns the 2nd operand)
    } else if constexpr (kMode == FoldMode::kCosine) {
      key = _mm256_mul_ps(_mm256_mul_ps(key, sc), _mm256_loadu_ps(a.col + j));
    }
    __m256 ok = _mm256_and_ps(_mm256_cmp_ps(key, bound, _CMP_LE_OQ), _mm256_cmp_ps(key, lo, _CMP_GE_OQ));
    unsigned m = static_cast<unsigned>(_mm256_movemask_ps(ok));
    if (m == 0) continue;
    _mm256_store_ps(tmp, key);
    do {
      int t = __builtin_ctz(m);
      top->Push(tmp[t], a.id0 + (kIdx ? a.idx[j + t] : j + t));
      m &= m - 1;
    } while (m);
    bound = _mm256_set1_ps(top->Bound());
  }
  for (; j < a.n; ++j) {
    float key = KeyAt<kMode>(a, j);
    if (key <= top->Bound()) top->Push(key, a.id0 + (kIdx ? a.idx[j] : j));
  }
}

template <FoldMode kMode>
KITE_AVX2 void FoldMode2(const FoldArgs& a, TopK* top) {
  if (a.idx) {
    FoldImpl<kMode, true>(a, top);
  } else {
    FoldImpl<kMode, false>(a, top);
  }
}

KITE_AVX2 void Fold(const FoldArgs& a, TopK* top) {
  switch (a.mode) {
    case FoldMode::kKeys: return FoldMode2<FoldMode::kKeys>(a, top);
    case FoldMode::kL2: return FoldMode2<FoldMode::kL2>(a, top);
    case FoldMode::kCosine: return FoldMode2<FoldMode::kCosine>(a, top);
  }
}

}  // namespace

const Kernels& Avx2Kernels() {
#define KITE_ROWS(op) {Rows<op, F32>, Rows<op, F16>, Rows<op, BF16>, Rows<op, I8>}
  static const Kernels k{Level::kAvx2,
                         {KITE_ROWS(kOpL2), KITE_ROWS(kOpIP), KITE_ROWS(kOpCos)},
                         NormSq,
                         HammingRows,
                         JaccardRows,
                         F16ToF32,
                         BF16ToF32,
                         I8ToF32,
                         Fold};
#undef KITE_ROWS
  return k;
}

}  // namespace kite::flat::internal
