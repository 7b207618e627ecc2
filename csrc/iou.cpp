// IoU of masks (pycocotools' semantics) and of boxes.
//
// A pair of masks is looked at only when their boxes overlap (pycocotools scores the others 0
// from the boxes alone). Its intersection is then counted one of two ways, whichever is
// estimated cheaper for that pair:
//
// * The run sweep (the reference; any mask): each mask's foreground intervals are listed
//   once; two pointers walk the intervals inside the columns both boxes share (the first one
//   found by binary search). Its cost follows the runs in those columns.
// * Bit planes: a mask whose plane is not much larger than its list of intervals also gets
//   one bit per pixel of its box, column by column. Word k of a column holds the rows
//   64k .. 64k+63 of the image, whatever the box, so two planes line up word for word and a
//   pair is counted by AND and popcount over the overlap of the two boxes
//   (Kernels::and_count). Its cost follows the overlap's area / 64, whatever the runs:
//   masks of many short runs count far faster this way, masks of a few long runs sweep
//   faster. A plane is painted only when the pairs it would speed up are estimated to save
//   more than painting it costs (small masks in few pairs never get one).
//
// The pair loop runs in tiles: a group of detections whose planes and intervals fit in the L2
// cache together meets the ground truths one after the other, so each ground truth's data
// comes from memory once per tile and the detections' from cache (an earlier bitmap version
// without tiles was bound by memory).
#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.hpp"
#include "portable.hpp"
#include "runs.hpp"
#include "simd.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// A plane is built when it holds at most this many words per foreground interval (plus a
// little): memory stays within a small multiple of the counts, and a plane much larger than
// the runs would rarely beat the sweep anyway.
constexpr uint64_t kPlaneWordsPerInterval = 16;
constexpr uint64_t kPlaneWordsSlack = 64;

// Estimated costs, in units of about a quarter of a nanosecond (measured on Zen 3 with the
// AVX2 kernels; only their ratios matter): one sweep step over an interval (a hard-to-predict
// branch), the binary searches that start a sweep, one plane word (AND + popcount), and the
// start of each plane column.
constexpr double kSweepInterval = 12;
constexpr double kSweepStart = 60;
constexpr double kPlaneWord = 1;
constexpr double kPlaneColumn = 6;
// Painting a plane (paint_plane), in the same units: clearing, the running XOR and the carry
// per word, two flips per interval, and the call.
constexpr double kPaintWord = 4;
constexpr double kPaintInterval = 10;
constexpr double kPaintStart = 200;

// Detections per tile: as many as fit in this many bytes of intervals and planes.
constexpr size_t kTileBytes = 128 * 1024;

// One mask, ready for the pair loop.
struct Prepared {
  uint64_t h = 0, w = 0;
  Box box;
  uint64_t area = 0;
  size_t spans = 0;      // its foreground intervals: begin, end, ... at the call's spans[spans]
  size_t intervals = 0;  // how many
  // Its bit plane, when it has one, at the call's planes[plane]: column x at
  // (x - box.x0) * stride, whose word k holds rows 64 * (word0 + k) .. 64 * (word0 + k) + 63.
  size_t plane = kNoPlane;
  uint64_t word0 = 0, stride = 0;
  static constexpr size_t kNoPlane = ~size_t(0);

  bool has_plane() const { return plane != kNoPlane; }
  uint64_t cols() const { return box.x1 - box.x0; }
  uint64_t plane_words() const { return cols() * stride; }
};

// Estimated time saved by counting a pair by planes rather than by the sweep (negative when
// the sweep is faster; 0 when the boxes do not overlap or the sizes differ). The sweep visits the intervals in the
// shared columns, estimated as each mask's share of its columns (in double precision: no
// product can overflow); planes cost a word per row block of the overlap per column.
double plane_gain(const Prepared& a, const Prepared& b) {
  const uint64_t x0 = std::max(a.box.x0, b.box.x0), x1 = std::min(a.box.x1, b.box.x1);
  const uint64_t y0 = std::max(a.box.y0, b.box.y0), y1 = std::min(a.box.y1, b.box.y1);
  if (x1 <= x0 || y1 <= y0 || a.h != b.h || a.w != b.w) return 0;
  const double c = double(x1 - x0), words = double((y1 + 63) / 64 - y0 / 64);
  const double swept = double(a.intervals) * c / double(a.cols()) +
                       double(b.intervals) * c / double(b.cols());
  return swept * kSweepInterval + kSweepStart - c * (words * kPlaneWord + kPlaneColumn);
}

