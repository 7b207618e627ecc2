// fal / Kaggle "start length" text: read_fal on arbitrary text, then
// write_fal -> read_fal must give the same batch, and for small masks the decoded mask must
// be exactly the pixels the text names.
//
// Input: flags (1 byte), h (u16), w (u16), then the text.
//   flags bit 0: row-major (fal, Kaggle) rather than column-major;
//   flags bit 1: starts are 1-based rather than 0-based;
//   flags bit 2: 2 threads;
//   flags bit 3: h and w are shifted left by 16 (large masks; column-major only, since
//                row-major conversion walks every row: row-major masks are bounded to 2^20
//                pixels);
//   flags bit 4: the text is split in two masks at its first ';' (which then is not part
//                of either).
#include <string>

#include "common.hpp"

namespace {

using fuzz::count_t;

// Independent parse of text the core accepted: the flat pixels it names.
std::vector<uint8_t> reference_pixels(const std::string& text, uint64_t total, uint64_t base) {
  std::vector<uint8_t> flat(total, 0);
  std::vector<uint64_t> tokens;
  uint64_t v = 0;
  bool in_token = false;
  for (char ch : text) {
    if (ch >= '0' && ch <= '9') {
      v = v * 10 + uint64_t(ch - '0');
      in_token = true;
    } else {
      if (in_token) tokens.push_back(v);
      v = 0;
      in_token = false;
    }
  }
  if (in_token) tokens.push_back(v);
  for (size_t k = 0; k + 1 < tokens.size(); k += 2)
    for (uint64_t p = tokens[k] - base; p < tokens[k] - base + tokens[k + 1]; ++p) flat[p] = 1;
  return flat;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Reader in(data, size);
  const uint8_t flags = in.u8();
  uint64_t h = in.u16(), w = in.u16();
  const bool row_major = flags & 1;
  const uint64_t base = (flags & 2) ? 1 : 0;
  const int threads = (flags & 4) ? 2 : 1;
  if ((flags & 8) && !row_major) {
    h <<= 16;
    w <<= 16;
  }
  // Row-major conversion walks every row: bound those masks to 2^20 pixels to stay fast.
  if (row_major && h * w > (uint64_t(1) << 20)) w = (uint64_t(1) << 20) / h;
  const std::string all(reinterpret_cast<const char*>(in.p), in.n);
  std::vector<std::string> texts;
  const size_t semi = all.find(';');
  if ((flags & 16) && semi != std::string::npos) {
    texts.push_back(all.substr(0, semi));
    texts.push_back(all.substr(semi + 1));
  } else {
    texts.push_back(all);
  }
  std::vector<turborle::Source> src(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    src[i].data = texts[i].data();
    src[i].len = texts[i].size();
    src[i].h = h;
    src[i].w = w;
  }
  const size_t n = texts.size();

  turborle::Batch b, b2;
  bool ok = true, ok2 = true;
  try {
    b = turborle::read_fal(src.data(), n, base, row_major, fuzz::scalar_config());
  } catch (const std::invalid_argument&) {
    ok = false;
  }
  try {
    b2 = turborle::read_fal(src.data(), n, base, row_major, fuzz::best_config(threads));
  } catch (const std::invalid_argument&) {
    ok2 = false;
  }
  CHECK(ok == ok2);
  if (!ok) return 0;
  CHECK(fuzz::same_batch(b, b2));
  const uint64_t total = h * w;
  for (size_t i = 0; i < n; ++i) {
    CHECK(b.h[i] == h && b.w[i] == w);
    const turborle::RleRef r = b[i];
    turborle::check_counts(r.counts, r.m, h, w);  // must not throw
    CHECK(fuzz::canonical(r.counts, r.m, total) == fuzz::counts_of(b, i));
  }

  // write_fal -> read_fal round trip, both column orders of the text.
  for (const bool order : {row_major, !row_major}) {
    if (order && !row_major && total > (uint64_t(1) << 22)) continue;  // row walk: keep it fast
    std::vector<std::string> out;
    turborle::write_fal(b, base, order, out, fuzz::best_config(threads));
    CHECK(out.size() == n);
    std::vector<turborle::Source> again(n);
    for (size_t i = 0; i < n; ++i) {
      again[i].data = out[i].data();
      again[i].len = out[i].size();
      again[i].h = h;
      again[i].w = w;
    }
    const turborle::Batch back = turborle::read_fal(again.data(), n, base, order, fuzz::scalar_config());
    CHECK(fuzz::same_batch(back, b));
    // The written text is canonical: writing it again gives the same text.
    std::vector<std::string> out2;
    turborle::write_fal(back, base, order, out2, fuzz::scalar_config());
    CHECK(out2 == out);
  }

  // Small masks: the decoded pixels are exactly those the text names.
  if (total <= (uint64_t(1) << 16)) {
    std::vector<uint8_t> dense(n * total + 1);  // (never a null buffer: see fuzz_decode)
    turborle::decode(b, dense.data(),
                     row_major ? turborle::Order::kRowMajor : turborle::Order::kColumnMajor,
                     fuzz::best_config(threads));
    for (size_t i = 0; i < n; ++i) {
      const std::vector<uint8_t> want = reference_pixels(texts[i], total, base);
      CHECK(std::equal(want.begin(), want.end(), dense.begin() + i * total));
    }
  }
  return 0;
}
