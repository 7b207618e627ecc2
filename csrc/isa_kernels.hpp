// The kernel algorithms, written once over an instruction set's primitives; each isa_*.cpp
// includes this inside its target region (see portable.hpp) and fills its Kernels table from
// it. Everything here has internal linkage, so each file's copy is compiled for its own set
// and none can stand in for another's. Include only after the headers listed in isa_scalar.cpp.
#pragma once

namespace turborle {
namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// ---- scalar kernels (the reference; also the tails of the vector ones) ----------------------

inline uint64_t find_byte_scalar(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero) {
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

inline void pack_row_scalar(const uint8_t* row, uint64_t w, uint64_t* bits) {
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

inline size_t row_changes_scalar(const uint8_t* row, uint64_t w, uint64_t* bits, uint32_t* changed) {
  size_t n = 0;
  for (uint64_t k = 0; k * 64 < w; ++k) {
    uint64_t cur = 0;
    pack_row_scalar(row + 64 * k, std::min<uint64_t>(64, w - 64 * k), &cur);
    n = emit_changes(cur, bits, k, changed, n);
  }
  return n;
}

inline void unpack_row_scalar(const uint64_t* bits, uint64_t w, uint8_t* row) {
  for (uint64_t x = 0; x < w; ++x) row[x] = (bits[x >> 6] >> (x & 63)) & 1;
}

// ---- COCO strings -----------------------------------------------------------------------------
// A string is read 64 bytes at a time: first a bitmap of the bytes that end a value (bit 0x20
// of byte - '0' clear) with the whole block validated, then each value with one 8-byte load at
// its start, its 5-bit groups gathered without a loop over its bytes. Neither the byte loop's
// branches nor a chain through the input position bound the speed. An instruction set
// provides P::ends (the bitmap of a full 64-byte block, setting `bad` for a byte outside
// '0'..'o') and P::gather (the groups of a value's first `groups` bytes, each byte already
// minus '0', as one value whose sign is bit 4 of the last group).

// Counts are resolved from the values a block of 64 bytes holds in a second, separate pass:
// count m = value m + count m-2 for m > 2 (the format's quirk), each count in [0, h*w], their
// sum h*w. Keeping it apart from decoding lets an instruction set resolve four counts at once.
struct Resolved {
  uint64_t before_last = 0, last = 0;  // counts m-2 and m-1
  uint64_t sum = 0, area = 0;          // of the counts so far; area: the odd-numbered ones
  size_t m = 0;                        // counts so far
  bool bad = false;                    // a count out of range: the string is not valid
};

// One count at a time (the reference, and the ends of the vector versions).
inline void resolve_scalar(int64_t* v, size_t k, uint64_t total, Resolved& r) {
  for (size_t j = 0; j < k; ++j) {
    // Wrapping arithmetic: a negative or too large count shows as more than what is left.
    const uint64_t count = static_cast<uint64_t>(v[j]) + (r.m > 2 ? r.before_last : 0);
    if (count > total - r.sum) r.bad = true;
    r.sum += count;
    r.area += (r.m & 1) ? count : 0;
    v[j] = static_cast<int64_t>(count);
    r.before_last = r.last;
    r.last = count;
    ++r.m;
  }
}

#ifdef TURBORLE_KERNELS_AVX2
// Four counts at once (AVX2). For counts i..i+3 and deltas d: c[i] = d[i] + c[i-2],
// c[i+1] = d[i+1] + c[i-1], c[i+2] = d[i+2] + d[i] + c[i-2], c[i+3] = d[i+3] + d[i+1] + c[i-1]:
// the deltas, plus themselves moved up two lanes, plus the carried pair (c[i-2], c[i-1]).
// Checks: every count in [0, total] and every lane's running sum at most total (so nothing
// wraps: deltas here are below 2^40 and total at most 2^62); the lanes' sums are added to the
// scalar sum with the same checks at the end.
template <class In>
inline void resolve_avx2(const In* in, int64_t* out, size_t k, uint64_t total, Resolved& r) {
  size_t j = 0;
  for (; j < k && r.m < 3; ++j) {  // counts 0..2 add nothing
    int64_t one = in[j];
    resolve_scalar(&one, 1, total, r);
    if (out) out[j] = one;
  }
  if (k - j >= 4) {
    const __m256i limit = _mm256_set1_epi64x(static_cast<int64_t>(total));
    const __m256i zero = _mm256_setzero_si256();
    // Lanes whose count number is odd (they make the area).
    const __m256i odd = (r.m & 1) ? _mm256_setr_epi64x(-1, 0, -1, 0) : _mm256_setr_epi64x(0, -1, 0, -1);
    __m256i carry = _mm256_setr_epi64x(static_cast<int64_t>(r.before_last), static_cast<int64_t>(r.last),
                                       static_cast<int64_t>(r.before_last), static_cast<int64_t>(r.last));
    __m256i sums = zero, area = zero, bad = zero, counts = zero;
    const size_t first = j;
    for (; j + 4 <= k; j += 4) {
      __m256i d;
      if constexpr (sizeof(In) == 2)
        d = _mm256_cvtepi16_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + j)));
      else
        d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + j));
      const __m256i up = _mm256_blend_epi32(_mm256_permute4x64_epi64(d, 0x40), zero, 0x0f);
      const __m256i local = _mm256_add_epi64(d, up);  // the counts less the carried pair
      counts = _mm256_add_epi64(local, carry);
      sums = _mm256_add_epi64(sums, counts);
      bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi64(counts, limit),
                                                 _mm256_cmpgt_epi64(zero, counts)));
      bad = _mm256_or_si256(bad, _mm256_cmpgt_epi64(sums, limit));
      area = _mm256_add_epi64(area, _mm256_and_si256(counts, odd));
      if (out) _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j), counts);
      // (c[i+2], c[i+3], c[i+2], c[i+3]): the carry has that form already, so the next one is
      // the carry plus local's top pair, and the loop-carried chain is one addition (the
      // shuffle of counts it replaces put the shuffle's latency on the chain as well).
      carry = _mm256_add_epi64(carry, _mm256_permute4x64_epi64(local, 0xee));
    }
    if (!_mm256_testz_si256(bad, bad)) r.bad = true;
    alignas(32) uint64_t lane[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lane), sums);
    for (uint64_t sum : lane) {
      if (sum > total - r.sum) r.bad = true;
      r.sum += sum;
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(lane), area);
    r.area += lane[0] + lane[1] + lane[2] + lane[3];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lane), counts);
    r.before_last = lane[2];
    r.last = lane[3];
    r.m += j - first;
  }
  for (; j < k; ++j) {
    int64_t one = in[j];
    resolve_scalar(&one, 1, total, r);
    if (out) out[j] = one;
  }
}
#endif