// One pass over a mask's counts: its foreground intervals (written to `spans`, room for
// m / 2 of them), area and box. The column of each interval is followed by stepping from the
// previous one (a division only for a jump of two columns or more), and the box is
// pycocotools' (every row once a run crosses into the next column).
void list_runs(RleRef r, uint64_t* spans, Prepared& p) {
  const uint64_t h = r.h;
  uint64_t pos = 0, area = 0, start = 0, low = h, high = 0;  // start: of pos's column
  bool crosses = false;
  size_t k = 0;
  for (size_t j = 1; j < r.m; j += 2) {
    pos += r.counts[j - 1];
    const uint64_t len = r.counts[j];
    spans[2 * k] = pos;
    spans[2 * k + 1] = pos + len;
    if (TURBORLE_UNLIKELY(len == 0)) continue;  // (parsed input may hold empty runs)
    ++k;
    uint64_t row = pos - start;
    const bool next = row >= h;  // mostly the next column, without a branch
    start += next ? h : 0;
    row -= next ? h : 0;
    if (TURBORLE_UNLIKELY(row >= h)) {
      start = pos / h * h;
      row = pos - start;
    }
    low = std::min(low, row);
    crosses |= row + len > h;
    high = std::max(high, row + len);
    area += len;
    pos += len;
  }
  p.h = r.h;
  p.w = r.w;
  p.area = area;
  p.intervals = k;
  if (k == 0) return;  // the empty box
  if (crosses) {
    low = 0;
    high = h;
  }
  p.box = Box{spans[0] / h, low, (spans[2 * k - 1] - 1) / h + 1, high};
}

// Calls mark(from, to) with the plane bits [from, to) of every interval's piece in each
// column, in increasing order. Column x's row 0 is plane bit (x - box.x0) * 64 * stride -
// 64 * word0; rows from h up to the column's last word are never marked.
template <class Mark>
void plane_pieces(const Prepared& p, const uint64_t* spans, Mark&& mark) {
  const uint64_t h = p.h, base = 64 * p.word0, column_bits = 64 * p.stride;
  uint64_t x = p.box.x0, start = x * h;  // column x holds the positions [start, start + h)
  uint64_t at = 0 - base;                 // plane bit of column x's row 0 (wraps; rows >= base)
  for (size_t i = 0; i < p.intervals; ++i) {
    const uint64_t begin = spans[2 * i], end = spans[2 * i + 1];
    uint64_t row = begin - start;
    const bool next = row >= h;
    start += next ? h : 0;
    row -= next ? h : 0;
    at += next ? column_bits : 0;
    if (TURBORLE_UNLIKELY(row >= h)) {
      x = begin / h;
      start = x * h;
      row = begin - start;
      at = (x - p.box.x0) * column_bits - base;
    }
    if (TURBORLE_LIKELY(end - start <= h)) {
      mark(at + row, at + (end - start));
      continue;
    }
    // The interval runs down into later columns (the box then holds every row: base is 0).
    for (uint64_t from = row;; from = 0) {
      if (end - start <= h) {
        mark(at + from, at + (end - start));
        break;
      }
      mark(at + from, at + h);
      start += h;
      at += column_bits;
    }
  }
}

