"""What the speed benchmarks measure: operations, inputs and one callable per library.

This module is plain Python (numpy + the libraries under test; no pytest, no
pytest-benchmark), so the same callables drive ``benchmarks/test_speed.py`` (timed with
pytest-benchmark) and ``tests/test_benchmarks_smoke.py`` (each run once on tiny inputs).

Vocabulary
----------
Operation
    One group of the report (``encode_c``, ``decode_f``, ``iou``, ...): how to build its
    inputs, the pycocotools reference result, how to compare a result with it and how many
    mask pixels it processes (for GB/s).
Impl
    One library's way of doing an operation: ``prepare(inputs, threads)`` builds the
    arguments in the library's own form (untimed: parsing dicts into a library's own object,
    preallocating an output array), ``run(args)`` is the timed call, ``result(output)`` turns
    its output into the form the operation compares (untimed).

Every library is timed through its fastest public path found by reading its API; the
``variant`` string of each Impl says which path, and what the timed call includes. Decoders
that return a fresh array also write one byte per 4 KiB page of it inside the timed call
(:func:`touch_pages`): a freshly ``calloc``-ed array of lazy zero pages otherwise flatters
whoever writes only the foreground. For a decoder that wrote every byte already, that costs
about 0.1% of its time.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .masks import sam_like_masks

# --------------------------------------------------------------------------------------------
# Libraries


@dataclass(frozen=True)
class Library:
    name: str  # as shown in reports
    module: str  # what must import for it to run


TURBORLE = Library("turborle", "turborle.mask")
PYCOCOTOOLS = Library("pycocotools", "pycocotools.mask")
RLEMASKLIB = Library("rlemasklib", "rlemasklib")
HOTCOCO = Library("hotcoco", "hotcoco.mask")
FASTER_COCO_EVAL = Library("faster-coco-eval", "faster_coco_eval.core.mask")
ULTRAFAST = Library("ultrafast-pycocotools", "ultrafast_pycocotools.mask")
NUMPY = Library("numpy", "numpy")

_imports: dict[str, Any] = {}


def load(module: str) -> Any:
    """Import ``module`` once; return the module, or the exception that stopped it."""
    if module not in _imports:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a peer's import-time deprecation is not ours
                _imports[module] = importlib.import_module(module)
        except Exception as exc:  # ImportError, or a binary built against another numpy
            _imports[module] = exc
    return _imports[module]


def missing(module: str) -> str | None:
    """Why ``module`` cannot be used, or None when it imports."""
    mod = load(module)
    if isinstance(mod, Exception):
        return f"{module} not importable ({type(mod).__name__}: {mod})"
    return None


def _tr() -> Any:
    return load("turborle")


def batch_api_missing() -> str | None:
    """Why turborle's batch API (turborle.encode/decode/from_coco/...) is unusable, or None."""
    why = missing("turborle")
    if why:
        return why
    absent = [n for n in ("encode", "decode", "from_coco", "area", "bbox", "iou", "merge")
              if not hasattr(_tr(), n)]
    if absent:
        return "turborle batch API not available (missing: " + ", ".join(absent) + ")"
    return None


def _accepts_threads(fn: Any) -> bool:
    try:
        return "threads" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False


def threads_missing() -> str | None:
    """Why turborle cannot be asked for a thread count, or None.

    The contract: batch functions take ``threads=``, and every function reads the
    environment variable ``TURBORLE_NUM_THREADS`` at call time.
    """
    why = batch_api_missing()
    if why:
        return "thread count not available: " + why
    if not _accepts_threads(_tr().encode):
        return "thread count not available: turborle.encode has no threads= argument"
    return None


@contextlib.contextmanager
def turborle_threads(threads: int) -> Iterator[None]:
    """Set ``TURBORLE_NUM_THREADS`` for the duration of a benchmark (read at call time)."""
    old = os.environ.get("TURBORLE_NUM_THREADS")
    os.environ["TURBORLE_NUM_THREADS"] = str(threads)
    try:
        yield
    finally:
        if old is None:
            del os.environ["TURBORLE_NUM_THREADS"]
        else:
            os.environ["TURBORLE_NUM_THREADS"] = old


