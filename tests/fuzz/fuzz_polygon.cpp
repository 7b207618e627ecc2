// Polygon and box rasterisation with extreme coordinates: NaN, infinities, 1e30,
// denormals, huge vertex counts, sizes up to (and past) 2^62 pixels. Coordinates that are
// not finite or beyond +-1e8 must be rejected with std::invalid_argument, never UB; what is
// accepted must be valid counts, the same through the batch functions, and a box must cover
// exactly the pixels of a closed form written here (box_pixels), not the polygon walk.
//
// Input: flags (1 byte), h (u32), w (u32), then coordinates.
//   flags bits 0..1: coordinate encoding: raw doubles (any bit pattern); int16 / 8 (small,
//                    mostly inside the image); int8 (tiny); or raw doubles with every
//                    fourth replaced by an extreme value picked by its low byte;
//   flags bit 2:     boxes (4 numbers each) instead of one polygon;
//   flags bit 3:     many vertices: the coordinates are repeated cyclically up to 2^16
//                    vertices (at least 2^14);
//   flags bit 4:     h and w are shifted left by 16 (huge grids).
// The harness skips polygons whose boundary walk is long but still allowed (more than
// 2^21 steps on the 5x grid), only to keep each run fast; longer than the core's limit
// (2^31 steps) it calls the core, which must reject it at once.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.hpp"

namespace {

using fuzz::count_t;

double extreme(uint8_t pick) {
  static const double values[] = {
      std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
      1e30, -1e30, 1e8, -1e8, 1e8 + 1, -1e8 - 1, 4.294967296e9, -2.147483648e9,
      std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::denorm_min(), -0.0, 0.5, -0.5, 0.1, 2.5, 3.5, 99999999.9,
      std::numeric_limits<double>::epsilon(), 429496729.5};
  return values[pick % (sizeof values / sizeof values[0])];
}

// Steps of the boundary walk as the core counts them, or a huge number when a coordinate
// is out of range (the core rejects it before walking).
uint64_t walk_steps(const std::vector<double>& xy, size_t k) {
  std::vector<long long> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) {
    for (int c = 0; c < 2; ++c) {
      const double v = xy[2 * j + c];
      if (!std::isfinite(v) || std::fabs(v) > 1e8) return ~uint64_t(0);
      (c ? y : x)[j] = static_cast<int>(5 * v + .5);
    }
  }
  if (k == 0) return 0;
  x[k] = x[0];
  y[k] = y[0];
  uint64_t steps = 0;
  for (size_t j = 0; j < k; ++j)
    steps += static_cast<uint64_t>(std::max(std::llabs(x[j] - x[j + 1]), std::llabs(y[j] - y[j + 1])));
  return steps;
}

bool allowed(uint64_t steps) {
  return steps <= (uint64_t(1) << 21) || steps > (uint64_t(1) << 31);
}

// Indices i in [0, n) with lo < 5*i + 2.5 < hi (lo, hi integers): false when there are none.
bool centres_between(long long a, long long b, uint64_t n, uint64_t& first, uint64_t& last) {
  const long long lo = std::min(a, b), hi = std::max(a, b);
  const long long f = lo <= 2 ? 0 : (lo - 2 + 4) / 5;  // smallest i with 5*i + 2 >= lo
  long long l = hi < 3 ? -1 : (hi - 3) / 5;            // largest i with 5*i + 3 <= hi
  if (n == 0) return false;
  l = std::min<long long>(l, static_cast<long long>(n - 1));
  if (l < f) return false;
  first = static_cast<uint64_t>(f);
  last = static_cast<uint64_t>(l);
  return true;
}

