// COCO compressed-string parser: parse -> validate -> re-encode -> compare.
//
// Input: flags (1 byte), h (u32), w (u32), then the string.
//   flags bit 0: size the mask to fit the string (h = 1 + flags bits 4..5 when that divides
//                the sum the reference decoder finds, else 1; w = sum / h), so that most
//                inputs reach the code after validation;
//   flags bit 1: also parse through read_sources / measure_sources with 2 threads;
//   flags bit 2: the batch form gets a second, valid mask before this one.
// Oracle: an independent reference decoder (128-bit arithmetic) decides acceptance and the
// counts; the core must agree exactly, and whatever it accepts must re-encode to a string
// that parses to the same counts, and measure to the same area and box as the batch.
#include <algorithm>
#include <string>

#include "common.hpp"
#include "runs.hpp"
#include "simd.hpp"

namespace {

using fuzz::count_t;

// The reference: accepts exactly the strings the COCO format defines, with turborle's
// bounds (a value is at most 13 groups and fits int64; counts are non-negative; they sum to
// h*w without overflow).
bool reference_parse(const uint8_t* s, size_t len, unsigned __int128 total,
                     turborle::Counts& out, unsigned __int128& sum) {
  sum = 0;
  size_t p = 0;
  while (p < len) {
    __int128 x = 0;
    int k = 0;
    bool more = true;
    int last_group = 0;
    while (more) {
      if (p == len) return false;  // truncated
      const int c = int(s[p]) - 48;
      if (c < 0 || c >= 64) return false;  // alphabet
      if (k == 13) return false;           // more than 13 groups
      x |= static_cast<__int128>(c & 0x1f) << (5 * k);
      more = c & 0x20;
      last_group = c;
      ++p;
      ++k;
    }
    if (last_group & 0x10) x -= static_cast<__int128>(1) << (5 * k);
    const __int128 limit = static_cast<__int128>(1) << 63;
    if (x < -limit || x >= limit) return false;
    if (out.size() > 2) x += static_cast<__int128>(out[out.size() - 2]);
    if (x < 0) return false;
    sum += static_cast<unsigned __int128>(x);
    if (sum > total) return false;
    out.push_back(static_cast<count_t>(x));
  }
  return sum == total;
}

bool core_parse(const char* s, size_t len, uint64_t h, uint64_t w, turborle::Counts& out,
                turborle::Isa isa = turborle::Isa::kScalar) {
  try {
    turborle::parse_string(s, len, h, w, out, isa);
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
  const auto* s = reinterpret_cast<const char*>(in.p);
  const size_t len = in.n;

  if (flags & 1) {  // fit the size to the string
    turborle::Counts ref;
    unsigned __int128 sum = 0;
    reference_parse(in.p, len, ~static_cast<unsigned __int128>(0) >> 1, ref, sum);
    const uint64_t rows = 1 + ((flags >> 4) & 3);
    const uint64_t pixels = sum <= turborle::kMaxPixels ? static_cast<uint64_t>(sum) : 0;
    h = pixels % rows == 0 ? rows : 1;
    w = pixels / h;
  }

  const bool size_ok = h == 0 || w <= turborle::kMaxPixels / h;
  const unsigned __int128 total = static_cast<unsigned __int128>(h) * w;
  turborle::Counts ref;
  unsigned __int128 ref_sum = 0;
  const bool ref_ok = size_ok && reference_parse(in.p, len, total, ref, ref_sum);

  turborle::Counts got;
  const bool ok = core_parse(s, len, h, w, got);
  CHECK(ok == ref_ok);
  for (turborle::Isa isa : fuzz::isas()) {  // every instruction set's fast path agrees
    turborle::Counts other;
    CHECK(core_parse(s, len, h, w, other, isa) == ok);
    CHECK(!ok || other == got);
  }
  if (!ok) return 0;
  CHECK(got == ref);

  // The fast paths on their own: every kernel table reads a valid string whose values have
  // at most eight groups without the reference parser (a fast path that gave up would cost
  // only time, which no result shows).
  size_t groups = 0, longest = 0;
  for (size_t i = 0; i < len; ++i) {
    ++groups;
    if (!((static_cast<unsigned>(in.p[i]) - 48) & 0x20)) {
      longest = std::max(longest, groups);
      groups = 0;
    }
  }
  if (longest <= 8) {
    for (turborle::Isa isa : fuzz::isas()) {
      const turborle::Kernels& kt = turborle::kernels(isa);
      std::vector<uint64_t> fast(kt.values(s, len));
      CHECK(kt.parse(s, len, h * w, fast.data()));
      CHECK(std::equal(fast.begin(), fast.end(), got.begin(), got.end()));
      uint64_t fast_area = 0;
      turborle::Box fast_box;
      CHECK(kt.measure(s, len, h, h * w, &fast_area, &fast_box));
      CHECK(kt.measure(s, len, h, h * w, &fast_area, nullptr));
    }
  }

  // Re-encode: exact length, then a string that parses to the same counts.
  const size_t n = turborle::string_length(got.data(), got.size());
  std::string again(n + 16, '\xff');  // guard bytes must stay untouched
  turborle::write_string(got.data(), got.size(), &again[0]);
  for (size_t i = n; i < again.size(); ++i) CHECK(again[i] == '\xff');
  again.resize(n);
  CHECK(n <= len);  // the encoder writes the shortest groups; the input may pad
  turborle::Counts back;
  CHECK(core_parse(again.data(), again.size(), h, w, back));
  CHECK(back == got);

  // Canonical counts re-encode to a string that parses to themselves as well.
  const turborle::Counts canon = fuzz::canonical(got, h * w);
  std::string canon_text(turborle::string_length(canon.data(), canon.size()), '\0');
  turborle::write_string(canon.data(), canon.size(), &canon_text[0]);
  turborle::Counts canon_back;
  CHECK(core_parse(canon_text.data(), canon_text.size(), h, w, canon_back));
  CHECK(canon_back == canon);

  // Batch form and measurements, with both instruction sets, optionally threaded.
  const int threads = (flags & 2) ? 2 : 1;
  std::vector<turborle::Source> sources;
  const count_t filler[3] = {1, 2, 3};
  if (flags & 4) {
    turborle::Source first;
    first.counts = filler;
    first.m = 3;
    first.h = 2;
    first.w = 3;
    sources.push_back(first);
  }
  turborle::Source src;
  src.data = s;
  src.len = len;
  src.h = h;
  src.w = w;
  sources.push_back(src);
  const size_t k = sources.size();
  const turborle::Batch batch = turborle::read_sources(sources.data(), k, fuzz::scalar_config());
  const turborle::Batch batch2 = turborle::read_sources(sources.data(), k, fuzz::best_config(threads));
  CHECK(fuzz::same_batch(batch, batch2));
  CHECK(fuzz::counts_of(batch, k - 1) == got);

  std::vector<uint64_t> area(k), area2(k);
  std::vector<double> box(4 * k), box2(4 * k);
  turborle::area(batch, area.data(), fuzz::scalar_config());
  turborle::bbox(batch, box.data(), fuzz::scalar_config());
  for (turborle::Isa isa : fuzz::isas()) {
    turborle::Config cfg{isa, threads};
    turborle::measure_sources(sources.data(), k, area2.data(), box2.data(), cfg);
    CHECK(area == area2);
    CHECK(box == box2);
    turborle::measure_sources(sources.data(), k, area2.data(), nullptr, cfg);
    CHECK(area == area2);
  }

  // The batch serialised as strings parses back to itself.
  std::string all;
  std::vector<size_t> offsets;
  turborle::write_strings(batch, all, offsets, fuzz::best_config(threads));
  CHECK(offsets.size() == k + 1 && offsets[k] == all.size());
  // The best kernels write what the scalar reference writes.
  std::string reference;
  std::vector<size_t> reference_offsets;
  turborle::write_strings(batch, reference, reference_offsets, fuzz::scalar_config());
  CHECK(all == reference && offsets == reference_offsets);
  turborle::Counts last;
  CHECK(core_parse(all.data() + offsets[k - 1], offsets[k] - offsets[k - 1], h, w, last));
  CHECK(last == got);
  return 0;
}