// Decodes the values that end in the 64 bytes at u + block (a value may start in an earlier
// block) as int64 into out, one at a time; returns how many, or SIZE_MAX on anything unusual:
// a value of more than eight groups. Reads 8 bytes from the start of each value, so u holds 8
// bytes past the block (the caller pads the end of a string).
template <class Gather>
inline size_t decode_values(const unsigned char* u, size_t block, uint64_t ends, size_t& start,
                            int64_t* out) {
  size_t k = 0;
  for (; ends; ends &= ends - 1) {
    const size_t stop = block + static_cast<size_t>(ctz64(ends));
    const size_t groups = stop + 1 - start;
    if (groups > 8) return SIZE_MAX;
    uint64_t word;
    std::memcpy(&word, u + start, 8);
    out[k++] = Gather::gather(word - 0x30 * kOnes, static_cast<unsigned>(groups));
    start = stop + 1;
  }
  return k;
}

// One block the portable way: its values decoded one by one into `counts` (room for 64) and
// resolved there in place.
template <class P>
inline bool block_one_by_one(const unsigned char* u, size_t block, uint64_t ends, size_t& start,
                             uint64_t total, Resolved& r, int64_t* counts) {
  const size_t k = decode_values<P>(u, block, ends, start, counts);
  if (k == SIZE_MAX) return false;
  P::resolve(counts, k, total, r);
  return !r.bad;
}

// Portable primitives (SWAR).
struct SwarStrings {
  static constexpr bool kValues16 = false;  // (see string_counts)
  static uint64_t ends(const unsigned char* block, bool& bad) {
    uint64_t invalid = 0, ends = 0;
    for (int k = 0; k < 8; ++k) {
      uint64_t word;
      std::memcpy(&word, block + 8 * k, 8);
      // Below 0x30, above 0x6f, or above 0x7f: the high bit of a byte of these flags it.
      invalid |= (~((word | kHighs) - 0x30 * kOnes) | ((word & ~kHighs) + 0x10 * kOnes) | word);
      // Bit 5 of (byte - 0x30) clear: moved to bit 0 of each byte, the 8 gathered into a byte.
      const uint64_t end_bytes = (~(word - 0x30 * kOnes) >> 5) & kOnes;
      ends |= ((end_bytes * 0x0102040810204080ull) >> 56) << (8 * k);
    }
    if (invalid & kHighs) bad = true;
    return ends;
  }

  static void resolve(int64_t* v, size_t k, uint64_t total, Resolved& r) {
    resolve_scalar(v, k, total, r);
  }

  static bool block(const unsigned char* u, size_t at, uint64_t ends, size_t& start,
                    uint64_t total, Resolved& r, int64_t* counts) {
    int64_t local[64];
    return block_one_by_one<SwarStrings>(u, at, ends, start, total, r, counts ? counts : local);
  }

  static int64_t gather(uint64_t v, unsigned groups) {
    uint64_t x = v & 0x1f1f1f1f1f1f1f1full;
    x = (x & 0x001f001f001f001full) | ((x >> 3) & 0x03e003e003e003e0ull);  // 10 bits per 16
    x = (x & 0x000003ff000003ffull) | ((x >> 6) & 0x000ffc00000ffc00ull);  // 20 bits per 32
    x = (x & 0x00000000000fffffull) | ((x >> 12) & 0x000000fffff00000ull);  // 40 bits
    const unsigned unused = 64 - 5 * groups;
    return static_cast<int64_t>(x << unused) >> unused;
  }
};

// The bitmap of a block's value ends; a block past the end of the string is padded with '0'
// (a valid value end) whose bits are dropped.
template <class P>
inline uint64_t block_ends(const unsigned char* u, size_t len, size_t block, bool& bad) {
  if (len - block >= 64) return P::ends(u + block, bad);
  unsigned char padded[64];
  std::memset(padded, '0', 64);
  std::memcpy(padded, u + block, len - block);
  return P::ends(padded, bad) & ((uint64_t(1) << (len - block)) - 1);
}

template <class P>
inline size_t string_values(const char* s, size_t len) {
  const auto* u = reinterpret_cast<const unsigned char*>(s);
  size_t n = 0;
  bool bad = false;
  for (size_t block = 0; block < len; block += 64)
    n += static_cast<size_t>(popcount64(block_ends<P>(u, len, block, bad)));
  return n;
}

// Calls each(counts, k) with every block's counts (when Each wants them: see below); false for
// anything unusual (see Kernels::parse). P::block decodes and resolves the values ending in one
// 64-byte block, writing the counts to `counts` when it is set; where P decodes int16 values
// (P::kValues16), P::values16 decodes them instead and P::resolve_longs resolves a block that
// holds a value too long for int16. `out`, when set, receives all counts (room for them all);
// otherwise they go through a buffer of one block, and only when each() uses them. Blocks
// read in place are preceded and followed by 8 readable bytes of the string; the first and
// the last blocks are copied into a buffer padded with '0' (a value that ends: it continues
// nothing) on both sides, their padding's ends masked off.
constexpr size_t kPending = 256;  // int16 values resolved together (string_counts)

