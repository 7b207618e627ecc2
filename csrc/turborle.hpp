// turborle core: COCO run-length encoding of binary masks.
//
// Plain C++17, no Python headers. Everything the bindings call is declared here.
//
// Rules of an RLE (the invariants every function below keeps or checks):
//   * A mask of height h and width w is scanned column-major: pixel (x, y) has linear
//     index x*h + y.
//   * counts alternate background / foreground run lengths and start with background; the
//     first count may be 0.
//   * counts sum to exactly h*w. Canonical form (what every producer here returns) has no
//     zero-length run except possibly the first; an empty (h*w == 0) mask is {0}.
//     Parsed input may hold zero-length runs (pycocotools accepts them); every operation
//     handles them.
//   * Counts, areas and sums are 64-bit: nothing wraps for masks of 2^32 pixels or more.
//
// Untrusted input (strings, uncompressed counts, sizes, polygon coordinates) is validated
// once, at the boundary, and rejected with an InputError (errors.hpp; a std::invalid_argument)
// that names the problem and carries the index of the mask and the byte offset. The hot loops
// after that trust the invariants.
//
// Threads come from one persistent pool (parallel.hpp); a call uses as many as its work pays
// for, at most Config::threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "simd.hpp"

namespace turborle {

// How a call may run: the vector instruction set, the most threads it may use, and the
// pixel limit. Chosen by the caller (the bindings read the environment); the core keeps no
// settings. The defaults here are the library's defaults.
struct Config {
  Isa isa = Isa::kScalar;
  int threads = 1;
  // Work or memory proportional to a mask's pixels (decoding, row-major fal text) is refused
  // above this many pixels per mask, before anything is allocated.
  uint64_t max_pixels = uint64_t(1) << 31;
};

// Throws (an InputError of kind kTooLarge, about mask `index`) unless h*w <= cfg.max_pixels.
void check_pixel_limit(uint64_t h, uint64_t w, const Config& cfg, size_t index);

using count_t = uint64_t;

// The allocator of count arrays. Resizing one does not zero it (whoever sizes an array of
// counts writes every one), and on Linux an array of 4 MiB or more is aligned to 2 MiB and
// advised to use transparent huge pages: fresh memory then costs a page fault per 2 MiB
// instead of per 4 KiB (parsing 10,000 COCO strings writes tens of MiB of counts). The
// last such array freed (up to 512 MiB) is kept for the next one of about its size.
void* allocate_counts(size_t bytes);
void free_counts(void* p, size_t bytes);

// From this size, count arrays and decode outputs (through the binding) are large arrays:
// 2 MiB aligned, advised to use huge pages, the last one freed kept for reuse.
constexpr size_t kLargeArrayBytes = size_t(4) << 20;

// Memory for decoded pixels (the binding hands it to numpy for large outputs): a block of
// at least `bytes`, 2 MiB aligned and advised to use huge pages, from std::aligned_alloc (so
// std::free and malloc_usable_size accept it). The last one freed (up to 512 MiB) is kept
// for the next decode of about its size, as for count arrays; free_pixels must be given the
// size it was allocated with. Throws std::bad_alloc.
void* allocate_pixels(size_t bytes);
void free_pixels(void* p, size_t bytes);

// Frees the arrays kept for reuse (count arrays and pixels).
void release_kept_memory();

template <class T>
struct CountAllocator {
  using value_type = T;
  CountAllocator() = default;
  template <class U>
  CountAllocator(const CountAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) { return static_cast<T*>(allocate_counts(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { free_counts(p, n * sizeof(T)); }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialised: no zeroing
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <class U>
  bool operator==(const CountAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const CountAllocator<U>&) const { return false; }
};

using Counts = std::vector<count_t, CountAllocator<count_t>>;

// Largest h*w accepted. Keeps every index and sum far from 64-bit overflow and lets a
// signed 64-bit delta of two counts always be exact.
constexpr uint64_t kMaxPixels = uint64_t(1) << 62;

// One mask, not owning its counts.
struct RleRef {
  uint64_t h = 0, w = 0;
  const count_t* counts = nullptr;
  size_t m = 0;
};

// A batch of masks in columnar form: mask i has size (h[i], w[i]) and counts
// counts[offsets[i] .. offsets[i+1]).
struct Batch {
  std::vector<uint64_t> h, w;
  std::vector<uint64_t> offsets{0};
  Counts counts;

  size_t size() const { return h.size(); }
  RleRef operator[](size_t i) const {
    return {h[i], w[i], counts.data() + offsets[i], size_t(offsets[i + 1] - offsets[i])};
  }
  // Appends a copy of one mask.
  void push(const RleRef& r) {
    counts.insert(counts.end(), r.counts, r.counts + r.m);
    close(r.h, r.w);
  }
  // Appends one mask whose counts were pushed onto `counts` since the last call.
  void close(uint64_t height, uint64_t width) {
    h.push_back(height);
    w.push_back(width);
    offsets.push_back(counts.size());
  }
};

// A non-owning view of a batch (so the bindings can hand over numpy arrays).
struct BatchView {
  size_t n = 0;
  const uint64_t* h = nullptr;
  const uint64_t* w = nullptr;
  const uint64_t* offsets = nullptr;  // n + 1 entries
  const count_t* counts = nullptr;

  BatchView() = default;
  BatchView(const Batch& b)  // NOLINT: a batch is usable wherever a view is
      : n(b.size()), h(b.h.data()), w(b.w.data()), offsets(b.offsets.data()),
        counts(b.counts.data()) {}
  RleRef operator[](size_t i) const {
    return {h[i], w[i], counts + offsets[i], size_t(offsets[i + 1] - offsets[i])};
  }
};

// ---- validation -------------------------------------------------------------------------

// Throws unless h*w <= kMaxPixels.
void check_size(uint64_t h, uint64_t w);
// Throws unless the counts sum to exactly h*w.
void check_counts(const count_t* counts, size_t m, uint64_t h, uint64_t w);
// Throws unless every mask of b has mask 0's size (`what` names the operation).
void check_one_size(BatchView b, const char* what);

// ---- compressed string codec --------------------------------------------------------------

// Exact length of the COCO string of `counts` (no terminator).
size_t string_length(const count_t* counts, size_t m);
// Writes exactly string_length(counts, m) bytes to `out`.
void write_string(const count_t* counts, size_t m, char* out);
// Parses a COCO string of a (h, w) mask, validates it completely (alphabet, complete
// groups, no 64-bit overflow, no negative count, counts sum to h*w) and appends the counts.
void parse_string(const char* s, size_t len, uint64_t h, uint64_t w,
                  Counts& out, Isa isa = Isa::kScalar);

// One mask to read: a compressed string (data, len) or, when counts is set, uncompressed
// counts; and the mask size.
struct Source {
  const char* data = nullptr;
  size_t len = 0;
  const count_t* counts = nullptr;
  size_t m = 0;
  uint64_t h = 0, w = 0;
};
// Validates and reads many masks into one batch. Messages name the mask index.
Batch read_sources(const Source* sources, size_t n, const Config& cfg);

// Builds a batch from columns given by the caller (untrusted): offsets start at 0, never
// decrease and end at m; every size is checked; every mask's counts sum to h*w.
Batch from_columns(const count_t* counts, size_t m, const uint64_t* offsets,
                   const uint64_t* h, const uint64_t* w, size_t n);
// The masks at `index` (each < b.n), in that order.
Batch take(BatchView b, const uint64_t* index, size_t k);
// Appends every mask of b to out.
void append(Batch& out, BatchView b);
// Serialises every mask of a batch: all strings back to back, string i at
// out[offsets[i] .. offsets[i+1]).
void write_strings(BatchView b, std::string& out, std::vector<size_t>& offsets,
                   const Config& cfg);

// ---- fal / Kaggle "start length" text ------------------------------------------------------

// Parses texts[i].data/len (untrusted) as the runs of an (h, w) mask, starts counted from
// `base` (0 or 1), flattened row-major (or column-major when !row_major). Strict: digits and
// whitespace only, an even number of tokens, lengths > 0, runs ascending and not overlapping
// (touching runs join), inside h*w. Messages name the mask, the run and the offset.
Batch read_fal(const Source* texts, size_t n, uint64_t base, bool row_major, const Config& cfg);
// The text of every mask: maximal runs, single spaces, "" for an empty mask.
void write_fal(BatchView b, uint64_t base, bool row_major, std::vector<std::string>& out,
               const Config& cfg);

// ---- encode / decode ----------------------------------------------------------------------

// n masks of h x w bytes; element (i, y, x) is at data[i*stride_n + y*stride_y + x*stride_x]
// (strides in bytes, may be any sign-free layout: Fortran, C, or a strided view).
// Nonzero bytes are foreground.
struct MaskView {
  const uint8_t* data = nullptr;
  uint64_t n = 0, h = 0, w = 0;
  int64_t stride_n = 0, stride_y = 0, stride_x = 0;
};
Batch encode(const MaskView& masks, const Config& cfg);

// Order of each decoded mask in the output buffer: column-major (pycocotools' layout) or
// row-major (numpy's default).
enum class Order { kColumnMajor, kRowMajor };
// Writes mask i to out + i*h*w (every mask of the batch must have the same size h x w).
// Every byte of the output is written (0 or 1).
void decode(BatchView b, uint8_t* out, Order order, const Config& cfg);

// ---- measurements ---------------------------------------------------------------------------

void area(BatchView b, uint64_t* out, const Config& cfg);
// Tight box of the foreground, {x, y, width, height}; {0, 0, 0, 0} for an empty mask.
void bbox(BatchView b, double* out, const Config& cfg);
// Area and/or tight box (either output may be null) straight from sources, validating them
// as read_sources does but storing no counts.
void measure_sources(const Source* sources, size_t n, uint64_t* area, double* bbox,
                     const Config& cfg);

// IoU of every pair, out[d*gt.n + g], with pycocotools' semantics: a crowd ground truth
// (iscrowd[g] != 0) uses intersection / area(dt); pairs whose boxes do not overlap are 0;
// pairs whose boxes overlap but whose sizes differ are -1; an empty intersection is 0.
// iscrowd may be null (no crowd).
void iou(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg);
// The same with the way each pair's intersection is counted forced (for the tests; iou()
// chooses per pair): kSweep always sweeps the runs, kPlanes uses bit planes for every pair of
// masks that have them.
enum class IouPath { kChoose, kSweep, kPlanes };
void iou_by(BatchView dt, BatchView gt, const uint8_t* iscrowd, double* out, const Config& cfg,
            IouPath path);
// The same for {x, y, w, h} boxes (pycocotools' bbIou, bit for bit).
void box_iou(const double* dt, size_t m, const double* gt, size_t n, const uint8_t* iscrowd,
             double* out);

// Difference is the first mask minus all the others.
enum class MergeOp { kUnion, kIntersection, kXor, kDifference };
// Merges every mask of the batch (all of one size, else InputError) into canonical
// counts. An empty batch gives a 0x0 mask with no counts.
Batch merge(BatchView b, MergeOp op, const Config& cfg);
// Every mask with foreground and background swapped (canonical counts).
Batch complement(BatchView b, const Config& cfg);

// ---- rasterisation (pycocotools' exact rules) ---------------------------------------------

// Polygon of k vertices (x0, y0, x1, y1, ...) rasterised on an h x w grid.
void polygon_counts(const double* xy, size_t k, uint64_t h, uint64_t w,
                    Counts& out);
// Box {x, y, width, height}, rasterised as the polygon of its corners.
void box_counts(const double* box, uint64_t h, uint64_t w, Counts& out);

// n polygons (polygon i has k[i] vertices at xy[i]) or n boxes (4 doubles each) on one grid.
Batch rasterize_polygons(const double* const* xy, const size_t* k, size_t n, uint64_t h,
                         uint64_t w);
Batch rasterize_boxes(const double* boxes, size_t n, uint64_t h, uint64_t w);

}  // namespace turborle
