// Polygon and box rasterisation with pycocotools' exact rules, so that results match it
// byte for byte:
//   1. vertices are scaled by 5 and rounded as (int)(5*v + 0.5) (truncation toward zero);
//   2. each edge is walked on the 5x grid one step per unit of its longer axis (here only
//      the steps that can toggle are computed: see Toggles::edge);
//   3. where x changes between two consecutive points of an edge and lands on a pixel column
//      ((u + 0.5)/5 - 0.5 is an integer in [0, w-1]), the column gets a toggle at row
//      ceil((v + 0.5)/5 - 0.5) clamped to [0, h];
//   4. toggles at linear index x*h + y are sorted; pairs at the same index cancel.
// Consecutive edges share their end vertex, so only steps inside one edge can produce a
// toggle; the walk therefore needs no buffer of boundary points.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "errors.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

constexpr double kScale = 5;
// |5*v + 0.5| must fit an int for step 1; coordinates are limited well inside that.
constexpr double kMaxCoordinate = 1e8;
// Steps of the boundary walk allowed for one polygon (about a second of work).
constexpr uint64_t kMaxSteps = uint64_t(1) << 31;

struct Toggles {
  uint64_t h, w;
  std::vector<uint64_t> column, row;  // toggle i at linear index column[i] * h + row[i]

  // One step of an edge from grid point (u0, v0) to (u1, v1). pycocotools works this out in
  // doubles: column xd = (x + .5) / 5 - .5 must be an integer in [0, w - 1], row ceil((y +
  // .5) / 5 - .5) clamped to [0, h]. For the integers here (|x|, |y| <= 5e8 + 1) that is
  // exactly: x = 5c + 2 with 0 <= c < w, and row (y + 2) div 5 for y >= 2, else 0 (checked
  // exhaustively against the double formula over that range).
  void step(int u0, int v0, int u1, int v1) {
    if (u1 == u0) return;
    const int x = u1 < u0 ? u1 : u1 - 1;
    if (x < 2) return;
    const uint64_t q = static_cast<uint64_t>(x - 2), column = q / 5;
    if (column * 5 != q || column >= w) return;
    const int y = v1 < v0 ? v1 : v0;
    row.push_back(y >= 2 ? std::min<uint64_t>(static_cast<uint64_t>(y + 2) / 5, h) : 0);
    this->column.push_back(column);
  }

  // Walks the edge (xs, ys) -> (xe, ye) point by point in its own direction.
  void edge(int xs, int ys, int xe, int ye) {
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    if (dx == 0 && dy == 0) return;  // one point: no step
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    if (dx >= dy) {
      // Every step moves one column of the grid: the points are (xs + t, v(t)) for t in
      // [0, dx] whichever way the walk goes, and a step from t - 1 to t toggles (step()) only
      // where x = xs + t - 1 is 2 mod 5. So only those steps are computed, in any order
      // (the toggles are sorted afterwards).
      const double s = static_cast<double>(ye - ys) / dx;
      auto v = [&](int t) { return static_cast<int>(ys + s * t + .5); };
      const int first = 1 + (((2 - xs) % 5) + 5) % 5;
      for (int t = first; t <= dx; t += 5) step(xs + t - 1, v(t - 1), xs + t, v(t));
    } else {
      // Every step moves one row: the points are (u(t), ys + t) for t in [0, dy], and u
      // moves by at most one per step (|s| < 1), monotonically. A step toggles only where u
      // changes and the smaller of its two values is 2 mod 5 (step() is symmetric then, so
      // the walk's direction does not matter). So only those steps are found: for each such
      // value X that u passes, the first t past it, from its estimate corrected against the
      // exact u(t).
      const double s = static_cast<double>(xe - xs) / dy;
      auto u = [&](int t) { return static_cast<int>(xs + s * t + .5); };
      if (s == 0) return;
      const bool up = s > 0;
      const int u_first = u(0), u_last = u(dy);
      // Values X with X = 2 mod 5 and 2 <= X < 5w + 2 (a pixel column) that u passes:
      // going up, u goes from X to X + 1 (X in [u_first, u_last - 1]); going down, from
      // X + 1 to X (X in [u_last, u_first - 1]).
      const int64_t lo = std::max<int64_t>(up ? u_first : u_last, 2);
      const int64_t columns = int64_t(std::min<uint64_t>(w, uint64_t(1) << 31));
      const int64_t hi = std::min<int64_t>(int64_t(up ? u_last : u_first) - 1, 5 * columns + 1);
      for (int64_t X = lo + ((((2 - lo) % 5) + 5) % 5); X <= hi; X += 5) {
        // The first t with u(t) >= X + 1 (up) or u(t) <= X (down): both near where
        // xs + s*t + 0.5 crosses X + 1 (clamped as a double: the quotient may be far outside
        // int's range), then corrected by the exact u.
        const double estimate = std::ceil((double(X) + 0.5 - xs) / s);
        int t = static_cast<int>(std::min(std::max(estimate, 1.0), double(dy)));
        if (up) {
          while (t < dy && u(t) < X + 1) ++t;
          while (t > 1 && u(t - 1) >= X + 1) --t;
        } else {
          while (t < dy && u(t) > X) ++t;
          while (t > 1 && u(t - 1) <= X) --t;
        }
        step(u(t - 1), ys + t - 1, u(t), ys + t);
      }
    }
  }

