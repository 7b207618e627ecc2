"""What the speed benchmarks measure: operations, inputs and one callable per library.

This module is plain Python (numpy + the libraries under test; no pytest, no
pytest-benchmark), so the same callables drive ``benchmarks/test_speed.py`` (timed with
pytest-benchmark), ``benchmarks/profile_case.py`` (one case in a loop, for perf) and
``tests/test_benchmarks_smoke.py`` (each run once on tiny inputs).

Vocabulary
----------
Operation
    One group of the report (``encode_c``, ``parse``, ``iou``, ...): how to build its inputs,
    the reference result (pycocotools', or numpy's where pycocotools has no such operation),
    how to compare a result with it, and the work one call does (mask pixels for GB/s, masks
    for masks/s, and for fal text its runs and bytes).
Shape
    The size of one case (masks, image size, list length) and its corpus: ``sam`` or
    ``coco`` (``benchmarks/masks.py``); every shape that names no corpus runs on both.
Impl
    One library's way of doing an operation: ``prepare(inputs, threads)`` builds the
    arguments in the library's own form (untimed: parsing dicts into a library's own object,
    preallocating an output array), ``run(args)`` is the timed call, ``result(output)`` turns
    its output into the form the operation compares (untimed).

Every library is timed through its fastest public path found by reading its API (and, where
that is the only way to time an operation, a private one, named as such); the ``variant``
string of each Impl says which path, and what the timed call includes. Decoders that return
a fresh array also write one byte per 4 KiB page of it inside the timed call
(:func:`touch_pages`): a freshly ``calloc``-ed array of lazy zero pages otherwise flatters
whoever writes only the foreground. For a decoder that wrote every byte already, that costs
about 0.1% of its time.

COCO dicts are given as ``json.load`` returns them (``counts`` a ``str``): that is how
datasets store masks. The ``parse`` group also times ``bytes`` counts (what
``pycocotools.mask.encode`` returns).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import os
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from .masks import CORPORA, SMALL, corpus_masks

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
PEERS = (PYCOCOTOOLS, RLEMASKLIB, HOTCOCO, FASTER_COCO_EVAL, ULTRAFAST)

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


def _m(module: str) -> Any:
    return load(module)


BATCH_API = ("encode", "decode", "from_coco", "area", "bbox", "iou", "merge")


def batch_api_missing(names: tuple[str, ...] = BATCH_API) -> str | None:
    """Why turborle's batch API (``names`` of it) is unusable, or None."""
    why = missing("turborle")
    if why:
        return why
    absent = [n for n in names if not hasattr(_tr(), n)]
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


@dataclass(frozen=True)
class Shape:
    n: int  # masks (distinct masks when repeat_to is set)
    h: int
    w: int
    n_dt: int = 0  # IoU: detections x n ground truths
    repeat_to: int = 0  # dict lists: the n masks repeated (as separate copies) to this many
    corpus: str = ""  # "sam", "coco", "boxes"; "" in a registry: one case per corpus
    small: bool = False  # COCO-sized objects (masks.SMALL) instead of the corpus's own
    counts: str = "str"  # type of the dicts' counts: "str" (json.load) or "bytes"

    @property
    def label(self) -> str:
        """The size, without the corpus (reports give the corpus its own column)."""
        if self.n_dt:
            text = f"{self.n_dt}x{self.n} @ {self.h}x{self.w}"
        elif self.repeat_to:
            text = f"{self.repeat_to} dicts @ {self.h}x{self.w}"
        else:
            text = f"{self.n}x{self.h}x{self.w}"
        if self.small:
            text += " small"
        if self.counts != "str":
            text += f" {self.counts}"
        return text

    @property
    def size_range(self) -> tuple[float, float] | None:
        return SMALL if self.small else None


class Inputs:
    """Lazily built, cached inputs of one shape: masks, their COCO dicts, ..."""

    def __init__(self, shape: Shape):
        self.shape = shape
        self.n, self.h, self.w = shape.n, shape.h, shape.w
        self.references: dict[str, Any] = {}  # reference result per operation

    @cached_property
    def masks(self) -> np.ndarray:
        """(n, h, w) C-ordered uint8 0/1: what a model produces."""
        s = self.shape
        return corpus_masks(s.corpus, s.n, s.h, s.w, seed=0, size=s.size_range)

    @cached_property
    def fortran(self) -> np.ndarray:
        """(h, w, n) Fortran-ordered uint8: pycocotools' layout."""
        return np.asfortranarray(self.masks.transpose(1, 2, 0))

    def _dicts(self, seed: int, n: int) -> list[dict]:
        s = self.shape
        if seed == 0 and "masks" in self.__dict__:
            base = _to_dicts(self.masks)
        else:
            base = _corpus_dicts(s.corpus, n, s.h, s.w, seed, s.small)
        as_str = s.counts == "str"
        return [{"size": list(d["size"]),
                 "counts": d["counts"].decode("ascii") if as_str else d["counts"]}
                for d in base]

    @cached_property
    def rles(self) -> list[dict]:
        """COCO dicts of the masks (pycocotools' encoding), ``repeat_to`` long when set.

        Repeats are separate copies of the counts, so a long list is as large in memory as a
        list of distinct masks (no cache-resident shortcut)."""
        base = self._dicts(0, self.n)
        if not self.shape.repeat_to:
            return base
        out = []
        for i in range(self.shape.repeat_to):
            d = base[i % len(base)]
            c = d["counts"]
            out.append({"size": list(d["size"]), "counts": c[:1] + c[1:]})  # a new object
        return out

    @cached_property
    def dt_rles(self) -> list[dict]:
        """Detections for IoU: ``n_dt`` masks of another seed."""
        return self._dicts(1, self.shape.n_dt)

    def drop_masks(self) -> None:
        """Forget the dense arrays (operations on RLEs only need the dicts)."""
        self.__dict__.pop("masks", None)
        self.__dict__.pop("fortran", None)


