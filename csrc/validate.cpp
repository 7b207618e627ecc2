// Validation of sizes and counts that come from outside.
#include <string>

#include "errors.hpp"
#include "turborle.hpp"

namespace turborle {

void check_size(uint64_t h, uint64_t w) {
  if (h != 0 && w > kMaxPixels / h)
    throw InputError("size " + std::to_string(h) + "x" + std::to_string(w) +
                     " is too large (more than 2^62 pixels)");
}

void check_counts(const count_t* counts, size_t m, uint64_t h, uint64_t w) {
  check_size(h, w);
  const uint64_t total = h * w;
  uint64_t sum = 0;
  for (size_t i = 0; i < m; ++i) {
    if (counts[i] > total - sum)
      throw InputError("counts sum to more than h*w = " + std::to_string(total) + " (at count " +
                       std::to_string(i) + ")");
    sum += counts[i];
  }
  if (sum != total)
    throw InputError("counts sum to " + std::to_string(sum) + ", not h*w = " +
                     std::to_string(total));
}

void check_pixel_limit(uint64_t h, uint64_t w, const Config& cfg, size_t index) {
  check_size(h, w);
  if (h * w > cfg.max_pixels)
    throw InputError(std::to_string(h) + "x" + std::to_string(w) + " = " +
                         std::to_string(h * w) + " pixels exceeds the limit of " +
                         std::to_string(cfg.max_pixels) + " pixels per mask",
                     InputError::kNone, InputError::Kind::kTooLarge)
        .about("mask", index);
}

void check_one_size(BatchView b, const char* what) {
  for (size_t i = 1; i < b.n; ++i)
    if (b.h[i] != b.h[0] || b.w[i] != b.w[0])
      throw InputError(std::string(what) + ": mask " + std::to_string(i) + " has size " +
                       std::to_string(b.h[i]) + "x" + std::to_string(b.w[i]) +
                       " but mask 0 has size " + std::to_string(b.h[0]) + "x" +
                       std::to_string(b.w[0]) + "; masks must have one size");
}

}  // namespace turborle