template <class P, bool kWantCounts, class Each>
inline bool string_counts(const char* s, size_t len, uint64_t total, int64_t* out, Resolved& r,
                          Each&& each) {
  const auto* u = reinterpret_cast<const unsigned char*>(s);
  // Without `out`, counts gather in `buffer` and go to each() a few blocks at a time (a call
  // per block cost as much as the box it fed).
  constexpr size_t kBuffered = 512;
  int64_t buffer[kWantCounts ? kBuffered + kPending + 64 : 1];
  size_t buffered = 0;
  size_t start = 0;  // first byte of the next value
  // Counts of r.m - k .. r.m - 1, just resolved at `counts`, to each().
  auto give = [&](int64_t* counts, size_t k) {
    if constexpr (kWantCounts) {
      if (out) return each(counts, k);
      buffered += k;
      if (buffered >= kBuffered) {
        each(buffer, buffered);
        buffered = 0;
      }
    }
  };
  auto room = [&] { return out ? out + r.m : (kWantCounts ? buffer + buffered : nullptr); };
  // Where P decodes a block's values as int16 (P::kValues16), the values of several blocks
  // wait in `pending` and are resolved together: resolving costs a fixed amount per call.
  int16_t pending[P::kValues16 ? kPending + 64 + 8 : 1];
  size_t waiting = 0;
  auto settle = [&] {
    if constexpr (P::kValues16) {
      if (waiting == 0) return true;
      int64_t* counts = room();
      const size_t before = r.m;
      P::resolve16(pending, counts, waiting, total, r);
      waiting = 0;
      if (r.bad) return false;
      give(counts, r.m - before);
    }
    return true;
  };
  auto run = [&](const unsigned char* base, size_t at, uint64_t mask) {
    bool bad = false;
    const uint64_t ends = P::ends(base + at, bad) & mask;
    if (bad) return false;
    int64_t* counts;
    size_t before;
    if constexpr (P::kValues16) {
      uint64_t longs;
      int16_t* values = pending + waiting;
      const size_t k = P::values16(base, at, ends, start, values, longs);
      if (!longs) {
        waiting += k;
        return waiting < kPending || settle();
      }
      // A value of four or more groups: the values before are resolved, then this block's
      // from the int16 values just made, its long values read again.
      if (!settle()) return false;
      counts = room();
      before = r.m;
      if (!P::resolve_longs(base, at, ends, longs, start, values, k, total, r, counts))
        return false;
    } else {
      counts = room();
      before = r.m;
      if (!P::block(base, at, ends, start, total, r, counts)) return false;
    }
    give(counts, r.m - before);
    return true;
  };
  auto flush = [&] {
    if (!settle()) return false;
    if (kWantCounts && !out && buffered) each(buffer, buffered);
    return true;
  };
  // A padded copy of [from, to) (fewer than 64 + 72 bytes): its bytes start at offset 8 of
  // `padded`, which holds whole blocks of them and 8 bytes on either side.
  unsigned char padded[8 + 3 * 64 + 8];
  auto pad = [&](size_t from, size_t to) {
    std::memset(padded, '0', sizeof padded);
    std::memcpy(padded + 8, u + from, to - from);
    return padded + 8;
  };
  // After a block, the value still open (if any) may not already span more than 8 bytes:
  // that keeps the tail below within its buffer.
  size_t block = 0;
  if (len >= 64 + 72) {  // the first block from a copy, then in place up to the last 72 bytes
    if (!run(pad(0, 64 + 8), 0, ~uint64_t(0)) || start + 8 < 64) return false;
    for (block = 64; block + 72 <= len; block += 64)
      if (!run(u, block, ~uint64_t(0)) || start + 8 < block + 64) return false;
  }
  if (block < len) {  // the rest, from the first unfinished value (at most 8 bytes back)
    const size_t from = start, n = len - from;  // n < 64 + 72
    const unsigned char* tail = pad(from, len);
    start = 0;
    for (size_t at = 0; at < n; at += 64)
      if (!run(tail, at, n - at >= 64 ? ~uint64_t(0) : (uint64_t(1) << (n - at)) - 1))
        return false;
    start += from;
  }
  return flush() && start == len && r.sum == total;
}

template <class P>
inline bool string_parse(const char* s, size_t len, uint64_t total, uint64_t* out) {
  Resolved r;
  return string_counts<P, false>(s, len, total, reinterpret_cast<int64_t*>(out), r,
                                 [](const int64_t*, size_t) {});
}

// DivisionBox fed a chunk of counts at a time, on AVX2 four (foreground, background) pairs at
// a time: their start positions by a prefix sum across the lanes, their rows in double
// precision (exact below 2^52 pixels, as DivisionBox's), the minimum and maximum rows and the
// last foreground pixel kept in vectors across chunks. Pairs go one at a time until the first
// foreground pixel is found; what is left at the end of a chunk (fewer than four pairs) is
// carried into the next, so that chunks of a few tens of counts (the string parser's blocks)
// still go four pairs at a time.
class BoxAdder {
 public:
  // total: the mask's pixels (h * w).
  BoxAdder(uint64_t h, uint64_t total) : b_(h) {
#ifdef TURBORLE_KERNELS_AVX2
    small_ = total < kSmall;
#else
    (void)total;
#endif
  }
  template <class C>
  void add(const C* counts, size_t k, size_t first) {  // as DivisionBox::add
    size_t j = 0;
#ifdef TURBORLE_KERNELS_AVX2
    if (carried_ > 0) {  // this chunk continues the pairs carried from the last one
      while (j < k && carried_ < 8) carry_[carried_++] = static_cast<uint64_t>(counts[j++]);
      if (carried_ < 8) return;
      vector_pairs(carry_, 0, 8);
      carried_ = 0;
      first = 1;  // (j is at a foreground count now)
    }
#endif
    if (!(first & 1) && k) b_.pos += static_cast<uint64_t>(counts[j++]);
    for (; j < k && b_.first == UINT64_MAX; j += 2) b_.pairs(counts, j, std::min(j + 2, k));
#ifdef TURBORLE_KERNELS_AVX2
    if (j < k) {  // (the first foreground pixel is known: all pairs go in vectors)
      if (small_) j = vector_pairs32(counts, j, k);
      j = vector_pairs(counts, j, k);
      while (j < k) carry_[carried_++] = static_cast<uint64_t>(counts[j++]);
    }
#endif
    b_.pairs(counts, j, k);  // (on AVX2, nothing is left: j >= k)
  }
  Box finish() {
#ifdef TURBORLE_KERNELS_AVX2
    b_.pairs(carry_, 0, carried_);
    alignas(32) double v[3][4];
    _mm256_store_pd(v[0], ys_);
    _mm256_store_pd(v[1], ye_);
    _mm256_store_pd(v[2], last_);
    for (int lane = 0; lane < 4; ++lane) {
      if (v[0][lane] < 1.8e19) b_.ys = std::min(b_.ys, static_cast<uint64_t>(v[0][lane]));
      b_.ye = std::max(b_.ye, static_cast<uint64_t>(v[1][lane]));
      b_.last = std::max(b_.last, static_cast<uint64_t>(v[2][lane]));
    }
    if (small_) {
      alignas(32) float f[2][8];
      alignas(32) int32_t past[8];
      _mm256_store_ps(f[0], ys32_);
      _mm256_store_ps(f[1], ye32_);
      _mm256_store_si256(reinterpret_cast<__m256i*>(past), past32_);
      for (int lane = 0; lane < 8; ++lane) {
        if (f[0][lane] < 1e30f) b_.ys = std::min(b_.ys, static_cast<uint64_t>(f[0][lane]));
        if (f[1][lane] > 0) b_.ye = std::max(b_.ye, static_cast<uint64_t>(f[1][lane]) - 1);
        if (past[lane] > 0) b_.last = std::max(b_.last, static_cast<uint64_t>(past[lane]) - 1);
      }
    }
#endif
    return b_.finish();
  }

