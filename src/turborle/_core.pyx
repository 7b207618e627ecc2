# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Private binding of the C++ core (csrc/).

Thin on purpose: it turns Python objects into views of their memory, releases the GIL
around each core call, and turns results back into Python objects. Validation of untrusted
bytes happens in the core; type checks of Python objects happen here.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.ref cimport PyObject, Py_INCREF
from cpython.list cimport PyList_GET_ITEM, PyList_New, PyList_SET_ITEM
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble, PyLong_AsLongLongAndOverflow
from libc.stdlib cimport getenv
from libc.string cimport memcpy
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libcpp.string cimport string
from libcpp.utility cimport move
from libcpp.vector cimport vector

from turborle cimport _cpp as cpp
from turborle._cpp cimport Batch, BatchView, Config, Isa, MaskView, MergeOp, Order, Source, count_t

import math
import operator
import os
import sys

import numpy as np

cimport numpy as cnp

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    object PyArray_Scalar(void* data, cnp.dtype descr, object base)

_MAX_DIM = 2 ** 62
cdef long long _MAX_DIM_C = 1LL << 62

# Calls on fewer characters or counts than this take a few microseconds: they keep the GIL,
# which costs less than releasing and taking it back. (Cython's `with nogil(cond)` takes
# only compile-time conditions, hence the two branches at each such call.)
cdef size_t _RELEASE_GIL_FROM = 4096


# ---- errors -----------------------------------------------------------------------------------

class RLEError(ValueError):
    """Bad input: a malformed string, count list, size, polygon or fal text.

    A ``ValueError``; the message names the problem, and the facts a program may need are
    attributes, never to be parsed out of the message.

    Attributes
    ----------
    index : int or None
        Which item of the call (its position in the list or batch) the error is about.
    item : str or None
        What that item is: ``"mask"``, ``"polygon"`` or ``"box"``.
    offset : int or None
        Byte offset inside that item's text (COCO string, fal text), where there is one.
    reason : str
        The message without its ``"mask 3: "`` prefix.
    """

    def __init__(self, message, *, reason=None, item=None, index=None, offset=None):
        super().__init__(message)
        self.reason = message if reason is None else reason
        self.item = item
        self.index = index
        self.offset = offset

    def __reduce__(self):
        return (_rebuild_error, (type(self), self.args[0], self.reason, self.item, self.index,
                                 self.offset))


def _rebuild_error(cls, message, reason, item, index, offset):
    return cls(message, reason=reason, item=item, index=index, offset=offset)


def _input_error(bytes message, bytes reason, bytes item, Py_ssize_t index, Py_ssize_t offset,
                 bint too_large):
    """Builds the RLEError for a core InputError (called from _errors.hpp)."""
    text = message.decode("utf-8", "replace")
    if too_large:  # the limit comes from the environment, which only the binding knows
        text += " (TURBORLE_MAX_PIXELS)"
    return RLEError(text, reason=reason.decode("utf-8", "replace"),
                    item=item.decode("ascii") or None, index=None if index < 0 else index,
                    offset=None if offset < 0 else offset)


cpp.set_input_error_factory(_input_error)


def _mask_error(Py_ssize_t index, str reason):
    """An RLEError about mask `index`, raised by the binding's own checks."""
    return RLEError(f"mask {index}: {reason}", reason=reason, item="mask", index=index)


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


cdef uint64_t _read_setting(const char* name, string& raw, uint64_t& value, uint64_t fallback) except 0:
    """Integer setting from the environment (1 .. 2**62), else `fallback`. Read with C
    getenv on every call, which sees os.environ's changes (they go through putenv), so a
    changed variable takes effect at once; parsed only when its text changes (`raw` and
    `value` cache the last one: a call must not pay for Python objects here)."""
    cdef const char* found = getenv(name)
    if found == NULL:
        return fallback
    if value != 0 and raw.compare(found) == 0:
        return value
    text = (<bytes> found).decode("utf-8", "replace")
    if not text.strip():
        return fallback
    try:
        parsed = int(text.strip())
    except ValueError:
        parsed = 0
    if not 1 <= parsed <= _MAX_DIM:
        raise ValueError(f"{name.decode()} must be an integer from 1 to 2**62, got {text!r}")
    raw.assign(found)
    value = parsed
    return value


cdef string _threads_raw, _pixels_raw
cdef uint64_t _threads_value = 0, _pixels_value = 0
cdef uint64_t _auto_generation = <uint64_t> -1  # the fork generation it was decided in
cdef int _auto_threads = 1


cdef int _automatic_threads() except 0:
    """Every CPU, except in a child process started by multiprocessing (DataLoader workers,
    process pools): there one thread, as torch does, so that N workers do not each use every
    CPU. Decided once per process (a forked child re-decides)."""
    global _auto_generation, _auto_threads
    cdef uint64_t generation = cpp.fork_generation()
    if generation != _auto_generation:
        mp = sys.modules.get("multiprocessing")
        child = mp is not None and mp.parent_process() is not None
        _auto_threads = 1 if child else min(_CPUS, 1024)
        _auto_generation = generation
    return _auto_threads


