// Shared helpers of the libFuzzer harnesses: a little-endian reader over the fuzz input,
// an oracle for the canonical form of counts, a naive dense decoder, and CHECK, which
// aborts (a crash libFuzzer records) with a message when a property fails.
//
// Contract under test: only std::invalid_argument may leave the core. Every harness catches
// exactly that; anything else (another exception, a sanitizer report, a failed CHECK) is a
// finding.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "turborle.hpp"

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)

namespace fuzz {

using turborle::count_t;

// Reads fixed-width little-endian fields from the front of the input; past the end every
// field reads as 0.
struct Reader {
  const uint8_t* p;
  size_t n;

  Reader(const uint8_t* data, size_t size) : p(data), n(size) {}
  uint64_t take(size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) {
      if (n == 0) break;
      v |= uint64_t(*p) << (8 * i);
      ++p;
      --n;
    }
    return v;
  }
  uint8_t u8() { return static_cast<uint8_t>(take(1)); }
  uint16_t u16() { return static_cast<uint16_t>(take(2)); }
  uint32_t u32() { return static_cast<uint32_t>(take(4)); }
  uint64_t u64() { return take(8); }
  double f64() {
    const uint64_t bits = u64();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  bool empty() const { return n == 0; }
};

// The configurations every differential check compares: the scalar reference and the best
// vector path of this CPU.
inline turborle::Config scalar_config(int threads = 1) { return {turborle::Isa::kScalar, threads}; }

// Every instruction set this CPU runs (the scalar reference first).
inline std::vector<turborle::Isa> isas() {
  std::vector<turborle::Isa> out{turborle::Isa::kScalar};
  const turborle::Isa best = turborle::detect_isa();
  if (best == turborle::Isa::kAvx512) out.push_back(turborle::Isa::kAvx2);
  if (best != turborle::Isa::kScalar) out.push_back(best);
  return out;
}
inline turborle::Config best_config(int threads = 1) { return {turborle::detect_isa(), threads}; }

// Canonical form of valid counts of a total-pixel mask: no zero run except possibly the
// first; {0} for an empty mask. Written independently of the core (run list, then merge).
inline turborle::Counts canonical(const count_t* c, size_t m, uint64_t total) {
  turborle::Counts out;
  if (total == 0) return {0};
  unsigned value = 0;  // value of the last run in out
  bool any = false;
  for (size_t j = 0; j < m; ++j) {
    if (c[j] == 0) continue;
    const unsigned v = j & 1;
    if (!any) {
      if (v == 1) out.push_back(0);
      out.push_back(c[j]);
      any = true;
    } else if (v == value) {
      out.back() += c[j];
    } else {
      out.push_back(c[j]);
    }
    value = v;
  }
  return out;
}
inline turborle::Counts canonical(const turborle::Counts& c, uint64_t total) {
  return canonical(c.data(), c.size(), total);
}

// Column-major 0/1 bytes of valid counts (the obvious way).
inline std::vector<uint8_t> dense(const count_t* c, size_t m, uint64_t total) {
  std::vector<uint8_t> out(total, 0);
  uint64_t pos = 0;
  for (size_t j = 0; j < m; ++j) {
    if ((j & 1) && c[j]) std::memset(out.data() + pos, 1, c[j]);
    pos += c[j];
  }
  return out;
}

// Counts of a column-major 0/1 stream (canonical).
inline turborle::Counts counts_of(const std::vector<uint8_t>& bits) {
  turborle::Counts out;
  uint8_t value = 0;
  count_t run = 0;
  for (uint8_t b : bits) {
    if ((b != 0) != (value != 0)) {
      out.push_back(run);
      run = 0;
      value = b != 0;
    }
    ++run;
  }
  out.push_back(run);
  return out;
}

inline bool same_batch(const turborle::Batch& a, const turborle::Batch& b) {
  return a.h == b.h && a.w == b.w && a.offsets == b.offsets && a.counts == b.counts;
}

inline turborle::Counts counts_of(const turborle::Batch& b, size_t i) {
  const turborle::RleRef r = b[i];
  return turborle::Counts(r.counts, r.counts + r.m);
}

}  // namespace fuzz
