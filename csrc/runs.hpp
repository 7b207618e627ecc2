// Walking the runs of one mask: foreground intervals, area and tight box. Internal header.
#pragma once

#include <algorithm>
#include <cstdint>

#include "turborle.hpp"

namespace turborle {

// Calls paint(from, to) for every run of r with the given value (1 = foreground), in order.
template <class Paint>
inline void for_runs(RleRef r, unsigned value, Paint&& paint) {
  uint64_t pos = 0;
  for (size_t j = 0; j < r.m; ++j) {
    if ((j & 1) == value) paint(pos, pos + r.counts[j]);
    pos += r.counts[j];
  }
}

// Integer box: columns [x0, x1), rows [y0, y1); empty when x1 == 0.
struct Box {
  uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// The tight box of a mask, built from its counts one at a time (so it also works while a
// string is being parsed).
class BoxBuilder {
 public:
  explicit BoxBuilder(uint64_t h) : h_(h), ys_(h) {}
  void add(count_t c) {
    if ((j_++ & 1) && c > 0 && h_ > 0) {
      const uint64_t first = pos_, last = pos_ + c - 1;
      // Runs come in order, so the column is found by stepping forward; a division only
      // for long jumps.
      seek(first);
      const uint64_t xa = x_, ya = first - column_start_;
      if (!any_) xs_ = xa;
      any_ = true;
      if (last - column_start_ >= h_) {  // the run crosses into later columns: every row
        seek(last);
        ys_ = 0;
        ye_ = h_ - 1;
      } else {
        ys_ = std::min(ys_, ya);
        ye_ = std::max(ye_, last - column_start_);
      }
      xe_ = x_;
    }
    pos_ += c;
  }
  Box finish() const { return any_ ? Box{xs_, ys_, xe_ + 1, ye_ + 1} : Box{}; }

 private:
  void seek(uint64_t at) {  // column of position `at` (never behind the current one)
    if (at - column_start_ >= 4 * h_) {
      x_ = at / h_;
      column_start_ = x_ * h_;
    }
    while (at - column_start_ >= h_) {
      ++x_;
      column_start_ += h_;
    }
  }

  uint64_t h_;
  uint64_t pos_ = 0;
  size_t j_ = 0;
  uint64_t x_ = 0, column_start_ = 0;
  bool any_ = false;
  uint64_t xs_ = 0, xe_ = 0, ys_, ye_ = 0;
};

// The tight box of a mask from its counts, for masks of fewer than 2^52 pixels. Per run of
// foreground only its first row is needed (a run longer than what is left of its column
// crosses into the next and so covers every row); the row from one multiplication by 1/h in
// double precision (exact below 2^53) and one correction, instead of BoxBuilder's branches
// that step column by column. The columns of the first and last foreground pixels come at the
// end.
// (Its state is open to the vector kernels that feed it several runs at a time:
// isa_kernels.hpp's box_add.)
struct DivisionBox {
  explicit DivisionBox(uint64_t h_) : h(h_), inverse(1.0 / static_cast<double>(h_)) {}
  template <class C>  // int64_t (the string parser's) or count_t
  void add(const C* counts, size_t k, size_t first) {  // first: number of counts[0]
    size_t j = 0;
    if (!(first & 1) && k) pos += static_cast<uint64_t>(counts[j++]);  // background first
    pairs(counts, j, k);
  }
  // counts[j, k): foreground at j, j + 2, ..., each followed by its background (but the last
  // may not be).
  template <class C>
  void pairs(const C* counts, size_t j, size_t k) {
    for (; j < k; j += 2) {
      const uint64_t c = static_cast<uint64_t>(counts[j]);
      if (c > 0) {
        const uint64_t row = pos - column(pos) * h;
        const bool across = row + c > h;
        ys = std::min(ys, across ? 0 : row);
        ye = std::max(ye, across ? h - 1 : row + c - 1);
        if (first == UINT64_MAX) first = pos;
        last = pos + c - 1;
      }
      pos += c + (j + 1 < k ? static_cast<uint64_t>(counts[j + 1]) : 0);
    }
  }
  Box finish() const {
    if (first == UINT64_MAX) return Box{};
    return Box{column(first), ys, column(last) + 1, ye + 1};
  }
  uint64_t column(uint64_t at) const {
    // (Through int64: the conversions to and from double are single instructions then.)
    const auto q = static_cast<int64_t>(static_cast<double>(static_cast<int64_t>(at)) * inverse);
    const int64_t row = static_cast<int64_t>(at) - q * static_cast<int64_t>(h);
    return static_cast<uint64_t>(q - (row < 0) + (row >= static_cast<int64_t>(h)));
  }

  uint64_t h;
  double inverse;
  uint64_t pos = 0;
  uint64_t first = UINT64_MAX, last = 0;  // first and last foreground pixel
  uint64_t ys = UINT64_MAX, ye = 0;
};

// Any mask, column step by column step (Kernels::box is faster below 2^52 pixels and falls
// back to this above).
inline Box tight_box(RleRef r) {
  BoxBuilder box(r.h);
  for (size_t j = 0; j < r.m; ++j) box.add(r.counts[j]);
  return box.finish();
}

inline uint64_t area_of(RleRef r) {
  uint64_t a = 0;
  for (size_t j = 1; j < r.m; j += 2) a += r.counts[j];
  return a;
}

// {x, y, width, height} as doubles.
inline void write_box(const Box& box, double* out) {
  out[0] = static_cast<double>(box.x0);
  out[1] = static_cast<double>(box.y0);
  out[2] = static_cast<double>(box.x1 - box.x0);
  out[3] = static_cast<double>(box.y1 - box.y0);
}

}  // namespace turborle
