// COCO compressed counts string: validation, parsing and exact-size serialisation.
//
// Each count x (after subtracting counts[i-2] when i > 2, a quirk of the format) is written
// as little-endian 5-bit groups, one character '0' + group each; bit 0x20 of a character
// says another group follows, and bit 0x10 of the last group is the sign.
#include "string_codec.hpp"

#include <algorithm>
#include <string>

#include "batch_build.hpp"
#include "simd.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

constexpr int kMaxGroups = 13;  // 65 bits: every delta of two counts <= kMaxPixels fits

// Estimated cost of parsing or writing, for choosing threads.
constexpr uint64_t kNanosPerChar = 3;

}  // namespace

// The reference (scalar) kernels: the same results as every other table's.
size_t string_length(const count_t* counts, size_t m) {
  return kernels(Isa::kScalar).string_length(counts, m);
}

void write_string(const count_t* counts, size_t m, char* out) {
  kernels(Isa::kScalar).write_string(counts, m, out);
}

void parse_string(const char* s, size_t len, uint64_t h, uint64_t w, Counts& out,
                  Isa isa) {
  check_size(h, w);
  const Kernels& k = kernels(isa);
  const size_t base = out.size();
  out.resize(base + k.values(s, len));  // exact for a valid string
  if (k.parse(s, len, h * w, out.data() + base)) return;
  // Something unusual: the reference parser reports the error (or reads the long values).
  out.resize(base);
  parse_counts(s, len, h, w, [&out](count_t c) { out.push_back(c); });
}

int64_t parse_long_value(const unsigned char* u, size_t len, size_t& p, size_t m, uint64_t total) {
  // 13 groups hold 65 bits: bits 0..63 accumulate in x, bit 64 is the sign (0x10 of the last
  // group). The value fits 64 bits exactly when bit 63 equals the sign.
  const size_t start = p;
  uint64_t x = 0;
  int k = 0;
  unsigned c;
  do {
    if (p == len) fail_truncated(start);
    c = static_cast<unsigned>(u[p]) - kFirst;
    if (c >= kAlphabetSize) fail_alphabet(u[p], p);
    if (k == kMaxGroups) fail_too_long(start);
    x |= static_cast<uint64_t>(c & 0x1f) << (kBits * k);  // (group 12's bit 4 shifts out)
    ++p;
    ++k;
  } while (c & 0x20);
  const bool negative = (c & 0x10) != 0;
  if (negative != ((x >> 63) != 0)) fail_value("count out of range", m, start, total);
  return static_cast<int64_t>(x);
}

Batch read_sources(const Source* sources, size_t n, const Config& cfg) {
  // The output size first, then every mask parsed straight into its place: one allocation,
  // no per-chunk buffers to concatenate.
  const Kernels& k = kernels(cfg.isa);
  uint64_t work = 0;
  for (size_t i = 0; i < n; ++i) work += sources[i].counts ? sources[i].m : sources[i].len;
  const int threads = threads_for(cfg.threads, work * kNanosPerChar);
  Batch b;
  b.h.resize(n);
  b.w.resize(n);
  b.offsets.assign(n + 1, 0);
  parallel_chunks(n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      const Source& s = sources[i];
      b.h[i] = s.h;
      b.w[i] = s.w;
      b.offsets[i + 1] = s.counts ? s.m : k.values(s.data, s.len);  // exact when valid
    }
  });
  for (size_t i = 0; i < n; ++i) b.offsets[i + 1] += b.offsets[i];
  b.counts.resize(b.offsets[n]);
  parallel_chunks(n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      const Source& s = sources[i];
      count_t* out = b.counts.data() + b.offsets[i];
      naming("mask", i, [&] {
        if (s.counts) {
          check_counts(s.counts, s.m, s.h, s.w);
          std::copy(s.counts, s.counts + s.m, out);
          return;
        }
        check_size(s.h, s.w);
        if (k.parse(s.data, s.len, s.h * s.w, out)) return;
        // Something unusual: the reference parser reports the error, or reads the values of
        // more than eight groups (as many counts as value ends: the room made for them).
        const size_t room = b.offsets[i + 1] - b.offsets[i];
        size_t m = 0;
        parse_counts(s.data, s.len, s.h, s.w, [&](count_t c) {
          if (m == room) throw std::logic_error("more counts than value ends");  // (cannot be)
          out[m++] = c;
        });
      });
    }
  });
  return b;
}

void write_strings(BatchView b, std::string& out, std::vector<size_t>& offsets,
                   const Config& cfg) {
  offsets.assign(b.n + 1, 0);
  const Kernels& k = kernels(cfg.isa);
  const int threads = threads_for(cfg.threads, b.n ? b.offsets[b.n] * kNanosPerChar : 0);
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      RleRef r = b[i];
      offsets[i + 1] = k.string_length(r.counts, r.m);
    }
  });
  for (size_t i = 0; i < b.n; ++i) offsets[i + 1] += offsets[i];
  out.resize(offsets[b.n]);
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      RleRef r = b[i];
      k.write_string(r.counts, r.m, &out[offsets[i]]);
    }
  });
}

}  // namespace turborle
