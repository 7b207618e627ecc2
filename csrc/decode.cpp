// Counts -> dense masks; every byte of the output is written (0 or 1).
//   * Column-major output: one memset per run.
//   * Row-major output: the run boundaries of the column-major stream are the places where
//     a column changes value going down. Bucketed by row, they turn each bit row into the
//     next by XOR; each bit row is expanded to bytes with SIMD and written once, in order.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "errors.hpp"
#include "parallel.hpp"
#include "rows.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Outputs from this size on are streamed (Kernels::decode_stream): about half a large L3.
constexpr uint64_t kStreamDecodeBytes = uint64_t(16) << 20;

void decode_columns(RleRef r, uint8_t* out) {
  uint8_t value = 0;
  for (size_t j = 0; j < r.m; ++j) {
    if (r.counts[j]) {  // (an empty mask may come with no buffer at all)
      std::memset(out, value, r.counts[j]);
      out += r.counts[j];
    }
    value ^= 1;
  }
}

void decode_rows(RleRef r, uint8_t* out, const Kernels& k) {
  counts_to_rows(r, [&](uint64_t y, const uint64_t* bits) { k.unpack_row(bits, r.w, out + y * r.w); });
}

}  // namespace

void decode(BatchView b, uint8_t* out, Order order, const Config& cfg) {
  if (b.n == 0) return;
  const uint64_t h = b.h[0], w = b.w[0];
  check_pixel_limit(h, w, cfg, 0);
  check_one_size(b, "decode");
  for (size_t i = 0; i < b.n; ++i)
    naming("mask", i, [&] { check_counts(b[i].counts, b[i].m, h, w); });
  const Kernels& k = kernels(cfg.isa);
  const bool rows = order == Order::kRowMajor && h > 1 && w > 1 && rows_fit(h, w);
  // An output far larger than the cache is written a line at a time without reading it:
  // otherwise every store that misses reads its line first, and decoding costs twice the
  // memory traffic of the writes (64 masks of 1024x1024: 4.5-6 ms -> about 2-3 ms here).
  const bool stream = k.decode_stream && b.n * h * w >= kStreamDecodeBytes;
  // About a tenth of a nanosecond per pixel written.
  parallel_for(b.n, threads_for(cfg.threads, b.n * h * w / 8), [&](size_t i) {
    uint8_t* dst = out + i * h * w;
    if (stream)
      k.decode_stream(b[i], dst, rows);
    else if (rows)
      decode_rows(b[i], dst, k);
    else
      decode_columns(b[i], dst);
  });
}

}  // namespace turborle
