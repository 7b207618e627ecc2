// Connected components and what is built on them: every component as a mask, the largest
// one, hole filling, small-island removal and segment-anything's remove_small_regions.
//
// Each mask is read into column spans, its components (of the foreground, or of the
// background for holes) found by union-find over the spans of neighbouring columns, and the
// result written from the spans that are kept. Nothing is proportional to pixels.
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

// Reads mask i of b into spans after checking its size (errors name the mask).
void read_mask(BatchView b, size_t i, const Config& cfg, Columns& c) {
  const RleRef r = b[i];
  naming("mask", i, [&] { check_sides(r.h, r.w, cfg); });
  read_columns(r, c);
}

// Writes the spans of c whose component keep[] says to keep.
void write_kept(const Columns& c, const Components& comps, const std::vector<uint8_t>& keep,
                std::vector<count_t>& out) {
  CountsWriter writer(out);
  for (uint64_t x = 0; x < c.w; ++x) {
    const uint64_t base = x * c.h;
    for (uint64_t i = c.start[x]; i < c.start[x + 1]; ++i)
      if (keep[comps.label[i]]) writer.add(base + c.spans[i].y0, base + c.spans[i].y1);
  }
  writer.finish(c.h * c.w);
}

// Writes the complement of the background spans of bg whose component stays background
// (fill[] false): the foreground with the filled background regions added.
void write_filled(const Columns& bg, const Components& comps, const std::vector<uint8_t>& fill,
                  std::vector<count_t>& out) {
  CountsWriter writer(out);
  for (uint64_t x = 0; x < bg.w; ++x) {
    const uint64_t base = x * bg.h;
    uint64_t y = 0;
    for (uint64_t i = bg.start[x]; i < bg.start[x + 1]; ++i) {
      if (fill[comps.label[i]]) continue;
      writer.add(base + y, base + bg.spans[i].y0);
      y = bg.spans[i].y1;
    }
    writer.add(base + y, base + bg.h);
  }
  writer.finish(bg.h * bg.w);
}

// The component with the most pixels; among equals the one whose key is smallest.
uint32_t largest(const Components& comps, const std::vector<uint64_t>& key) {
  uint32_t best = 0;
  for (uint32_t k = 1; k < comps.count; ++k)
    if (comps.area[k] > comps.area[best] ||
        (comps.area[k] == comps.area[best] && key[k] < key[best]))
      best = k;
  return best;
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
    Columns c;
    Components comps;
    for (size_t i = begin; i < end; ++i) {
      read_mask(b, i, cfg, c);
      label_components(c, connectivity, comps);
      // Spans of each component, components in scipy's order, spans in stream order.
      const std::vector<uint32_t> rank = scipy_order_rank(comps);
      std::vector<uint32_t> first_member(comps.count + 1, 0);
      for (uint32_t k : comps.label) ++first_member[rank[k] + 1];
      for (uint32_t k = 0; k < comps.count; ++k) first_member[k + 1] += first_member[k];
      std::vector<uint32_t> members(c.spans.size());
      {
        std::vector<uint32_t> cursor(first_member.begin(), first_member.end() - 1);
        for (uint32_t s = 0; s < members.size(); ++s) members[cursor[rank[comps.label[s]]]++] = s;
      }
      const std::vector<uint32_t> xs = span_columns(c);
      for (uint32_t k = 0; k < comps.count; ++k) {
        CountsWriter writer(part.counts);
        for (uint32_t t = first_member[k]; t < first_member[k + 1]; ++t) {
          const uint32_t s = members[t];
          const uint64_t base = xs[s] * c.h;
          writer.add(base + c.spans[s].y0, base + c.spans[s].y1);
        }
        writer.finish(c.h * c.w);
        part.close(c.h, c.w);
      }
      owners[chunk].insert(owners[chunk].end(), comps.count, i);
    }
  });
  Batch out;
  owner.clear();
  size_t total = 0;
  for (const Batch& part : parts) total += part.counts.size();
  out.counts.reserve(total);
  for (size_t chunk = 0; chunk < parts.size(); ++chunk) {
    append(out, parts[chunk]);
    owner.insert(owner.end(), owners[chunk].begin(), owners[chunk].end());
  }
  return out;
}

