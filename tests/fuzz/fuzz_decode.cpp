// Decode with arbitrary sizes, then everything that has a dense oracle: encode of the
// decoded bytes in every layout (Fortran, C, strided, non-binary values), area, bbox,
// merge (all four operations), complement and IoU (every counting path), each with the scalar reference and the
// best vector path, compared with the obvious computation on the dense masks.
//
// Input: flags (1 byte), n-1 (1 byte, n = 1..4), h (u16), w (u16), then counts, one byte
// each (two with flags bit 1), split evenly between the n masks.
//   flags bit 0: fix the counts up to sum to h*w (most inputs valid); else they are used
//                as they are (decode must reject a bad sum, never read or write past);
//   flags bit 2: 2 threads;
//   flags bit 3: a degenerate size: h = 2^40 + (h field) and w = 0, or h = 0 (bit 4).
// Sizes are bounded (h*w <= 2^16 pixels) so that every run stays fast.
#include <algorithm>

#include "common.hpp"
#include "simd.hpp"

namespace {

using fuzz::count_t;
constexpr uint64_t kMaxPixels = uint64_t(1) << 16;

struct IntBox {
  uint64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // [x0, x1) x [y0, y1); empty when x1 == 0
};

IntBox dense_box(const std::vector<uint8_t>& m, uint64_t h, uint64_t w) {
  IntBox b;
  bool any = false;
  for (uint64_t x = 0; x < w; ++x)
    for (uint64_t y = 0; y < h; ++y)
      if (m[x * h + y]) {
        if (!any) {
          b = {x, y, x + 1, y + 1};
          any = true;
        }
        b.x0 = std::min(b.x0, x);
        b.y0 = std::min(b.y0, y);
        b.x1 = std::max(b.x1, x + 1);
        b.y1 = std::max(b.y1, y + 1);
      }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  const size_t n = 1 + (in.u8() & 3);
  uint64_t h = in.u16(), w = in.u16();
  if (flags & 8) {
    if (flags & 16)
      h = 0;
    else
      h += uint64_t(1) << 40;
    w = 0;
  } else if (h * w > kMaxPixels) {
    w = kMaxPixels / std::max<uint64_t>(h, 1);
  }
  const uint64_t total = h * w;
  const int threads = (flags & 4) ? 2 : 1;
  const size_t width = (flags & 2) ? 2 : 1;

  std::vector<uint64_t> raw;
  while (!in.empty()) raw.push_back(in.take(width));
  turborle::Batch b;
  bool valid = true;
  for (size_t i = 0; i < n; ++i) {
    const size_t begin = raw.size() * i / n, end = raw.size() * (i + 1) / n;
    unsigned __int128 sum = 0;
    for (size_t j = begin; j < end; ++j) {
      count_t c = raw[j];
      if ((flags & 1) && sum + c > total) break;
      sum += c;
      b.counts.push_back(c);
    }
    if ((flags & 1) && (sum < total || begin == end)) {
      b.counts.push_back(static_cast<count_t>(total - sum));
      sum = total;
    }
    valid = valid && sum == total;
    b.close(h, w);
  }

  std::vector<uint8_t> out(n * total + 64, 0xcd);  // 64 guard bytes
  for (const turborle::Order order : {turborle::Order::kColumnMajor, turborle::Order::kRowMajor}) {
    for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
      std::fill(out.begin(), out.end(), 0xcd);
      bool ok = true;
      try {
        turborle::decode(b, out.data(), order, cfg);
      } catch (const std::invalid_argument&) {
        ok = false;
      }
      CHECK(ok == valid);
      for (size_t i = n * total; i < out.size(); ++i) CHECK(out[i] == 0xcd);
      if (!ok) continue;
      for (size_t i = 0; i < n; ++i) {
        const turborle::RleRef r = b[i];
        const std::vector<uint8_t> ref = fuzz::dense(r.counts, r.m, total);
        const uint8_t* got = out.data() + i * total;
        for (uint64_t x = 0; x < w; ++x)
          for (uint64_t y = 0; y < h; ++y) {
            const uint64_t at = order == turborle::Order::kColumnMajor ? x * h + y : y * w + x;
            CHECK(got[at] == ref[x * h + y]);
          }
      }
    }
  }
  if (!valid) return 0;

