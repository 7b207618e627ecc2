// Masks -> counts. Every layout is reduced to one thing: a column-major stream of bytes
// (nonzero = foreground) fed to a RunWriter in contiguous chunks. Fortran-ordered masks are
// one chunk; other layouts are gathered a block of columns at a time into a small scratch
// tile (never a copy of the whole mask).
#include <cstring>
#include <stdexcept>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Columns gathered per tile for masks whose columns are not contiguous.
constexpr uint64_t kTileColumns = 64;

void encode_one(const MaskView& v, const uint8_t* mask, std::vector<count_t>& out,
                std::vector<uint8_t>& tile) {
  RunWriter runs(out);
  const uint64_t h = v.h, w = v.w;
  if (h == 0 || w == 0) {
    runs.finish();
    return;
  }
  if (v.stride_y == 1 && v.stride_x == static_cast<int64_t>(h)) {
    runs.feed(mask, h * w);  // Fortran order: the mask is the stream
  } else if (v.stride_y == 1) {
    for (uint64_t x = 0; x < w; ++x) runs.feed(mask + static_cast<int64_t>(x) * v.stride_x, h);
  } else {
    tile.resize(h * kTileColumns);
    for (uint64_t x0 = 0; x0 < w; x0 += kTileColumns) {
      const uint64_t cols = std::min(kTileColumns, w - x0);
      gather_columns(mask + static_cast<int64_t>(x0) * v.stride_x, v.stride_y, v.stride_x, h, cols, tile.data());
      runs.feed(tile.data(), h * cols);
    }
  }
  runs.finish();
}

}  // namespace

Batch encode(const MaskView& v) {
  check_size(v.h, v.w);
  Batch b;
  b.h.reserve(v.n);
  b.w.reserve(v.n);
  b.offsets.reserve(v.n + 1);
  std::vector<uint8_t> tile;
  for (uint64_t i = 0; i < v.n; ++i) {
    encode_one(v, v.data + static_cast<int64_t>(i) * v.stride_n, b.counts, tile);
    b.close(v.h, v.w);
  }
  return b;
}

}  // namespace turborle
