// IoU of masks (pycocotools' semantics) and of boxes.
//
// Each mask's foreground intervals are listed once; a pair whose boxes overlap is swept with
// two pointers over the intervals inside the columns both boxes share (found by binary
// search).
#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.hpp"
#include "runs.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {


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

void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg) {
  const size_t m = dt.n, n = gt.n;
  auto mask = [&](size_t i) { return i < m ? dt[i] : gt[i - m]; };
  std::vector<Box> box(m + n);
  std::vector<uint64_t> areas(m + n);
  std::vector<std::vector<uint64_t>> spans(m + n);  // begin, end, begin, end, ...
  uint64_t counts = 0;
  for (size_t i = 0; i < m + n; ++i) counts += mask(i).m;
  // Listing costs about a nanosecond per count; a pair about one per interval it sweeps (a
  // guess of 16 per pair when the average is not known yet).
  parallel_for(m + n, threads_for(cfg.threads, counts), [&](size_t i) {
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
  const uint64_t per_pair = 16 + (m + n ? counts / (m + n) : 0) / 4;
  parallel_for(m, threads_for(cfg.threads, m * n * per_pair), [&](size_t d) {
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

}  // namespace turborle
