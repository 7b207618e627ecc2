// The NEON kernels (arm64): NEON is part of the architecture, so no target region is needed.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "portable.hpp"
#include "runs.hpp"
#include "simd.hpp"

#ifdef TURBORLE_ARM64
#include <arm_neon.h>

#include "isa_kernels.hpp"

namespace turborle {
namespace {

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

}  // namespace

extern const Kernels kNeonKernels = {
    find_byte_neon,         row_changes_scalar,         unpack_row_scalar,
    string_values<SwarStrings>, string_parse<SwarStrings>, string_measure<SwarStrings>,
    string_length_scalar, write_string_scalar, and_count_scalar, counts_box,
    nullptr,
};

}  // namespace turborle
#endif  // TURBORLE_ARM64