Batch largest_component(BatchView b, int connectivity, const Config& cfg) {
  check_connectivity(connectivity);
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    Columns c;
    Components comps;
    read_mask(b, i, cfg, c);
    label_components(c, connectivity, comps);
    std::vector<uint8_t> keep(comps.count, 0);
    if (comps.count) keep[largest(comps, comps.first)] = 1;
    write_kept(c, comps, keep, out);
    h = c.h;
    w = c.w;
  });
}

Batch fill_holes(BatchView b, uint64_t max_area, int connectivity, const Config& cfg) {
  check_connectivity(connectivity);
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    Columns fg, bg;
    Components comps;
    read_mask(b, i, cfg, fg);
    complement_columns(fg, bg);
    label_components(bg, connectivity, comps);
    std::vector<uint8_t> fill(comps.count);
    for (uint32_t k = 0; k < comps.count; ++k)
      fill[k] = !comps.border[k] && comps.area[k] <= max_area;
    write_filled(bg, comps, fill, out);
    h = fg.h;
    w = fg.w;
  });
}

Batch remove_small_islands(BatchView b, uint64_t min_area, int connectivity,
                           const Config& cfg) {
  check_connectivity(connectivity);
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    Columns c;
    Components comps;
    read_mask(b, i, cfg, c);
    label_components(c, connectivity, comps);
    std::vector<uint8_t> keep(comps.count);
    for (uint32_t k = 0; k < comps.count; ++k) keep[k] = comps.area[k] >= min_area;
    write_kept(c, comps, keep, out);
    h = c.h;
    w = c.w;
  });
}

Batch remove_small_regions(BatchView b, uint64_t area_threshold, RegionMode mode,
                           uint8_t* changed, const Config& cfg) {
  Config run = cfg;
  run.threads = op_threads(b, cfg);
  return build_batch(b.n, run, [&](size_t i) { return b[i].m + 1; },
                     [&](size_t i, std::vector<count_t>& out, uint64_t& h, uint64_t& w) {
    Columns fg, bg;
    Components comps;
    read_mask(b, i, cfg, fg);
    h = fg.h;
    w = fg.w;
    if (mode == RegionMode::kHoles) complement_columns(fg, bg);
    const Columns& regions = mode == RegionMode::kHoles ? bg : fg;
    label_components(regions, 8, comps);
    std::vector<uint8_t> small(comps.count);
    bool any_small = false;
    for (uint32_t k = 0; k < comps.count; ++k) {
      small[k] = comps.area[k] < area_threshold;
      any_small = any_small || small[k];
    }
    changed[i] = any_small;
    if (mode == RegionMode::kHoles) {
      write_filled(bg, comps, small, out);  // (no small region: the mask as it was)
      return;
    }
    std::vector<uint8_t> keep(comps.count);
    bool any_kept = false;
    for (uint32_t k = 0; k < comps.count; ++k) {
      keep[k] = !small[k];
      any_kept = any_kept || keep[k];
    }
    if (!any_kept && comps.count) {
      // segment-anything keeps np.argmax(sizes): the first largest in OpenCV's label order.
      // OpenCV's default 8-connected labelling (Spaghetti) scans 2x2 blocks, so its labels
      // follow each component's first block in block-row-major order.
      std::vector<uint64_t> block(comps.count, UINT64_MAX);
      for (uint64_t x = 0; x < fg.w; ++x)
        for (uint64_t s = fg.start[x]; s < fg.start[x + 1]; ++s) {
          uint64_t& key = block[comps.label[s]];
          key = std::min(key, (uint64_t(fg.spans[s].y0 >> 1) << 32) | (x >> 1));
        }
      keep[largest(comps, block)] = 1;
    }
    write_kept(fg, comps, keep, out);
  });
}

}  // namespace turborle
