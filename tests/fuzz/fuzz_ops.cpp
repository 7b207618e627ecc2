// The mask operations (csrc/ops.hpp) on arbitrary valid masks and parameters, checked
// against naive computations on dense pixels: components (flood fill, numbered by first
// pixel in row-major order), the largest one, hole filling, small-island removal,
// segment-anything's small-region removal, morphology (every offset of the element), crop,
// pad, flips, transpose, rot90, resize (per output pixel) and the ring round trip. Bad
// parameters (negative or outside boxes, sizes past the limits, connectivity 5) must throw
// std::invalid_argument, never crash.
//
// Input: flags (1 byte), p0..p7 (8 parameter bytes), h (u8), w (u8), then counts, one byte
// each, split between the masks and fixed up to sum to h*w (zero bytes give zero-length
// runs, which every operation must handle).
//   flags bit 0:   two masks (else one);
//   flags bit 1:   8-connectivity (else 4);
//   flags bit 2:   "tall": h = h * 257 + 1 (long columns, counts up to 15555): checked
//                  only for validity and by identities, no dense oracle;
//   flags bit 3:   extreme parameters (crop boxes near +-2^63, padding past 2^62,
//                  resize past the pixel limit, element sizes up to 2^40).
//   p0: element shape (% 3) and size (>> 2, 1..63 %); p1: area threshold; p2..p5: crop box
//   (int8) / padding (% 4); p6: resize height; p7: resize width, rot90 k, flip axis.
// Sizes stay small (h, w < 256, h*w <= 4096 for the dense checks) so that every run is fast.
#include <algorithm>
#include <cmath>

#include "common.hpp"
#include "ops.hpp"

namespace {

using fuzz::count_t;
using turborle::Batch;
using turborle::Config;

// A dense mask, (x, y) at x*h + y.
struct Dense {
  uint64_t h = 0, w = 0;
  std::vector<uint8_t> px;
  uint8_t at(int64_t x, int64_t y) const {
    if (x < 0 || y < 0 || uint64_t(x) >= w || uint64_t(y) >= h) return 0;
    return px[uint64_t(x) * h + uint64_t(y)];
  }
};

Dense dense_of(const Batch& b, size_t i) {
  const turborle::RleRef r = b[i];
  return {r.h, r.w, fuzz::dense(r.counts, r.m, r.h * r.w)};
}

// Checks that mask i of out is valid canonical counts of pixels `want` (h x w).
void check_mask(const Batch& out, size_t i, const Dense& want) {
  CHECK(out.h[i] == want.h && out.w[i] == want.w);
  const turborle::RleRef r = out[i];
  const turborle::Counts counts(r.counts, r.counts + r.m);
  turborle::check_counts(r.counts, r.m, r.h, r.w);
  CHECK(counts == (want.h * want.w ? fuzz::counts_of(want.px) : turborle::Counts{0}));
}

void check_valid(const Batch& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const turborle::RleRef r = out[i];
    turborle::check_counts(r.counts, r.m, r.h, r.w);
    CHECK(fuzz::canonical(r.counts, r.m, r.h * r.w) == turborle::Counts(r.counts, r.counts + r.m));
  }
}

// Components of pixels equal to `value`, numbered by first pixel in row-major order.
std::vector<int> label(const Dense& m, uint8_t value, int connectivity, int& count) {
  std::vector<int> lab(m.px.size(), -1);
  count = 0;
  std::vector<std::pair<int64_t, int64_t>> stack;
  for (uint64_t y = 0; y < m.h; ++y)
    for (uint64_t x = 0; x < m.w; ++x) {
      if (m.px[x * m.h + y] != value || lab[x * m.h + y] >= 0) continue;
      lab[x * m.h + y] = count;
      stack.push_back({int64_t(x), int64_t(y)});
      while (!stack.empty()) {
        const auto [cx, cy] = stack.back();
        stack.pop_back();
        for (int dx = -1; dx <= 1; ++dx)
          for (int dy = -1; dy <= 1; ++dy) {
            if ((dx == 0 && dy == 0) || (connectivity == 4 && dx != 0 && dy != 0)) continue;
            const int64_t nx = cx + dx, ny = cy + dy;
            if (nx < 0 || ny < 0 || uint64_t(nx) >= m.w || uint64_t(ny) >= m.h) continue;
            const uint64_t k = uint64_t(nx) * m.h + uint64_t(ny);
            if (m.px[k] != value || lab[k] >= 0) continue;
            lab[k] = count;
            stack.push_back({nx, ny});
          }
      }
      ++count;
    }
  return lab;
}