 private:
#ifdef TURBORLE_KERNELS_AVX2
  template <class C>
  size_t vector_pairs(const C* counts, size_t j, size_t k) {
    const __m256i magic_bits = _mm256_set1_epi64x(0x4330000000000000ll);  // 2^52 as a double
    const __m256d magic = _mm256_set1_pd(4503599627370496.0), zero = _mm256_setzero_pd();
    const __m256d h = _mm256_set1_pd(static_cast<double>(b_.h)), inverse = _mm256_set1_pd(b_.inverse);
    const __m256d one = _mm256_set1_pd(1.0), none = _mm256_set1_pd(18446744073709551616.0);
    auto as_double = [&](__m256i x) {  // x < 2^52
      return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(x, magic_bits)), magic);
    };
    __m256i pos = _mm256_set1_epi64x(static_cast<long long>(b_.pos));
    __m256d ys = ys_, ye = ye_, last = last_;  // (in registers: vectors may alias the counts)
    for (; j + 8 <= k; j += 8) {
      const __m256i p = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(counts + j));
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(counts + j + 4));
      const __m256i fg = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(p, q), _MM_SHUFFLE(3, 1, 2, 0));
      const __m256i bg = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(p, q), _MM_SHUFFLE(3, 1, 2, 0));
      const __m256i step = _mm256_add_epi64(fg, bg);
      __m256i sum = _mm256_add_epi64(step, _mm256_blend_epi32(
          _mm256_permute4x64_epi64(step, _MM_SHUFFLE(2, 1, 0, 0)), _mm256_setzero_si256(), 0x03));
      sum = _mm256_add_epi64(sum, _mm256_blend_epi32(
          _mm256_permute4x64_epi64(sum, _MM_SHUFFLE(1, 0, 0, 0)), _mm256_setzero_si256(), 0x0f));
      const __m256d start = as_double(_mm256_add_epi64(pos, _mm256_sub_epi64(sum, step)));
      pos = _mm256_add_epi64(pos, _mm256_permute4x64_epi64(sum, _MM_SHUFFLE(3, 3, 3, 3)));
      const __m256d c = as_double(fg);
      __m256d row = _mm256_sub_pd(start, _mm256_mul_pd(_mm256_floor_pd(_mm256_mul_pd(start, inverse)), h));
      row = _mm256_add_pd(row, _mm256_and_pd(_mm256_cmp_pd(row, zero, _CMP_LT_OQ), h));
      row = _mm256_sub_pd(row, _mm256_and_pd(_mm256_cmp_pd(row, h, _CMP_GE_OQ), h));
      const __m256d end = _mm256_add_pd(row, c);  // one past the run's last row, if it fits
      const __m256d across = _mm256_cmp_pd(end, h, _CMP_GT_OQ);
      const __m256d valid = _mm256_cmp_pd(c, zero, _CMP_GT_OQ);
      ys = _mm256_min_pd(ys, _mm256_blendv_pd(none, _mm256_andnot_pd(across, row), valid));
      const __m256d bottom = _mm256_blendv_pd(end, h, across);
      ye = _mm256_max_pd(ye, _mm256_and_pd(valid, _mm256_sub_pd(bottom, one)));
      last = _mm256_max_pd(last, _mm256_and_pd(valid, _mm256_sub_pd(_mm256_add_pd(start, c), one)));
    }
    ys_ = ys;
    ye_ = ye;
    last_ = last;
    b_.pos = static_cast<uint64_t>(_mm256_extract_epi64(pos, 0));
    return j;
  }
  // Masks of fewer than 2^23 pixels: eight pairs at a time in 32-bit lanes, rows in single
  // precision. Every position, row and product below is an integer under 2^24, so exact.
  // The quotient of a position p by h comes from p * fl(1/h), within a relative 2^-23 of
  // p / h: it can fall below the true quotient (p a multiple of h, read as k - 1: the row is
  // then h, corrected), but never reach the next integer, which is 1/h above and would need
  // p >= 2^23. Lanes as vector_pairs', but the last foreground pixel and the bottom row are
  // kept one past their value (0: none).
  static constexpr uint64_t kSmall = uint64_t(1) << 23;
  template <class C>
  size_t vector_pairs32(const C* counts, size_t j, size_t k) {
    const __m256 h = _mm256_set1_ps(static_cast<float>(b_.h));
    const __m256 inverse = _mm256_set1_ps(1.0f / static_cast<float>(b_.h));
    const __m256 none = _mm256_set1_ps(1e38f);
    const __m256i in_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i pos = _mm256_set1_epi32(static_cast<int32_t>(b_.pos));
    __m256 ys = ys32_, ye = ye32_;
    __m256i past = past32_;
    auto load = [&](size_t at) {  // four counts, their low halves at 32-bit lanes 0, 2, 4, 6
      return _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(counts + at)));
    };
    for (; j + 16 <= k; j += 16) {
      // counts j .. j+15: the low halves of pairs 0, 2, 4, 6, 1, 3, 5, 7, then in order.
      const __m256 x = _mm256_shuffle_ps(load(j), load(j + 4), _MM_SHUFFLE(2, 0, 2, 0));
      const __m256 y = _mm256_shuffle_ps(load(j + 8), load(j + 12), _MM_SHUFFLE(2, 0, 2, 0));
      const __m256i fg = _mm256_permutevar8x32_epi32(
          _mm256_castps_si256(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(2, 0, 2, 0))), in_order);
      const __m256i bg = _mm256_permutevar8x32_epi32(
          _mm256_castps_si256(_mm256_shuffle_ps(x, y, _MM_SHUFFLE(3, 1, 3, 1))), in_order);
      const __m256i step = _mm256_add_epi32(fg, bg);
      __m256i sum = _mm256_add_epi32(step, _mm256_slli_si256(step, 4));  // (within halves)
      sum = _mm256_add_epi32(sum, _mm256_slli_si256(sum, 8));
      // The lower half's total into the upper half; then lane 7 (the pairs' total) to all.
      sum = _mm256_add_epi32(sum, _mm256_shuffle_epi32(_mm256_permute2x128_si256(sum, sum, 0x08), 0xff));
      const __m256i start = _mm256_add_epi32(pos, _mm256_sub_epi32(sum, step));
      pos = _mm256_add_epi32(pos, _mm256_shuffle_epi32(_mm256_permute2x128_si256(sum, sum, 0x11), 0xff));
      const __m256 at = _mm256_cvtepi32_ps(start), c = _mm256_cvtepi32_ps(fg);
      __m256 row = _mm256_sub_ps(at, _mm256_mul_ps(_mm256_floor_ps(_mm256_mul_ps(at, inverse)), h));
      row = _mm256_sub_ps(row, _mm256_and_ps(_mm256_cmp_ps(row, h, _CMP_GE_OQ), h));
      const __m256 across = _mm256_cmp_ps(c, _mm256_sub_ps(h, row), _CMP_GT_OQ);
      const __m256i valid = _mm256_cmpgt_epi32(fg, _mm256_setzero_si256());
      const __m256 valid_ps = _mm256_castsi256_ps(valid);
      ys = _mm256_min_ps(ys, _mm256_blendv_ps(none, _mm256_andnot_ps(across, row), valid_ps));
      const __m256 bottom = _mm256_blendv_ps(_mm256_add_ps(row, c), h, across);  // one past
      ye = _mm256_max_ps(ye, _mm256_and_ps(valid_ps, bottom));
      past = _mm256_max_epi32(past, _mm256_and_si256(valid, _mm256_add_epi32(start, fg)));
    }
    ys32_ = ys;
    ye32_ = ye;
    past32_ = past;
    b_.pos = static_cast<uint32_t>(_mm256_cvtsi256_si32(pos));
    return j;
  }
  bool small_ = false;
  __m256 ys32_ = _mm256_set1_ps(1e38f), ye32_ = _mm256_setzero_ps();
  __m256i past32_ = _mm256_setzero_si256();
  __m256d ys_ = _mm256_set1_pd(18446744073709551616.0), ye_ = _mm256_setzero_pd(),
          last_ = _mm256_setzero_pd();
  uint64_t carry_[8];  // fewer than 8 counts from a foreground count on, for the next chunk
  size_t carried_ = 0;
