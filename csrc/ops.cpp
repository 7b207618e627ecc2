// Operations on runs: area, bounding box, IoU and merge.
//
// IoU: each mask's foreground intervals are listed once; a pair whose boxes overlap is swept
// with two pointers over the intervals inside the columns both boxes share (found by binary
// search).
//
// Merge has two algorithms. The reference (Isa::kScalar) is a balanced tree of pairwise
// sweeps over run boundaries. The vector path paints every mask's runs into one bitmap and
// scans it for value changes; it is used when the bitmap fits a memory budget. Results are
// identical (the tests compare both paths).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "parse.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Calls paint(from, to) for every run of r with the given value (1 = foreground), in order.
template <class Paint>
void for_runs(RleRef r, unsigned value, Paint&& paint) {
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

Box tight_box(RleRef r) {
  BoxBuilder box(r.h);
  for (size_t j = 0; j < r.m; ++j) box.add(r.counts[j]);
  return box.finish();
}

void write_box(const Box& box, double* out) {
  out[0] = static_cast<double>(box.x0);
  out[1] = static_cast<double>(box.y0);
  out[2] = static_cast<double>(box.x1 - box.x0);
  out[3] = static_cast<double>(box.y1 - box.y0);
}

uint64_t area_of(RleRef r) {
  uint64_t a = 0;
  for (size_t j = 1; j < r.m; j += 2) a += r.counts[j];
  return a;
}

// Truth table of an operation on two pixels: bit (2*a + b) is the result for values a, b.
uint8_t truth_table(MergeOp op) {
  switch (op) {
    case MergeOp::kUnion: return 0b1110;
    case MergeOp::kIntersection: return 0b1000;
    case MergeOp::kXor: return 0b0110;
    default: return 0b0100;  // a and not b
  }
}

// Walks the run boundaries of two masks together and writes canonical counts of
// table(a, b). Zero-length runs are harmless: they toggle a value twice at one position.
void merge_two(RleRef a, RleRef b, uint8_t table, std::vector<count_t>& out) {
  const uint64_t total = a.h * a.w;
  size_t ia = 0, ib = 0;
  uint64_t next_a = a.m ? a.counts[0] : total, next_b = b.m ? b.counts[0] : total;
  unsigned va = 0, vb = 0, value = 0;  // value: the output so far (before 0: background)
  uint64_t previous_toggle = 0;
  auto visit = [&](uint64_t at) {  // every boundary at `at`, then the output there
    while (next_a == at && next_a < total) {  // boundary of a: flip, move to its next run
      va ^= 1;
      next_a += ++ia < a.m ? a.counts[ia] : total;
    }
    while (next_b == at && next_b < total) {
      vb ^= 1;
      next_b += ++ib < b.m ? b.counts[ib] : total;
    }
    const unsigned v = (table >> (2 * va + vb)) & 1;
    if (v != value) {
      out.push_back(at - previous_toggle);
      previous_toggle = at;
      value = v;
    }
  };
  if (total > 0) visit(0);  // the output may start with foreground (e.g. "not a")
  while (next_a < total || next_b < total) visit(std::min(next_a, next_b));
  out.push_back(total - previous_toggle);
}

// Applies op(word, mask) to the words covering bits [from, to) of a bitmap, mask selecting
// the bits of the range in each word.
template <class Op>
void update_range(uint64_t* bits, uint64_t from, uint64_t to, Op op) {
  if (from >= to) return;
  const uint64_t a = from >> 6, b = (to - 1) >> 6;
  const uint64_t lo = ~uint64_t(0) << (from & 63), hi = ~uint64_t(0) >> (63 - ((to - 1) & 63));
  if (a == b) {
    op(bits[a], lo & hi);
    return;
  }
  op(bits[a], lo);
  for (uint64_t k = a + 1; k < b; ++k) op(bits[k], ~uint64_t(0));
  op(bits[b], hi);
}

// Merge bitmap budget: beyond this many words merge falls back to the run algorithm.
constexpr uint64_t kMaxBitmapWords = uint64_t(1) << 24;  // 128 MiB

// Pixels in both masks, counting only intervals that reach [lo, hi): the intersection lies
// inside the columns both boxes share, so nothing outside them needs visiting.
uint64_t intersection(const uint64_t* a, size_t na, const uint64_t* b, size_t nb, uint64_t lo,
                      uint64_t hi) {
  auto first_ending_after = [lo](const uint64_t* s, size_t n) {
    size_t left = 0, right = n;  // first interval whose end > lo
    while (left < right) {
      const size_t mid = (left + right) / 2;
      if (s[2 * mid + 1] > lo) right = mid; else left = mid + 1;
    }
    return left;
  };
  size_t i = first_ending_after(a, na), j = first_ending_after(b, nb);
  uint64_t total = 0;
  while (i < na && j < nb) {
    const uint64_t ab = a[2 * i], ae = a[2 * i + 1], bb = b[2 * j], be = b[2 * j + 1];
    if (ab >= hi || bb >= hi) break;
    const uint64_t begin = std::max(ab, bb), end = std::min(ae, be);
    if (end > begin) total += end - begin;
    // A branch, not arithmetic: along blob-like masks the pointers mostly alternate, which
    // the predictor learns, and speculation then runs ahead of the loads.
    if (ae <= be)
      ++i;
    else
      ++j;
  }
  return total;
}

}  // namespace