cdef uint64_t _default_threads() except 0:
    return _read_setting(b"TURBORLE_NUM_THREADS", _threads_raw, _threads_value,
                         _automatic_threads())


cdef Config _DEFAULTS  # the core's defaults: the one place they are written


cdef uint64_t _max_pixels() except 0:
    return _read_setting(b"TURBORLE_MAX_PIXELS", _pixels_raw, _pixels_value,
                         _DEFAULTS.max_pixels)


def default_threads():
    """Most threads a call may use when not told: TURBORLE_NUM_THREADS, else every CPU (one in
    a multiprocessing child). A call uses fewer when its work is too small to pay for them."""
    return _default_threads()


def max_pixels():
    """Pixels per mask above which decoding and row-major fal conversion are refused:
    TURBORLE_MAX_PIXELS, else the core's default (2**31)."""
    return _max_pixels()


def pool_size():
    """Threads turborle's pool holds now (0 until a call needed more than one thread)."""
    return cpp.pool_size()


cdef Config _config(object threads) except *:
    cdef Config cfg
    cfg.isa = _isa
    cfg.max_pixels = _max_pixels()
    if threads is None:
        cfg.threads = min(_default_threads(), 1024)
        return cfg
    elif isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    cfg.threads = min(threads, 1024)
    return cfg


cdef object _view(object owner, const void* data, Py_ssize_t n, int typenum):
    """A read-only 1-D numpy array over memory that `owner` keeps alive."""
    cdef cnp.npy_intp dims[1]
    dims[0] = n
    if n == 0:
        return cnp.PyArray_EMPTY(1, dims, typenum, 0)
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



cdef object _u64_list(list values):
    """A list of integers (Python or numpy) in [0, 2**62] as a uint64 array, or None when an
    item is anything else (the general path then converts the list and names what is wrong).
    Several times faster than np.asarray, which inspects every item twice: COCO's
    uncompressed RLE (crowd regions) arrives as such lists."""
    cdef Py_ssize_t n = len(values), j
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t* p = <uint64_t*> cnp.PyArray_DATA(out)
    cdef long long v
    cdef int overflow = 0
    for j in range(n):
        item = <object> PyList_GET_ITEM(values, j)
        if type(item) is not int:
            if not isinstance(item, np.integer):
                return None
            item = int(item)  # (numpy promotes a mix of int and uint64 items to float)
        v = PyLong_AsLongLongAndOverflow(item, &overflow)
        if overflow or v < 0 or v > _MAX_DIM_C:
            return None
        p[j] = <uint64_t> v
    return out