def _threads_kw(threads: int) -> dict[str, int]:
    """``{"threads": n}`` where the batch API takes it, else ``{}`` (the env var still applies)."""
    return {"threads": threads} if threads_missing() is None else {}


# --------------------------------------------------------------------------------------------
# Inputs


class Inputs:
    """Lazily built, cached inputs of one shape: masks, their pycocotools RLE dicts, ..."""

    def __init__(self, n: int, h: int, w: int, n_dt: int = 0, repeat_to: int = 0):
        self.n, self.h, self.w = n, h, w
        self.n_dt = n_dt  # IoU: number of detections (a second, differently seeded set)
        self.repeat_to = repeat_to  # area/bbox: RLE list length (the n masks repeated)
        self.references: dict[str, Any] = {}  # pycocotools' result per operation

    @cached_property
    def masks(self) -> np.ndarray:
        """(n, h, w) C-ordered uint8 0/1: what a model produces."""
        return sam_like_masks(self.n, self.h, self.w, seed=0)

    @cached_property
    def fortran(self) -> np.ndarray:
        """(h, w, n) Fortran-ordered uint8: pycocotools' layout."""
        return np.asfortranarray(self.masks.transpose(1, 2, 0))

    @cached_property
    def rles(self) -> list[dict]:
        """pycocotools' compressed dicts of ``masks`` (``repeat_to`` long when set)."""
        coco = load("pycocotools.mask")
        base = coco.encode(self.fortran)
        if self.repeat_to:
            return [dict(base[i % len(base)]) for i in range(self.repeat_to)]
        return base

    @cached_property
    def dt_rles(self) -> list[dict]:
        """Detections for IoU: ``n_dt`` masks of another seed."""
        coco = load("pycocotools.mask")
        dt = sam_like_masks(self.n_dt, self.h, self.w, seed=1)
        return coco.encode(np.asfortranarray(dt.transpose(1, 2, 0)))

    @cached_property
    def iscrowd(self) -> list[int]:
        """Crowd flags of the ground truths: every tenth is a crowd region."""
        return [int(i % 10 == 3) for i in range(self.n)]

    def drop_masks(self) -> None:
        """Forget the dense arrays (operations on RLEs only need the dicts)."""
        self.__dict__.pop("masks", None)
        self.__dict__.pop("fortran", None)


@dataclass(frozen=True)
class Shape:
    n: int
    h: int
    w: int
    n_dt: int = 0  # IoU: detections x n ground truths
    repeat_to: int = 0  # area/bbox: the n masks repeated to this many dicts

    @property
    def label(self) -> str:
        if self.n_dt:
            return f"{self.n_dt}x{self.n} @ {self.h}x{self.w}"
        if self.repeat_to:
            return f"{self.repeat_to} dicts @ {self.h}x{self.w}"
        return f"{self.n}x{self.h}x{self.w}"

    @property
    def key(self) -> tuple[int, int, int, int, int]:
        return (self.n, self.h, self.w, self.n_dt, self.repeat_to)


_cache: OrderedDict[tuple[int, ...], Inputs] = OrderedDict()


def inputs_for(shape: Shape) -> Inputs:
    """Cached :class:`Inputs` of a shape (the last three shapes are kept)."""
    if shape.key in _cache:
        _cache.move_to_end(shape.key)
        return _cache[shape.key]
    inp = Inputs(shape.n, shape.h, shape.w, shape.n_dt, shape.repeat_to)
    _cache[shape.key] = inp
    while len(_cache) > 3:
        _cache.popitem(last=False)
    return inp


# --------------------------------------------------------------------------------------------
# Helpers used inside timed calls


def touch_pages(arr: np.ndarray) -> np.ndarray:
    """Write one byte per 4 KiB page of ``arr`` so that all of its pages are materialised."""
    if not arr.flags.forc:
        raise ValueError("touch_pages expects a C- or Fortran-contiguous array")
    flat = arr.reshape(-1, order="A").view(np.uint8)  # a view: order "A" follows the memory
    flat[::4096] = flat[::4096]
    return arr