def _to_dicts(masks_nhw: np.ndarray) -> list[dict]:
    """pycocotools' compressed dicts of (n, h, w) masks (the reference encoder)."""
    coco = _m("pycocotools.mask")
    return coco.encode(np.asfortranarray(masks_nhw.transpose(1, 2, 0)))


@lru_cache(maxsize=8)
def _corpus_dicts(corpus: str, n: int, h: int, w: int, seed: int, small: bool) -> tuple[dict, ...]:
    """Dicts of ``n`` corpus masks, made 256 at a time (never all of them dense at once)."""
    out: list[dict] = []
    for first in range(0, n, 256):
        chunk = corpus_masks(corpus, min(256, n - first), h, w, seed,
                             size=SMALL if small else None, first=first)
        out += _to_dicts(chunk)
    return tuple(out)


_cache: OrderedDict[Shape, Inputs] = OrderedDict()


def inputs_for(shape: Shape) -> Inputs:
    """Cached :class:`Inputs` of a shape (the last four shapes are kept)."""
    if shape in _cache:
        _cache.move_to_end(shape)
        return _cache[shape]
    inp = Inputs(shape)
    _cache[shape] = inp
    while len(_cache) > 4:
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


def _flat(arr: np.ndarray) -> np.ndarray:
    """The bytes of a contiguous array as one flat uint8 view."""
    return arr.reshape(-1, order="A").view(np.uint8)


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


def numpy_counts(mask2d: np.ndarray) -> np.ndarray:
    """COCO's uncompressed counts of one (h, w) mask, by numpy: run lengths of the
    column-major scan, starting with a (possibly empty) background run."""
    flat = np.asarray(mask2d).reshape(-1, order="F") != 0
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    lengths = np.diff(edges)
    if flat.size and flat[0]:
        lengths = np.concatenate([[0], lengths])
    return lengths.astype(np.int64)


def _same_parsed(got: Any, want: tuple[list[dict], list[np.ndarray]]) -> None:
    """A parse result: either per-mask uncompressed counts (compared with numpy's counts of
    pycocotools' decoding) or, for a library whose parsed form is opaque, the COCO dicts it
    writes back (compared with the input)."""
    dicts, counts = want
    if got and isinstance(got[0], dict):
        _same_rles(got, dicts)
        return
    assert len(got) == len(counts), f"{len(got)} masks, expected {len(counts)}"
    bad = [i for i, (g, e) in enumerate(zip(got, counts, strict=True))
           if not np.array_equal(np.asarray(g, dtype=np.int64), e)]
    assert not bad, f"counts of mask {bad[0]} differ ({len(bad)} of {len(counts)} differ)"


def _parse_reference(inp: Inputs) -> tuple[list[dict], list[np.ndarray]]:
    """The input dicts, and numpy's counts of each mask as pycocotools decodes it."""
    coco = _m("pycocotools.mask")
    distinct = inp.rles[:inp.n] if inp.shape.repeat_to else inp.rles
    counts = []
    for d in distinct:
        with warnings.catch_warnings():  # pycocotools' decode warns under numpy 2
            warnings.simplefilter("ignore", DeprecationWarning)
            counts.append(numpy_counts(coco.decode(d)))
    reps = len(inp.rles)
    return inp.rles, [counts[i % len(counts)] for i in range(reps)]


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
    needs: tuple[str, ...] = ()  # turborle functions the path needs (e.g. "from_coco")
    baseline: bool = False
    key: str = ""  # short name for test ids and report columns; default: derived
    extra_work: Callable[[Inputs], dict[str, float]] | None = None  # overrides the operation's

    def __post_init__(self) -> None:
        if not self.key:
            if self.library is TURBORLE:
                self.key = "turborle.batch" if self.needs else "turborle.mask"
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
        if self.needs:
            why = batch_api_missing(self.needs)
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
    name: str  # short id: encode_c, parse, iou, ...
    title: str  # what is measured, for reports
    reference: Callable[[Inputs], Any]  # the reference result, in comparable form
    compare: Callable[[Any, Any], None]  # raises AssertionError on a mismatch
    pixels: Callable[[Inputs], int]  # mask pixels processed (1 byte each) per call
    shapes: dict[str, list[Shape]]  # per mode: "smoke", "quick", "default", "all"
    impls: list[Impl] = field(default_factory=list)
    dense: bool = True  # needs the dense masks (else they are dropped after encoding)
    masks: Callable[[Inputs], int] = lambda inp: len(inp.rles) if inp.shape.repeat_to else inp.n
    extra_work: Callable[[Inputs], dict[str, float]] | None = None  # e.g. fal runs and bytes
    thread_shapes: tuple[Shape, ...] = ()  # compared at 2 threads vs 1 in the default run

    def check(self, impl: Impl, inputs: Inputs, output: Any) -> None:
        """Assert that ``output`` of ``impl`` equals the reference result."""
        if impl.result is None:
            return
        if self.name not in inputs.references:
            inputs.references[self.name] = self.reference(inputs)
        self.compare(impl.result(output), inputs.references[self.name])

    def work(self, inputs: Inputs, impl: Impl | None = None) -> dict[str, float]:
        """What one call processes: pixels, masks and any extra units (fal: runs, MB)."""
        out = {"pixels": float(self.pixels(inputs)), "masks": float(self.masks(inputs))}
        extra = impl.extra_work if impl and impl.extra_work else self.extra_work
        if extra:
            out.update(extra(inputs))
        return out