cdef object _u64(object values, str what):
    """values as a contiguous uint64 array, validated: a flat sequence of integers in
    [0, 2**62] (`what` names it in messages, e.g. "mask 3: counts")."""
    if type(values) is list:
        fast = _u64_list(<list> values)
        if fast is not None:
            return fast
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
    """A size: a non-negative integer, or a float holding a whole number (COCO JSON written
    by numpy or pandas carries 480.0), as pycocotools accepts."""
    if type(value) is int and 0 <= <object> value <= _MAX_DIM:
        return value
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got bool")
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{what} must be a whole number, got {value!r}")
        i = int(f)
    else:
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
    cdef long long hc, wc
    cdef int overflow = 0
    if type(obj) is list and len(<list> obj) == 2:
        hv, wv = (<list> obj)[0], (<list> obj)[1]
        if type(hv) is int and type(wv) is int:  # the common case: C arithmetic, no message
            hc = PyLong_AsLongLongAndOverflow(hv, &overflow)
            if not overflow:
                wc = PyLong_AsLongLongAndOverflow(wv, &overflow)
            if (not overflow and 0 <= hc <= _MAX_DIM_C and 0 <= wc <= _MAX_DIM_C
                    and (hc == 0 or wc <= _MAX_DIM_C // hc)):
                h[0], w[0] = <uint64_t> hc, <uint64_t> wc
                return 0
    else:
        try:
            n = len(obj)
        except TypeError:
            raise TypeError(f"mask {index}: 'size' must be a sequence [h, w], got "
                            f"{type(obj).__name__}") from None
        if n != 2:
            raise _mask_error(index, f"'size' must have two entries [h, w], got {n}")
        hv, wv = obj[0], obj[1]
    try:
        h[0] = _dim(hv, "height")
        w[0] = _dim(wv, "width")
    except ValueError as e:
        raise _mask_error(index, str(e)) from None
    except TypeError as e:
        raise TypeError(f"mask {index}: {e}") from None
    try:
        cpp.check_size(h[0], w[0])
    except RLEError as e:
        raise _mask_error(index, e.reason) from None
    return 0


cdef extern from "Python.h":
    # A compact ASCII str holds its characters as bytes: the core can read them in place.
    int PyUnicode_READY(object o) except -1
    bint PyUnicode_IS_ASCII(object o)
    void* PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    PyObject* PyDict_GetItem(object d, object key)  # borrowed; NULL (not an error) when absent
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)


cdef list _sources(object objs, vector[Source]& sources):
    """Fills `sources` from COCO dicts; returns the objects that own the memory they point
    into. The caller keeps that list for the whole core call: another thread may replace a
    dict's counts while the GIL is released, and only these references keep the old buffers
    alive. str counts are read in place (no copy) when ASCII, as JSON loaders make them."""
    cdef Py_ssize_t n = len(objs), i
    cdef uint64_t[::1] cv
    cdef Source* src
    cdef PyObject* found_size
    cdef PyObject* found_counts
    sources.resize(n)
    keep = [None] * n
    for i in range(n):
        obj = objs[i]
        src = &sources[i]
        if type(obj) is dict:
            found_size = PyDict_GetItem(obj, "size")
            found_counts = PyDict_GetItem(obj, "counts")
            if found_size is NULL or found_counts is NULL:
                raise TypeError(f"mask {i}: expected a dict with 'size' and 'counts', got a dict "
                                f"with keys {sorted(map(str, obj))}")
            size = <object> found_size
            counts = <object> found_counts
        else:
            try:
                size = obj["size"]
                counts = obj["counts"]
            except (KeyError, TypeError, IndexError):
                raise TypeError(f"mask {i}: expected a dict with 'size' and 'counts', got "
                                f"{type(obj).__name__}") from None
        _size(size, i, &src.h, &src.w)
        if type(counts) is str:
            PyUnicode_READY(counts)
            if not PyUnicode_IS_ASCII(counts):
                raise _mask_error(i, "counts string has non-ASCII characters")
            keep[i] = counts
            src.data = <const char*> PyUnicode_DATA(counts)
            src.len = PyUnicode_GET_LENGTH(counts)
        elif isinstance(counts, bytes):
            keep[i] = counts
            src.data = PyBytes_AS_STRING(counts)
            src.len = PyBytes_GET_SIZE(counts)
        elif isinstance(counts, str):  # a str subclass: its own encoding, once
            try:
                counts = (<str> counts).encode("ascii")
            except UnicodeEncodeError:
                raise _mask_error(i, "counts string has non-ASCII characters") from None
            keep[i] = counts
            src.data = PyBytes_AS_STRING(counts)
            src.len = PyBytes_GET_SIZE(counts)
        elif isinstance(counts, (list, tuple, np.ndarray)):
            arr = _u64(counts, f"mask {i}: counts")
            keep[i] = arr
            if arr.size:  # (no counts reads the same as an empty string)
                cv = arr
                src.counts = &cv[0]
                src.m = arr.size
        else:
            raise TypeError(f"mask {i}: 'counts' must be str, bytes or a list of integers, "
                            f"got {type(counts).__name__}")
    return keep


def from_objects(objs, threads=None, bint objects=False):
    """COCO dicts ({'size': [h, w], 'counts': str | bytes | list}) -> RLEs, or (objects)
    COCO dicts with compressed counts."""
    cdef vector[Source] sources
    keep = _sources(objs, sources)
    cdef Config cfg = _config(threads)
    cdef Batch b
    with nogil:  # parsing and validation only touch the buffers kept above
        b = cpp.read_sources(sources.data(), sources.size(), cfg)
    return _result(b, objects, cfg)


def coco_strings(objs):
    """(characters, offsets, heights, widths) of COCO dicts whose counts are all compressed
    strings, checked as from_objects checks dicts and sizes (the strings themselves are not
    parsed: a GPU parses them); None when some counts are uncompressed lists."""
    cdef vector[Source] sources
    keep = _sources(objs, sources)
    cdef size_t n = sources.size(), i
    offsets = np.zeros(n + 1, dtype=np.uint64)
    heights = np.empty(n, dtype=np.uint64)
    widths = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = offsets, hv = heights, wv = widths
    for i in range(n):
        if isinstance(keep[i], np.ndarray):
            return None
        o[i + 1] = o[i] + sources[i].len
        hv[i] = sources[i].h
        wv[i] = sources[i].w
    chars = PyBytes_FromStringAndSize(NULL, o[n])
    cdef char* dst = PyBytes_AS_STRING(chars)
    for i in range(n):
        memcpy(dst + o[i], sources[i].data, sources[i].len)
    return chars, offsets, heights, widths


def check_decodable(heights, widths):
    """Raises what decode raises for masks of these sizes: none, several sizes, too large."""
    cdef Py_ssize_t n = len(heights), i
    if n == 0:
        raise ValueError("decode needs at least one mask")
    h, w = int(heights[0]), int(widths[0])
    for i in range(1, n):
        if heights[i] != h or widths[i] != w:
            raise _mask_error(i, f"size {int(heights[i])}x{int(widths[i])} differs from mask 0's "
                                 f"{h}x{w}; masks decoded together must have one size")
    cpp.check_pixel_limit(h, w, _config(None), 0)


_UINT32 = np.dtype(np.uint32)
_UINT64 = np.dtype(np.uint64)


def measure_one(obj, bint bbox):
    """Area of one COCO dict as a numpy scalar (uint32, or uint64 past 32 bits, as
    pycocotools' area gives it) or, with bbox, its [x, y, w, h] float64 box."""
    cdef vector[Source] sources
    keep = _sources((obj,), sources)
    cdef uint64_t a = 0
    box = np.empty(4, dtype=np.float64) if bbox else None
    cdef double* pb = <double*> cnp.PyArray_DATA(box) if bbox else NULL
    cdef Config cfg  # one mask: one thread, but the SIMD level in use (the default is scalar)
    cfg.isa = _isa
    if sources[0].len + sources[0].m < _RELEASE_GIL_FROM:
        cpp.measure_sources(sources.data(), 1, &a, pb, cfg)
    else:
        with nogil:
            cpp.measure_sources(sources.data(), 1, &a, pb, cfg)
    if bbox:
        return box
    cdef uint32_t a32 = <uint32_t> a
    if a == a32:
        return PyArray_Scalar(&a32, _UINT32, None)
    return PyArray_Scalar(&a, _UINT64, None)


def merge_objects(objs, str op, threads=None):
    """Merge COCO dicts into one COCO dict (one mask comes back as parsed, not rewritten)."""
    cdef MergeOp mop = _merge_op(op)
    cdef vector[Source] sources
    keep = _sources(objs, sources)
    cdef Config cfg = _config(threads)
    cdef Batch parsed, merged
    cdef size_t size = 0
    for i in range(sources.size()):
        size += sources[i].len + sources[i].m
    if size < _RELEASE_GIL_FROM:
        parsed = cpp.read_sources(sources.data(), sources.size(), cfg)
        if parsed.size() != 1:
            merged = cpp.merge(BatchView(parsed), mop, cfg)
    else:
        with nogil:
            parsed = cpp.read_sources(sources.data(), sources.size(), cfg)
            if parsed.size() != 1:
                merged = cpp.merge(BatchView(parsed), mop, cfg)
    return _dicts(parsed if parsed.size() == 1 else merged, cfg)[0]


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
    _measure(sources, pa, pb, cfg)
    return areas, boxes


cdef int _measure(vector[Source]& sources, uint64_t* pa, double* pb, Config cfg) except -1:
    cdef size_t size = 0, i
    for i in range(sources.size()):
        size += sources[i].len + sources[i].m
    if size < _RELEASE_GIL_FROM:
        cpp.measure_sources(sources.data(), sources.size(), pa, pb, cfg)
    else:
        with nogil:
            cpp.measure_sources(sources.data(), sources.size(), pa, pb, cfg)
    return 0


def area_objects(objs, threads=None):
    """Areas of COCO dicts as pycocotools gives them: uint32, or uint64 when one is 2**32
    or more (uint32 would wrap)."""
    cdef vector[Source] sources
    keep = _sources(objs, sources)
    cdef size_t n = sources.size(), i
    areas = np.empty(n, dtype=np.uint64)
    cdef uint64_t* pa = <uint64_t*> cnp.PyArray_DATA(areas)
    _measure(sources, pa, NULL, _config(threads))
    for i in range(n):
        if pa[i] > 0xFFFFFFFF:
            return areas
    small = np.empty(n, dtype=np.uint32)
    cdef uint32_t* p32 = <uint32_t*> cnp.PyArray_DATA(small)
    for i in range(n):
        p32[i] = <uint32_t> pa[i]
    return small


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
                raise _mask_error(i, "fal text has non-ASCII characters") from None
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


cdef object _ascii(const char* data, size_t n):
    """A str of n ASCII characters, made straight from them (no bytes in between)."""
    text = PyUnicode_New(n, 127)
    memcpy(PyUnicode_DATA(text), data, n)
    return text


cdef list _dicts(const Batch& b, Config cfg, bint text=False):
    """COCO dicts {'size': [h, w], 'counts': bytes} of a batch ('counts': str with text, as
    JSON wants it)."""
    cdef string buffer
    cdef vector[size_t] offsets
    cdef BatchView view = BatchView(b)
    if b.counts.size() < _RELEASE_GIL_FROM:
        cpp.write_strings(view, buffer, offsets, cfg)
    else:
        with nogil:
            cpp.write_strings(view, buffer, offsets, cfg)
    cdef size_t i, n = b.size()
    cdef const char* base = buffer.data()
    cdef list out = PyList_New(n)
    # The int objects of a size are shared by the masks that have it (most batches have
    # one size): two allocations fewer per mask, and ints are immutable.
    cdef uint64_t h = 0, w = 0
    py_h = py_w = None
    for i in range(n):
        if py_h is None or b.h[i] != h or b.w[i] != w:
            h, w = b.h[i], b.w[i]
            py_h, py_w = h, w
        if text:
            counts = _ascii(base + offsets[i], offsets[i + 1] - offsets[i])
        else:
            counts = PyBytes_FromStringAndSize(base + offsets[i], offsets[i + 1] - offsets[i])
        d = {"size": [py_h, py_w], "counts": counts}
        Py_INCREF(d)
        PyList_SET_ITEM(out, i, d)
    return out


cdef object _result(Batch& b, bint objects, Config cfg):
    """A core result as RLEs, or (objects) straight as COCO dicts: the drop-in's one-mask
    calls then make one Python object per mask and nothing in between."""
    if objects:
        return _dicts(b, cfg)
    cdef RLEs out = RLEs()
    out.batch = move(b)
    return out


def to_objects(RLEs rles not None, threads=None, bint text=False):
    """RLEs -> list of {'size': [h, w], 'counts': bytes} ('counts': str with text)."""
    return _dicts(rles.batch, _config(threads), text)


def encode(masks, threads=None, bint objects=False, bint hwn=False):
    """(n, h, w) array of any strides, bool or integer (nonzero = foreground) -> RLEs, or
    (objects) COCO dicts. hwn: the array is pycocotools' (h, w, n) or one (h, w) mask."""
    cdef cnp.ndarray arr = masks
    if arr.ndim != 3 and not (hwn and arr.ndim == 2):
        raise ValueError(f"encode expects an ({'h, w, n' if hwn else 'n, h, w'}) array, got "
                         f"{arr.ndim} dimensions")
    cdef int kind = cnp.PyArray_TYPE(arr)
    if kind != cnp.NPY_UINT8 and kind != cnp.NPY_BOOL and kind != cnp.NPY_INT8:
        # (1-byte masks are read in place: the core takes any nonzero byte as foreground)
        if arr.dtype.kind in "fc":
            raise TypeError(
                f"masks must be bool or integer, got {arr.dtype}: threshold probabilities or "
                "logits first (e.g. masks > 0.5 or logits > 0), or use turborle.cuda.encode("
                "..., threshold=) for masks on the GPU")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"masks must be bool or integer, got {arr.dtype}")
        arr = (arr != 0).view(np.uint8)  # a copy: only 1-byte masks are read in place
    cdef MaskView v
    v.data = <const uint8_t*> cnp.PyArray_DATA(arr)
    cdef cnp.npy_intp* shape = cnp.PyArray_DIMS(arr)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(arr)
    if not hwn:
        v.n, v.h, v.w = shape[0], shape[1], shape[2]
        v.stride_n, v.stride_y, v.stride_x = strides[0], strides[1], strides[2]
    else:
        v.h, v.w = shape[0], shape[1]
        v.stride_y, v.stride_x = strides[0], strides[1]
        v.n, v.stride_n = 1, 0
        if arr.ndim == 3:
            v.n, v.stride_n = shape[2], strides[2]
    cdef Config cfg = _config(threads)
    cdef Batch b
    if v.n * v.h * v.w < 2 * _RELEASE_GIL_FROM:  # (a pixel costs less than a character)
        b = cpp.encode(v, cfg)
    else:
        with nogil:
            b = cpp.encode(v, cfg)
    return _result(b, objects, cfg)