#endif
  DivisionBox b_;
};

// The tight box of a mask from its counts (BoxBuilder's column steps from 2^52 pixels on,
// where doubles are no longer exact).
inline void counts_box(RleRef r, Box* out) {
  if (r.h * r.w >= (uint64_t(1) << 52)) {
    *out = tight_box(r);
    return;
  }
  BoxAdder b(r.h, r.h * r.w);
  b.add(r.counts, r.m, 0);
  *out = b.finish();
}

template <class P>
inline bool string_measure(const char* s, size_t len, uint64_t h, uint64_t total,
                           uint64_t* area, Box* box) {
  Resolved r;
  if (!box) {
    if (!string_counts<P, false>(s, len, total, nullptr, r, [](const int64_t*, size_t) {}))
      return false;
  } else if (total < (uint64_t(1) << 52)) {
    BoxAdder builder(h, total);
    auto add = [&](const int64_t* counts, size_t k) { builder.add(counts, k, r.m - k); };
    if (!string_counts<P, true>(s, len, total, nullptr, r, add)) return false;
    *box = builder.finish();
  } else {
    BoxBuilder builder(h);
    auto add = [&builder](const int64_t* counts, size_t k) {
      for (size_t j = 0; j < k; ++j) builder.add(static_cast<uint64_t>(counts[j]));
    };
    if (!string_counts<P, true>(s, len, total, nullptr, r, add)) return false;
    *box = builder.finish();
  }
  *area = r.area;
  return true;
}

#ifdef TURBORLE_KERNELS_AVX2
// ---- COCO strings ----------------------------------------------------------------------------

// Shuffles that pack the int16 lanes of an 8-lane vector selected by an 8-bit mask to the
// front, in order (the compress AVX2 lacks).
struct CompressTable {
  alignas(16) uint8_t shuffle[256][16];
  constexpr CompressTable() : shuffle{} {
    for (int mask = 0; mask < 256; ++mask) {
      int k = 0;
      for (int lane = 0; lane < 8; ++lane)
        if (mask & (1 << lane)) {
          shuffle[mask][2 * k] = static_cast<uint8_t>(2 * lane);
          shuffle[mask][2 * k + 1] = static_cast<uint8_t>(2 * lane + 1);
          ++k;
        }
      for (; k < 8; ++k) shuffle[mask][2 * k] = shuffle[mask][2 * k + 1] = 0x80;
    }
  }
};
constexpr CompressTable kCompress;

inline __m256i load_minus_zero(const unsigned char* p) {
  return _mm256_sub_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                         _mm256_set1_epi8(0x30));
}

