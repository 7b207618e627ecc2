#include "simd.hpp"

#include "portable.hpp"

#include <cstring>
#include <stdexcept>

#if defined(__x86_64__) || defined(_M_X64)
#define TURBORLE_X86 1
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#define TURBORLE_NEON 1
#include <arm_neon.h>
#endif

namespace turborle {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// ---- scalar (the reference) ---------------------------------------------------------------

uint64_t find_byte_scalar(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero) {
  // Eight bytes at a time: a nonzero word has a nonzero byte; (u - 1s) & ~u & 0x80s flags
  // zero bytes, and its lowest flag is exact (little-endian: the lowest is the first).
  for (; i + 8 <= len; i += 8) {
    uint64_t u;
    std::memcpy(&u, p + i, 8);
    const uint64_t hits = want_nonzero ? u : (u - kOnes) & ~u & kHighs;
    if (hits) return i + (ctz64(hits) >> 3);
  }
  for (; i < len; ++i)
    if ((p[i] != 0) == want_nonzero) return i;
  return len;
}

void pack_row_scalar(const uint8_t* row, uint64_t w, uint64_t* bits) {
  const uint64_t words = (w + 63) / 64;
  for (uint64_t k = 0; k < words; ++k) {
    const uint64_t n = (k + 1) * 64 <= w ? 64 : w - k * 64;
    const uint8_t* p = row + k * 64;
    uint64_t b = 0;
    for (uint64_t j = 0; j < n; ++j) b |= uint64_t(p[j] != 0) << j;
    bits[k] = b;
  }
}

// The per-word step of row_changes, shared by every instruction set.
inline size_t emit_changes(uint64_t cur, uint64_t* bits, uint64_t k, uint32_t* changed,
                           size_t n) {
  for (uint64_t d = cur ^ bits[k]; d; d &= d - 1)
    changed[n++] = static_cast<uint32_t>(k * 64 + ctz64(d));
  bits[k] = cur;
  return n;
}

size_t row_changes_scalar(const uint8_t* row, uint64_t w, uint64_t* bits, uint32_t* changed) {
  size_t n = 0;
  for (uint64_t k = 0; k * 64 < w; ++k) {
    uint64_t cur;
    pack_row_scalar(row + 64 * k, std::min<uint64_t>(64, w - 64 * k), &cur);
    n = emit_changes(cur, bits, k, changed, n);
  }
  return n;
}

void unpack_row_scalar(const uint64_t* bits, uint64_t w, uint8_t* row) {
  for (uint64_t x = 0; x < w; ++x) row[x] = (bits[x >> 6] >> (x & 63)) & 1;
}

// ---- AVX2 ------------------------------------------------------------------------------------

#ifdef TURBORLE_X86
#if defined(_MSC_VER) && !defined(__clang__)
// MSVC compiles AVX2 / AVX-512 intrinsics in any function: no target attributes needed.
#define TURBORLE_AVX2
#define TURBORLE_AVX512
#else
#define TURBORLE_AVX2 __attribute__((target("avx2,bmi,bmi2,popcnt")))
#define TURBORLE_AVX512 __attribute__((target("avx512f,avx512bw,avx2,bmi,bmi2,popcnt")))
#endif

TURBORLE_AVX2 inline uint32_t nonzero32(const uint8_t* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i z = _mm256_cmpeq_epi8(v, _mm256_setzero_si256());
  return ~static_cast<uint32_t>(_mm256_movemask_epi8(z));
}

TURBORLE_AVX2 uint64_t find_byte_avx2(const uint8_t* p, uint64_t i, uint64_t len,
                                      bool want_nonzero) {
  const uint64_t flip = want_nonzero ? 0 : ~uint64_t(0);
  for (; i + 64 <= len; i += 64) {
    const uint64_t m = (uint64_t(nonzero32(p + i)) | uint64_t(nonzero32(p + i + 32)) << 32) ^ flip;
    if (m) return i + ctz64(m);
  }
  return find_byte_scalar(p, i, len, want_nonzero);
}

TURBORLE_AVX2 size_t row_changes_avx2(const uint8_t* row, uint64_t w, uint64_t* bits,
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

TURBORLE_AVX2 inline __m256i expand32(uint32_t b) {
  // Byte j of the result is 1 if bit j of b is set.
  const __m256i shuffle = _mm256_setr_epi64x(0x0000000000000000ll, 0x0101010101010101ll,
                                             0x0202020202020202ll, 0x0303030303030303ll);
  const __m256i select = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(b)), shuffle);
  v = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
  return _mm256_and_si256(v, _mm256_set1_epi8(1));
}

