// Counts -> dense masks; every byte of the output is written (0 or 1).
//   * Column-major output: one memset per run; outputs too large for the cache are written
//     in aligned 16-byte blocks with non-temporal stores instead.
//   * Row-major output: the run boundaries of the column-major stream are the places where
//     a column changes value going down. Bucketed by row, they turn each bit row into the
//     next by XOR; each bit row is expanded to bytes with SIMD and written once, in order.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "errors.hpp"
#include "parallel.hpp"
#include "portable.hpp"
#include "rows.hpp"
#include "turborle.hpp"

#ifdef TURBORLE_X86
#include <emmintrin.h>
#endif

namespace turborle {

namespace {

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

#ifdef TURBORLE_X86
// Outputs larger than this are written with non-temporal stores: they would not stay in
// cache anyway, and a plain store first reads every line it writes (write-allocate), which
// doubles the memory traffic of a decode. Smaller outputs stay in cache for their reader.
constexpr uint64_t kStreamFrom = uint64_t(8) << 20;

// kSuffix[o]: 16 bytes, 1 from byte o on (o in 0..16).
struct SuffixTable {
  alignas(16) uint8_t mask[17][16];
  constexpr SuffixTable() : mask{} {
    for (int o = 0; o <= 16; ++o)
      for (int k = 0; k < 16; ++k) mask[o][k] = k >= o ? 1 : 0;
  }
};
constexpr SuffixTable kSuffix;

// decode_columns, every whole aligned 16-byte block written by one non-temporal store (SSE2,
// which every x86-64 CPU has): a block inside one run is that run's value; a block where runs
// end starts as the value of its first run and is flipped from each run boundary on. The
// bytes before the first aligned block and after the last are written plainly.
void decode_columns_streaming(RleRef r, uint8_t* out) {
  const uint64_t total = r.h * r.w;
  size_t j = 0;
  uint64_t left = r.m ? r.counts[0] : 0;  // bytes left in run j
  uint8_t value = 0;                      // run j's value (j & 1)
  auto next_run = [&] {  // the next run with bytes left (there is one while bytes remain)
    while (left == 0 && ++j < r.m) {
      left = r.counts[j];
      value ^= 1;
    }
  };
  auto plain = [&](uint8_t* p, uint64_t n) {  // n bytes from the runs, plain stores
    while (n) {
      next_run();
      const uint64_t k = std::min(n, left);
      std::memset(p, value, k);
      p += k;
      n -= k;
      left -= k;
    }
  };
  const uint64_t head = std::min<uint64_t>(total, (16 - (reinterpret_cast<uintptr_t>(out) & 15)) & 15);
  plain(out, head);
  uint8_t* p = out + head;
  uint8_t* const body_end = p + (total - head) / 16 * 16;
  const __m128i one = _mm_set1_epi8(1);
  for (; p < body_end; p += 16) {
    next_run();
    if (left >= 16) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(p), value ? one : _mm_setzero_si128());
      left -= 16;
      continue;
    }
    __m128i block = value ? one : _mm_setzero_si128();
    uint64_t at = left;  // where run j ends in the block
    left = 0;
    while (at < 16) {  // each later run flips the block from where it starts
      ++j;
      left = r.counts[j];
      value ^= 1;
      block = _mm_xor_si128(block, _mm_load_si128(reinterpret_cast<const __m128i*>(kSuffix.mask[at])));
      if (left >= 16 - at) {
        left -= 16 - at;
        break;
      }
      at += left;
      left = 0;
    }
    _mm_stream_si128(reinterpret_cast<__m128i*>(p), block);
  }
  plain(p, out + total - p);
  _mm_sfence();  // the streamed stores are visible before the call returns
}
#endif

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
#ifdef TURBORLE_X86
  const bool stream = b.n * h * w >= kStreamFrom && cfg.isa != Isa::kScalar;
#endif
  // About a tenth of a nanosecond per pixel written.
  parallel_for(b.n, threads_for(cfg.threads, b.n * h * w / 8), [&](size_t i) {
    uint8_t* dst = out + i * h * w;
    if (rows)
      decode_rows(b[i], dst, k);
#ifdef TURBORLE_X86
    else if (stream)
      decode_columns_streaming(b[i], dst);
#endif
    else
      decode_columns(b[i], dst);
  });
}

}  // namespace turborle
