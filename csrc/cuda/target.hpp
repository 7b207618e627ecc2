// One source, two targets: what differs between the device build (nvcc, TURBORLE_GPU_DEVICE)
// and the host build (a plain C++ compiler) of the GPU algorithms, and nothing else.
//
//   TRLE_HD             __host__ __device__ on the device build, nothing on the host build
//   TRLE_UNROLL(_ROWS)  unrolling hints for nvcc (all / by 4)
//   TRLE_TARGET         the namespace of the build: device or host
//   Exec                where thrust algorithms run (policy), per-item passes (for_each: one
//                       thread per item on the device, a loop on the host), how memory is had
//                       and copied
//   Buffer<T>           target memory owned by scope: released on every path, errors included
//   atomic_add/min/max  atomics on the device; plain updates on the (serial) host build
//
// The host build uses thrust's serial CPP backend; define THRUST_DEVICE_SYSTEM as
// THRUST_DEVICE_SYSTEM_CPP when compiling it (setup.py does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "gpu.hpp"

#if defined(TURBORLE_GPU_DEVICE)
#if !defined(__CUDACC__)
#error "the device build of turborle's GPU code needs nvcc"
#endif
#include <cuda_runtime.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>
#define TRLE_HD __host__ __device__
#define TRLE_TARGET device
#define TRLE_UNROLL _Pragma("unroll")
#define TRLE_UNROLL_ROWS _Pragma("unroll 4")
#else
#if !defined(THRUST_DEVICE_SYSTEM) || THRUST_DEVICE_SYSTEM != THRUST_DEVICE_SYSTEM_CPP
#error "the host build of turborle's GPU code needs -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP"
#endif
#include <thrust/system/cpp/execution_policy.h>
#define TRLE_HD
#define TRLE_TARGET host
#define TRLE_UNROLL
#define TRLE_UNROLL_ROWS
#endif