# Decode outputs of kLargeArrayBytes or more get their memory through turborle's numpy
# handler (_pixels.hpp): the pages of the last one freed are reused, not faulted in afresh.
cdef object _PIXEL_HANDLER = cpp.turborle_pixel_handler()


cdef object _empty_pixels(tuple shape, bint fortran):
    cdef size_t nbytes = 1
    for d in shape:
        nbytes *= <size_t> d
    order = "F" if fortran else "C"
    if _PIXEL_HANDLER is None or nbytes < cpp.kLargeArrayBytes:
        return np.empty(shape, dtype=np.uint8, order=order)
    previous = cnp.PyDataMem_SetHandler(_PIXEL_HANDLER)
    try:
        return np.empty(shape, dtype=np.uint8, order=order)
    finally:
        cnp.PyDataMem_SetHandler(previous)


def empty_cache():
    """Frees the arrays kept for reuse (the last large count array and decode output)."""
    cpp.release_kept_memory()


def decode(RLEs rles not None, bint fortran, out=None, threads=None, bint transposed=False):
    """RLEs of one size -> (h, w, n) Fortran array (fortran) or (n, h, w) C array, uint8.

    transposed (with fortran false): an (n, w, h) C array holding each mask column-major.
    out: optional preallocated array of that shape and layout (uint8 or bool) to fill.
    """
    cdef size_t n = rles.batch.size()
    check_decodable(rles.batch.h, rles.batch.w)  # before allocating
    h, w = rles.batch.h[0], rles.batch.w[0]
    cdef Config cfg = _config(threads)
    if fortran:
        shape = (int(h), int(w), int(n))
    elif transposed:
        shape = (int(n), int(w), int(h))
    else:
        shape = (int(n), int(h), int(w))
    if out is None:
        out = _empty_pixels(shape, fortran)
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