def _u64(arr: np.ndarray) -> np.ndarray:
    """The bytes of a contiguous array as one flat uint64 (or uint8 if not a multiple of 8)."""
    flat = arr.reshape(-1, order="A").view(np.uint8)
    return flat.view(np.uint64) if flat.size % 8 == 0 else flat


# --------------------------------------------------------------------------------------------
# Results in a comparable form


def _counts(rles: list[dict]) -> list[tuple[tuple[int, ...], bytes]]:
    out = []
    for r in rles:
        c = r["counts"]
        size = tuple(int(s) for s in r["size"])
        out.append((size, c.encode() if isinstance(c, str) else bytes(c)))
    return out


def _same_rles(got: Any, want: Any) -> None:
    got_c, want_c = _counts(got), _counts(want)
    assert len(got_c) == len(want_c), f"{len(got_c)} RLEs, expected {len(want_c)}"
    bad = [i for i, (g, e) in enumerate(zip(got_c, want_c, strict=True)) if g != e]
    assert not bad, f"RLE {bad[0]} differs from pycocotools ({len(bad)} of {len(want_c)} differ)"


def _same_array(got: Any, want: Any) -> None:
    got = np.asarray(got)
    assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape}"
    assert np.array_equal(got != 0, want != 0), "pixels differ from pycocotools"


def _same_float(got: Any, want: Any) -> None:
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def _same_int(got: Any, want: Any) -> None:
    got = np.asarray(got).astype(np.int64)
    assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape}"
    assert np.array_equal(got, want), "values differ from pycocotools"


# --------------------------------------------------------------------------------------------
# Operations


@dataclass
class Impl:
    library: Library
    variant: str  # the path taken, as shown in reports
    prepare: Callable[[Inputs, int], Any]  # untimed
    run: Callable[[Any], Any]  # timed
    result: Callable[[Any], Any] | None = None  # untimed; None: not checked (baselines)
    threaded: bool = False  # takes a thread count (turborle)
    needs: tuple[str, ...] = ()  # extra conditions: "batch"
    baseline: bool = False
    key: str = ""  # short name for test ids and report columns; default: derived

    def __post_init__(self) -> None:
        if not self.key:
            if self.library is TURBORLE:
                self.key = "turborle.batch" if "batch" in self.needs else "turborle.mask"
            elif self.baseline:
                self.key = "numpy baseline"
            else:
                self.key = self.library.name

    @property
    def label(self) -> str:
        return f"{self.key} [{self.variant}]"

    def unavailable(self, threads: int = 1) -> str | None:
        """Why this implementation cannot run (at this thread count), or None."""
        why = missing(self.library.module)
        if why:
            return why
        if "batch" in self.needs:
            why = batch_api_missing()
            if why:
                return why
        if threads != 1:
            if not self.threaded:
                return f"{self.library.name} is timed with one thread only"
            why = threads_missing()
            if why:
                return why
        return None


@dataclass
class Operation:
    name: str  # short id: encode_c, decode_f, iou, ...
    title: str  # what is measured, for reports
    reference: Callable[[Inputs], Any]  # pycocotools result, in comparable form
    compare: Callable[[Any, Any], None]  # raises AssertionError on a mismatch
    pixels: Callable[[Inputs], int]  # mask pixels processed (1 byte each) per call
    shapes: dict[str, list[Shape]]  # per mode: "smoke", "quick", "default", "all"
    impls: list[Impl] = field(default_factory=list)
    dense: bool = True  # needs the dense masks (else they are dropped after encoding)

    def check(self, impl: Impl, inputs: Inputs, output: Any) -> None:
        """Assert that ``output`` of ``impl`` equals pycocotools' result."""
        if impl.result is None:
            return
        if self.name not in inputs.references:
            inputs.references[self.name] = self.reference(inputs)
        self.compare(impl.result(output), inputs.references[self.name])


def _m(module: str) -> Any:
    return load(module)


def _coco_call(name: str) -> Callable[..., Any]:
    return lambda *a: getattr(_m("pycocotools.mask"), name)(*a)


