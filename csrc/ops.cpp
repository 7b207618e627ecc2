// Operations on runs: area, bounding box, IoU and merge. None of them decodes a mask.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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

uint64_t intersection(RleRef a, RleRef b) {
  Foreground fa(a), fb(b);
  uint64_t total = 0;
  if (!fa.advance() || !fb.advance()) return 0;
  for (;;) {
    const uint64_t lo = std::max(fa.begin, fb.begin), hi = std::min(fa.end, fb.end);
    if (hi > lo) total += hi - lo;
    if (fa.end <= fb.end) {
      if (!fa.advance()) return total;
    } else {
      if (!fb.advance()) return total;
    }
  }
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

}  // namespace

void area(BatchView b, uint64_t* out) {
  for (size_t i = 0; i < b.n; ++i) out[i] = area_of(b[i]);
}

void bbox(BatchView b, double* out) {
  for (size_t i = 0; i < b.n; ++i) {
    const Box box = tight_box(b[i]);
    out[4 * i + 0] = static_cast<double>(box.x0);
    out[4 * i + 1] = static_cast<double>(box.y0);
    out[4 * i + 2] = static_cast<double>(box.x1 - box.x0);
    out[4 * i + 3] = static_cast<double>(box.y1 - box.y0);
  }
}

void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out) {
  std::vector<Box> dt_box(dt.n), gt_box(gt.n);
  std::vector<uint64_t> dt_area(dt.n), gt_area(gt.n);
  for (size_t d = 0; d < dt.n; ++d) {
    dt_box[d] = tight_box(dt[d]);
    dt_area[d] = area_of(dt[d]);
  }
  for (size_t g = 0; g < gt.n; ++g) {
    gt_box[g] = tight_box(gt[g]);
    gt_area[g] = area_of(gt[g]);
  }
  for (size_t d = 0; d < dt.n; ++d) {
    const Box& a = dt_box[d];
    const RleRef rd = dt[d];
    for (size_t g = 0; g < gt.n; ++g) {
      const Box& b = gt_box[g];
      double& o = out[d * gt.n + g];
      o = 0;
      // pycocotools computes mask IoU only where the boxes overlap, and checks sizes there.
      if (std::min(a.x1, b.x1) <= std::max(a.x0, b.x0) ||
          std::min(a.y1, b.y1) <= std::max(a.y0, b.y0))
        continue;
      const RleRef rg = gt[g];
      if (rd.h != rg.h || rd.w != rg.w) {
        o = -1;
        continue;
      }
      const uint64_t inter = intersection(rd, rg);
      if (inter == 0) continue;
      const uint64_t uni = (iscrowd && iscrowd[g]) ? dt_area[d] : dt_area[d] + gt_area[g] - inter;
      o = static_cast<double>(inter) / static_cast<double>(uni);
    }
  }
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

Batch merge(BatchView b, MergeOp op) {
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
  // Pairwise rounds (a balanced tree), so each run is touched O(log n) times.
  std::vector<std::vector<count_t>> level;
  level.reserve((b.n + 1) / 2);
  for (size_t i = 0; i + 1 < b.n; i += 2) {
    level.emplace_back();
    merge_two(b[i], b[i + 1], op, level.back());
  }
  if (b.n % 2) {
    const RleRef r = b[b.n - 1];
    level.emplace_back(r.counts, r.counts + r.m);
  }
  auto ref = [&](const std::vector<count_t>& c) { return RleRef{h, w, c.data(), c.size()}; };
  while (level.size() > 1) {
    std::vector<std::vector<count_t>> next;
    next.reserve((level.size() + 1) / 2);
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      next.emplace_back();
      merge_two(ref(level[i]), ref(level[i + 1]), op, next.back());
    }
    if (level.size() % 2) next.push_back(std::move(level.back()));
    level.swap(next);
  }
  out.counts = std::move(level[0]);
  out.close(h, w);
  return out;
}

}  // namespace turborle
