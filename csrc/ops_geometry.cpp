// Geometry on column spans: crop, pad, flip, transpose, rot90 and nearest-exact resize.
//
// Crop and pad move spans (a walk over the runs). Flips write the spans of each column, or
// the columns, in reverse. Transpose finds where each row changes value going right: where
// column x differs from column x - 1, i.e. the symmetric difference of their spans; bucketed
// by row those changes are the runs of the transposed mask (work proportional to the runs of
// the result). Resize maps every span through a table of rows and picks a source column for
// every output column.
#include <cmath>
#include <stdexcept>
#include <string>

#include "ops.hpp"
#include "spans.hpp"

namespace turborle {

namespace {

int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

// start + size (size >= 0) clamped to [lo, hi], without overflowing int64.
int64_t clamp_end(int64_t start, int64_t size, int64_t lo, int64_t hi) {
  if (start >= hi) return hi;
  const uint64_t room = static_cast<uint64_t>(hi) - static_cast<uint64_t>(start);  // > 0
  if (static_cast<uint64_t>(size) >= room) return hi;
  return clamp(start + size, lo, hi);  // start + size < hi: no overflow
}

std::string box_text(const int64_t* box) {
  return "{" + std::to_string(box[0]) + ", " + std::to_string(box[1]) + ", " +
         std::to_string(box[2]) + ", " + std::to_string(box[3]) + "}";
}

struct Scratch {
  Columns in, out;
  std::vector<uint64_t> table;
  std::vector<uint32_t> xs;
  struct Change {
    uint32_t x, y0, y1;
  };
  std::vector<Change> changes;
};

// Reads mask i of b into spans after checking its size (errors name the mask).
void read_mask(BatchView b, size_t i, const Config& cfg, Columns& c) {
  const RleRef r = b[i];
  naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
  read_columns(r, c);
}

template <class Fill>
Batch each_mask(BatchView b, const Config& cfg, Fill&& fill) {
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch_reusing<Scratch>(b.n, run, [&](size_t i) { return b[i].m + 1; },
                                      [&](size_t i, Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    read_mask(b, i, cfg, s.in);
    fill(s, out, h, w);
  });
}

Batch rewrite(BatchView b, const Config& cfg, bool flip_rows, bool flip_columns) {
  return each_mask(b, cfg, [&](Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    write_columns(s.in, out, flip_rows, flip_columns);
    h = s.in.h;
    w = s.in.w;
  });
}

// The transpose of c: column y of the result holds the rows x where row y of c is
// foreground. Only the rows [top, bottom) that hold foreground become stored columns.
void transposed(const Columns& c, Scratch& s, Columns& out) {
  const uint64_t h = c.h, w = c.w, n = c.columns();
  uint32_t top = UINT32_MAX, bottom = 0;
  for (const Span& sp : c.spans) {
    top = std::min(top, sp.y0);
    bottom = std::max(bottom, sp.y1);
  }
  if (c.spans.empty()) {
    out.reset(w, h, 0);
    return;
  }
  // Where row y changes value between columns x - 1 and x: ranges of rows [y0, y1) at
  // column x, from the symmetric difference of the two columns' spans. Column x0 - 1 and
  // the column after the stored ones are empty; a change at x = w is the end of the row.
  auto& changes = s.changes;
  changes.clear();
  std::vector<uint64_t>& start = s.table;  // changes per row, as a difference array first
  start.assign(bottom - top + 1, 0);
  const Span* none = nullptr;
  for (uint64_t i = 0; i <= n; ++i) {
    const uint64_t x = c.x0 + i;
    if (x == w) break;
    const Span *a = i ? c.begin(i - 1) : none, *ae = i ? c.end(i - 1) : none;
    const Span *b = i < n ? c.begin(i) : none, *be = i < n ? c.end(i) : none;
    // Walk the boundaries of both columns in order; equal boundaries cancel. The parity of
    // boundaries passed says whether a row is in the difference.
    bool a_end = false, b_end = false;  // next boundary of a (b) is a span end
    bool inside = false;
    uint64_t from = 0;
    while (a != ae || b != be) {
      const uint64_t ya = a != ae ? (a_end ? a->y1 : a->y0) : UINT64_MAX;
      const uint64_t yb = b != be ? (b_end ? b->y1 : b->y0) : UINT64_MAX;
      const uint64_t y = std::min(ya, yb);
      if (ya == y) {
        if (a_end) ++a;
        a_end = !a_end;
      }
      if (yb == y) {
        if (b_end) ++b;
        b_end = !b_end;
      }
      if (ya == yb) continue;  // both toggle: the difference does not change
      if (inside) {
        changes.push_back({static_cast<uint32_t>(x), static_cast<uint32_t>(from), static_cast<uint32_t>(y)});
        ++start[from - top];
        --start[y - top];  // (wraps, undone by the prefix sum)
      } else {
        from = y;
      }
      inside = !inside;
    }
  }
  // start[y - top] = first change of row y.
  const uint64_t rows = bottom - top;
  uint64_t running = 0, total = 0;
  for (uint64_t y = 0; y < rows; ++y) {
    running += start[y];
    start[y] = total;
    total += running;
  }
  start[rows] = total;
  std::vector<uint32_t>& xs = s.xs;
  xs.resize(total);
  for (const auto& ch : changes) {
    for (uint32_t y = ch.y0; y < ch.y1; ++y) xs[start[y - top]++] = ch.x;
  }
  // (start[r] is now the end of row r's changes, i.e. the first of row r + 1)
  // Column y of the result: the changes of row y pair up into spans; an odd last one runs to
  // the end.
  out.reset(w, h, top);
  out.spans.reserve(total / 2 + 1);
  uint64_t t = 0;
  for (uint64_t r = 0; r < rows; ++r) {
    const uint64_t end = start[r];
    for (; t < end; t += 2) {
      const uint32_t stop = t + 1 < end ? xs[t + 1] : static_cast<uint32_t>(w);
      push_span(out.spans, xs[t], stop);
    }
    t = end;
    out.close_column();
  }
}

// torch's nearest-exact source index, operation for operation (aten/src/ATen/native/UpSample.h
// and cpu/UpSampleKernel.cpp). scale = float(in) / out in float. torch's CPU kernel for a
// one-channel (mask) tensor depends on the output size:
//   * out_h + out_w <= 128: the channels-last kernel, floorf((dst + 0.5) * scale), the product
//     in double, rounded to float;
//   * otherwise the generic kernel: src = scale * (dst + 0.5f) - 0.5f in float, which torch's
//     AVX2 / AVX512 builds compute with a fused multiply-add; negatives clamp to 0; then
//     floorf(src + 0.5).
// The two differ only where (dst + 0.5) * in / out lies within a float rounding of an integer.
class NearestExact {
 public:
  NearestExact(uint64_t in, uint64_t out, bool small_output)
      : in_(in), scale_(static_cast<float>(in) / static_cast<float>(out)), small_(small_output) {}
  uint64_t operator()(uint64_t dst) const {
    float index;
    if (small_) {
      index = std::floor(static_cast<float>((static_cast<double>(dst) + 0.5) * static_cast<double>(scale_)));
    } else {
      float real = std::fma(scale_, static_cast<float>(dst) + 0.5f, -0.5f);
      if (real < 0) real = 0;
      index = std::floor(static_cast<float>(static_cast<double>(real) + 0.5));
    }
    return std::min<uint64_t>(static_cast<uint64_t>(index), in_ - 1);
  }

