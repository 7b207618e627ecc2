// Operations on runs: area, bounding box, IoU and merge.
//
// IoU: each mask's foreground intervals are listed once; a pair whose boxes overlap is swept
// with two pointers over the intervals inside the columns both boxes share (found by binary
// search).
//
// Merge has two algorithms. The reference (Isa::kScalar) is a balanced tree of pairwise
// merges on runs. The vector path ORs every mask's runs into one bitmap and scans it for
// value changes; it is used when the bitmap fits a memory budget. Results are identical (the
// tests compare both paths).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Walks the foreground intervals [begin, end) of a mask in order. Zero-length runs are
// allowed (they give empty intervals or touching ones).
struct Foreground {
  const count_t* counts;
  size_t m;
  size_t next = 0;  // index of the next (background) count
  uint64_t pos = 0;
  uint64_t begin = 0, end = 0;

  explicit Foreground(RleRef r) : counts(r.counts), m(r.m) {}
  bool advance() {
    if (next + 1 >= m) return false;
    begin = pos + counts[next];
    end = begin + counts[next + 1];
    pos = end;
    next += 2;
    return true;
  }
};

// Integer box: columns [x0, x1), rows [y0, y1); empty when x1 == 0.
struct Box {
  uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

Box tight_box(RleRef r) {
  Box b;
  if (r.h == 0) return b;
  Foreground fg(r);
  bool any = false;
  uint64_t xs = 0, xe = 0, ys = r.h, ye = 0;
  while (fg.advance()) {
    if (fg.end == fg.begin) continue;
    const uint64_t first = fg.begin, last = fg.end - 1;
    const uint64_t xa = first / r.h, xb = last / r.h;
    if (!any) xs = xa;
    any = true;
    xe = xb;
    if (xa != xb) {
      ys = 0;
      ye = r.h - 1;
    } else {
      ys = std::min(ys, first - xa * r.h);
      ye = std::max(ye, last - xb * r.h);
    }
  }
  if (!any) return b;
  return {xs, ys, xe + 1, ye + 1};
}

uint64_t area_of(RleRef r) {
  uint64_t a = 0;
  for (size_t j = 1; j < r.m; j += 2) a += r.counts[j];
  return a;
}

// Appends foreground intervals, joining touching ones, and closes them into canonical counts.
class IntervalWriter {
 public:
  explicit IntervalWriter(std::vector<count_t>& out) : out_(out) {}
  void add(uint64_t begin, uint64_t end) {
    if (end <= begin) return;
    if (any_ && begin == last_end_) {
      out_.back() += end - begin;
    } else {
      out_.push_back(begin - last_end_);
      out_.push_back(end - begin);
    }
    any_ = true;
    last_end_ = end;
  }
  void finish(uint64_t total) {
    if (!any_ || total > last_end_) out_.push_back(total - last_end_);
  }

 private:
  std::vector<count_t>& out_;
  bool any_ = false;
  uint64_t last_end_ = 0;
};

void merge_two(RleRef a, RleRef b, MergeOp op, std::vector<count_t>& out) {
  IntervalWriter writer(out);
  Foreground fa(a), fb(b);
  bool more_a = fa.advance(), more_b = fb.advance();
  if (op == MergeOp::kIntersection) {
    while (more_a && more_b) {
      writer.add(std::max(fa.begin, fb.begin), std::min(fa.end, fb.end));
      if (fa.end <= fb.end)
        more_a = fa.advance();
      else
        more_b = fb.advance();
    }
  } else {
    // Union: take intervals in order of their start; the writer joins touching ones and
    // overlapping ones are clipped to what is new.
    uint64_t covered = 0;
    while (more_a || more_b) {
      Foreground& f = (!more_b || (more_a && fa.begin <= fb.begin)) ? fa : fb;
      const uint64_t begin = std::max(f.begin, covered);
      if (f.end > begin) {
        writer.add(begin, f.end);
        covered = f.end;
      }
      if (&f == &fa)
        more_a = fa.advance();
      else
        more_b = fb.advance();
    }
  }
  writer.finish(a.h * a.w);
}


// Sets bits [from, to) of a bitmap.
void set_range(uint64_t* bits, uint64_t from, uint64_t to) {
  if (from >= to) return;
  const uint64_t a = from >> 6, b = (to - 1) >> 6;
  const uint64_t lo = ~uint64_t(0) << (from & 63), hi = ~uint64_t(0) >> (63 - ((to - 1) & 63));
  if (a == b) {
    bits[a] |= lo & hi;
    return;
  }
  bits[a] |= lo;
  std::fill(bits + a + 1, bits + b, ~uint64_t(0));
  bits[b] |= hi;
}

// Merge bitmap budget: beyond this many words merge falls back to the run algorithm.
constexpr uint64_t kMaxBitmapWords = uint64_t(1) << 24;  // 128 MiB

// Foreground intervals of many masks, flattened: mask i owns spans[first[i] .. first[i+1]).
struct Spans {
  std::vector<uint64_t> bounds;  // begin, end, begin, end, ... (non-empty intervals)
  std::vector<size_t> first;
};

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
    for (size_t i = begin; i < end; ++i) {
      const Box box = tight_box(b[i]);
      out[4 * i + 0] = static_cast<double>(box.x0);
      out[4 * i + 1] = static_cast<double>(box.y0);
      out[4 * i + 2] = static_cast<double>(box.x1 - box.x0);
      out[4 * i + 3] = static_cast<double>(box.y1 - box.y0);
    }
  });
}