// Canonical counts of the box [x, y, bw, bh] from its definition, independent of the polygon
// walk the core rasterises it with: the corners x, x + bw, y, y + bh are rounded onto the 5x
// grid as polygon vertices are ((int)(5*v + .5)), and pixel (col, row) is foreground when its
// centre (5*col + 2.5, 5*row + 2.5) lies strictly inside the rounded rectangle. The caller
// has checked that the corners are finite and within +-1e8.
turborle::Counts box_pixels(const double* box, uint64_t h, uint64_t w) {
  const double xs = box[0], xe = xs + box[2], ys = box[1], ye = ys + box[3];
  const auto grid = [](double v) { return static_cast<long long>(static_cast<int>(5 * v + .5)); };
  const uint64_t total = h * w;
  uint64_t c0, c1, r0, r1;
  if (!centres_between(grid(xs), grid(xe), w, c0, c1) ||
      !centres_between(grid(ys), grid(ye), h, r0, r1))
    return {total};  // no foreground ({0} for a mask without pixels)
  turborle::Counts counts;
  uint64_t pos = 0;  // end of the last foreground run
  for (uint64_t c = c0; c <= c1; ++c) {
    const uint64_t start = c * h + r0, end = c * h + r1 + 1;
    counts.push_back(start - pos);
    counts.push_back(end - start);
    pos = end;
  }
  counts.push_back(total - pos);
  return fuzz::canonical(counts, total);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  uint64_t h = in.u32(), w = in.u32();
  if (flags & 16) {
    h <<= 16;
    w <<= 16;
  }
  std::vector<double> v;
  while (!in.empty()) {
    switch (flags & 3) {
      case 0: v.push_back(in.f64()); break;
      case 1: v.push_back(static_cast<int16_t>(in.u16()) / 8.0); break;
      case 2: v.push_back(static_cast<int8_t>(in.u8())); break;
      default: v.push_back(v.size() % 4 == 3 ? extreme(in.u8()) : in.f64()); break;
    }
  }
  if ((flags & 8) && !v.empty()) {
    const size_t target = (size_t(1) << 14) + (v.size() * 977) % ((size_t(1) << 16) - (size_t(1) << 14));
    const size_t base = v.size();
    for (size_t i = base; i < 2 * target; ++i) v.push_back(v[i % base]);
  }
  const bool size_ok = h == 0 || w <= turborle::kMaxPixels / h;
  const uint64_t total = size_ok ? h * w : 0;

  if (flags & 4) {  // boxes
    const size_t n = v.size() / 4;
    std::vector<std::vector<double>> corners(n);
    uint64_t walked = 0;  // steps of the boxes the core walks (up to the first it rejects)
    for (size_t i = 0; i < n; ++i) {
      const double* b = v.data() + 4 * i;
      const double xs = b[0], xe = xs + b[2], ys = b[1], ye = ys + b[3];
      corners[i] = {xs, ys, xs, ye, xe, ye, xe, ys};
      const uint64_t steps = walk_steps(corners[i], 4);
      if (steps > (uint64_t(1) << 31)) break;
      walked += steps;
      if (walked > (uint64_t(1) << 21)) return 0;
    }
    turborle::Batch got;
    bool ok = true;
    try {
      got = turborle::rasterize_boxes(v.data(), n, h, w);
    } catch (const std::invalid_argument&) {
      ok = false;
    }
    // Each box alone, against its closed form; the batch fails at the first box that fails
    // alone.
    bool all_ok = size_ok || n == 0;
    for (size_t i = 0; i < n && all_ok; ++i) {
      turborle::Counts one;
      bool box_ok = true;
      try {
        turborle::box_counts(v.data() + 4 * i, h, w, one);
      } catch (const std::invalid_argument&) {
        box_ok = false;
      }
      // Rejected exactly when a corner is not finite or beyond 1e8, or the walk is too long.
      CHECK(box_ok == (walk_steps(corners[i], 4) <= (uint64_t(1) << 31)));
      all_ok = box_ok;
      if (!box_ok) break;
      CHECK(fuzz::canonical(one, total) == box_pixels(v.data() + 4 * i, h, w));
      turborle::check_counts(one.data(), one.size(), h, w);  // must not throw
      if (ok) CHECK(fuzz::counts_of(got, i) == one);
    }
    CHECK(ok == all_ok);
    return 0;
  }

  const size_t k = v.size() / 2;
  const uint64_t steps = walk_steps(v, k);
  if (!allowed(steps)) return 0;
  turborle::Counts counts;
  bool ok = true;
  try {
    turborle::polygon_counts(v.data(), k, h, w, counts);
  } catch (const std::invalid_argument&) {
    ok = false;
  }
  const bool finite = steps != ~uint64_t(0);
  // (An empty grid needs no walk: any polygon on it is an empty mask, however long.)
  CHECK(ok == (size_ok && finite && (total == 0 || steps <= (uint64_t(1) << 31))));
  if (!ok) return 0;
  turborle::check_counts(counts.data(), counts.size(), h, w);  // must not throw

  // The batch form: the same polygon twice, and an empty polygon (0 vertices: empty mask).
  const double* polys[3] = {v.data(), v.data(), v.data()};
  const size_t ks[3] = {k, 0, k};
  const turborle::Batch b = turborle::rasterize_polygons(polys, ks, 3, h, w);
  CHECK(b.size() == 3);
  CHECK(fuzz::counts_of(b, 0) == counts && fuzz::counts_of(b, 2) == counts);
  CHECK(fuzz::counts_of(b, 1) == turborle::Counts{total});

  // Small grids: decode and encode give back the canonical counts.
  if (total > 0 && total <= (uint64_t(1) << 16)) {
    std::vector<uint8_t> dense(total);
    turborle::Batch one;
    one.counts = counts;
    one.close(h, w);
    turborle::decode(one, dense.data(), turborle::Order::kColumnMajor, fuzz::scalar_config());
    CHECK(fuzz::counts_of(dense) == fuzz::canonical(counts, total));
  }
  return 0;
}