 private:
  uint64_t in_;
  float scale_;
  bool small_;
};

}  // namespace

Batch crop(BatchView b, const int64_t* boxes, bool per_mask, const Config& cfg) {
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run.threads, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, Counts& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    const int64_t* box = per_mask ? boxes + 4 * i : boxes;
    int64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;
    naming("mask", i, [&] {
      check_sides(r.h, r.w, cfg);
      if (box[2] < 0 || box[3] < 0)
        throw std::invalid_argument("crop box " + box_text(box) +
                                    " (x, y, width, height) has a negative size");
      const int64_t W = static_cast<int64_t>(r.w), H = static_cast<int64_t>(r.h);
      x0 = clamp(box[0], 0, W);
      x1 = clamp_end(box[0], box[2], 0, W);
      y0 = clamp(box[1], 0, H);
      y1 = clamp_end(box[1], box[3], 0, H);
      if ((x0 == x1 || y0 == y1) && box[2] > 0 && box[3] > 0)
        throw std::invalid_argument("crop box " + box_text(box) + " lies outside the " +
                                    std::to_string(r.h) + "x" + std::to_string(r.w) + " mask");
    });
    h = static_cast<uint64_t>(y1 - y0);
    w = static_cast<uint64_t>(x1 - x0);
    CountsWriter writer(out);
    const uint64_t ya = static_cast<uint64_t>(y0), yb = static_cast<uint64_t>(y1);
    const uint64_t xa = static_cast<uint64_t>(x0);
    for_each_span(r, xa * r.h, static_cast<uint64_t>(x1) * r.h, [&](uint64_t x, uint32_t a, uint32_t e) {
      const uint64_t from = std::max<uint64_t>(a, ya), to = std::min<uint64_t>(e, yb);
      const uint64_t base = (x - xa) * h;
      if (from < to) writer.add(base + from - ya, base + to - ya);
    });
    writer.finish(h * w);
  });
}

