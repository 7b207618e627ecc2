// Polygons along pixel edges: tracing the boundary of every component into rings, and the
// even-odd fill that turns rings back into a mask.
//
// Tracing. Every boundary edge (a side of one or more pixels) has a direction that keeps the
// foreground on its right on screen (x right, y down), which gives outer rings a positive
// signed area and holes a negative one:
//   * the top of a span [y0, y1) of column x runs east from (x, y0), its bottom west from
//     (x + 1, y1);
//   * where columns x - 1 and x differ over rows [a, b), the line x runs south from (x, a)
//     (foreground on the left) or north from (x, b) (foreground on the right).
// Edges are sorted by their first vertex; each ring follows the edge that starts where the
// last one ended. A vertex where two foreground pixels touch only at a corner starts two
// edges: turning left joins the two pixels (8-connectivity), turning right separates them
// (4-connectivity). Only vertices where the direction changes are kept.
//
// Filling. For each column the rings' edges are cut by the line through the pixel centres
// x + 0.5 (an edge counts when one end is <= x + 0.5 and the other is not); a pixel is
// foreground when an odd number of cuts lie above its centre. Edges are swept column by
// column, so the work is the number of (column, edge) cuts, bounded before anything runs.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "ops.hpp"
#include "spans.hpp"

namespace turborle {

namespace {

enum Direction : uint8_t { kEast, kSouth, kWest, kNorth };  // clockwise on screen

inline uint64_t vertex(uint64_t x, uint64_t y) { return (x << 32) | y; }
inline int64_t vertex_x(uint64_t v) { return static_cast<int64_t>(v >> 32); }
inline int64_t vertex_y(uint64_t v) { return static_cast<int64_t>(v & 0xffffffffu); }

struct BoundaryEdge {
  uint64_t from, to;  // vertices
  uint64_t pixel;     // stream position of a foreground pixel it borders
  Direction dir;
};

// Every boundary edge of c.
void boundary_edges(const Columns& c, std::vector<BoundaryEdge>& edges) {
  edges.clear();
  edges.reserve(4 * c.spans.size());
  const uint64_t h = c.h;
  for (uint64_t x = c.x0; x <= c.x0 + c.columns() && c.columns(); ++x) {
    // Line x, between columns x - 1 and x: walk both columns' boundaries in row order,
    // tracking which of the two pixels is foreground.
    auto [a, ae] = x ? c.column(x - 1) : std::pair<const Span*, const Span*>{nullptr, nullptr};
    auto [b, be] = c.column(x);
    bool in_a = false, in_b = false;
    uint64_t from = 0;
    while (a != ae || b != be) {
      const uint64_t ya = a != ae ? (in_a ? a->y1 : a->y0) : UINT64_MAX;
      const uint64_t yb = b != be ? (in_b ? b->y1 : b->y0) : UINT64_MAX;
      const uint64_t y = std::min(ya, yb);
      if (in_a != in_b && y > from) {  // close the piece of rows [from, y)
        if (in_a)
          edges.push_back({vertex(x, from), vertex(x, y), (x - 1) * h + from, kSouth});
        else
          edges.push_back({vertex(x, y), vertex(x, from), x * h + from, kNorth});
      }
      if (ya == y) {
        if (in_a) ++a;
        in_a = !in_a;
      }
      if (yb == y) {
        if (in_b) ++b;
        in_b = !in_b;
      }
      from = y;
    }
    {
      const auto [first, last] = c.column(x);
      for (const Span* s = first; s != last; ++s) {
        const uint64_t pixel = x * h + s->y0;
        edges.push_back({vertex(x, s->y0), vertex(x + 1, s->y0), pixel, kEast});
        edges.push_back({vertex(x + 1, s->y1), vertex(x, s->y1), pixel, kWest});
      }
    }
  }
}

// Squared distance from p to the segment a-b.
double distance2(const int64_t* p, const int64_t* a, const int64_t* b) {
  const double ax = double(a[0]), ay = double(a[1]);
  const double dx = double(b[0]) - ax, dy = double(b[1]) - ay;
  const double px = double(p[0]) - ax, py = double(p[1]) - ay;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
  t = std::min(1.0, std::max(0.0, t));
  const double ex = px - t * dx, ey = py - t * dy;
  return ex * ex + ey * ey;
}

// Douglas-Peucker on the closed ring of n vertices at xy (pairs), in place; returns the
// number of vertices kept. Vertex 0 and the vertex farthest from it are always kept, and at
// least three vertices.
size_t simplify(int64_t* xy, size_t n, double tolerance) {
  if (n <= 3) return n;
  auto v = [&](size_t i) { return xy + 2 * (i % n); };
  size_t far = 0;
  double best = -1;
  for (size_t i = 1; i < n; ++i) {
    const double d = distance2(v(i), v(0), v(0));
    if (d > best) {
      best = d;
      far = i;
    }
  }
  std::vector<uint8_t> keep(n, 0);
  keep[0] = keep[far] = 1;
  const double limit = tolerance * tolerance;
  std::vector<std::pair<size_t, size_t>> stack = {{0, far}, {far, n}};  // chains, n = vertex 0
  while (!stack.empty()) {
    const auto [first, last] = stack.back();
    stack.pop_back();
    size_t split = 0;
    double worst = -1;
    for (size_t i = first + 1; i < last; ++i) {
      const double d = distance2(v(i), v(first), v(last));
      if (d > worst) {
        worst = d;
        split = i;
      }
    }
    if (worst > limit) {
      keep[split] = 1;
      stack.push_back({first, split});
      stack.push_back({split, last});
    }
  }
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) kept += keep[i];
  if (kept < 3) {  // a ring needs a third vertex: the one farthest from the two kept
    size_t split = 0;
    double worst = -1;
    for (size_t i = 1; i < n; ++i) {
      if (i == far) continue;
      const double d = distance2(v(i), v(0), v(far));
      if (d > worst) {
        worst = d;
        split = i;
      }
    }
    keep[split] = 1;
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i)
    if (keep[i]) {
      xy[2 * out] = xy[2 * i];
      xy[2 * out + 1] = xy[2 * i + 1];
      ++out;
    }
  return out;
}

// The rings of one mask, appended to out (ring_start grows; mask_start is the caller's).
void trace_mask(RleRef r, const Columns& c, int connectivity, double tolerance, Rings& out) {
  Regions regions;
  label_foreground(r, connectivity, true, regions);
  std::vector<uint32_t> rank;
  scipy_order_rank(regions, rank);
  std::vector<BoundaryEdge> edges;
  boundary_edges(c, edges);
  std::sort(edges.begin(), edges.end(), [](const BoundaryEdge& p, const BoundaryEdge& q) {
    return p.from < q.from || (p.from == q.from && p.dir < q.dir);
  });
  const size_t n = edges.size();
  // next[i]: the edge that follows edge i around its ring.
  std::vector<uint32_t> next(n);
  for (size_t i = 0; i < n; ++i) {
    const BoundaryEdge& p = edges[i];
    auto it = std::lower_bound(edges.begin(), edges.end(), p.to,
                               [](const BoundaryEdge& q, uint64_t v) { return q.from < v; });
    size_t j = static_cast<size_t>(it - edges.begin());
    if (j + 1 < n && edges[j + 1].from == p.to) {  // a corner shared by two pixels
      const Direction turn = static_cast<Direction>(connectivity == 8 ? (p.dir + 3) % 4 : (p.dir + 1) % 4);
      if (edges[j].dir != turn) ++j;
    }
    next[i] = static_cast<uint32_t>(j);
  }
  struct Ring {
    uint32_t component;  // rank in scipy's order
    bool hole;
    uint64_t first;  // first vertex in row-major order, as (y << 32) | x
    std::vector<int64_t> xy;
  };
  std::vector<Ring> rings;
  std::vector<uint8_t> seen(n, 0);
  for (size_t i0 = 0; i0 < n; ++i0) {
    if (seen[i0]) continue;
    Ring ring;
    {  // the component of the labelled piece that holds the ring's pixel
      const Piece* begin = regions.pieces.data();
      const Piece* it = std::upper_bound(begin, begin + regions.n, edges[i0].pixel,
                                         [](uint64_t v, const Piece& p) { return v < p.begin; });
      ring.component = rank[regions.component(static_cast<size_t>(it - begin) - 1)];
    }
    // Corners: vertices where the direction changes. Start after a corner so the walk ends
    // on the vertex it started from.
    size_t i = i0;
    Direction previous = edges[i0].dir;
    size_t j = next[i0];
    while (j != i0 && edges[j].dir == previous) j = next[j];
    // (a ring always turns, so j is the first edge after a corner, or i0 itself)
    const size_t start = edges[j].dir != previous ? j : i0;
    i = start;
    previous = edges[start].dir;
    std::vector<int64_t> xy;
    uint64_t first = UINT64_MAX;
    size_t at_first = 0;
    do {
      seen[i] = 1;
      const BoundaryEdge& p = edges[i];
      if (i == start || p.dir != previous) {
        const uint64_t key = (uint64_t(vertex_y(p.from)) << 32) | uint64_t(vertex_x(p.from));
        if (key < first) {
          first = key;
          at_first = xy.size() / 2;
        }
        xy.push_back(vertex_x(p.from));
        xy.push_back(vertex_y(p.from));
        previous = p.dir;
      }
      i = next[i];
    } while (i != start);
    // Start at the first vertex in row-major order. Its two edges go right and down (nothing
    // lies above it or left of it on its row); the ring turns the way of the first edge, so
    // that edge tells a hole (first edge down: negative signed area) from an outer ring.
    std::rotate(xy.begin(), xy.begin() + 2 * at_first, xy.end());
    ring.hole = xy[3] != xy[1];
    ring.first = first;
    ring.xy = std::move(xy);
    rings.push_back(std::move(ring));
  }
  std::sort(rings.begin(), rings.end(), [](const Ring& a, const Ring& b) {
    if (a.component != b.component) return a.component < b.component;
    if (a.hole != b.hole) return !a.hole;
    return a.first < b.first;
  });
  for (Ring& ring : rings) {
    size_t k = ring.xy.size() / 2;
    if (tolerance > 0) k = simplify(ring.xy.data(), k, tolerance);
    out.xy.insert(out.xy.end(), ring.xy.begin(), ring.xy.begin() + 2 * k);
    out.ring_start.push_back(out.xy.size() / 2);
  }
}

constexpr double kMaxCoordinate = 1e8;
// Cuts (column, edge) one mask's rings may make: about a second of work.
constexpr uint64_t kMaxCuts = uint64_t(1) << 28;

// Columns whose centre line x + 0.5 the edge a-b cuts: [first, last), clipped to [0, w).
void cut_columns(double xa, double xb, uint64_t w, uint64_t& first, uint64_t& last) {
  const double lo = std::min(xa, xb), hi = std::max(xa, xb);
  // lo <= x + 0.5 < hi
  const double f = std::ceil(lo - 0.5), l = std::ceil(hi - 0.5);
  const double wd = static_cast<double>(w);
  first = static_cast<uint64_t>(std::min(std::max(f, 0.0), wd));
  last = static_cast<uint64_t>(std::min(std::max(l, 0.0), wd));
}

struct Edge {
  double xa, ya, xb, yb;
  uint64_t first, last;  // columns cut
};

void fill_mask(const double* xy, const uint64_t* ring_start, uint64_t ring_begin,
               uint64_t ring_end, uint64_t h, uint64_t w, Counts& out) {
  std::vector<Edge> edges;
  uint64_t cuts = 0;
  for (uint64_t r = ring_begin; r < ring_end; ++r) {
    const uint64_t v0 = ring_start[r], v1 = ring_start[r + 1];
    for (uint64_t v = v0; v < v1; ++v) {
      const uint64_t u = v + 1 < v1 ? v + 1 : v0;
      Edge e{xy[2 * v], xy[2 * v + 1], xy[2 * u], xy[2 * u + 1], 0, 0};
      cut_columns(e.xa, e.xb, w, e.first, e.last);
      if (e.first >= e.last) continue;
      cuts += e.last - e.first;
      if (cuts > kMaxCuts)
        throw std::invalid_argument("polygons cut more than 2^28 (column, edge) pairs");
      edges.push_back(e);
    }
  }
  std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) { return a.first < b.first; });
  CountsWriter writer(out);
  std::vector<const Edge*> active;
  std::vector<uint64_t> rows;
  size_t next = 0;
  const double hd = static_cast<double>(h);
  for (uint64_t x = edges.empty() ? w : edges.front().first; x < w; ++x) {
    active.erase(std::remove_if(active.begin(), active.end(), [x](const Edge* e) { return e->last <= x; }),
                 active.end());
    while (next < edges.size() && edges[next].first == x) active.push_back(&edges[next++]);
    if (active.empty()) {
      if (next == edges.size()) break;
      x = edges[next].first - 1;  // jump to the next edge's first column
      continue;
    }
    // Row thresholds: pixel y lies below cut c when y >= floor(c - 0.5) + 1.
    rows.clear();
    const double center = static_cast<double>(x) + 0.5;
    for (const Edge* e : active) {
      const double c = e->ya + (center - e->xa) * (e->yb - e->ya) / (e->xb - e->xa);
      const double t = std::floor(c - 0.5) + 1;
      rows.push_back(static_cast<uint64_t>(std::min(std::max(t, 0.0), hd)));
    }
    std::sort(rows.begin(), rows.end());
    const uint64_t base = x * h;
    for (size_t t = 0; t + 1 < rows.size(); t += 2) writer.add(base + rows[t], base + rows[t + 1]);
  }
  writer.finish(h * w);
}

}  // namespace

