// The per-item work of every GPU pass, as __host__ __device__ functors.
//
// Each functor's operator()(item) is the body of one thread: Exec::for_each runs it over a
// counting range on the device (one thread per item) and, in the host build, in a serial
// loop. So the index arithmetic below is the same code on both targets, and the host tests
// check it.
//
// Conventions (see csrc/turborle.hpp for the rules of an RLE): masks are scanned column-major
// (pixel (y, x) of an h x w mask has scan index x*h + y); counts alternate background and
// foreground runs, starting with background. Positions in a batch are global: pixel k of mask
// i is i*h*w + k, so one sorted array of run ends covers every mask.
#pragma once

#include <cstdint>
#include <type_traits>

#include "target.hpp"

namespace turborle::gpu::TRLE_TARGET {

// ---- reading dense masks --------------------------------------------------------------------

// bool / uint8: nonzero is foreground.
struct Bytes {
  using Bits = uint8_t;
  TRLE_HD static bool foreground(Bits b, int32_t) { return b != 0; }
};

// IEEE floats of kBits bits: foreground where value > threshold. Values are compared by an
// integer key that orders them as their values (+0 and -0 share key 0); NaN never passes.
// The threshold's key comes from threshold_key() on the host.
template <class B, uint32_t kSign, uint32_t kInf>
struct Ieee {
  using Bits = B;
  TRLE_HD static int32_t key(uint32_t bits) {
    const uint32_t magnitude = bits & (kSign - 1);
    return (bits & kSign) ? -static_cast<int32_t>(magnitude) : static_cast<int32_t>(magnitude);
  }
  TRLE_HD static bool foreground(Bits b, int32_t threshold) {
    return (static_cast<uint32_t>(b) & (kSign - 1)) <= kInf && key(b) > threshold;
  }
};
using Half = Ieee<uint16_t, 0x8000u, 0x7c00u>;
using BFloat16 = Ieee<uint16_t, 0x8000u, 0x7f80u>;
using Float = Ieee<uint32_t, 0x80000000u, 0x7f800000u>;

// A pass over n dense h x w masks (or outputs of that shape) splits each mask into tiles of
// kV adjacent columns by kRows rows; one item is one tile. Items run row-of-tiles first, so
// neighbouring threads read neighbouring columns (coalesced), kV of them in 16 bytes.
struct Tile {
  uint64_t i;   // mask
  uint64_t b;   // row block
  uint64_t x0;  // first column
  uint64_t y0, y1;
  uint32_t nc;  // columns in the tile (kV except at the right edge)
};

template <uint32_t kV>
struct Tiling {
  static constexpr uint32_t kRows = 32;
  uint64_t n = 0, h = 0, w = 0, groups = 0, blocks = 0;