// The values ending in the 32 bytes at p (bytes p[-3..-1] readable), as int16: per byte, the
// value of one, two and three groups ending there is computed from the byte and the two
// before it, the right one chosen by whether the bytes before continue into it, and the lanes
// of value ends packed to the front. Returns how many values were written (out has room for 8
// more); `longs` gets the ends of values of four or more groups, whose entries are wrong.
inline int values32(const unsigned char* p, uint32_t ends, int16_t* out, uint32_t& longs) {
  const __m256i b0 = load_minus_zero(p), b1 = load_minus_zero(p - 1),
                b2 = load_minus_zero(p - 2), b3 = load_minus_zero(p - 3);
  const __m256i more = _mm256_set1_epi8(0x20), low = _mm256_set1_epi8(0x1f);
  const __m256i c1 = _mm256_cmpeq_epi8(_mm256_and_si256(b1, more), more);  // p[-1] continues
  const __m256i c12 = _mm256_and_si256(c1, _mm256_cmpeq_epi8(_mm256_and_si256(b2, more), more));
  const __m256i c123 = _mm256_and_si256(c12, _mm256_cmpeq_epi8(_mm256_and_si256(b3, more), more));
  longs = static_cast<uint32_t>(_mm256_movemask_epi8(c123)) & ends;
  // The last group, sign-extended from its 5 bits; the two before it.
  const __m256i sign = _mm256_set1_epi8(0x10);
  const __m256i top = _mm256_sub_epi8(_mm256_xor_si256(_mm256_and_si256(b0, low), sign), sign);
  const __m256i g1 = _mm256_and_si256(b1, low), g2 = _mm256_and_si256(b2, low);
  int n = 0;
  for (int half = 0; half < 2; ++half) {
    auto wide_signed = [half](__m256i x) {
      return _mm256_cvtepi8_epi16(half ? _mm256_extracti128_si256(x, 1) : _mm256_castsi256_si128(x));
    };
    auto wide = [half](__m256i x) {
      return _mm256_cvtepu8_epi16(half ? _mm256_extracti128_si256(x, 1) : _mm256_castsi256_si128(x));
    };
    const __m256i t = wide_signed(top), w1 = wide(g1), w2 = wide(g2);
    const __m256i one = t;
    const __m256i two = _mm256_add_epi16(_mm256_slli_epi16(t, 5), w1);
    const __m256i three = _mm256_add_epi16(_mm256_add_epi16(_mm256_slli_epi16(t, 10), _mm256_slli_epi16(w1, 5)), w2);
    __m256i v = _mm256_blendv_epi8(one, two, wide_signed(c1));
    v = _mm256_blendv_epi8(v, three, wide_signed(c12));
    const unsigned m0 = (ends >> (16 * half)) & 0xff, m1 = (ends >> (16 * half + 8)) & 0xff;
    const __m128i lo = _mm_shuffle_epi8(_mm256_castsi256_si128(v),
                                        _mm_load_si128(reinterpret_cast<const __m128i*>(kCompress.shuffle[m0])));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), lo);
    n += popcount64(m0);
    const __m128i hi = _mm_shuffle_epi8(_mm256_extracti128_si256(v, 1),
                                        _mm_load_si128(reinterpret_cast<const __m128i*>(kCompress.shuffle[m1])));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), hi);
    n += popcount64(m1);
  }
  return n;
}

// COCO strings: the value ends of 64 bytes from two compares and movemasks; a block's values
// decoded 32 bytes at a time (values32) and resolved four at a time, those of four or more
// groups read again one by one with PEXT.
template <class Gather>
struct Avx2StringsOf {
  static uint64_t ends(const unsigned char* block, bool& bad) {
    const __m256i top = _mm256_set1_epi8(63);
    const __m256i lo = load_minus_zero(block), hi = load_minus_zero(block + 32);
    // Valid: byte - '0' <= 63 unsigned, i.e. max(byte - '0', 63) == 63.
    const __m256i valid = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(lo, top), top),
                                           _mm256_cmpeq_epi8(_mm256_max_epu8(hi, top), top));
    if (static_cast<uint32_t>(_mm256_movemask_epi8(valid)) != 0xffffffffu) bad = true;
    // Bit 5 (more groups follow) moved to bit 7 for movemask; ends are where it is clear.
    const uint64_t more = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(lo, 2))) |
                          uint64_t(static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_slli_epi16(hi, 2)))) << 32;
    return ~more;
  }

  static void resolve(int64_t* v, size_t k, uint64_t total, Resolved& r) {
    resolve_avx2(v, v, k, total, r);
  }

  static int64_t gather(uint64_t v, unsigned groups) { return Gather::gather(v, groups); }

  // The values ending in a block as int16 at dst (room for 64 + 8), their number. `longs`
  // gets the ends of the values of four or more groups, whose int16 entries are wrong; when
  // there are such, `start` is left for resolve_longs().
  static constexpr bool kValues16 = true;
  static size_t values16(const unsigned char* u, size_t at, uint64_t ends, size_t& start,
                         int16_t* dst, uint64_t& longs) {
    uint32_t long_low, long_high;
    const int low = values32(u + at, static_cast<uint32_t>(ends), dst, long_low);
    const int high = values32(u + at + 32, static_cast<uint32_t>(ends >> 32), dst + low, long_high);
    longs = long_low | uint64_t(long_high) << 32;
    if (ends && !longs) start = at + 64 - static_cast<size_t>(clz64(ends));
    return static_cast<size_t>(low + high);
  }
  // Resolves the k values of a block that values16() found long values in: the int16 ones
  // widened, the long ones read one at a time (PEXT).
  static bool resolve_longs(const unsigned char* u, size_t at, uint64_t ends, uint64_t longs,
                            size_t& start, const int16_t* values, size_t k, uint64_t total,
                            Resolved& r, int64_t* counts) {
    const size_t first = start;  // where the first value ending here starts
    if (ends) start = at + 64 - static_cast<size_t>(clz64(ends));
    int64_t wide[64];
    for (size_t j = 0; j < k; ++j) wide[j] = values[j];
    for (uint64_t rest = longs; rest; rest &= rest - 1) {
      const unsigned end = static_cast<unsigned>(ctz64(rest));
      const uint64_t before = ends & ((uint64_t(1) << end) - 1);
      const size_t from = before ? at + 64 - static_cast<size_t>(clz64(before)) : first;
      const size_t groups = at + end + 1 - from;
      if (groups > 8) return false;
      uint64_t word;
      std::memcpy(&word, u + from, 8);
      wide[popcount64(before)] = Gather::gather(word - 0x30 * kOnes, static_cast<unsigned>(groups));
    }
    resolve_avx2(wide, counts, k, total, r);
    return !r.bad;
  }
  static void resolve16(const int16_t* v, int64_t* counts, size_t k, uint64_t total, Resolved& r) {
    resolve_avx2(v, counts, k, total, r);
  }
};

