// Masks as column spans: the internal form of the mask operations (ops_*.cpp).
// Internal header, not part of the public API (that is ops.hpp).
//
// A column of a column-major RLE is an image column, so the foreground of column x is a
// sorted list of row intervals [y0, y1): its spans. Rules of spans:
//   * spans of one column are sorted, disjoint and never touch: two spans of a column always
//     have background between them (runs that touch, around a zero-length background run,
//     are joined when spans are read);
//   * a mask has at most (foreground runs + columns) spans, so time and memory stay
//     proportional to runs plus columns, never to pixels;
//   * rows and columns fit 32 bits (check_sides), span indices fit 32 bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

struct Span {
  uint32_t y0, y1;  // rows [y0, y1)
};

// Throws unless the operations can work on an (h, w) mask: each side at most cfg.max_pixels
// (work grows with the number of columns and rows) and below 2^32.
void check_sides(uint64_t h, uint64_t w, const Config& cfg);

// Threads worth using on a batch: one for small batches (starting threads would cost more
// than the work), cfg.threads otherwise.
inline int op_threads(BatchView b, const Config& cfg) {
  return b.n > 1 && b.offsets[b.n] >= 4096 ? cfg.threads : 1;
}

// Calls fn(x, y0, y1) for every span of mask r whose pixels lie in stream positions
// [from, to) (clipped to it), in column-major order. Requires the invariants of RleRef and
// h < 2^32.
template <class Fn>
void for_each_span(RleRef r, uint64_t from, uint64_t to, Fn&& fn) {
  const uint64_t h = r.h;
  uint64_t pos = 0;
  uint64_t x = 0, column = 0;  // column of the current span and its first position
  bool pending = false;        // a span waiting to be joined by a touching run
  uint64_t px = 0;
  uint32_t py0 = 0, py1 = 0;
  for (size_t j = 0; j < r.m && pos < to; ++j) {
    const uint64_t c = r.counts[j];
    if ((j & 1) && c) {
      uint64_t a = std::max(pos, from);
      const uint64_t b = std::min(pos + c, to);
      if (a < b) {
        if (a - column >= 4 * h) {  // a long jump: divide once instead of stepping
          x = a / h;
          column = x * h;
        }
        while (a - column >= h) {
          ++x;
          column += h;
        }
        while (a < b) {
          const uint32_t y0 = static_cast<uint32_t>(a - column);
          const uint32_t y1 = static_cast<uint32_t>(std::min(b - column, h));
          if (pending && px == x && py1 == y0) {
            py1 = y1;
          } else {
            if (pending) fn(px, py0, py1);
            pending = true;
            px = x;
            py0 = y0;
            py1 = y1;
          }
          a = column + y1;
          if (y1 == h) {
            ++x;
            column += h;
          }
        }
      }
    }
    pos += c;
  }
  if (pending) fn(px, py0, py1);
}

template <class Fn>
void for_each_span(RleRef r, Fn&& fn) {
  for_each_span(r, 0, r.h * r.w, fn);
}

// One mask as the spans of each column: column x holds spans[start[x] .. start[x+1]).
struct Columns {
  uint64_t h = 0, w = 0;
  std::vector<uint64_t> start{0};  // w + 1 entries
  std::vector<Span> spans;

  const Span* begin(uint64_t x) const { return spans.data() + start[x]; }
  const Span* end(uint64_t x) const { return spans.data() + start[x + 1]; }
  // Starts an empty h x w mask whose columns are then appended with close_column().
  void reset(uint64_t height, uint64_t width) {
    h = height;
    w = width;
    spans.clear();
    start.clear();
    start.reserve(width + 1);
    start.push_back(0);
  }
  void close_column() { start.push_back(spans.size()); }
};

// The spans of mask r (requires check_sides to have passed).
void read_columns(RleRef r, Columns& out);

// The column of every span of c.
std::vector<uint32_t> span_columns(const Columns& c);

// Turns foreground intervals of the stream, given in increasing order, into canonical
// counts; touching intervals are joined, empty ones ignored.
class CountsWriter {
 public:
  explicit CountsWriter(std::vector<count_t>& out) : out_(out) {}
  void add(uint64_t a, uint64_t b) {
    if (b <= a) return;
    if (any_ && a == end_) {
      out_.back() += b - a;
    } else {
      out_.push_back(a - end_);
      out_.push_back(b - a);
      any_ = true;
    }
    end_ = b;
  }
  // Ends the mask of `total` pixels.
  void finish(uint64_t total) {
    if (!any_)
      out_.push_back(total);
    else if (total > end_)
      out_.push_back(total - end_);
  }

 private:
  std::vector<count_t>& out_;
  uint64_t end_ = 0;
  bool any_ = false;
};

// Writes the canonical counts of c, optionally mirrored: rows reversed (flip_rows) and/or
// columns reversed (flip_columns).
void write_columns(const Columns& c, std::vector<count_t>& out, bool flip_rows = false,
                   bool flip_columns = false);

// The background of c as spans.
void complement_columns(const Columns& c, Columns& out);

// Connected components of the spans of a mask.
struct Components {
  uint32_t count = 0;
  std::vector<uint32_t> label;  // per span, 0 .. count-1, in order of each one's first span
  std::vector<uint64_t> area;   // per component
  // Per component, its first pixel in row-major order (the order scipy.ndimage.label
  // numbers components in), as (y << 32) | x.
  std::vector<uint64_t> first;
  std::vector<uint8_t> border;  // per component: 1 if it touches the image border
};
// connectivity: 4 (edges) or 8 (edges and corners).
void label_components(const Columns& c, int connectivity, Components& out);

// Components numbered as scipy.ndimage.label numbers them: rank[k] is the position of
// component k in that order.
std::vector<uint32_t> scipy_order_rank(const Components& comps);

}  // namespace turborle
