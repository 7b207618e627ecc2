// COCO compressed counts string: validation, parsing and exact-size serialisation.
//
// Each count x (after subtracting counts[i-2] when i > 2, a quirk of the format) is written
// as little-endian 5-bit groups, one character '0' + group each; bit 0x20 of a character
// says another group follows, and bit 0x10 of the last group is the sign.
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "parse.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

constexpr int kMaxGroups = 13;  // 65 bits: every delta of two counts <= kMaxPixels fits

// The value written for count i.
inline int64_t delta(const count_t* counts, size_t i) {
  int64_t x = static_cast<int64_t>(counts[i]);
  if (i > 2) x -= static_cast<int64_t>(counts[i - 2]);
  return x;
}

// Characters needed for x: enough 5-bit groups to hold x in two's complement.
inline size_t groups(int64_t x) {
  uint64_t magnitude = static_cast<uint64_t>(x < 0 ? ~x : x);
  int bits = 65 - (magnitude ? __builtin_clzll(magnitude) : 64);  // value bits + sign bit
  return static_cast<size_t>((bits + kBits - 1) / kBits);
}

}  // namespace

std::string byte_repr(unsigned char c) {
  static const char* hex = "0123456789abcdef";
  if (c >= 0x20 && c < 0x7f) return std::string("'") + char(c) + "'";
  return std::string("0x") + hex[c >> 4] + hex[c & 15];
}

void check_one_size(BatchView b, const char* what) {
  for (size_t i = 1; i < b.n; ++i)
    if (b.h[i] != b.h[0] || b.w[i] != b.w[0])
      throw std::invalid_argument(std::string(what) + ": mask " + std::to_string(i) +
                                  " has size " + std::to_string(b.h[i]) + "x" +
                                  std::to_string(b.w[i]) + " but mask 0 has size " +
                                  std::to_string(b.h[0]) + "x" + std::to_string(b.w[0]) +
                                  "; masks must have one size");
}

void check_size(uint64_t h, uint64_t w) {
  if (h != 0 && w > kMaxPixels / h)
    throw std::invalid_argument("size " + std::to_string(h) + "x" + std::to_string(w) +
                                " is too large (more than 2^62 pixels)");
}

void check_counts(const count_t* counts, size_t m, uint64_t h, uint64_t w) {
  check_size(h, w);
  const uint64_t total = h * w;
  uint64_t sum = 0;
  for (size_t i = 0; i < m; ++i) {
    if (counts[i] > total - sum)
      throw std::invalid_argument("counts sum to more than h*w = " +
                                  std::to_string(total) + " (at count " + std::to_string(i) +
                                  ")");
    sum += counts[i];
  }
  if (sum != total)
    throw std::invalid_argument("counts sum to " + std::to_string(sum) +
                                ", not h*w = " + std::to_string(total));
}

void check_pixel_limit(uint64_t h, uint64_t w, const Config& cfg, size_t index) {
  check_size(h, w);
  if (h * w > cfg.max_pixels)
    throw std::invalid_argument("mask " + std::to_string(index) + ": " + std::to_string(h) + "x" +
                                std::to_string(w) + " = " + std::to_string(h * w) +
                                " pixels exceeds the limit of " + std::to_string(cfg.max_pixels) +
                                " pixels per mask (TURBORLE_MAX_PIXELS)");
}

size_t string_length(const count_t* counts, size_t m) {
  size_t n = 0;
  for (size_t i = 0; i < m; ++i) n += groups(delta(counts, i));
  return n;
}

void write_string(const count_t* counts, size_t m, char* out) {
  for (size_t i = 0; i < m; ++i) {
    int64_t x = delta(counts, i);
    for (size_t g = groups(x); g > 0; --g) {
      char c = static_cast<char>(x & 0x1f);
      x >>= kBits;  // arithmetic shift: negative values stay negative
      if (g > 1) c |= 0x20;
      *out++ = static_cast<char>(c + kFirst);
    }
  }
}

void parse_string(const char* s, size_t len, uint64_t h, uint64_t w,
                  std::vector<count_t>& out) {
  out.reserve(out.size() + len);  // at most one count per character (callers reserve for many)
  parse_counts(s, len, h, w, [&out](count_t c) { out.push_back(c); });  // (holds &out)
}

