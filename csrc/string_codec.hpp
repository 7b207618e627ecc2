// The COCO compressed-string parser, a template over what is done with each count so that
// callers that only measure (area, bbox) never store counts. Internal header.
#pragma once

#include <cstddef>
#include <cstdint>

#include "errors.hpp"
#include "portable.hpp"
#include "turborle.hpp"

namespace turborle {

// The alphabet of COCO strings: '0' + a 6-bit group (5 value bits, 0x20 = more follow).
constexpr unsigned kFirst = '0', kAlphabetSize = 64, kBits = 5;

// A value of 13 groups (a delta needing more than 60 bits); throws unless it fits 64 bits.
TURBORLE_NOINLINE int64_t parse_long_value(const unsigned char* u, size_t len, size_t& p,
                                           size_t m, uint64_t total);

// The reference parser: parses and validates a COCO string of an (h, w) mask (alphabet,
// complete groups, no 64-bit overflow, no negative count, counts sum to h*w), calling
// sink(count) for each count, and throws an InputError naming the first problem (the byte,
// the count). The kernels' fast paths (Kernels::parse, Kernels::measure) fall back to it
// for anything unusual, so errors are this function's, byte for byte.
//
// The sink is taken and returned by value so that its state (a running area, say) stays in
// registers instead of making every count a store and a load in the caller's frame.
template <class Sink>
Sink parse_counts(const char* s, size_t len, uint64_t h, uint64_t w, Sink sink) {
  check_size(h, w);
  const uint64_t total = h * w;
  const auto* u = reinterpret_cast<const unsigned char*>(s);
  uint64_t sum = 0;
  size_t p = 0, m = 0;
  count_t before_last = 0, last = 0;  // counts m-2 and m-1
  auto emit = [&](int64_t value, size_t start) {
    if (m > 2) {
      // A 13-group value may be near 2^63: compare before adding (before_last <= total <= 2^62).
      if (value > static_cast<int64_t>(total - before_last))
        fail_value("counts sum to more than h*w", m, start, total);
      value += static_cast<int64_t>(before_last);
    }
    if (value < 0) fail_value("negative count", m, start, total);
    if (static_cast<uint64_t>(value) > total - sum)
      fail_value("counts sum to more than h*w", m, start, total);
    const count_t count = static_cast<count_t>(value);
    sum += count;
    sink(count);
    before_last = last;
    last = count;
    ++m;
  };
  while (p < len) {
    const size_t start = p;
    // Up to 12 groups (60 bits) accumulate exactly in 64 bits; longer values are rare.
    uint64_t x = 0;
    unsigned shift = 0, c;
    bool long_value = false;
    for (;;) {
      if (p == len) fail_truncated(start);
      c = static_cast<unsigned>(u[p]) - kFirst;
      if (c >= kAlphabetSize) fail_alphabet(u[p], p);
      if (shift == 60) {  // a 13th group
        long_value = true;
        break;
      }
      x |= static_cast<uint64_t>(c & 0x1f) << shift;
      shift += kBits;
      ++p;
      if (!(c & 0x20)) break;
    }
    if (TURBORLE_UNLIKELY(long_value)) {
      p = start;
      emit(parse_long_value(u, len, p, m, total), start);
    } else {
      if (c & 0x10) x |= ~uint64_t(0) << shift;  // sign-extend
      emit(static_cast<int64_t>(x), start);
    }
  }
  if (sum != total) fail_sum(sum, h, w);
  return sink;
}

}  // namespace turborle
