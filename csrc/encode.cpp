// Masks -> counts, three ways by layout:
//   * a column-major (Fortran) mask is one stream, scanned for value changes with SIMD;
//   * a row-major (C) mask is read row by row into bit rows (SIMD compare + movemask); the
//     XOR of two consecutive bit rows marks the columns where the value changes going down,
//     i.e. the run boundaries of the column-major stream; bucketed by column they give the
//     counts directly. The mask is read once, in memory order, and never transposed;
//   * any other strides are gathered a block of columns at a time into a small tile.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "batch_build.hpp"
#include "portable.hpp"
#include "rows.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Turns a column-major stream of bytes, fed in chunks, into counts.
class RunWriter {
 public:
  RunWriter(Counts& out, const Kernels& k) : out_(out), k_(k) {}
  void feed(const uint8_t* p, uint64_t len) {
    uint64_t i = 0;
    while (i < len) {
      const uint64_t j = k_.find_byte(p, i, len, !foreground_);
      run_ += j - i;
      if (j == len) return;
      out_.push_back(run_);
      run_ = 0;
      foreground_ = !foreground_;
      i = j;
    }
  }
  // Ends the mask: the last run is pushed (an empty mask gives {0}).
  void finish() { out_.push_back(run_); }

 private:
  Counts& out_;
  const Kernels& k_;
  bool foreground_ = false;
  uint64_t run_ = 0;
};

constexpr uint64_t kTileColumns = 64;
// Rows are read ahead of use: the loop does little work per byte, so without this it waits
// on memory.
constexpr uint64_t kPrefetchRows = 4;

inline void prefetch_row(const uint8_t* row, uint64_t w) {
  for (uint64_t k = 0; k < w; k += 64) TURBORLE_PREFETCH(row + k);
}

void encode_rows(const uint8_t* mask, int64_t stride_y, uint64_t h, uint64_t w, const Kernels& k,
                 Counts& out) {
  rows_to_counts(h, w, [&](uint64_t y, uint64_t* bits, uint32_t* changed) {
    const uint8_t* row = mask + static_cast<int64_t>(y) * stride_y;
    if (y + kPrefetchRows < h) prefetch_row(row + kPrefetchRows * stride_y, w);
    return k.row_changes(row, w, bits, changed);
  }, out);
}

void encode_one(const MaskView& v, const uint8_t* mask, const Kernels& k, Counts& out,
                std::vector<uint8_t>& tile) {
  const uint64_t h = v.h, w = v.w;
  if (h == 0 || w == 0) {
    out.push_back(0);
    return;
  }
  if (v.stride_x == 1 && h > 1 && rows_fit(h, w)) {
    encode_rows(mask, v.stride_y, h, w, k, out);
    return;
  }
  RunWriter runs(out, k);
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
  // About a tenth of a nanosecond per pixel (SIMD compares), more for other layouts.
  const int threads = threads_for(cfg.threads, v.n * v.h * v.w / 8);
  const Kernels& k = kernels(cfg.isa);
  // Small masks reserve their worst case (a run per pixel) so their counts never regrow.
  const size_t hint = static_cast<size_t>(std::min<uint64_t>(v.h * v.w + 1, 1024));
  return build_batch(v.n, threads, [&](size_t) { return hint; }, [&](size_t i, Counts& out, uint64_t& h, uint64_t& w) {
    thread_local std::vector<uint8_t> tile;
    encode_one(v, v.data + static_cast<int64_t>(i) * v.stride_n, k, out, tile);
    h = v.h;
    w = v.w;
  });
}

}  // namespace turborle
