// fal / Kaggle "start length" text: ASCII integers separated by whitespace, pairs of a
// start (counted from `base`) and a length over the mask flattened row-major (fal, Kaggle)
// or column-major. Parsing is strict; conversion of row-major text to COCO's column-major counts
// compares the run ends of neighbouring rows, and the reverse goes through bit rows (rows.hpp):
// never through a dense byte mask.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <string>

#include "batch_build.hpp"
#include "errors.hpp"
#include "portable.hpp"
#include "rows.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;

// The number written by eight bytes of digits 0..9 (the first byte the most significant):
// pairs, then fours, then all eight, by multiplications.
inline uint64_t eight_digits(uint64_t x) {
  x = x * 10 + (x >> 8);  // byte 2k: 10 * digit 2k + digit 2k+1
  return (((x & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
          (((x >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >> 32;
}

[[noreturn]] TURBORLE_NOINLINE void fail_digit(char c, size_t at, size_t token) {
  throw InputError("byte " + byte_repr(static_cast<unsigned char>(c)) + " at offset " +
                       std::to_string(at) + " (token " + std::to_string(token) +
                       ") is not a digit: fal text is non-negative integers",
                   at);
}

[[noreturn]] TURBORLE_NOINLINE void fail_too_large(size_t token, size_t start) {
  throw InputError("token " + std::to_string(token) + " at offset " + std::to_string(start) +
                       " is too large",
                   start);
}

[[noreturn]] TURBORLE_NOINLINE void fail_run(size_t run, size_t offset, const std::string& what) {
  throw InputError("run " + std::to_string(run) + " (offset " + std::to_string(offset) + ") " + what,
                   offset);
}

// The runs of one text as [begin, end) intervals of the flattened mask, validated.
std::vector<uint64_t> parse_runs(const char* s, size_t len, uint64_t total, uint64_t base) {
  std::vector<uint64_t> runs;  // begin, end, begin, end, ...
  runs.reserve(len / 2 + 2);   // a run takes four characters or more
  uint64_t pair[2] = {0, 0};
  size_t token = 0, token_offset = 0;
  uint64_t previous_end = 0;
  size_t p = 0;
  for (;;) {
    while (p < len && is_space(static_cast<unsigned char>(s[p]))) ++p;
    if (p == len) break;
    const size_t start = p;
    uint64_t value = 0;
    // Most tokens are a few digits followed by a space: read them eight bytes at a time.
    if (p + 8 <= len) {
      uint64_t word;
      std::memcpy(&word, s + p, 8);
      const uint64_t x = word ^ (0x30 * kOnes);                  // digits become 0..9
      const uint64_t stop = ((x + 0x76 * kOnes) | x) & kHighs;   // bytes that are not
      const unsigned digits = stop ? static_cast<unsigned>(ctz64(stop)) >> 3 : 8;
      if (digits > 0 && digits < 8 && is_space(static_cast<unsigned char>(s[p + digits]))) {
        value = eight_digits(x << (8 * (8 - digits)));  // leading zeros in front
        p += digits;
      }
    }
    for (; p < len && !is_space(static_cast<unsigned char>(s[p])); ++p) {
      const unsigned digit = static_cast<unsigned char>(s[p]) - static_cast<unsigned>('0');
      if (digit > 9) fail_digit(s[p], p, token);
      // 18 digits cannot pass kMaxPixels (about 4.6e18) nor wrap: only longer tokens need
      // the exact check (a division per digit cost more than the rest of the parse).
      if (p - start >= 18 && value > (kMaxPixels - digit) / 10) fail_too_large(token, start);
      value = value * 10 + digit;
    }
    pair[token & 1] = value;
    if ((token & 1) == 0) token_offset = start;
    if (token & 1) {  // a complete pair: start, length
      const uint64_t first = pair[0], length = pair[1];
      // (The message is built only on failure: this runs for every pair.)
      auto fail = [&](const std::string& what) {
        fail_run(token / 2, token_offset, what);
      };
      if (first < base) {
        if (base == 1 && first == 0)
          fail("starts at 0, but starts are 1-based: the data looks 0-based; pass start_base=0");
        fail("starts below " + std::to_string(base));
      }
      if (length == 0) fail("has length 0");
      const uint64_t begin = first - base;
      if (begin < previous_end)
        fail("starts at " + std::to_string(first) +
             ", before the previous run ends: runs must be ascending and must not overlap");
      if (length > total || begin > total - length)
        fail("ends at " + std::to_string(begin + length) + ", past the " +
             std::to_string(total) + " pixels of the mask");
      if (!runs.empty() && runs.back() == begin) {
        runs.back() = begin + length;  // touching runs join
      } else {
        runs.push_back(begin);
        runs.push_back(begin + length);
      }
      previous_end = begin + length;
    }
    ++token;
  }
  if (token & 1)
    throw InputError("odd number of tokens (" + std::to_string(token) +
                     "): fal text is pairs of start and length");
  return runs;
}

// Column-major runs -> counts.
void runs_to_counts(const std::vector<uint64_t>& runs, uint64_t total, Counts& out) {
  uint64_t last = 0;
  for (size_t k = 0; k < runs.size(); k += 2) {
    out.push_back(runs[k] - last);
    out.push_back(runs[k + 1] - runs[k]);
    last = runs[k + 1];
  }
  if (last < total || runs.empty()) out.push_back(total - last);
}

// Row-major runs -> column-major counts, without a pass over pixels. A change at (x, y), where
// row y differs from row y-1, is a run boundary of the column-major stream at x*h + y
// (rows.hpp), so the changes sorted by column are the counts. Rows -1 and h count as empty: a
// change at y = 0 marks a foreground top pixel, one at y = h a foreground bottom pixel. Time
// and memory grow with rows, runs and changes (the column-major runs), not with pixels or the
// image's width.

// The changes, y << 32 | x in row order, appended to `found` (grown as needed; n in use).
struct Changes {
  std::vector<uint64_t> found;
  size_t n = 0;
  void reserve(size_t more) {
    if (n + more > found.size()) found.resize(std::max(2 * found.size(), n + more));
  }
};

// Calls row(y, runs k .. end) for every row y in 0..h that holds runs or follows one that
// does (the rows between are empty, as are their changes); for row h, k == end.
template <class Row>
void for_each_row(const std::vector<uint64_t>& runs, uint64_t h, uint64_t w, Row&& row) {
  size_t k = 0;  // the first run that may reach the current row
  bool above_empty = true;
  for (uint64_t y = 0; y <= h; ++y) {
    size_t end = k;
    if (y < h) {
      const uint64_t row_begin = y * w, row_end = row_begin + w;
      while (k < runs.size() && runs[k + 1] <= row_begin) k += 2;
      end = k;
      while (end < runs.size() && runs[end] < row_end) end += 2;
    }
    const bool empty = end == k;
    if (!(empty && above_empty)) row(y, k, end);
    above_empty = empty;
    if (empty && y < h) {  // the rows up to the next run's are empty too
      if (k == runs.size()) break;
      const uint64_t next = runs[k] / w;
      if (next > y + 1) y = next - 1;
    }
  }
}

// The changes of rows up to kBitsWidth wide. Each row's run ends are kept as bits (one per
// column boundary 0..w): the XOR of two rows' end bits marks the ends of the stretches that
// change, and a prefix XOR along the row turns those into the changed columns, 64 at a time.
// Only the words holding an end of either row are visited (found from a map of one bit per
// word), and the words between them only inside a changed stretch.
constexpr uint64_t kBitsWidth = 65536;
// per_column[x + 1] counts the changes of column x.
void row_changes_bits(const std::vector<uint64_t>& runs, uint64_t h, uint64_t w, Changes& c,
                      size_t* per_column) {
  const size_t words = static_cast<size_t>(w / 64 + 1);  // end bits 0..w
  const size_t groups = (words + 63) / 64;
  std::vector<uint64_t> bits_a(words, 0), bits_b(words, 0), map_a(groups, 0), map_b(groups, 0);
  uint64_t *above = bits_a.data(), *here = bits_b.data();
  uint64_t *map_above = map_a.data(), *map_here = map_b.data();
  size_t groups_above = 0;  // map_above[0 .. groups_above) may be nonzero
  auto emit = [&](uint64_t y, size_t q, uint64_t changed) {  // columns q*64 + bits of changed
    c.reserve(64);
    uint64_t* f = c.found.data() + c.n;
    c.n += static_cast<size_t>(popcount64(changed));
    const uint64_t tag = y << 32 | q * 64;
    size_t* count = per_column + q * 64 + 1;
    for (; changed; changed &= changed - 1) {
      const unsigned x = static_cast<unsigned>(ctz64(changed));
      *f++ = tag | x;
      ++count[x];
    }
  };
  for_each_row(runs, h, w, [&](uint64_t y, size_t k, size_t end) {
    const uint64_t row_begin = y * w, row_end = row_begin + w;
    size_t groups_here = 0;
    for (size_t j = k; j < end; j += 2) {
      const uint64_t b = std::max(runs[j], row_begin) - row_begin;
      const uint64_t e = std::min(runs[j + 1], row_end) - row_begin;
      here[b >> 6] |= uint64_t(1) << (b & 63);  // (runs of a row never touch: distinct ends)
      here[e >> 6] |= uint64_t(1) << (e & 63);
      map_here[b >> 12] |= uint64_t(1) << ((b >> 6) & 63);
      map_here[e >> 12] |= uint64_t(1) << ((e >> 6) & 63);
      groups_here = static_cast<size_t>(e >> 12) + 1;
    }
    uint64_t inside = 0;  // all ones inside a changed stretch
    size_t next = 0;      // the word after the last one visited
    const size_t used = std::max(groups_above, groups_here);
    for (size_t g = 0; g < used; ++g) {
      uint64_t visit = map_above[g] | map_here[g];
      map_above[g] = 0;
      for (; visit; visit &= visit - 1) {
        const size_t q = g * 64 + static_cast<unsigned>(ctz64(visit));
        if (inside)
          for (; next < q; ++next) emit(y, next, ~uint64_t(0));
        uint64_t changed = above[q] ^ here[q];
        above[q] = 0;
        changed ^= changed << 1;  // bit x: an odd number of ends at or before x
        changed ^= changed << 2;
        changed ^= changed << 4;
        changed ^= changed << 8;
        changed ^= changed << 16;
        changed ^= changed << 32;
        changed ^= inside;
        inside = 0 - (changed >> 63);
        if (changed) emit(y, q, changed);
        next = q + 1;
      }
    }
    std::swap(above, here);  // (every nonzero word of the old `above` was visited and cleared)
    std::swap(map_above, map_here);
    groups_above = groups_here;
  });
}

// The changes of rows of any width: the two rows' run ends merged without branches, an end
// in both cancelling; pairs of what is left bound the columns that change. per_column, when
// set, counts them per column as row_changes_bits' does.
void row_changes_merge(const std::vector<uint64_t>& runs, uint64_t h, uint64_t w, Changes& c,
                       size_t* per_column) {
  // A row has at most w + 1 ends, and no more than all the runs have.
  const size_t most = static_cast<size_t>(std::min<uint64_t>(w + 1, runs.size()));
  std::vector<uint32_t> ends_above(most), ends_here(most), differ(2 * most);
  uint32_t *above = ends_above.data(), *here = ends_here.data();
  size_t n_above = 0;
  for_each_row(runs, h, w, [&](uint64_t y, size_t k, size_t end) {
    const uint64_t row_begin = y * w, row_end = row_begin + w;
    size_t n_here = 0;
    for (size_t j = k; j < end; j += 2) {
      here[n_here++] = static_cast<uint32_t>(std::max(runs[j], row_begin) - row_begin);
      here[n_here++] = static_cast<uint32_t>(std::min(runs[j + 1], row_end) - row_begin);
    }
    uint32_t* d = differ.data();
    size_t m = 0, i = 0, j = 0;
    while (i < n_above && j < n_here) {
      const uint32_t a = above[i], b = here[j];
      d[m] = std::min(a, b);
      m += a != b;
      i += a <= b;
      j += b <= a;
    }
    for (; i < n_above; ++i) d[m++] = above[i];
    for (; j < n_here; ++j) d[m++] = here[j];
    for (size_t p = 0; p < m; p += 2) {
      const uint32_t from = d[p], to = d[p + 1];
      c.reserve(to - from);
      for (uint32_t x = from; x < to; ++x) c.found[c.n++] = y << 32 | x;
      if (per_column)
        for (uint32_t x = from; x < to; ++x) ++per_column[x + 1];
    }
    std::swap(above, here);
    n_above = n_here;
  });
}

void row_runs_to_counts(const std::vector<uint64_t>& runs, uint64_t h, uint64_t w,
                        Counts& out) {
  Changes c;
  c.found.resize(runs.size() + runs.size() / 4 + 64);
  // The changes sorted by column, rows ascending inside each, as x << 32 | y: a counting sort
  // on the column (narrow masks, counted as they are found), or a stable radix sort on it,
  // 16 bits at a time.
  std::vector<uint64_t> sorted;
  if (w <= kBitsWidth) {
    std::vector<size_t> start(w + 1, 0);
    // The bits cost a few operations per word between a row's first and last ends, the merge
    // a dependent step (~8 cycles) per end of either row: with under two runs per row (smooth
    // masks) the merge is faster.
    const uint64_t first_row = runs.empty() ? 0 : runs.front() / w;
    const uint64_t rows = runs.empty() ? 1 : (runs.back() - 1) / w - first_row + 1;
    if (runs.size() / 2 >= 2 * rows)
      row_changes_bits(runs, h, w, c, start.data());
    else
      row_changes_merge(runs, h, w, c, start.data());
    for (uint64_t x = 0; x < w; ++x) start[x + 1] += start[x];
    sorted.resize(c.n);
    for (size_t t = 0; t < c.n; ++t) {
      const uint64_t x = c.found[t] & 0xffffffffu;
      sorted[start[x]++] = x << 32 | c.found[t] >> 32;
    }
  } else {
    row_changes_merge(runs, h, w, c, nullptr);
    // Pass 1 reads the changes (y << 32 | x) and writes keys; pass 2 sorts the keys.
    std::vector<uint64_t> keys(c.n);
    sorted.resize(c.n);
    std::vector<size_t> bucket;
    auto pass = [&](const uint64_t* from, uint64_t* to, bool swap, unsigned shift,
                    size_t buckets) {
      auto key = [&](uint64_t v) { return swap ? v << 32 | v >> 32 : v; };
      bucket.assign(buckets + 1, 0);
      for (size_t t = 0; t < c.n; ++t) ++bucket[((key(from[t]) >> shift) & 0xffff) + 1];
      for (size_t b = 1; b <= buckets; ++b) bucket[b] += bucket[b - 1];
      for (size_t t = 0; t < c.n; ++t) {
        const uint64_t k = key(from[t]);
        to[bucket[(k >> shift) & 0xffff]++] = k;
      }
    };
    pass(c.found.data(), keys.data(), true, 32, 65536);
    pass(keys.data(), sorted.data(), false, 48, static_cast<size_t>((w - 1) >> 16) + 1);
  }
  const size_t n = c.n;
  // One toggle per change but those at rows 0 and h, one where a column's top pixel differs
  // from the pixel before it (the previous column's bottom pixel), and one at the start of a
  // column without changes that follows a foreground bottom pixel: such a column is
  // background all through (rows -1 and h are empty), so those need no other visit. At most
  // one toggle more than changes per column that has some, then the last count.
  const size_t first = out.size();
  out.resize(first + 2 * n + 1);
  count_t* toggles = out.data() + first;
  size_t q = 0;
  uint64_t previous_toggle = 0;
  auto toggle = [&](uint64_t at) {
    toggles[q++] = at - previous_toggle;
    previous_toggle = at;
  };
  bool end_value = false;  // value of the pixel before column x in the stream
  uint64_t last_x = UINT64_MAX;
  for (size_t t = 0; t < n;) {
    const uint64_t x = sorted[t] >> 32;
    size_t e = t;
    while (e < n && sorted[e] >> 32 == x) ++e;
    if (end_value && x != last_x + 1) {  // background columns between
      toggle((last_x + 1) * h);
      end_value = false;
    }
    const bool top = (sorted[t] & 0xffffffffu) == 0;
    if (top) ++t;
    const bool bottom = t < e && (sorted[e - 1] & 0xffffffffu) == h;
    if (bottom) --e;
    if (top != end_value) toggle(x * h);
    for (; t < e; ++t) toggle(x * h + (sorted[t] & 0xffffffffu));
    end_value = bottom;
    t = bottom ? e + 1 : e;
    last_x = x;
  }
  if (end_value && last_x + 1 < w) toggle((last_x + 1) * h);
  toggles[q++] = h * w - previous_toggle;
  out.resize(first + q);
}

void append_pair(std::string& out, uint64_t start, uint64_t length) {
  char digits[24];  // a uint64 has at most 20
  if (!out.empty()) out += ' ';
  out.append(digits, std::to_chars(digits, digits + sizeof digits, start).ptr);
  out += ' ';
  out.append(digits, std::to_chars(digits, digits + sizeof digits, length).ptr);
}

// The fal text of one mask.
std::string mask_to_fal(RleRef r, uint64_t base, bool row_major) {
  std::string text;
  const uint64_t total = r.h * r.w;
  if (!row_major || r.h <= 1 || r.w <= 1) {  // the column-major stream is the flat order
    uint64_t pos = 0;
    bool open = false;
    uint64_t open_start = 0;
    for (size_t j = 0; j < r.m; ++j) {
      const uint64_t c = r.counts[j];
      if (c == 0) continue;
      const bool fg = j & 1;
      if (fg && !open) {
        open = true;
        open_start = pos;
      } else if (!fg && open) {
        append_pair(text, open_start + base, pos - open_start);
        open = false;
      }
      pos += c;
    }
    if (open) append_pair(text, open_start + base, total - open_start);
    return text;
  }
  bool open = false;
  uint64_t open_start = 0, carry = 0;  // carry: value of the pixel before this row
  counts_to_rows(r, [&](uint64_t y, const uint64_t* bits) {
    const uint64_t words = (r.w + 63) / 64;
    for (uint64_t q = 0; q < words; ++q) {
      const uint64_t word = bits[q];
      uint64_t t = word ^ ((word << 1) | carry);
      if ((q + 1) * 64 > r.w) t &= ~uint64_t(0) >> (64 - (r.w - q * 64));  // columns < w only
      for (; t; t &= t - 1) {
        const uint64_t at = y * r.w + q * 64 + ctz64(t);
        if (!open) {
          open = true;
          open_start = at;
        } else {
          append_pair(text, open_start + base, at - open_start);
          open = false;
        }
      }
      carry = word >> 63;
    }
    const uint64_t last_column = r.w - 1;
    carry = (bits[last_column >> 6] >> (last_column & 63)) & 1;
  });
  if (open) append_pair(text, open_start + base, total - open_start);
  return text;
}

}  // namespace

Batch read_fal(const Source* texts, size_t n, uint64_t base, bool row_major, const Config& cfg) {
  auto hint = [&](size_t i) { return texts[i].len / 2 + 2; };
  uint64_t chars = 0;
  for (size_t i = 0; i < n; ++i) chars += texts[i].len;
  // About 3 ns per character (row-major text, whose rows' runs are then merged, 4-5 ns).
  return build_batch(n, threads_for(cfg.threads, chars * 3), hint, [&](size_t i, Counts& out, uint64_t& h, uint64_t& w) {
    const Source& s = texts[i];
    h = s.h;
    w = s.w;
    check_pixel_limit(h, w, cfg, i);
    naming("mask", i, [&] {
      const std::vector<uint64_t> runs = parse_runs(s.data, s.len, h * w, base);
      if (row_major && h > 1 && w > 1) {
        if (!rows_fit(h, w)) throw InputError("row-major text needs h, w < 2^32");
        row_runs_to_counts(runs, h, w, out);
      } else {
        runs_to_counts(runs, h * w, out);
      }
    });
  });
}

void write_fal(BatchView b, uint64_t base, bool row_major, std::vector<std::string>& out,
               const Config& cfg) {
  out.assign(b.n, std::string());
  for (size_t i = 0; i < b.n; ++i) check_pixel_limit(b.h[i], b.w[i], cfg, i);
  for (size_t i = 0; i < b.n; ++i)
    if (row_major && !rows_fit(b.h[i], b.w[i]))
      throw InputError("row-major text needs h, w < 2^32").about("mask", i);
  const uint64_t counts = b.n ? b.offsets[b.n] : 0;
  parallel_for(b.n, threads_for(cfg.threads, counts * 20), [&](size_t i) {
    out[i] = mask_to_fal(b[i], base, row_major);
  });
}

}  // namespace turborle
