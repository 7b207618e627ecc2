// Merging masks (union, intersection, xor, difference) and complements.
//
// Two algorithms, chosen per call by a cost model of the data (never by the SIMD level):
//   * a balanced tree of pairwise sweeps (over foreground intervals for union and
//     intersection, over run boundaries for the rest): cost ~ runs * log2(masks),
//     independent of the pixel count (two one-run 32768x32768 masks merge in microseconds);
//   * a bitmap painted stripe by stripe: every mask keeps a cursor into its runs, each stripe
//     (a few tens of KiB, so it stays in cache) gets the runs that reach it and is then
//     scanned for value changes. Cost ~ pixels / 64 + runs; memory is one stripe.
// Results are identical; the tests check both against dense numpy.
#include <algorithm>
#include <vector>

#include "batch_build.hpp"
#include "errors.hpp"
#include "portable.hpp"
#include "runs.hpp"
#include "spans.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Truth table of an operation on two pixels: bit (2*a + b) is the result for values a, b.
uint8_t truth_table(MergeOp op) {
  switch (op) {
    case MergeOp::kUnion: return 0b1110;
    case MergeOp::kIntersection: return 0b1000;
    case MergeOp::kXor: return 0b0110;
    default: return 0b0100;  // a and not b
  }
}

constexpr uint64_t kNone = ~uint64_t(0);

// The foreground intervals [s, e) of a mask, one at a time (empty runs skipped); s = e =
// kNone after the last.
struct Intervals {
  const count_t* c;
  size_t m, j = 0;
  uint64_t pos = 0, s = 0, e = 0;
  explicit Intervals(RleRef r) : c(r.counts), m(r.m) { next(); }
  void next() {
    while (j + 1 < m) {  // counts j (background) and j + 1 (foreground)
      s = pos + c[j];
      e = s + c[j + 1];
      pos = e;
      j += 2;
      if (e > s) return;
    }
    s = e = kNone;
  }
};

// Canonical counts from foreground intervals given in order of start, which may overlap (a
// union's): the open interval grows while the next one starts inside or right after it, and
// goes to CountsWriter once one starts past it.
class IntervalWriter {
 public:
  IntervalWriter(Counts& out, size_t room) : counts_(out, room) {}
  void add(uint64_t s, uint64_t e) {
    if (open_ && s <= ce_) {
      ce_ = std::max(ce_, e);
      return;
    }
    if (open_) counts_.add(cs_, ce_);
    cs_ = s;
    ce_ = e;
    open_ = true;
  }
  void finish(uint64_t total) {
    if (open_) counts_.add(cs_, ce_);
    counts_.finish(total);
  }

 private:
  CountsWriter counts_;
  uint64_t cs_ = 0, ce_ = 0;
  bool open_ = false;
};

// Union and intersection, the operations merges mostly are, as two-pointer walks over the
// foreground intervals: one comparison per interval, which along the alternating intervals
// of two outlines the branch predictor follows, where merge_two's general walk over every
// boundary costs several. Both write canonical counts, as merge_two does.
void union_two(RleRef a, RleRef b, Counts& out) {
  IntervalWriter w(out, a.m + b.m + 2);
  Intervals x(a), y(b);
  for (;;) {
    Intervals& p = x.s <= y.s ? x : y;
    if (p.s == kNone) break;
    w.add(p.s, p.e);
    p.next();
  }
  w.finish(a.h * a.w);
}

void intersection_two(RleRef a, RleRef b, Counts& out) {
  CountsWriter w(out, a.m + b.m + 2);  // (intersections never overlap)
  Intervals x(a), y(b);
  while (x.s != kNone && y.s != kNone) {
    const uint64_t s = std::max(x.s, y.s), e = std::min(x.e, y.e);
    if (s < e) w.add(s, e);
    if (x.e <= y.e)
      x.next();
    else
      y.next();
  }
  w.finish(a.h * a.w);
}