void to_rings(BatchView b, int connectivity, double tolerance, Rings& out, const Config& cfg) {
  if (connectivity != 4 && connectivity != 8)
    throw std::invalid_argument("connectivity must be 4 or 8, got " + std::to_string(connectivity));
  if (!(tolerance >= 0) || !std::isfinite(tolerance))
    throw std::invalid_argument("tolerance must be a finite number >= 0");
  const int threads = op_threads(b, cfg);
  std::vector<Rings> parts(chunk_count(b.n, threads));
  std::vector<std::vector<uint64_t>> rings_per_mask(parts.size());
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t chunk) {
    Rings& part = parts[chunk];
    Columns c;
    for (size_t i = begin; i < end; ++i) {
      const RleRef r = b[i];
      naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
      read_columns(r, c);
      const size_t before = part.ring_start.size();
      trace_mask(r, c, connectivity, tolerance, part);
      rings_per_mask[chunk].push_back(part.ring_start.size() - before);
    }
  });
  out = Rings{};
  for (size_t chunk = 0; chunk < parts.size(); ++chunk) {
    const Rings& part = parts[chunk];
    const uint64_t base = out.xy.size() / 2;
    out.xy.insert(out.xy.end(), part.xy.begin(), part.xy.end());
    for (size_t r = 1; r < part.ring_start.size(); ++r) out.ring_start.push_back(base + part.ring_start[r]);
    for (uint64_t count : rings_per_mask[chunk]) out.mask_start.push_back(out.mask_start.back() + count);
  }
}

