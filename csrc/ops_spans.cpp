// Column spans (spans.hpp): reading them from counts, writing counts back, the background,
// and connected components by union-find over the spans of neighbouring columns.
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
  out.h = r.h;
  out.w = r.w;
  out.spans.clear();
  out.spans.reserve(r.m / 2 + 1);
  out.start.assign(r.w + 1, 0);
  uint64_t* count = out.start.data() + 1;
  for_each_span(r, [&](uint64_t x, uint32_t y0, uint32_t y1) {
    out.spans.push_back({y0, y1});
    ++count[x];
  });
  for (uint64_t x = 0; x < r.w; ++x) out.start[x + 1] += out.start[x];
  if (out.spans.size() >= UINT32_MAX)
    throw std::invalid_argument("mask has more than 2^32 - 2 column spans");
}

std::vector<uint32_t> span_columns(const Columns& c) {
  std::vector<uint32_t> xs(c.spans.size());
  for (uint64_t x = 0; x < c.w; ++x)
    std::fill(xs.begin() + c.start[x], xs.begin() + c.start[x + 1], static_cast<uint32_t>(x));
  return xs;
}

void write_columns(const Columns& c, std::vector<count_t>& out, bool flip_rows,
                   bool flip_columns) {
  CountsWriter writer(out);
  const uint64_t h = c.h;
  for (uint64_t k = 0; k < c.w; ++k) {
    const uint64_t x = flip_columns ? c.w - 1 - k : k;
    const uint64_t base = k * h;
    if (flip_rows) {
      for (const Span* s = c.end(x); s != c.begin(x);) {
        --s;
        writer.add(base + h - s->y1, base + h - s->y0);
      }
    } else {
      for (const Span* s = c.begin(x); s != c.end(x); ++s) writer.add(base + s->y0, base + s->y1);
    }
  }
  writer.finish(h * c.w);
}

void complement_columns(const Columns& c, Columns& out) {
  out.reset(c.h, c.w);
  out.spans.reserve(c.spans.size() + c.w);
  const uint32_t h = static_cast<uint32_t>(c.h);
  for (uint64_t x = 0; x < c.w; ++x) {
    uint32_t y = 0;
    for (const Span* s = c.begin(x); s != c.end(x); ++s) {
      if (s->y0 > y) out.spans.push_back({y, s->y0});
      y = s->y1;
    }
    if (y < h) out.spans.push_back({y, h});
    out.close_column();
  }
}

namespace {

// Disjoint sets of span indices; the root of a set is its smallest index.
class DisjointSets {
 public:
  explicit DisjointSets(size_t n) : parent_(n) { std::iota(parent_.begin(), parent_.end(), 0u); }
  uint32_t find(uint32_t i) {
    while (parent_[i] != i) {
      parent_[i] = parent_[parent_[i]];  // path halving
      i = parent_[i];
    }
    return i;
  }
  void unite(uint32_t a, uint32_t b) {
    a = find(a);
    b = find(b);
    if (a < b)
      parent_[b] = a;
    else if (b < a)
      parent_[a] = b;
  }

 private:
  std::vector<uint32_t> parent_;
};

}  // namespace

void label_components(const Columns& c, int connectivity, Components& out) {
  const size_t n = c.spans.size();
  const Span* s = c.spans.data();
  DisjointSets sets(n);
  // Spans of neighbouring columns touch when their rows overlap (4) or overlap or meet at a
  // corner (8). Both lists are sorted, so one merge-like walk finds every touching pair.
  const uint64_t reach = connectivity == 8 ? 1 : 0;
  for (uint64_t x = 1; x < c.w; ++x) {
    uint64_t i = c.start[x - 1], j = c.start[x];
    const uint64_t ie = c.start[x], je = c.start[x + 1];
    while (i < ie && j < je) {
      if (s[i].y0 < uint64_t(s[j].y1) + reach && s[j].y0 < uint64_t(s[i].y1) + reach)
        sets.unite(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
      if (s[i].y1 <= s[j].y1)
        ++i;
      else
        ++j;
    }
  }
  out.label.resize(n);
  out.count = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t root = sets.find(i);
    out.label[i] = root == i ? out.count++ : out.label[root];  // (root <= i: labelled)
  }
  out.area.assign(out.count, 0);
  out.first.assign(out.count, UINT64_MAX);
  out.border.assign(out.count, 0);
  for (uint64_t x = 0; x < c.w; ++x) {
    const bool edge_column = x == 0 || x + 1 == c.w;
    for (uint64_t i = c.start[x]; i < c.start[x + 1]; ++i) {
      const uint32_t k = out.label[i];
      out.area[k] += s[i].y1 - s[i].y0;
      out.first[k] = std::min(out.first[k], (uint64_t(s[i].y0) << 32) | x);
      if (edge_column || s[i].y0 == 0 || s[i].y1 == c.h) out.border[k] = 1;
    }
  }
}

std::vector<uint32_t> scipy_order_rank(const Components& comps) {
  std::vector<uint32_t> order(comps.count);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return comps.first[a] < comps.first[b]; });
  std::vector<uint32_t> rank(comps.count);
  for (uint32_t pos = 0; pos < comps.count; ++pos) rank[order[pos]] = pos;
  return rank;
}

}  // namespace turborle
