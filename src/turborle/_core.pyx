# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private binding of the C++ core (csrc/).

Thin on purpose: it turns Python objects into views of their memory, releases the GIL
around each core call, and turns results back into Python objects. Validation of untrusted
bytes happens in the core; type checks of Python objects happen here.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint64_t
from libcpp.string cimport string
from libcpp.vector cimport vector

from turborle cimport _cpp as cpp
from turborle._cpp cimport Batch, BatchView, Config, Isa, MaskView, MergeOp, Order, Source, count_t

import operator
import os

import numpy as np

cimport numpy as cnp

cnp.import_array()

_MAX_DIM = 2 ** 62


# ---- how calls run: SIMD level and threads -------------------------------------------------

cdef Isa _isa = cpp.detect_isa()
if os.environ.get("TURBORLE_SIMD"):
    _isa = cpp.parse_isa(os.environ["TURBORLE_SIMD"].strip().lower().encode())


def simd_level():
    """SIMD level in use: 'scalar', 'neon', 'avx2' or 'avx512'."""
    return cpp.isa_name(_isa).decode()


def best_simd_level():
    """Best SIMD level this CPU supports."""
    return cpp.isa_name(cpp.detect_isa()).decode()


def _set_simd(name):
    """Switch the SIMD level for later calls (tests compare the paths); returns the old one."""
    global _isa
    old = simd_level()
    _isa = cpp.parse_isa(name.encode())
    return old


def cpu_count():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads():
    """Threads a call uses when not told: TURBORLE_NUM_THREADS, else every CPU."""
    value = os.environ.get("TURBORLE_NUM_THREADS", "").strip()
    if not value:
        return cpu_count()
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"TURBORLE_NUM_THREADS must be a positive integer, got {value!r}") from None
    if n < 1:
        raise ValueError(f"TURBORLE_NUM_THREADS must be a positive integer, got {value!r}")
    return n


cdef Config _config(object threads) except *:
    cdef Config cfg
    cfg.isa = _isa
    if threads is None:
        cfg.threads = default_threads()
    else:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        cfg.threads = min(threads, 1024)
    return cfg


cdef class RLEs:
    """A batch of RLE masks held by the core in columnar form (private type)."""

    cdef Batch batch

    def __len__(self):
        return self.batch.size()

    def size(self, Py_ssize_t i):
        """(h, w) of mask i."""
        return (self.batch.h[i], self.batch.w[i])

    def counts(self, Py_ssize_t i):
        """Counts of mask i as a new uint64 array."""
        cdef uint64_t begin = self.batch.offsets[i], end = self.batch.offsets[i + 1]
        out = np.empty(end - begin, dtype=np.uint64)
        cdef uint64_t[::1] view = out
        cdef uint64_t j
        for j in range(begin, end):
            view[j - begin] = self.batch.counts[j]
        return out


cdef uint64_t _dim(object value, str what) except? 0:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got bool")
    try:
        i = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}") from None
    if i < 0:
        raise ValueError(f"{what} must not be negative, got {i}")
    if i > _MAX_DIM:
        raise ValueError(f"{what} = {i} is too large")
    return i


cdef tuple _size(object obj, str what):
    try:
        n = len(obj)
    except TypeError:
        raise TypeError(f"{what}: 'size' must be a sequence [h, w], got "
                        f"{type(obj).__name__}") from None
    if n != 2:
        raise ValueError(f"{what}: 'size' must have two entries [h, w], got {n}")
    h = _dim(obj[0], f"{what}: height")
    w = _dim(obj[1], f"{what}: width")
    cpp.check_size(h, w)
    return h, w