# ---- encode ----------------------------------------------------------------------------------

ENCODE_SHAPES = {
    "smoke": [Shape(2, 32, 48)],
    "quick": [Shape(64, 1024, 1024)],
    "default": [Shape(1, 1024, 1024), Shape(16, 1024, 1024), Shape(64, 1024, 1024),
                Shape(1, 1500, 2250), Shape(16, 1500, 2250),
                Shape(1, 4000, 3000), Shape(16, 4000, 3000)],
}
ENCODE_SHAPES["all"] = ENCODE_SHAPES["default"] + [Shape(64, 1500, 2250), Shape(64, 4000, 3000)]


def _batch_rles(batch: Any) -> list[dict]:
    """COCO dicts of a turborle batch result (an RLEBatch, or one dict / a list of them)."""
    if hasattr(batch, "to_coco"):
        return batch.to_coco()
    return [batch] if isinstance(batch, dict) else list(batch)


def _encode_c_impls() -> list[Impl]:
    def t_mask(inp: Inputs, t: int) -> Any:
        return inp.masks.transpose(1, 2, 0)  # zero-copy (h, w, n) view of C-ordered memory

    return [
        Impl(NUMPY, "read baseline: max over the bytes as uint64",
             lambda inp, t: _u64(inp.masks), lambda a: a.max(), baseline=True),
        Impl(TURBORLE, "mask.encode of the (h,w,n) view", t_mask,
             lambda a: _m("turborle.mask").encode(a), lambda o: o, threaded=True),
        Impl(TURBORLE, "batch encode(x) -> RLEBatch",
             lambda inp, t: (inp.masks, _threads_kw(t)),
             lambda a: _tr().encode(a[0], **a[1]), _batch_rles, threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "asfortranarray copy + encode", t_mask,
             lambda a: _m("pycocotools.mask").encode(np.asfortranarray(a)), lambda o: o),
        Impl(RLEMASKLIB, "encode(x, batch_first=True), C-order path",
             lambda inp, t: inp.masks,
             lambda a: _m("rlemasklib").encode(a, batch_first=True), lambda o: o),
        Impl(HOTCOCO, "mask.encode of the (h,w,n) view (copies inside)", t_mask,
             lambda a: _m("hotcoco.mask").encode(a), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.encode of the (h,w,n) view", t_mask,
             lambda a: _m("faster_coco_eval.core.mask").encode(a), lambda o: o),
        Impl(ULTRAFAST, "asfortranarray copy + encode", t_mask,
             lambda a: _m("ultrafast_pycocotools.mask").encode(np.asfortranarray(a)),
             lambda o: o),
    ]


