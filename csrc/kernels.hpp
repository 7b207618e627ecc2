// Internal building blocks shared by encode and decode (not part of the public API).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "turborle.hpp"

namespace turborle {

// Index of the first byte in p[i, len) that is nonzero (want_nonzero) or zero; len if none.
uint64_t find_byte(const uint8_t* p, uint64_t i, uint64_t len, bool want_nonzero);

// Turns a column-major stream of bytes, fed in chunks, into counts.
class RunWriter {
 public:
  explicit RunWriter(std::vector<count_t>& out) : out_(out) {}
  void feed(const uint8_t* p, uint64_t len) {
    uint64_t i = 0;
    while (i < len) {
      const uint64_t j = find_byte(p, i, len, !foreground_);
      run_ += j - i;
      if (j == len) return;
      out_.push_back(run_);
      run_ = 0;
      foreground_ = !foreground_;
      i = j;
    }
  }
  // Ends the mask: the last run is pushed (an empty mask gives {0}).
  void finish() { out_.push_back(run_); }

 private:
  std::vector<count_t>& out_;
  bool foreground_ = false;
  uint64_t run_ = 0;
};

// dst (column-major, cols columns of h bytes) <- the h x cols block at src with the given
// byte strides.
inline void gather_columns(const uint8_t* src, int64_t stride_y, int64_t stride_x, uint64_t h,
                           uint64_t cols, uint8_t* dst) {
  for (uint64_t y = 0; y < h; ++y) {
    const uint8_t* row = src + static_cast<int64_t>(y) * stride_y;
    for (uint64_t j = 0; j < cols; ++j) dst[j * h + y] = row[static_cast<int64_t>(j) * stride_x];
  }
}

// The row-major h x cols block at dst (row stride `row_stride`) <- src (column-major).
inline void scatter_rows(const uint8_t* src, uint64_t h, uint64_t cols, uint8_t* dst,
                         uint64_t row_stride) {
  for (uint64_t y = 0; y < h; ++y) {
    uint8_t* row = dst + y * row_stride;
    for (uint64_t j = 0; j < cols; ++j) row[j] = src[j * h + y];
  }
}

}  // namespace turborle
