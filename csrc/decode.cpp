// Counts -> dense masks; every byte of the output is written (0 or 1).
//   * Column-major output: one memset per run.
//   * Row-major output: the run boundaries of the column-major stream are the places where
//     a column changes value going down. Bucketed by row, they turn each bit row into the
//     next by XOR; each bit row is expanded to bytes with SIMD and written once, in order.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

void decode_columns(RleRef r, uint8_t* out) {
  uint8_t value = 0;
  for (size_t j = 0; j < r.m; ++j) {
    std::memset(out, value, r.counts[j]);
    out += r.counts[j];
    value ^= 1;
  }
}

void set_bits(std::vector<uint64_t>& bits, uint64_t from, uint64_t to) {  // [from, to]
  for (uint64_t x = from; x <= to;) {
    if ((x & 63) == 0 && x + 63 <= to) {
      bits[x >> 6] = ~uint64_t(0);
      x += 64;
    } else {
      bits[x >> 6] |= uint64_t(1) << (x & 63);
      ++x;
    }
  }
}

void decode_rows(RleRef r, uint8_t* out, Isa isa) {
  const uint64_t h = r.h, w = r.w;
  const uint64_t words = (w + 63) / 64;
  std::vector<uint64_t> row(words, 0);  // bit row 0 first, then each next row in turn
  std::vector<uint32_t> tx, ty;         // vertical transitions (x, y), y >= 1
  uint64_t pos = 0;
  uint64_t value = 0;
  for (size_t j = 0; j < r.m; ++j) {
    const uint64_t c = r.counts[j];
    if (c == 0) continue;
    const uint64_t v = j & 1;
    if (v != value) {
      const uint64_t x = pos / h, y = pos - x * h;
      if (y != 0) {
        tx.push_back(static_cast<uint32_t>(x));
        ty.push_back(static_cast<uint32_t>(y));
      }
      value = v;
    }
    if (v) {  // columns whose top pixel lies in this foreground run
      const uint64_t first = (pos + h - 1) / h, last = (pos + c - 1) / h;
      if (first <= last) set_bits(row, first, last);
    }
    pos += c;
  }
  std::vector<uint32_t> start(h + 1, 0);
  for (uint32_t y : ty) ++start[y + 1];
  for (uint64_t y = 0; y < h; ++y) start[y + 1] += start[y];
  std::vector<uint32_t> cols(tx.size());
  {
    std::vector<uint32_t> cursor(start.begin(), start.end() - 1);
    for (size_t t = 0; t < tx.size(); ++t) cols[cursor[ty[t]]++] = tx[t];
  }
  for (uint64_t y = 0; y < h; ++y) {
    for (uint32_t t = start[y]; t < start[y + 1]; ++t) row[cols[t] >> 6] ^= uint64_t(1) << (cols[t] & 63);
    unpack_row(isa, row.data(), w, out + y * w);
  }
}

}  // namespace

void decode(BatchView b, uint8_t* out, Order order, const Config& cfg) {
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
  const bool rows = order == Order::kRowMajor && h > 1 && w > 1 &&
                    h < (uint64_t(1) << 32) && w < (uint64_t(1) << 32);
  parallel_for(b.n, cfg.threads, [&](size_t i) {
    uint8_t* dst = out + i * h * w;
    if (rows)
      decode_rows(b[i], dst, cfg.isa);
    else
      decode_columns(b[i], dst);
  });
}

}  // namespace turborle