// Offsets of the element: (dx, dy) for the s = 0..k-1 grid minus k/2.
std::vector<std::pair<int64_t, int64_t>> element(turborle::Shape shape, int64_t k) {
  std::vector<std::pair<int64_t, int64_t>> e;
  const int64_t c = k / 2;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const int64_t dy = i - c, dx = j - c;
      const bool in = shape == turborle::Shape::kSquare ? true
                      : shape == turborle::Shape::kCross ? (i == c || j == c)
                                                         : dx * dx + dy * dy <= c * c;
      if (in) e.push_back({dx, dy});
    }
  return e;
}

Dense morph(const Dense& m, bool dilate, const std::vector<std::pair<int64_t, int64_t>>& e) {
  Dense out{m.h, m.w, std::vector<uint8_t>(m.px.size())};
  for (uint64_t x = 0; x < m.w; ++x)
    for (uint64_t y = 0; y < m.h; ++y) {
      bool v = !dilate;
      for (const auto& [dx, dy] : e) {
        if (dilate) v = v || m.at(int64_t(x) - dx, int64_t(y) - dy);
        else v = v && m.at(int64_t(x) + dx, int64_t(y) + dy);
      }
      out.px[x * m.h + y] = v;
    }
  return out;
}

// torch's nearest-exact source index, the two roundings (see ops_geometry.cpp).
uint64_t nearest_exact(uint64_t in, uint64_t out, uint64_t dst, bool small) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  float index;
  if (small) {
    index = std::floor(static_cast<float>((double(dst) + 0.5) * double(scale)));
  } else {
    float real = std::fma(scale, static_cast<float>(dst) + 0.5f, -0.5f);
    if (real < 0) real = 0;
    index = std::floor(static_cast<float>(double(real) + 0.5));
  }
  return std::min<uint64_t>(static_cast<uint64_t>(index), in - 1);
}

