// turborle mask operations: new masks made from masks, working on runs.
//
// Plain C++17, no Python headers. Every function takes a batch (its counts trusted to keep
// the invariants of turborle.hpp), works on the spans of each column (spans.hpp) without
// ever decoding pixels, handles the masks of a batch in parallel and returns canonical
// counts. Time and memory are proportional to runs plus columns (plus rows for transpose
// and resize). A mask whose side exceeds cfg.max_pixels or 2^32 - 1 is refused with
// std::invalid_argument naming it, as is every bad parameter.
//
// The measuring operations (area, bbox, iou, merge, complement) are in turborle.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "turborle.hpp"

namespace turborle {

// ---- connected components -------------------------------------------------------------------

// Every 4- or 8-connected foreground component of every mask as its own mask; owner[k] is the
// index of the mask component k came from. Components of one mask follow each other, numbered
// in scipy.ndimage.label's order (by their first pixel in row-major order).
Batch connected_components(BatchView b, int connectivity, std::vector<uint64_t>& owner,
                           const Config& cfg);
// The largest component of each mask (the first in scipy's order among equals; empty masks
// stay empty).
Batch largest_component(BatchView b, int connectivity, const Config& cfg);
// Fills the background components (`connectivity`-connected) that do not touch the image
// border and have at most max_area pixels (scipy.ndimage.binary_fill_holes when max_area is
// UINT64_MAX).
Batch fill_holes(BatchView b, uint64_t max_area, int connectivity, const Config& cfg);
// Removes the foreground components with fewer than min_area pixels.
Batch remove_small_islands(BatchView b, uint64_t min_area, int connectivity,
                           const Config& cfg);

// segment-anything's remove_small_regions, bit for bit (8-connectivity, regions of fewer than
// area_threshold pixels are small):
//   kHoles: every small background region is filled, those touching the border included;
//   kIslands: every small foreground region is removed, except that when all are small the
//             largest is kept (the first in OpenCV's label order among equals).
// changed[i] (n bytes) says whether any small region was found in mask i.
enum class RegionMode { kHoles, kIslands };
Batch remove_small_regions(BatchView b, uint64_t area_threshold, RegionMode mode,
                           uint8_t* changed, const Config& cfg);

// ---- morphology -----------------------------------------------------------------------------

// Structuring elements of `size` x `size` pixels centred at index size / 2 (as scipy centres
// an even-sized structure): a full square; a cross (the centre row and column); a disk (odd
// sizes only: offsets with dx^2 + dy^2 <= r^2, r = size / 2, as skimage.morphology.disk(r)).
enum class Shape { kSquare, kCross, kDisk };
// scipy.ndimage.binary_dilation / binary_erosion / binary_opening / binary_closing with that
// structure and border_value 0 (outside the image is background).
enum class Morphology { kDilate, kErode, kOpen, kClose };
Batch morphology(BatchView b, Morphology op, Shape shape, uint64_t size, const Config& cfg);

// ---- geometry -------------------------------------------------------------------------------

// Crops mask i to boxes[4*i .. 4*i+4) = {x, y, width, height} (every mask to boxes[0..4) when
// !per_mask); parts of the box outside the image are cut off. A negative width or height, or
// a box of positive area that does not meet the image, is refused.
Batch crop(BatchView b, const int64_t* boxes, bool per_mask, const Config& cfg);
// Adds background rows and columns around every mask.
Batch pad(BatchView b, uint64_t top, uint64_t bottom, uint64_t left, uint64_t right,
          const Config& cfg);
// axis 0: rows reversed (upside down); axis 1: columns reversed (mirror).
Batch flip(BatchView b, int axis, const Config& cfg);
// Rows become columns: an (h, w) mask becomes (w, h), pixel (x, y) moves to (y, x).
Batch transpose(BatchView b, const Config& cfg);
// numpy.rot90(mask, k): k quarter turns counter-clockwise (any integer k).
Batch rot90(BatchView b, int64_t k, const Config& cfg);
// Every mask resampled to (h, w) as torch.nn.functional.interpolate(mode="nearest-exact"):
// output row y' reads input row min(floor((y' + 0.5) * (h_in / h)), h_in - 1), and the same
// for columns, rounded as torch's CPU kernels round it (two ways, chosen by h + w <= 128;
// ops_geometry.cpp). h and w must be positive and h * w at most cfg.max_pixels.
Batch resize(BatchView b, uint64_t h, uint64_t w, const Config& cfg);

// ---- polygons -------------------------------------------------------------------------------

// Rings along pixel edges, vertices at pixel corners (x, y) in 0..w, 0..h. Ring r has the
// vertices xy[2*ring_start[r] .. 2*ring_start[r+1]) (x, y pairs, not repeating the first);
// mask i has the rings mask_start[i] .. mask_start[i+1]).
struct Rings {
  std::vector<int64_t> xy;
  std::vector<uint64_t> ring_start{0};
  std::vector<uint64_t> mask_start{0};
};
// The boundary of every component of every mask: per component (scipy order for the given
// connectivity of the foreground), its outer ring (positive signed area: counter-clockwise
// with the y axis pointing up) and then its holes (negative area), each starting at its
// first vertex in row-major order. Vertices are corners only (no two consecutive edges are
// collinear). tolerance > 0 simplifies each ring (Douglas-Peucker, keeping at least 4
// vertices).
void to_rings(BatchView b, int connectivity, double tolerance, Rings& out, const Config& cfg);
// Rasterises rings with the even-odd rule at pixel centres: pixel (x, y) is foreground when a
// ray from (x + 0.5, y + 0.5) crosses the rings of its mask an odd number of times. Mask i
// has rings mask_start[i] .. mask_start[i+1]) of `xy` / ring_start (as Rings) and size
// (h[i], w[i]). Coordinates must be finite and within 1e8 of the origin. Exact inverse of
// to_rings with tolerance 0.
Batch from_rings(const double* xy, const uint64_t* ring_start, const uint64_t* mask_start,
                 size_t n, const uint64_t* h, const uint64_t* w, const Config& cfg);

}  // namespace turborle