def _coco_call(name: str) -> Callable[..., Any]:
    return lambda *a: getattr(_m("pycocotools.mask"), name)(*a)


def _call(module: str, name: str, spread: bool = False) -> Callable[[Any], Any]:
    """module.name(arg) (or module.name(*arg) with spread), imported when the case runs."""
    if spread:
        return lambda arg: getattr(_m(module), name)(*arg)
    return lambda arg: getattr(_m(module), name)(arg)


def _rles(inp: Inputs, t: int) -> Any:
    return inp.rles


def _parsed(inp: Inputs, t: int) -> tuple[Any, dict[str, int]]:
    """A parsed RLEBatch of the case's dicts, and the thread keyword."""
    return _tr().from_coco(inp.rles), _threads_kw(t)


def _batch_rles(batch: Any) -> list[dict]:
    """COCO dicts of a turborle batch result (an RLEBatch, or one dict / a list of them)."""
    if hasattr(batch, "to_coco"):
        return batch.to_coco()
    return [batch] if isinstance(batch, dict) else list(batch)


def _rlemasks(inp: Inputs, t: int) -> list[Any]:
    rm = _m("rlemasklib").RLEMask
    return [rm.from_dict(d) for d in inp.rles]


# ---- shapes ----------------------------------------------------------------------------------

TARGET = Shape(64, 1024, 1024)  # the targets' masks: 64 of 1024x1024
DICTS_10K = Shape(300, 1024, 1024, repeat_to=10_000)  # 10,000 dicts, 300 distinct masks
WORKLOAD_DENSE = Shape(1000, 480, 640, small=True)  # COCO-sized: encode (dense, 1000 of them)
WORKLOAD_DICTS = Shape(2000, 480, 640, repeat_to=20_000, small=True)  # COCO-sized: 20k dicts
SMOKE = Shape(2, 32, 48)
SMOKE_DICTS = Shape(2, 32, 48, repeat_to=300)

SWEEP = [Shape(1, 1024, 1024), Shape(16, 1024, 1024), Shape(1, 1500, 2250),
         Shape(16, 1500, 2250), Shape(1, 4000, 3000), Shape(16, 4000, 3000)]
SWEEP_ALL = SWEEP + [Shape(64, 1500, 2250), Shape(64, 4000, 3000)]


def _modes(smoke: list[Shape], quick: list[Shape], default: list[Shape] | None = None,
           all_: list[Shape] | None = None) -> dict[str, list[Shape]]:
    default = quick if default is None else default
    return {"smoke": smoke, "quick": quick, "default": default,
            "all": default if all_ is None else all_}


# ---- encode ----------------------------------------------------------------------------------

ENCODE_C_SHAPES = _modes([SMOKE], [TARGET], [TARGET], [TARGET] + SWEEP_ALL)
ENCODE_F_SHAPES = _modes([SMOKE], [TARGET], [TARGET, WORKLOAD_DENSE],
                         [TARGET, WORKLOAD_DENSE] + SWEEP_ALL)


def _count_nonzero(a: np.ndarray) -> int:
    return int(np.count_nonzero(a))