  // The streaming kernels (used by decode only for outputs of 16 MiB and more) on these
  // small masks directly, at an offset from a cache line that the input chooses.
  const size_t offset = (flags >> 5) * 9 + (h & 7);
  for (turborle::Isa isa : fuzz::isas()) {
    const turborle::Kernels& k = turborle::kernels(isa);
    if (!k.decode_stream) continue;
    for (size_t i = 0; i < n; ++i) {
      const turborle::RleRef r = b[i];
      const std::vector<uint8_t> ref = fuzz::dense(r.counts, r.m, total);
      for (const bool rows : {false, true}) {
        if (rows && !(h > 1 && w > 1)) continue;
        std::vector<uint8_t> buffer(total + 256, 0xcd);
        uint8_t* at = buffer.data() + (-reinterpret_cast<uintptr_t>(buffer.data()) & 63) + offset;
        k.decode_stream(r, at, rows);
        for (uint8_t* p = buffer.data(); p < at; ++p) CHECK(*p == 0xcd);
        for (uint8_t* p = at + total; p < buffer.data() + buffer.size(); ++p) CHECK(*p == 0xcd);
        for (uint64_t x = 0; x < w; ++x)
          for (uint64_t y = 0; y < h; ++y) CHECK(at[rows ? y * w + x : x * h + y] == ref[x * h + y]);
      }
    }
  }
#ifndef FUZZ_SKIP_NULL_OUT
  // Nothing to write: a null output buffer is valid (findings.md, finding 1).
  if (n * total == 0) turborle::decode(b, nullptr, turborle::Order::kColumnMajor, fuzz::scalar_config());
#endif

  // Dense references and canonical counts.
  std::vector<std::vector<uint8_t>> masks;
  std::vector<turborle::Counts> canon;
  for (size_t i = 0; i < n; ++i) {
    const turborle::RleRef r = b[i];
    masks.push_back(fuzz::dense(r.counts, r.m, total));
    canon.push_back(fuzz::canonical(r.counts, r.m, total));
  }
  // Non-binary foreground values: every nonzero byte is foreground.
  const uint8_t fg_value = static_cast<uint8_t>(flags | 1) == 1 ? 0x80 : static_cast<uint8_t>(flags | 1);

