// Private binding of turborle's GPU paths (csrc/cuda): the only code here that knows Python.
//
// Two submodules with the same functions: `device` (the nvcc build, CUDA memory and streams)
// and `host` (the host build of the same source, host memory; the tests run it against the
// CPU core). Pointers arrive as integers: turborle/cuda.py turns arrays into them and keeps
// the arrays alive across each call. `device` also has the runtime services: device count and
// names, DLPack import, and DeviceArray (memory for results, exported through DLPack and
// __cuda_array_interface__).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cuda/gpu.hpp"
#include "errors.hpp"

namespace py = pybind11;
namespace gpu = turborle::gpu;
using turborle::InputError;

namespace {

gpu::DType parse_dtype(const std::string& name) {
  if (name == "bool") return gpu::DType::kBool;
  if (name == "uint8") return gpu::DType::kUInt8;
  if (name == "float16") return gpu::DType::kFloat16;
  if (name == "bfloat16") return gpu::DType::kBFloat16;
  if (name == "float32") return gpu::DType::kFloat32;
  throw py::type_error("unsupported element type " + name);
}

gpu::Dense dense(uintptr_t ptr, uint64_t n, uint64_t h, uint64_t w, const std::string& dtype,
                 std::optional<double> threshold) {
  gpu::Dense d;
  d.data = reinterpret_cast<const void*>(ptr);
  d.n = n;
  d.h = h;
  d.w = w;
  d.dtype = parse_dtype(dtype);
  if (gpu::dtype_is_float(d.dtype)) {
    if (!threshold) throw std::invalid_argument("float masks need a threshold");
    d.threshold_key = gpu::threshold_key(*threshold, d.dtype);
  }
  return d;
}

// A uint64 result in host memory, allocated by the pipeline once it knows the size (called
// without the GIL).
struct HostResult {
  py::array_t<uint8_t> array;
  gpu::HostAllocator allocator() {
    return [this](size_t bytes) -> void* {
      py::gil_scoped_acquire gil;
      array = py::array_t<uint8_t>(static_cast<py::ssize_t>(bytes));
      return array.mutable_data();
    };
  }
};

using U64 = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>;

gpu::HostStrings strings(const py::bytes& chars, const U64& offsets, const U64& heights,
                         const U64& widths) {
  gpu::HostStrings s;
  s.n = static_cast<size_t>(heights.size());
  if (offsets.size() != heights.size() + 1 || widths.size() != heights.size())
    throw std::invalid_argument("strings: offsets must have n + 1 entries, widths n");
  s.chars = PyBytes_AS_STRING(chars.ptr());
  s.offsets = offsets.data();
  s.heights = heights.data();
  s.widths = widths.data();
  if (s.offsets[0] != 0 || s.offsets[s.n] != static_cast<uint64_t>(PyBytes_GET_SIZE(chars.ptr())))
    throw std::invalid_argument("strings: offsets do not cover the characters");
  for (size_t i = 0; i < s.n; ++i)
    if (s.offsets[i + 1] < s.offsets[i]) throw std::invalid_argument("strings: offsets decrease");
  return s;
}

// The functions of target_api.inc, bound once per target.
template <auto kEncode, auto kEncodeStrings, auto kMeasure, auto kDecodeCounts,
          auto kDecodeStrings, auto kParseStrings>
void bind_target(py::module_ m) {
  m.def(
      "encode",
      [](uintptr_t ptr, uint64_t n, uint64_t h, uint64_t w, const std::string& dtype,
         std::optional<double> threshold, int device, uintptr_t stream) {
        const gpu::Dense d = dense(ptr, n, h, w, dtype, threshold);
        HostResult result;
        {
          py::gil_scoped_release nogil;  // pure C++ work; the allocator takes the GIL back
          kEncode(d, gpu::Place{device, stream}, result.allocator());
        }
        return result.array.view("uint64");
      },
      "Counts of dense masks: uint64 [offsets (n + 1) | counts].");
  m.def(
      "encode_strings",
      [](uintptr_t ptr, uint64_t n, uint64_t h, uint64_t w, const std::string& dtype,
         std::optional<double> threshold, int device, uintptr_t stream) {
        const gpu::Dense d = dense(ptr, n, h, w, dtype, threshold);
        HostResult result;
        {
          py::gil_scoped_release nogil;
          kEncodeStrings(d, gpu::Place{device, stream}, result.allocator());
        }
        return result.array;
      },
      "COCO strings of dense masks: bytes [offsets (n + 1 uint64) | characters].");
  m.def(
      "measure",
      [](uintptr_t ptr, uint64_t n, uint64_t h, uint64_t w, const std::string& dtype,
         std::optional<double> threshold, int device, uintptr_t stream, uintptr_t area,
         uintptr_t bbox, bool xyxy) {
        const gpu::Dense d = dense(ptr, n, h, w, dtype, threshold);
        py::gil_scoped_release nogil;
        kMeasure(d, gpu::Place{device, stream}, reinterpret_cast<uint64_t*>(area),
                 reinterpret_cast<double*>(bbox), xyxy);
      },
      "Area (n uint64) and/or boxes (n x 4 float64, xywh or xyxy) of dense masks into target "
      "memory (0: not wanted).");
  m.def(
      "decode_counts",
      [](const U64& counts, const U64& offsets, uint64_t h, uint64_t w, uintptr_t out,
         bool column_major, int device, uintptr_t stream) {
        gpu::HostCounts r;
        r.counts = counts.data();
        r.m = static_cast<size_t>(counts.size());
        r.offsets = offsets.data();
        r.n = static_cast<size_t>(offsets.size()) - 1;
        r.h = h;
        r.w = w;
        if (offsets.size() < 1 || offsets.data()[r.n] != r.m)
          throw std::invalid_argument("decode_counts: offsets must end at the number of counts");
        py::gil_scoped_release nogil;
        kDecodeCounts(r, gpu::Place{device, stream}, reinterpret_cast<uint8_t*>(out),
                      column_major);
      },
      "Decodes validated counts of h x w masks into target memory.");
  m.def(
      "decode_strings",
      [](const py::bytes& chars, const U64& offsets, const U64& heights, const U64& widths,
         uintptr_t out, bool column_major, int device, uintptr_t stream) {
        const gpu::HostStrings s = strings(chars, offsets, heights, widths);
        py::gil_scoped_release nogil;
        kDecodeStrings(s, gpu::Place{device, stream}, reinterpret_cast<uint8_t*>(out),
                       column_major);
      },
      "Parses and validates COCO strings on the target, then decodes them into target memory.");
  m.def(
      "parse_strings",
      [](const py::bytes& chars, const U64& offsets, const U64& heights, const U64& widths,
         int device, uintptr_t stream) {
        const gpu::HostStrings s = strings(chars, offsets, heights, widths);
        HostResult result;
        {
          py::gil_scoped_release nogil;
          kParseStrings(s, gpu::Place{device, stream}, result.allocator());
        }
        return result.array.view("uint64");
      },
      "Parses and validates COCO strings on the target: uint64 [offsets (n + 1) | counts].");
}

// ---- DLPack (the ABI of dlpack.h, which is stable) ------------------------------------------

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};
constexpr int32_t kDLCUDA = 2;
constexpr uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6;