  Tiling() = default;
  Tiling(uint64_t n_, uint64_t h_, uint64_t w_)
      : n(n_), h(h_), w(w_), groups((w_ + kV - 1) / kV), blocks((h_ + kRows - 1) / kRows) {}
  TRLE_HD uint64_t items() const { return n * blocks * groups; }
  TRLE_HD Tile tile(uint64_t item) const {
    const uint64_t per_mask = blocks * groups;
    Tile t;
    t.i = item / per_mask;
    const uint64_t r = item - t.i * per_mask;
    t.b = r / groups;
    t.x0 = (r - t.b * groups) * kV;
    t.y0 = t.b * kRows;
    t.y1 = t.y0 + kRows < h ? t.y0 + kRows : h;
    t.nc = static_cast<uint32_t>(w - t.x0 < kV ? w - t.x0 : kV);
    return t;
  }
  // Slot of (mask i, row block b, column x): tiles write their columns' slots side by side
  // (coalesced).
  TRLE_HD uint64_t slot(uint64_t i, uint64_t b, uint64_t x) const { return (i * blocks + b) * w + x; }
};

// One tile row: byte c (of word c / 4) is 1 where column x0 + c is foreground, else 0. Byte
// lanes let a row's changes be counted per column with one add per 4 columns.
struct Lanes {
  uint32_t w[4] = {0, 0, 0, 0};
  TRLE_HD bool any() const { return (w[0] | w[1] | w[2] | w[3]) != 0; }
  TRLE_HD uint32_t at(uint32_t c) const { return (w[c >> 2] >> (8 * (c & 3))) & 0xffu; }
  TRLE_HD void set(uint32_t c, bool on) { w[c >> 2] |= static_cast<uint32_t>(on) << (8 * (c & 3)); }
  // First and last column whose byte is nonzero (any() must hold). (Unrolled, so that the
  // lanes stay in registers.)
  TRLE_HD uint32_t lowest() const {
    uint32_t at = 0;
    TRLE_UNROLL
    for (int k = 3; k >= 0; --k)
      if (w[k]) at = 4 * k + static_cast<uint32_t>(lowest_bit(w[k])) / 8;
    return at;
  }
  TRLE_HD uint32_t highest() const {
    uint32_t at = 0;
    TRLE_UNROLL
    for (uint32_t k = 0; k < 4; ++k)
      if (w[k]) at = 4 * k + static_cast<uint32_t>(highest_bit(w[k])) / 8;
    return at;
  }
};

// Dense masks of one element format, read a tile row at a time as Lanes. kAligned: every row
// of every tile starts on 16 bytes (w*size % 16 == 0 and the data aligned), so a tile row is
// one 16-byte load.
template <class Format, bool kAligned>
struct Masks {
  using Bits = typename Format::Bits;
  static constexpr uint32_t kV = 16 / sizeof(Bits);
  static_assert(Tiling<kV>::kRows < 256, "per-column counts of a tile must fit a byte lane");
  const Bits* data;
  Tiling<kV> tiling;
  int32_t threshold;

