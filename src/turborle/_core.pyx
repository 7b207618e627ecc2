# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private binding of the C++ core (csrc/).

Thin on purpose: it turns Python objects into views of their memory, releases the GIL
around each core call, and turns results back into Python objects. Validation of untrusted
bytes happens in the core; type checks of Python objects happen here.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.ref cimport Py_INCREF
from libc.stdlib cimport getenv
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


def _count_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


_CPUS = _count_cpus()  # once: asking the OS costs more than a small call into the core


def cpu_count():
    """CPUs this process could run on when turborle was imported."""
    return _CPUS


_env_cache = {}


cdef object _env_int(str name, object default):
    """Integer setting from the environment, 1 .. 2**62; parsed once per distinct value.
    Every call reads it (with C getenv, which sees os.environ's changes: they go through
    putenv), so a changed variable takes effect at once."""
    cdef const char* found = getenv(name.encode())
    if found == NULL:
        return default
    raw = (<bytes> found).decode("utf-8", "replace")
    key = (name, raw)
    value = _env_cache.get(key)
    if value is None:
        text = raw.strip()
        if not text:
            value = default
        else:
            try:
                value = int(text)
            except ValueError:
                value = 0
            if not 1 <= value <= _MAX_DIM:
                raise ValueError(f"{name} must be an integer from 1 to 2**62, got {raw!r}")
        if len(_env_cache) > 64:
            _env_cache.clear()
        _env_cache[key] = value
    return value


def default_threads():
    """Threads a call uses when not told: TURBORLE_NUM_THREADS, else every CPU."""
    return _env_int("TURBORLE_NUM_THREADS", _CPUS)


def max_pixels():
    """Pixels per mask above which decoding and row-major fal conversion are refused:
    TURBORLE_MAX_PIXELS, else 2**31."""
    return _env_int("TURBORLE_MAX_PIXELS", 2 ** 31)


cdef Config _config(object threads) except *:
    cdef Config cfg
    cfg.isa = _isa
    cfg.max_pixels = max_pixels()
    if threads is None:
        threads = default_threads()
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    cfg.threads = min(threads, 1024)
    return cfg


cdef object _view(object owner, const void* data, Py_ssize_t n, int typenum):
    """A read-only 1-D numpy array over memory that `owner` keeps alive."""
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    arr = cnp.PyArray_SimpleNewFromData(1, dims, typenum, <void*> data)
    Py_INCREF(owner)
    cnp.PyArray_SetBaseObject(arr, owner)
    cnp.PyArray_CLEARFLAGS(arr, cnp.NPY_ARRAY_WRITEABLE)
    return arr


cdef class RLEs:
    """A batch of RLE masks held by the core in columnar form (private type)."""

    cdef Batch batch

    def __len__(self):
        return self.batch.size()

    def arrays(self):
        """(counts, offsets, heights, widths): read-only uint64 views, no copy."""
        cdef size_t n = self.batch.size()
        return (
            _view(self, self.batch.counts.data(), self.batch.counts.size(), cnp.NPY_UINT64),
            _view(self, self.batch.offsets.data(), n + 1, cnp.NPY_UINT64),
            _view(self, self.batch.h.data(), n, cnp.NPY_UINT64),
            _view(self, self.batch.w.data(), n, cnp.NPY_UINT64),
        )



