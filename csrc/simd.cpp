// Run-time choice of the instruction set and its kernel table (the kernels live in isa_*.cpp).
#include "simd.hpp"

#include <stdexcept>

#include "portable.hpp"

#ifdef TURBORLE_X86
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace turborle {

extern const Kernels kScalarKernels;
#ifdef TURBORLE_X86
extern const Kernels kAvx2Kernels, kAvx2SlowPextKernels, kAvx512Kernels;
#endif
#ifdef TURBORLE_ARM64
extern const Kernels kNeonKernels;
#endif

#if defined(TURBORLE_X86) && defined(_MSC_VER) && !defined(__clang__)
// CPUID leaf 7 (EBX: AVX2 bit 5, BMI2 bit 8, AVX512F bit 16, AVX512BW bit 30) and the OS's
// saving of YMM (XCR0 bits 1-2) and ZMM (bits 5-7) state.
Isa detect_isa() {
  int r[4];
  __cpuid(r, 1);
  if (!(r[2] & (1 << 27))) return Isa::kScalar;  // no OSXSAVE: no XGETBV
  const unsigned long long xcr0 = _xgetbv(0);
  __cpuidex(r, 7, 0);
  const bool avx2 = (r[1] & (1 << 5)) && (r[1] & (1 << 8)) && (xcr0 & 6) == 6;
  if (avx2 && (r[1] & (1 << 16)) && (r[1] & (1 << 30)) && (xcr0 & 0xe6) == 0xe6)
    return Isa::kAvx512;
  return avx2 ? Isa::kAvx2 : Isa::kScalar;
}
#else
Isa detect_isa() {
#ifdef TURBORLE_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("bmi2"))
    return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2")) return Isa::kAvx2;
#endif
#ifdef TURBORLE_ARM64
  return Isa::kNeon;
#endif
  return Isa::kScalar;
}
#endif

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kNeon: return "neon";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    default: return "scalar";
  }
}

Isa parse_isa(const std::string& name) {
  for (Isa isa : {Isa::kScalar, Isa::kNeon, Isa::kAvx2, Isa::kAvx512}) {
    if (name != isa_name(isa)) continue;
    const Isa best = detect_isa();
    const bool ok = isa == Isa::kScalar || isa == best ||
                    (isa == Isa::kAvx2 && best == Isa::kAvx512);
    if (!ok)
      throw std::invalid_argument(std::string("SIMD level '") + name +
                                  "' is not supported by this CPU (best: " + isa_name(best) + ")");
    return isa;
  }
  throw std::invalid_argument("unknown SIMD level '" + name +
                              "' (expected scalar, neon, avx2 or avx512)");
}


#ifdef TURBORLE_X86
namespace {

// PEXT is microcoded (tens to hundreds of cycles) on AMD before Zen 3 (family 0x19).
bool slow_pext() {
  unsigned r[4] = {0, 0, 0, 0};
#if defined(_MSC_VER) && !defined(__clang__)
  int v[4];
  __cpuid(v, 0);
  for (int k = 0; k < 4; ++k) r[k] = static_cast<unsigned>(v[k]);
#else
  __get_cpuid(0, &r[0], &r[1], &r[2], &r[3]);
#endif
  const bool amd = r[1] == 0x68747541u && r[3] == 0x69746e65u && r[2] == 0x444d4163u;  // "AuthenticAMD"
  if (!amd) return false;
#if defined(_MSC_VER) && !defined(__clang__)
  __cpuid(v, 1);
  r[0] = static_cast<unsigned>(v[0]);
#else
  __get_cpuid(1, &r[0], &r[1], &r[2], &r[3]);
#endif
  const unsigned family = ((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff);
  return family < 0x19;
}

}  // namespace
#endif

const Kernels& kernels(Isa isa) {
  switch (isa) {
#ifdef TURBORLE_X86
    case Isa::kAvx512: return kAvx512Kernels;
    case Isa::kAvx2: {
      static const bool slow = slow_pext();
      return slow ? kAvx2SlowPextKernels : kAvx2Kernels;
    }
#endif
#ifdef TURBORLE_ARM64
    case Isa::kNeon: return kNeonKernels;
#endif
    default: return kScalarKernels;
  }
}

}  // namespace turborle
