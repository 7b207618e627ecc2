// Area and tight box of masks, from a batch or straight from COCO strings.
#include "batch_build.hpp"
#include "errors.hpp"
#include "runs.hpp"
#include "simd.hpp"
#include "string_codec.hpp"
#include "turborle.hpp"

namespace turborle {

namespace {

// Estimated cost per count or character, for choosing threads.
constexpr uint64_t kNanosPerCount = 1, kNanosPerChar = 3;

// Area and box of one mask, fed one count at a time (the reference path).
struct Measure {
  Measure(uint64_t h, bool with_box) : builder(h), with_box(with_box) {}
  void operator()(count_t c) {
    area += (j++ & 1) ? c : 0;
    if (with_box) builder.add(c);
  }
  uint64_t area = 0;
  size_t j = 0;
  BoxBuilder builder;
  Box box;
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
  const Kernels& k = kernels(cfg.isa);
  parallel_chunks(b.n, threads, [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      Box box;
      k.box(b[i], &box);
      write_box(box, out + 4 * i);
    }
  });
}

void measure_sources(const Source* sources, size_t n, uint64_t* area, double* bbox,
                     const Config& cfg) {
  uint64_t work = 0;
  for (size_t i = 0; i < n; ++i)
    work += sources[i].counts ? sources[i].m * kNanosPerCount : sources[i].len * kNanosPerChar;
  const Kernels& k = kernels(cfg.isa);
  parallel_chunks(n, threads_for(cfg.threads, work), [&](size_t begin, size_t end, size_t) {
    for (size_t i = begin; i < end; ++i) {
      const Source& s = sources[i];
      Measure measure(s.h, bbox != nullptr);
      naming("mask", i, [&] {
        if (s.counts) {
          check_counts(s.counts, s.m, s.h, s.w);
          for (size_t j = 0; j < s.m; ++j) measure(s.counts[j]);
          measure.box = measure.builder.finish();
          return;
        }
        check_size(s.h, s.w);
        Box box;
        if (k.measure(s.data, s.len, s.h, s.h * s.w, &measure.area, bbox ? &box : nullptr)) {
          measure.box = box;
          return;
        }
        // Something unusual: the reference parser reports the error (or reads long values).
        measure = parse_counts(s.data, s.len, s.h, s.w, Measure(s.h, bbox != nullptr));
        measure.box = measure.builder.finish();
      });
      if (area) area[i] = measure.area;
      if (bbox) write_box(measure.box, bbox + 4 * i);
    }
  });
}

}  // namespace turborle