def iou(RLEs dt not None, RLEs gt not None, crowd, threads=None, str path="choose"):
    """(len(dt), len(gt)) IoU with pycocotools' semantics; crowd: uint8 array or None.
    path ("sweep" or "planes", for the tests) forces how intersections are counted."""
    cdef cpp.IouPath how
    if path == "choose":
        how = cpp.IouPath.kChoose
    elif path == "sweep":
        how = cpp.IouPath.kSweep
    elif path == "planes":
        how = cpp.IouPath.kPlanes
    else:
        raise ValueError(f"path must be 'choose', 'sweep' or 'planes', got {path!r}")
    cdef size_t m = dt.batch.size(), n = gt.batch.size()
    crowd = _crowd(crowd, n)
    cdef const uint8_t* flags = NULL
    if crowd is not None:
        flags = <const uint8_t*> cnp.PyArray_DATA(crowd)
    out = np.empty((m, n), dtype=np.float64)
    cdef double* data = <double*> cnp.PyArray_DATA(out)
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.iou_by(BatchView(dt.batch), BatchView(gt.batch), flags, data, cfg, how)
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


cdef MergeOp _merge_op(str op) except *:
    if op not in _MERGE_OPS:
        raise ValueError(f"op must be one of {sorted(_MERGE_OPS)}, got {op!r}")
    return _MERGE_OPS[op]


