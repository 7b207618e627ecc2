// turborle GPU paths: the interface the binding sees (plain C++17: no CUDA, thrust or Python
// headers).
//
// The algorithms behind it (pipeline.hpp, passes.hpp) are written once and compiled for two
// targets with the same functions:
//   turborle::gpu::device  nvcc, thrust's CUDA backend: pointers to masks and outputs are
//                          device memory; work is queued on the caller's stream.
//   turborle::gpu::host    a plain C++ compiler, thrust's serial CPP backend: the same
//                          pointers are host memory. The default test suite runs this build
//                          against the CPU core, so every pass is checked without a GPU.
// Results that go to the host (counts, strings) are written into memory the caller allocates
// once the size is known (HostAllocator), in one copy.
//
// Failures: bad input throws std::invalid_argument (message naming the mask and the byte, as
// the CPU core words it); a failed CUDA call throws DeviceError; running out of device memory
// throws OutOfDeviceMemory. Every target buffer is released on every path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace turborle::gpu {

// Element type of dense masks. Bool and uint8: nonzero is foreground. Floats: foreground where
// the value is greater than the threshold (NaN never is).
enum class DType : int { kBool = 0, kUInt8 = 1, kFloat16 = 2, kBFloat16 = 3, kFloat32 = 4 };

size_t dtype_size(DType t);
bool dtype_is_float(DType t);

// The threshold as the comparison key of a value of type t (see passes.hpp): the threshold
// is rounded to float32 and then to t, as torch and numpy round a Python float compared with
// a tensor of that type. Throws std::invalid_argument for NaN.
int32_t threshold_key(double threshold, DType t);

// n dense masks of h x w on the target, C order: element (i, y, x) lies at
// data + ((i*h + y)*w + x) * dtype_size(dtype).
struct Dense {
  const void* data = nullptr;
  uint64_t n = 0, h = 0, w = 0;
  DType dtype = DType::kUInt8;
  int32_t threshold_key = 0;  // floats only
};

// Where the work runs: device ordinal and stream (a cudaStream_t; 0 is the legacy default
// stream). The host target ignores both.
struct Place {
  int device = 0;
  uintptr_t stream = 0;
};

// RLE counts in host memory (validated by the caller): mask i has counts
// [offsets[i], offsets[i+1]); every mask is h x w.
struct HostCounts {
  const uint64_t* counts = nullptr;
  size_t m = 0;
  const uint64_t* offsets = nullptr;  // n + 1 entries
  size_t n = 0;
  uint64_t h = 0, w = 0;
};

// COCO compressed strings in host memory, untrusted: string i is
// chars[offsets[i] .. offsets[i+1]) of a heights[i] x widths[i] mask (each size already
// checked to be at most 2^62 pixels).
struct HostStrings {
  const char* chars = nullptr;
  const uint64_t* offsets = nullptr;  // n + 1 entries, offsets[n] = number of chars
  const uint64_t* heights = nullptr;
  const uint64_t* widths = nullptr;
  size_t n = 0;
};

// Called once with the number of bytes a result needs in host memory; returns that memory.
using HostAllocator = std::function<void*(size_t bytes)>;

class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class OutOfDeviceMemory : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

// What went wrong in a COCO string, found by the parser on the target (status code; the host
// turns it into the CPU core's message).
struct ParseError {
  enum Kind : uint32_t {
    kNone = 0,
    kAlphabet,   // byte `a` at offset `pos` outside '0'..'o'
    kTruncated,  // string ends inside the value starting at byte `a`
    kTooLong,    // value starting at byte `a` has more than 13 groups
    kRange,      // 13-group value (count `b`, at byte `a`) outside int64
    kOverSum,    // count `b` at byte `a` makes the counts sum to more than h*w
    kNegative,   // count `b` at byte `a` is negative
    kSum,        // the counts sum to `a`, not h*w
  };
  uint64_t mask = ~uint64_t(0);  // which mask (kNone: none)
  uint64_t pos = 0;              // byte offset in that mask's string where the error is met
  uint32_t order = 0;            // order among errors met at one byte
  uint32_t kind = kNone;
  uint64_t a = 0, b = 0;
};
// Throws std::invalid_argument worded as the CPU core words the same error ("mask i: ...").
[[noreturn]] void throw_parse_error(const ParseError& e, const HostStrings& s);

// Targets -----------------------------------------------------------------------------------
// The same functions, once per target (target_api.inc).
namespace device {
#include "target_api.inc"
}  // namespace device
namespace host {
#include "target_api.inc"
}  // namespace host

// Device-only services (the host target needs none): runtime, memory for results, streams.
namespace device {
// CUDA devices usable by this process (0 with no GPU or no driver).
int device_count();
// "13.0" (the runtime this module was built with) and the driver's version ("" when none).
std::string runtime_version();
std::string driver_version();
// Name of a device ("NVIDIA H200").
std::string device_name(int device);
// The GPU code this module holds ("sm_80 sm_90 compute_90").
const char* targets();
// Returns the device memory turborle's pool keeps between calls (up to 256 MiB a device) to
// the driver.
void empty_cache();
// Device memory for results, from cudaMalloc; free_memory waits for the device first.
void* allocate(size_t bytes, int device);
void free_memory(void* p, int device) noexcept;
// Device of a pointer (-1 when it is not device memory).
int pointer_device(uintptr_t p);
// An event recorded on `stream` now; `waiter` waits for it; events are destroyed with
// destroy_event. Used to order a consumer's stream after the work that produced an array.
uintptr_t record_event(int device, uintptr_t stream);
void wait_event(int device, uintptr_t waiter, uintptr_t event);
void destroy_event(uintptr_t event) noexcept;
void synchronize(int device, uintptr_t stream);
// Copies bytes from device memory to host memory (waits).
void copy_to_host(void* dst, const void* src, size_t bytes, const Place& where);
// Milliseconds (median of `repeats`, CUDA events) of the transition pass of encode alone: one
// read of every mask element. Benchmarks divide the bytes read by it.
double transition_pass_ms(const Dense& masks, const Place& where, int repeats);
}  // namespace device

}  // namespace turborle::gpu
