// The AVX2 kernels (x86-64 with AVX2 and BMI2).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "portable.hpp"
#include "rows.hpp"
#include "runs.hpp"
#include "simd.hpp"

#ifdef TURBORLE_X86
#include <immintrin.h>

TURBORLE_TARGET_BEGIN("avx2,bmi,bmi2,popcnt,lzcnt")
#define TURBORLE_KERNELS_AVX2 1
#include "isa_kernels.hpp"

namespace turborle {
namespace {

inline uint32_t nonzero32(const uint8_t* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i z = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());
  return ~static_cast<uint32_t>(_mm256_movemask_epi8(z));
}

uint64_t find_byte_avx2(const uint8_t* p, uint64_t i, uint64_t len,
                                      bool want_nonzero) {
  const uint64_t flip = want_nonzero ? 0 : ~uint64_t(0);
  for (; i + 64 <= len; i += 64) {
    const uint64_t m = (uint64_t(nonzero32(p + i)) | uint64_t(nonzero32(p + i + 32)) << 32) ^ flip;
    if (m) return i + ctz64(m);
  }
  return find_byte_scalar(p, i, len, want_nonzero);
}

size_t row_changes_avx2(const uint8_t* row, uint64_t w, uint64_t* bits,
                                      uint32_t* changed) {
  size_t n = 0;
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) {
    const uint64_t cur = uint64_t(nonzero32(row + 64 * k)) | uint64_t(nonzero32(row + 64 * k + 32)) << 32;
    n = emit_changes(cur, bits, k, changed, n);
  }
  if (k * 64 < w) {
    uint64_t cur;
    pack_row_scalar(row + 64 * k, w - 64 * k, &cur);
    n = emit_changes(cur, bits, k, changed, n);
  }
  return n;
}

void unpack_row_avx2(const uint64_t* bits, uint64_t w, uint8_t* row) {
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) {
    __m256i lo, hi;
    expand64(bits[k], lo, hi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 64 * k), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 64 * k + 32), hi);
  }
  if (k * 64 < w) unpack_row_scalar(bits + k, w - 64 * k, row + 64 * k);
}

using Avx2Strings = Avx2StringsOf<PextGather>;
// For CPUs whose PEXT is microcoded (AMD before Zen 3): the portable gather.
using Avx2StringsSlowPext = Avx2StringsOf<SwarStrings>;

// The groups of a COCO string value in one instruction (PDEP is fast where this table is
// used: see slow_pext in simd.cpp).
struct PdepSpread {
  static uint64_t spread(uint64_t v) { return _pdep_u64(v, 0x1F1F1F1F1F1F1F1Full); }
};

}  // namespace

extern const Kernels kAvx2Kernels = {
    find_byte_avx2,         row_changes_avx2,         unpack_row_avx2,
    string_values<Avx2Strings>, string_parse<Avx2Strings>, string_measure<Avx2Strings>,
    string_length_scalar, write_string_with<PdepSpread>, and_count_scalar, counts_box,
    decode_stream_avx2,
};
extern const Kernels kAvx2SlowPextKernels = {
    find_byte_avx2,         row_changes_avx2,         unpack_row_avx2,
    string_values<Avx2StringsSlowPext>, string_parse<Avx2StringsSlowPext>,
    string_measure<Avx2StringsSlowPext>,
    string_length_scalar, write_string_scalar, and_count_scalar, counts_box,
    decode_stream_avx2,
};

}  // namespace turborle
TURBORLE_TARGET_END
#endif  // TURBORLE_X86