std::string dtype_name(const DLDataType& t) {
  if (t.lanes == 1) {
    if ((t.code == kDLBool && t.bits == 8)) return "bool";
    if (t.code == kDLUInt && t.bits == 8) return "uint8";
    if (t.code == kDLFloat && t.bits == 16) return "float16";
    if (t.code == kDLBfloat && t.bits == 16) return "bfloat16";
    if (t.code == kDLFloat && t.bits == 32) return "float32";
    if (t.code == kDLFloat && t.bits == 64) return "float64";
    if (t.code == kDLUInt && t.bits == 64) return "uint64";
    if (t.code == kDLInt) return "int" + std::to_string(t.bits);
    if (t.code == kDLUInt) return "uint" + std::to_string(t.bits);
    if (t.code == kDLFloat) return "float" + std::to_string(t.bits);
  }
  return "dlpack type code " + std::to_string(t.code) + " bits " + std::to_string(t.bits) +
         " lanes " + std::to_string(t.lanes);
}

// A tensor received through DLPack; its producer is told we are done when this goes.
class Imported {
 public:
  explicit Imported(py::capsule capsule) {
    if (!PyCapsule_IsValid(capsule.ptr(), "dltensor"))
      throw py::type_error("expected a DLPack capsule named 'dltensor' (unused)");
    tensor_ = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
    if (!tensor_) throw py::error_already_set();
    if (PyCapsule_SetName(capsule.ptr(), "used_dltensor") != 0) throw py::error_already_set();
  }
  ~Imported() {
    if (tensor_ && tensor_->deleter) tensor_->deleter(tensor_);
  }
  Imported(const Imported&) = delete;
  Imported& operator=(const Imported&) = delete;