// One PEXT gathers the 5-bit groups (fast on Intel since Haswell and AMD since Zen 3).
struct PextGather {
  static int64_t gather(uint64_t v, unsigned groups) {
    const uint64_t x = _pext_u64(v, 0x1f1f1f1f1f1f1f1full);
    const unsigned unused = 64 - 5 * groups;
    return static_cast<int64_t>(x << unused) >> unused;
  }
};


// ---- Decoded pixels streamed past the cache ---------------------------------------------------

// Byte j of the result is 1 if bit j of b is set.
inline __m256i expand32(uint32_t b) {
  const __m256i shuffle = _mm256_setr_epi64x(0x0000000000000000ll, 0x0101010101010101ll,
                                             0x0202020202020202ll, 0x0303030303030303ll);
  const __m256i select = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(b)), shuffle);
  v = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
  return _mm256_and_si256(v, _mm256_set1_epi8(1));
}

// The 64 bytes of a word's bits (lo: bits 0..31). Most words of a mask are all 0 or all 1:
// those skip the expansion.
inline void expand64(uint64_t word, __m256i& lo, __m256i& hi) {
  if (TURBORLE_LIKELY(word + 1 <= 1)) {  // 0 or ~0
    lo = hi = _mm256_set1_epi8(static_cast<char>(word & 1));
  } else {
    lo = expand32(static_cast<uint32_t>(word));
    hi = expand32(static_cast<uint32_t>(word >> 32));
  }
}

// Bytes of 0 or 1 written in order to [out, out + n) from a stream of bits: every whole
// 64-byte line of the destination by two non-temporal stores (which do not read the line
// first: a store that misses the cache otherwise costs a read of the line as well), the
// partial lines at either end by plain stores. finish() writes what is left and fences.
class LineWriter {
 public:
  LineWriter(uint8_t* out, uint64_t n)
      : out_(out), end_(out + n),
        line_(reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(out) & ~uintptr_t(63))),
        fill_(static_cast<unsigned>(out - line_)) {}  // (the bits before out are placeholders)

  // The low k bits of b (1 <= k <= 64; the bits above k are 0).
  void bits(uint64_t b, unsigned k) {
    acc_ |= b << fill_;
    if (fill_ + k < 64) {
      fill_ += k;
      return;
    }
    emit(acc_);
    acc_ = fill_ ? b >> (64 - fill_) : 0;
    fill_ = fill_ + k - 64;
  }

  // `count` whole words of bits: the lines inside the output from locals (the compiler must
  // assume a line's stores may change the writer's fields), the rest through bits().
  void words(const uint64_t* b, size_t count) {
    size_t i = 0;
    if (line_ >= out_) {
      const size_t inside = std::min<size_t>(count, static_cast<size_t>(end_ - line_) / 64);
      uint8_t* line = line_;
      uint64_t acc = acc_;
      const unsigned fill = fill_;  // (each word completes one line: fill stays)
      if (fill == 0) {
        for (; i < inside; ++i, line += 64) store(line, b[i]);
      } else {
        for (; i < inside; ++i, line += 64) {
          store(line, acc | b[i] << fill);
          acc = b[i] >> (64 - fill);
        }
      }
      line_ = line;
      acc_ = acc;
    }
    for (; i < count; ++i) bits(b[i], 64);
  }

  // Runs of alternating value, 0 first (COCO counts), with the state in locals as words().
  void runs(const uint64_t* counts, size_t m) {
    uint8_t* line = line_;
    uint64_t acc = acc_;
    unsigned fill = fill_;
    for (size_t j = 0; j < m; ++j) {
      uint64_t length = counts[j];
      const uint64_t all = (j & 1) ? ~uint64_t(0) : 0;
      if (fill + length < 64) {  // the run ends inside this line
        acc |= (all & ((uint64_t(1) << length) - 1)) << fill;
        fill += static_cast<unsigned>(length);
        continue;
      }
      acc |= all << fill;  // the rest of this line
      length -= 64 - fill;
      put(line, acc);
      line += 64;
      if (length >= 64) {  // whole lines of this value: no expansion, no uniformity test
        const __m256i v = _mm256_set1_epi8(static_cast<char>(j & 1));
        for (; length >= 64; length -= 64, line += 64) {
          if (TURBORLE_LIKELY(line + 64 <= end_)) {
            _mm256_stream_si256(reinterpret_cast<__m256i*>(line), v);
            _mm256_stream_si256(reinterpret_cast<__m256i*>(line + 32), v);
          } else {
            partial(line, all);
          }
        }
      }
      acc = all & ((uint64_t(1) << length) - 1);
      fill = static_cast<unsigned>(length);
    }
    line_ = line;
    acc_ = acc;
    fill_ = fill;
  }

  void finish() {
    if (fill_) emit(acc_);
    _mm_sfence();
  }

 private:
  // A whole line inside the output.
  static void store(uint8_t* line, uint64_t word) {
    __m256i lo, hi;
    expand64(word, lo, hi);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(line), lo);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(line + 32), hi);
  }

  // The line at `line` (complete): whole lines by store(), the others by partial().
  void put(uint8_t* line, uint64_t word) const {
    if (TURBORLE_LIKELY(line >= out_ && line + 64 <= end_))
      store(line, word);
    else
      partial(line, word);
  }

  // A line partly outside the output (the first or the last): its bytes inside, plainly.
  void partial(uint8_t* line, uint64_t word) const {
    alignas(32) uint8_t bytes[64];
    __m256i lo, hi;
    expand64(word, lo, hi);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bytes), lo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bytes + 32), hi);
    uint8_t* from = std::max(line, out_);
    uint8_t* to = std::min(line + 64, end_);
    if (from < to) std::memcpy(from, bytes + (from - line), static_cast<size_t>(to - from));
  }

  void emit(uint64_t word) {
    put(line_, word);
    line_ += 64;
    acc_ = 0;
  }

  uint8_t* const out_;
  uint8_t* const end_;
  uint8_t* line_;     // the destination line being assembled
  uint64_t acc_ = 0;  // its bits so far
  unsigned fill_;     // how many
};

