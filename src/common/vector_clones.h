// KITE_VECTOR_CLONES: compiles a plain loop once per x86-64 level (v4: AVX-512,
// v3: AVX2, the baseline) and picks one when the binary loads (GCC function
// multiversioning through an ifunc). The loop is auto-vectorised for each
// level, so the binary stays portable and still uses e.g. AVX2's 64-bit
// compares, which the SSE2 baseline lacks. Put it on small leaf loops of
// fixed-width data (filters, masks) in files compiled with -O3 (GCC's -O2
// vectorises only loops whose trip count needs no epilogue). Elsewhere
// (Clang, non-ELF, other CPUs) it expands to nothing.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define KITE_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KITE_VECTOR_CLONES
#endif