// Walks the run boundaries of two masks together and writes canonical counts of
// table(a, b). Zero-length runs are harmless: they toggle a value twice at one position.
// (Union and intersection go to their own walks above; this one serves every table.)
void merge_boundaries(RleRef a, RleRef b, uint8_t table, Counts& out) {
  const uint64_t total = a.h * a.w;
  // Each boundary of a or b toggles the output at most once: room for all of them, written
  // through a pointer, then cut to what was written.
  const size_t base = out.size();
  out.resize(base + a.m + b.m + 2);
  count_t* const first = out.data() + base;
  count_t* o = first;
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
      *o++ = at - previous_toggle;
      previous_toggle = at;
      value = v;
    }
  };
  if (total > 0) visit(0);  // the output may start with foreground (e.g. "not a")
  while (next_a < total || next_b < total) visit(std::min(next_a, next_b));
  *o++ = total - previous_toggle;
  out.resize(base + size_t(o - first));
}

void merge_two(RleRef a, RleRef b, uint8_t table, Counts& out) {
  if (table == 0b1110)
    union_two(a, b, out);
  else if (table == 0b1000)
    intersection_two(a, b, out);
  else
    merge_boundaries(a, b, table, out);
}


// Estimated costs (nanoseconds) for the choice of algorithm and threads.
constexpr uint64_t kNanosPerBoundaryStep = 3;  // one boundary through one merge_two
constexpr uint64_t kNanosPerPaintedRun = 3;    // one run painted into the stripe
constexpr uint64_t kNanosPerWord = 1;          // one bitmap word cleared and scanned

constexpr uint64_t kStripeWords = 4096;  // 32 KiB: 262,144 pixels per stripe

// Applies op(word, bits) to the words of `stripe` covering pixels [from, to) (relative to
// the stripe), bits selecting the pixels of the range in each word.
template <class Op>
void update_range(uint64_t* stripe, uint64_t from, uint64_t to, Op op) {
  if (from >= to) return;
  const uint64_t a = from >> 6, b = (to - 1) >> 6;
  const uint64_t lo = ~uint64_t(0) << (from & 63), hi = ~uint64_t(0) >> (63 - ((to - 1) & 63));
  if (a == b) {
    op(stripe[a], lo & hi);
    return;
  }
  op(stripe[a], lo);
  for (uint64_t k = a + 1; k < b; ++k) op(stripe[k], ~uint64_t(0));
  op(stripe[b], hi);
}

// Where a mask is in its runs while stripes are painted.
struct Cursor {
  RleRef r;
  size_t j = 0;      // current run
  uint64_t pos = 0;  // where run j starts
};

// Calls paint(from, to) (relative to the stripe start `base`) for every run of `value` that
// reaches [base, end), and leaves the cursor at the first run reaching past `end`.
template <class Paint>
void paint_stripe(Cursor& c, unsigned value, uint64_t base, uint64_t end, Paint&& paint) {
  while (c.j < c.r.m) {
    const uint64_t from = c.pos, to = c.pos + c.r.counts[c.j];
    if ((c.j & 1) == value && to > base && from < end)
      paint(std::max(from, base) - base, std::min(to, end) - base);
    if (to > end) return;  // reaches the next stripe: visit it again there
    c.pos = to;
    ++c.j;
  }
}

// Union: OR of every foreground run. Intersection: NOT of the OR of every background run.
// Xor: every foreground run flipped in. Difference: the first mask's foreground with the
// others' foreground cleared.
void merge_striped(BatchView b, MergeOp op, Counts& out) {
  const uint64_t total = b.h[0] * b.w[0];
  std::vector<Cursor> cursors(b.n);
  for (size_t i = 0; i < b.n; ++i) cursors[i].r = b[i];
  std::vector<uint64_t> stripe(kStripeWords);
  uint64_t* s = stripe.data();
  auto set = [s](uint64_t from, uint64_t to) {
    update_range(s, from, to, [](uint64_t& word, uint64_t bits) { word |= bits; });
  };
  auto flip = [s](uint64_t from, uint64_t to) {
    update_range(s, from, to, [](uint64_t& word, uint64_t bits) { word ^= bits; });
  };
  auto clear = [s](uint64_t from, uint64_t to) {
    update_range(s, from, to, [](uint64_t& word, uint64_t bits) { word &= ~bits; });
  };
  uint64_t previous_toggle = 0, carry = 0;
  for (uint64_t base = 0; base < total; base += kStripeWords * 64) {
    const uint64_t end = std::min(total, base + kStripeWords * 64);
    const uint64_t words = (end - base + 63) / 64;
    std::fill(s, s + words, 0);
    switch (op) {
      case MergeOp::kUnion:
        for (Cursor& c : cursors) paint_stripe(c, 1, base, end, set);
        break;
      case MergeOp::kIntersection:
        for (Cursor& c : cursors) paint_stripe(c, 0, base, end, set);
        for (uint64_t k = 0; k < words; ++k) s[k] = ~s[k];
        break;
      case MergeOp::kXor:
        for (Cursor& c : cursors) paint_stripe(c, 1, base, end, flip);
        break;
      case MergeOp::kDifference:
        paint_stripe(cursors[0], 1, base, end, set);
        for (size_t i = 1; i < b.n; ++i) paint_stripe(cursors[i], 1, base, end, clear);
        break;
    }
    if ((end - base) & 63) s[words - 1] &= ~uint64_t(0) >> (64 - ((end - base) & 63));
    for (uint64_t k = 0; k < words; ++k) {
      const uint64_t word = s[k];
      for (uint64_t t = word ^ ((word << 1) | carry); t; t &= t - 1) {
        const uint64_t at = base + k * 64 + ctz64(t);
        out.push_back(at - previous_toggle);
        previous_toggle = at;
      }
      carry = word >> 63;
    }
    // The last word of a partial stripe only occurs at the end of the mask, so the carry
    // from its unused high bits is never read.
  }
  // Foreground reaching the end gives a toggle at `total` (seen when total is not a multiple
  // of 64): the run before it is then already the last count.
  if (previous_toggle != total || out.empty()) out.push_back(total - previous_toggle);
}

