// from_rings (the even-odd fill of rings, csrc/ops_polygons.cpp) with arbitrary coordinates:
// raw double bit patterns (NaN, infinities, 1e30, denormals), extreme values and grids of
// every size. A coordinate that is not finite or beyond +-1e8, or a side past the limit,
// must be rejected with std::invalid_argument; what is accepted must be valid counts equal
// to a per-pixel even-odd crossing count (for grids up to 4096 pixels).
//
// Input: flags (1 byte), h (u16), w (u16), then coordinates.
//   flags bits 0..1: coordinate encoding: raw doubles; int8 / 4 (small, around the grid);
//                    int16 / 64; or raw doubles with every fourth replaced by an extreme
//                    value picked by its low byte;
//   flags bits 2..3: the vertices are split into 1 to 4 rings (of one mask);
//   flags bit 4:     two masks, the rings split between them;
//   flags bit 5:     h and w are shifted left by 16 (sides past 2^32 - 1 are refused).
#include <cmath>
#include <limits>

#include "common.hpp"
#include "ops.hpp"

namespace {

double extreme(uint8_t pick) {
  static const double values[] = {
      std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(), 1e30, -1e30, 1e8, -1e8, 1e8 + 1, -1e8 - 1,
      std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(), -0.0, 0.5,
      -0.5, 2.5, 99999999.9, 4.294967296e9};
  return values[pick % (sizeof values / sizeof values[0])];
}

// Pixel (x, y) is inside when an odd number of ring edges cross the vertical line through
// its centre above the centre (an edge crosses when one end is <= x + 0.5 and the other not).
bool inside(const std::vector<double>& xy, const std::vector<uint64_t>& ring_start,
            uint64_t first_ring, uint64_t last_ring, double cx, double cy) {
  bool odd = false;
  for (uint64_t r = first_ring; r < last_ring; ++r) {
    const uint64_t v0 = ring_start[r], v1 = ring_start[r + 1];
    for (uint64_t v = v0; v < v1; ++v) {
      const uint64_t u = v + 1 < v1 ? v + 1 : v0;
      const double xa = xy[2 * v], ya = xy[2 * v + 1], xb = xy[2 * u], yb = xy[2 * u + 1];
      if ((xa <= cx) == (xb <= cx)) continue;
      const double yc = ya + (cx - xa) * (yb - ya) / (xb - xa);
      if (yc < cy) odd = !odd;  // the crossing lies above the centre
    }
  }
  return odd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  uint64_t h = in.u16(), w = in.u16();
  if (flags & 32) {
    h <<= 16;
    w <<= 16;
  }
  std::vector<double> xy;
  while (!in.empty() && xy.size() < 2048) {
    double v = 0;
    switch (flags & 3) {
      case 0: v = in.f64(); break;
      case 1: v = int8_t(in.u8()) / 4.0; break;
      case 2: v = int16_t(in.u16()) / 64.0; break;
      default: v = (xy.size() % 4 == 3) ? extreme(in.u8()) : in.f64(); break;
    }
    xy.push_back(v);
  }
  if (xy.size() % 2) xy.pop_back();
  const uint64_t vertices = xy.size() / 2;
  const uint64_t rings = 1 + ((flags >> 2) & 3);
  const size_t n = (flags & 16) ? 2 : 1;
  std::vector<uint64_t> ring_start(rings + 1), mask_start(n + 1);
  for (uint64_t r = 0; r <= rings; ++r) ring_start[r] = vertices * r / rings;
  for (size_t i = 0; i <= n; ++i) mask_start[i] = rings * i / n;
  const std::vector<uint64_t> hs(n, h), ws(n, w);
  bool finite = true;
  for (double v : xy) finite = finite && std::isfinite(v) && std::fabs(v) <= 1e8;
  const uint64_t limit = std::min<uint64_t>(uint64_t(1) << 31, UINT32_MAX);
  const bool sides = h <= limit && w <= limit && (h == 0 || w <= (uint64_t(1) << 62) / h);
  turborle::Config cfg{turborle::Isa::kScalar, (flags & 64) ? 2 : 1};
  cfg.max_pixels = uint64_t(1) << 31;
  turborle::Batch out;
  bool ok = true;
  try {
    out = turborle::from_rings(xy.data(), ring_start.data(), mask_start.data(), n, hs.data(), ws.data(), cfg);
  } catch (const std::invalid_argument&) {
    ok = false;
  }
  if (!finite || !sides) CHECK(!ok);
  if (!ok) return 0;
  CHECK(out.size() == n);
  for (size_t i = 0; i < n; ++i) {
    const turborle::RleRef r = out[i];
    CHECK(r.h == h && r.w == w);
    turborle::check_counts(r.counts, r.m, r.h, r.w);
    CHECK(fuzz::canonical(r.counts, r.m, h * w) == turborle::Counts(r.counts, r.counts + r.m));
    if (h * w > 4096 || w > 4096 || h > 4096) continue;
    const std::vector<uint8_t> got = fuzz::dense(r.counts, r.m, h * w);
    for (uint64_t x = 0; x < w; ++x)
      for (uint64_t y = 0; y < h; ++y)
        CHECK(got[x * h + y] == inside(xy, ring_start, mask_start[i], mask_start[i + 1], x + 0.5, y + 0.5));
  }
  return 0;
}
