// Allocation of count arrays (see CountAllocator in turborle.hpp).
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

#include "turborle.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace turborle {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugeFrom = size_t(4) << 20;  // arrays from this size use huge pages
constexpr size_t kKeep = size_t(512) << 20;    // the largest array kept for reuse

size_t rounded_size(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// The last large array freed (up to kKeep bytes), kept for the next one of about its size:
// fresh memory costs a page fault per huge page, and where the kernel compacts memory to
// make huge pages on demand (transparent_hugepage/defrag = madvise, a common default), those
// faults can stall for far longer than the parse that fills the array. A program that
// parses batch after batch of similar size reuses one array instead.
std::mutex kept_mutex;
void* kept = nullptr;
size_t kept_bytes = 0;

}  // namespace

void* allocate_counts(size_t bytes) {
#if defined(__linux__)
  if (bytes >= kHugeFrom) {
    const size_t rounded = rounded_size(bytes);
    {
      std::lock_guard<std::mutex> lock(kept_mutex);
      if (kept && kept_bytes >= rounded && kept_bytes / 2 <= rounded) {
        void* p = kept;
        kept = nullptr;
        return p;
      }
    }
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
    const size_t rounded = rounded_size(bytes);  // (at most the array's size: enough to reuse)
    if (rounded <= kKeep) {
      std::lock_guard<std::mutex> lock(kept_mutex);
      std::swap(p, kept);  // keep this one; free the one kept before (if any)
      kept_bytes = rounded;
    }
    std::free(p);
    return;
  }
#endif
  ::operator delete(p);
}

}  // namespace turborle