  TRLE_HD const Bits* row(uint64_t i, uint64_t y, uint64_t x0) const {
    return data + (i * tiling.h + y) * tiling.w + x0;
  }
  TRLE_HD Lanes row_lanes(uint64_t i, uint64_t y, uint64_t x0, uint32_t nc) const {
    const Bits* p = row(i, y, x0);
    Lanes lanes;
    if constexpr (kAligned && std::is_same_v<Format, Bytes>) {
      // Nonzero bytes, four at a time: the high bit of each byte of t is set where it is.
      struct alignas(16) Words {
        uint32_t w[4];
      };
      const Words words = load16<Words>(p);
      TRLE_UNROLL
      for (uint32_t k = 0; k < 4; ++k) {
        const uint32_t t = ((words.w[k] & 0x7f7f7f7fu) + 0x7f7f7f7fu) | words.w[k];
        lanes.w[k] = (t >> 7) & 0x01010101u;
      }
    } else if constexpr (kAligned) {
      struct alignas(16) Vec {
        Bits v[kV];
      };
      const Vec vec = load16<Vec>(p);
      TRLE_UNROLL
      for (uint32_t c = 0; c < kV; ++c) lanes.set(c, Format::foreground(vec.v[c], threshold));
    } else {
      TRLE_UNROLL
      for (uint32_t c = 0; c < kV; ++c)
        if (c < nc) lanes.set(c, Format::foreground(p[c], threshold));
    }
    return lanes;
  }
  // The pixels before the tile's first row in scan order: the row above, or for the top
  // block the bottom row of the column to the left (nothing before pixel 0: background).
  TRLE_HD Lanes lanes_before(const Tile& t) const {
    if (t.y0 > 0) return row_lanes(t.i, t.y0 - 1, t.x0, t.nc);
    const uint64_t last = tiling.h - 1;
    const Lanes bottom = row_lanes(t.i, last, t.x0, t.nc);
    Lanes left;  // column c gets column c - 1's pixel: every lane one byte up
    left.w[0] = bottom.w[0] << 8;
    TRLE_UNROLL
    for (uint32_t k = 1; k < 4; ++k) left.w[k] = (bottom.w[k] << 8) | (bottom.w[k - 1] >> 24);
    if (t.x0 > 0) left.set(0, Format::foreground(*row(t.i, last, t.x0 - 1), threshold));
    TRLE_UNROLL
    for (uint32_t k = 0; k < 4; ++k) {  // nothing past the tile's last column
      if (t.nc <= 4 * k) left.w[k] = 0;
      else if (t.nc < 4 * k + 4) left.w[k] &= (1u << (8 * (t.nc - 4 * k))) - 1u;
    }
    return left;
  }
};

TRLE_HD inline Lanes changes(const Lanes& a, const Lanes& b) {
  Lanes c;
  TRLE_UNROLL
  for (uint32_t k = 0; k < 4; ++k) c.w[k] = a.w[k] ^ b.w[k];
  return c;
}

// ---- encode ---------------------------------------------------------------------------------
//
// A run starts wherever a pixel differs from the one before it in scan order (pixel 0 is
// compared with background, so a mask starting with foreground gets a first count of 0), and
// every mask ends with one more boundary at its last pixel + 1. With the boundaries of all
// masks in one sorted array of global positions, the counts are its adjacent differences: at a
// mask's start the difference to the previous mask's end is the first count.
//
// Three passes. ChangeBits reads every mask element once and writes the boundaries as bits,
// one 32-bit word per (mask, row block, column); ColumnTotals counts each column's bits; a
// scan of those gives each column its place, and WritePositions writes the positions there.
// Only the first pass reads the masks (1/8 of a bool mask's bytes, 1/32 of float32 logits'
// are read again), and the last two read the words of a row block side by side (coalesced).

// Pass 1: word (i, b, x) of `bits` (at Tiling::slot(i, b, x)) has bit r set where pixel
// (32b + r, x) of mask i starts a run. Rows are gathered eight at a time in byte lanes (bit
// r % 8 of column c's byte), then each column's four bytes make its word.
template <class Format, bool kAligned>
struct ChangeBits {
  Masks<Format, kAligned> masks;
  uint32_t* bits;
  TRLE_HD void operator()(uint64_t item) const {
    constexpr uint32_t kV = Masks<Format, kAligned>::kV;
    const auto& tiling = masks.tiling;
    const Tile t = tiling.tile(item);
    const uint64_t rows = t.y1 - t.y0;
    Lanes group[4];  // rows 8g .. 8g + 7 of the tile
    Lanes before = masks.lanes_before(t);
    TRLE_UNROLL
    for (uint32_t g = 0; g < 4; ++g) {
      TRLE_UNROLL
      for (uint32_t r = 0; r < 8; ++r) {
        if (8 * g + r < rows) {
          const Lanes now = masks.row_lanes(t.i, t.y0 + 8 * g + r, t.x0, t.nc);
          const Lanes changed = changes(now, before);
          TRLE_UNROLL
          for (uint32_t k = 0; k < 4; ++k) group[g].w[k] |= changed.w[k] << r;
          before = now;
        }
      }
    }
    uint32_t words[kV];
    TRLE_UNROLL
    for (uint32_t c = 0; c < kV; ++c)
      words[c] = group[0].at(c) | group[1].at(c) << 8 | group[2].at(c) << 16 | group[3].at(c) << 24;
    uint32_t* out = bits + tiling.slot(t.i, t.b, t.x0);
    if constexpr (kAligned) {  // w is a multiple of kV: whole 16-byte stores, aligned
      struct alignas(16) Quad {
        uint32_t w[4];
      };
      TRLE_UNROLL
      for (uint32_t q = 0; q < kV / 4; ++q)
        store16(out + 4 * q, Quad{{words[4 * q], words[4 * q + 1], words[4 * q + 2], words[4 * q + 3]}});
    } else {
      TRLE_UNROLL
      for (uint32_t c = 0; c < kV; ++c)
        if (c < t.nc) out[c] = words[c];
    }
  }
};

// The boundary words of column x of mask i, one per row block, `w` apart.
struct ColumnWords {
  const uint32_t* bits;
  uint64_t w, blocks;
  TRLE_HD const uint32_t* at(uint64_t i, uint64_t x) const { return bits + i * blocks * w + x; }
};

// Pass 2: totals[k] = boundaries in column x of mask i (k = i*w + x), the mask's end included
// in its last column.
struct ColumnTotals {
  ColumnWords words;
  uint32_t* totals;
  TRLE_HD void operator()(uint64_t k) const {
    const uint64_t i = k / words.w, x = k - i * words.w;
    const uint32_t* p = words.at(i, x);
    uint32_t sum = x + 1 == words.w ? 1 : 0;
    for (uint64_t b = 0; b < words.blocks; ++b) sum += static_cast<uint32_t>(popcount(p[b * words.w]));
    totals[k] = sum;
  }
};

// Pass 3: the global positions of column k's boundaries from column_start[k] on (the
// exclusive scan of ColumnTotals).
struct WritePositions {
  ColumnWords words;
  uint64_t h;
  const uint64_t* column_start;
  uint64_t* positions;
  TRLE_HD void operator()(uint64_t k) const {
    static_assert(Tiling<16>::kRows == 32, "a boundary word holds one row block");
    const uint64_t i = k / words.w, x = k - i * words.w;
    const uint32_t* p = words.at(i, x);
    const uint64_t top = (i * words.w + x) * h;  // global position of pixel (0, x) of mask i
    uint64_t at = column_start[k];
    for (uint64_t b = 0; b < words.blocks; ++b) {
      for (uint32_t word = p[b * words.w]; word != 0; word &= word - 1)
        positions[at++] = top + 32 * b + static_cast<uint64_t>(lowest_bit(word));
    }
    if (x + 1 == words.w) positions[at] = (i + 1) * h * words.w;
  }
};

// offsets[i] = first count of mask i = the scan's value at the mask's first column (i = n:
// the total).
struct MaskOffsets {
  const uint64_t* column_start;
  uint64_t w;
  uint64_t* offsets;
  TRLE_HD void operator()(uint64_t i) const { offsets[i] = column_start[i * w]; }
};

// out[i] = table[index[i]].
struct Gather {
  const uint64_t* table;
  const uint64_t* index;
  uint64_t* out;
  TRLE_HD void operator()(uint64_t i) const { out[i] = table[index[i]]; }
};

// values[i] for i < n, then 0: the extra item makes an exclusive scan end with the total.
template <class T>
struct OrZero {
  const T* values;
  uint64_t n;
  TRLE_HD uint64_t operator()(uint64_t i) const { return i < n ? static_cast<uint64_t>(values[i]) : 0; }
};

// ---- measure (area, box) --------------------------------------------------------------------

// Per mask: area, min x, min y, max x, max y (5 uint64), filled by atomics from every tile.
struct MeasureInit {
  uint64_t* acc;
  TRLE_HD void operator()(uint64_t i) const {
    uint64_t* a = acc + 5 * i;
    a[0] = 0;
    a[1] = a[2] = ~uint64_t(0);
    a[3] = a[4] = 0;
  }
};

template <class Format, bool kAligned>
struct MeasureTiles {
  Masks<Format, kAligned> masks;
  uint64_t* acc;
  TRLE_HD void operator()(uint64_t item) const {
    const Tile t = masks.tiling.tile(item);
    uint64_t area = 0, y_min = 0, y_max = 0;
    Lanes columns;
    bool found = false;
    TRLE_UNROLL_ROWS
    for (uint64_t y = t.y0; y < t.y1; ++y) {
      const Lanes now = masks.row_lanes(t.i, y, t.x0, t.nc);
      if (now.any()) {
        if (!found) y_min = y;
        found = true;
        y_max = y;
        TRLE_UNROLL
        for (uint32_t k = 0; k < 4; ++k) {
          columns.w[k] |= now.w[k];
          area += static_cast<uint64_t>(popcount(now.w[k]));  // one bit per foreground lane
        }
      }
    }
    if (!found) return;
    uint64_t* a = acc + 5 * t.i;
    atomic_add(a, area);
    atomic_min(a + 1, t.x0 + columns.lowest());
    atomic_min(a + 2, y_min);
    atomic_max(a + 3, t.x0 + columns.highest());
    atomic_max(a + 4, y_max);
  }
};

struct MeasureFinish {
  const uint64_t* acc;
  uint64_t* area;  // may be null
  double* bbox;    // may be null
  bool xyxy;       // corners (x1, y1 exclusive) instead of width and height
  TRLE_HD void operator()(uint64_t i) const {
    const uint64_t* a = acc + 5 * i;
    if (area) area[i] = a[0];
    if (bbox) {
      double* box = bbox + 4 * i;
      if (a[0] == 0) {
        box[0] = box[1] = box[2] = box[3] = 0.0;
      } else {
        box[0] = static_cast<double>(a[1]);
        box[1] = static_cast<double>(a[2]);
        box[2] = static_cast<double>(xyxy ? a[3] + 1 : a[3] - a[1] + 1);
        box[3] = static_cast<double>(xyxy ? a[4] + 1 : a[4] - a[2] + 1);
      }
    }
  }
};

// ---- COCO strings out -----------------------------------------------------------------------
//
// Count j of a mask is written as the delta counts[j] - counts[j-2] when j > 2 (a quirk of the
// format), in little-endian 5-bit groups, '0' + group, 0x20 set on every group but the last,
// bit 0x10 of the last group the sign.

TRLE_HD inline int64_t string_delta(const uint64_t* counts, uint64_t g, uint64_t j) {
  int64_t x = static_cast<int64_t>(counts[g]);
  if (j > 2) x -= static_cast<int64_t>(counts[g - 2]);
  return x;
}

TRLE_HD inline uint32_t string_groups(int64_t x) {
  const uint64_t magnitude = static_cast<uint64_t>(x < 0 ? ~x : x);
  const int bits = 65 - leading_zeros64(magnitude);  // value bits + sign bit
  return static_cast<uint32_t>((bits + 4) / 5);
}

// Characters of count g (offsets: the masks' first counts, n + 1 entries; g = m: 0).
struct StringLength {
  const uint64_t* counts;
  const uint64_t* offsets;
  uint64_t n, m;
  TRLE_HD uint64_t operator()(uint64_t g) const {
    if (g >= m) return 0;
    const uint64_t j = g - offsets[upper_index(offsets, n + 1, g) - 1];
    return string_groups(string_delta(counts, g, j));
  }
};

struct WriteString {
  const uint64_t* counts;
  const uint64_t* offsets;
  uint64_t n;
  const uint64_t* char_start;  // exclusive scan of StringLength
  char* chars;
  TRLE_HD void operator()(uint64_t g) const {
    const uint64_t j = g - offsets[upper_index(offsets, n + 1, g) - 1];
    int64_t x = string_delta(counts, g, j);
    char* out = chars + char_start[g];
    for (uint32_t k = string_groups(x); k > 0; --k) {
      char c = static_cast<char>(x & 0x1f);
      x >>= 5;  // arithmetic: negative values stay negative
      if (k > 1) c |= 0x20;
      *out++ = static_cast<char>(c + '0');
    }
  }
};

// ---- decode ---------------------------------------------------------------------------------
//
// ends: inclusive scan of all counts, the global position after each run. The run holding a
// global pixel K is the first with ends > K (zero-length runs are skipped by that rule); its
// parity in its mask (foreground) is in fg.

struct RunParity {
  const uint64_t* offsets;
  uint64_t n;
  uint8_t* fg;
  TRLE_HD void operator()(uint64_t g) const {
    fg[g] = static_cast<uint8_t>((g - offsets[upper_index(offsets, n + 1, g) - 1]) & 1u);
  }
};

struct Runs {
  const uint64_t* counts;
  const uint64_t* ends;
  const uint8_t* fg;
  uint64_t m;
};

// A walk down the pixels of one column (or along the scan): the current run and the pixels
// left in it.
struct RunCursor {
  uint64_t run = 0, left = 0;
  TRLE_HD void seek(const Runs& r, uint64_t k) {
    run = upper_index(r.ends, r.m, k);
    left = r.ends[run] - k;
  }
  TRLE_HD uint8_t next(const Runs& r) {
    while (left == 0) left = r.counts[++run];
    --left;
    return r.fg[run];
  }
};

// Row-major output: each item writes a tile of 16 columns x kRows rows, a 16-byte store per
// row when rows are 16-byte aligned.
template <bool kAligned>
struct DecodeRows {
  Runs runs;
  Tiling<16> tiling;
  uint8_t* out;
  TRLE_HD void operator()(uint64_t item) const {
    const Tile t = tiling.tile(item);
    const uint64_t base = t.i * tiling.h * tiling.w;
    RunCursor cursor[16];
    TRLE_UNROLL
    for (uint32_t c = 0; c < 16; ++c)
      if (c < t.nc) cursor[c].seek(runs, base + (t.x0 + c) * tiling.h + t.y0);
    for (uint64_t y = t.y0; y < t.y1; ++y) {
      struct alignas(16) Row {
        uint8_t v[16];
      } row;
      TRLE_UNROLL
      for (uint32_t c = 0; c < 16; ++c) row.v[c] = c < t.nc ? cursor[c].next(runs) : 0;
      uint8_t* p = out + (t.i * tiling.h + y) * tiling.w + t.x0;
      if constexpr (kAligned) {
        store16(p, row);
      } else {
        for (uint32_t c = 0; c < t.nc; ++c) p[c] = row.v[c];
      }
    }
  }
};

// Column-major output: pixels in scan order, 16 per item.
struct DecodeScan {
  Runs runs;
  uint64_t pixels;  // n*h*w
  uint8_t* out;
  bool aligned;     // out is 16-byte aligned
  TRLE_HD void operator()(uint64_t item) const {
    const uint64_t k0 = item * 16;
    const uint64_t len = pixels - k0 < 16 ? pixels - k0 : 16;
    RunCursor cursor;
    cursor.seek(runs, k0);
    struct alignas(16) Chunk {
      uint8_t v[16];
    } chunk;
    TRLE_UNROLL
    for (uint32_t k = 0; k < 16; ++k) chunk.v[k] = k < len ? cursor.next(runs) : 0;
    if (aligned && len == 16) {
      store16(out + k0, chunk);
    } else {
      for (uint64_t k = 0; k < len; ++k) out[k0 + k] = chunk.v[k];
    }
  }
};

// ---- COCO strings in: parse and validate ----------------------------------------------------
//
// Strings lie back to back in `chars`; string s is chars[soff[s] .. soff[s+1]). A value ends
// at a byte of the alphabet without the continuation bit, or at its string's last byte. A scan
// of those ends numbers the values; each value is decoded from its bytes; the counts follow
// from the values by two interleaved prefix sums (count j = value j + count j-2 for j > 2).
// Errors are found where they occur and the first in the order the CPU core's sequential
// parser meets them (mask, then byte, then kind at that byte) is kept by a min-reduction.

struct StringsView {
  const uint8_t* chars;
  uint64_t len;
  const uint64_t* soff;  // n + 1
  uint64_t n;
  TRLE_HD uint64_t string_of(uint64_t b) const { return upper_index(soff, n + 1, b) - 1; }
};

TRLE_HD inline uint32_t alphabet_value(uint8_t byte) { return static_cast<uint32_t>(byte) - '0'; }
TRLE_HD inline bool in_alphabet(uint32_t c) { return c < 64; }

// 1 where a value ends (b == len: 0, so an exclusive scan over len + 1 items ends with the
// number of values).
struct ValueEnd {
  StringsView s;
  TRLE_HD uint64_t operator()(uint64_t b) const {
    if (b >= s.len) return 0;
    const uint32_t c = alphabet_value(s.chars[b]);
    if (in_alphabet(c) && !(c & 0x20)) return 1;
    return b + 1 == s.soff[s.string_of(b) + 1] ? 1 : 0;
  }
};

struct ScatterValueEnds {
  ValueEnd end;
  const uint64_t* value_index;  // exclusive scan of ValueEnd
  uint64_t* value_last;         // last byte of each value
  TRLE_HD void operator()(uint64_t b) const {
    if (end(b)) value_last[value_index[b]] = b;
  }
};

// first[s] = index of string s's first value (s = n: the number of values).
struct FirstValues {
  const uint64_t* soff;
  const uint64_t* value_index;
  uint64_t* first;
  TRLE_HD void operator()(uint64_t s) const { first[s] = value_index[soff[s]]; }
};

// One value: its string, its first and last byte (global), its number of groups.
struct ValueInfo {
  uint64_t s, start, last, groups;
};

TRLE_HD inline ValueInfo value_info(const StringsView& str, const uint64_t* first,
                                    const uint64_t* value_last, uint64_t v) {
  ValueInfo info;
  info.s = upper_index(first, str.n + 1, v) - 1;
  info.start = v == first[info.s] ? str.soff[info.s] : value_last[v - 1] + 1;
  info.last = value_last[v];
  info.groups = info.last - info.start + 1;
  return info;
}

// Groups 0..11 in 60 bits, a 13th in bits 60..63 (its bit 4, bit 64 of the value, is the
// sign); fewer groups are sign-extended from the last group's bit 4.
TRLE_HD inline uint64_t value_bits(const uint8_t* chars, const ValueInfo& info) {
  const uint64_t used = info.groups < 13 ? info.groups : 13;
  uint64_t x = 0;
  uint32_t group = 0;
  for (uint64_t k = 0; k < used; ++k) {
    group = alphabet_value(chars[info.start + k]) & 0x1f;
    x |= static_cast<uint64_t>(group) << (5 * k);  // k = 12: bits 60..64, the 65th shifted out
  }
  if (used < 13 && (group & 0x10)) x |= ~uint64_t(0) << (5 * used);
  return x;
}

// A 13-group value fits int64 when its bits 63 and 64 agree.
TRLE_HD inline bool value_in_range(const uint8_t* chars, const ValueInfo& info) {
  if (info.groups != 13) return true;
  const uint32_t top = alphabet_value(chars[info.start + 12]) & 0x1f;
  return ((top >> 3) & 1u) == ((top >> 4) & 1u);
}

struct DecodeValues {
  StringsView str;
  const uint64_t* first;
  const uint64_t* value_last;
  uint64_t* value;
  TRLE_HD void operator()(uint64_t v) const {
    value[v] = value_bits(str.chars, value_info(str, first, value_last, v));
  }
};

// Interleaved prefix sums: counts with odd index j sum the values 1, 3, .., j; even j >= 2
// sum 2, 4, .., j; count 0 is value 0.
struct ParitySums {
  uint64_t even = 0, odd = 0;
};
struct AddParitySums {
  TRLE_HD ParitySums operator()(const ParitySums& a, const ParitySums& b) const {
    return {a.even + b.even, a.odd + b.odd};
  }
};

struct ParityTerm {
  StringsView str;
  const uint64_t* first;
  const uint64_t* value;
  uint64_t count;
  TRLE_HD ParitySums operator()(uint64_t v) const {
    if (v >= count) return {};
    const uint64_t j = v - first[upper_index(first, str.n + 1, v) - 1];
    if (j == 0) return {};
    return (j & 1u) ? ParitySums{0, value[v]} : ParitySums{value[v], 0};
  }
};

struct CountsFromValues {
  ParityTerm term;
  const ParitySums* before;  // exclusive scan of ParityTerm, count + 1 entries
  uint64_t* counts;
  TRLE_HD void operator()(uint64_t v) const {
    const uint64_t s = upper_index(term.first, term.str.n + 1, v) - 1;
    const uint64_t j = v - term.first[s];
    if (j == 0) {
      counts[v] = term.value[v];
      return;
    }
    const ParitySums here = term(v);
    const ParitySums& base = before[term.first[s]];
    counts[v] = (j & 1u) ? before[v].odd + here.odd - base.odd
                         : before[v].even + here.even - base.even;
  }
};

// The first error, in the order the CPU core meets them.
struct EarlierError {
  TRLE_HD ParseError operator()(const ParseError& a, const ParseError& b) const {
    if (a.mask != b.mask) return a.mask < b.mask ? a : b;
    if (a.pos != b.pos) return a.pos < b.pos ? a : b;
    return a.order <= b.order ? a : b;
  }
};

// Errors of item k: bytes [0, len) (alphabet), then values [len, len + count) (a value's
// bytes and its count), then strings (the sum). Arithmetic is wrapping: a count or sum is
// exact whenever everything before it is valid, which is all the first error needs.
struct FindError {
  StringsView str;
  const uint64_t* heights;
  const uint64_t* widths;
  const uint64_t* first;       // n + 1
  const uint64_t* value_last;  // per value
  const uint64_t* value;       // per value
  const uint64_t* counts;      // per value
  const uint64_t* sums;        // exclusive scan of counts, count + 1 entries
  uint64_t count;