// Paints p's plane (plane_words() + 1 words at `plane`) from its intervals, one of two ways.
// Long runs (no more intervals than words, as smooth masks have): each piece's words are
// filled, the words between its ends stored whole. Short runs: each piece is marked by
// flipping the bits where it starts and where it ends, and a running XOR over the plane then
// sets exactly the bits inside; the bit after a piece that ends at the bottom of a column's
// words is the first bit of the next column's, which the running XOR crosses correctly, and
// the extra last word takes the end of the last column's. The flips come in increasing order
// of bit, so each word is built in a register and stored, never read back: flipping in
// memory would chain every flip of a word through a store and a load.
void paint_plane(const Prepared& p, const uint64_t* spans, uint64_t* plane) {
  const size_t words = size_t(p.plane_words());
  std::fill(plane, plane + words + 1, 0);
  if (p.intervals <= words) {
    plane_pieces(p, spans, [plane](uint64_t from, uint64_t to) {
      const uint64_t w0 = from >> 6, w1 = (to - 1) >> 6;
      const uint64_t head = ~uint64_t(0) << (from & 63), tail = ~uint64_t(0) >> (63 - ((to - 1) & 63));
      if (w0 == w1) {
        plane[w0] |= head & tail;
        return;
      }
      plane[w0] |= head;
      for (uint64_t w = w0 + 1; w < w1; ++w) plane[w] = ~uint64_t(0);
      plane[w1] = tail;  // (no piece has reached this word yet)
    });
    return;
  }
  uint64_t word = 0, bits = 0;  // the word being built, and its bits so far
  auto flip = [&](uint64_t bit) {
    const uint64_t w = bit >> 6;
    bits = (w == word ? bits : 0) ^ (uint64_t(1) << (bit & 63));
    word = w;
    plane[w] = bits;
  };
  plane_pieces(p, spans, [&](uint64_t from, uint64_t to) {
    flip(from);
    flip(to);
  });
  // Running XOR: within each word first, then the parity carried from word to word.
  for (size_t k = 0; k < words; ++k) {
    uint64_t v = plane[k];
    v ^= v << 1;
    v ^= v << 2;
    v ^= v << 4;
    v ^= v << 8;
    v ^= v << 16;
    v ^= v << 32;
    plane[k] = v;
  }
  uint64_t carry = 0;
  for (size_t k = 0; k < words; ++k) {
    const uint64_t v = plane[k] ^ carry;
    plane[k] = v;
    carry = uint64_t(int64_t(v) >> 63);
  }
}

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

