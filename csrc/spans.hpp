// Masks as column spans: the internal form of the mask operations (ops_*.cpp).
// Internal header, not part of the public API (that is ops.hpp).
//
// A column of a column-major RLE is an image column, so the foreground of column x is a
// sorted list of row intervals [y0, y1): its spans. Rules of spans:
//   * spans of one column are sorted, disjoint and never touch: two spans of a column always
//     have background between them (runs that touch, around a zero-length background run,
//     are joined when spans are read);
//   * only the columns from the first to the last one holding foreground are stored; the
//     others are empty. A mask has at most (foreground runs + stored columns) spans, so time
//     and memory follow runs and the foreground's width, never pixels;
//   * rows and columns fit 32 bits (check_sides), span indices fit 32 bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "batch_build.hpp"
#include "errors.hpp"
#include "turborle.hpp"

namespace turborle {

struct Span {
  uint32_t y0, y1;  // rows [y0, y1)
  Span() {}         // (not zeroed: buffers of spans are sized first, then written)
  Span(uint32_t top, uint32_t bottom) : y0(top), y1(bottom) {}
};

// Throws unless the operations can work on an (h, w) mask: each side at most cfg.max_pixels
// (work grows with the number of columns and rows) and below 2^32.
void check_sides(uint64_t h, uint64_t w, const Config& cfg);

// Threads worth using on a batch: the work of a mask operation is about 20 ns per count.
inline int op_threads(BatchView b, const Config& cfg) {
  return threads_for(cfg.threads, b.n ? b.offsets[b.n] * 20 : 0);
}

// Calls fn(x, a, b) for every piece of mask r with the given value (1 foreground, 0
// background) inside stream positions [from, to): the part [a, b) of a run that lies in
// column x (runs are cut at column boundaries and clipped to [from, to); runs of the value
// that touch, around a zero-length run of the other value, are joined). Pieces come in
// stream order. Requires the invariants of RleRef and h < 2^32.
// (The labelling in ops_spans.cpp walks runs the same way, inline.)
template <class Fn>
void for_each_piece(RleRef r, unsigned value, uint64_t from, uint64_t to, Fn&& fn) {
  const uint64_t h = r.h;
  const count_t* c = r.counts;
  const size_t m = r.m;
  if (h == 0) return;
  uint64_t pos = 0;
  size_t j = 0;
  // Runs before `from`: only their lengths matter.
  while (j < m && pos + c[j] <= from) pos += c[j++];
  if ((j & 1) != value && j < m) pos += c[j++];  // (a run of the other value)
  uint64_t x = pos / h, column = x * h;  // column of `pos` and its first position
  for (; j < m && pos < to; j += 2) {
    uint64_t length = c[j];
    while (j + 2 < m && c[j + 1] == 0) length += c[j += 2];  // touching runs join
    uint64_t a = std::max(pos, from);
    pos += length;
    const uint64_t b = std::min(pos, to);
    if (j + 1 < m) pos += c[j + 1];
    if (a >= b) continue;
    if (a - column >= h) {  // a later column: the next one, or a jump
      if (a - column < 2 * h) {
        ++x;
        column += h;
      } else {
        x = a / h;
        column = x * h;
      }
    }
    while (b - column > h) {  // the run continues into the next column
      fn(x, a, column + h);
      ++x;
      column += h;
      a = column;
    }
    fn(x, a, b);
  }
}

// Calls fn(x, y0, y1) for every foreground span (piece, in rows) of mask r inside stream
// positions [from, to).
template <class Fn>
void for_each_span(RleRef r, uint64_t from, uint64_t to, Fn&& fn) {
  const uint64_t h = r.h;
  for_each_piece(r, 1, from, to, [&](uint64_t x, uint64_t a, uint64_t b) {
    const uint64_t column = x * h;
    fn(x, static_cast<uint32_t>(a - column), static_cast<uint32_t>(b - column));
  });
}

// Turns foreground intervals of the stream, given in increasing order, into canonical
// counts appended to `out`; touching intervals are joined, empty ones ignored. Counts are
// written in place into room made ahead (the expected count when the caller knows it),
// which grows by doubling and is cut to what was written at finish.
class CountsWriter {
 public:
  // `room`: the counts expected, when known (more are made room for as they come).
  explicit CountsWriter(Counts& out, size_t room = 0) : out_(out), base_(out.size()) {
    out_.resize(base_ + std::max<size_t>(room, 64));
    o_ = out_.data() + base_;
  }
  void add(uint64_t a, uint64_t b) {
    if (b <= a) return;
    if (a == end_ && o_ != out_.data() + base_) {
      o_[-1] += b - a;
    } else {
      if (out_.data() + out_.size() - o_ < 2) grow();
      o_[0] = a - end_;
      o_[1] = b - a;
      o_ += 2;
    }
    end_ = b;
  }
  // Ends the mask of `total` pixels.
  void finish(uint64_t total) {
    if (o_ == out_.data() + base_ || total > end_) {
      if (o_ == out_.data() + out_.size()) grow();
      *o_++ = total - end_;
    }
    out_.resize(static_cast<size_t>(o_ - out_.data()));
  }