namespace turborle::gpu::TRLE_TARGET {

// ---- bit helpers ----------------------------------------------------------------------------

TRLE_HD inline int lowest_bit(uint32_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __ffs(x) - 1;
#else
  return __builtin_ctz(x);
#endif
}

TRLE_HD inline int highest_bit(uint32_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return 31 - __clz(x);
#else
  return 31 - __builtin_clz(x);
#endif
}

TRLE_HD inline int leading_zeros64(uint64_t x) {
#if defined(__CUDA_ARCH__)
  return __clzll(static_cast<long long>(x));
#else
  return x ? __builtin_clzll(x) : 64;
#endif
}

TRLE_HD inline int popcount(uint32_t x) {
#if defined(__CUDA_ARCH__)
  return __popc(x);
#else
  return __builtin_popcount(x);
#endif
}

TRLE_HD inline void atomic_add(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  *p += v;
#endif
}

TRLE_HD inline void atomic_min(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicMin(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  if (v < *p) *p = v;
#endif
}

TRLE_HD inline void atomic_max(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicMax(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  if (v > *p) *p = v;
#endif
}

// 16 bytes from an address aligned to 16, as one load on the device.
template <class Vec>
TRLE_HD inline Vec load16(const void* p) {
  static_assert(sizeof(Vec) == 16 && alignof(Vec) == 16, "16-byte vectors only");
#if defined(__CUDA_ARCH__)
  return *static_cast<const Vec*>(p);
#else
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
#endif
}

template <class Vec>
TRLE_HD inline void store16(void* p, const Vec& v) {
#if defined(__CUDA_ARCH__)
  *static_cast<Vec*>(p) = v;
#else
  std::memcpy(p, &v, sizeof v);
#endif
}

// First index k in [0, n) with a[k] > key (n when none): runs and masks are found by binary
// search in sorted prefix arrays.
TRLE_HD inline uint64_t upper_index(const uint64_t* a, uint64_t n, uint64_t key) {
  uint64_t lo = 0, hi = n;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (a[mid] > key)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// ---- execution and memory -------------------------------------------------------------------

#if defined(TURBORLE_GPU_DEVICE)

[[noreturn]] void fail(cudaError_t e, const char* what);

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail(e, what);
}

// Makes a device current for a scope and restores the previous one.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != device) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceScope() {
    int now = previous_;
    if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
};

// turborle's stream-ordered memory pool on a device (created on first use). It keeps up to
// kPoolKeep bytes mapped between calls, so that a call does not map its buffers afresh (a
// pool that keeps nothing, as the device's default does, returns them at every sync).
constexpr uint64_t kPoolKeep = uint64_t(256) << 20;
cudaMemPool_t memory_pool(int device);

// thrust's temporary storage from the stream-ordered pool: no device-wide syncs.
struct StreamAllocator {
  using value_type = char;
  cudaStream_t stream;
  cudaMemPool_t pool;
  char* allocate(std::ptrdiff_t n) {
    void* p = nullptr;
    check(cudaMallocFromPoolAsync(&p, static_cast<size_t>(n), pool, stream), "cudaMallocFromPoolAsync");
    return static_cast<char*>(p);
  }
  void deallocate(char* p, size_t) { cudaFreeAsync(p, stream); }
};

// One thread per item (thrust's for_each gives a thread several items in turn, which halves
// the loads in flight of a pass that is one load per item).
template <class Fn>
__global__ void each_item(Fn fn, uint64_t n) {
  const uint64_t item = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (item < n) fn(item);
}

class Exec {
 public:
  explicit Exec(const Place& where)
      : scope_(where.device),
        stream_(reinterpret_cast<cudaStream_t>(where.stream)),
        alloc_{stream_, memory_pool(where.device)} {}
  // Algorithms queue on the stream and never wait unless they return a value.
  auto policy() { return thrust::cuda::par_nosync(alloc_).on(stream_); }
  // fn(0), ..., fn(n - 1), one thread each (n > 0).
  template <class Fn>
  void for_each(uint64_t n, const Fn& fn) {
    constexpr uint64_t kThreads = 256;
    const uint64_t blocks = (n + kThreads - 1) / kThreads;
    if (blocks > 0x7fffffffu)
      thrust::for_each_n(policy(), thrust::counting_iterator<uint64_t>(0), n, fn);
    else
      each_item<<<static_cast<unsigned>(blocks), static_cast<unsigned>(kThreads), 0, stream_>>>(fn, n);
    check_launch();
  }
  void* allocate(size_t bytes) {
    if (bytes == 0) return nullptr;
    return alloc_.allocate(static_cast<std::ptrdiff_t>(bytes));
  }
  void release(void* p) noexcept {
    if (p) cudaFreeAsync(p, stream_);
  }
  void to_host(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
    synchronize();
  }
  void to_target(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "copy to device");
  }
  void synchronize() { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
  // After queuing work: reports a failed launch at once.
  void check_launch() { check(cudaPeekAtLastError(), "kernel launch"); }
  cudaStream_t stream() const { return stream_; }

 private:
  DeviceScope scope_;
  cudaStream_t stream_;
  StreamAllocator alloc_;
};

#else  // host target

class Exec {
 public:
  explicit Exec(const Place&) {}
  auto policy() { return thrust::cpp::par; }
  template <class Fn>
  void for_each(uint64_t n, const Fn& fn) {
    for (uint64_t i = 0; i < n; ++i) fn(i);
  }
  void* allocate(size_t bytes) {
    if (bytes == 0) return nullptr;
    return ::operator new(bytes, std::align_val_t(64));
  }
  void release(void* p) noexcept {
    if (p) ::operator delete(p, std::align_val_t(64));
  }
  void to_host(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void to_target(void* dst, const void* src, size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void synchronize() {}
  void check_launch() {}
};

#endif

// n elements of target memory, released when the owner goes (errors included).
template <class T>
class Buffer {
 public:
  Buffer(Exec& exec, size_t n)
      : exec_(&exec), n_(n), p_(static_cast<T*>(exec.allocate(n * sizeof(T)))) {}
  ~Buffer() { exec_->release(p_); }
  Buffer(Buffer&& other) noexcept : exec_(other.exec_), n_(other.n_), p_(other.p_) {
    other.p_ = nullptr;
    other.n_ = 0;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;
  T* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  Exec* exec_;
  size_t n_;
  T* p_;
};

}  // namespace turborle::gpu::TRLE_TARGET
