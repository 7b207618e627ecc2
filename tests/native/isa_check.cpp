// Cross-check on arm64 (under qemu): every Isa the CPU reports gives the scalar results.
#include "turborle.hpp"
#include <cstdio>
#include <string>
#include <random>
using namespace turborle;
int main() {
  std::mt19937_64 rng(1);
  printf("detected: %s\n", isa_name(detect_isa()));
  int bad = 0;
  for (int t = 0; t < 300; ++t) {
    const uint64_t n = 1 + rng() % 4, h = rng() % 90, w = rng() % 150;
    const double density = (rng() % 100) / 100.0;
    std::vector<uint8_t> m(n * h * w);
    for (auto& v : m) v = (rng() % 1000) < density * 1000 ? uint8_t(1 + rng() % 255) : 0;
    for (int layout = 0; layout < 2; ++layout) {
      MaskView v = layout ? MaskView{m.data(), n, h, w, int64_t(h * w), 1, int64_t(h)}
                          : MaskView{m.data(), n, h, w, int64_t(h * w), int64_t(w), 1};
      Batch a = encode(v, Config{Isa::kScalar, 1});
      Batch b = encode(v, Config{detect_isa(), 3});
      if (a.counts != b.counts || a.offsets != b.offsets) ++bad;
      std::vector<uint8_t> da(n * h * w), db(n * h * w);
      for (Order o : {Order::kRowMajor, Order::kColumnMajor}) {
        decode(a, da.data(), o, Config{Isa::kScalar, 1});
        decode(a, db.data(), o, Config{detect_isa(), 2});
        if (da != db) ++bad;
      }
      // COCO strings: parse and measure through each kernel table.
      std::string text;
      std::vector<size_t> offsets;
      write_strings(a, text, offsets, Config{Isa::kScalar, 1});
      std::string text2;
      std::vector<size_t> offsets2;
      write_strings(a, text2, offsets2, Config{detect_isa(), 2});
      if (text2 != text || offsets2 != offsets) ++bad;
      std::vector<Source> sources(n);
      for (uint64_t i = 0; i < n; ++i) {
        sources[i].data = text.data() + offsets[i];
        sources[i].len = offsets[i + 1] - offsets[i];
        sources[i].h = h;
        sources[i].w = w;
      }
      Batch pa = read_sources(sources.data(), n, Config{Isa::kScalar, 1});
      Batch pb = read_sources(sources.data(), n, Config{detect_isa(), 2});
      if (pa.counts != a.counts || pb.counts != a.counts) ++bad;
      std::vector<uint64_t> aa(n), ab(n);
      std::vector<double> ba(4 * n), bb(4 * n);
      measure_sources(sources.data(), n, aa.data(), ba.data(), Config{Isa::kScalar, 1});
      measure_sources(sources.data(), n, ab.data(), bb.data(), Config{detect_isa(), 2});
      if (aa != ab || ba != bb) ++bad;
      // IoU by bit planes (the and_count kernel of each table).
      std::vector<double> ia(n * n), ib(n * n);
      iou_by(a, a, nullptr, ia.data(), Config{Isa::kScalar, 1}, IouPath::kPlanes);
      iou_by(a, a, nullptr, ib.data(), Config{detect_isa(), 2}, IouPath::kPlanes);
      if (ia != ib) ++bad;
    }
  }
  printf("mismatches: %d\n", bad);
  return bad != 0;
}
