"""COCO RLE of masks that live on the GPU.

Segmenters produce masks on the GPU, as booleans or logits. ``turborle.cuda`` encodes them
there, without a boolean tensor, a per-mask loop or a device sync per mask, and decodes RLE
(COCO compressed strings included, parsed and validated on the GPU) straight into device
memory.

==========================================  ====================================================
``encode(x, threshold=None)``               (N, H, W) or (H, W) CUDA masks -> ``RLEBatch``,
                                            identical to ``turborle.encode`` of the same masks
``encode(x, strings=True)``                 -> ``[{"size": [h, w], "counts": str}]`` built on
                                            the GPU, equal to ``turborle.encode(x).to_coco()``
``decode(rles, order="C")``                 ``RLEBatch`` / COCO dicts -> (N, H, W) bool
                                            ``DeviceArray`` (or into ``out=``)
``area(x)``, ``bbox(x, fmt="xywh")``        of dense CUDA masks, as ``DeviceArray``
``is_available()``                          whether a CUDA device can be used
``empty_cache()``                           return the device memory turborle keeps between
                                            calls (at most 256 MiB a device) to the driver
==========================================  ====================================================

Masks come in through DLPack (``__dlpack__``) or ``__cuda_array_interface__``: torch tensors,
CuPy arrays, anything else that speaks either. They must be C-contiguous, bool or uint8
(nonzero is foreground), or float16 / bfloat16 / float32 logits with ``threshold``
(foreground where ``x > threshold``, the threshold rounded to the array's type as torch
rounds it; NaN is background). Results on the device are ``DeviceArray`` objects: pass them to
``torch.from_dlpack`` or ``cupy.from_dlpack``, or call ``.get()`` for a numpy copy.

Work is queued on a CUDA stream: ``stream=`` (an integer handle, a ``torch.cuda.Stream`` or a
CuPy stream), else the current stream of the library the input comes from (torch's or CuPy's),
else the legacy default stream. ``encode`` returns host data, so it waits for its own work;
``decode``, ``area`` and ``bbox`` return at once, their results ordered after the work (a
consumer's stream waits for ours when it imports them through DLPack).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from turborle import _core
from turborle.batch import RLEBatch, from_coco

try:
    from turborle import _cuda
except ImportError:  # built without CUDA (no nvcc at install time, or TURBORLE_CUDA=0)
    _cuda = None  # type: ignore[assignment]

__all__ = ["DeviceArray", "area", "bbox", "decode", "empty_cache", "encode", "is_available"]

if _cuda is not None:
    DeviceArray = _cuda.device.DeviceArray
else:  # pragma: no cover - the name exists for isinstance checks and annotations
    class DeviceArray:  # type: ignore[no-redef]
        """An array in device memory (this build of turborle has no CUDA support)."""


_FLOATS = ("float16", "bfloat16", "float32")
_MASK_TYPES = ("bool", "uint8", *_FLOATS)
# __cuda_array_interface__ type strings of the element types masks may have.
_TYPESTRS = {"|b1": "bool", "|u1": "uint8", "<f2": "float16", "<f4": "float32"}
_TORCH_TYPES: dict[Any, str] = {}  # torch dtype -> name, filled when torch is first seen
_DLPACK_DEVICES = {1: "host memory (CPU)", 2: "CUDA", 3: "pinned host memory (CUDA host)",
                   4: "OpenCL", 7: "Vulkan", 8: "Metal", 10: "ROCm", 13: "CUDA managed memory"}


def is_available() -> bool:
    """Whether turborle was built with CUDA and a CUDA device can be used."""
    return _cuda is not None and _cuda.device.device_count() > 0


def empty_cache() -> None:
    """Return the device memory turborle keeps between calls to the driver.

    The buffers of ``encode`` and ``decode`` come from a stream-ordered pool per device that
    keeps up to 256 MiB mapped after a call (mapping memory afresh costs more than most calls),
    as torch's caching allocator does; this hands it back, as ``torch.cuda.empty_cache()`` does
    for torch's. Results (``DeviceArray``) are not in the pool.
    """
    _require_device().empty_cache()


def _require_device() -> Any:
    if _cuda is None:
        raise RuntimeError("turborle was built without CUDA support: nvcc was not found when it "
                           "was installed (reinstall with TURBORLE_CUDA=1 to insist)")
    if _cuda.device.device_count() == 0:
        raise RuntimeError("no CUDA device is available (no GPU, or no NVIDIA driver)")
    return _cuda.device


def _info() -> dict[str, object]:
    """The CUDA fields of turborle.info()."""
    if _cuda is None:
        return {"cuda_built": False, "cuda_available": False}
    count = _cuda.device.device_count()
    return {
        "cuda_built": True,
        "cuda_available": count > 0,
        "cuda_targets": _cuda.device.targets(),
        "cuda_runtime": _cuda.device.runtime_version(),
        "cuda_driver": _cuda.device.driver_version() or None,
        "cuda_devices": [_cuda.device.device_name(i) for i in range(count)],
    }


# ---- streams and devices ---------------------------------------------------------------------

def _library(x: object) -> str | None:
    """"torch" or "cupy" when x is one of their arrays or, for no x, when one of them is
    imported and sees a GPU (its current device and stream are then the user's)."""
    if x is not None:
        return type(x).__module__.partition(".")[0]
    torch: Any = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return "torch"
    return "cupy" if "cupy" in sys.modules else None


def _current_stream(x: object, device: int) -> int:
    """The current stream of x's library (torch, CuPy), else 0: the legacy default stream."""
    library = _library(x)
    if library == "torch":
        torch: Any = sys.modules["torch"]  # (a torch array means torch is imported)
        return int(torch.cuda.current_stream(device).cuda_stream)
    if library == "cupy":
        cupy: Any = sys.modules["cupy"]
        with cupy.cuda.Device(device):
            return int(cupy.cuda.get_current_stream().ptr)
    return 0


def _stream_handle(stream: Any, x: object, device: int) -> int:
    if stream is None:
        return _current_stream(x, device)
    if isinstance(stream, bool):
        raise TypeError("stream must be a CUDA stream, not a bool")
    if isinstance(stream, (int, np.integer)):
        if stream < 0:
            raise ValueError(f"stream must be a CUDA stream handle (>= 0), got {stream}")
        return int(stream)
    for attribute in ("cuda_stream", "ptr"):  # torch.cuda.Stream, cupy.cuda.Stream
        handle = getattr(stream, attribute, None)
        if isinstance(handle, int):
            return handle
    protocol = getattr(stream, "__cuda_stream__", None)  # CUDA Python's protocol
    if callable(protocol):
        return int(protocol()[1])
    raise TypeError(f"stream must be an int handle, a torch.cuda.Stream or a CuPy stream, got "
                    f"{type(stream).__name__}")


def _dlpack_stream(handle: int) -> int:
    return 1 if handle == 0 else handle  # DLPack spells the legacy default stream 1


def _current_device() -> int:
    library = _library(None)
    if library == "torch":
        return int(sys.modules["torch"].cuda.current_device())
    if library == "cupy":
        return int(sys.modules["cupy"].cuda.Device().id)
    return 0


def _device_index(device: Any) -> int:
    """An ordinal from None, an int, "cuda" / "cuda:N", a torch.device or a CuPy Device."""
    if device is None:
        return _current_device()
    if isinstance(device, str):
        name, _, index = device.partition(":")
        if name != "cuda" or (index and not index.isdigit()):
            raise ValueError(f"device must be 'cuda' or 'cuda:N', got {device!r}")
        return int(index) if index else _current_device()
    if hasattr(device, "type") and hasattr(device, "index"):  # torch.device
        if device.type != "cuda":
            raise ValueError(f"device must be a CUDA device, got {device}")
        return _current_device() if device.index is None else int(device.index)
    if hasattr(device, "id"):  # cupy.cuda.Device
        return int(device.id)
    if isinstance(device, bool) or not isinstance(device, (int, np.integer)):
        raise TypeError(f"device must be an int, 'cuda:N' or a device object, got "
                        f"{type(device).__name__}")
    return int(device)


# ---- dense masks -----------------------------------------------------------------------------

class _Dense:
    """Dense masks on a target, validated: n masks of h x w, C order; keeps owner alive."""

    __slots__ = ("device", "dtype", "h", "n", "owner", "ptr", "stream", "w")

    def __init__(self, ptr: int, shape: tuple[int, ...], dtype: str, device: int, stream: int,
                 owner: object) -> None:
        self.ptr, self.dtype, self.device, self.stream, self.owner = ptr, dtype, device, stream, owner
        self.n, self.h, self.w = (1, *shape) if len(shape) == 2 else shape

    def args(self, threshold: float | None) -> tuple[Any, ...]:
        return (self.ptr, self.n, self.h, self.w, self.dtype, threshold, self.device, self.stream)


def _check_layout(shape: tuple[int, ...], strides: tuple[int, ...] | None, dtype: str,
                  what: str) -> None:
    """Masks must be (H, W) or (N, H, W), of a mask type, C-contiguous (strides in elements)."""
    if dtype not in _MASK_TYPES:
        raise TypeError(f"{what} must be bool, uint8, float16, bfloat16 or float32, got {dtype}")
    if len(shape) not in (2, 3):
        raise ValueError(f"{what} must have shape (H, W) or (N, H, W), got {shape}")
    if strides is not None and not _c_contiguous(shape, strides):
        raise ValueError(f"{what} must be C-contiguous (row-major, no gaps); got strides "
                         f"{strides} (in elements) for shape {shape}: call .contiguous() first")


def _c_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    if 0 in shape:
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _threshold(dtype: str, threshold: Any) -> float | None:
    if dtype in _FLOATS:
        if threshold is None:
            raise ValueError(f"{dtype} masks are logits: give threshold= (foreground where "
                             f"x > threshold)")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(f"threshold must be a real number, got {type(threshold).__name__}")
        value = float(threshold)
        if value != value:
            raise ValueError("threshold must not be NaN")
        return value
    if threshold is not None:
        raise ValueError(f"threshold applies to float logits; {dtype} masks are foreground where "
                         f"nonzero")
    return None


def _host_array_error(x: object, what: str) -> TypeError:
    return TypeError(f"{what} is in host memory ({type(x).__name__}); turborle.cuda works on "
                     f"CUDA arrays (torch, CuPy): use turborle.encode / turborle.area for host "
                     f"arrays, or move it to the GPU")


class _DeviceTarget:
    """The GPU: arrays through DLPack or __cuda_array_interface__, results in DeviceArray."""

    name = "device"

    @property
    def api(self) -> Any:
        return _require_device()

    def dense(self, x: Any, stream: Any, what: str) -> _Dense:
        if isinstance(x, (np.ndarray, list, tuple)):
            raise _host_array_error(x, what)
        if type(x).__module__.startswith("torch"):
            fast = self._torch_dense(x, stream, what)
            if fast is not None:
                return fast
        if getattr(x, "requires_grad", False) and hasattr(x, "detach"):
            x = x.detach()  # (torch exports no tensor that requires grad; nothing is copied)
        if hasattr(x, "__dlpack_device__") and hasattr(x, "__dlpack__"):
            device_type, device = (int(v) for v in x.__dlpack_device__())
            if device_type not in (2, 13):
                if device_type in (1, 3):
                    raise _host_array_error(x, what)
                raise TypeError(f"{what} is on a {_DLPACK_DEVICES.get(device_type, 'non-CUDA')} "
                                f"device; turborle.cuda works on CUDA arrays")
            api = _require_device()
            handle = _stream_handle(stream, x, device)
            imported = api.Imported(x.__dlpack__(stream=_dlpack_stream(handle)))
            shape = tuple(int(s) for s in imported.shape)
            _check_layout(shape, imported.strides, imported.dtype, what)
            return _Dense(imported.ptr, shape, imported.dtype, device, handle, imported)
        interface = getattr(x, "__cuda_array_interface__", None)
        if interface is None:
            raise TypeError(f"{what} must be a CUDA array (torch, CuPy, or anything with "
                            f"__dlpack__ or __cuda_array_interface__), got {type(x).__name__}")
        shape = tuple(int(s) for s in interface["shape"])
        typestr = interface["typestr"]
        if typestr not in _TYPESTRS:
            raise TypeError(f"{what} must be bool, uint8, float16 or float32 (bfloat16 through "
                            f"DLPack), got type string {typestr!r}")
        dtype = _TYPESTRS[typestr]
        size = int(typestr[2:])
        raw = interface.get("strides")
        strides = None if raw is None else tuple(int(s) // size for s in raw)
        if raw is not None and any(int(s) % size for s in raw):
            raise ValueError(f"{what} has strides {raw} that are not whole elements")
        _check_layout(shape, strides, dtype, what)
        api = _require_device()
        ptr = int(interface["data"][0])
        device = api.pointer_device(ptr) if ptr else _current_device()
        if device < 0:
            raise TypeError(f"{what}: __cuda_array_interface__ points to memory that is not on a "
                            f"CUDA device")
        handle = _stream_handle(stream, x, device)
        producer = interface.get("stream")
        if producer is not None and int(producer) not in (handle, -1):
            api.wait(device, handle, 0 if int(producer) == 1 else int(producer))
        return _Dense(ptr, shape, dtype, device, handle, x)

    @staticmethod
    def _torch_dense(x: Any, stream: Any, what: str) -> _Dense | None:
        """A strided CUDA torch tensor read through its own attributes: what DLPack would say,
        without torch's export and our import of a capsule on every call. None for anything
        else (the DLPack path then accepts it or says why not)."""
        torch: Any = sys.modules.get("torch")
        if (torch is None or not isinstance(x, torch.Tensor) or not x.is_cuda
                or x.layout is not torch.strided):
            return None
        if x.is_neg():  # a lazily negated view: its values, not its storage's
            x = x.resolve_neg()
        if not _TORCH_TYPES:
            _TORCH_TYPES.update({torch.bool: "bool", torch.uint8: "uint8",
                                 torch.float16: "float16", torch.bfloat16: "bfloat16",
                                 torch.float32: "float32"})
        dtype = _TORCH_TYPES.get(x.dtype)
        if dtype is None:
            return None
        shape = tuple(x.shape)
        _check_layout(shape, x.stride(), dtype, what)
        api = _require_device()
        device = x.get_device()
        current = int(torch.cuda.current_stream(device).cuda_stream)
        handle = current if stream is None else _stream_handle(stream, x, device)
        if handle != current:  # the given stream waits for the work that made x
            api.wait(device, handle, current)
        return _Dense(x.data_ptr(), shape, dtype, device, handle, x)

    def output(self, out: Any, stream: int | None, shape: tuple[int, int, int],
               column_major: bool) -> tuple[int, int, int, Any]:
        """(ptr, device, stream, owner) of a caller's output array, validated."""
        if isinstance(out, np.ndarray):
            raise _host_array_error(out, "out")
        api = _require_device()
        owner: Any
        if isinstance(out, api.DeviceArray):
            itemsize = 8 if out.dtype in ("uint64", "float64") else 1
            ptr, device, dtype, owner = out.ptr, out.device, out.dtype, out
            strides = tuple(s // itemsize for s in out.strides)
            got = tuple(int(s) for s in out.shape)
            handle = out.stream if stream is None else _stream_handle(stream, None, device)
        elif hasattr(out, "__dlpack__") and hasattr(out, "__dlpack_device__"):
            device_type, device = (int(v) for v in out.__dlpack_device__())
            if device_type not in (2, 13):
                raise _host_array_error(out, "out")
            handle = _stream_handle(stream, out, device)
            owner = api.Imported(out.__dlpack__(stream=_dlpack_stream(handle)))
            ptr, dtype, strides = owner.ptr, owner.dtype, owner.strides
            got = tuple(int(s) for s in owner.shape)
        else:
            raise TypeError(f"out must be a CUDA array with __dlpack__ (torch, CuPy), got "
                            f"{type(out).__name__}")
        _check_output(got, strides, dtype, shape, column_major)
        return ptr, device, handle, owner

    def empty(self, shape: tuple[int, ...], strides: tuple[int, ...], dtype: str, device: int,
              stream: int) -> Any:
        return self.api.DeviceArray(list(shape), list(strides), dtype, device, stream)


class _HostTarget:
    """The host build of the same source, over numpy arrays (the tests run turborle.cuda's code
    through it on machines without a GPU)."""

    name = "host"

    @property
    def api(self) -> Any:
        if _cuda is None:
            raise RuntimeError("turborle was built without CUDA support")
        return _cuda.host

    def dense(self, x: Any, stream: Any, what: str) -> _Dense:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{what} must be a numpy array on the host target")
        dtype = x.dtype.name
        strides = tuple(s // x.itemsize for s in x.strides) if not x.flags.c_contiguous else None
        _check_layout(tuple(x.shape), strides, dtype, what)
        return _Dense(x.ctypes.data, tuple(x.shape), dtype, 0, 0, x)

    def output(self, out: Any, stream: int | None, shape: tuple[int, int, int],
               column_major: bool) -> tuple[int, int, int, Any]:
        if not isinstance(out, np.ndarray):
            raise TypeError("out must be a numpy array on the host target")
        strides = tuple(s // out.itemsize for s in out.strides)
        _check_output(tuple(out.shape), strides, out.dtype.name, shape, column_major)
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        return out.ctypes.data, 0, 0, out

    def empty(self, shape: tuple[int, ...], strides: tuple[int, ...], dtype: str, device: int,
              stream: int) -> Any:
        itemsize = np.dtype(dtype).itemsize
        count = int(np.prod(shape)) if shape else 1
        base = np.empty(count, dtype=dtype)
        return np.lib.stride_tricks.as_strided(base, shape, [s * itemsize for s in strides])


_DEVICE = _DeviceTarget()
_HOST = _HostTarget()
_Target = _DeviceTarget | _HostTarget


def _mask_strides(shape: tuple[int, int, int], column_major: bool) -> tuple[int, int, int]:
    n, h, w = shape
    return (h * w, 1, h) if column_major else (h * w, w, 1)


def _check_output(got: tuple[int, ...], strides: tuple[int, ...] | None, dtype: str,
                  shape: tuple[int, int, int], column_major: bool) -> None:
    if dtype not in ("bool", "uint8"):
        raise TypeError(f"out must be bool or uint8, got {dtype}")
    if got != shape:
        raise ValueError(f"out has shape {got}, expected {shape}")
    want = _mask_strides(shape, column_major)
    if column_major:
        ok = strides is not None and all(s == t or size == 1
                                         for s, t, size in zip(strides, want, shape))
    else:
        ok = strides is None or _c_contiguous(shape, strides)
    if not ok and 0 not in shape:
        raise ValueError("out must be C-contiguous" if not column_major else
                         "out must be the transpose of an (N, W, H) C-contiguous array "
                         "(each mask column-major) for order='F'")


# ---- encode ----------------------------------------------------------------------------------

def encode(x: Any, *, threshold: float | None = None, stream: Any = None,
           strings: bool = False) -> Any:
    """Encode masks that live on the GPU.

    Parameters
    ----------
    x : CUDA array, shape (N, H, W) or (H, W), C-contiguous
        bool or uint8 (nonzero is foreground), or float16 / bfloat16 / float32 logits.
    threshold : float, optional
        For float logits (required): foreground where ``x > threshold``, compared in x's type
        (the threshold rounded to float32, then to x's type, as torch does). No boolean array
        is made.
    stream : optional
        CUDA stream to work on (int handle, torch or CuPy stream); default: the current stream
        of x's library.
    strings : bool
        False: an ``RLEBatch`` (only the counts cross to the host, in one copy). True: the COCO
        compressed strings are built on the GPU and only they cross; returns
        ``[{"size": [h, w], "counts": str}, ...]``, equal to ``turborle.encode(x).to_coco()``.
    """
    return _encode(_DEVICE, x, threshold, stream, strings)


def _encode(target: _Target, x: Any, threshold: Any, stream: Any, strings: bool) -> Any:
    dense = target.dense(x, stream, "masks")
    t = _threshold(dense.dtype, threshold)
    api = target.api
    if strings:
        return _coco_dicts(api.encode_strings(*dense.args(t)), dense)
    columns = api.encode(*dense.args(t))
    sizes = np.full(dense.n, dense.h, dtype=np.uint64), np.full(dense.n, dense.w, dtype=np.uint64)
    return RLEBatch(columns[dense.n + 1:], columns[:dense.n + 1], *sizes)


def _coco_dicts(raw: npt.NDArray[np.uint8], dense: _Dense) -> list[dict[str, Any]]:
    """COCO dicts from encode_strings' bytes: [offsets (n + 1 uint64) | characters]."""
    head = 8 * (dense.n + 1)
    starts = raw[:head].view(np.uint64).tolist()
    text = raw[head:].tobytes().decode("ascii")
    return [{"size": [dense.h, dense.w], "counts": text[starts[i]:starts[i + 1]]}
            for i in range(dense.n)]


# ---- area, bbox ------------------------------------------------------------------------------

def area(x: Any, *, threshold: float | None = None, stream: Any = None) -> Any:
    """Foreground pixels of each mask of dense CUDA masks: a (N,) uint64 ``DeviceArray``.

    ``x`` and ``threshold`` as for :func:`encode`; nothing crosses to the host.
    """
    return _measure(_DEVICE, x, threshold, stream, want_area=True)


def bbox(x: Any, *, threshold: float | None = None, fmt: Literal["xywh", "xyxy"] = "xywh",
         stream: Any = None) -> Any:
    """Tight boxes of dense CUDA masks: a (N, 4) float64 ``DeviceArray``, ``[x, y, w, h]`` or
    ``[x0, y0, x1, y1]`` (exclusive); all zeros for an empty mask (as ``turborle.bbox``)."""
    if fmt not in ("xywh", "xyxy"):
        raise ValueError(f"fmt must be 'xywh' or 'xyxy', got {fmt!r}")
    return _measure(_DEVICE, x, threshold, stream, want_area=False, xyxy=fmt == "xyxy")


def _measure(target: _Target, x: Any, threshold: Any, stream: Any, *, want_area: bool,
             xyxy: bool = False) -> Any:
    dense = target.dense(x, stream, "masks")
    t = _threshold(dense.dtype, threshold)
    if want_area:
        out = target.empty((dense.n,), (1,), "uint64", dense.device, dense.stream)
        pointers = (_pointer(out), 0)
    else:
        out = target.empty((dense.n, 4), (4, 1), "float64", dense.device, dense.stream)
        pointers = (0, _pointer(out))
    try:
        target.api.measure(*dense.args(t), *pointers, xyxy)
    except BaseException:
        out = None  # device memory goes now, not when the traceback does
        raise
    return out


def _pointer(array: Any) -> int:
    return int(array.ctypes.data) if isinstance(array, np.ndarray) else int(array.ptr)


# ---- decode ----------------------------------------------------------------------------------

def decode(rles: Any, *, device: Any = None, order: Literal["C", "F"] = "C", out: Any = None,
           stream: Any = None) -> Any:
    """Decode RLE masks of one size into device memory.

    Parameters
    ----------
    rles : RLEBatch or list of COCO dicts
        Compressed string counts are copied to the GPU as they are and parsed and validated
        there (a bad one raises the ``ValueError`` ``turborle.decode`` raises); uncompressed
        counts are read on the host (``turborle.from_coco``) first.
    device : optional
        CUDA device for the result (int, "cuda:N", torch.device); default: the current one, or
        out's.
    order : "C" or "F"
        "C": each mask row by row (torch's layout); "F": column by column.
    out : CUDA array, optional
        (N, H, W) bool or uint8 to fill instead of allocating: C-contiguous for "C", the
        transpose of an (N, W, H) C-contiguous array for "F". Returned.
    stream : optional
        CUDA stream to work on; default: torch's (or CuPy's) current stream if imported.

    Returns
    -------
    DeviceArray (or out)
        (N, H, W) bool; ``torch.from_dlpack(result)`` gives a tensor without a copy.
    """
    return _decode(_DEVICE, rles, device, order, out, stream)


class _Strings:
    """COCO compressed strings, back to back, with their sizes (not yet parsed)."""

    def __init__(self, chars: bytes, offsets: npt.NDArray[np.uint64],
                 heights: npt.NDArray[np.uint64], widths: npt.NDArray[np.uint64]) -> None:
        self.chars, self.offsets, self.heights, self.widths = chars, offsets, heights, widths

    def args(self) -> tuple[Any, ...]:
        return (self.chars, self.offsets, self.heights, self.widths)


def _source(rles: Any) -> RLEBatch | _Strings:
    """An RLEBatch, or compressed strings to parse on the target (dicts and sizes checked by
    the CPU binding, with its errors)."""
    if isinstance(rles, RLEBatch):
        return rles
    if not isinstance(rles, (list, tuple)):
        raise TypeError(f"rles must be an RLEBatch or a list of COCO RLE dicts, got "
                        f"{type(rles).__name__}")
    strings = _core.coco_strings(rles)
    if strings is None:  # uncompressed counts: read (and checked) on the host
        return from_coco(list(rles))
    return _Strings(*strings)


def _one_size(heights: npt.NDArray[np.uint64], widths: npt.NDArray[np.uint64]) -> Exception | None:
    """Why masks of these sizes cannot be decoded together (turborle.decode's error)."""
    try:
        _core.check_decodable(heights, widths)
    except ValueError as e:
        return e
    return None


def _decode(target: _Target, rles: Any, device: Any, order: str, out: Any, stream: Any) -> Any:
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    column_major = order == "F"
    source = _source(rles)
    if isinstance(source, RLEBatch):
        heights, widths = np.asarray(source.heights), np.asarray(source.widths)
    else:
        heights, widths = source.heights, source.widths
    api = target.api
    problem = _one_size(heights, widths)
    if problem is not None:
        if isinstance(source, _Strings):  # a bad string is reported first, as on the CPU
            dev = _device_or_current(target, device)
            api.parse_strings(*source.args(), dev,
                              _stream_handle(stream, None, dev) if target is _DEVICE else 0)
        raise problem
    shape = (len(heights), int(heights[0]), int(widths[0]))
    if out is not None:
        ptr, dev, handle, owner = target.output(out, stream, shape, column_major)
        if device is not None and target is _DEVICE and _device_index(device) != dev:
            raise ValueError(f"out is on device {dev}, not on the requested device {device}")
        result = out
    else:
        dev = _device_or_current(target, device)
        handle = _stream_handle(stream, None, dev) if target is _DEVICE else 0
        result = target.empty(shape, _mask_strides(shape, column_major), "bool", dev, handle)
        ptr = _pointer(result)
        owner = result
    n, h, w = shape
    try:
        if isinstance(source, RLEBatch):
            api.decode_counts(np.asarray(source.counts), np.asarray(source.offsets), h, w, ptr,
                              column_major, dev, handle)
        else:
            api.decode_strings(*source.args(), ptr, column_major, dev, handle)
    except BaseException:
        owner = result = None  # device memory goes now, not when the traceback does
        raise
    del owner  # (an imported out= is released once the work is queued on its stream)
    return result


def _device_or_current(target: _Target, device: Any) -> int:
    if target is _HOST:
        return 0
    index = _device_index(device)
    count = _require_device().device_count()
    if not 0 <= index < count:
        raise ValueError(f"CUDA device {index} does not exist ({count} available)")
    return index