cdef object _u64(object values, str what):
    """values as a contiguous uint64 array, validated: a flat sequence of integers in
    [0, 2**62] (`what` names it in messages, e.g. "mask 3: counts")."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a flat sequence of integers, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if arr.dtype.kind == "O":  # Python ints beyond 64 bits, or mixed objects
        for j, c in enumerate(arr):
            if not isinstance(c, (int, np.integer)) or isinstance(c, bool):
                raise TypeError(f"{what}[{j}] is not an integer ({c!r})")
            if c < 0 or c > _MAX_DIM:
                raise ValueError(f"{what}[{j}] = {c} is out of range")
    elif arr.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got {arr.dtype}")
    elif arr.dtype.kind == "i" and arr.min() < 0:
        j = int(np.argmax(arr < 0))
        raise ValueError(f"{what}[{j}] is negative ({arr[j]})")
    return np.ascontiguousarray(arr, dtype=np.uint64)


def from_arrays(counts, offsets, heights, widths):
    """RLEs from columns (validated: sizes, offsets and every mask's counts sum)."""
    c = _u64(counts, "counts")
    o = _u64(offsets, "offsets")
    hh = _u64(heights, "heights")
    ww = _u64(widths, "widths")
    cdef size_t n = len(hh)
    if len(ww) != n:
        raise ValueError(f"heights has {n} entries but widths has {len(ww)}")
    if len(o) != n + 1:
        raise ValueError(f"offsets must have {n + 1} entries (one more than masks), got {len(o)}")
    cdef const uint64_t* pc = <const uint64_t*> cnp.PyArray_DATA(c)
    cdef const uint64_t* po = <const uint64_t*> cnp.PyArray_DATA(o)
    cdef const uint64_t* ph = <const uint64_t*> cnp.PyArray_DATA(hh)
    cdef const uint64_t* pw = <const uint64_t*> cnp.PyArray_DATA(ww)
    cdef size_t m = len(c)
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.from_columns(pc, m, po, ph, pw, n)
    return out


def take(RLEs rles not None, index):
    """The masks at `index` (non-negative ints), as new RLEs."""
    idx = _u64(index, "index")
    cdef const uint64_t* p = <const uint64_t*> cnp.PyArray_DATA(idx)
    cdef size_t k = len(idx)
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.take(BatchView(rles.batch), p, k)
    return out


def concat(list parts not None):
    """All masks of several RLEs, in order."""
    cdef RLEs out = RLEs()
    cdef RLEs part
    for part in parts:
        if part is None:
            raise TypeError("concat: expected RLEs, got None")
        with nogil:
            cpp.append(out.batch, BatchView(part.batch))
    return out


def complement(RLEs rles not None, threads=None):
    """Every mask with foreground and background swapped."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.complement(BatchView(rles.batch), cfg)
    return out


cdef uint64_t _dim(object value, str what) except? 0:
    if type(value) is int and 0 <= <object> value <= _MAX_DIM:
        return value
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


cdef int _size(object obj, Py_ssize_t index, uint64_t* h, uint64_t* w) except -1:
    if type(obj) is list and len(<list> obj) == 2:
        hv, wv = (<list> obj)[0], (<list> obj)[1]
        if type(hv) is int and type(wv) is int and 0 <= hv <= _MAX_DIM and 0 <= wv <= _MAX_DIM:
            h[0], w[0] = hv, wv  # the common case: no message to build
        else:
            h[0] = _dim(hv, f"mask {index}: height")
            w[0] = _dim(wv, f"mask {index}: width")
    else:
        try:
            n = len(obj)
        except TypeError:
            raise TypeError(f"mask {index}: 'size' must be a sequence [h, w], got "
                            f"{type(obj).__name__}") from None
        if n != 2:
            raise ValueError(f"mask {index}: 'size' must have two entries [h, w], got {n}")
        h[0] = _dim(obj[0], f"mask {index}: height")
        w[0] = _dim(obj[1], f"mask {index}: width")
    cpp.check_size(h[0], w[0])
    return 0


cdef list _sources(object objs, vector[Source]& sources):
    """Fills `sources` from COCO dicts; returns the objects that own the memory they use."""
    cdef Py_ssize_t n = len(objs), i
    cdef uint64_t[::1] cv
    sources.resize(n)
    keep = []
    for i in range(n):
        obj = objs[i]
        try:
            size = obj["size"]
            counts = obj["counts"]
        except (KeyError, TypeError, IndexError):
            raise TypeError(f"mask {i}: expected a dict with 'size' and 'counts', got "
                            f"{type(obj).__name__}") from None
        _size(size, i, &sources[i].h, &sources[i].w)
        if type(counts) is str:
            try:
                counts = (<str> counts).encode("ascii")
            except UnicodeEncodeError:
                raise ValueError(f"mask {i}: counts string has non-ASCII characters") from None
            keep.append(counts)
        if type(counts) is bytes or isinstance(counts, bytes):
            sources[i].data = PyBytes_AS_STRING(counts)
            sources[i].len = PyBytes_GET_SIZE(counts)
        elif isinstance(counts, (list, tuple, np.ndarray)):
            arr = _u64(counts, f"mask {i}: counts")
            keep.append(arr)
            if arr.size:  # (no counts reads the same as an empty string)
                cv = arr
                sources[i].counts = &cv[0]
                sources[i].m = arr.size
        else:
            raise TypeError(f"mask {i}: 'counts' must be str, bytes or a list of integers, "
                            f"got {type(counts).__name__}")
    return keep


def from_objects(objs, threads=None):
    """COCO dicts ({'size': [h, w], 'counts': str | bytes | list}) -> RLEs."""
    cdef vector[Source] sources
    keep = _sources(objs, sources)  # (objs itself keeps the bytes alive)
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:  # parsing and validation only touch the buffers kept above
        out.batch = cpp.read_sources(sources.data(), sources.size(), cfg)
    return out


def measure_objects(objs, bint want_area, bint want_bbox, threads=None):
    """(area uint64 or None, bbox (n, 4) float64 or None) of COCO dicts, storing no counts."""
    cdef vector[Source] sources
    keep = _sources(objs, sources)
    cdef size_t n = sources.size()
    areas = np.empty(n, dtype=np.uint64) if want_area else None
    boxes = np.empty((n, 4), dtype=np.float64) if want_bbox else None
    cdef uint64_t* pa = <uint64_t*> cnp.PyArray_DATA(areas) if want_area else NULL
    cdef double* pb = <double*> cnp.PyArray_DATA(boxes) if want_bbox else NULL
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.measure_sources(sources.data(), n, pa, pb, cfg)
    return areas, boxes


def from_fal(list texts not None, h, w, uint64_t start_base, bint row_major, threads=None):
    """fal / Kaggle 'start length' texts of (h, w) masks -> RLEs."""
    cdef uint64_t hh = _dim(h, "height"), ww = _dim(w, "width")
    cpp.check_size(hh, ww)
    cdef Py_ssize_t n = len(texts), i
    cdef vector[Source] sources
    sources.resize(n)
    keep = []
    for i in range(n):
        text = texts[i]
        if isinstance(text, str):
            try:
                text = (<str> text).encode("ascii")
            except UnicodeEncodeError:
                raise ValueError(f"mask {i}: fal text has non-ASCII characters") from None
        if not isinstance(text, bytes):
            raise TypeError(f"mask {i}: fal text must be str or bytes, got {type(text).__name__}")
        keep.append(text)
        sources[i].data = PyBytes_AS_STRING(text)
        sources[i].len = PyBytes_GET_SIZE(text)
        sources[i].h = hh
        sources[i].w = ww
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.read_fal(sources.data(), n, start_base, row_major, cfg)
    return out


def to_fal(RLEs rles not None, uint64_t start_base, bint row_major, threads=None):
    """RLEs -> list of fal / Kaggle 'start length' texts (str)."""
    cdef vector[string] texts
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.write_fal(BatchView(rles.batch), start_base, row_major, texts, cfg)
    return [t.decode("ascii") for t in texts]


def to_objects(RLEs rles not None, threads=None):
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


def decode(RLEs rles not None, bint fortran, out=None, threads=None, bint transposed=False):
    """RLEs of one size -> (h, w, n) Fortran array (fortran) or (n, h, w) C array, uint8.

    transposed (with fortran false): an (n, w, h) C array holding each mask column-major.
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
    cdef Config cfg = _config(threads)
    cpp.check_pixel_limit(h, w, cfg, 0)  # before allocating
    if fortran:
        shape = (int(h), int(w), int(n))
    elif transposed:
        shape = (int(n), int(w), int(h))
    else:
        shape = (int(n), int(h), int(w))
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
    cdef Order order = Order.kColumnMajor if (fortran or transposed) else Order.kRowMajor
    with nogil:
        cpp.decode(BatchView(rles.batch), data, order, cfg)
    return out


def area(RLEs rles not None, threads=None):
    """Foreground pixel count of each mask, uint64."""
    out = np.empty(rles.batch.size(), dtype=np.uint64)
    cdef uint64_t* data = <uint64_t*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.area(BatchView(rles.batch), data, cfg)
    return out


def bbox(RLEs rles not None, threads=None):
    """(n, 4) float64 xywh tight boxes."""
    out = np.empty((rles.batch.size(), 4), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.bbox(BatchView(rles.batch), data, cfg)
    return out


cdef object _crowd(object crowd, Py_ssize_t n):
    """iscrowd as a contiguous uint8 array of n flags, or None."""
    if crowd is None:
        return None
    flags = np.ascontiguousarray(np.asarray(crowd).astype(bool).astype(np.uint8).ravel())
    if len(flags) != n:
        raise ValueError(f"iscrowd has {len(flags)} entries but there are {n} ground truths")
    return flags


cdef object _boxes(object boxes, str what):
    arr = np.ascontiguousarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{what}: boxes must have shape (n, 4), got {arr.shape}")
    return arr


def iou(RLEs dt not None, RLEs gt not None, crowd, threads=None):
    """(len(dt), len(gt)) IoU with pycocotools' semantics; crowd: uint8 array or None."""
    cdef size_t m = dt.batch.size(), n = gt.batch.size()
    crowd = _crowd(crowd, n)
    cdef const uint8_t* flags = NULL
    if crowd is not None:
        flags = <const uint8_t*> cnp.PyArray_DATA(crowd)
    out = np.empty((m, n), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.iou(BatchView(dt.batch), BatchView(gt.batch), flags, data, cfg)
    return out


def box_iou(dt, gt, crowd):
    """IoU of (m, 4) and (n, 4) xywh boxes (converted to contiguous float64)."""
    a_arr = _boxes(dt, "dt")
    b_arr = _boxes(gt, "gt")
    cdef size_t m = a_arr.shape[0], n = b_arr.shape[0]
    crowd = _crowd(crowd, n)
    cdef const uint8_t* flags = NULL
    if crowd is not None:
        flags = <const uint8_t*> cnp.PyArray_DATA(crowd)
    cdef const double* a = <const double*> cnp.PyArray_DATA(a_arr)
    cdef const double* b = <const double*> cnp.PyArray_DATA(b_arr)
    out = np.empty((m, n), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    with nogil:
        cpp.box_iou(a, m, b, n, flags, data)
    return out


_MERGE_OPS = {"union": MergeOp.kUnion, "intersection": MergeOp.kIntersection,
              "xor": MergeOp.kXor, "difference": MergeOp.kDifference}


def merge(RLEs rles not None, str op, threads=None):
    """Merge all masks into a one-mask RLEs: 'union', 'intersection', 'xor' or 'difference'
    (the first mask minus all the others)."""
    if op not in _MERGE_OPS:
        raise ValueError(f"op must be one of {sorted(_MERGE_OPS)}, got {op!r}")
    cdef MergeOp mop = _MERGE_OPS[op]
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.merge(BatchView(rles.batch), mop, cfg)
    return out


def from_polygons(list polygons not None, h, w):
    """Polygons (flat sequences x0, y0, x1, y1, ...) -> RLEs; each converted to contiguous
    float64 (an odd coordinate count is an error)."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    cdef size_t n = len(polygons), i
    cdef vector[const double*] xy
    cdef vector[size_t] k
    xy.resize(n)
    k.resize(n)
    keep = []
    for i in range(n):
        arr = np.ascontiguousarray(np.asarray(polygons[i], dtype=np.float64).ravel())
        if arr.size % 2:
            raise ValueError(f"polygon {i} has an odd number of coordinates ({arr.size})")
        keep.append(arr)
        xy[i] = <const double*> cnp.PyArray_DATA(arr)
        k[i] = arr.size // 2
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.rasterize_polygons(xy.data(), k.data(), n, hh, ww)
    return out


def from_boxes(boxes, h, w):
    """(n, 4) xywh boxes -> RLEs."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    arr = _boxes(boxes, "boxes")
    cdef const double* data = <const double*> cnp.PyArray_DATA(arr)
    cdef size_t n = arr.shape[0]
    cdef RLEs out = RLEs()
    with nogil:
        out.batch = cpp.rasterize_boxes(data, n, hh, ww)
    return out


# ==== mask operations (csrc/ops.hpp) ==========================================================
# Arguments arrive normalised and range-checked by turborle.ops; the core checks them again
# (connectivity, sizes, boxes) and names the mask in its errors.

from turborle._cpp cimport Morphology, RegionMode, Rings, Shape

_MORPHOLOGY = {"dilate": Morphology.kDilate, "erode": Morphology.kErode,
               "opening": Morphology.kOpen, "closing": Morphology.kClose}
_SHAPES = {"square": Shape.kSquare, "cross": Shape.kCross, "disk": Shape.kDisk}


cdef object _int64_array(const vector[uint64_t]& values):
    out = np.empty(values.size(), dtype=np.int64)
    cdef int64_t[::1] view = out
    cdef size_t i
    for i in range(values.size()):
        view[i] = <int64_t> values[i]
    return out


def connected_components(RLEs rles not None, int connectivity, threads=None):
    """(components RLEs, owner int64 array): every component of every mask."""
    cdef vector[uint64_t] owner
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.connected_components(BatchView(rles.batch), connectivity, owner, cfg)
    return out, _int64_array(owner)


def largest_component(RLEs rles not None, int connectivity, threads=None):
    """The largest component of every mask."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.largest_component(BatchView(rles.batch), connectivity, cfg)
    return out


def fill_holes(RLEs rles not None, uint64_t max_area, int connectivity, threads=None):
    """Holes of at most max_area pixels filled."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.fill_holes(BatchView(rles.batch), max_area, connectivity, cfg)
    return out


def remove_small_islands(RLEs rles not None, uint64_t min_area, int connectivity, threads=None):
    """Components of fewer than min_area pixels removed."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.remove_small_islands(BatchView(rles.batch), min_area, connectivity, cfg)
    return out


def remove_small_regions(RLEs rles not None, uint64_t area_threshold, bint holes, threads=None):
    """(RLEs, changed bool array): segment-anything's remove_small_regions."""
    changed = np.zeros(rles.batch.size(), dtype=np.uint8)
    cdef uint8_t* flags = <uint8_t*> cnp.PyArray_DATA(changed)
    cdef RegionMode mode = RegionMode.kHoles if holes else RegionMode.kIslands
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.remove_small_regions(BatchView(rles.batch), area_threshold, mode, flags, cfg)
    return out, changed.view(np.bool_)


def morphology(RLEs rles not None, str op, str shape, uint64_t size, threads=None):
    """op: 'dilate', 'erode', 'opening', 'closing'; shape: 'square', 'cross', 'disk'."""
    if op not in _MORPHOLOGY:
        raise ValueError(f"op must be one of {sorted(_MORPHOLOGY)}, got {op!r}")
    if shape not in _SHAPES:
        raise ValueError(f"shape must be one of {sorted(_SHAPES)}, got {shape!r}")
    cdef Morphology mop = _MORPHOLOGY[op]
    cdef Shape mshape = _SHAPES[shape]
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.morphology(BatchView(rles.batch), mop, mshape, size, cfg)
    return out


def crop(RLEs rles not None, boxes, threads=None):
    """boxes: int64 array, shape (4,) for every mask or (n, 4), {x, y, width, height}."""
    arr = np.ascontiguousarray(boxes, dtype=np.int64)
    cdef bint per_mask = arr.ndim == 2
    if arr.shape != (4,) and arr.shape != (rles.batch.size(), 4):
        raise ValueError(f"box must have shape (4,) or ({rles.batch.size()}, 4), got {arr.shape}")
    cdef const int64_t* data = <const int64_t*> cnp.PyArray_DATA(arr)
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.crop(BatchView(rles.batch), data, per_mask, cfg)
    return out


def pad(RLEs rles not None, uint64_t top, uint64_t bottom, uint64_t left, uint64_t right,
        threads=None):
    """Background rows and columns added around every mask."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.pad(BatchView(rles.batch), top, bottom, left, right, cfg)
    return out


def flip(RLEs rles not None, int axis, threads=None):
    """axis 0: rows reversed; 1: columns reversed."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.flip(BatchView(rles.batch), axis, cfg)
    return out


def transpose(RLEs rles not None, threads=None):
    """Every mask transposed."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.transpose(BatchView(rles.batch), cfg)
    return out


def rot90(RLEs rles not None, int64_t k, threads=None):
    """numpy.rot90 of every mask."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.rot90(BatchView(rles.batch), k, cfg)
    return out


def resize(RLEs rles not None, uint64_t h, uint64_t w, threads=None):
    """Every mask resampled to (h, w), torch's nearest-exact."""
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.resize(BatchView(rles.batch), h, w, cfg)
    return out


def to_rings(RLEs rles not None, int connectivity, double tolerance, threads=None):
    """(xy (v, 2) int64, ring_start (r + 1,) uint64, mask_start (n + 1,) uint64)."""
    cdef Rings rings
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.to_rings(BatchView(rles.batch), connectivity, tolerance, rings, cfg)
    xy = np.empty((rings.xy.size() // 2, 2), dtype=np.int64)
    cdef int64_t[:, ::1] xy_view = xy
    cdef size_t v
    for v in range(rings.xy.size() // 2):
        xy_view[v, 0] = rings.xy[2 * v]
        xy_view[v, 1] = rings.xy[2 * v + 1]
    ring_start = np.array(rings.ring_start, dtype=np.uint64)
    mask_start = np.array(rings.mask_start, dtype=np.uint64)
    return xy, ring_start, mask_start


def from_rings(xy, ring_start, mask_start, heights, widths, threads=None):
    """Even-odd fill of rings: xy (v, 2) float64, ring_start (r + 1,), mask_start (n + 1,),
    heights and widths (n,), all contiguous uint64 but xy."""
    cdef cnp.ndarray xy_arr = np.ascontiguousarray(xy, dtype=np.float64)
    cdef cnp.ndarray rs = np.ascontiguousarray(ring_start, dtype=np.uint64)
    cdef cnp.ndarray ms = np.ascontiguousarray(mask_start, dtype=np.uint64)
    cdef cnp.ndarray hh = np.ascontiguousarray(heights, dtype=np.uint64)
    cdef cnp.ndarray ww = np.ascontiguousarray(widths, dtype=np.uint64)
    cdef size_t n = len(hh)
    if len(ww) != n or len(ms) != n + 1:
        raise ValueError("from_rings: heights, widths and mask_start disagree on the mask count")
    if ms[0] != 0 or ms[n] + 1 != len(rs) or rs[0] != 0 or rs[len(rs) - 1] * 2 != xy_arr.size:
        raise ValueError("from_rings: ring_start, mask_start and xy disagree")
    cdef const double* pxy = <const double*> cnp.PyArray_DATA(xy_arr)
    cdef const uint64_t* prs = <const uint64_t*> cnp.PyArray_DATA(rs)
    cdef const uint64_t* pms = <const uint64_t*> cnp.PyArray_DATA(ms)
    cdef const uint64_t* ph = <const uint64_t*> cnp.PyArray_DATA(hh)
    cdef const uint64_t* pw = <const uint64_t*> cnp.PyArray_DATA(ww)
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:  # every array above stays referenced until the call returns
        out.batch = cpp.from_rings(pxy, prs, pms, n, ph, pw, cfg)
    return out