cdef object _uncompressed(object counts, str what):
    """Uncompressed counts as a contiguous uint64 array (validated: integers, >= 0)."""
    arr = np.asarray(counts)
    if arr.ndim != 1:
        raise ValueError(f"{what}: uncompressed counts must be a flat list of integers")
    if arr.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if arr.dtype.kind == "O":  # Python ints beyond 64 bits, or mixed objects
        for j, c in enumerate(arr):
            if not isinstance(c, (int, np.integer)) or isinstance(c, bool):
                raise TypeError(f"{what}: count {j} is not an integer ({c!r})")
            if c < 0 or c > _MAX_DIM:
                raise ValueError(f"{what}: count {j} ({c}) is out of range")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{what}: uncompressed counts must be integers, got {arr.dtype}")
    if arr.dtype.kind == "i" and arr.min() < 0:
        j = int(np.argmax(arr < 0))
        raise ValueError(f"{what}: count {j} is negative ({arr[j]})")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def from_objects(objs, threads=None):
    """COCO dicts ({'size': [h, w], 'counts': str | bytes | list}) -> RLEs."""
    cdef Py_ssize_t n = len(objs), i
    cdef vector[Source] sources
    cdef uint64_t[::1] cv
    sources.resize(n)
    keep = []  # owners of the memory the sources point into
    for i in range(n):
        obj = objs[i]
        what = f"mask {i}"
        try:
            size = obj["size"]
            counts = obj["counts"]
        except (KeyError, TypeError, IndexError):
            raise TypeError(f"{what}: expected a dict with 'size' and 'counts', got "
                            f"{type(obj).__name__}") from None
        h, w = _size(size, what)
        sources[i].h = h
        sources[i].w = w
        if isinstance(counts, str):
            try:
                counts = counts.encode("ascii")
            except UnicodeEncodeError:
                raise ValueError(f"{what}: counts string has non-ASCII characters") from None
        if isinstance(counts, bytes):
            keep.append(counts)
            sources[i].data = PyBytes_AS_STRING(counts)
            sources[i].len = PyBytes_GET_SIZE(counts)
        elif isinstance(counts, (list, tuple, np.ndarray)):
            arr = _uncompressed(counts, what)
            keep.append(arr)
            if arr.size:  # (no counts reads the same as an empty string)
                cv = arr
                sources[i].counts = &cv[0]
                sources[i].m = arr.size
        else:
            raise TypeError(f"{what}: 'counts' must be str, bytes or a list of integers, got "
                            f"{type(counts).__name__}")
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:  # parsing and validation only touch the buffers kept above
        out.batch = cpp.read_sources(sources.data(), n, cfg)
    return out


def to_objects(RLEs rles, threads=None):
    """RLEs -> list of {'size': [h, w], 'counts': bytes}."""
    cdef string buffer
    cdef vector[size_t] offsets
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.write_strings(BatchView(rles.batch), buffer, offsets, cfg)
    cdef size_t i, n = rles.batch.size()
    cdef const char* base = buffer.data()
    return [
        {"size": [rles.batch.h[i], rles.batch.w[i]],
         "counts": PyBytes_FromStringAndSize(base + offsets[i], offsets[i + 1] - offsets[i])}
        for i in range(n)
    ]


def encode(masks, threads=None):
    """(n, h, w) array of any strides, bool or integer (nonzero = foreground) -> RLEs."""
    cdef cnp.ndarray arr = masks
    if arr.ndim != 3:
        raise ValueError(f"encode expects an (n, h, w) array, got {arr.ndim} dimensions")
    if arr.dtype == np.bool_ or arr.dtype == np.int8:
        arr = arr.view(np.uint8)
    elif arr.dtype != np.uint8:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"masks must be bool or numeric, got {arr.dtype}")
        arr = (arr != 0).view(np.uint8)  # a copy: only 1-byte masks are read in place
    cdef MaskView v
    v.data = <const uint8_t*> cnp.PyArray_DATA(arr)
    v.n, v.h, v.w = arr.shape[0], arr.shape[1], arr.shape[2]
    v.stride_n, v.stride_y, v.stride_x = arr.strides[0], arr.strides[1], arr.strides[2]
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.encode(v, cfg)
    return out


