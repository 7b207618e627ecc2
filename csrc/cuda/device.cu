// The device build of the GPU pipelines (pipeline.hpp on thrust's CUDA backend) and the CUDA
// runtime services the binding needs. Compiled by nvcc; the CUDA runtime is linked statically,
// so the module loads on machines without a GPU or driver (device_count() is then 0).
#define TURBORLE_GPU_DEVICE 1

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline.hpp"

#ifndef TURBORLE_CUDA_TARGETS
#define TURBORLE_CUDA_TARGETS "unknown"
#endif

namespace turborle::gpu::device {

void fail(cudaError_t e, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so that later calls do not see it
  const std::string message = std::string("CUDA error in ") + what + ": " +
                              cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) throw OutOfDeviceMemory(message);
  throw DeviceError(message);
}

namespace {
std::mutex pools_mutex;
std::vector<cudaMemPool_t> pools;  // by device ordinal; null until first used
}  // namespace

cudaMemPool_t memory_pool(int device) {
  std::lock_guard<std::mutex> lock(pools_mutex);
  if (device < 0) throw DeviceError("no CUDA device " + std::to_string(device));
  if (pools.size() <= static_cast<size_t>(device)) pools.resize(device + 1, nullptr);
  if (!pools[device]) {
    cudaMemPoolProps props = {};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    cudaMemPool_t pool = nullptr;
    check(cudaMemPoolCreate(&pool, &props), "cudaMemPoolCreate");
    uint64_t keep = kPoolKeep;
    const cudaError_t e = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    if (e != cudaSuccess) {
      cudaMemPoolDestroy(pool);
      fail(e, "cudaMemPoolSetAttribute");
    }
    pools[device] = pool;
  }
  return pools[device];
}

void empty_cache() {
  std::lock_guard<std::mutex> lock(pools_mutex);
  for (size_t device = 0; device < pools.size(); ++device) {
    if (!pools[device]) continue;
    DeviceScope scope(static_cast<int>(device));
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");  // frees queued on streams land
    check(cudaMemPoolTrimTo(pools[device], 0), "cudaMemPoolTrimTo");
  }
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::string runtime_version() {
  int v = CUDART_VERSION;
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::string driver_version() {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess || v == 0) {
    cudaGetLastError();
    return "";
  }
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::string device_name(int device) {
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return prop.name;
}

const char* targets() { return TURBORLE_CUDA_TARGETS; }

void* allocate(size_t bytes, int device) {
  DeviceScope scope(device);
  void* p = nullptr;
  check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc");
  return p;
}

void free_memory(void* p, int device) noexcept {
  if (!p) return;
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) previous = device;
  if (previous != device) cudaSetDevice(device);
  cudaFree(p);  // waits for the device: consumers on any stream are done with it
  if (previous != device) cudaSetDevice(previous);
  cudaGetLastError();
}

int pointer_device(uintptr_t p) {
  cudaPointerAttributes attributes;
  if (cudaPointerGetAttributes(&attributes, reinterpret_cast<const void*>(p)) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  if (attributes.type != cudaMemoryTypeDevice && attributes.type != cudaMemoryTypeManaged)
    return -1;
  return attributes.device;
}

uintptr_t record_event(int device, uintptr_t stream) {
  DeviceScope scope(device);
  cudaEvent_t event;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate");
  const cudaError_t e = cudaEventRecord(event, reinterpret_cast<cudaStream_t>(stream));
  if (e != cudaSuccess) {
    cudaEventDestroy(event);
    fail(e, "cudaEventRecord");
  }
  return reinterpret_cast<uintptr_t>(event);
}

void wait_event(int device, uintptr_t waiter, uintptr_t event) {
  DeviceScope scope(device);
  check(cudaStreamWaitEvent(reinterpret_cast<cudaStream_t>(waiter),
                            reinterpret_cast<cudaEvent_t>(event), 0),
        "cudaStreamWaitEvent");
}

void destroy_event(uintptr_t event) noexcept {
  if (event) cudaEventDestroy(reinterpret_cast<cudaEvent_t>(event));
}

void synchronize(int device, uintptr_t stream) {
  DeviceScope scope(device);
  check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
}

void copy_to_host(void* dst, const void* src, size_t bytes, const Place& where) {
  Exec exec(where);
  exec.to_host(dst, src, bytes);
}

double transition_pass_ms(const Dense& d, const Place& where, int repeats) {
  Exec exec(where);
  if (d.n * d.h * d.w == 0 || repeats < 1) return 0.0;
  std::vector<float> times;
  with_format(d, [&](auto format, auto aligned) {
    using F = decltype(format);
    constexpr bool kAligned = decltype(aligned)::value;
    const auto masks = masks_of<F, kAligned>(d);
    Buffer<uint32_t> bits(exec, d.n * d.w * masks.tiling.blocks);
    const ChangeBits<F, kAligned> pass{masks, bits.data()};
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
    for_each_item(exec, masks.tiling.items(), pass);  // warm-up
    for (int r = 0; r < repeats; ++r) {
      cudaEventRecord(start, exec.stream());
      for_each_item(exec, masks.tiling.items(), pass);
      cudaEventRecord(stop, exec.stream());
      const cudaError_t e = cudaEventSynchronize(stop);
      float ms = 0;
      if (e == cudaSuccess) cudaEventElapsedTime(&ms, start, stop);
      times.push_back(ms);
      if (e != cudaSuccess) {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        fail(e, "timing the transition pass");
      }
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  });
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace turborle::gpu::device
