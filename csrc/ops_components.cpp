// Connected components and what is built on them: every component as a mask, the largest
// one, hole filling, small-island removal and segment-anything's remove_small_regions.
//
// One walk over a mask's counts cuts its runs at column boundaries and labels the pieces as
// they come (spans.hpp, Regions); a second pass writes the result from the pieces that are
// kept. Background regions are labelled only in the columns that hold foreground: the
// columns around them are all background, one region on each side. Nothing is proportional
// to pixels.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "ops.hpp"
#include "spans.hpp"

namespace turborle {

namespace {

void check_connectivity(int connectivity) {
  if (connectivity != 4 && connectivity != 8)
    throw std::invalid_argument("connectivity must be 4 or 8, got " +
                                std::to_string(connectivity));
}

struct Scratch {
  Regions regions;
  std::vector<uint8_t> flags, label_flags;
  std::vector<uint32_t> rank, first_member, members, cursor;
  std::vector<uint64_t> keys;
};

// Mask i of b, after checking its size (errors name the mask).
RleRef mask(BatchView b, size_t i, const Config& cfg) {
  const RleRef r = b[i];
  naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
  return r;
}

// Whether every value of v is `value`.
bool all_are(const std::vector<uint8_t>& v, uint8_t value) {
  for (uint8_t x : v)
    if (x != value) return false;
  return true;
}

// Appends the counts of r as they are, when they are canonical (no zero-length run but the
// first); returns whether it did.
bool copy_canonical(RleRef r, Counts& out) {
  if (r.m == 0) return false;  // (an empty mask may come without counts; canonical is {0})
  for (size_t j = 1; j < r.m; ++j)
    if (r.counts[j] == 0) return false;
  out.insert(out.end(), r.counts, r.counts + r.m);
  return true;
}

// flags[l] for every provisional label l: its component's keep[].
void label_flags(const Regions& regions, const std::vector<uint8_t>& keep,
                 std::vector<uint8_t>& flags) {
  flags.resize(regions.n_labels);
  for (size_t l = 0; l < regions.n_labels; ++l) flags[l] = keep[regions.labels[l].id];
}

// Writes the pieces whose component keep[] says to keep.
void write_kept(RleRef r, const Regions& regions, const std::vector<uint8_t>& keep,
                std::vector<uint8_t>& flags, Counts& out) {
  if (all_are(keep, 1) && copy_canonical(r, out)) return;  // nothing removed
  label_flags(regions, keep, flags);
  CountsWriter writer(out);
  const Piece* pieces = regions.pieces.data();
  for (size_t k = 0; k < regions.n; ++k)
    if (flags[pieces[k].label]) writer.add(pieces[k].begin, pieces[k].end);
  writer.finish(r.h * r.w);
}

// Writes the foreground with the background regions that fill[] selects added; the
// background was labelled in columns [x_begin, x_end).
void write_filled(RleRef r, uint64_t x_begin, uint64_t x_end, const Regions& bg,
                  const std::vector<uint8_t>& fill, std::vector<uint8_t>& flags,
                  Counts& out) {
  const uint64_t from = x_begin * r.h, to = x_end * r.h, total = r.h * r.w;
  auto filled = [&](uint32_t component) { return component != kNoLabel && fill[component]; };
  if (all_are(fill, 0) && copy_canonical(r, out)) return;  // nothing filled
  label_flags(bg, fill, flags);
  CountsWriter writer(out);
  if (filled(bg.side[0])) writer.add(0, from);
  uint64_t at = from;  // everything from here up to the next background that stays is foreground
  const Piece* pieces = bg.pieces.data();
  for (size_t k = 0; k < bg.n; ++k) {
    if (flags[pieces[k].label]) continue;
    writer.add(at, pieces[k].begin);
    at = pieces[k].end;
  }
  writer.add(at, to);
  if (filled(bg.side[1])) writer.add(to, total);
  writer.finish(total);
}

// The component with the most pixels (regions.count > 0); among equals the one with the
// smallest key, key_of(x, y) minimised over its pieces' first pixels. Keys are worked out
// only on a tie, and only for the tied components.
template <class KeyOf>
uint32_t largest(const Regions& regions, RleRef r, Scratch& s, KeyOf&& key_of) {
  const auto area = regions.area.begin();
  const uint64_t most = *std::max_element(area, area + regions.count);
  uint32_t best = static_cast<uint32_t>(std::find(area, area + regions.count, most) - area);
  if (std::count(area, area + regions.count, most) == 1) return best;
  s.keys.assign(regions.count, UINT64_MAX);
  for (size_t k = 0; k < regions.n; ++k) {
    const uint32_t c = regions.component(k);
    if (regions.area[c] != most) continue;
    const uint64_t begin = regions.pieces[k].begin, x = begin / r.h;
    s.keys[c] = std::min(s.keys[c], key_of(x, begin - x * r.h));
  }
  for (uint32_t k = best + 1; k < regions.count; ++k)
    if (regions.area[k] == most && s.keys[k] < s.keys[best]) best = k;
  return best;
}

template <class Fill>
Batch each_mask(BatchView b, const Config& cfg, Fill&& fill) {
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch_reusing<Scratch>(b.n, run, [&](size_t i) { return b[i].m + 1; },
                                      [&](size_t i, Scratch& s, Counts& out, uint64_t& h, uint64_t& w) {
    const RleRef r = mask(b, i, cfg);
    fill(i, r, s, out);
    h = r.h;
    w = r.w;
  });
}

}  // namespace

Batch connected_components(BatchView b, int connectivity, std::vector<uint64_t>& owner,
                           const Config& cfg) {
  check_connectivity(connectivity);
  const int threads = op_threads(b, cfg);
  std::vector<Batch> parts(chunk_count(b.n, threads));
  std::vector<std::vector<uint64_t>> owners(parts.size());
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t chunk) {
    Batch& part = parts[chunk];
    Scratch s;
    Regions& regions = s.regions;
    for (size_t i = begin; i < end; ++i) {
      const RleRef r = mask(b, i, cfg);
      label_foreground(r, connectivity, true, regions);
      // The pieces of each component, components in scipy's order, pieces in stream order:
      // members[first_member[k] .. first_member[k+1]) for the k-th component.
      const size_t n = regions.n;
      const Piece* pieces = regions.pieces.data();
      scipy_order_rank(regions, s.rank);
      s.first_member.assign(regions.count + 1, 0);
      for (size_t k = 0; k < n; ++k) ++s.first_member[s.rank[regions.component(k)] + 1];
      for (uint32_t k = 0; k < regions.count; ++k) s.first_member[k + 1] += s.first_member[k];
      s.members.resize(n);
      s.cursor.assign(s.first_member.begin(), s.first_member.end() - 1);
      for (uint32_t k = 0; k < n; ++k) s.members[s.cursor[s.rank[regions.component(k)]]++] = k;
      for (uint32_t k = 0; k < regions.count; ++k) {
        CountsWriter writer(part.counts);
        for (uint32_t t = s.first_member[k]; t < s.first_member[k + 1]; ++t)
          writer.add(pieces[s.members[t]].begin, pieces[s.members[t]].end);
        writer.finish(r.h * r.w);
        part.close(r.h, r.w);
      }
      owners[chunk].insert(owners[chunk].end(), regions.count, i);
    }
  });
  owner.clear();
  for (const auto& o : owners) owner.insert(owner.end(), o.begin(), o.end());
  return join_parts(parts, owner.size());
}