void area(BatchView b, uint64_t* out, const Config& cfg) {
  parallel_chunks(b.n, b.n >= 4096 ? cfg.threads : 1, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) out[i] = area_of(b[i]);
  });
}

void bbox(BatchView b, double* out, const Config& cfg) {
  parallel_chunks(b.n, b.n >= 1024 ? cfg.threads : 1, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) write_box(tight_box(b[i]), out + 4 * i);
  });
}

namespace {

// Area and box of one mask, fed one count at a time.
struct Measure {
  Measure(uint64_t h, bool with_box) : box(h), with_box(with_box) {}
  void operator()(count_t c) {
    area += (j++ & 1) ? c : 0;
    if (with_box) box.add(c);
  }
  uint64_t area = 0;
  size_t j = 0;
  BoxBuilder box;
  bool with_box;
};

}  // namespace

void measure_sources(const Source* sources, size_t n, uint64_t* area, double* bbox,
                     const Config& cfg) {
  parallel_chunks(n, cfg.threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      const Source& s = sources[i];
      Measure measure(s.h, bbox != nullptr);
      naming("mask", i, [&] {
        if (s.counts) {
          check_counts(s.counts, s.m, s.h, s.w);
          for (size_t k = 0; k < s.m; ++k) measure(s.counts[k]);
        } else {
          measure = parse_counts(s.data, s.len, s.h, s.w, measure);
        }
      });
      if (area) area[i] = measure.area;
      if (bbox) write_box(measure.box.finish(), bbox + 4 * i);
    }
  });
}

void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg) {
  const size_t m = dt.n, n = gt.n;
  auto mask = [&](size_t i) { return i < m ? dt[i] : gt[i - m]; };
  std::vector<Box> box(m + n);
  std::vector<uint64_t> areas(m + n);
  std::vector<std::vector<uint64_t>> spans(m + n);  // begin, end, begin, end, ...
  parallel_for(m + n, m * n >= 256 ? cfg.threads : 1, [&](size_t i) {
    const RleRef r = mask(i);  // one pass over the runs of every mask
    box[i] = tight_box(r);
    areas[i] = area_of(r);
    std::vector<uint64_t>& s = spans[i];
    s.reserve(r.m);
    for_runs(r, 1, [&s](uint64_t begin, uint64_t end) {
      if (end > begin) {
        s.push_back(begin);
        s.push_back(end);
      }
    });
  });
  auto span = [&](size_t i) { return spans[i].data(); };
  auto count = [&](size_t i) { return spans[i].size() / 2; };
  // One detection's row at a time: rows differ a lot in cost (mask sizes), so they are
  // handed out dynamically rather than in fixed chunks.
  parallel_for(m, m * n >= 256 ? cfg.threads : 1, [&](size_t d) {
    const Box& a = box[d];
    const RleRef rd = dt[d];
    for (size_t g = 0; g < n; ++g) {
      const Box& b = box[m + g];
      double& o = out[d * n + g];
      o = 0;
      // pycocotools computes mask IoU only where the boxes overlap, and checks sizes there.
      const uint64_t x0 = std::max(a.x0, b.x0), x1 = std::min(a.x1, b.x1);
      if (x1 <= x0 || std::min(a.y1, b.y1) <= std::max(a.y0, b.y0)) continue;
      const RleRef rg = gt[g];
      if (rd.h != rg.h || rd.w != rg.w) {
        o = -1;
        continue;
      }
      const uint64_t inter =
          intersection(span(d), count(d), span(m + g), count(m + g), x0 * rd.h, x1 * rd.h);
      if (inter == 0) continue;
      const uint64_t uni = (iscrowd && iscrowd[g]) ? areas[d] : areas[d] + areas[m + g] - inter;
      o = static_cast<double>(inter) / static_cast<double>(uni);
    }
  });
}

void box_iou(const double* dt, size_t m, const double* gt, size_t n, const uint8_t* iscrowd,
             double* out) {
  // The same floating-point operations in the same order as pycocotools' bbIou.
  for (size_t d = 0; d < m; ++d) {
    const double* D = dt + 4 * d;
    const double da = D[2] * D[3];
    for (size_t g = 0; g < n; ++g) {
      const double* G = gt + 4 * g;
      const double ga = G[2] * G[3];
      double& o = out[d * n + g];
      o = 0;
      const double w = std::fmin(D[2] + D[0], G[2] + G[0]) - std::fmax(D[0], G[0]);
      if (w <= 0) continue;
      const double h = std::fmin(D[3] + D[1], G[3] + G[1]) - std::fmax(D[1], G[1]);
      if (h <= 0) continue;
      const double i = w * h;
      const double u = (iscrowd && iscrowd[g]) ? da : da + ga - i;
      o = i / u;
    }
  }
}