Batch from_rings(const double* xy, const uint64_t* ring_start, const uint64_t* mask_start,
                 size_t n, const uint64_t* h, const uint64_t* w, const Config& cfg) {
  // The index arrays (untrusted): both start at 0 and never decrease.
  if (mask_start[0] != 0 || ring_start[0] != 0)
    throw std::invalid_argument("ring and mask offsets must start at 0");
  for (size_t i = 0; i < n; ++i)
    if (mask_start[i + 1] < mask_start[i])
      throw std::invalid_argument("mask offsets decrease at mask " + std::to_string(i));
  const uint64_t rings = mask_start[n];
  for (uint64_t r = 0; r < rings; ++r)
    if (ring_start[r + 1] < ring_start[r])
      throw std::invalid_argument("ring offsets decrease at ring " + std::to_string(r));
  Config run = cfg;
  run.threads = n > 1 && ring_start[rings] >= 4096 ? cfg.threads : 1;
  return build_batch(n, run.threads, [&](size_t) { return size_t(0); },
                     [&](size_t i, Counts& out, uint64_t& oh, uint64_t& ow) {
    naming("mask", i, [&] {
      check_size(h[i], w[i]);
      check_sides(h[i], w[i], cfg);
      for (uint64_t v = 2 * ring_start[mask_start[i]]; v < 2 * ring_start[mask_start[i + 1]]; ++v)
        if (!(std::fabs(xy[v]) <= kMaxCoordinate))
          throw std::invalid_argument("polygon coordinate " + std::to_string(xy[v]) +
                                      " is not finite or beyond 1e8");
      fill_mask(xy, ring_start, mask_start[i], mask_start[i + 1], h[i], w[i], out);
    });
    oh = h[i];
    ow = w[i];
  });
}

}  // namespace turborle
