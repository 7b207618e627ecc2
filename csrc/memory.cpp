// Allocation of count arrays (see CountAllocator in turborle.hpp).
#include <cstdlib>
#include <new>

#include "turborle.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace turborle {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeFrom = size_t(4) << 20;  // arrays from this size use huge pages

}  // namespace

void* allocate_counts(size_t bytes) {
#if defined(__linux__)
  if (bytes >= kHugeFrom) {
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);  // a hint: where it is refused, small pages serve
    return p;
  }
#endif
  return ::operator new(bytes);
}

void free_counts(void* p, size_t bytes) {
#if defined(__linux__)
  if (bytes >= kHugeFrom) {
    std::free(p);
    return;
  }
#endif
  ::operator delete(p);
}

}  // namespace turborle