  // The toggles' linear indices in increasing order. Edges add toggles column by column, so a
  // counting sort by column (then rows within a column, usually two) beats a general sort,
  // unless the columns spread far wider than there are toggles.
  std::vector<uint64_t> sorted() const {
    const size_t n = column.size();
    std::vector<uint64_t> at(n);
    if (n == 0) return at;
    const auto [lo, hi] = std::minmax_element(column.begin(), column.end());
    const uint64_t first = *lo, span = *hi - *lo + 1;
    if (span > 4 * n + 64) {
      for (size_t i = 0; i < n; ++i) at[i] = column[i] * h + row[i];
      std::sort(at.begin(), at.end());
      return at;
    }
    std::vector<uint32_t> start(span + 1, 0);
    for (uint64_t c : column) ++start[c - first + 1];
    for (uint64_t c = 0; c < span; ++c) start[c + 1] += start[c];
    std::vector<uint32_t> next(start.begin(), start.end() - 1);
    for (size_t i = 0; i < n; ++i) at[next[column[i] - first]++] = column[i] * h + row[i];
    for (uint64_t c = 0; c < span; ++c) {  // rows within each column
      uint64_t* b = at.data() + start[c];
      const size_t k = start[c + 1] - start[c];
      if (k > 16) {
        std::sort(b, b + k);
        continue;
      }
      for (size_t i = 1; i < k; ++i)
        for (size_t j = i; j > 0 && b[j - 1] > b[j]; --j) std::swap(b[j - 1], b[j]);
    }
    return at;
  }

  // Sorted toggles -> counts, cancelling toggles at the same index as pycocotools does.
  void close(Counts& out) {
    std::vector<uint64_t> at = sorted();
    at.push_back(h * w);
    const size_t first = out.size();
    uint64_t prev = 0;
    bool skip_next = false;
    for (size_t j = 0; j < at.size(); ++j) {
      const uint64_t diff = at[j] - prev;
      prev = at[j];
      if (j == 0) {
        out.push_back(diff);
      } else if (skip_next) {  // the run after a cancelled toggle continues the last one
        out.back() += diff;
        skip_next = false;
      } else if (diff > 0) {
        out.push_back(diff);
      } else {
        skip_next = true;
      }
    }
    if (out.size() == first) out.push_back(0);
  }
};

}  // namespace

void polygon_counts(const double* xy, size_t k, uint64_t h, uint64_t w,
                    Counts& out) {
  check_size(h, w);
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) {
    for (int c = 0; c < 2; ++c) {
      const double v = xy[2 * j + c];
      if (!std::isfinite(v) || std::fabs(v) > kMaxCoordinate)
        throw InputError("coordinate " + std::to_string(2 * j + c) + " (" +
                                    std::to_string(v) +
                                    ") is not finite or beyond +-1e8 pixels");
      (c ? y : x)[j] = static_cast<int>(kScale * v + .5);
    }
  }
  if (k == 0 || h == 0 || w == 0) {
    out.push_back(h * w);
    return;
  }
  x[k] = x[0];
  y[k] = y[0];
  uint64_t steps = 0;
  for (size_t j = 0; j < k; ++j)
    steps += static_cast<uint64_t>(std::max(std::abs(x[j] - x[j + 1]), std::abs(y[j] - y[j + 1])));
  if (steps > kMaxSteps)
    throw InputError("boundary of " + std::to_string(steps) +
                                " steps on the 5x grid is too long (coordinates far outside "
                                "the image?)");
  Toggles t{h, w, {}, {}};
  for (size_t j = 0; j < k; ++j) t.edge(x[j], y[j], x[j + 1], y[j + 1]);
  t.close(out);
}

void box_counts(const double* box, uint64_t h, uint64_t w, Counts& out) {
  const double xs = box[0], xe = xs + box[2], ys = box[1], ye = ys + box[3];
  const double xy[8] = {xs, ys, xs, ye, xe, ye, xe, ys};
  polygon_counts(xy, 4, h, w, out);
}

Batch rasterize_polygons(const double* const* xy, const size_t* k, size_t n, uint64_t h,
                         uint64_t w) {
  Batch b;
  for (size_t i = 0; i < n; ++i) {
    naming("polygon", i, [&] { polygon_counts(xy[i], k[i], h, w, b.counts); });
    b.close(h, w);
  }
  return b;
}

Batch rasterize_boxes(const double* boxes, size_t n, uint64_t h, uint64_t w) {
  Batch b;
  for (size_t i = 0; i < n; ++i) {
    naming("box", i, [&] { box_counts(boxes + 4 * i, h, w, b.counts); });
    b.close(h, w);
  }
  return b;
}

}  // namespace turborle