TURBORLE_AVX2 void unpack_row_avx2(const uint64_t* bits, uint64_t w, uint8_t* row) {
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) {
    const uint64_t b = bits[k];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 64 * k), expand32(uint32_t(b)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(row + 64 * k + 32), expand32(uint32_t(b >> 32)));
  }
  if (k * 64 < w) unpack_row_scalar(bits + k, w - 64 * k, row + 64 * k);
}

// ---- AVX-512 ---------------------------------------------------------------------------------

TURBORLE_AVX512 uint64_t find_byte_avx512(const uint8_t* p, uint64_t i, uint64_t len,
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

TURBORLE_AVX512 size_t row_changes_avx512(const uint8_t* row, uint64_t w, uint64_t* bits,
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

TURBORLE_AVX512 void unpack_row_avx512(const uint64_t* bits, uint64_t w, uint8_t* row) {
  const __m512i one = _mm512_set1_epi8(1);
  uint64_t k = 0;
  for (; (k + 1) * 64 <= w; ++k) _mm512_storeu_si512(row + 64 * k, _mm512_maskz_mov_epi8(bits[k], one));
  if (k * 64 < w) {
    const __mmask64 valid = _bzhi_u64(~uint64_t(0), static_cast<unsigned>(w - 64 * k));
    _mm512_mask_storeu_epi8(row + 64 * k, valid, _mm512_maskz_mov_epi8(bits[k], one));
  }
}
#endif  // TURBORLE_X86

// ---- NEON ------------------------------------------------------------------------------------

#ifdef TURBORLE_NEON
inline uint64_t nonzero_nibbles(const uint8_t* p) {
  // 16 bytes -> 64-bit word with 4 bits per byte (all set where the byte is nonzero).
  const uint8x16_t v = vtstq_u8(vld1q_u8(p), vld1q_u8(p));
  return vget_lane_u64(vreinterpret_u64_u8(vshrn_n_u16(vreinterpretq_u16_u8(v), 4)), 0);
}

uint64_t find_byte_neon(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero) {
  const uint64_t flip = want_nonzero ? 0 : ~uint64_t(0);
  for (; i + 16 <= len; i += 16) {
    const uint64_t m = nonzero_nibbles(p + i) ^ flip;
    if (m) return i + (ctz64(m) >> 2);
  }
  return find_byte_scalar(p, i, len, want_nonzero);
}
#endif

}  // namespace

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
#ifdef TURBORLE_NEON
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

uint64_t find_byte(Isa isa, const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero) {
  switch (isa) {
#ifdef TURBORLE_X86
    case Isa::kAvx512: return find_byte_avx512(p, i, len, want_nonzero);
    case Isa::kAvx2: return find_byte_avx2(p, i, len, want_nonzero);
#endif
#ifdef TURBORLE_NEON
    case Isa::kNeon: return find_byte_neon(p, i, len, want_nonzero);
#endif
    default: return find_byte_scalar(p, i, len, want_nonzero);
  }
}

void unpack_row(Isa isa, const uint64_t* bits, uint64_t w, uint8_t* row) {
  switch (isa) {
#ifdef TURBORLE_X86
    case Isa::kAvx512: return unpack_row_avx512(bits, w, row);
    case Isa::kAvx2: return unpack_row_avx2(bits, w, row);
#endif
    default: return unpack_row_scalar(bits, w, row);
  }
}

size_t row_changes(Isa isa, const uint8_t* row, uint64_t w, uint64_t* bits, uint32_t* changed) {
  switch (isa) {
#ifdef TURBORLE_X86
    case Isa::kAvx512: return row_changes_avx512(row, w, bits, changed);
    case Isa::kAvx2: return row_changes_avx2(row, w, bits, changed);
#endif
    default: return row_changes_scalar(row, w, bits, changed);
  }
}

}  // namespace turborle