// One mask decoded through LineWriter: column-major (its runs in turn) or row-major (its bit
// rows in turn, rows_fit(h, w)).
inline void decode_stream_avx2(RleRef r, uint8_t* out, bool rows) {
  LineWriter writer(out, r.h * r.w);
  if (rows) {
    counts_to_rows(r, [&](uint64_t, const uint64_t* bits) {
      writer.words(bits, r.w / 64);
      if (r.w % 64) writer.bits(bits[r.w / 64], static_cast<unsigned>(r.w % 64));
    });
  } else {
    writer.runs(r.counts, r.m);
  }
  writer.finish();
}
#endif  // TURBORLE_KERNELS_AVX2

// ---- COCO strings written -------------------------------------------------------------------
//
// Value i is counts[i] - counts[i-2] for i > 2 (else counts[i]), written as little-endian
// 5-bit groups, '0' + group per character, 0x20 on every character but the last; the last
// group's 0x10 is the sign. Compiled per instruction set so that the vector files count
// leading zeros with lzcnt (bsr and its zero test cost several times more here).

inline int64_t string_delta(const uint64_t* counts, size_t i) {
  int64_t x = static_cast<int64_t>(counts[i]);
  if (i > 2) x -= static_cast<int64_t>(counts[i - 2]);
  return x;
}

// Characters needed for x: enough 5-bit groups to hold x in two's complement, i.e. its
// value bits plus a sign bit, 65 - clz(magnitude), in groups of 5 (a table by clz).
inline size_t string_groups(int64_t x) {
  static constexpr uint8_t kGroupsByClz[64] = {
      13, 13, 13, 13, 13, 12, 12, 12, 12, 12, 11, 11, 11, 11, 11, 10,
      10, 10, 10, 10, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 7, 7,
      7, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4,
      4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1};
  // x ^ (x >> 63) is x for x >= 0 and ~x below; | 1 makes clz defined and changes nothing
  // (0 and 1 both take one group).
  const uint64_t magnitude = static_cast<uint64_t>(x ^ (x >> 63)) | 1;
  return kGroupsByClz[clz64(magnitude)];
}

inline size_t string_length_scalar(const uint64_t* counts, size_t m) {
  size_t n = 0;
  for (size_t i = 0; i < m; ++i) n += string_groups(string_delta(counts, i));
  return n;
}

// One value, a group at a time (any value).
inline char* write_value_scalar(int64_t x, char* out) {
  for (size_t g = string_groups(x); g > 0; --g) {
    char c = static_cast<char>(x & 0x1f);
    x >>= 5;  // arithmetic shift: negative values stay negative
    if (g > 1) c |= 0x20;
    *out++ = static_cast<char>(c + '0');
  }
  return out;
}

// The low 40 bits of v as eight 5-bit groups, one per byte (least significant first), by
// halving: 20-bit halves to 32-bit lanes, 10-bit quarters to 16-bit lanes, 5 bits to bytes.
// (The x86 files with a fast PDEP do it in one instruction.)
struct ShiftSpread {
  static uint64_t spread(uint64_t v) {
    v &= 0xFFFFFFFFFFull;
    v = (v & 0xFFFFFull) | ((v & 0xFFFFF00000ull) << 12);
    v = (v & 0x000003FF000003FFull) | ((v & 0x000FFC00000FFC00ull) << 6);
    v = (v & 0x001F001F001F001Full) | ((v & 0x03E003E003E003E0ull) << 3);
    return v;
  }
};

// A value of at most eight groups (|delta| < 2^39: every count of a mask under 2^39 pixels)
// is written by one 8-byte store of all its groups, with the continuation bits and '0' added
// to every byte at once (no byte carries: 0x3f + 0x30 < 0x100); the pointer then advances by
// its length and the bytes past it are overwritten by the next values. Every value writes at
// least one character, so while 8 or more values remain the store stays inside the string;
// the last 7 are written group by group.
template <class Spread>
void write_string_with(const uint64_t* counts, size_t m, char* out) {
  static constexpr uint64_t kContinued[9] = {
      0, 0, 0x20, 0x2020, 0x202020, 0x20202020, 0x2020202020, 0x202020202020,
      0x20202020202020};
  const size_t fast = m >= 8 ? m - 7 : 0;
  size_t i = 0;
  for (; i < fast; ++i) {
    const int64_t x = string_delta(counts, i);
    const size_t g = string_groups(x);
    if (TURBORLE_UNLIKELY(g > 8)) {
      out = write_value_scalar(x, out);
      continue;
    }
    const uint64_t word =
        (Spread::spread(static_cast<uint64_t>(x)) | kContinued[g]) + 0x3030303030303030ull;
    std::memcpy(out, &word, 8);
    out += g;
  }
  for (; i < m; ++i) out = write_value_scalar(string_delta(counts, i), out);
}

inline void write_string_scalar(const uint64_t* counts, size_t m, char* out) {
  write_string_with<ShiftSpread>(counts, m, out);
}

// ---- IoU by bit planes ------------------------------------------------------------------------

// Pixels set in both of two blocks of `cols` plane columns of `words` words (iou.cpp): column
// c of a at a + c * stride_a, of b at b + c * stride_b. Compiled per instruction set, so the
// vector files count with the popcnt instruction and the scalar one portably.
inline uint64_t and_count_scalar(const uint64_t* a, size_t stride_a, const uint64_t* b,
                                 size_t stride_b, size_t cols, size_t words) {
  // Two sums, two words a step: one chain of additions would allow one word a cycle.
  uint64_t even = 0, odd = 0;
  for (size_t c = 0; c < cols; ++c, a += stride_a, b += stride_b) {
    size_t k = 0;
    for (; k + 2 <= words; k += 2) {
      even += popcount64(a[k] & b[k]);
      odd += popcount64(a[k + 1] & b[k + 1]);
    }
    if (k < words) even += popcount64(a[k] & b[k]);
  }
  return even + odd;
}

}  // namespace
}  // namespace turborle