def _encode_f_impls() -> list[Impl]:
    def f(inp: Inputs, t: int) -> Any:
        return inp.fortran

    def enc(module: str) -> Callable[[Any], Any]:
        return lambda a: _m(module).encode(a)

    return [
        Impl(NUMPY, "read baseline: max over the bytes as uint64",
             lambda inp, t: _u64(inp.fortran), lambda a: a.max(), baseline=True),
        Impl(TURBORLE, "mask.encode", f, enc("turborle.mask"), lambda o: o, threaded=True),
        Impl(TURBORLE, "batch encode(f.transpose(2,0,1)) -> RLEBatch",
             lambda inp, t: (inp.fortran.transpose(2, 0, 1), _threads_kw(t)),
             lambda a: _tr().encode(a[0], **a[1]), _batch_rles, threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "mask.encode", f, enc("pycocotools.mask"), lambda o: o),
        Impl(RLEMASKLIB, "encode", f, enc("rlemasklib"), lambda o: o),
        Impl(HOTCOCO, "mask.encode", f, enc("hotcoco.mask"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.encode", f, enc("faster_coco_eval.core.mask"), lambda o: o),
        Impl(ULTRAFAST, "mask.encode", f, enc("ultrafast_pycocotools.mask"), lambda o: o),
    ]


# ---- decode ----------------------------------------------------------------------------------


def _rles(inp: Inputs, t: int) -> Any:
    return inp.rles


def _decode_c_via_f(module: str) -> Callable[[Any], Any]:
    """A pycocotools-style decoder: Fortran (h, w, n) out, then a C-ordered (n, h, w) copy."""
    return lambda rles: np.ascontiguousarray(_m(module).decode(rles).transpose(2, 0, 1))


def _rlemasklib_decode_into(masks: list[Any], out_views: list[np.ndarray]) -> None:
    for m, o in zip(masks, out_views, strict=True):
        m.decode_into(o, fg_value=1, bg_value=0)  # writes every byte of o


def _rlemasklib_prepare_c(inp: Inputs, t: int) -> Any:
    rm = _m("rlemasklib").RLEMask
    out = np.empty((inp.n, inp.h, inp.w), np.uint8)
    return [rm.from_dict(d) for d in inp.rles], list(out), out


def _rlemasklib_prepare_f(inp: Inputs, t: int) -> Any:
    out = np.empty((inp.h, inp.w, inp.n), np.uint8, order="F")
    return inp.rles, [out[:, :, i] for i in range(inp.n)], out


def _rlemasklib_decode_f(a: Any) -> np.ndarray:
    rm = _m("rlemasklib").RLEMask
    for d, o in zip(a[0], a[1], strict=True):
        rm.from_dict(d).decode_into(o, fg_value=1, bg_value=0)
    return a[2]


def _rlemasklib_decode_c(a: Any) -> np.ndarray:
    _rlemasklib_decode_into(a[0], a[1])
    return a[2]


def _fill_prepare(order: str) -> Callable[[Inputs, int], np.ndarray]:
    def prepare(inp: Inputs, t: int) -> np.ndarray:
        if order == "C":
            out = np.empty((inp.n, inp.h, inp.w), np.uint8)
        else:
            out = np.empty((inp.h, inp.w, inp.n), np.uint8, order="F")
        out.fill(1)  # materialise the pages once, untimed
        return out

    return prepare


def _turborle_decode_f_into(a: Any) -> np.ndarray:
    rles, kw, out = a  # out: (h, w, n) Fortran; per mask column-major, like rlemasklib's
    _tr().decode(_tr().from_coco(rles, **kw), order="F", out=out.transpose(2, 0, 1), **kw)
    return out


def _decode_c_impls() -> list[Impl]:
    def touched(fn: Callable[[Any], np.ndarray]) -> Callable[[Any], np.ndarray]:
        return lambda a: touch_pages(fn(a))

    return [
        Impl(NUMPY, "write baseline: fill of a preallocated array", _fill_prepare("C"),
             lambda a: a.fill(0), baseline=True),
        Impl(TURBORLE, "batch decode(order='C') of a parsed RLEBatch",
             _parsed,
             touched(lambda a: _tr().decode(a[0], order="C", **a[1])), lambda o: o,
             threaded=True, needs=("batch",)),
        Impl(TURBORLE, "batch decode(order='C', out=) into a preallocated array",
             lambda inp, t: (_tr().from_coco(inp.rles), _threads_kw(t),
                             _fill_prepare("C")(inp, t)),
             lambda a: _tr().decode(a[0], order="C", out=a[2], **a[1]), lambda o: o,
             threaded=True, needs=("batch",)),
        Impl(TURBORLE, "mask.decode + C-order copy", _rles,
             touched(_decode_c_via_f("turborle.mask")), lambda o: o, threaded=True),
        Impl(PYCOCOTOOLS, "mask.decode + C-order copy", _rles,
             touched(_decode_c_via_f("pycocotools.mask")), lambda o: o),
        Impl(RLEMASKLIB, "RLEMask.decode_into a preallocated array (parsed RLEMasks)",
             _rlemasklib_prepare_c, _rlemasklib_decode_c, lambda o: o),
        Impl(HOTCOCO, "mask.decode + C-order copy", _rles,
             touched(_decode_c_via_f("hotcoco.mask")), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.decode + C-order copy", _rles,
             touched(_decode_c_via_f("faster_coco_eval.core.mask")), lambda o: o),
        Impl(ULTRAFAST, "mask.decode + C-order copy", _rles,
             touched(_decode_c_via_f("ultrafast_pycocotools.mask")), lambda o: o),
    ]


def _decode_f_impls() -> list[Impl]:
    def dec(module: str) -> Callable[[Any], np.ndarray]:
        return lambda rles: touch_pages(_m(module).decode(rles))

    return [
        Impl(NUMPY, "write baseline: fill of a preallocated array", _fill_prepare("F"),
             lambda a: a.fill(0), baseline=True),
        Impl(TURBORLE, "mask.decode", _rles, dec("turborle.mask"), lambda o: o, threaded=True),
        Impl(TURBORLE, "from_coco + decode(order='F', out=) into a preallocated array",
             lambda inp, t: (inp.rles, _threads_kw(t), _fill_prepare("F")(inp, t)),
             _turborle_decode_f_into, lambda o: o, threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "mask.decode", _rles, dec("pycocotools.mask"), lambda o: o),
        Impl(RLEMASKLIB, "RLEMask.from_dict + decode_into a preallocated array",
             _rlemasklib_prepare_f, _rlemasklib_decode_f, lambda o: o),
        Impl(HOTCOCO, "mask.decode", _rles, dec("hotcoco.mask"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.decode", _rles, dec("faster_coco_eval.core.mask"),
             lambda o: o),
        Impl(ULTRAFAST, "mask.decode", _rles, dec("ultrafast_pycocotools.mask"), lambda o: o),
    ]


# ---- IoU -------------------------------------------------------------------------------------


def _iou_args(inp: Inputs, t: int) -> Any:
    return inp.dt_rles, inp.rles, inp.iscrowd


def _call(module: str, name: str, spread: bool = False) -> Callable[[Any], Any]:
    """module.name(arg) (or module.name(*arg) with spread), imported when the case runs."""
    if spread:
        return lambda arg: getattr(_m(module), name)(*arg)
    return lambda arg: getattr(_m(module), name)(arg)


def _parsed(inp: Inputs, t: int) -> tuple[Any, dict[str, int]]:
    """A parsed RLEBatch of the case's dicts, and the thread keyword."""
    return _tr().from_coco(inp.rles), _threads_kw(t)


def _iou_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "mask.iou of dicts", _iou_args, _call("turborle.mask", "iou", spread=True), lambda o: o,
             threaded=True),
        Impl(TURBORLE, "batch iou of parsed RLEBatches",
             lambda inp, t: (_tr().from_coco(inp.dt_rles), _tr().from_coco(inp.rles),
                             inp.iscrowd, _threads_kw(t)),
             lambda a: _tr().iou(a[0], a[1], iscrowd=a[2], **a[3]), lambda o: o,
             threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "mask.iou", _iou_args, _call("pycocotools.mask", "iou", spread=True), lambda o: o),
        # RLEMask.iou_matrix is faster still but has no crowd flag; its pycocotools-style
        # iou(dt, gt, iscrowd) over dicts is the path that computes this operation.
        Impl(RLEMASKLIB, "rlemasklib_cython.iou of dicts (RLEMask.iou_matrix has no crowd flag)",
             _iou_args, _call("rlemasklib.rlemasklib_cython", "iou", spread=True), lambda o: o),
        Impl(HOTCOCO, "mask.iou", _iou_args, _call("hotcoco.mask", "iou", spread=True), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.iou", _iou_args, _call("faster_coco_eval.core.mask", "iou", spread=True),
             lambda o: o),
        Impl(ULTRAFAST, "mask.iou", _iou_args, _call("ultrafast_pycocotools.mask", "iou", spread=True), lambda o: o),
    ]


# ---- merge -----------------------------------------------------------------------------------


def _merge_impls() -> list[Impl]:
    def one(o: Any) -> list[dict]:
        return [o]

    return [
        Impl(TURBORLE, "mask.merge of dicts", _rles, _call("turborle.mask", "merge"), one, threaded=True),
        Impl(TURBORLE, "batch merge of a parsed RLEBatch",
             _parsed,
             lambda a: _tr().merge(a[0], op="union", **a[1]), _batch_rles,
             threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "mask.merge", _rles, _call("pycocotools.mask", "merge"), one),
        Impl(RLEMASKLIB, "union of dicts", _rles, _call("rlemasklib", "union"), one),
        Impl(RLEMASKLIB, "RLEMask.union of parsed RLEMasks",
             lambda inp, t: [_m("rlemasklib").RLEMask.from_dict(d) for d in inp.rles],
             lambda ms: _m("rlemasklib").RLEMask.union(ms), lambda o: [o.to_dict()],
             key="rlemasklib.RLEMask"),
        Impl(HOTCOCO, "mask.merge", _rles, _call("hotcoco.mask", "merge"), one),
        Impl(FASTER_COCO_EVAL, "mask.merge", _rles, _call("faster_coco_eval.core.mask", "merge"), one),
        Impl(ULTRAFAST, "mask.merge", _rles, _call("ultrafast_pycocotools.mask", "merge"), one),
    ]


# ---- area and toBbox -------------------------------------------------------------------------

# pycocotools 2.0.11's area raises OverflowError under numpy 2 for a list of more than 255
# RLEs, so it is timed in chunks of 255 (one call per chunk).
PYCOCOTOOLS_AREA_CHUNK = 255


def _coco_area_chunked(rles: list[dict]) -> np.ndarray:
    area = _m("pycocotools.mask").area
    step = PYCOCOTOOLS_AREA_CHUNK
    return np.concatenate([area(rles[i:i + step]) for i in range(0, len(rles), step)])


def _area_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "mask.area of dicts", _rles, _call("turborle.mask", "area"), lambda o: o,
             threaded=True),
        Impl(TURBORLE, "batch area of a parsed RLEBatch",
             _parsed,
             lambda a: _tr().area(a[0], **a[1]), lambda o: o, threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, f"mask.area in chunks of {PYCOCOTOOLS_AREA_CHUNK} (raises for more)",
             _rles, _coco_area_chunked, lambda o: o),
        Impl(RLEMASKLIB, "area of dicts", _rles, _call("rlemasklib", "area"), lambda o: o),
        Impl(HOTCOCO, "mask.area", _rles, _call("hotcoco.mask", "area"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.area", _rles, _call("faster_coco_eval.core.mask", "area"),
             lambda o: o),
        Impl(ULTRAFAST, "mask.area", _rles, _call("ultrafast_pycocotools.mask", "area"), lambda o: o),
    ]