template <class F>
bool rejects(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  uint8_t p[8];
  for (uint8_t& v : p) v = in.u8();
  uint64_t h = in.u8() % 65, w = in.u8() % 65;
  const bool tall = flags & 4, extreme = flags & 8;
  if (tall) h = h * 257 + 1;
  const size_t n = (flags & 1) ? 2 : 1;
  const int connectivity = (flags & 2) ? 8 : 4;
  const uint64_t total = h * w;
  std::vector<uint64_t> raw;
  while (!in.empty()) raw.push_back(in.u8() * (tall ? 61 : 1));
  Batch b;
  for (size_t i = 0; i < n; ++i) {
    const size_t begin = raw.size() * i / n, end = raw.size() * (i + 1) / n;
    uint64_t sum = 0;
    for (size_t j = begin; j < end && sum < total; ++j) {
      const count_t c = std::min<uint64_t>(raw[j], total - sum);
      b.counts.push_back(c);
      sum += c;
    }
    if (sum < total || begin == end) b.counts.push_back(total - sum);
    b.close(h, w);
  }
  Config cfg{turborle::Isa::kScalar, (flags & 16) ? 2 : 1};
  cfg.max_pixels = uint64_t(1) << 31;
  const bool oracle = !tall && total <= 4096;
  std::vector<Dense> masks;
  for (size_t i = 0; oracle && i < n; ++i) masks.push_back(dense_of(b, i));

  // ---- components ------------------------------------------------------------------------
  CHECK(rejects([&] { std::vector<uint64_t> o; turborle::connected_components(b, 5, o, cfg); }));
  std::vector<uint64_t> owner;
  const Batch comps = turborle::connected_components(b, connectivity, owner, cfg);
  check_valid(comps);
  CHECK(owner.size() == comps.size());
  const Batch largest = turborle::largest_component(b, connectivity, cfg);
  const uint64_t max_area = p[1] % 8 == 7 ? UINT64_MAX : p[1];
  const Batch filled = turborle::fill_holes(b, max_area, connectivity, cfg);
  const Batch islands = turborle::remove_small_islands(b, p[1], connectivity, cfg);
  std::vector<uint8_t> changed_h(n), changed_i(n);
  const Batch sam_h = turborle::remove_small_regions(b, p[1], turborle::RegionMode::kHoles, changed_h.data(), cfg);
  const Batch sam_i = turborle::remove_small_regions(b, p[1], turborle::RegionMode::kIslands, changed_i.data(), cfg);
  for (const Batch* out : {&largest, &filled, &islands, &sam_h, &sam_i}) {
    check_valid(*out);
    CHECK(out->size() == n);
  }
  if (oracle) {
    size_t next = 0;
    for (size_t i = 0; i < n; ++i) {
      const Dense& m = masks[i];
      int count = 0;
      const std::vector<int> lab = label(m, 1, connectivity, count);
      std::vector<uint64_t> area(count, 0);
      for (int l : lab)
        if (l >= 0) ++area[l];
      for (int k = 0; k < count; ++k, ++next) {
        CHECK(owner[next] == i);
        Dense want{m.h, m.w, std::vector<uint8_t>(m.px.size())};
        for (size_t q = 0; q < lab.size(); ++q) want.px[q] = lab[q] == k;
        check_mask(comps, next, want);
      }
      // largest: the first of the largest
      Dense want{m.h, m.w, std::vector<uint8_t>(m.px.size(), 0)};
      int best = -1;
      for (int k = 0; k < count; ++k)
        if (best < 0 || area[k] > area[best]) best = k;
      for (size_t q = 0; q < lab.size(); ++q) want.px[q] = best >= 0 && lab[q] == best;
      check_mask(largest, i, want);
      // islands
      for (size_t q = 0; q < lab.size(); ++q) want.px[q] = lab[q] >= 0 && area[lab[q]] >= p[1];
      check_mask(islands, i, want);
      // holes: background components off the border, small enough
      int holes = 0;
      const std::vector<int> bg = label(m, 0, connectivity, holes);
      std::vector<uint64_t> bg_area(holes, 0);
      std::vector<uint8_t> border(holes, 0);
      for (uint64_t x = 0; x < m.w; ++x)
        for (uint64_t y = 0; y < m.h; ++y) {
          const int l = bg[x * m.h + y];
          if (l < 0) continue;
          ++bg_area[l];
          if (x == 0 || y == 0 || x + 1 == m.w || y + 1 == m.h) border[l] = 1;
        }
      for (size_t q = 0; q < lab.size(); ++q)
        want.px[q] = m.px[q] || (!border[bg[q]] && bg_area[bg[q]] <= max_area);
      check_mask(filled, i, want);
      // segment-anything, holes: every small 8-connected background region filled
      int regions = 0;
      const std::vector<int> bg8 = label(m, 0, 8, regions);
      std::vector<uint64_t> bg8_area(regions, 0);
      for (int l : bg8)
        if (l >= 0) ++bg8_area[l];
      bool any = false;
      for (int k = 0; k < regions; ++k) any = any || bg8_area[k] < p[1];
      CHECK(changed_h[i] == any);
      for (size_t q = 0; q < lab.size(); ++q) want.px[q] = m.px[q] || bg8_area[bg8[q]] < p[1];
      check_mask(sam_h, i, want);
      // segment-anything, islands: small 8-connected regions removed; if all are small the
      // largest stays, the first by OpenCV's 2x2-block scan among equals
      const std::vector<int> fg8 = label(m, 1, 8, regions);
      std::vector<uint64_t> fg8_area(regions, 0);
      std::vector<uint64_t> block(regions, UINT64_MAX);
      for (uint64_t x = 0; x < m.w; ++x)
        for (uint64_t y = 0; y < m.h; ++y) {
          const int l = fg8[x * m.h + y];
          if (l < 0) continue;
          ++fg8_area[l];
          block[l] = std::min(block[l], ((y >> 1) << 32) | (x >> 1));
        }
      bool small = false, large = false;
      for (int k = 0; k < regions; ++k) (fg8_area[k] < p[1] ? small : large) = true;
      CHECK(changed_i[i] == small);
      int keep = -1;
      if (small && !large)
        for (int k = 0; k < regions; ++k)
          if (keep < 0 || fg8_area[k] > fg8_area[keep] ||
              (fg8_area[k] == fg8_area[keep] && block[k] < block[keep]))
            keep = k;
      for (size_t q = 0; q < lab.size(); ++q)
        want.px[q] = fg8[q] >= 0 && (keep >= 0 ? fg8[q] == keep : fg8_area[fg8[q]] >= p[1]);
      check_mask(sam_i, i, want);
    }
  }

  // ---- morphology ------------------------------------------------------------------------
  const turborle::Shape shape = static_cast<turborle::Shape>(p[0] % 3);
  uint64_t k = 1 + (p[0] >> 2) % 9;
  if (shape == turborle::Shape::kDisk) k |= 1;
  if (extreme) k = (p[0] & 1) ? (uint64_t(1) << 40) + 1 : 0;
  const turborle::Morphology ops[] = {turborle::Morphology::kDilate, turborle::Morphology::kErode,
                                      turborle::Morphology::kOpen, turborle::Morphology::kClose};
  if (k == 0) {
    CHECK(rejects([&] { turborle::morphology(b, ops[0], shape, k, cfg); }));
  } else {
    for (const turborle::Morphology op : ops) {
      const Batch out = turborle::morphology(b, op, shape, k, cfg);
      check_valid(out);
      if (!oracle || extreme) continue;
      const auto e = element(shape, int64_t(k));
      for (size_t i = 0; i < n; ++i) {
        Dense want;
        switch (op) {
          case turborle::Morphology::kDilate: want = morph(masks[i], true, e); break;
          case turborle::Morphology::kErode: want = morph(masks[i], false, e); break;
          case turborle::Morphology::kOpen: want = morph(morph(masks[i], false, e), true, e); break;
          case turborle::Morphology::kClose: want = morph(morph(masks[i], true, e), false, e); break;
        }
        check_mask(out, i, want);
      }
    }
  }
  CHECK(rejects([&] { turborle::morphology(b, ops[0], turborle::Shape::kDisk, 4, cfg); }));

  // ---- geometry --------------------------------------------------------------------------
  int64_t box[4] = {int8_t(p[2]), int8_t(p[3]), int8_t(p[4]), int8_t(p[5])};
  if (extreme) {
    box[0] = (p[2] & 1) ? INT64_MAX - (p[3] & 127) : INT64_MIN + p[3];
    box[2] = (p[4] & 1) ? INT64_MAX : p[4];
  }
  bool crop_ok = true;
  Batch cropped;
  try {
    cropped = turborle::crop(b, box, false, cfg);
  } catch (const std::invalid_argument&) {
    crop_ok = false;
  }
  const auto clamp = [](__int128 v, int64_t hi) { return int64_t(v < 0 ? 0 : v > hi ? hi : v); };
  const int64_t x0 = clamp(box[0], int64_t(w)), x1 = clamp((__int128)box[0] + box[2], int64_t(w));
  const int64_t y0 = clamp(box[1], int64_t(h)), y1 = clamp((__int128)box[1] + box[3], int64_t(h));
  const bool meets = box[2] >= 0 && box[3] >= 0 && ((x0 < x1 && y0 < y1) || box[2] == 0 || box[3] == 0);
  CHECK(crop_ok == meets);
  if (crop_ok) {
    check_valid(cropped);
    if (oracle)
      for (size_t i = 0; i < n; ++i) {
        Dense want{uint64_t(y1 - y0), uint64_t(x1 - x0), {}};
        for (int64_t x = x0; x < x1; ++x)
          for (int64_t y = y0; y < y1; ++y) want.px.push_back(masks[i].at(x, y));
        check_mask(cropped, i, want);
      }
  }
  const uint64_t pad[4] = {p[2] % 4u, p[3] % 4u, p[4] % 4u, p[5] % 4u};
  if (extreme) {
    CHECK(rejects([&] { turborle::pad(b, uint64_t(1) << 62, uint64_t(1) << 62, 0, 0, cfg); }));
    CHECK(rejects([&] { turborle::pad(b, 0, 0, uint64_t(1) << 32, 0, cfg); }));
  }
  const Batch padded = turborle::pad(b, pad[0], pad[1], pad[2], pad[3], cfg);
  check_valid(padded);
  const Batch flipped0 = turborle::flip(b, 0, cfg), flipped1 = turborle::flip(b, 1, cfg);
  const Batch transposed = turborle::transpose(b, cfg);
  const int64_t turns = int64_t(int8_t(p[7]));
  const Batch rotated = turborle::rot90(b, turns, cfg);
  for (const Batch* out : {&flipped0, &flipped1, &transposed, &rotated}) check_valid(*out);
  CHECK(fuzz::same_batch(turborle::transpose(transposed, cfg), turborle::rot90(b, 0, cfg)));
  CHECK(fuzz::same_batch(turborle::flip(flipped1, 1, cfg), turborle::rot90(b, 4, cfg)));
  CHECK(rejects([&] { turborle::flip(b, 2, cfg); }));
  if (oracle)
    for (size_t i = 0; i < n; ++i) {
      const Dense& m = masks[i];
      Dense pd{m.h + pad[0] + pad[1], m.w + pad[2] + pad[3], {}};
      for (uint64_t x = 0; x < pd.w; ++x)
        for (uint64_t y = 0; y < pd.h; ++y)
          pd.px.push_back(m.at(int64_t(x) - int64_t(pad[2]), int64_t(y) - int64_t(pad[0])));
      check_mask(padded, i, pd);
      Dense f0{m.h, m.w, {}}, f1{m.h, m.w, {}}, t{m.w, m.h, {}};
      for (uint64_t x = 0; x < m.w; ++x)
        for (uint64_t y = 0; y < m.h; ++y) {
          f0.px.push_back(m.at(int64_t(x), int64_t(m.h - 1 - y)));
          f1.px.push_back(m.at(int64_t(m.w - 1 - x), int64_t(y)));
        }
      for (uint64_t x = 0; x < m.h; ++x)
        for (uint64_t y = 0; y < m.w; ++y) t.px.push_back(m.at(int64_t(y), int64_t(x)));
      check_mask(flipped0, i, f0);
      check_mask(flipped1, i, f1);
      check_mask(transposed, i, t);
      // numpy.rot90(m, k): k = 1 is the transpose flipped upside down
      Dense r = m;
      for (int64_t q = 0; q < ((turns % 4) + 4) % 4; ++q) {
        Dense next{r.w, r.h, {}};
        for (uint64_t x = 0; x < next.w; ++x)
          for (uint64_t y = 0; y < next.h; ++y) next.px.push_back(r.at(int64_t(next.h - 1 - y), int64_t(x)));
        r = next;
      }
      check_mask(rotated, i, r);
    }
  // resize
  const uint64_t rh = 1 + p[6] % 40, rw = 1 + p[7] % 40;
  CHECK(rejects([&] { turborle::resize(b, 0, rw, cfg); }));
  CHECK(rejects([&] { turborle::resize(b, uint64_t(1) << 16, uint64_t(1) << 16, cfg); }));
  const Batch resized = turborle::resize(b, rh, rw, cfg);
  check_valid(resized);
  if (oracle)
    for (size_t i = 0; i < n; ++i) {
      const Dense& m = masks[i];
      Dense want{rh, rw, {}};
      const bool small = rh + rw <= 128;
      for (uint64_t x = 0; x < rw; ++x)
        for (uint64_t y = 0; y < rh; ++y)
          want.px.push_back(m.px.empty() ? 0 : m.at(int64_t(nearest_exact(m.w, rw, x, small)), int64_t(nearest_exact(m.h, rh, y, small))));
      check_mask(resized, i, want);
    }

  // ---- rings -----------------------------------------------------------------------------
  turborle::Rings rings;
  turborle::to_rings(b, connectivity, (p[1] & 3) == 3 ? 1.5 : 0.0, rings, cfg);
  CHECK(rings.mask_start.size() == n + 1 && rings.mask_start[n] + 1 == rings.ring_start.size());
  if ((p[1] & 3) != 3) {
    std::vector<double> xy(rings.xy.begin(), rings.xy.end());
    const Batch back = turborle::from_rings(xy.data(), rings.ring_start.data(), rings.mask_start.data(), n,
                                            b.h.data(), b.w.data(), cfg);
    CHECK(back.size() == n);
    for (size_t i = 0; i < n; ++i) {
      if (oracle) check_mask(back, i, masks[i]);
      CHECK(fuzz::counts_of(back, i) == fuzz::canonical(b[i].counts, b[i].m, b[i].h * b[i].w));
    }
  }
  return 0;
}