Batch pad(BatchView b, uint64_t top, uint64_t bottom, uint64_t left, uint64_t right,
          const Config& cfg) {
  if (top > kMaxPixels || bottom > kMaxPixels || left > kMaxPixels || right > kMaxPixels)
    throw std::invalid_argument("padding is too large");
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run.threads, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, Counts& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    h = r.h + top + bottom;  // (each term <= 2^62: no wrap)
    w = r.w + left + right;
    naming("mask", i, [&] {
      check_size(h, w);
      check_sides(h, w, cfg);
    });
    CountsWriter writer(out);
    const uint64_t height = h;
    for_each_span(r, 0, r.h * r.w, [&](uint64_t x, uint32_t a, uint32_t e) {
      const uint64_t base = (x + left) * height + top;
      writer.add(base + a, base + e);
    });
    writer.finish(h * w);
  });
}

Batch flip(BatchView b, int axis, const Config& cfg) {
  if (axis != 0 && axis != 1)
    throw std::invalid_argument("flip axis must be 0 (rows) or 1 (columns), got " +
                                std::to_string(axis));
  return rewrite(b, cfg, axis == 0, axis == 1);
}

Batch rot90(BatchView b, int64_t k, const Config& cfg) {
  const int64_t turns = ((k % 4) + 4) % 4;
  if (turns == 0) return rewrite(b, cfg, false, false);
  if (turns == 2) return rewrite(b, cfg, true, true);
  // numpy: rot90(m, 1) = flip(m.T, axis=0); rot90(m, 3) = flip(m.T, axis=1).
  return each_mask(b, cfg, [&](Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    transposed(s.in, s, s.out);
    write_columns(s.out, out, turns == 1, turns == 3);
    h = s.out.h;
    w = s.out.w;
  });
}

Batch transpose(BatchView b, const Config& cfg) {
  return each_mask(b, cfg, [&](Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    transposed(s.in, s, s.out);
    write_columns(s.out, out);
    h = s.out.h;
    w = s.out.w;
  });
}

Batch resize(BatchView b, uint64_t h, uint64_t w, const Config& cfg) {
  if (h == 0 || w == 0)
    throw std::invalid_argument("resize to " + std::to_string(h) + "x" + std::to_string(w) +
                                ": the size must be positive");
  check_pixel_limit(h, w, cfg, 0);
  const bool small = h + w <= 128;
  return each_mask(b, cfg, [&](Scratch& s, Counts& out, uint64_t& oh, uint64_t& ow) {
    const Columns& c = s.in;
    oh = h;
    ow = w;
    CountsWriter writer(out);
    if (c.spans.empty()) {  // (an empty input has no spans either)
      writer.finish(h * w);
      return;
    }
    const NearestExact row(c.h, h, small), column(c.w, w, small);
    // First output row / column whose source index is >= v (sources never decrease).
    auto first_reading = [](const NearestExact& source, uint64_t n, uint64_t v) {
      uint64_t lo = 0, hi = n;
      while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (source(mid) >= v) hi = mid; else lo = mid + 1;
      }
      return lo;
    };
    uint32_t top = UINT32_MAX, bottom = 0;
    for (const Span& sp : c.spans) {
      top = std::min(top, sp.y0);
      bottom = std::max(bottom, sp.y1);
    }
    // first[y - top] = first output row that reads input row y or a later one, y in
    // [top, bottom]: a span [y0, y1) becomes output rows [first[y0], first[y1]).
    std::vector<uint64_t>& first = s.table;
    first.resize(bottom - top + 1);
    uint64_t y = top;
    for (uint64_t yo = first_reading(row, h, top); yo < h && y <= bottom; ++yo)
      for (const uint64_t src = row(yo); y <= src && y <= bottom; ++y) first[y - top] = yo;
    for (; y <= bottom; ++y) first[y - top] = h;
    const uint64_t x_begin = first_reading(column, w, c.x0);
    const uint64_t x_end = first_reading(column, w, c.x0 + c.columns());
    for (uint64_t xo = x_begin; xo < x_end; ++xo) {
      const uint64_t i = column(xo) - c.x0, base = xo * h;
      for (const Span* sp = c.begin(i); sp != c.end(i); ++sp)
        writer.add(base + first[sp->y0 - top], base + first[sp->y1 - top]);
    }
    writer.finish(h * w);
  });
}

}  // namespace turborle
