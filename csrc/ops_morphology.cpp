// Binary morphology on column spans, with scipy.ndimage's semantics and border value 0.
//
// A structuring element of size k has offsets e = s - k/2 for s in 0..k-1 on each axis (scipy
// centres an even-sized structure at index k/2). With E the set of (dx, dy) offsets:
//   dilation: out(x, y) = OR  over E of in(x - dx, y - dy)
//   erosion:  out(x, y) = AND over E of in(x + dx, y + dy), pixels outside the image being 0.
// For a column offset dx the row offsets form one range [lo, hi], so each term is a column
// whose spans grew ([y0 + lo, y1 + hi)) or shrank ([y0 - lo, y1 - hi)), combined over the
// columns in reach:
//   * square: grow or shrink every column once, then the union or intersection over a window
//     of k columns, by doubling (windows of 2, 4, 8, ... columns: log2(k) passes);
//   * cross: the grown / shrunk column combined with the window of the plain columns;
//   * disk: per output column, the union / intersection of the 2r + 1 columns in reach, each
//     grown or shrunk by its own extent (cost grows with the radius).
#include <cmath>
#include <stdexcept>
#include <string>

#include "ops.hpp"
#include "spans.hpp"

namespace turborle {

namespace {

// Appends the union of two sorted span lists (overlapping or touching spans joined).
void unite(const Span* a, const Span* ae, const Span* b, const Span* be, std::vector<Span>& out) {
  const size_t first = out.size();
  while (a != ae || b != be) {
    const Span s = (b == be || (a != ae && a->y0 <= b->y0)) ? *a++ : *b++;
    if (out.size() > first && out.back().y1 >= s.y0)
      out.back().y1 = std::max(out.back().y1, s.y1);
    else
      out.push_back(s);
  }
}

// Appends the intersection of two sorted span lists.
void intersect(const Span* a, const Span* ae, const Span* b, const Span* be,
               std::vector<Span>& out) {
  while (a != ae && b != be) {
    const uint32_t lo = std::max(a->y0, b->y0), hi = std::min(a->y1, b->y1);
    if (lo < hi) out.push_back({lo, hi});
    if (a->y1 < b->y1)
      ++a;
    else
      ++b;
  }
}

void combine(bool dilate, const Span* a, const Span* ae, const Span* b, const Span* be,
             std::vector<Span>& out) {
  if (dilate)
    unite(a, ae, b, be, out);
  else
    intersect(a, ae, b, be, out);
}

// Every span grown to rows [y0 + lo, y1 + hi) (lo <= 0 <= hi) clipped to the column, or
// shrunk to [y0 - lo, y1 - hi).
void vertical(const Columns& in, int64_t lo, int64_t hi, bool dilate, Columns& out) {
  out.reset(in.h, in.w);
  out.spans.reserve(in.spans.size());
  const int64_t h = static_cast<int64_t>(in.h);
  for (uint64_t x = 0; x < in.w; ++x) {
    const size_t first = out.spans.size();
    for (const Span* s = in.begin(x); s != in.end(x); ++s) {
      int64_t y0, y1;
      if (dilate) {
        y0 = std::max<int64_t>(s->y0 + lo, 0);
        y1 = std::min<int64_t>(s->y1 + hi, h);
      } else {
        y0 = s->y0 - lo;
        y1 = s->y1 - hi;
        if (y0 >= y1) continue;
      }
      if (out.spans.size() > first && out.spans.back().y1 >= y0)
        out.spans.back().y1 = static_cast<uint32_t>(y1);  // (growth keeps the order of ends)
      else
        out.spans.push_back({static_cast<uint32_t>(y0), static_cast<uint32_t>(y1)});
    }
    out.close_column();
  }
}

// out column x = union (dilate) or intersection of in's columns x - left .. x + right, the
// columns outside the image being empty. By doubling: level j holds, for each column t of a
// range extended by the window, the combination of columns t .. t + 2^j - 1.
void window(const Columns& in, uint64_t left, uint64_t right, bool dilate, Columns& out) {
  const uint64_t w = in.w, k = left + right + 1;
  if (k == 1) {
    out = in;
    return;
  }
  const uint64_t n = w + k - 1;  // extended column t is image column t - left
  Columns level, next;
  level.reset(in.h, n);
  level.spans.reserve(in.spans.size());
  for (uint64_t t = 0; t < n; ++t) {
    if (t >= left && t - left < w) level.spans.insert(level.spans.end(), in.begin(t - left), in.end(t - left));
    level.close_column();
  }
  uint64_t reach = 1;  // columns each entry of `level` covers
  while (2 * reach <= k) {
    next.reset(in.h, n);
    next.spans.reserve(level.spans.size());
    for (uint64_t t = 0; t < n; ++t) {
      if (t + reach < n)
        combine(dilate, level.begin(t), level.end(t), level.begin(t + reach), level.end(t + reach), next.spans);
      else if (dilate)  // (the rest of the window lies past the image: empty)
        next.spans.insert(next.spans.end(), level.begin(t), level.end(t));
      next.close_column();
    }
    std::swap(level, next);
    reach *= 2;
  }
  out.reset(in.h, w);
  out.spans.reserve(in.spans.size());
  for (uint64_t x = 0; x < w; ++x) {  // window [x - left, x + right] = extended [x, x + k - 1]
    const uint64_t second = x + k - reach;
    if (second == x)
      out.spans.insert(out.spans.end(), level.begin(x), level.end(x));
    else
      combine(dilate, level.begin(x), level.end(x), level.begin(second), level.end(second), out.spans);
    out.close_column();
  }
}

// Largest a with a^2 + d^2 <= r^2.
uint64_t disk_extent(uint64_t r, uint64_t d) {
  const unsigned __int128 v = (unsigned __int128)r * r - (unsigned __int128)d * d;
  uint64_t a = static_cast<uint64_t>(std::sqrt(static_cast<long double>(v)));
  while ((unsigned __int128)a * a > v) --a;
  while ((unsigned __int128)(a + 1) * (a + 1) <= v) ++a;
  return a;
}

void disk(const Columns& in, uint64_t r, bool dilate, Columns& out) {
  const uint64_t w = in.w, h = in.h;
  out.reset(h, w);
  if (w == 0) return;
  if (!dilate && r >= w) {  // every pixel has an offset outside the image
    for (uint64_t x = 0; x < w; ++x) out.close_column();
    return;
  }
  const uint64_t reach = std::min(r, w - 1);  // farther columns never meet the image
  // Columns grown or shrunk by each distinct extent; extents fall as |dx| grows.
  std::vector<Columns> bank;
  std::vector<size_t> which(reach + 1);
  uint64_t previous = UINT64_MAX;
  for (uint64_t d = 0; d <= reach; ++d) {
    const uint64_t a = std::min(disk_extent(r, d), h);
    if (a != previous) {
      bank.emplace_back();
      vertical(in, -static_cast<int64_t>(a), static_cast<int64_t>(a), dilate, bank.back());
      previous = a;
    }
    which[d] = bank.size() - 1;
  }
  std::vector<Span> acc, tmp;
  for (uint64_t x = 0; x < w; ++x) {
    acc.clear();
    if (dilate) {
      const uint64_t from = x >= reach ? x - reach : 0, to = std::min(x + reach, w - 1);
      for (uint64_t src = from; src <= to; ++src) {
        const Columns& g = bank[which[src > x ? src - x : x - src]];
        tmp.clear();
        unite(acc.data(), acc.data() + acc.size(), g.begin(src), g.end(src), tmp);
        std::swap(acc, tmp);
      }
    } else if (x >= r && x + r < w) {
      const Columns& g0 = bank[which[r]];
      acc.assign(g0.begin(x - r), g0.end(x - r));
      for (uint64_t src = x - r + 1; src <= x + r && !acc.empty(); ++src) {
        const Columns& g = bank[which[src > x ? src - x : x - src]];
        tmp.clear();
        intersect(acc.data(), acc.data() + acc.size(), g.begin(src), g.end(src), tmp);
        std::swap(acc, tmp);
      }
    }
    out.spans.insert(out.spans.end(), acc.begin(), acc.end());
    out.close_column();
  }
}

// One dilation or erosion of in by the element.
void step(const Columns& in, bool dilate, Shape shape, uint64_t size, Columns& out) {
  const uint64_t c = size / 2, after = size - 1 - c;  // offsets -c .. after on each axis
  if (shape == Shape::kDisk) {
    disk(in, c, dilate, out);
    return;
  }
  // Arms longer than the image act as arms as long as it.
  const int64_t lo = -static_cast<int64_t>(std::min(c, in.h)), hi = static_cast<int64_t>(std::min(after, in.h));
  // Dilation reads columns x - after .. x + c, erosion x - c .. x + after.
  const uint64_t left = std::min(dilate ? after : c, in.w), right = std::min(dilate ? c : after, in.w);
  Columns columns, across;
  vertical(in, lo, hi, dilate, columns);
  if (shape == Shape::kSquare) {
    window(columns, left, right, dilate, out);
    return;
  }
  window(in, left, right, dilate, across);  // cross: the centre column, and the centre row
  out.reset(in.h, in.w);
  for (uint64_t x = 0; x < in.w; ++x) {
    combine(dilate, columns.begin(x), columns.end(x), across.begin(x), across.end(x), out.spans);
    out.close_column();
  }
}

}  // namespace

Batch morphology(BatchView b, Morphology op, Shape shape, uint64_t size, const Config& cfg) {
  if (size == 0) throw std::invalid_argument("structuring element size must be at least 1");
  if (size > kMaxPixels)
    throw std::invalid_argument("structuring element size " + std::to_string(size) +
                                " is too large");
  if (shape == Shape::kDisk && size % 2 == 0)
    throw std::invalid_argument("a disk needs an odd size (2 * radius + 1), got " +
                                std::to_string(size));
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
    Columns in, once, twice;
    read_columns(r, in);
    switch (op) {
      case Morphology::kDilate: step(in, true, shape, size, once); break;
      case Morphology::kErode: step(in, false, shape, size, once); break;
      case Morphology::kOpen:
        step(in, false, shape, size, twice);
        step(twice, true, shape, size, once);
        break;
      case Morphology::kClose:
        step(in, true, shape, size, twice);
        step(twice, false, shape, size, once);
        break;
    }
    write_columns(once, out);
    h = r.h;
    w = r.w;
  });
}

}  // namespace turborle
