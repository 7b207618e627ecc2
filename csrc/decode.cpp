// Counts -> dense masks. Column-major output is one memset per run; row-major output is
// decoded a block of columns at a time into a small column-major tile, then written out
// row by row, so no scratch buffer grows with the mask.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

constexpr uint64_t kTileColumns = 64;

// Writes the column-major stream of one mask into consecutive chunks.
class RunReader {
 public:
  explicit RunReader(RleRef r) : r_(r) {}
  void fill(uint8_t* dst, uint64_t len) {
    while (len > 0) {
      while (left_ == 0) {  // counts sum to h*w (checked), so this stays inside r_.counts
        left_ = r_.counts[next_];
        value_ = next_ & 1;
        ++next_;
      }
      const uint64_t take = std::min(left_, len);
      std::memset(dst, value_, take);
      dst += take;
      len -= take;
      left_ -= take;
    }
  }

 private:
  RleRef r_;
  size_t next_ = 0;
  uint64_t left_ = 0;
  uint8_t value_ = 0;
};

void decode_one(RleRef r, uint8_t* out, Order order, std::vector<uint8_t>& tile) {
  RunReader runs(r);
  if (order == Order::kColumnMajor || r.h == 1 || r.w == 1) {
    runs.fill(out, r.h * r.w);
    return;
  }
  tile.resize(r.h * kTileColumns);
  for (uint64_t x0 = 0; x0 < r.w; x0 += kTileColumns) {
    const uint64_t cols = std::min(kTileColumns, r.w - x0);
    runs.fill(tile.data(), r.h * cols);
    scatter_rows(tile.data(), r.h, cols, out + x0, r.w);
  }
}

}  // namespace

void decode(BatchView b, uint8_t* out, Order order) {
  if (b.n == 0) return;
  const uint64_t h = b.h[0], w = b.w[0];
  for (size_t i = 0; i < b.n; ++i) {
    RleRef r = b[i];
    if (r.h != h || r.w != w)
      throw std::invalid_argument("mask " + std::to_string(i) + " has size " +
                                  std::to_string(r.h) + "x" + std::to_string(r.w) +
                                  " but mask 0 has size " + std::to_string(h) + "x" +
                                  std::to_string(w) + "; decode needs one size");
    try {
      check_counts(r.counts, r.m, r.h, r.w);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("mask " + std::to_string(i) + ": " + e.what());
    }
  }
  std::vector<uint8_t> tile;
  for (size_t i = 0; i < b.n; ++i) decode_one(b[i], out + i * h * w, order, tile);
}

}  // namespace turborle
