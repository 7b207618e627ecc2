// Transition search over a byte stream: the inner loop of encode.
#include <cstring>

#include "kernels.hpp"

namespace turborle {

namespace {
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
}  // namespace

uint64_t find_byte(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero) {
  // Eight bytes at a time: a nonzero word has a nonzero byte; (u - 1s) & ~u & 0x80s flags
  // zero bytes, and its lowest flag is exact (little-endian, so the lowest is the first).
  for (; i + 8 <= len; i += 8) {
    uint64_t u;
    std::memcpy(&u, p + i, 8);
    const uint64_t hits = want_nonzero ? u : (u - kOnes) & ~u & kHighs;
    if (hits) return i + (__builtin_ctzll(hits) >> 3);
  }
  for (; i < len; ++i)
    if ((p[i] != 0) == want_nonzero) return i;
  return len;
}

}  // namespace turborle
