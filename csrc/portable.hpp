// The few compiler-specific things the core uses, for GCC, Clang and MSVC. Internal header.
#pragma once

#include <cstdint>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define TURBORLE_NOINLINE __declspec(noinline)
#define TURBORLE_LIKELY(x) (x)
#define TURBORLE_UNLIKELY(x) (x)
#define TURBORLE_PREFETCH(p) _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0)
namespace turborle {
// Index of the lowest / highest set bit; x must not be 0.
inline int ctz64(uint64_t x) {
  unsigned long i;
  _BitScanForward64(&i, x);
  return static_cast<int>(i);
}
inline int clz64(uint64_t x) {
  unsigned long i;
  _BitScanReverse64(&i, x);
  return 63 - static_cast<int>(i);
}
inline int popcount64(uint64_t x) { return static_cast<int>(__popcnt64(x)); }
}  // namespace turborle
#else
#define TURBORLE_NOINLINE __attribute__((noinline))
#define TURBORLE_LIKELY(x) __builtin_expect(!!(x), 1)
#define TURBORLE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TURBORLE_PREFETCH(p) __builtin_prefetch(p)
namespace turborle {
// Index of the lowest set bit / count of leading zeros; x must not be 0.
inline int ctz64(uint64_t x) { return __builtin_ctzll(x); }
inline int clz64(uint64_t x) { return __builtin_clzll(x); }
inline int popcount64(uint64_t x) { return __builtin_popcountll(x); }
}  // namespace turborle
#endif