def _bbox_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "mask.toBbox of dicts", _rles, _call("turborle.mask", "toBbox"), lambda o: o,
             threaded=True),
        Impl(TURBORLE, "batch bbox of a parsed RLEBatch",
             _parsed,
             lambda a: _tr().bbox(a[0], **a[1]), lambda o: o, threaded=True, needs=("batch",)),
        Impl(PYCOCOTOOLS, "mask.toBbox", _rles, _call("pycocotools.mask", "toBbox"), lambda o: o),
        Impl(RLEMASKLIB, "to_bbox of dicts (float32)", _rles, _call("rlemasklib", "to_bbox"),
             lambda o: o),
        Impl(HOTCOCO, "mask.toBbox", _rles, _call("hotcoco.mask", "toBbox"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.toBbox", _rles, _call("faster_coco_eval.core.mask", "toBbox"),
             lambda o: o),
        Impl(ULTRAFAST, "mask.toBbox", _rles, _call("ultrafast_pycocotools.mask", "toBbox"), lambda o: o),
    ]


# ---- the registry ----------------------------------------------------------------------------


def _n_pixels(inp: Inputs) -> int:
    return inp.n * inp.h * inp.w


OPERATIONS: list[Operation] = [
    Operation(
        "encode_c", "encode (n, h, w) C-order uint8 -> RLE",
        lambda inp: _coco_call("encode")(inp.fortran), _same_rles, _n_pixels,
        ENCODE_SHAPES, _encode_c_impls()),
    Operation(
        "encode_f", "encode (h, w, n) Fortran uint8 -> RLE",
        lambda inp: _coco_call("encode")(inp.fortran), _same_rles, _n_pixels,
        ENCODE_SHAPES, _encode_f_impls()),
    Operation(
        "decode_c", "decode RLE -> (n, h, w) C-order",
        lambda inp: inp.masks, _same_array, _n_pixels, ENCODE_SHAPES, _decode_c_impls()),
    Operation(
        "decode_f", "decode RLE dicts -> (h, w, n) Fortran",
        lambda inp: inp.fortran, _same_array, _n_pixels, ENCODE_SHAPES, _decode_f_impls()),
    Operation(
        "iou", "IoU dt x gt with crowd flags (RLE dicts)",
        lambda inp: np.asarray(_coco_call("iou")(inp.dt_rles, inp.rles, inp.iscrowd)),
        _same_float, lambda inp: (inp.n + inp.n_dt) * inp.h * inp.w,
        {"smoke": [Shape(5, 32, 48, n_dt=2)],
         "quick": [Shape(64, 1024, 1024, n_dt=64)],
         "default": [Shape(64, 1024, 1024, n_dt=64), Shape(300, 1024, 1024, n_dt=300)]},
        _iou_impls(), dense=False),
    Operation(
        "merge", "merge (union) of n RLEs",
        lambda inp: [_coco_call("merge")(inp.rles)], _same_rles, _n_pixels,
        {"smoke": [Shape(2, 32, 48)],
         "quick": [Shape(64, 1024, 1024)],
         "default": [Shape(64, 1024, 1024), Shape(16, 4000, 3000)]},
        _merge_impls(), dense=False),
    Operation(
        "area", "area of compressed RLE dicts",
        lambda inp: _coco_area_chunked(inp.rles).astype(np.int64), _same_int,
        lambda inp: len(inp.rles) * inp.h * inp.w,
        {"smoke": [Shape(2, 32, 48, repeat_to=300)],
         "quick": [Shape(64, 1024, 1024, repeat_to=10_000)],
         "default": [Shape(300, 1024, 1024, repeat_to=10_000)]},
        _area_impls(), dense=False),
    Operation(
        "bbox", "toBbox of compressed RLE dicts",
        lambda inp: np.asarray(_coco_call("toBbox")(inp.rles), dtype=np.float64), _same_float,
        lambda inp: len(inp.rles) * inp.h * inp.w,
        {"smoke": [Shape(2, 32, 48, repeat_to=300)],
         "quick": [Shape(64, 1024, 1024, repeat_to=10_000)],
         "default": [Shape(300, 1024, 1024, repeat_to=10_000)]},
        _bbox_impls(), dense=False),
]