Batch largest_component(BatchView b, int connectivity, const Config& cfg) {
  check_connectivity(connectivity);
  return each_mask(b, cfg, [&](size_t, RleRef r, Scratch& s, Counts& out) {
    // Labelled without first pixels: only a tie for the largest area needs them (broken in
    // scipy's order, the first pixel in row-major order).
    label_foreground(r, connectivity, false, s.regions);
    uint32_t best = kNoLabel;
    if (s.regions.count)
      best = largest(s.regions, r, s, [](uint64_t x, uint64_t y) { return (y << 32) | x; });
    s.flags.assign(s.regions.count, 0);
    if (best != kNoLabel) s.flags[best] = 1;
    write_kept(r, s.regions, s.flags, s.label_flags, out);
  });
}

Batch fill_holes(BatchView b, uint64_t max_area, int connectivity, const Config& cfg) {
  check_connectivity(connectivity);
  return each_mask(b, cfg, [&](size_t, RleRef r, Scratch& s, Counts& out) {
    uint64_t x_begin, x_end;
    foreground_columns(r, x_begin, x_end);
    label_background(r, connectivity, x_begin, x_end, s.regions);
    s.flags.resize(s.regions.count);
    for (uint32_t k = 0; k < s.regions.count; ++k)
      s.flags[k] = !s.regions.border[k] && s.regions.area[k] <= max_area;
    write_filled(r, x_begin, x_end, s.regions, s.flags, s.label_flags, out);
  });
}

Batch remove_small_islands(BatchView b, uint64_t min_area, int connectivity,
                           const Config& cfg) {
  check_connectivity(connectivity);
  return each_mask(b, cfg, [&](size_t, RleRef r, Scratch& s, Counts& out) {
    label_foreground(r, connectivity, false, s.regions);
    s.flags.resize(s.regions.count);
    for (uint32_t k = 0; k < s.regions.count; ++k) s.flags[k] = s.regions.area[k] >= min_area;
    write_kept(r, s.regions, s.flags, s.label_flags, out);
  });
}

Batch remove_small_regions(BatchView b, uint64_t area_threshold, RegionMode mode,
                           uint8_t* changed, const Config& cfg) {
  return each_mask(b, cfg, [&](size_t i, RleRef r, Scratch& s, Counts& out) {
    Regions& regions = s.regions;
    uint64_t x_begin = 0, x_end = 0;
    if (mode == RegionMode::kHoles) {
      foreground_columns(r, x_begin, x_end);
      label_background(r, 8, x_begin, x_end, regions);
    } else {
      label_foreground(r, 8, false, regions);
    }
    std::vector<uint8_t>& small = s.flags;
    small.resize(regions.count);
    bool any_small = false;
    for (uint32_t k = 0; k < regions.count; ++k) {
      small[k] = regions.area[k] < area_threshold;
      any_small = any_small || small[k];
    }
    changed[i] = any_small;
    if (mode == RegionMode::kHoles) {
      write_filled(r, x_begin, x_end, regions, small, s.label_flags, out);  // (none small: as it was)
      return;
    }
    // Keep the regions that are not small; if none, the largest: segment-anything's
    // np.argmax(sizes), the first largest in OpenCV's label order. OpenCV's default
    // 8-connected labelling (Spaghetti) scans 2x2 blocks, so its labels follow each
    // component's first block in block-row-major order.
    std::vector<uint8_t>& keep = small;
    bool any_kept = false;
    for (uint32_t k = 0; k < regions.count; ++k) {
      keep[k] = !small[k];
      any_kept = any_kept || keep[k];
    }
    if (!any_kept && regions.count)
      keep[largest(regions, r, s, [](uint64_t x, uint64_t y) { return ((y >> 1) << 32) | (x >> 1); })] = 1;
    write_kept(r, regions, keep, s.label_flags, out);
  });
}

}  // namespace turborle
