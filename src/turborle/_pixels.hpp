// Binding glue: a numpy memory handler (numpy >= 1.22, NEP 49) whose blocks come from
// turborle::allocate_pixels, so that a large decode into a fresh array reuses the pages of
// the last one freed instead of faulting in (and zeroing) new ones. The binding installs it
// only around the np.empty of a large decode output; the array keeps the handler and returns
// its block through it, and owns its data as any numpy array does (resize works).
#pragma once

#include <Python.h>

#include <cstring>
#include <new>

#include "turborle.hpp"

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>
#include <numpy/ndarraytypes.h>

namespace turborle {
namespace pixels {

inline void* handler_malloc(void*, size_t size) {
  try {
    return allocate_pixels(size);
  } catch (...) {
    return nullptr;
  }
}

inline void* handler_calloc(void*, size_t n, size_t elsize) {
  if (elsize != 0 && n > size_t(-1) / elsize) return nullptr;
  void* p = handler_malloc(nullptr, n * elsize);
  if (p != nullptr) std::memset(p, 0, n * elsize);
  return p;
}

// numpy does not pass the old size: the block's usable size bounds what is copied, and the
// old block goes straight back to the C library rather than to the kept slot.
inline void* handler_realloc(void*, void* p, size_t size) {
  void* q = handler_malloc(nullptr, size);
  if (q == nullptr || p == nullptr) return q;
  const size_t old = malloc_usable_size(p);
  std::memcpy(q, p, old < size ? old : size);
  std::free(p);
  return q;
}

inline void handler_free(void*, void* p, size_t size) { free_pixels(p, size); }

inline PyDataMem_Handler* handler() {
  static PyDataMem_Handler h = [] {
    PyDataMem_Handler v{};
    std::strncpy(v.name, "turborle_pixels", sizeof(v.name) - 1);
    v.version = 1;
    v.allocator = {nullptr, handler_malloc, handler_calloc, handler_realloc, handler_free};
    return v;
  }();
  return &h;
}

}  // namespace pixels
}  // namespace turborle

// The handler as numpy takes it (a "mem_handler" capsule), or None where it is not built.
inline PyObject* turborle_pixel_handler() {
  return PyCapsule_New(turborle::pixels::handler(), "mem_handler", nullptr);
}
#else
inline PyObject* turborle_pixel_handler() { Py_RETURN_NONE; }
#endif