for _op in OPERATIONS:
    _op.shapes.setdefault("all", _op.shapes["default"])

MODES = ("smoke", "quick", "default", "all")


def cases(mode: str, threads: tuple[int, ...] = (1,),
          only: str = "") -> list[tuple[Operation, Shape, Impl, int]]:
    """Every (operation, shape, impl, threads) of a mode; ``only``: library-name prefix filter."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    out = []
    for op in OPERATIONS:
        for shape in op.shapes[mode]:
            for impl in op.impls:
                if only and not impl.library.name.startswith(only):
                    continue
                for t in threads:
                    if t != 1 and not impl.threaded:
                        continue
                    out.append((op, shape, impl, t))
    return out


def case_id(op: Operation, shape: Shape, impl: Impl, threads: int) -> str:
    key = impl.key.replace(" ", "-")
    return f"{op.name}-{shape.label.replace(' ', '')}-{key}-t{threads}"


def run_once(op: Operation, shape: Shape, impl: Impl, threads: int = 1) -> tuple[Inputs, Any, Any]:
    """Prepare, run once and check an implementation; returns (inputs, args, output).

    Raises AssertionError when the output differs from pycocotools'.
    """
    inputs = inputs_for(shape)
    if not op.dense:  # build the dicts, then free the dense masks they came from
        _ = inputs.rles
        if inputs.n_dt:
            _ = inputs.dt_rles
        inputs.drop_masks()
    with turborle_threads(threads):
        args = impl.prepare(inputs, threads)
        output = impl.run(args)
    op.check(impl, inputs, output)
    return inputs, args, output
