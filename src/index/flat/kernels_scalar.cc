// Portable kernels: the fallback level and the reference for the SIMD ones.
#include <cmath>
#include <cstring>

#include "index/flat/kernels.h"

namespace kite::flat::internal {
namespace {

// Element readers: row element j as float.
struct F32 {
  using T = float;
  static float Get(const float* p, int64_t j) { return p[j]; }
};
struct F16 {
  using T = uint16_t;
  static float Get(const uint16_t* p, int64_t j) { return HalfToFloat(p[j]); }
};
struct BF16 {
  using T = uint16_t;
  static float Get(const uint16_t* p, int64_t j) { return BFloat16ToFloat(p[j]); }
};
struct I8 {
  using T = int8_t;
  static float Get(const int8_t* p, int64_t j) { return static_cast<float>(p[j]); }
};

inline const uint8_t* RowB(const uint8_t* base, const int32_t* idx, int64_t i, int64_t bytes) {
  return base + (idx ? static_cast<int64_t>(idx[i]) : i) * bytes;
}

template <int kOp, class E>
void Rows(const float* q, float q_inv, const void* base_v, const int32_t* idx, int64_t n, int64_t dim, float* out) {
  const auto* base = static_cast<const typename E::T*>(base_v);
  for (int64_t i = 0; i < n; ++i) {
    const typename E::T* r = base + (idx ? static_cast<int64_t>(idx[i]) : i) * dim;
    float s = 0, nn = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const float x = E::Get(r, j);
      if constexpr (kOp == 0) {
        float d = q[j] - x;
        s += d * d;
      } else {
        s += q[j] * x;
        if constexpr (kOp == 2) nn += x * x;
      }
    }
    if constexpr (kOp == 0) {
      out[i] = s;
    } else if constexpr (kOp == 1) {
      out[i] = -s;
    } else {
      float r_inv = nn > 0 ? 1.0f / std::sqrt(nn) : 0.0f;
      out[i] = (s * -q_inv) * r_inv;
    }
  }
}

void NormSq(const float* base, int64_t n, int64_t dim, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* r = base + i * dim;
    float s = 0;
    for (int64_t j = 0; j < dim; ++j) s += r[j] * r[j];
    out[i] = s;
  }
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void HammingRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = RowB(base, idx, i, bytes);
    int64_t c = 0, j = 0;
    for (; j + 8 <= bytes; j += 8) c += __builtin_popcountll(Load64(q + j) ^ Load64(r + j));
    for (; j < bytes; ++j) c += __builtin_popcount(static_cast<unsigned>(q[j] ^ r[j]));
    out[i] = static_cast<float>(c);
  }
}

void JaccardRows(const uint8_t* q, const uint8_t* base, const int32_t* idx, int64_t n, int64_t bytes, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = RowB(base, idx, i, bytes);
    int64_t inter = 0, uni = 0, j = 0;
    for (; j + 8 <= bytes; j += 8) {
      uint64_t a = Load64(q + j), b = Load64(r + j);
      inter += __builtin_popcountll(a & b);
      uni += __builtin_popcountll(a | b);
    }
    for (; j < bytes; ++j) {
      inter += __builtin_popcount(static_cast<unsigned>(q[j] & r[j]));
      uni += __builtin_popcount(static_cast<unsigned>(q[j] | r[j]));
    }
    out[i] = uni == 0 ? 0.0f : 1.0f - static_cast<float>(inter) / static_cast<float>(uni);
  }
}

void F16ToF32(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = HalfToFloat(in[i]);
}
void BF16ToF32(const uint16_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = BFloat16ToFloat(in[i]);
}
void I8ToF32(const int8_t* in, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
}

void Fold(const FoldArgs& a, TopK* top) {
  for (int64_t j = 0; j < a.n; ++j) {
    float key = a.c[j];
    switch (a.mode) {
      case FoldMode::kKeys: break;
      case FoldMode::kL2: key = (key + a.col[j]) + a.scalar; key = key < 0 ? 0.0f : key; break;
      case FoldMode::kCosine: key = (key * a.scalar) * a.col[j]; break;
    }
    if (key <= top->Bound()) top->Push(key, a.id0 + (a.idx ? a.idx[j] : j));
  }
}

}  // namespace

float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // +-0
  } else {        // subnormal: normalise
    int shift = 0;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      ++shift;
    }
    mant &= 0x3ffu;
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

const Kernels& ScalarKernels() {
#define KITE_ROWS(op) {Rows<op, F32>, Rows<op, F16>, Rows<op, BF16>, Rows<op, I8>}
  static const Kernels k{Level::kScalar,
                         {KITE_ROWS(0), KITE_ROWS(1), KITE_ROWS(2)},
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