namespace {

// Union: OR of every foreground run. Intersection: NOT of the OR of every background run.
// Xor: every foreground run flipped in. Difference: NOT of the OR of the others' foreground,
// with the first mask's background cleared.
void merge_bitmap(BatchView b, MergeOp op, std::vector<count_t>& out) {
  const uint64_t total = b.h[0] * b.w[0];
  const uint64_t nwords = (total + 63) / 64;
  std::vector<uint64_t> bits(nwords, 0);
  uint64_t* p = bits.data();
  auto set = [p](uint64_t from, uint64_t to) {
    update_range(p, from, to, [](uint64_t& word, uint64_t m) { word |= m; });
  };
  switch (op) {
    case MergeOp::kUnion:
      for (size_t i = 0; i < b.n; ++i) for_runs(b[i], 1, set);
      break;
    case MergeOp::kIntersection:
      for (size_t i = 0; i < b.n; ++i) for_runs(b[i], 0, set);
      for (auto& word : bits) word = ~word;
      break;
    case MergeOp::kXor:
      for (size_t i = 0; i < b.n; ++i)
        for_runs(b[i], 1, [p](uint64_t from, uint64_t to) {
          update_range(p, from, to, [](uint64_t& word, uint64_t m) { word ^= m; });
        });
      break;
    case MergeOp::kDifference:
      for (size_t i = 1; i < b.n; ++i) for_runs(b[i], 1, set);
      for (auto& word : bits) word = ~word;
      for_runs(b[0], 0, [p](uint64_t from, uint64_t to) {
        update_range(p, from, to, [](uint64_t& word, uint64_t m) { word &= ~m; });
      });
      break;
  }
  if (total & 63) bits[nwords - 1] &= ~uint64_t(0) >> (64 - (total & 63));
  uint64_t previous_toggle = 0, carry = 0;
  for (uint64_t k = 0; k < nwords; ++k) {
    const uint64_t word = bits[k];
    for (uint64_t t = word ^ ((word << 1) | carry); t; t &= t - 1) {
      const uint64_t at = k * 64 + __builtin_ctzll(t);
      out.push_back(at - previous_toggle);
      previous_toggle = at;
    }
    carry = word >> 63;
  }
  // Foreground reaching the end gives a toggle at `total` (seen when total is not a multiple
  // of 64): the run before it is then already the last count.
  if (previous_toggle != total) out.push_back(total - previous_toggle);
}

}  // namespace

Batch merge(BatchView b, MergeOp op, const Config& cfg) {
  Batch out;
  if (b.n == 0) {
    out.close(0, 0);
    return out;
  }
  const uint64_t h = b.h[0], w = b.w[0];
  check_one_size(b, "merge");
  if (b.n == 1) {  // canonical form of the one mask (zero-length runs dropped)
    const count_t empty[1] = {h * w};
    merge_two(b[0], RleRef{h, w, empty, 1}, 0b1100, out.counts);  // a
    out.close(h, w);
    return out;
  }
  if (cfg.isa != Isa::kScalar && h * w > 0 && (h * w + 63) / 64 <= kMaxBitmapWords) {
    merge_bitmap(b, op, out.counts);
    out.close(h, w);
    return out;
  }
  // Pairwise rounds (a balanced tree), so each run is touched O(log n) times. Difference
  // is the first mask minus the union of the others.
  const bool difference = op == MergeOp::kDifference;
  const uint8_t table = truth_table(difference ? MergeOp::kUnion : op);
  auto ref = [&](const std::vector<count_t>& c) { return RleRef{h, w, c.data(), c.size()}; };
  std::vector<std::vector<count_t>> level;
  for (size_t i = difference ? 1 : 0; i < b.n; ++i)
    level.emplace_back(b[i].counts, b[i].counts + b[i].m);
  while (level.size() > 1) {
    std::vector<std::vector<count_t>> next((level.size() + 1) / 2);
    parallel_for(next.size(), cfg.threads, [&](size_t i) {
      if (2 * i + 1 < level.size())
        merge_two(ref(level[2 * i]), ref(level[2 * i + 1]), table, next[i]);
      else
        next[i] = std::move(level[2 * i]);
    });
    level.swap(next);
  }
  if (difference)
    merge_two(b[0], ref(level[0]), truth_table(MergeOp::kDifference), out.counts);
  else
    out.counts = std::move(level[0]);
  out.close(h, w);
  return out;
}

Batch complement(BatchView b, const Config& cfg) {
  return build_batch(b.n, cfg, [&](size_t i) { return b[i].m + 1; }, [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    h = r.h;
    w = r.w;
    const count_t empty[1] = {r.h * r.w};
    merge_two(r, RleRef{r.h, r.w, empty, 1}, 0b0011, out);  // not a (canonical)
  });
}

}  // namespace turborle