  uintptr_t ptr() const {
    return reinterpret_cast<uintptr_t>(tensor_->dl_tensor.data) + tensor_->dl_tensor.byte_offset;
  }
  py::tuple shape() const {
    const DLTensor& t = tensor_->dl_tensor;
    py::tuple out(t.ndim);
    for (int32_t k = 0; k < t.ndim; ++k) out[k] = t.shape[k];
    return out;
  }
  py::object strides() const {  // in elements; None: C-contiguous
    const DLTensor& t = tensor_->dl_tensor;
    if (!t.strides) return py::none();
    py::tuple out(t.ndim);
    for (int32_t k = 0; k < t.ndim; ++k) out[k] = t.strides[k];
    return std::move(out);
  }
  std::string dtype() const { return dtype_name(tensor_->dl_tensor.dtype); }
  int device_type() const { return tensor_->dl_tensor.device.device_type; }
  int device_id() const { return tensor_->dl_tensor.device.device_id; }

 private:
  DLManagedTensor* tensor_ = nullptr;
};

// ---- DeviceArray: device memory for results ---------------------------------------------

struct Allocation {
  void* ptr = nullptr;
  size_t bytes = 0;
  int device = 0;
  Allocation(size_t n, int dev) : bytes(n), device(dev) { ptr = gpu::device::allocate(n, dev); }
  ~Allocation() { gpu::device::free_memory(ptr, device); }
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
};

struct Element {
  std::string name, typestr;
  DLDataType dl;
  size_t size;
};

Element element(const std::string& name) {
  if (name == "bool") return {name, "|b1", {kDLBool, 8, 1}, 1};
  if (name == "uint8") return {name, "|u1", {kDLUInt, 8, 1}, 1};
  if (name == "uint64") return {name, "<u8", {kDLUInt, 64, 1}, 8};
  if (name == "float64") return {name, "<f8", {kDLFloat, 64, 1}, 8};
  throw py::type_error("DeviceArray: unsupported element type " + name);
}

// An array in device memory that turborle.cuda returns. The work that fills it is queued on
// `stream`; consumers get it through DLPack (their stream waits for ours) or
// __cuda_array_interface__ (which names our stream).
class DeviceArray {
 public:
  DeviceArray(std::vector<int64_t> shape, std::vector<int64_t> strides, const std::string& dtype,
              int device, uintptr_t stream)
      : shape_(std::move(shape)), strides_(std::move(strides)), element_(element(dtype)),
        stream_(stream) {
    size_t count = 1;
    for (int64_t s : shape_) count *= static_cast<size_t>(s);
    memory_ = std::make_shared<Allocation>(count * element_.size, device);
  }

  uintptr_t ptr() const { return reinterpret_cast<uintptr_t>(memory_->ptr); }
  int device() const { return memory_->device; }
  uintptr_t stream() const { return stream_; }
  size_t nbytes() const { return memory_->bytes; }
  const std::string& dtype() const { return element_.name; }
  py::tuple shape() const { return py::cast(shape_); }
  py::tuple strides() const {  // in bytes, as numpy
    py::tuple out(strides_.size());
    for (size_t k = 0; k < strides_.size(); ++k)
      out[k] = strides_[k] * static_cast<int64_t>(element_.size);
    return out;
  }
  bool c_contiguous() const {
    int64_t expected = 1;
    for (size_t k = shape_.size(); k-- > 0;) {
      if (shape_[k] != 1 && strides_[k] != expected) return false;
      expected *= shape_[k];
    }
    return true;
  }

  // Makes `consumer` (a DLPack stream value) wait for the work queued on ours so far.
  void order_before(py::object consumer) const {
    if (consumer.is_none()) consumer = py::int_(1);  // the legacy default stream
    const int64_t value = consumer.cast<int64_t>();
    if (value == -1) return;  // the consumer asked for no synchronisation
    if (value == 0) throw py::value_error("DLPack stream 0 is ambiguous; use 1 (legacy default)");
    const uintptr_t waiter = static_cast<uintptr_t>(value);
    if (waiter == stream_ || (waiter == 1 && stream_ == 0)) return;
    const uintptr_t event = gpu::device::record_event(device(), stream_);
    try {
      gpu::device::wait_event(device(), waiter, event);
    } catch (...) {
      gpu::device::destroy_event(event);
      throw;
    }
    gpu::device::destroy_event(event);  // (released once it has completed)
  }

