// Host-side pieces shared by both targets: element types, threshold keys and the wording of
// parse errors (status codes from the target turned into the CPU core's messages).
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "errors.hpp"
#include "gpu.hpp"

namespace turborle::gpu {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kBool:
    case DType::kUInt8:
      return 1;
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kFloat32:
      return 4;
  }
  throw std::invalid_argument("unknown element type");
}

bool dtype_is_float(DType t) {
  return t == DType::kFloat16 || t == DType::kBFloat16 || t == DType::kFloat32;
}

namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// float32 -> float16 bits, round to nearest even (inf for |x| >= 65520; NaN excluded).
uint32_t half_bits(uint32_t u) {
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and above (inf too)
  if (a >= 0x38800000u) {                       // normal: 2^-14 and above
    uint32_t h = (a - 0x38000000u) >> 13;
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return sign | h;
  }
  if (a <= 0x33000000u) return sign;  // 2^-25 and below round to zero
  const uint32_t exponent = a >> 23;  // 102 .. 112
  const uint32_t mantissa = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - exponent;  // 14 .. 24: units of 2^-24
  uint32_t h = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u))) ++h;
  return sign | h;
}

// float32 -> bfloat16 bits, round to nearest even (NaN excluded).
uint32_t bfloat16_bits(uint32_t u) { return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; }

int32_t key_of(uint32_t bits, uint32_t sign) {
  const uint32_t magnitude = bits & (sign - 1);
  return (bits & sign) ? -static_cast<int32_t>(magnitude) : static_cast<int32_t>(magnitude);
}

}  // namespace

int32_t threshold_key(double threshold, DType t) {
  if (!dtype_is_float(t)) return 0;
  if (std::isnan(threshold)) throw std::invalid_argument("threshold must not be NaN");
  // To float32 first (as torch converts a Python float), with IEEE overflow to infinity.
  constexpr double kOverflow = 0x1.ffffffp127;  // halfway between FLT_MAX and 2^128
  float f;
  if (threshold >= kOverflow)
    f = std::numeric_limits<float>::infinity();
  else if (threshold <= -kOverflow)
    f = -std::numeric_limits<float>::infinity();
  else
    f = static_cast<float>(threshold);
  const uint32_t u = float_bits(f);
  switch (t) {
    case DType::kFloat16:
      return key_of(half_bits(u), 0x8000u);
    case DType::kBFloat16:
      return key_of(bfloat16_bits(u), 0x8000u);
    default:
      return key_of(u, 0x80000000u);
  }
}

void throw_parse_error(const ParseError& e, const HostStrings& s) {
  // The CPU core's own error functions (csrc/errors.hpp): the same words, index and offset.
  const uint64_t h = s.heights[e.mask], w = s.widths[e.mask];
  naming("mask", static_cast<size_t>(e.mask), [&] {
    switch (e.kind) {
      case ParseError::kAlphabet: fail_alphabet(static_cast<unsigned char>(e.a), e.pos);
      case ParseError::kTruncated: fail_truncated(e.a);
      case ParseError::kTooLong: fail_too_long(e.a);
      case ParseError::kRange: fail_value("count out of range", e.b, e.a, h * w);
      case ParseError::kOverSum: fail_value("counts sum to more than h*w", e.b, e.a, h * w);
      case ParseError::kNegative: fail_value("negative count", e.b, e.a, h * w);
      case ParseError::kSum: fail_sum(e.a, h, w);
      default: throw InputError("invalid counts string");
    }
  });
  throw InputError("invalid counts string");  // (not reached: every case throws)
}

}  // namespace turborle::gpu