// The pairwise tree. Difference is the first mask minus the union of the others.
void merge_tree(BatchView b, MergeOp op, int threads, Counts& out) {
  const uint64_t h = b.h[0], w = b.w[0];
  const bool difference = op == MergeOp::kDifference;
  const uint8_t table = truth_table(difference ? MergeOp::kUnion : op);
  auto ref = [&](const Counts& c) { return RleRef{h, w, c.data(), c.size()}; };
  // The first round reads the batch in place; later rounds their own results.
  const size_t first = difference ? 1 : 0, inputs = b.n - first;
  if (inputs == 1) {  // difference of two masks
    merge_two(b[0], b[1], truth_table(MergeOp::kDifference), out);
    return;
  }
  std::vector<Counts> level((inputs + 1) / 2);
  parallel_for(level.size(), level.size() > 1 ? threads : 1, [&](size_t i) {
    const size_t a = first + 2 * i;
    if (a + 1 < b.n)
      merge_two(b[a], b[a + 1], table, level[i]);
    else
      level[i].assign(b[a].counts, b[a].counts + b[a].m);
  });
  while (level.size() > 1) {
    std::vector<Counts> next((level.size() + 1) / 2);
    parallel_for(next.size(), next.size() > 1 ? threads : 1, [&](size_t i) {
      if (2 * i + 1 < level.size())
        merge_two(ref(level[2 * i]), ref(level[2 * i + 1]), table, next[i]);
      else
        next[i] = std::move(level[2 * i]);
    });
    level.swap(next);
  }
  if (difference)
    merge_two(b[0], ref(level[0]), truth_table(MergeOp::kDifference), out);
  else
    out = std::move(level[0]);
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
  uint64_t runs = 0;
  for (size_t i = 0; i < b.n; ++i) runs += b[i].m;
  uint64_t depth = 0;
  while ((uint64_t(1) << depth) < b.n) ++depth;
  const uint64_t tree = runs * depth * kNanosPerBoundaryStep;
  const uint64_t striped = (h * w / 64) * kNanosPerWord + runs * kNanosPerPaintedRun;
  if (striped < tree)
    merge_striped(b, op, out.counts);
  else
    merge_tree(b, op, threads_for(cfg.threads, tree), out.counts);
  out.close(h, w);
  return out;
}

Batch complement(BatchView b, const Config& cfg) {
  const uint64_t counts = b.n ? b.offsets[b.n] : 0;
  const int threads = threads_for(cfg.threads, counts * kNanosPerBoundaryStep);
  return build_batch(b.n, threads, [&](size_t i) { return b[i].m + 1; }, [&](size_t i, Counts& out, uint64_t& h, uint64_t& w) {
    const RleRef r = b[i];
    h = r.h;
    w = r.w;
    const count_t empty[1] = {r.h * r.w};
    merge_two(r, RleRef{r.h, r.w, empty, 1}, 0b0011, out);  // not a (canonical)
  });
}

}  // namespace turborle
