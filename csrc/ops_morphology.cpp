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
// Only columns that can hold foreground are visited: the input's stored columns, widened by
// the element for a dilation, narrowed for an erosion.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "portable.hpp"
#include "ops.hpp"
#include "spans.hpp"

namespace turborle {

namespace {

// Writes the union of two sorted span lists at out (overlapping or touching spans joined);
// returns the end. Room for (ae - a) + (be - b) spans is needed.
Span* unite(const Span* a, const Span* ae, const Span* b, const Span* be, Span* out) {
  Span* const first = out;
  auto put = [&](const Span& s) {
    if (out != first && out[-1].y1 >= s.y0) {
      if (s.y1 > out[-1].y1) out[-1].y1 = s.y1;
    } else {
      *out++ = s;
    }
  };
  while (a != ae && b != be) put(a->y0 <= b->y0 ? *a++ : *b++);
  while (a != ae) put(*a++);
  while (b != be) put(*b++);
  return out;
}

// Writes the intersection of two sorted span lists at out; returns the end. Room for
// (ae - a) + (be - b) spans is enough.
Span* intersect(const Span* a, const Span* ae, const Span* b, const Span* be, Span* out) {
  while (a != ae && b != be) {
    const uint32_t lo = std::max(a->y0, b->y0), hi = std::min(a->y1, b->y1);
    if (lo < hi) {
      out->y0 = lo;
      out->y1 = hi;
      ++out;
    }
    if (a->y1 < b->y1)
      ++a;
    else
      ++b;
  }
  return out;
}

Span* combine(bool dilate, const Span* a, const Span* ae, const Span* b, const Span* be,
              Span* out) {
  return dilate ? unite(a, ae, b, be, out) : intersect(a, ae, b, be, out);
}

// Builds a Columns one column at a time, spans written in place into room made up front.
class ColumnsBuilder {
 public:
  ColumnsBuilder(Columns& c, uint64_t h, uint64_t w, uint64_t x0, uint64_t columns, size_t room)
      : c_(c) {
    c_.reset(h, w, x0);
    c_.start.resize(columns + 1);
    c_.spans.resize(room);
    at_ = c_.spans.data();
  }
  Span* at() const { return at_; }
  void close(Span* end) {
    at_ = end;
    c_.start[++column_] = static_cast<uint64_t>(end - c_.spans.data());
  }
  void finish() { c_.spans.resize(static_cast<size_t>(at_ - c_.spans.data())); }

