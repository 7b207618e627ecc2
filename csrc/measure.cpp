// Area and tight box of masks, from a batch or straight from COCO strings.
#include "batch_build.hpp"
#include "errors.hpp"
#include "runs.hpp"
#include "string_codec.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Estimated cost per count or character, for choosing threads.
constexpr uint64_t kNanosPerCount = 1, kNanosPerChar = 3;

// Area and box of one mask, fed one count at a time.
struct Measure {
  Measure(uint64_t h, bool with_box) : box(h), with_box(with_box) {}
  void operator()(count_t c) {
    area += (j++ & 1) ? c : 0;
    if (with_box) box.add(c);
  }
  uint64_t area = 0;
  size_t j = 0;
  BoxBuilder box;
  bool with_box;
};

}  // namespace

void area(BatchView b, uint64_t* out, const Config& cfg) {
  const int threads = threads_for(cfg.threads, b.n ? b.offsets[b.n] * kNanosPerCount / 2 : 0);
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) out[i] = area_of(b[i]);
  });
}

void bbox(BatchView b, double* out, const Config& cfg) {
  const int threads = threads_for(cfg.threads, b.n ? b.offsets[b.n] * kNanosPerCount : 0);
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) write_box(tight_box(b[i]), out + 4 * i);
  });
}

void measure_sources(const Source* sources, size_t n, uint64_t* area, double* bbox,
                     const Config& cfg) {
  uint64_t work = 0;
  for (size_t i = 0; i < n; ++i)
    work += sources[i].counts ? sources[i].m * kNanosPerCount : sources[i].len * kNanosPerChar;
  parallel_chunks(n, threads_for(cfg.threads, work), [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      const Source& s = sources[i];
      Measure measure(s.h, bbox != nullptr);
      naming("mask", i, [&] {
        if (s.counts) {
          check_counts(s.counts, s.m, s.h, s.w);
          for (size_t k = 0; k < s.m; ++k) measure(s.counts[k]);
        } else {
          measure = parse_counts(s.data, s.len, s.h, s.w, measure);
        }
      });
      if (area) area[i] = measure.area;
      if (bbox) write_box(measure.box.finish(), bbox + 4 * i);
    }
  });
}

}  // namespace turborle