def _encode_c_impls() -> list[Impl]:
    def t_mask(inp: Inputs, t: int) -> Any:
        return inp.masks.transpose(1, 2, 0)  # zero-copy (h, w, n) view of C-ordered memory

    return [
        Impl(NUMPY, "read baseline: np.count_nonzero of the same array",
             lambda inp, t: _flat(inp.masks), _count_nonzero, baseline=True),
        Impl(TURBORLE, "mask.encode of the (h,w,n) view", t_mask,
             lambda a: _m("turborle.mask").encode(a), lambda o: o, threaded=True),
        Impl(TURBORLE, "batch encode(x) -> RLEBatch",
             lambda inp, t: (inp.masks, _threads_kw(t)),
             lambda a: _tr().encode(a[0], **a[1]), _batch_rles, threaded=True,
             needs=("encode",)),
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
        Impl(NUMPY, "read baseline: np.count_nonzero of the same array",
             lambda inp, t: _flat(inp.fortran), _count_nonzero, baseline=True),
        Impl(TURBORLE, "mask.encode", f, enc("turborle.mask"), lambda o: o, threaded=True),
        Impl(TURBORLE, "batch encode(f.transpose(2,0,1)) -> RLEBatch",
             lambda inp, t: (inp.fortran.transpose(2, 0, 1), _threads_kw(t)),
             lambda a: _tr().encode(a[0], **a[1]), _batch_rles, threaded=True,
             needs=("encode",)),
        Impl(PYCOCOTOOLS, "mask.encode", f, enc("pycocotools.mask"), lambda o: o),
        Impl(RLEMASKLIB, "encode", f, enc("rlemasklib"), lambda o: o),
        Impl(HOTCOCO, "mask.encode", f, enc("hotcoco.mask"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.encode", f, enc("faster_coco_eval.core.mask"), lambda o: o),
        Impl(ULTRAFAST, "mask.encode", f, enc("ultrafast_pycocotools.mask"), lambda o: o),
    ]


# ---- decode ----------------------------------------------------------------------------------

DECODE_SHAPES = _modes([SMOKE], [TARGET], [TARGET], [TARGET] + SWEEP_ALL)


def _preallocated(order: str) -> Callable[[Inputs, int], np.ndarray]:
    """An output array whose pages are already mapped: (n, h, w) C or (h, w, n) Fortran."""
    def prepare(inp: Inputs, t: int) -> np.ndarray:
        if order == "C":
            out = np.empty((inp.n, inp.h, inp.w), np.uint8)
        else:
            out = np.empty((inp.h, inp.w, inp.n), np.uint8, order="F")
        out.fill(1)  # materialise the pages once, untimed
        return out

    return prepare


def _decode_into(masks: list[Any], views: list[np.ndarray]) -> None:
    for m, o in zip(masks, views, strict=True):
        m.decode_into(o, fg_value=1, bg_value=0)  # writes every byte of o


def _rlemasklib_into(order: str) -> Callable[[Inputs, int], Any]:
    def prepare(inp: Inputs, t: int) -> Any:
        out = _preallocated(order)(inp, t)
        views = list(out) if order == "C" else [out[:, :, i] for i in range(inp.n)]
        return _rlemasks(inp, t), views, out

    return prepare


def _rlemasklib_run_into(a: Any) -> np.ndarray:
    _decode_into(a[0], a[1])
    return a[2]


def _turborle_into(order: str) -> Callable[[Inputs, int], Any]:
    def prepare(inp: Inputs, t: int) -> Any:
        out = _preallocated(order)(inp, t)
        # "F": (h, w, n) Fortran is per mask column-major; as (n, h, w) it is the transpose
        # of an (n, w, h) C array, which is what decode(order="F", out=) fills.
        target = out if order == "C" else out.transpose(2, 0, 1)
        return _tr().from_coco(inp.rles), _threads_kw(t), target, out

    return prepare


def _turborle_run_into(order: str) -> Callable[[Any], np.ndarray]:
    def run(a: Any) -> np.ndarray:
        _tr().decode(a[0], order=order, out=a[2], **a[1])
        return a[3]

    return run


def _decode_into_impls(order: str) -> list[Impl]:
    return [
        Impl(NUMPY, "write baseline: fill of a preallocated array", _preallocated(order),
             lambda a: a.fill(0), baseline=True),
        Impl(TURBORLE, f"batch decode(order='{order}', out=) of a parsed RLEBatch",
             _turborle_into(order), _turborle_run_into(order), lambda o: o, threaded=True,
             needs=("from_coco", "decode")),
        Impl(RLEMASKLIB, "RLEMask.decode_into of parsed RLEMasks",
             _rlemasklib_into(order), _rlemasklib_run_into, lambda o: o),
    ]


def _decode_c_via_f(module: str) -> Callable[[Any], Any]:
    """A pycocotools-style decoder: Fortran (h, w, n) out, then a C-ordered (n, h, w) copy."""
    return lambda rles: np.ascontiguousarray(_m(module).decode(rles).transpose(2, 0, 1))


def _rlemasklib_alloc(order: str) -> Callable[[Any], np.ndarray]:
    """rlemasklib has no decoder of a list: allocate the output, decode_into each mask."""
    def run(rles: list[dict]) -> np.ndarray:
        rm = _m("rlemasklib").RLEMask
        h, w = rles[0]["size"]
        if order == "C":
            out = np.empty((len(rles), h, w), np.uint8)
            views = list(out)
        else:
            out = np.empty((h, w, len(rles)), np.uint8, order="F")
            views = [out[:, :, i] for i in range(len(rles))]
        for d, o in zip(rles, views, strict=True):
            rm.from_dict(d).decode_into(o, fg_value=1, bg_value=0)
        return out

    return run


def _touched(fn: Callable[[Any], np.ndarray]) -> Callable[[Any], np.ndarray]:
    return lambda a: touch_pages(fn(a))


def _decode_c_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "batch decode(dicts, order='C')",
             lambda inp, t: (inp.rles, _threads_kw(t)),
             _touched(lambda a: _tr().decode(a[0], order="C", **a[1])), lambda o: o,
             threaded=True, needs=("decode",)),
        Impl(TURBORLE, "mask.decode + C-order copy", _rles,
             _touched(_decode_c_via_f("turborle.mask")), lambda o: o, threaded=True),
        Impl(PYCOCOTOOLS, "mask.decode + C-order copy", _rles,
             _touched(_decode_c_via_f("pycocotools.mask")), lambda o: o),
        Impl(RLEMASKLIB, "np.empty + RLEMask.from_dict(d).decode_into per mask", _rles,
             _rlemasklib_alloc("C"), lambda o: o),
        Impl(HOTCOCO, "mask.decode + C-order copy", _rles,
             _touched(_decode_c_via_f("hotcoco.mask")), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.decode + C-order copy", _rles,
             _touched(_decode_c_via_f("faster_coco_eval.core.mask")), lambda o: o),
        Impl(ULTRAFAST, "mask.decode + C-order copy", _rles,
             _touched(_decode_c_via_f("ultrafast_pycocotools.mask")), lambda o: o),
    ]