  // encode in four layouts: Fortran (n, w, h), C (n, h, w), C with padded rows, and the
  // C buffer read transposed (stride_x != 1, stride_y != 1 -> the tile path).
  if (total > 0) {
    const uint64_t pad = 3;
    std::vector<uint8_t> fortran(n * total), c_order(n * total), padded(n * h * (w + pad), 0x55);
    for (size_t i = 0; i < n; ++i)
      for (uint64_t x = 0; x < w; ++x)
        for (uint64_t y = 0; y < h; ++y) {
          const uint8_t v = masks[i][x * h + y] ? fg_value : 0;
          fortran[i * total + x * h + y] = v;
          c_order[i * total + y * w + x] = v;
          padded[i * h * (w + pad) + y * (w + pad) + x] = v;
        }
    const int64_t T = static_cast<int64_t>(total), H = static_cast<int64_t>(h),
                  W = static_cast<int64_t>(w), P = static_cast<int64_t>(w + pad);
    const turborle::MaskView views[] = {
        {fortran.data(), n, h, w, T, 1, H},
        {c_order.data(), n, h, w, T, W, 1},
        {padded.data(), n, h, w, H * P, P, 1},
    };
    for (const turborle::MaskView& v : views)
      for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
        const turborle::Batch e = turborle::encode(v, cfg);
        CHECK(e.size() == n);
        for (size_t i = 0; i < n; ++i) {
          CHECK(e.h[i] == h && e.w[i] == w);
          CHECK(fuzz::counts_of(e, i) == canon[i]);
        }
      }
    // A general strided view: x stride 2 over a buffer twice as wide, y stride 2w.
    std::vector<uint8_t> wide(n * total * 2, 0x77);
    for (size_t i = 0; i < n; ++i)
      for (uint64_t x = 0; x < w; ++x)
        for (uint64_t y = 0; y < h; ++y)
          wide[i * 2 * total + y * 2 * w + 2 * x] = masks[i][x * h + y] ? fg_value : 0;
    const turborle::MaskView strided{wide.data(), n, h, w, 2 * T, 2 * W, 2};
    for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
      const turborle::Batch e = turborle::encode(strided, cfg);
      for (size_t i = 0; i < n; ++i) CHECK(fuzz::counts_of(e, i) == canon[i]);
    }
  } else {
    const turborle::MaskView empty{nullptr, n, h, w, 0, 0, 0};
    const turborle::Batch e = turborle::encode(empty, fuzz::best_config(threads));
    for (size_t i = 0; i < n; ++i) CHECK(fuzz::counts_of(e, i) == turborle::Counts{0});
  }

  // area / bbox.
  std::vector<uint64_t> area(n);
  std::vector<double> box(4 * n);
  turborle::area(b, area.data(), fuzz::best_config(threads));
  turborle::bbox(b, box.data(), fuzz::best_config(threads));
  std::vector<IntBox> boxes;
  for (size_t i = 0; i < n; ++i) {
    uint64_t a = 0;
    for (uint8_t v : masks[i]) a += v;
    CHECK(area[i] == a);
    boxes.push_back(dense_box(masks[i], h, w));
    const IntBox& r = boxes.back();
    CHECK(box[4 * i] == double(r.x0) && box[4 * i + 1] == double(r.y0));
    CHECK(box[4 * i + 2] == double(r.x1 - r.x0) && box[4 * i + 3] == double(r.y1 - r.y0));
  }

  // merge, every operation, both paths.
  const turborle::MergeOp ops[] = {turborle::MergeOp::kUnion, turborle::MergeOp::kIntersection,
                                   turborle::MergeOp::kXor, turborle::MergeOp::kDifference};
  for (const turborle::MergeOp op : ops) {
    std::vector<uint8_t> ref = masks[0];
    for (size_t i = 1; i < n; ++i)
      for (uint64_t p = 0; p < total; ++p) {
        const uint8_t a = ref[p], c = masks[i][p];
        switch (op) {
          case turborle::MergeOp::kUnion: ref[p] = a | c; break;
          case turborle::MergeOp::kIntersection: ref[p] = a & c; break;
          case turborle::MergeOp::kXor: ref[p] = a ^ c; break;
          case turborle::MergeOp::kDifference: ref[p] = a & !c; break;
        }
      }
    // Canonical counts, one mask included.
    const turborle::Counts want = total ? fuzz::counts_of(ref) : turborle::Counts{0};
    for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
      const turborle::Batch merged = turborle::merge(b, op, cfg);
      CHECK(merged.size() == 1 && merged.h[0] == h && merged.w[0] == w);
      CHECK(fuzz::counts_of(merged, 0) == want);
    }
  }

  // complement.
  for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
    const turborle::Batch c = turborle::complement(b, cfg);
    for (size_t i = 0; i < n; ++i) {
      std::vector<uint8_t> inv(masks[i]);
      for (auto& v : inv) v ^= 1;
      CHECK(fuzz::counts_of(c, i) == (total ? fuzz::counts_of(inv) : turborle::Counts{0}));
    }
  }

  // IoU of every pair, crowd flags from the flags byte; plus a size mismatch with a 1x1
  // foreground mask (-1 where the boxes overlap).
  std::vector<uint8_t> crowd(n);
  for (size_t g = 0; g < n; ++g) crowd[g] = (flags >> (4 + g)) & 1;
  // Every way of counting intersections (the run sweep, bit planes, the per-pair choice),
  // with the scalar and the best kernels.
  const turborle::IouPath paths[] = {turborle::IouPath::kChoose, turborle::IouPath::kSweep,
                                     turborle::IouPath::kPlanes};
  for (const turborle::IouPath path : paths)
  for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
  std::vector<double> o(n * n, -5);
  turborle::iou_by(b, b, crowd.data(), o.data(), cfg, path);
  for (size_t d = 0; d < n; ++d)
    for (size_t g = 0; g < n; ++g) {
      const IntBox &A = boxes[d], &B = boxes[g];
      double want = 0;
      const bool overlap = std::max(A.x0, B.x0) < std::min(A.x1, B.x1) &&
                           std::max(A.y0, B.y0) < std::min(A.y1, B.y1);
      if (overlap) {
        uint64_t inter = 0;
        for (uint64_t p = 0; p < total; ++p) inter += masks[d][p] & masks[g][p];
        const uint64_t uni = crowd[g] ? area[d] : area[d] + area[g] - inter;
        if (inter) want = double(inter) / double(uni);
      }
      CHECK(o[d * n + g] == want);
    }
  }
  turborle::Batch one;
  one.counts = {0, 1};
  one.close(1, 1);
  std::vector<double> o2(n, -5);
  turborle::iou(b, one, nullptr, o2.data(), fuzz::scalar_config());
  for (size_t d = 0; d < n; ++d) {
    const bool overlap = boxes[d].x1 > 0 && boxes[d].x0 == 0 && boxes[d].y0 == 0;
    const bool same = h == 1 && w == 1;
    CHECK(o2[d] == (overlap ? (same ? 1.0 : -1.0) : 0.0));
  }
  return 0;
}