def merge(RLEs rles not None, str op, threads=None):
    """Merge all masks into a one-mask RLEs: 'union', 'intersection', 'xor' or 'difference'
    (the first mask minus all the others)."""
    cdef MergeOp mop = _merge_op(op)
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:
        out.batch = cpp.merge(BatchView(rles.batch), mop, cfg)
    return out


cdef object _coordinates(object polygon):
    """A polygon's coordinates as a contiguous float64 array. A list of Python floats and
    ints (what JSON gives) is copied straight in; anything else goes through numpy, whose
    conversion the list path matches (the same IEEE value for every float and int)."""
    cdef Py_ssize_t n, j
    cdef double* out
    if type(polygon) is list:
        n = len(<list> polygon)
        arr = np.empty(n, dtype=np.float64)
        out = <double*> cnp.PyArray_DATA(arr)
        for j in range(n):
            v = (<list> polygon)[j]
            if type(v) is float:
                out[j] = PyFloat_AS_DOUBLE(v)
            elif type(v) is int:
                out[j] = PyLong_AsDouble(v)
            else:
                break
        else:
            return arr
    return np.ascontiguousarray(np.asarray(polygon, dtype=np.float64).ravel())


def from_polygons(list polygons not None, h, w, bint objects=False):
    """Polygons (flat sequences x0, y0, x1, y1, ...) -> RLEs, or (objects) COCO dicts; each
    converted to contiguous float64 (an odd coordinate count is an error)."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    cdef size_t n = len(polygons), i
    cdef vector[const double*] xy
    cdef vector[size_t] k
    xy.resize(n)
    k.resize(n)
    keep = []
    for i in range(n):
        arr = _coordinates(polygons[i])
        if arr.size % 2:
            raise ValueError(f"polygon {i} has an odd number of coordinates ({arr.size})")
        keep.append(arr)
        xy[i] = <const double*> cnp.PyArray_DATA(arr)
        k[i] = arr.size // 2
    cdef Batch b
    with nogil:
        b = cpp.rasterize_polygons(xy.data(), k.data(), n, hh, ww)
    cdef Config cfg  # (serialising a few masks: one thread)
    return _result(b, objects, cfg)


def from_boxes(boxes, h, w, bint objects=False):
    """(n, 4) xywh boxes -> RLEs, or (objects) COCO dicts."""
    cdef uint64_t hh = _dim(h, "h"), ww = _dim(w, "w")
    arr = _boxes(boxes, "boxes")
    cdef const double* data = <const double*> cnp.PyArray_DATA(arr)
    cdef size_t n = arr.shape[0]
    cdef Batch b
    with nogil:
        b = cpp.rasterize_boxes(data, n, hh, ww)
    cdef Config cfg
    return _result(b, objects, cfg)


# ==== Arrow columns (turborle.arrow, turborle.datasets) =====================================
# Masks handed over as the buffers of an Arrow string column: the bytes of all counts strings
# (`data`), n + 1 `offsets` into them (int32 or int64, as Arrow's string / large_string) and the
# masks' heights and widths. Nothing here makes a Python object per mask, and the core reads
# `data` in place with the GIL released. Offsets come from a file, so they are untrusted.

cdef object _string_columns(data, offsets, heights, widths, vector[Source]& sources):
    """Validates the columns and points `sources` into `data`; returns the arrays that own
    the memory used (the caller keeps them for the whole call)."""
    buf = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if buf.dtype != np.uint8 or buf.ndim != 1 or not buf.flags.c_contiguous:
        raise TypeError("data must be a contiguous 1-D uint8 buffer")
    off = np.asarray(offsets)
    if off.ndim != 1 or off.dtype not in (np.int32, np.int64):
        raise TypeError(f"offsets must be a 1-D int32 or int64 array, got {off.dtype} "
                        f"with {off.ndim} dimensions")
    off = np.ascontiguousarray(off, dtype=np.int64)
    hh = _u64(heights, "heights")
    ww = _u64(widths, "widths")
    cdef Py_ssize_t n = len(hh), i
    if len(ww) != n:
        raise ValueError(f"heights has {n} entries but widths has {len(ww)}")
    if len(off) != n + 1:
        raise ValueError(f"offsets must have {n + 1} entries (one more than masks), got {len(off)}")
    if off[0] < 0:
        raise ValueError(f"offsets[0] = {off[0]} is negative")
    steps = np.diff(off)
    if n and steps.min() < 0:
        i = int(np.argmax(steps < 0))
        raise ValueError(f"offsets decrease at mask {i} ({off[i]} then {off[i + 1]})")
    if off[n] > len(buf):
        raise ValueError(f"offsets end at {off[n]}, past the {len(buf)} bytes of data")
    cdef const char* base = <const char*> cnp.PyArray_DATA(buf) if len(buf) else NULL
    cdef const int64_t[::1] o = off
    cdef const uint64_t[::1] h = hh
    cdef const uint64_t[::1] w = ww
    sources.resize(n)
    for i in range(n):
        sources[i].data = base + o[i] if base != NULL else NULL
        sources[i].len = <size_t> (o[i + 1] - o[i])
        sources[i].h = h[i]
        sources[i].w = w[i]  # (sizes are checked by the core, which names the mask)
    return (buf, off, hh, ww)


def from_strings(data, offsets, heights, widths, threads=None):
    """RLEs from the buffers of an Arrow string column of COCO counts (validated)."""
    cdef vector[Source] sources
    keep = _string_columns(data, offsets, heights, widths, sources)
    cdef RLEs out = RLEs()
    cdef Config cfg = _config(threads)
    with nogil:  # reads only `data`, held by `keep`
        out.batch = cpp.read_sources(sources.data(), sources.size(), cfg)
    return out


def measure_strings(data, offsets, heights, widths, threads=None, list problems=None):
    """(area uint64, bbox (n, 4) float64 xywh) of the masks of an Arrow string column.

    Without `problems`, a bad mask raises ValueError naming it. With a list, each bad mask i
    appends (i, message) to it and gets area 0 and a NaN box; the others are measured.
    """
    cdef vector[Source] sources
    keep = _string_columns(data, offsets, heights, widths, sources)
    cdef size_t n = sources.size(), i
    areas = np.empty(n, dtype=np.uint64)
    boxes = np.empty((n, 4), dtype=np.float64)
    cdef uint64_t* pa = <uint64_t*> cnp.PyArray_DATA(areas)
    cdef double* pb = <double*> cnp.PyArray_DATA(boxes)
    cdef Config cfg = _config(threads)
    try:
        with nogil:
            cpp.measure_sources(sources.data(), n, pa, pb, cfg)
        return areas, boxes
    except ValueError:
        if problems is None:
            raise
    # Some mask is bad: measure one at a time and say what is wrong with each bad one (the
    # error's reason: its message without the "mask 0: " of a one-mask call).
    cfg.threads = 1
    for i in range(n):
        try:
            with nogil:
                cpp.measure_sources(&sources[i], 1, pa + i, pb + 4 * i, cfg)
        except RLEError as error:
            problems.append((i, error.reason))
            pa[i] = 0
            boxes[i] = np.nan
    return areas, boxes


def to_strings(RLEs rles not None, threads=None):
    """(data bytes, offsets int64 array of n + 1): every mask's COCO string, back to back."""
    cdef string buffer
    cdef vector[size_t] offsets
    cdef Config cfg = _config(threads)
    with nogil:
        cpp.write_strings(BatchView(rles.batch), buffer, offsets, cfg)
    cdef size_t n = offsets.size(), i
    out = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] o = out
    for i in range(n):
        o[i] = offsets[i]
    return PyBytes_FromStringAndSize(buffer.data(), buffer.size()), out


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