__int128 parse_long_value(const unsigned char* u, size_t len, size_t& p) {
  const size_t start = p;
  __int128 x = 0;
  int k = 0;
  unsigned c;
  do {
    if (p == len) fail_truncated(start);
    c = static_cast<unsigned>(u[p]) - kFirst;
    if (c >= kAlphabetSize) fail_alphabet(u[p], p);
    if (k == kMaxGroups)
      throw std::invalid_argument("value at byte " + std::to_string(start) +
                                  " is longer than 64 bits");
    x |= static_cast<__int128>(c & 0x1f) << (kBits * k);
    ++p;
    ++k;
  } while (c & 0x20);
  if (c & 0x10) x -= static_cast<__int128>(1) << (kBits * k);  // sign-extend
  return x;
}

void fail_truncated(size_t start) {
  throw std::invalid_argument("counts string ends inside a value (at byte " +
                              std::to_string(start) + ")");
}

void fail_alphabet(unsigned char c, size_t at) {
  throw std::invalid_argument("byte " + byte_repr(c) + " at offset " + std::to_string(at) +
                              " is outside the COCO alphabet '0'..'o'");
}

void fail_value(const char* why, size_t m, size_t start, uint64_t total) {
  throw std::invalid_argument(std::string(why) + " (count " + std::to_string(m) + " at byte " +
                              std::to_string(start) + ", h*w = " + std::to_string(total) + ")");
}

void fail_sum(uint64_t sum, uint64_t h, uint64_t w) {
  throw std::invalid_argument("counts sum to " + std::to_string(sum) + ", not h*w = " +
                              std::to_string(h * w) + " for size " + std::to_string(h) + "x" +
                              std::to_string(w));
}

Batch read_sources(const Source* sources, size_t n, const Config& cfg) {
  auto size_hint = [&](size_t i) { return sources[i].counts ? sources[i].m : sources[i].len; };
  return build_batch(n, cfg, size_hint, [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    const Source& s = sources[i];
    naming("mask", i, [&] {
      if (s.counts) {
        check_counts(s.counts, s.m, s.h, s.w);
        out.insert(out.end(), s.counts, s.counts + s.m);
      } else {
        parse_string(s.data, s.len, s.h, s.w, out);
      }
    });
    h = s.h;
    w = s.w;
  });
}

void write_strings(BatchView b, std::string& out, std::vector<size_t>& offsets,
                   const Config& cfg) {
  offsets.assign(b.n + 1, 0);
  parallel_chunks(b.n, cfg.threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      RleRef r = b[i];
      offsets[i + 1] = string_length(r.counts, r.m);
    }
  });
  for (size_t i = 0; i < b.n; ++i) offsets[i + 1] += offsets[i];
  out.resize(offsets[b.n]);
  parallel_chunks(b.n, cfg.threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      RleRef r = b[i];
      write_string(r.counts, r.m, &out[offsets[i]]);
    }
  });
}

Batch from_columns(const count_t* counts, size_t m, const uint64_t* offsets,
                   const uint64_t* h, const uint64_t* w, size_t n) {
  if (offsets[0] != 0) throw std::invalid_argument("offsets[0] must be 0");
  if (offsets[n] != m)
    throw std::invalid_argument("offsets[-1] = " + std::to_string(offsets[n]) +
                                " must equal the number of counts, " + std::to_string(m));
  for (size_t i = 0; i < n; ++i) {
    if (offsets[i + 1] < offsets[i])
      throw std::invalid_argument("offsets decrease at mask " + std::to_string(i));
    naming("mask", i, [&] { check_counts(counts + offsets[i], offsets[i + 1] - offsets[i], h[i], w[i]); });
  }
  Batch b;
  b.h.assign(h, h + n);
  b.w.assign(w, w + n);
  b.offsets.assign(offsets, offsets + n + 1);
  b.counts.assign(counts, counts + m);
  return b;
}

Batch take(BatchView b, const uint64_t* index, size_t k) {
  Batch out;
  for (size_t t = 0; t < k; ++t) {
    if (index[t] >= b.n)
      throw std::invalid_argument("index " + std::to_string(index[t]) + " out of range for " +
                                  std::to_string(b.n) + " masks");
    out.push(b[index[t]]);
  }
  return out;
}

void append(Batch& out, BatchView b) {
  for (size_t i = 0; i < b.n; ++i) out.push(b[i]);
}

}  // namespace turborle