def decode(RLEs rles, bint fortran, out=None, threads=None):
    """RLEs of one size -> (h, w, n) Fortran array (fortran) or (n, h, w) C array, uint8.

    out: optional preallocated array of that shape and layout (uint8 or bool) to fill.
    """
    cdef size_t n = rles.batch.size()
    if n == 0:
        raise ValueError("decode needs at least one mask")
    h, w = rles.batch.h[0], rles.batch.w[0]
    for i in range(1, n):
        if rles.batch.h[i] != h or rles.batch.w[i] != w:
            raise ValueError(f"mask {i} has size {rles.batch.h[i]}x{rles.batch.w[i]} but mask 0 "
                             f"has size {h}x{w}; masks decoded together must have one size")
    shape = (int(h), int(w), int(n)) if fortran else (int(n), int(h), int(w))
    if out is None:
        out = np.empty(shape, dtype=np.uint8, order="F" if fortran else "C")
    else:
        if not isinstance(out, np.ndarray) or out.dtype not in (np.uint8, np.bool_):
            raise TypeError("out must be a uint8 or bool numpy array")
        if out.shape != shape:
            raise ValueError(f"out has shape {out.shape}, expected {shape}")
        if not (out.flags.f_contiguous if fortran else out.flags.c_contiguous):
            raise ValueError("out must be " + ("Fortran" if fortran else "C") + "-contiguous")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
    cdef uint8_t* data = <uint8_t*> cnp.PyArray_DATA(out)
    cdef Order order = Order.kColumnMajor if fortran else Order.kRowMajor
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.decode(BatchView(rles.batch), data, order, cfg)
    return out


def area(RLEs rles, threads=None):
    """Foreground pixel count of each mask, uint64."""
    out = np.empty(rles.batch.size(), dtype=np.uint64)
    cdef uint64_t* data = <uint64_t*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.area(BatchView(rles.batch), data, cfg)
    return out


def bbox(RLEs rles, threads=None):
    """(n, 4) float64 xywh tight boxes."""
    out = np.empty((rles.batch.size(), 4), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.bbox(BatchView(rles.batch), data, cfg)
    return out


cdef const uint8_t* _crowd_ptr(object crowd, Py_ssize_t n) except? NULL:
    if crowd is None:
        return NULL
    if len(crowd) != n:
        raise ValueError(f"iscrowd has {len(crowd)} entries but there are {n} ground truths")
    return <const uint8_t*> cnp.PyArray_DATA(crowd)


def iou(RLEs dt, RLEs gt, crowd, threads=None):
    """(len(dt), len(gt)) IoU with pycocotools' semantics; crowd: uint8 array or None."""
    cdef size_t m = dt.batch.size(), n = gt.batch.size()
    cdef const uint8_t* flags = _crowd_ptr(crowd, n)
    out = np.empty((m, n), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.iou(BatchView(dt.batch), BatchView(gt.batch), flags, data, cfg)
    return out


def box_iou(cnp.ndarray dt, cnp.ndarray gt, crowd):
    """IoU of (m, 4) and (n, 4) contiguous float64 xywh boxes."""
    cdef size_t m = dt.shape[0], n = gt.shape[0]
    cdef const uint8_t* flags = _crowd_ptr(crowd, n)
    cdef const double* a = <const double*> cnp.PyArray_DATA(dt)
    cdef const double* b = <const double*> cnp.PyArray_DATA(gt)
    out = np.empty((m, n), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    with nogil:
        cpp.box_iou(a, m, b, n, flags, data)
    return out


def merge(RLEs rles, bint intersect, threads=None):
    """Union (or intersection) of all masks as a one-mask RLEs."""
    cdef MergeOp op = MergeOp.kIntersection if intersect else MergeOp.kUnion
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.merge(BatchView(rles.batch), op, cfg)
    return out


def from_polygons(list polygons, h, w):
    """Polygons (contiguous float64 arrays of x0, y0, x1, y1, ...) -> RLEs."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    cdef size_t n = len(polygons), i
    cdef vector[const double*] xy
    cdef vector[size_t] k
    xy.resize(n)
    k.resize(n)
    for i in range(n):
        p = <cnp.ndarray> polygons[i]
        xy[i] = <const double*> cnp.PyArray_DATA(p)
        k[i] = p.shape[0] // 2
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.rasterize_polygons(xy.data(), k.data(), n, hh, ww)
    return out


def from_boxes(cnp.ndarray boxes, h, w):
    """(n, 4) contiguous float64 xywh boxes -> RLEs."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    cdef const double* data = <const double*> cnp.PyArray_DATA(boxes)
    cdef size_t n = boxes.shape[0]
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.rasterize_boxes(data, n, hh, ww)
    return out
