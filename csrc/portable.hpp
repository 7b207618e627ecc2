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
// The high 64 bits of the 128-bit product a * b.
inline uint64_t mul_high64(uint64_t a, uint64_t b) { return __umulh(a, b); }
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
// The high 64 bits of the 128-bit product a * b.
inline uint64_t mul_high64(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}
}  // namespace turborle
#endif

// ---- instruction sets -------------------------------------------------------------------------
// The vector kernels of one instruction set are compiled in their own file (isa_*.cpp) between
// TURBORLE_TARGET_BEGIN(...) and TURBORLE_TARGET_END: every function defined there may use that
// set, and nothing else does, so the library needs no -march flag. (MSVC compiles intrinsics
// anywhere: the region is empty there.) A file includes every header it needs BEFORE the
// region: an inline function first defined inside it would be compiled for that set and could
// be picked by the linker for callers on any CPU.
#if defined(__x86_64__) || defined(_M_X64)
#define TURBORLE_X86 1
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define TURBORLE_ARM64 1
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define TURBORLE_TARGET_BEGIN(features)
#define TURBORLE_TARGET_END
#elif defined(__clang__)
#define TURBORLE_PRAGMA(x) _Pragma(#x)
#define TURBORLE_TARGET_BEGIN(features) \
  TURBORLE_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define TURBORLE_TARGET_END _Pragma("clang attribute pop")
#else
#define TURBORLE_PRAGMA(x) _Pragma(#x)
#define TURBORLE_TARGET_BEGIN(features) \
  _Pragma("GCC push_options") TURBORLE_PRAGMA(GCC target(features))
#define TURBORLE_TARGET_END _Pragma("GCC pop_options")
#endif
