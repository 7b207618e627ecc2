// Uncompressed counts (COCO's list form): check_counts / from_columns / read_sources
// validation on arbitrary 64-bit counts and sizes, then the operations that need no dense
// buffer (string round trip, area, bbox, complement, merge, take) on what is accepted.
//
// Input: flags (1 byte), h (u32), w (u32), then counts.
//   flags bits 0..1: width of each count: u8, u16, u32 or u64 (u64 reaches the overflow
//                    edges of the running sum);
//   flags bit 2:     fix up the counts to sum to h*w (drop what overflows, add the rest as
//                    a last count), so that most inputs are valid;
//   flags bit 3:     h and w are shifted left by 16 (sizes up to 2^48: large masks);
//   flags bit 4:     2 threads.
// Oracle: acceptance is "h*w <= 2^62 and the counts sum to exactly h*w" computed in 128
// bits; box and area are computed from the runs independently of the core.
#include <string>

#include "common.hpp"

namespace {

using fuzz::count_t;

struct Box {
  double x, y, w, h;
  bool operator==(const Box& o) const { return x == o.x && y == o.y && w == o.w && h == o.h; }
};

// Tight box from the runs (no dense mask): a run inside one column spans its rows; a run
// over several columns spans every row.
Box reference_box(const turborle::Counts& c, uint64_t h) {
  bool any = false;
  uint64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0, pos = 0;
  for (size_t j = 0; j < c.size(); ++j) {
    if ((j & 1) && c[j] > 0) {
      const uint64_t first = pos, last = pos + c[j] - 1;
      const uint64_t xa = first / h, xb = last / h;
      const uint64_t ya = xa == xb ? first % h : 0, yb = xa == xb ? last % h : h - 1;
      if (!any) {
        x0 = xa;
        y0 = ya;
        y1 = yb;
      }
      any = true;
      x1 = xb;
      y0 = std::min(y0, ya);
      y1 = std::max(y1, yb);
    }
    pos += c[j];
  }
  if (!any) return {0, 0, 0, 0};
  return {double(x0), double(y0), double(x1 - x0 + 1), double(y1 - y0 + 1)};
}

bool core_check(const count_t* c, size_t m, uint64_t h, uint64_t w) {
  try {
    turborle::check_counts(c, m, h, w);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  uint64_t h = in.u32(), w = in.u32();
  if (flags & 8) {
    h <<= 16;
    w <<= 16;
  }
  const size_t width = size_t(1) << (flags & 3);
  const int threads = (flags & 16) ? 2 : 1;
  turborle::Counts counts;
  while (!in.empty() && counts.size() < 4096) counts.push_back(in.take(width));

  const bool size_ok = h == 0 || w <= turborle::kMaxPixels / h;
  const unsigned __int128 total = static_cast<unsigned __int128>(h) * w;
  if ((flags & 4) && size_ok) {  // fix up: the prefix that fits, then the remainder
    turborle::Counts fixed;
    unsigned __int128 sum = 0;
    for (count_t c : counts) {
      if (sum + c > total) break;
      sum += c;
      fixed.push_back(c);
    }
    if (sum < total || fixed.empty()) fixed.push_back(static_cast<count_t>(total - sum));
    counts.swap(fixed);
  }
  unsigned __int128 sum = 0;
  for (count_t c : counts) sum += c;
  const bool valid = size_ok && sum == total;

  const bool ok = core_check(counts.data(), counts.size(), h, w);
  CHECK(ok == valid);

  // The same answer through read_sources and from_columns (a second, valid mask around it).
  turborle::Source src;
  src.counts = counts.data();
  src.m = counts.size();
  src.h = h;
  src.w = w;
  bool read_ok = true;
  turborle::Batch batch;
  try {
    batch = turborle::read_sources(&src, 1, fuzz::best_config(threads));
  } catch (const std::invalid_argument&) {
    read_ok = false;
  }
  CHECK(read_ok == valid);

  turborle::Counts joined = {0, 6};
  joined.insert(joined.end(), counts.begin(), counts.end());
  const uint64_t offsets[3] = {0, 2, joined.size()};
  const uint64_t hs[2] = {2, h}, ws[2] = {3, w};
  bool columns_ok = true;
  turborle::Batch two;
  try {
    two = turborle::from_columns(joined.data(), joined.size(), offsets, hs, ws, 2);
  } catch (const std::invalid_argument&) {
    columns_ok = false;
  }
  CHECK(columns_ok == valid);
  if (!valid) return 0;
  CHECK(fuzz::counts_of(batch, 0) == counts);
  CHECK(fuzz::counts_of(two, 1) == counts);

  // take / append: index 1 is the fuzzed mask; an index past the end is an error.
  const uint64_t index[3] = {1, 0, 1};
  const turborle::Batch taken = turborle::take(two, index, 3);
  CHECK(taken.size() == 3 && fuzz::counts_of(taken, 2) == counts);
  bool threw = false;
  const uint64_t bad[1] = {2};
  try {
    turborle::take(two, bad, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
  turborle::Batch appended = batch;
  turborle::append(appended, two);
  CHECK(appended.size() == 3 && fuzz::counts_of(appended, 2) == counts);

  // String round trip.
  std::string text;
  std::vector<size_t> text_offsets;
  turborle::write_strings(batch, text, text_offsets, fuzz::best_config(threads));
  turborle::Counts parsed;
  turborle::parse_string(text.data(), text.size(), h, w, parsed);
  CHECK(parsed == counts);

  // Area and box against the reference, and measure_sources over both source forms.
  uint64_t area = 0, area_m = 0, area_s = 0;
  double box[4], box_m[4], box_s[4];
  turborle::area(batch, &area, fuzz::scalar_config());
  turborle::bbox(batch, box, fuzz::scalar_config());
  uint64_t ref_area = 0;
  for (size_t j = 1; j < counts.size(); j += 2) ref_area += counts[j];
  CHECK(area == ref_area);
  const Box ref_box = h ? reference_box(counts, h) : Box{0, 0, 0, 0};
  CHECK((Box{box[0], box[1], box[2], box[3]} == ref_box));
  turborle::measure_sources(&src, 1, &area_m, box_m, fuzz::scalar_config());
  turborle::Source text_src;
  text_src.data = text.data();
  text_src.len = text.size();
  text_src.h = h;
  text_src.w = w;
  turborle::measure_sources(&text_src, 1, &area_s, box_s, fuzz::best_config(threads));
  CHECK(area_m == area && area_s == area);
  CHECK(std::memcmp(box_m, box, sizeof box) == 0 && std::memcmp(box_s, box, sizeof box) == 0);
  double box_best[4];  // the best kernels' box (four runs at a time on AVX2)
  turborle::bbox(batch, box_best, fuzz::best_config(threads));
  CHECK(std::memcmp(box_best, box, sizeof box) == 0);

  // Complement twice is the canonical form; union and intersection with itself too.
  const uint64_t pixels = h * w;
  const turborle::Counts canon = fuzz::canonical(counts, pixels);
  for (const turborle::Config& cfg : {fuzz::scalar_config(), fuzz::best_config(threads)}) {
    const turborle::Batch c1 = turborle::complement(batch, cfg);
    const turborle::Batch c2 = turborle::complement(c1, cfg);
    CHECK(fuzz::counts_of(c2, 0) == canon);
    uint64_t c1_area = 0;
    turborle::area(c1, &c1_area, cfg);
    CHECK(c1_area == pixels - area);
    // (Bitmap merges are bounded by size: only small masks take that path.)
    if (cfg.isa == turborle::Isa::kScalar || pixels <= (uint64_t(1) << 24)) {
      const turborle::Batch same = turborle::take(batch, index + 1, 1);
      turborle::Batch pair = same;
      turborle::append(pair, same);
      CHECK(fuzz::counts_of(turborle::merge(pair, turborle::MergeOp::kUnion, cfg), 0) == canon);
      CHECK(fuzz::counts_of(turborle::merge(pair, turborle::MergeOp::kIntersection, cfg), 0) ==
            canon);
      const turborle::Counts empty = pixels ? turborle::Counts{pixels} : turborle::Counts{0};
      CHECK(fuzz::counts_of(turborle::merge(pair, turborle::MergeOp::kXor, cfg), 0) == empty);
      CHECK(fuzz::counts_of(turborle::merge(pair, turborle::MergeOp::kDifference, cfg), 0) ==
            empty);
      turborle::Batch with_c = same;
      turborle::append(with_c, c1);
      const turborle::Counts full = pixels ? turborle::Counts{0, pixels} : turborle::Counts{0};
      CHECK(fuzz::counts_of(turborle::merge(with_c, turborle::MergeOp::kUnion, cfg), 0) == full);
    }
  }

  // IoU with itself: 1 when it has foreground, else 0.
  double o = -2;
  turborle::iou(batch, batch, nullptr, &o, fuzz::best_config(threads));
  CHECK(o == (area ? 1.0 : 0.0));
  // Counted by bit planes (painted by filling or by the running XOR, as the runs decide) and
  // by the run sweep: the same, against itself and against a one-pixel mask at its start.
  if (batch.h[0] * batch.w[0] > 0) {
    turborle::Batch two = batch;
    const uint64_t pixels = batch.h[0] * batch.w[0];
    const turborle::Counts dot =
        pixels > 1 ? turborle::Counts{0, 1, pixels - 1} : turborle::Counts{0, 1};
    two.push(turborle::RleRef{batch.h[0], batch.w[0], dot.data(), dot.size()});
    double by_planes[2] = {-2, -2}, by_sweep[2] = {-3, -3};
    turborle::iou_by(batch, two, nullptr, by_planes, fuzz::best_config(threads),
                     turborle::IouPath::kPlanes);
    turborle::iou_by(batch, two, nullptr, by_sweep, fuzz::best_config(threads),
                     turborle::IouPath::kSweep);
    CHECK(by_planes[0] == by_sweep[0] && by_planes[1] == by_sweep[1]);
  }
  return 0;
}