  py::capsule dlpack(py::object stream) const {
    order_before(std::move(stream));
    struct Context {
      std::shared_ptr<Allocation> memory;
      std::vector<int64_t> shape, strides;
      DLManagedTensor tensor;
    };
    auto* ctx = new Context{memory_, shape_, strides_, {}};
    DLManagedTensor& t = ctx->tensor;
    t.dl_tensor.data = memory_->ptr;
    t.dl_tensor.device = {kDLCUDA, memory_->device};
    t.dl_tensor.ndim = static_cast<int32_t>(shape_.size());
    t.dl_tensor.dtype = element_.dl;
    t.dl_tensor.shape = ctx->shape.data();
    t.dl_tensor.strides = ctx->strides.data();
    t.dl_tensor.byte_offset = 0;
    t.manager_ctx = ctx;
    t.deleter = [](DLManagedTensor* self) { delete static_cast<Context*>(self->manager_ctx); };
    return py::capsule(&t, "dltensor", [](PyObject* capsule) {
      // Never consumed: the capsule still owns the tensor.
      if (PyCapsule_IsValid(capsule, "dltensor")) {
        auto* tensor = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
        tensor->deleter(tensor);
      } else {
        PyErr_Clear();
      }
    });
  }

  py::dict cuda_array_interface() const {
    py::dict d;
    d["shape"] = shape();
    d["typestr"] = element_.typestr;
    d["data"] = py::make_tuple(ptr(), false);
    d["strides"] = c_contiguous() ? py::object(py::none()) : py::object(strides());
    d["version"] = 3;
    d["stream"] = stream_ == 0 ? uintptr_t(1) : stream_;
    return d;
  }

  // A host copy (numpy), once the work on our stream is done.
  py::array get() const {
    std::vector<py::ssize_t> shape(shape_.begin(), shape_.end());
    std::vector<py::ssize_t> strides;
    for (int64_t s : strides_) strides.push_back(static_cast<py::ssize_t>(s * element_.size));
    py::array out(py::dtype(element_.name == "bool" ? "bool" : element_.name), shape, strides);
    const gpu::Place where{device(), stream_};
    void* dst = out.mutable_data();
    {
      py::gil_scoped_release nogil;
      gpu::device::copy_to_host(dst, memory_->ptr, memory_->bytes, where);
    }
    return out;
  }