 private:
  void grow() {  // doubles this mask's room (not the whole vector's)
    const size_t used = static_cast<size_t>(o_ - out_.data());
    out_.resize(used + std::max<size_t>(used - base_, 64));
    o_ = out_.data() + used;
  }
  Counts& out_;
  size_t base_;
  count_t* o_;
  uint64_t end_ = 0;
};

// Appends a span, storing its fields in place (a Span built on the stack and copied whole
// makes the copy wait for the two halves).
inline void push_span(std::vector<Span>& v, uint32_t y0, uint32_t y1) {
  v.emplace_back();
  v.back().y0 = y0;
  v.back().y1 = y1;
}

// One mask as the spans of each column: stored column i is image column x0 + i and holds
// spans[start[i] .. start[i+1]); columns outside the stored ones are empty.
struct Columns {
  uint64_t h = 0, w = 0;
  uint64_t x0 = 0;
  std::vector<uint64_t> start{0};
  std::vector<Span> spans;

  uint64_t columns() const { return start.size() - 1; }
  const Span* begin(uint64_t i) const { return spans.data() + start[i]; }
  const Span* end(uint64_t i) const { return spans.data() + start[i + 1]; }
  // The spans of image column x (none outside the stored columns).
  std::pair<const Span*, const Span*> column(uint64_t x) const {
    if (x < x0 || x - x0 >= columns()) return {nullptr, nullptr};
    return {begin(x - x0), end(x - x0)};
  }
  // Starts an empty h x w mask whose columns x0, x0 + 1, ... are then appended with
  // close_column().
  void reset(uint64_t height, uint64_t width, uint64_t first_column) {
    h = height;
    w = width;
    x0 = first_column;
    spans.clear();
    start.clear();
    start.push_back(0);
  }
  void close_column() { start.push_back(spans.size()); }
};

// The spans of mask r (check_sides must have passed).
void read_columns(RleRef r, Columns& out);

// Writes the canonical counts of c, optionally mirrored: rows reversed (flip_rows) and/or
// columns reversed (flip_columns).
void write_columns(const Columns& c, Counts& out, bool flip_rows = false,
                   bool flip_columns = false);

// The pieces (for_each_piece) of one value of a mask and their connected components.
constexpr uint32_t kNoLabel = UINT32_MAX;
struct Piece {
  uint64_t begin, end;  // stream positions [begin, end), inside one column
  uint32_t label;       // provisional label: its component is labels[label].id
};
struct Regions {
  struct Label {
    uint64_t area, first;  // of the label, then (at the root) of its whole component
    uint32_t parent;       // the root of a set of labels is its smallest label
    uint32_t id;           // the component, 0 .. count-1 in order of first piece
    uint8_t border;
  };
  std::vector<Piece> pieces;  // pieces[0 .. n) (the vectors' sizes are their room)
  size_t n = 0;
  // Some pieces of one column touch (the counts had zero-length runs inside); without such,
  // writing every piece back gives the counts as they were.
  bool touching = false;
  std::vector<Label> labels;  // labels[0 .. n_labels)
  size_t n_labels = 0;
  uint32_t count = 0;           // components
  std::vector<uint64_t> area;   // per component
  // Per component (foreground, when asked for), its first pixel in row-major order, the
  // order scipy.ndimage.label numbers components in, as (y << 32) | x.
  std::vector<uint64_t> first;
  std::vector<uint8_t> border;  // per component (background): touches the image's edge
  // Background only: the components of the columns before and after the labelled ones
  // (kNoLabel when there are none).
  uint32_t side[2] = {kNoLabel, kNoLabel};

  uint32_t component(size_t k) const { return labels[pieces[k].label].id; }
};
// Components of the foreground; connectivity 4 (edges) or 8 (edges and corners). `first`
// is filled only when with_first.
void label_foreground(RleRef r, int connectivity, bool with_first, Regions& out);
// Components of the background of columns [x_begin, x_end); the columns before and after,
// whole columns of background, are regions of their own (side[0], side[1]) joined to the
// pieces next to them. area[] counts them; border[] is set for regions touching the image's
// edge.
void label_background(RleRef r, int connectivity, uint64_t x_begin, uint64_t x_end,
                      Regions& out);
// The columns [x_begin, x_end) from the first to the last one holding foreground (0, 0 for
// an empty mask).
void foreground_columns(RleRef r, uint64_t& x_begin, uint64_t& x_end);

// rank[k]: the position of component k in scipy.ndimage.label's order.
void scipy_order_rank(const Regions& regions, std::vector<uint32_t>& rank);

// build_batch (batch_build.hpp) with one Scratch per chunk of masks, reused by every mask of the
// chunk: fill(i, scratch, counts, h, w) appends the counts of mask i and sets its size.
template <class Scratch, class Hint, class Fill>
Batch build_batch_reusing(size_t n, const Config& cfg, Hint&& size_hint, Fill&& fill) {
  std::vector<Batch> parts(chunk_count(n, cfg.threads));
  std::vector<Scratch> scratch(parts.size());
  parallel_chunks(n, cfg.threads, [&](size_t begin, size_t end, size_t chunk) {
    Batch& part = parts[chunk];
    size_t reserve = 0;
    for (size_t i = begin; i < end; ++i) reserve += size_hint(i);
    part.counts.reserve(reserve);
    for (size_t i = begin; i < end; ++i) {
      uint64_t h = 0, w = 0;
      fill(i, scratch[chunk], part.counts, h, w);
      part.close(h, w);
    }
  });
  return join_parts(parts, n);
}

}  // namespace turborle
