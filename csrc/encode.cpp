// Masks -> counts, three ways by layout:
//   * a column-major (Fortran) mask is one stream, scanned for value changes with SIMD;
//   * a row-major (C) mask is read row by row into bit rows (SIMD compare + movemask); the
//     XOR of two consecutive bit rows marks the columns where the value changes going down,
//     i.e. the run boundaries of the column-major stream; bucketed by column they give the
//     counts directly. The mask is read once, in memory order, and never transposed;
//   * any other strides are gathered a block of columns at a time into a small tile.
#include <cstring>
#include <stdexcept>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

constexpr uint64_t kTileColumns = 64;
// Rows are read ahead of use: the loop does little work per byte, so without this it waits
// on memory.
constexpr uint64_t kPrefetchRows = 4;

inline void prefetch_row(const uint8_t* row, uint64_t w) {
  for (uint64_t k = 0; k < w; k += 64) __builtin_prefetch(row + k);
}

void encode_rows(const uint8_t* mask, int64_t stride_y, uint64_t h, uint64_t w, Isa isa,
                 std::vector<count_t>& out) {
  const uint64_t words = (w + 63) / 64;
  std::vector<uint64_t> first(words), prev(words, 0);
  std::vector<uint32_t> tx, ty;  // vertical transitions (x, y), y >= 1, in row order
  std::vector<uint32_t> changed(w);
  row_changes(isa, mask, w, prev.data(), changed.data());
  first = prev;
  for (uint64_t y = 1; y < h; ++y) {
    const uint8_t* row = mask + static_cast<int64_t>(y) * stride_y;
    if (y + kPrefetchRows < h) prefetch_row(row + kPrefetchRows * stride_y, w);
    const size_t n = row_changes(isa, row, w, prev.data(), changed.data());
    tx.insert(tx.end(), changed.begin(), changed.begin() + n);
    ty.insert(ty.end(), n, static_cast<uint32_t>(y));
  }
  const std::vector<uint64_t>& last = prev;
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

void encode_one(const MaskView& v, const uint8_t* mask, Isa isa, std::vector<count_t>& out,
                std::vector<uint8_t>& tile) {
  const uint64_t h = v.h, w = v.w;
  if (h == 0 || w == 0) {
    out.push_back(0);
    return;
  }
  const bool fits32 = h < (uint64_t(1) << 32) && w < (uint64_t(1) << 32);
  if (v.stride_x == 1 && h > 1 && fits32) {
    encode_rows(mask, v.stride_y, h, w, isa, out);
    return;
  }
  RunWriter runs(out, isa);
  if (v.stride_y == 1 && v.stride_x == static_cast<int64_t>(h)) {
    runs.feed(mask, h * w);  // Fortran order: the mask is the stream
  } else if (v.stride_y == 1) {
    for (uint64_t x = 0; x < w; ++x) runs.feed(mask + static_cast<int64_t>(x) * v.stride_x, h);
  } else {
    tile.resize(h * kTileColumns);
    for (uint64_t x0 = 0; x0 < w; x0 += kTileColumns) {
      const uint64_t cols = std::min(kTileColumns, w - x0);
      const uint8_t* src = mask + static_cast<int64_t>(x0) * v.stride_x;
      for (uint64_t y = 0; y < h; ++y) {
        const uint8_t* row = src + static_cast<int64_t>(y) * v.stride_y;
        for (uint64_t j = 0; j < cols; ++j) tile[j * h + y] = row[static_cast<int64_t>(j) * v.stride_x];
      }
      runs.feed(tile.data(), h * cols);
    }
  }
  runs.finish();
}

}  // namespace

Batch encode(const MaskView& v, const Config& cfg) {
  check_size(v.h, v.w);
  return build_batch(v.n, cfg, [](size_t) { return size_t(0); }, [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    thread_local std::vector<uint8_t> tile;
    encode_one(v, v.data + static_cast<int64_t>(i) * v.stride_n, cfg.isa, out, tile);
    h = v.h;
    w = v.w;
  });
}

}  // namespace turborle
