// The AVX-512 kernels (x86-64 with AVX-512 F and BW).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "portable.hpp"
#include "rows.hpp"
#include "runs.hpp"
#include "simd.hpp"

#ifdef TURBORLE_X86
#include <immintrin.h>

TURBORLE_TARGET_BEGIN("avx512f,avx512bw,avx2,bmi,bmi2,popcnt,lzcnt")
#define TURBORLE_KERNELS_AVX2 1
#include "isa_kernels.hpp"

namespace turborle {
namespace {


uint64_t find_byte_avx512(const uint8_t* p, uint64_t i, uint64_t len,
                                          bool want_nonzero) {
  const uint64_t flip = want_nonzero ? 0 : ~uint64_t(0);
  const __m512i zero = _mm512_setzero_si512();
  // Four vectors per step with one test: masks are mostly uniform, so most steps find nothing.
  for (; i + 256 <= len; i += 256) {
    const uint64_t m0 = _mm512_test_epi8_mask(_mm512_loadu_si512(p + i), _mm512_loadu_si512(p + i)) ^ flip;
    const uint64_t m1 = _mm512_test_epi8_mask(_mm512_loadu_si512(p + i + 64), _mm512_loadu_si512(p + i + 64)) ^ flip;
    const uint64_t m2 = _mm512_test_epi8_mask(_mm512_loadu_si512(p + i + 128), _mm512_loadu_si512(p + i + 128)) ^ flip;
    const uint64_t m3 = _mm512_test_epi8_mask(_mm512_loadu_si512(p + i + 192), _mm512_loadu_si512(p + i + 192)) ^ flip;
    if ((m0 | m1 | m2 | m3) == 0) continue;
    if (m0) return i + ctz64(m0);
    if (m1) return i + 64 + ctz64(m1);
    if (m2) return i + 128 + ctz64(m2);
    return i + 192 + ctz64(m3);
  }
  for (; i + 64 <= len; i += 64) {
    const __m512i v = _mm512_loadu_si512(p + i);
    const uint64_t m = _mm512_cmpneq_epi8_mask(v, zero) ^ flip;
    if (m) return i + ctz64(m);
  }
  if (i < len) {
    const __mmask64 valid = _bzhi_u64(~uint64_t(0), static_cast<unsigned>(len - i));
    const __m512i v = _mm512_maskz_loadu_epi8(valid, p + i);
    const uint64_t m = (_mm512_cmpneq_epi8_mask(v, zero) ^ flip) & valid;
    if (m) return i + ctz64(m);
  }
  return len;
}

size_t row_changes_avx512(const uint8_t* row, uint64_t w, uint64_t* bits,
                                          uint32_t* changed) {
  size_t n = 0;
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) {
    const __m512i v = _mm512_loadu_si512(row + 64 * k);
    n = emit_changes(_mm512_test_epi8_mask(v, v), bits, k, changed, n);
  }
  if (k * 64 < w) {
    const __mmask64 valid = _bzhi_u64(~uint64_t(0), static_cast<unsigned>(w - 64 * k));
    const __m512i v = _mm512_maskz_loadu_epi8(valid, row + 64 * k);
    n = emit_changes(_mm512_test_epi8_mask(v, v), bits, k, changed, n);
  }
  return n;
}

void unpack_row_avx512(const uint64_t* bits, uint64_t w, uint8_t* row) {
  const __m512i one = _mm512_set1_epi8(1);
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) _mm512_storeu_si512(row + 64 * k, _mm512_maskz_mov_epi8(bits[k], one));
  if (k * 64 < w) {
    const __mmask64 valid = _bzhi_u64(~uint64_t(0), static_cast<unsigned>(w - 64 * k));
    _mm512_mask_storeu_epi8(row + 64 * k, valid, _mm512_maskz_mov_epi8(bits[k], one));
  }
}

// COCO strings: the AVX2 kernels (isa_kernels.hpp), compiled here as well.
using Avx512Strings = Avx2StringsOf<PextGather>;

// The groups of a COCO string value in one instruction (PDEP is fast where this table is
// used: see slow_pext in simd.cpp).
struct PdepSpread {
  static uint64_t spread(uint64_t v) { return _pdep_u64(v, 0x1F1F1F1F1F1F1F1Full); }
};

}  // namespace

extern const Kernels kAvx512Kernels = {
    find_byte_avx512,         row_changes_avx512,         unpack_row_avx512,
    string_values<Avx512Strings>, string_parse<Avx512Strings>, string_measure<Avx512Strings>,
    string_length_scalar, write_string_with<PdepSpread>, and_count_scalar, counts_box,
    decode_stream_avx2,
};

}  // namespace turborle
TURBORLE_TARGET_END
#endif  // TURBORLE_X86