 private:
  std::vector<int64_t> shape_, strides_;
  Element element_;
  uintptr_t stream_;
  std::shared_ptr<Allocation> memory_;
};

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "Private binding of turborle's GPU paths; use turborle.cuda.";
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const gpu::OutOfDeviceMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const InputError& e) {
      // Bad input: turborle.RLEError, built by the CPU binding's factory (same attributes).
      const py::object factory = py::module_::import("turborle._core").attr("_input_error");
      auto index = [](size_t i) { return i == InputError::kNone ? Py_ssize_t(-1) : Py_ssize_t(i); };
      const py::object error = factory(py::bytes(e.what()), py::bytes(e.reason()), py::bytes(e.item()),
                                       index(e.index()), index(e.offset()),
                                       e.kind() == InputError::Kind::kTooLarge);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    }
  });

  py::module_ device = m.def_submodule("device", "The nvcc build: CUDA memory and streams.");
  bind_target<&gpu::device::encode, &gpu::device::encode_strings, &gpu::device::measure,
              &gpu::device::decode_counts, &gpu::device::decode_strings,
              &gpu::device::parse_strings>(device);
  py::module_ host = m.def_submodule("host", "The host build of the same source: host memory.");
  bind_target<&gpu::host::encode, &gpu::host::encode_strings, &gpu::host::measure,
              &gpu::host::decode_counts, &gpu::host::decode_strings,
              &gpu::host::parse_strings>(host);

  device.def("device_count", &gpu::device::device_count, "CUDA devices usable (0: none).");
  device.def("runtime_version", &gpu::device::runtime_version, "CUDA runtime built with.");
  device.def("driver_version", &gpu::device::driver_version, "CUDA driver ('' when none).");
  device.def("device_name", &gpu::device::device_name, py::arg("device"));
  device.def("empty_cache", &gpu::device::empty_cache,
             "Returns the memory turborle's device pools keep between calls to the driver.");
  device.def("targets", &gpu::device::targets, "GPU code in this module (sm_XX, compute_XX).");
  device.def("pointer_device", &gpu::device::pointer_device, py::arg("ptr"),
             "Device of a pointer, -1 when it is not device memory.");
  device.def(
      "wait",
      [](int dev, uintptr_t waiter, uintptr_t producer) {
        if (waiter == producer) return;
        const uintptr_t event = gpu::device::record_event(dev, producer);
        try {
          gpu::device::wait_event(dev, waiter, event);
        } catch (...) {
          gpu::device::destroy_event(event);
          throw;
        }
        gpu::device::destroy_event(event);
      },
      py::arg("device"), py::arg("waiter"), py::arg("producer"),
      "Makes stream `waiter` wait for the work queued on `producer` so far.");
  device.def(
      "synchronize",
      [](int dev, uintptr_t stream) {
        py::gil_scoped_release nogil;
        gpu::device::synchronize(dev, stream);
      },
      py::arg("device"), py::arg("stream"));
  device.def(
      "transition_pass_ms",
      [](uintptr_t ptr, uint64_t n, uint64_t h, uint64_t w, const std::string& dtype,
         std::optional<double> threshold, int dev, uintptr_t stream, int repeats) {
        const gpu::Dense d = dense(ptr, n, h, w, dtype, threshold);
        py::gil_scoped_release nogil;
        return gpu::device::transition_pass_ms(d, gpu::Place{dev, stream}, repeats);
      },
      "Median milliseconds (CUDA events) of encode's transition pass alone.");

  py::class_<Imported>(device, "Imported", "A tensor received through DLPack.")
      .def(py::init<py::capsule>())
      .def_property_readonly("ptr", &Imported::ptr)
      .def_property_readonly("shape", &Imported::shape)
      .def_property_readonly("strides", &Imported::strides)
      .def_property_readonly("dtype", &Imported::dtype)
      .def_property_readonly("device_type", &Imported::device_type)
      .def_property_readonly("device_id", &Imported::device_id);

  py::class_<DeviceArray>(device, "DeviceArray",
                          "An array in device memory returned by turborle.cuda: use it through "
                          "DLPack (torch.from_dlpack, cupy.from_dlpack) or "
                          "__cuda_array_interface__; get() copies it to the host.")
      .def(py::init<std::vector<int64_t>, std::vector<int64_t>, const std::string&, int,
                    uintptr_t>(),
           py::arg("shape"), py::arg("strides"), py::arg("dtype"), py::arg("device"),
           py::arg("stream"))
      .def_property_readonly("ptr", &DeviceArray::ptr)
      .def_property_readonly("device", &DeviceArray::device)
      .def_property_readonly("stream", &DeviceArray::stream)
      .def_property_readonly("nbytes", &DeviceArray::nbytes)
      .def_property_readonly("dtype", &DeviceArray::dtype)
      .def_property_readonly("shape", &DeviceArray::shape)
      .def_property_readonly("strides", &DeviceArray::strides)
      .def_property_readonly("__cuda_array_interface__", &DeviceArray::cuda_array_interface)
      .def(
          "__dlpack__",
          [](const DeviceArray& a, py::object stream, py::object max_version, py::object dl_device,
             py::object copy) {
            if (!dl_device.is_none()) {
              auto dev = dl_device.cast<std::pair<int, int>>();
              if (dev.first != kDLCUDA || dev.second != a.device())
                throw py::buffer_error("DeviceArray lives on CUDA device " +
                                       std::to_string(a.device()) + "; it cannot be exported "
                                       "to another device");
            }
            if (!copy.is_none() && copy.cast<bool>())
              throw py::buffer_error("DeviceArray does not export copies");
            (void)max_version;  // a legacy (unversioned) capsule is returned
            return a.dlpack(std::move(stream));
          },
          py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
          py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__",
           [](const DeviceArray& a) { return py::make_tuple(kDLCUDA, a.device()); })
      .def("get", &DeviceArray::get, "A host copy (numpy array), after the queued work.")
      .def("__repr__", [](const DeviceArray& a) {
        std::string s = "<turborle.cuda.DeviceArray " + a.dtype() + " shape=(";
        const py::tuple shape = a.shape();
        for (size_t k = 0; k < shape.size(); ++k)
          s += (k ? ", " : "") + py::str(shape[k]).cast<std::string>();
        return s + (shape.size() == 1 ? ",)" : ")") + " on cuda:" + std::to_string(a.device()) +
               ">";
      });
}
