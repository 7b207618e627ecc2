// Batches from caller-given columns, selections and concatenation.
#include <string>

#include "batch_build.hpp"
#include "errors.hpp"
#include "turborle.hpp"

namespace turborle {

Batch from_columns(const count_t* counts, size_t m, const uint64_t* offsets,
                   const uint64_t* h, const uint64_t* w, size_t n) {
  if (offsets[0] != 0) throw InputError("offsets[0] must be 0");
  if (offsets[n] != m)
    throw InputError("offsets[-1] = " + std::to_string(offsets[n]) +
                     " must equal the number of counts, " + std::to_string(m));
  for (size_t i = 0; i < n; ++i) {
    if (offsets[i + 1] < offsets[i])
      throw InputError("offsets decrease at mask " + std::to_string(i));
    naming("mask", i, [&] { check_counts(counts + offsets[i], offsets[i + 1] - offsets[i], h[i], w[i]); });
  }
  Batch b;
  b.h.assign(h, h + n);
  b.w.assign(w, w + n);
  b.offsets.assign(offsets, offsets + n + 1);
  b.counts.assign(counts, counts + m);
  return b;
}

Batch take(BatchView b, const uint64_t* index, size_t k) {
  Batch out;
  for (size_t t = 0; t < k; ++t) {
    if (index[t] >= b.n)
      throw InputError("index " + std::to_string(index[t]) + " out of range for " +
                       std::to_string(b.n) + " masks");
    out.push(b[index[t]]);
  }
  return out;
}

Batch join_parts(std::vector<Batch>& parts, size_t n) {
  if (parts.empty()) return Batch{};
  if (parts.size() == 1) return std::move(parts[0]);
  Batch b;
  size_t total = 0;
  for (const Batch& part : parts) total += part.counts.size();
  b.counts.reserve(total);
  b.h.reserve(n);
  b.w.reserve(n);
  b.offsets.reserve(n + 1);
  for (Batch& part : parts) {
    const uint64_t base = b.counts.size();
    b.counts.insert(b.counts.end(), part.counts.begin(), part.counts.end());
    b.h.insert(b.h.end(), part.h.begin(), part.h.end());
    b.w.insert(b.w.end(), part.w.begin(), part.w.end());
    for (size_t i = 1; i < part.offsets.size(); ++i) b.offsets.push_back(base + part.offsets[i]);
    part = Batch{};
  }
  return b;
}

void append(Batch& out, BatchView b) {
  for (size_t i = 0; i < b.n; ++i) out.push(b[i]);
}

}  // namespace turborle