def _decode_f_impls() -> list[Impl]:
    def dec(module: str) -> Callable[[Any], np.ndarray]:
        return lambda rles: touch_pages(_m(module).decode(rles))

    def batch_f(a: Any) -> np.ndarray:  # (n, h, w), each mask column-major: as (h, w, n)
        return touch_pages(_tr().decode(a[0], order="F", **a[1]).transpose(1, 2, 0))

    return [
        Impl(TURBORLE, "mask.decode", _rles, dec("turborle.mask"), lambda o: o, threaded=True),
        Impl(TURBORLE, "batch decode(dicts, order='F'), as (h, w, n)",
             lambda inp, t: (inp.rles, _threads_kw(t)), batch_f, lambda o: o, threaded=True,
             needs=("decode",)),
        Impl(PYCOCOTOOLS, "mask.decode", _rles, dec("pycocotools.mask"), lambda o: o),
        Impl(RLEMASKLIB, "np.empty + RLEMask.from_dict(d).decode_into per mask", _rles,
             _rlemasklib_alloc("F"), lambda o: o),
        Impl(HOTCOCO, "mask.decode", _rles, dec("hotcoco.mask"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.decode", _rles, dec("faster_coco_eval.core.mask"),
             lambda o: o),
        Impl(ULTRAFAST, "mask.decode", _rles, dec("ultrafast_pycocotools.mask"), lambda o: o),
    ]


# ---- COCO strings: parse, to_coco, area, toBbox ----------------------------------------------

DICT_SHAPES = _modes([SMOKE_DICTS], [DICTS_10K], [DICTS_10K, WORKLOAD_DICTS])
PARSE_SHAPES = _modes(
    [SMOKE_DICTS, dataclasses.replace(SMOKE_DICTS, counts="bytes")],
    [DICTS_10K],
    [DICTS_10K, dataclasses.replace(DICTS_10K, counts="bytes"), WORKLOAD_DICTS])


def _counts_of_batch(b: Any) -> list[np.ndarray]:
    off = b.offsets
    c = b.counts
    return [c[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def _parse_impls() -> list[Impl]:
    fce = "faster_coco_eval.mask_api_new_cpp"
    return [
        Impl(TURBORLE, "from_coco(dicts) -> RLEBatch",
             lambda inp, t: (inp.rles, _threads_kw(t)),
             lambda a: _tr().from_coco(a[0], **a[1]), _counts_of_batch, threaded=True,
             needs=("from_coco",)),
        Impl(PYCOCOTOOLS, "_mask._frString (private; what every pycocotools call does first)",
             _rles, lambda r: _m("pycocotools._mask")._frString(r),
             lambda o: _m("pycocotools._mask")._toString(o)),
        Impl(RLEMASKLIB, "RLEMask.from_dict per dict", _rles,
             lambda r: [_m("rlemasklib").RLEMask.from_dict(d) for d in r],
             lambda o: [m.counts for m in o]),
        Impl(FASTER_COCO_EVAL, "mask_api_new_cpp._frString(dicts) -> list of RLE", _rles,
             lambda r: _m(fce)._frString(r),
             lambda o: [d["counts"] for d in _m(fce).rleToUncompressedRLE(o)]),
    ]


def _to_coco_impls() -> list[Impl]:
    fce = "faster_coco_eval.mask_api_new_cpp"
    return [
        Impl(TURBORLE, "RLEBatch.to_coco() of a parsed batch (str counts)",
             lambda inp, t: _tr().from_coco(inp.rles), lambda b: b.to_coco(), lambda o: o,
             needs=("from_coco",)),
        Impl(PYCOCOTOOLS, "_mask._toString of parsed RLEs (private; bytes counts)",
             lambda inp, t: _m("pycocotools._mask")._frString(inp.rles),
             lambda r: _m("pycocotools._mask")._toString(r), lambda o: o),
        Impl(RLEMASKLIB, "RLEMask.to_dict per parsed mask", _rlemasks,
             lambda ms: [m.to_dict() for m in ms], lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask_api_new_cpp._toString of parsed RLEs",
             lambda inp, t: _m(fce)._frString(inp.rles), lambda r: _m(fce)._toString(r),
             lambda o: o),
    ]


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
        Impl(TURBORLE, "batch area of a parsed RLEBatch (parsing untimed)", _parsed,
             lambda a: _tr().area(a[0], **a[1]), lambda o: o, threaded=True,
             needs=("from_coco", "area"), key="turborle.parsed"),
        Impl(PYCOCOTOOLS, f"mask.area in chunks of {PYCOCOTOOLS_AREA_CHUNK} (raises for more)",
             _rles, _coco_area_chunked, lambda o: o),
        Impl(RLEMASKLIB, "area of dicts", _rles, _call("rlemasklib", "area"), lambda o: o),
        Impl(HOTCOCO, "mask.area", _rles, _call("hotcoco.mask", "area"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.area", _rles, _call("faster_coco_eval.core.mask", "area"),
             lambda o: o),
        Impl(ULTRAFAST, "mask.area", _rles, _call("ultrafast_pycocotools.mask", "area"),
             lambda o: o),
    ]


def _bbox_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "mask.toBbox of dicts", _rles, _call("turborle.mask", "toBbox"),
             lambda o: o, threaded=True),
        Impl(TURBORLE, "batch bbox of a parsed RLEBatch (parsing untimed)", _parsed,
             lambda a: _tr().bbox(a[0], **a[1]), lambda o: o, threaded=True,
             needs=("from_coco", "bbox"), key="turborle.parsed"),
        Impl(PYCOCOTOOLS, "mask.toBbox", _rles, _call("pycocotools.mask", "toBbox"),
             lambda o: o),
        Impl(RLEMASKLIB, "to_bbox of dicts (float32)", _rles, _call("rlemasklib", "to_bbox"),
             lambda o: o),
        Impl(HOTCOCO, "mask.toBbox", _rles, _call("hotcoco.mask", "toBbox"), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.toBbox", _rles,
             _call("faster_coco_eval.core.mask", "toBbox"), lambda o: o),
        Impl(ULTRAFAST, "mask.toBbox", _rles, _call("ultrafast_pycocotools.mask", "toBbox"),
             lambda o: o),
    ]


# ---- fal text --------------------------------------------------------------------------------


def numpy_fal(mask2d: np.ndarray) -> str:
    """fal / Kaggle text of one mask, by numpy: ``start length`` pairs of the row-major scan,
    1-based starts."""
    flat = np.concatenate([[False], np.asarray(mask2d).reshape(-1) != 0, [False]])
    edges = np.flatnonzero(flat[1:] != flat[:-1])
    starts, ends = edges[0::2], edges[1::2]
    pairs = np.empty(2 * len(starts), np.int64)
    pairs[0::2], pairs[1::2] = starts + 1, ends - starts
    return " ".join(map(str, pairs.tolist()))


class FalTexts:
    """The fal texts of a case's masks: row-major (as fal writes them) and column-major."""

    def __init__(self, inp: Inputs):
        self.texts = [numpy_fal(m) for m in inp.masks]
        self.texts_f = [numpy_fal(m.T) for m in inp.masks]  # column-major scan


def fal_texts(inp: Inputs) -> FalTexts:
    if "fal" not in inp.__dict__:
        inp.__dict__["fal"] = FalTexts(inp)
    return inp.__dict__["fal"]


def _fal_impls() -> list[Impl]:
    return [
        Impl(TURBORLE, "from_fal(texts, h, w) -> RLEBatch",
             lambda inp, t: (fal_texts(inp).texts, inp.h, inp.w, _threads_kw(t)),
             lambda a: _tr().from_fal(a[0], a[1], a[2], **a[3]), _batch_rles, threaded=True,
             needs=("from_fal",)),
        # Column-major text needs no transpose to COCO's order: the text parser alone.
        Impl(TURBORLE, "from_fal(column-major texts, h, w, order='F'): the parser alone",
             lambda inp, t: (fal_texts(inp).texts_f, inp.h, inp.w, _threads_kw(t)),
             lambda a: _tr().from_fal(a[0], a[1], a[2], order="F", **a[3]), _batch_rles,
             threaded=True, needs=("from_fal",), key="turborle.colmajor",
             extra_work=lambda inp: _fal_work(inp, column_major=True)),
    ]


def _fal_work(inp: Inputs, column_major: bool = False) -> dict[str, float]:
    texts = fal_texts(inp).texts_f if column_major else fal_texts(inp).texts
    runs = sum(t.count(" ") + 1 for t in texts if t) // 2
    return {"runs": float(runs), "MB": sum(len(t) for t in texts) / 1e6}


# ---- IoU and merge ---------------------------------------------------------------------------


def _iscrowd(inp: Inputs, crowd: bool) -> list[int]:
    """Crowd flags of the ground truths: every tenth is a crowd region (or none)."""
    return [int(crowd and i % 10 == 3) for i in range(inp.n)]


def _iou_impls(crowd: bool) -> list[Impl]:
    def args(inp: Inputs, t: int) -> Any:
        return inp.dt_rles, inp.rles, _iscrowd(inp, crowd)

    def batch_args(inp: Inputs, t: int) -> Any:
        return (_tr().from_coco(inp.dt_rles), _tr().from_coco(inp.rles), _iscrowd(inp, crowd),
                _threads_kw(t))

    return [
        Impl(TURBORLE, "mask.iou of dicts", args, _call("turborle.mask", "iou", spread=True),
             lambda o: o, threaded=True),
        Impl(TURBORLE, "batch iou of parsed RLEBatches (parsing untimed)", batch_args,
             lambda a: _tr().iou(a[0], a[1], iscrowd=a[2], **a[3]), lambda o: o,
             threaded=True, needs=("from_coco", "iou"), key="turborle.parsed"),
        Impl(PYCOCOTOOLS, "mask.iou", args, _call("pycocotools.mask", "iou", spread=True),
             lambda o: o),
        # RLEMask.iou_matrix is faster still but has no crowd flag; its pycocotools-style
        # iou(dt, gt, iscrowd) over dicts is the path that computes this operation.
        Impl(RLEMASKLIB, "rlemasklib_cython.iou of dicts (RLEMask.iou_matrix has no crowd flag)",
             args, _call("rlemasklib.rlemasklib_cython", "iou", spread=True), lambda o: o),
        Impl(HOTCOCO, "mask.iou", args, _call("hotcoco.mask", "iou", spread=True), lambda o: o),
        Impl(FASTER_COCO_EVAL, "mask.iou", args,
             _call("faster_coco_eval.core.mask", "iou", spread=True), lambda o: o),
        Impl(ULTRAFAST, "mask.iou", args, _call("ultrafast_pycocotools.mask", "iou", spread=True),
             lambda o: o),
    ]


def _iou_reference(crowd: bool) -> Callable[[Inputs], np.ndarray]:
    return lambda inp: np.asarray(_coco_call("iou")(inp.dt_rles, inp.rles, _iscrowd(inp, crowd)))


IOU_SHAPES = _modes([Shape(5, 32, 48, n_dt=2)], [Shape(64, 1024, 1024, n_dt=64)],
                    [Shape(64, 1024, 1024, n_dt=64), Shape(300, 1024, 1024, n_dt=300)])


def _merge_impls() -> list[Impl]:
    def one(o: Any) -> list[dict]:
        return [o]

    return [
        Impl(TURBORLE, "mask.merge of dicts", _rles, _call("turborle.mask", "merge"), one,
             threaded=True),
        Impl(TURBORLE, "batch merge of a parsed RLEBatch (parsing untimed)", _parsed,
             lambda a: _tr().merge(a[0], op="union", **a[1]), _batch_rles,
             threaded=True, needs=("from_coco", "merge"), key="turborle.parsed"),
        Impl(PYCOCOTOOLS, "mask.merge", _rles, _call("pycocotools.mask", "merge"), one),
        Impl(RLEMASKLIB, "union of dicts", _rles, _call("rlemasklib", "union"), one),
        Impl(RLEMASKLIB, "RLEMask.union of parsed RLEMasks (parsing untimed)", _rlemasks,
             lambda ms: _m("rlemasklib").RLEMask.union(ms), lambda o: [o.to_dict()],
             key="rlemasklib.parsed"),
        Impl(HOTCOCO, "mask.merge", _rles, _call("hotcoco.mask", "merge"), one),
        Impl(FASTER_COCO_EVAL, "mask.merge", _rles, _call("faster_coco_eval.core.mask", "merge"),
             one),
        Impl(ULTRAFAST, "mask.merge", _rles, _call("ultrafast_pycocotools.mask", "merge"), one),
    ]


MERGE_2_SIZES = [Shape(2, 480, 640), Shape(2, 1024, 1024), Shape(2, 4000, 3000),
                 Shape(2, 4096, 4096, corpus="boxes")]
MERGE_SHAPES = _modes([Shape(2, 32, 48), Shape(2, 32, 48, corpus="boxes")],
                      [TARGET, Shape(2, 4096, 4096, corpus="boxes")],
                      [TARGET] + MERGE_2_SIZES)


# ---- the registry ----------------------------------------------------------------------------


def _n_pixels(inp: Inputs) -> int:
    return inp.n * inp.h * inp.w


def _dict_pixels(inp: Inputs) -> int:
    return len(inp.rles) * inp.h * inp.w


OPERATIONS: list[Operation] = [
    Operation(
        "encode_c", "encode (n, h, w) C-order uint8 -> RLE",
        lambda inp: _to_dicts(inp.masks), _same_rles, _n_pixels, ENCODE_C_SHAPES,
        _encode_c_impls()),
    Operation(
        "encode_f", "encode (h, w, n) Fortran uint8 -> RLE",
        lambda inp: _to_dicts(inp.masks), _same_rles, _n_pixels, ENCODE_F_SHAPES,
        _encode_f_impls()),
    Operation(
        "decode_into_c", "decode parsed RLEs into a preallocated (n, h, w) C-order array",
        lambda inp: inp.masks, _same_array, _n_pixels, DECODE_SHAPES, _decode_into_impls("C")),
    Operation(
        "decode_into_f", "decode parsed RLEs into a preallocated (h, w, n) Fortran array",
        lambda inp: inp.fortran, _same_array, _n_pixels, DECODE_SHAPES,
        _decode_into_impls("F")),
    Operation(
        "decode_c", "decode RLE dicts -> new (n, h, w) C-order array",
        lambda inp: inp.masks, _same_array, _n_pixels, DECODE_SHAPES, _decode_c_impls()),
    Operation(
        "decode_f", "decode RLE dicts -> new (h, w, n) Fortran array (mask.decode)",
        lambda inp: inp.fortran, _same_array, _n_pixels, DECODE_SHAPES, _decode_f_impls()),
    Operation(
        "parse", "parse COCO dicts (from_coco) into the library's own RLE objects",
        _parse_reference, _same_parsed, _dict_pixels, PARSE_SHAPES, _parse_impls(),
        dense=False, thread_shapes=(DICTS_10K,)),
    Operation(
        "to_coco", "parsed RLEs -> COCO dicts (compressed counts)",
        lambda inp: inp.rles, _same_rles, _dict_pixels, DICT_SHAPES, _to_coco_impls(),
        dense=False),
    Operation(
        "area", "area of COCO dicts",
        lambda inp: _coco_area_chunked(inp.rles).astype(np.int64), _same_int, _dict_pixels,
        DICT_SHAPES, _area_impls(), dense=False, thread_shapes=(DICTS_10K,)),
    Operation(
        "bbox", "toBbox of COCO dicts",
        lambda inp: np.asarray(_coco_call("toBbox")(inp.rles), dtype=np.float64), _same_float,
        _dict_pixels, DICT_SHAPES, _bbox_impls(), dense=False, thread_shapes=(DICTS_10K,)),
    Operation(
        "fal", "parse fal / Kaggle 'start length' text (row-major, 1-based) -> RLEBatch",
        lambda inp: _to_dicts(inp.masks), _same_rles, _n_pixels,
        _modes([SMOKE], [TARGET]), _fal_impls(), extra_work=_fal_work),
    Operation(
        "iou", "IoU dt x gt of COCO dicts, no crowd",
        _iou_reference(False), _same_float, lambda inp: (inp.n + inp.shape.n_dt) * inp.h * inp.w,
        IOU_SHAPES, _iou_impls(False), dense=False,
        masks=lambda inp: inp.n + inp.shape.n_dt),
    Operation(
        "iou_crowd", "IoU dt x gt of COCO dicts, every tenth gt a crowd",
        _iou_reference(True), _same_float, lambda inp: (inp.n + inp.shape.n_dt) * inp.h * inp.w,
        IOU_SHAPES, _iou_impls(True), dense=False,
        masks=lambda inp: inp.n + inp.shape.n_dt),
    Operation(
        "merge", "merge (union) of n COCO dicts",
        lambda inp: [_coco_call("merge")(inp.rles)], _same_rles, _n_pixels, MERGE_SHAPES,
        _merge_impls(), dense=False),
]

MODES = ("smoke", "quick", "default", "all")
GROUPS = tuple(op.name for op in OPERATIONS)


def _expand(shape: Shape) -> list[Shape]:
    """A registry shape on each corpus (or on its own corpus when it names one)."""
    if shape.corpus:
        return [shape]
    return [dataclasses.replace(shape, corpus=c) for c in CORPORA]


def cases(mode: str, threads: tuple[int, ...] = (1,), only: str = "",
          groups: tuple[str, ...] = (), corpora: tuple[str, ...] = (),
          threads_compared: bool = False) -> list[tuple[Operation, Shape, Impl, int]]:
    """Every (operation, shape, impl, threads) of a mode.

    only: library-name prefix; groups: operation names (all when empty); corpora: corpus
    names (all when empty); threads_compared: only the shapes of the default thread
    comparison (each operation's ``thread_shapes``: 10,000 dicts for parse, area, bbox).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown group(s) {sorted(unknown)}; groups are {GROUPS}")
    out = []
    for op in OPERATIONS:
        if groups and op.name not in groups:
            continue
        bases = op.shapes[mode]
        if threads_compared:
            bases = [b for b in bases if b in op.thread_shapes]
        for shape in [s for base in bases for s in _expand(base)]:
            if corpora and shape.corpus not in corpora:
                continue
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
    return f"{op.name}-{shape.label.replace(' ', '')}-{shape.corpus}-{key}-t{threads}"


def run_once(op: Operation, shape: Shape, impl: Impl,
             threads: int = 1) -> tuple[Inputs, Any, Any, float]:
    """Prepare, run once and check an implementation; returns (inputs, args, output, seconds
    the run took).

    Raises AssertionError when the output differs from the reference.
    """
    inputs = inputs_for(shape)
    if not op.dense:  # build the dicts, then free the dense masks they came from
        _ = inputs.rles
        if shape.n_dt:
            _ = inputs.dt_rles
        inputs.drop_masks()
    with turborle_threads(threads):
        args = impl.prepare(inputs, threads)
        start = time.perf_counter()
        output = impl.run(args)
        seconds = time.perf_counter() - start
    op.check(impl, inputs, output)
    return inputs, args, output, seconds
