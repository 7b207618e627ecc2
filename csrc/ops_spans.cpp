// Column spans (spans.hpp): reading them from counts, writing counts back, the background
// around and inside the foreground's box, and connected components by union-find over the
// spans of neighbouring columns.
#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "spans.hpp"

namespace turborle {

void check_sides(uint64_t h, uint64_t w, const Config& cfg) {
  const uint64_t limit = std::min<uint64_t>(cfg.max_pixels, UINT32_MAX);
  if (h > limit || w > limit)
    throw std::invalid_argument("size " + std::to_string(h) + "x" + std::to_string(w) +
                                ": mask operations need each side to be at most " +
                                std::to_string(limit) + " (TURBORLE_MAX_PIXELS, 2^32 - 1)");
}

void read_columns(RleRef r, Columns& out) {
  out.reset(r.h, r.w, 0);
  // One walk over the foreground runs, cut at column boundaries (as for_each_piece, inline);
  // spans are written in place into room grown ahead, and each new column closes the ones
  // before it. The first span gives x0.
  const uint64_t h = r.h;
  const count_t* c = r.counts;
  const size_t m = r.m;
  std::vector<Span>& spans = out.spans;
  if (spans.size() < m / 2 + 1) spans.resize(m / 2 + 1);
  Span* sp = spans.data();
  size_t n = 0;
  uint64_t current = UINT64_MAX;  // column of the last span
  uint64_t pos = m ? c[0] : 0, x = 0, column = 0;
  auto put = [&](uint64_t a, uint64_t b) {  // the span [a, b) of column x
    if (x != current) {  // columns current .. x - 1 end here
      if (current == UINT64_MAX)
        out.x0 = x;
      else
        for (uint64_t k = current; k < x; ++k) out.start.push_back(n);
      current = x;
    }
    if (n == spans.size()) {
      spans.resize(2 * n);
      sp = spans.data();
    }
    sp[n].y0 = static_cast<uint32_t>(a - column);
    sp[n].y1 = static_cast<uint32_t>(b - column);
    ++n;
  };
  for (size_t j = 1; j < m && h; j += 2) {
    uint64_t a = pos;
    pos += c[j];
    const uint64_t b = pos;
    if (j + 1 < m) pos += c[j + 1];
    if (a == b) continue;
    if (a - column >= h) {  // a later column: the next one, or a jump
      if (a - column < 2 * h) {
        ++x;
        column += h;
      } else {
        x = a / h;
        column = x * h;
      }
    }
    // A run touching the span before it in its column (a zero-length background run
    // between them) extends that span.
    if (n && current == x && sp[n - 1].y1 == a - column) {
      const uint64_t e = std::min(b, column + h);
      sp[n - 1].y1 = static_cast<uint32_t>(e - column);
      a = e;
      if (a == b) continue;
      ++x;
      column += h;
    }
    while (b - column > h) {  // the run continues into the next column
      put(a, column + h);
      ++x;
      column += h;
      a = column;
    }
    put(a, b);
  }
  spans.resize(n);
  if (current != UINT64_MAX) out.start.push_back(n);
  if (n >= UINT32_MAX - 4) throw std::invalid_argument("mask has more than 2^32 - 6 column spans");
}

void write_columns(const Columns& c, Counts& out, bool flip_rows,
                   bool flip_columns) {
  CountsWriter writer(out);
  const uint64_t h = c.h, n = c.columns();
  for (uint64_t k = 0; k < n; ++k) {
    const uint64_t i = flip_columns ? n - 1 - k : k;
    const uint64_t x = c.x0 + i;
    const uint64_t base = (flip_columns ? c.w - 1 - x : x) * h;
    if (flip_rows) {
      for (const Span* s = c.end(i); s != c.begin(i);) {
        --s;
        writer.add(base + h - s->y1, base + h - s->y0);
      }
    } else {
      for (const Span* s = c.begin(i); s != c.end(i); ++s) writer.add(base + s->y0, base + s->y1);
    }
  }
  writer.finish(h * c.w);
}

void foreground_columns(RleRef r, uint64_t& x_begin, uint64_t& x_end) {
  uint64_t pos = 0, first = 0, last = 0;
  bool any = false;
  for (size_t j = 0; j < r.m; ++j) {
    if ((j & 1) && r.counts[j]) {
      if (!any) first = pos;
      any = true;
      last = pos + r.counts[j];
    }
    pos += r.counts[j];
  }
  x_begin = any ? first / r.h : 0;
  x_end = any ? (last - 1) / r.h + 1 : 0;
}

namespace {

using Label = Regions::Label;

// Slow paths of the labelling loop, kept out of it.
[[gnu::noinline]] Piece* grow(std::vector<Piece>& v) {
  v.resize(std::max<size_t>(64, 2 * v.size()));
  return v.data();
}
[[gnu::noinline]] Label* grow(std::vector<Label>& v) {
  v.resize(std::max<size_t>(64, 2 * v.size()));
  return v.data();
}

// Provisional labels are merged into sets whose root is their smallest label, so a parent
// is always smaller than its child.
inline uint32_t find(Label* labels, uint32_t l) {
  while (labels[l].parent != l) {
    labels[l].parent = labels[labels[l].parent].parent;  // path halving
    l = labels[l].parent;
  }
  return l;
}
inline uint32_t unite(Label* labels, uint32_t a, uint32_t b) {
  a = find(labels, a);
  b = find(labels, b);
  if (a < b) std::swap(a, b);
  labels[a].parent = b;
  return b;
}

inline uint32_t new_label(Regions& out, Label*& labels, uint64_t area, uint64_t first,
                          uint8_t border) {
  if (out.n_labels == out.labels.size()) labels = grow(out.labels);
  const uint32_t l = static_cast<uint32_t>(out.n_labels++);
  Label& label = labels[l];
  label.area = area;
  label.first = first;
  label.parent = l;
  label.border = border;
  return l;
}

// Labels the pieces of one value of r (1 foreground, 0 background) inside stream positions
// [from, to) in one walk over the counts: each run is cut at column boundaries, and each
// piece takes the label of the pieces of the previous column it touches (rows overlapping
// for 4-connectivity, also meeting at a corner for 8), merging theirs, or a new label. A
// pixel's left neighbour is h positions before it, so the previous column's pieces are
// compared shifted by h; they are sorted, so a pointer that only moves forward finds them.
// Background pieces of columns `first_column` / `last_column` also join the labels `left` /
// `right` (when not kNoLabel). kFirst: track each label's first pixel in row-major order.
template <bool kBackground, bool kFirst>
void label_pieces(RleRef r, uint64_t from, uint64_t to, int connectivity, Regions& out,
                  uint32_t left, uint64_t first_column, uint32_t right, uint64_t last_column) {
  const uint64_t h = r.h, w = r.w, reach = connectivity == 8 ? 1 : 0;
  const count_t* c = r.counts;
  const size_t m = r.m;
  Piece* pieces = out.pieces.data();
  Label* labels = out.labels.data();
  size_t n = 0, capacity = out.pieces.size();
  // Pieces of the current column start at column_begin; those of the previous column, when
  // it is the one just before, are [p, previous_end) (p moves forward as pieces pass it).
  size_t column_begin = 0, previous_end = 0, p = 0;
  uint64_t pos = 0;
  size_t j = 0;
  while (j < m && pos + c[j] <= from) pos += c[j++];  // runs before `from`
  if (j < m && (j & 1) != (kBackground ? 0u : 1u)) pos += c[j++];  // a run of the other value
  uint64_t x = h ? pos / h : 0, column = x * h, column_end = column + h;  // column of `pos`
  bool touching = false;  // two pieces of one column touch (a zero-length run between)
  for (; j < m && pos < to; j += 2) {
    uint64_t a = std::max(pos, from);
    pos += c[j];
    const uint64_t b = std::min(pos, to);
    if (j + 1 < m) pos += c[j + 1];
    if (a >= b) continue;
    if (a >= column_end) {  // a later column: the next one, or a jump past empty columns
      if (a - column_end < h) {
        ++x;
        column = column_end;
        column_end += h;
        p = column_begin;
      } else {
        x = a / h;
        column = x * h;
        column_end = column + h;
        p = n;
      }
      previous_end = column_begin = n;
    }
    for (;;) {  // the pieces of [a, b), one per column
      const uint64_t e = std::min(b, column_end);
      while (p < previous_end && pieces[p].end + h + reach <= a) ++p;
      // A piece touching the one before it in its column (a zero-length run of the other
      // value between them) is joined to it.
      uint32_t label = kNoLabel;
      if (n > column_begin && pieces[n - 1].end == a) {
        label = pieces[n - 1].label;
        touching = true;
      }
      for (size_t q = p; q < previous_end && pieces[q].begin + h < e + reach; ++q) {
        const uint32_t l = pieces[q].label;
        if (label == kNoLabel)
          label = l;
        else if (l != label)
          label = unite(labels, label, l);
      }
      if (kBackground) {  // regions touching the image's edge; the columns beside
        const uint8_t border = x == 0 || x + 1 == w || a == column || e == column_end;
        if (label == kNoLabel)
          label = new_label(out, labels, 0, 0, border);
        else
          labels[label].border |= border;
        if (left != kNoLabel && x == first_column) label = unite(labels, label, left);
        if (right != kNoLabel && x == last_column) label = unite(labels, label, right);
      } else if (kFirst) {  // the first pixel in row-major order
        const uint64_t first = ((a - column) << 32) | x;
        if (label == kNoLabel)
          label = new_label(out, labels, 0, first, 0);
        else if (first < labels[label].first)
          labels[label].first = first;
      } else if (label == kNoLabel) {
        label = new_label(out, labels, 0, 0, 0);
      }
      labels[label].area += e - a;
      if (n == capacity) {
        pieces = grow(out.pieces);
        capacity = out.pieces.size();
      }
      Piece& piece = pieces[n++];
      piece.begin = a;
      piece.end = e;
      piece.label = label;
      if (b <= column_end) break;
      ++x;  // the run goes on in the next column
      column = column_end;
      column_end += h;
      a = column;
      p = column_begin;
      previous_end = column_begin = n;
    }
  }
  out.n = n;
  out.touching = touching;
  if (n >= UINT32_MAX - 2 || out.n_labels >= UINT32_MAX - 2)
    throw std::invalid_argument("mask has more than 2^32 - 3 column pieces");
}

// Resolves the sets of labels: every label's parent becomes its root, the roots are
// numbered 0, 1, ... in order (their ids; every label gets its root's), and each root gathers
// its set's area, first pixel and border flag; then per component arrays are filled.
void finish_labels(Regions& out, bool with_first, bool with_border) {
  Label* labels = out.labels.data();
  uint32_t count = 0;
  for (uint32_t l = 0; l < out.n_labels; ++l) {
    Label& label = labels[l];
    const uint32_t root = labels[label.parent].parent;  // (smaller labels are already final)
    label.parent = root;
    if (root == l) {
      label.id = count++;
      continue;
    }
    Label& into = labels[root];
    label.id = into.id;
    into.area += label.area;
    if (label.first < into.first) into.first = label.first;
    into.border |= label.border;
  }
  out.count = count;
  out.area.resize(count);
  if (with_first) out.first.resize(count);
  if (with_border) out.border.resize(count);
  for (uint32_t l = 0; l < out.n_labels; ++l) {
    const Label& label = labels[l];
    if (label.parent != l) continue;
    out.area[label.id] = label.area;
    if (with_first) out.first[label.id] = label.first;
    if (with_border) out.border[label.id] = label.border;
  }
}

}  // namespace

void label_foreground(RleRef r, int connectivity, bool with_first, Regions& out) {
  out.n_labels = 0;
  out.side[0] = out.side[1] = kNoLabel;
  if (with_first)
    label_pieces<false, true>(r, 0, r.h * r.w, connectivity, out, kNoLabel, 0, kNoLabel, 0);
  else
    label_pieces<false, false>(r, 0, r.h * r.w, connectivity, out, kNoLabel, 0, kNoLabel, 0);
  finish_labels(out, with_first, false);
}

void label_background(RleRef r, int connectivity, uint64_t x_begin, uint64_t x_end,
                      Regions& out) {
  out.n_labels = 0;
  const uint64_t h = r.h, w = r.w;
  // The columns before and after: whole columns of background, each one region touching
  // the image's edge.
  Label* labels = out.labels.data();
  const uint32_t left = x_begin > 0 ? new_label(out, labels, x_begin * h, 0, 1) : kNoLabel;
  const uint32_t right = x_end < w && h > 0 ? new_label(out, labels, (w - x_end) * h, 0, 1) : kNoLabel;
  label_pieces<true, false>(r, x_begin * h, x_end * h, connectivity, out, left, x_begin,
                            right, x_end - 1);
  finish_labels(out, false, true);
  out.side[0] = left == kNoLabel ? kNoLabel : out.labels[left].id;
  out.side[1] = right == kNoLabel ? kNoLabel : out.labels[right].id;
}

void scipy_order_rank(const Regions& regions, std::vector<uint32_t>& rank) {
  std::vector<uint32_t> order(regions.count);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return regions.first[a] < regions.first[b]; });
  rank.resize(regions.count);
  for (uint32_t pos = 0; pos < regions.count; ++pos) rank[order[pos]] = pos;
}

}  // namespace turborle