void iou_by(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg,
            IouPath path) {
  const size_t m = dt.n, n = gt.n;
  if (m == 0 || n == 0) return;
  auto mask = [&](size_t i) { return i < m ? dt[i] : gt[i - m]; };
  std::vector<Prepared> masks(m + n);
  uint64_t counts = 0;
  size_t span_words = 0;
  for (size_t i = 0; i < m + n; ++i) {
    masks[i].spans = span_words;  // room for m / 2 intervals
    span_words += 2 * (mask(i).m / 2);
    counts += mask(i).m;
  }
  Counts spans(span_words);  // not zeroed: each mask writes its own part
  // Listing costs about two nanoseconds per count.
  parallel_for(m + n, threads_for(cfg.threads, 2 * counts), [&](size_t i) {
    list_runs(mask(i), spans.data() + masks[i].spans, masks[i]);
  });

  // Candidates for a plane: masks whose plane is not much larger than their intervals.
  std::vector<uint8_t> candidate(m + n, 0);
  if (path != IouPath::kSweep) {
    for (size_t i = 0; i < m + n; ++i) {
      Prepared& p = masks[i];
      if (p.intervals == 0) continue;
      p.word0 = p.box.y0 / 64;
      p.stride = (p.box.y1 + 63) / 64 - p.word0;
      const uint64_t words = p.plane_words();  // < 2^63: at most w * (h / 64 + 1)
      candidate[i] =
          words / kPlaneWordsPerInterval <= p.intervals + kPlaneWordsSlack / kPlaneWordsPerInterval;
    }
  }
  // With the choice made per pair, a candidate gets its plane only when the pairs it would
  // count faster save more than painting it costs: each pair of two candidates whose boxes
  // overlap credits half its estimated saving to each mask. (Small masks and masks in few
  // pairs keep to the sweep.)
  if (path == IouPath::kChoose) {
    std::vector<double> saving(m + n, 0);
    for (size_t d = 0; d < m; ++d) {
      if (!candidate[d]) continue;
      for (size_t g = 0; g < n; ++g) {
        if (!candidate[m + g]) continue;
        const Prepared &a = masks[d], &b = masks[m + g];
        const double gain = plane_gain(a, b);
        if (gain > 0) {
          saving[d] += gain / 2;
          saving[m + g] += gain / 2;
        }
      }
    }
    for (size_t i = 0; i < m + n; ++i)
      candidate[i] = candidate[i] &&
                     saving[i] > double(masks[i].plane_words()) * kPaintWord +
                                     double(masks[i].intervals) * kPaintInterval + kPaintStart;
  }
  // The planes: one spare word each (paint_plane), and each starts on a cache line.
  size_t plane_words = 0;
  for (size_t i = 0; i < m + n; ++i) {
    if (!candidate[i]) continue;
    masks[i].plane = plane_words;
    plane_words += (size_t(masks[i].plane_words()) + 1 + 7) / 8 * 8;
  }
  Counts planes(plane_words);
  if (plane_words) {
    // Painting costs about a nanosecond per plane word and a few per interval.
    parallel_for(m + n, threads_for(cfg.threads, plane_words + 4 * counts), [&](size_t i) {
      const Prepared& p = masks[i];
      if (p.has_plane()) paint_plane(p, spans.data() + p.spans, planes.data() + p.plane);
    });
  }

  const Kernels& k = kernels(cfg.isa);
  auto pair = [&](size_t d, size_t g) {
    const Prepared &a = masks[d], &b = masks[m + g];
    double& o = out[d * n + g];
    o = 0;
    // pycocotools computes mask IoU only where the boxes overlap, and checks sizes there.
    const uint64_t x0 = std::max(a.box.x0, b.box.x0), x1 = std::min(a.box.x1, b.box.x1);
    const uint64_t y0 = std::max(a.box.y0, b.box.y0), y1 = std::min(a.box.y1, b.box.y1);
    if (x1 <= x0 || y1 <= y0) return;
    if (a.h != b.h || a.w != b.w) {
      o = -1;
      return;
    }
    uint64_t inter;
    bool by_planes = a.has_plane() && b.has_plane();
    // The overlap's columns [x0, x1) and plane words [w0, w1) (both planes cover them).
    const uint64_t cols = x1 - x0, w0 = y0 / 64, w1 = (y1 + 63) / 64;
    if (by_planes && path == IouPath::kChoose) by_planes = plane_gain(a, b) > 0;
    if (by_planes) {
      inter = k.and_count(planes.data() + a.plane + (x0 - a.box.x0) * a.stride + (w0 - a.word0),
                          a.stride,
                          planes.data() + b.plane + (x0 - b.box.x0) * b.stride + (w0 - b.word0),
                          b.stride, cols, w1 - w0);
    } else {
      inter = intersection(spans.data() + a.spans, a.intervals, spans.data() + b.spans,
                           b.intervals, x0 * a.h, x1 * a.h);
    }
    if (inter == 0) return;
    const uint64_t uni = (iscrowd && iscrowd[g]) ? a.area : a.area + b.area - inter;
    o = static_cast<double>(inter) / static_cast<double>(uni);
  };

  // Tiles of consecutive detections whose data fit in cache together; with threads, the
  // ground truths are split too so that every thread gets a few tiles.
  std::vector<size_t> tiles{0};
  for (size_t d = 0, bytes = 0; d < m; ++d) {
    const Prepared& p = masks[d];
    const size_t b = 8 * (2 * p.intervals + (p.has_plane() ? size_t(p.plane_words()) : 0));
    if (d > tiles.back() && bytes + b > kTileBytes) {
      tiles.push_back(d);
      bytes = 0;
    }
    bytes += b;
  }
  tiles.push_back(m);
  const size_t dt_tiles = tiles.size() - 1;
  // About a nanosecond per interval a pair sweeps, or less by planes (16 per pair when the
  // average is not known).
  const uint64_t per_pair = 16 + counts / (m + n) / 4;
  const int threads = threads_for(cfg.threads, m * n * per_pair);
  const size_t gt_parts =
      threads > 1 ? std::min(n, (4 * size_t(threads) + dt_tiles - 1) / dt_tiles) : 1;
  parallel_for(dt_tiles * gt_parts, threads, [&](size_t t) {
    const size_t tile = t / gt_parts, part = t % gt_parts;
    const size_t g_begin = n * part / gt_parts, g_end = n * (part + 1) / gt_parts;
    for (size_t g = g_begin; g < g_end; ++g)
      for (size_t d = tiles[tile]; d < tiles[tile + 1]; ++d) pair(d, g);
  });
}

void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg) {
  iou_by(dt, gt, iscrowd, out, cfg, IouPath::kChoose);
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
