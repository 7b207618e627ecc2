// Bit rows <-> column-major counts: the shared core of encode (C order), decode (C order) and
// the fal/Kaggle dialect, which is row-major. Internal header.
//
// A change of value going down a column (pixel (x, y) differs from (x, y-1)) is exactly a run
// boundary of the column-major stream, at x*h + y. So column-major counts are the top row
// plus those changes sorted by column, and the reverse.
#pragma once

#include <cstdint>
#include <vector>

#include "turborle.hpp"

namespace turborle {

// Bit-row conversions index rows and columns in 32 bits.
inline bool rows_fit(uint64_t h, uint64_t w) {
  return h < (uint64_t(1) << 32) && w < (uint64_t(1) << 32);
}

// Calls next_row(y, bits, changed) for y = 0 .. h-1: bits holds row y-1 (zeros for y = 0)
// and must be left holding row y; the columns whose value changed are written to changed
// (room for w) in increasing order and their number returned. Appends canonical counts.
// Requires h, w < 2^32.
template <class NextRow>
void rows_to_counts(uint64_t h, uint64_t w, NextRow&& next_row, Counts& out) {
  const uint64_t words = (w + 63) / 64;
  std::vector<uint64_t> bits(words, 0);
  std::vector<uint32_t> tx, ty;  // changes (x, y), y >= 1, in row order
  std::vector<uint32_t> changed(w);
  next_row(0, bits.data(), changed.data());
  const std::vector<uint64_t> first = bits;
  for (uint64_t y = 1; y < h; ++y) {
    const size_t n = next_row(y, bits.data(), changed.data());
    tx.insert(tx.end(), changed.begin(), changed.begin() + n);
    ty.insert(ty.end(), n, static_cast<uint32_t>(y));
  }
  const std::vector<uint64_t>& last = bits;
  // Counting sort by column; rows stay in increasing order inside each column.
  std::vector<uint32_t> start(w + 1, 0);
  for (uint32_t x : tx) ++start[x + 1];
  for (uint64_t x = 0; x < w; ++x) start[x + 1] += start[x];
  std::vector<uint32_t> rows(tx.size());
  {
    std::vector<uint32_t> cursor(start.begin(), start.end() - 1);
    for (size_t t = 0; t < tx.size(); ++t) rows[cursor[tx[t]]++] = ty[t];
  }
  auto bit = [](const std::vector<uint64_t>& b, uint64_t x) { return (b[x >> 6] >> (x & 63)) & 1; };
  uint64_t previous_toggle = 0;
  auto toggle = [&](uint64_t at) {
    out.push_back(at - previous_toggle);
    previous_toggle = at;
  };
  uint64_t end_value = 0;  // value of the pixel before column x in the stream
  for (uint64_t x = 0; x < w; ++x) {
    if (bit(first, x) != end_value) toggle(x * h);
    for (uint32_t t = start[x]; t < start[x + 1]; ++t) toggle(x * h + rows[t]);
    end_value = bit(last, x);
  }
  out.push_back(h * w - previous_toggle);
}

// Calls row(y, bits) for y = 0 .. h-1 with the bits of row y of mask r (bits past w are 0).
// Requires h, w < 2^32 and counts summing to h*w.
template <class Row>
void counts_to_rows(RleRef r, Row&& row) {
  const uint64_t h = r.h, w = r.w;
  std::vector<uint64_t> bits((w + 63) / 64, 0);  // row 0 first, then each next row in turn
  std::vector<uint32_t> tx, ty;                  // changes going down (x, y), y >= 1
  uint64_t pos = 0, value = 0;
  for (size_t j = 0; j < r.m; ++j) {
    const uint64_t c = r.counts[j];
    if (c == 0) continue;
    const uint64_t v = j & 1;
    if (v != value) {
      const uint64_t x = pos / h, y = pos - x * h;
      if (y != 0) {
        tx.push_back(static_cast<uint32_t>(x));
        ty.push_back(static_cast<uint32_t>(y));
      }
      value = v;
    }
    if (v) {  // columns whose top pixel lies in this foreground run
      for (uint64_t x = (pos + h - 1) / h, last = (pos + c - 1) / h; x <= last; ++x)
        bits[x >> 6] |= uint64_t(1) << (x & 63);
    }
    pos += c;
  }
  std::vector<uint32_t> start(h + 1, 0);
  for (uint32_t y : ty) ++start[y + 1];
  for (uint64_t y = 0; y < h; ++y) start[y + 1] += start[y];
  std::vector<uint32_t> cols(tx.size());
  {
    std::vector<uint32_t> cursor(start.begin(), start.end() - 1);
    for (size_t t = 0; t < tx.size(); ++t) cols[cursor[ty[t]]++] = tx[t];
  }
  for (uint64_t y = 0; y < h; ++y) {
    for (uint32_t t = start[y]; t < start[y + 1]; ++t) bits[cols[t] >> 6] ^= uint64_t(1) << (cols[t] & 63);
    row(y, static_cast<const uint64_t*>(bits.data()));
  }
}

}  // namespace turborle