# ==== the dataset import's annotation columns (csrc/sa1b_json.hpp) ============================

cdef class _TakenColumns:
    """Annotation columns moved out of an AnnotationColumns: they own the memory of the numpy
    views `AnnotationColumns.take` returns."""

    cdef cpp.AnnotationColumns cols


cdef class AnnotationColumns:
    """The annotation columns of the rows the dataset import is building: filled a clean
    SA-1B file at a time by `read_sa1b` (simdjson, no Python object per mask) or a row at a
    time by `add` (the Python path), taken by `take` for a row group."""

    cdef cpp.AnnotationColumns cols
    cdef cpp.Sa1bReader* reader

    def __dealloc__(self):
        del self.reader

    def __len__(self):
        return self.cols.rows()

    @property
    def counts_bytes(self):
        return self.cols.counts.size()

    def read_sa1b(self, const unsigned char[::1] data not None):
        """(rows, image record as JSON, image id or None) of a clean SA-1B file, whose rows
        are appended; None, and nothing appended, when the file is not clean."""
        if data.shape[0] == 0:
            return None
        if self.reader == NULL:
            self.reader = new cpp.Sa1bReader()
        cdef cpp.ImageFacts image
        cdef long n
        with nogil:  # `data` (a view of the caller's bytes) is held until the call returns
            n = self.reader.read(<const char*> &data[0], data.shape[0], self.cols, image)
        if n < 0:
            return None
        record = image.record.decode("utf-8")
        return n, record, (image.id if image.has_id else None)

    def add(self, bytes counts, int64_t height, int64_t width, ann_id, category_id,
            stored_area, stored_bbox, bytes extra):
        """One row: counts and extra as UTF-8 bytes or None, the others values or None
        (stored_bbox: four numbers)."""
        cdef int64_t i_ann = 0, i_category = 0
        cdef double area = 0
        cdef double box[4]
        cdef int k
        cdef const char* c_counts = NULL
        cdef const char* c_extra = NULL
        cdef const int64_t* p_ann = NULL
        cdef const int64_t* p_category = NULL
        cdef const double* p_area = NULL
        cdef const double* p_box = NULL
        if counts is not None:
            c_counts = PyBytes_AS_STRING(counts)
        if extra is not None:
            c_extra = PyBytes_AS_STRING(extra)
        if ann_id is not None:
            i_ann = ann_id
            p_ann = &i_ann
        if category_id is not None:
            i_category = category_id
            p_category = &i_category
        if stored_area is not None:
            area = stored_area
            p_area = &area
        if stored_bbox is not None:
            if len(stored_bbox) != 4:
                raise ValueError("stored_bbox must hold four numbers")
            for k in range(4):
                box[k] = stored_bbox[k]
            p_box = box
        self.cols.add(c_counts, 0 if counts is None else PyBytes_GET_SIZE(counts), height, width,
                      p_ann, p_category, p_area, p_box,
                      c_extra, 0 if extra is None else PyBytes_GET_SIZE(extra))

    def take(self):
        """Every row's columns as read-only numpy arrays (the strings as uint8 bytes and end
        offsets) over the columns' own memory, moved out (no copy); the columns emptied."""
        cdef _TakenColumns taken = _TakenColumns()
        taken.cols = self.cols.take()
        cdef cpp.AnnotationColumns* c = &taken.cols
        cdef Py_ssize_t n = c.rows()

        return {
            "counts": _view(taken, c.counts.data(), c.counts.size(), cnp.NPY_UINT8),
            "counts_end": _view(taken, c.counts_end.data(), n, cnp.NPY_INT64),
            "has_mask": _view(taken, c.has_mask.data(), n, cnp.NPY_BOOL),
            "height": _view(taken, c.height.data(), n, cnp.NPY_INT64),
            "width": _view(taken, c.width.data(), n, cnp.NPY_INT64),
            "ann_id": _view(taken, c.ann_id.data(), n, cnp.NPY_INT64),
            "has_ann_id": _view(taken, c.has_ann_id.data(), n, cnp.NPY_BOOL),
            "category_id": _view(taken, c.category_id.data(), n, cnp.NPY_INT64),
            "has_category_id": _view(taken, c.has_category_id.data(), n, cnp.NPY_BOOL),
            "stored_area": _view(taken, c.stored_area.data(), n, cnp.NPY_FLOAT64),
            "has_stored_area": _view(taken, c.has_stored_area.data(), n, cnp.NPY_BOOL),
            "stored_bbox": _view(taken, c.stored_bbox.data(), 4 * n,
                                 cnp.NPY_FLOAT64).reshape(n, 4),
            "has_stored_bbox": _view(taken, c.has_stored_bbox.data(), n, cnp.NPY_BOOL),
            "extra": _view(taken, c.extra.data(), c.extra.size(), cnp.NPY_UINT8),
            "extra_end": _view(taken, c.extra_end.data(), n, cnp.NPY_INT64),
            "has_extra": _view(taken, c.has_extra.data(), n, cnp.NPY_BOOL),
        }