void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg) {
  const size_t m = dt.n, n = gt.n;
  auto mask = [&](size_t i) { return i < m ? dt[i] : gt[i - m]; };
  std::vector<Box> box(m + n);
  std::vector<uint64_t> areas(m + n);
  Spans spans;
  spans.first.assign(m + n + 1, 0);
  for (size_t i = 0; i < m + n; ++i) {  // one pass over the runs of every mask
    const RleRef r = mask(i);
    box[i] = tight_box(r);
    areas[i] = area_of(r);
    Foreground fg(r);
    while (fg.advance())
      if (fg.end > fg.begin) {
        spans.bounds.push_back(fg.begin);
        spans.bounds.push_back(fg.end);
      }
    spans.first[i + 1] = spans.bounds.size() / 2;
  }
  auto span = [&](size_t i) { return spans.bounds.data() + 2 * spans.first[i]; };
  auto count = [&](size_t i) { return spans.first[i + 1] - spans.first[i]; };
  parallel_chunks(m, m * n >= 256 ? cfg.threads : 1, [&](size_t begin, size_t end, size_t) {
    for (size_t d = begin; d < end; ++d) {
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
void merge_bitmap(BatchView b, MergeOp op, std::vector<count_t>& out) {
  const uint64_t total = b.h[0] * b.w[0];
  const uint64_t nwords = (total + 63) / 64;
  std::vector<uint64_t> bits(nwords, 0);
  const size_t parity = op == MergeOp::kUnion ? 1 : 0;
  for (size_t i = 0; i < b.n; ++i) {
    const RleRef r = b[i];
    uint64_t pos = 0;
    for (size_t j = 0; j < r.m; ++j) {
      if ((j & 1) == parity) set_range(bits.data(), pos, pos + r.counts[j]);
      pos += r.counts[j];
    }
  }
  if (op == MergeOp::kIntersection)
    for (auto& word : bits) word = ~word;
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
  for (size_t i = 1; i < b.n; ++i)
    if (b.h[i] != h || b.w[i] != w)
      throw std::invalid_argument("merge: mask " + std::to_string(i) + " has size " +
                                  std::to_string(b.h[i]) + "x" + std::to_string(b.w[i]) +
                                  " but mask 0 has size " + std::to_string(h) + "x" +
                                  std::to_string(w));
  if (b.n == 1) {
    const RleRef r = b[0];
    out.counts.assign(r.counts, r.counts + r.m);
    out.close(h, w);
    return out;
  }
  if (cfg.isa != Isa::kScalar && h * w > 0 && (h * w + 63) / 64 <= kMaxBitmapWords) {
    merge_bitmap(b, op, out.counts);
    out.close(h, w);
    return out;
  }
  // Pairwise rounds (a balanced tree), so each run is touched O(log n) times.
  auto ref = [&](const std::vector<count_t>& c) { return RleRef{h, w, c.data(), c.size()}; };
  std::vector<std::vector<count_t>> level((b.n + 1) / 2);
  parallel_for(level.size(), cfg.threads, [&](size_t i) {
    if (2 * i + 1 < b.n)
      merge_two(b[2 * i], b[2 * i + 1], op, level[i]);
    else
      level[i].assign(b[2 * i].counts, b[2 * i].counts + b[2 * i].m);
  });
  while (level.size() > 1) {
    std::vector<std::vector<count_t>> next((level.size() + 1) / 2);
    parallel_for(next.size(), cfg.threads, [&](size_t i) {
      if (2 * i + 1 < level.size())
        merge_two(ref(level[2 * i]), ref(level[2 * i + 1]), op, next[i]);
      else
        next[i] = std::move(level[2 * i]);
    });
    level.swap(next);
  }
  out.counts = std::move(level[0]);
  out.close(h, w);
  return out;
}

}  // namespace turborle
