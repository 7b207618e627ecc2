// Allocation of large arrays: count arrays (CountAllocator in turborle.hpp) and decoded
// pixels (allocate_pixels).
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

#include "turborle.hpp"

#if defined(__linux__)
#include <pthread.h>
#include <sys/mman.h>
#endif

namespace turborle {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kKeep = size_t(512) << 20;    // the largest array kept for reuse

size_t rounded_size(size_t bytes) {
  const size_t r = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  return r == 0 ? kHugePage : r;
}

// The last large array of a kind freed (up to kKeep bytes), kept for the next one of about
// its size: fresh memory costs a page fault per page and the kernel's zeroing of it, and
// where the kernel compacts memory to make huge pages on demand
// (transparent_hugepage/defrag = madvise, a common default) those faults can stall for far
// longer than the work that fills the array. A program that parses or decodes batch after
// batch of similar size reuses one array of each kind instead.
struct Kept {
  std::mutex mutex;
  void* p = nullptr;
  size_t bytes = 0;
};
Kept kept_counts, kept_pixels;

#if defined(__linux__)
// A fork() while another thread holds one of the mutexes would leave it locked in the child
// forever: both are taken around fork() and released on both sides.
[[maybe_unused]] const bool fork_handlers_registered = [] {
  return pthread_atfork(
             [] {
               kept_counts.mutex.lock();
               kept_pixels.mutex.lock();
             },
             [] {
               kept_pixels.mutex.unlock();
               kept_counts.mutex.unlock();
             },
             [] {
               kept_pixels.mutex.unlock();
               kept_counts.mutex.unlock();
             }) == 0;
}();
#endif

// A block of rounded_size(bytes), 2 MiB aligned, advised to use huge pages.
void* allocate_large(Kept& kept, size_t bytes) {
  const size_t rounded = rounded_size(bytes);
  {
    std::lock_guard<std::mutex> lock(kept.mutex);
    if (kept.p && kept.bytes >= rounded && kept.bytes / 2 <= rounded) {
      void* p = kept.p;
      kept.p = nullptr;
      return p;
    }
  }
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__)
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint: where it is refused, small pages serve
#endif
  return p;
}

void free_large(Kept& kept, void* p, size_t bytes) {
  const size_t rounded = rounded_size(bytes);  // (at most the block's size: enough to reuse)
  if (rounded <= kKeep) {
    std::lock_guard<std::mutex> lock(kept.mutex);
    std::swap(p, kept.p);  // keep this one; free the one kept before (if any)
    kept.bytes = rounded;
  }
  std::free(p);
}

void release(Kept& kept) {
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(kept.mutex);
    std::swap(p, kept.p);
    kept.bytes = 0;
  }
  std::free(p);
}

}  // namespace

void* allocate_counts(size_t bytes) {
#if defined(__linux__)
  if (bytes >= kLargeArrayBytes) return allocate_large(kept_counts, bytes);
#endif
  return ::operator new(bytes);
}

void free_counts(void* p, size_t bytes) {
#if defined(__linux__)
  if (bytes >= kLargeArrayBytes) return free_large(kept_counts, p, bytes);
#endif
  ::operator delete(p);
}

void* allocate_pixels(size_t bytes) { return allocate_large(kept_pixels, bytes); }

void free_pixels(void* p, size_t bytes) {
  if (p != nullptr) free_large(kept_pixels, p, bytes);
}

void release_kept_memory() {
  release(kept_counts);
  release(kept_pixels);
}

}  // namespace turborle