 private:
  Columns& c_;
  Span* at_;
  uint64_t column_ = 0;
};

Span* copy(const Span* a, const Span* ae, Span* out) { return std::copy(a, ae, out); }

// Every span grown to rows [y0 + lo, y1 + hi) (lo <= 0 <= hi) clipped to the column, or
// shrunk to [y0 - lo, y1 - hi).
void vertical(const Columns& in, int64_t lo, int64_t hi, bool dilate, Columns& out) {
  ColumnsBuilder builder(out, in.h, in.w, in.x0, in.columns(), in.spans.size());
  const int64_t h = static_cast<int64_t>(in.h);
  for (uint64_t i = 0; i < in.columns(); ++i) {
    Span* const first = builder.at();
    Span* o = first;
    for (const Span* s = in.begin(i); s != in.end(i); ++s) {
      int64_t y0, y1;
      if (dilate) {
        y0 = std::max<int64_t>(s->y0 + lo, 0);
        y1 = std::min<int64_t>(s->y1 + hi, h);
      } else {
        y0 = s->y0 - lo;
        y1 = s->y1 - hi;
        if (y0 >= y1) continue;
      }
      if (o != first && o[-1].y1 >= y0) {
        o[-1].y1 = static_cast<uint32_t>(y1);  // (growth keeps the order of ends)
      } else {
        o->y0 = static_cast<uint32_t>(y0);
        o->y1 = static_cast<uint32_t>(y1);
        ++o;
      }
    }
    builder.close(o);
  }
  builder.finish();
}

// Image columns [first, last) that can hold foreground after reading columns x - left ..
// x + right of c: the stored columns widened (dilation) or narrowed (erosion).
void reach(const Columns& c, uint64_t left, uint64_t right, bool dilate, uint64_t& first,
           uint64_t& last) {
  const uint64_t end = c.x0 + c.columns();
  if (c.columns() == 0) {
    first = last = 0;
  } else if (dilate) {
    first = c.x0 > right ? c.x0 - right : 0;
    last = std::min(c.w, end + left);
  } else {
    first = c.x0 + left;
    last = end > right ? std::max(end - right, first) : first;
  }
}

struct Scratch {
  Columns in, once, twice, grown, across, level, next;
  std::vector<Columns> bank;
  std::vector<Span> acc, tmp;
};

// out column x = union (dilate) or intersection of in's columns x - left .. x + right, the
// columns outside the image and the stored ones being empty. By doubling: entry t of a level
// combines 2^j columns from base + t on, base = x0 - (k - 1).
void window(const Columns& in, uint64_t left, uint64_t right, bool dilate, Scratch& s,
            Columns& out) {
  const uint64_t k = left + right + 1;
  uint64_t first, last;
  reach(in, left, right, dilate, first, last);
  if (k == 1) {
    out = in;
    return;
  }
  if (first >= last) {
    out.reset(in.h, in.w, first);
    return;
  }
  const uint64_t n = in.columns() + 2 * (k - 1);  // entry t is column x0 - (k - 1) + t
  Columns& level = s.level;
  Columns& next = s.next;
  level.reset(in.h, in.w, 0);
  level.spans.assign(in.spans.begin(), in.spans.end());
  level.start.assign(k, 0);  // k - 1 empty columns before the stored ones, and after
  for (uint64_t i = 0; i < in.columns(); ++i) level.start.push_back(in.start[i + 1]);
  level.start.insert(level.start.end(), k - 1, in.spans.size());
  uint64_t covered = 1;  // columns each entry of `level` combines
  while (2 * covered <= k) {
    // Each entry of `level` is read at most twice: room for twice its spans.
    ColumnsBuilder builder(next, in.h, in.w, 0, n, 2 * level.spans.size());
    for (uint64_t t = 0; t < n; ++t) {
      Span* end;
      if (t + covered < n)
        end = combine(dilate, level.begin(t), level.end(t), level.begin(t + covered), level.end(t + covered), builder.at());
      else if (dilate)  // (the rest of the window lies past the stored columns: empty)
        end = copy(level.begin(t), level.end(t), builder.at());
      else
        end = builder.at();
      builder.close(end);
    }
    builder.finish();
    std::swap(level, next);
    covered *= 2;
  }
  ColumnsBuilder builder(out, in.h, in.w, first, last - first, 2 * level.spans.size());
  for (uint64_t x = first; x < last; ++x) {  // window [x - left, x + right]
    const uint64_t t = x + (k - 1) - left - in.x0, second = t + k - covered;
    Span* end;
    if (second == t)
      end = copy(level.begin(t), level.end(t), builder.at());
    else
      end = combine(dilate, level.begin(t), level.end(t), level.begin(second), level.end(second), builder.at());
    builder.close(end);
  }
  builder.finish();
}

// a * a <= p * q, exactly (128-bit products).
bool square_at_most(uint64_t a, uint64_t p, uint64_t q) {
  const uint64_t ah = mul_high64(a, a), ph = mul_high64(p, q);
  return ah < ph || (ah == ph && a * a <= p * q);
}

// Largest a with a^2 + d^2 <= r^2 (d <= r), i.e. a^2 <= (r - d)(r + d).
uint64_t disk_extent(uint64_t r, uint64_t d) {
  const uint64_t p = r - d, q = r + d;  // r <= kMaxPixels: no overflow
  uint64_t a = static_cast<uint64_t>(std::sqrt(static_cast<long double>(p) * q));
  while (a > 0 && !square_at_most(a, p, q)) --a;
  while (square_at_most(a + 1, p, q)) ++a;
  return a;
}

void disk(const Columns& in, uint64_t r, bool dilate, Scratch& s, Columns& out) {
  const uint64_t w = in.w, h = in.h;
  const uint64_t reach_x = std::min(r, w);  // farther columns never meet the image
  uint64_t first, last;
  reach(in, reach_x, reach_x, dilate, first, last);
  out.reset(h, w, first);
  if (first >= last) return;
  // Columns grown or shrunk by each distinct extent; extents fall as |dx| grows.
  std::vector<size_t> which(reach_x + 1);
  size_t kinds = 0;
  uint64_t previous = UINT64_MAX;
  for (uint64_t d = 0; d <= reach_x; ++d) {
    const uint64_t a = std::min(disk_extent(r, d), h);
    if (a != previous) {
      if (s.bank.size() <= kinds) s.bank.emplace_back();
      vertical(in, -static_cast<int64_t>(a), static_cast<int64_t>(a), dilate, s.bank[kinds++]);
      previous = a;
    }
    which[d] = kinds - 1;
  }
  std::vector<Span>& acc = s.acc;
  std::vector<Span>& tmp = s.tmp;
  const uint64_t end = in.x0 + in.columns();
  for (uint64_t x = first; x < last; ++x) {
    // Source columns x - reach_x .. x + reach_x that are stored.
    const uint64_t from = std::max(x >= reach_x ? x - reach_x : 0, in.x0);
    const uint64_t to = std::min(x + reach_x + 1, end);
    auto source = [&](uint64_t src) { return s.bank[which[src > x ? src - x : x - src]].column(src); };
    if (dilate) {
      acc.clear();
      for (uint64_t src = from; src < to; ++src) {
        const auto column = source(src);
        tmp.resize(acc.size() + static_cast<size_t>(column.second - column.first));
        tmp.resize(static_cast<size_t>(unite(acc.data(), acc.data() + acc.size(), column.first, column.second, tmp.data()) - tmp.data()));
        std::swap(acc, tmp);
      }
    } else {  // (the output columns of an erosion have every source column stored)
      const auto column = source(from);
      acc.assign(column.first, column.second);
      for (uint64_t src = from + 1; src < to && !acc.empty(); ++src) {
        const auto next = source(src);
        tmp.resize(acc.size() + static_cast<size_t>(next.second - next.first));
        tmp.resize(static_cast<size_t>(intersect(acc.data(), acc.data() + acc.size(), next.first, next.second, tmp.data()) - tmp.data()));
        std::swap(acc, tmp);
      }
    }
    out.spans.insert(out.spans.end(), acc.begin(), acc.end());
    out.close_column();
  }
}

// One dilation or erosion of in by the element.
void step(const Columns& in, bool dilate, Shape shape, uint64_t size, Scratch& s, Columns& out) {
  const uint64_t c = size / 2, after = size - 1 - c;  // offsets -c .. after on each axis
  if (shape == Shape::kDisk) {
    disk(in, c, dilate, s, out);
    return;
  }
  // Arms longer than the image act as arms as long as it.
  const int64_t lo = -static_cast<int64_t>(std::min(c, in.h)), hi = static_cast<int64_t>(std::min(after, in.h));
  // Dilation reads columns x - after .. x + c, erosion x - c .. x + after.
  const uint64_t left = std::min(dilate ? after : c, in.w), right = std::min(dilate ? c : after, in.w);
  vertical(in, lo, hi, dilate, s.grown);
  if (shape == Shape::kSquare) {
    window(s.grown, left, right, dilate, s, out);
    return;
  }
  window(in, left, right, dilate, s, s.across);  // cross: the centre column and the centre row
  ColumnsBuilder builder(out, in.h, in.w, s.across.x0, s.across.columns(),
                         s.grown.spans.size() + s.across.spans.size());
  for (uint64_t i = 0; i < s.across.columns(); ++i) {
    const auto column = s.grown.column(s.across.x0 + i);
    builder.close(combine(dilate, column.first, column.second, s.across.begin(i), s.across.end(i), builder.at()));
  }
  builder.finish();
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
  return build_batch_reusing<Scratch>(b.n, run, [&](size_t i) { return b[i].m + 1; },
                                      [&](size_t i, Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
    read_columns(r, s.in);
    const Columns* result = &s.once;
    switch (op) {
      case Morphology::kDilate: step(s.in, true, shape, size, s, s.once); break;
      case Morphology::kErode: step(s.in, false, shape, size, s, s.once); break;
      case Morphology::kOpen:
        step(s.in, false, shape, size, s, s.twice);
        step(s.twice, true, shape, size, s, s.once);
        break;
      case Morphology::kClose:
        step(s.in, true, shape, size, s, s.twice);
        step(s.twice, false, shape, size, s, s.once);
        break;
    }
    write_columns(*result, out);
    h = r.h;
    w = r.w;
  });
}

}  // namespace turborle