  TRLE_HD ParseError operator()(uint64_t k) const {
    ParseError e;
    if (k < str.len) {
      const uint8_t byte = str.chars[k];
      if (!in_alphabet(alphabet_value(byte))) {
        e.mask = str.string_of(k);
        e.pos = k - str.soff[e.mask];
        e.order = 0;
        e.kind = ParseError::kAlphabet;
        e.a = byte;
      }
      return e;
    }
    k -= str.len;
    if (k < count) return value_error(k);
    const uint64_t s = k - count;
    const uint64_t total = heights[s] * widths[s];
    const uint64_t sum = sums[first[s + 1]] - sums[first[s]];
    if (sum != total) {
      e.mask = s;
      e.pos = str.soff[s + 1] - str.soff[s];
      e.order = 1;
      e.kind = ParseError::kSum;
      e.a = sum;
    }
    return e;
  }

  TRLE_HD ParseError value_error(uint64_t v) const {
    ParseError e;
    const ValueInfo info = value_info(str, first, value_last, v);
    const uint64_t origin = str.soff[info.s];
    const uint64_t start = info.start - origin;
    const uint64_t j = v - first[info.s];
    e.mask = info.s;
    e.a = start;
    e.b = j;
    if (info.groups >= 14) {  // met at the 14th group
      e.pos = start + 13;
      e.order = 1;
      e.kind = ParseError::kTooLong;
      return e;
    }
    const uint32_t last = alphabet_value(str.chars[info.last]);
    if (in_alphabet(last) && (last & 0x20)) {  // the string ended inside the value
      e.pos = str.soff[info.s + 1] - origin;
      e.order = 0;
      e.kind = ParseError::kTruncated;
      return e;
    }
    e.pos = info.last - origin;
    e.order = 2;
    if (!value_in_range(str.chars, info)) {
      e.kind = ParseError::kRange;
      return e;
    }
    const uint64_t total = heights[info.s] * widths[info.s];
    const int64_t x = static_cast<int64_t>(value[v]);
    const uint64_t c = counts[v];
    if (j > 2) {
      const uint64_t before_last = c - value[v];  // count j - 2
      if (x > static_cast<int64_t>(total - before_last)) {
        e.kind = ParseError::kOverSum;
        return e;
      }
    }
    if (static_cast<int64_t>(c) < 0) {
      e.kind = ParseError::kNegative;
      return e;
    }
    if (c > total - (sums[v] - sums[first[info.s]])) {
      e.kind = ParseError::kOverSum;
      return e;
    }
    e.mask = ~uint64_t(0);
    e.kind = ParseError::kNone;
    return e;
  }
};

}  // namespace turborle::gpu::TRLE_TARGET
