"""The import job: listing, shards, the engines (Ray Data or one local process), the summary
and the all-or-nothing replacement of the output.

The input is listed once into a file in the output's temporary folder (paths only, streamed:
the driver holds no per-file state), cut into shards of ``files_per_shard`` files whose byte
ranges in the listing are kept in a second file. A shard is converted by
``_convert.convert_files`` into ``part-<shard>.parquet``. Ray Data runs the shards as a
streaming dataset of shard numbers (``ray.data.range``), so neither the driver nor Ray holds
the list of files; the local engine runs the same function over the same shards, in order,
so both engines write the same part files, row for row.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from turborle.datasets._convert import AREA_EDGES, convert_files

MARKER = "_turborle.json"  # in every output folder: what wrote it, and the summary
LISTING = "_listing"       # path NUL source NUL, for every input file
SHARDS = "_shards.npy"     # byte offset of each shard's first entry in the listing, and the end
ENGINES = ("ray", "local")
COMPRESSIONS = ("zstd", "lz4", "snappy", "none")


@dataclass
class Summary:
    """What an import did: counts, problems by reason, an area histogram, and speed."""

    files: int = 0
    bytes: int = 0
    images: int = 0
    rows: int = 0
    masks: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    area_hist: list[int] = field(default_factory=lambda: [0] * len(AREA_EDGES))
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the conversions, all workers together
    engine: str = ""
    workers: int = 0

    def add(self, shard: dict[str, Any]) -> None:
        self.files += shard["files"]
        self.bytes += shard["bytes"]
        self.images += shard["images"]
        self.rows += shard["rows"]
        self.masks += shard["masks"]
        self.cpu_seconds += shard["cpu_seconds"]
        problems = Counter(self.problems)
        problems.update(shard["problems"])
        self.problems = dict(sorted(problems.items()))
        self.area_hist = [a + b for a, b in zip(self.area_hist, shard["area_hist"])]

    @property
    def masks_per_second(self) -> float:
        return self.masks / self.seconds if self.seconds else 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "bytes": self.bytes, "images": self.images,
                "rows": self.rows, "masks": self.masks, "problems": self.problems,
                "area_edges": list(AREA_EDGES), "area_hist": self.area_hist,
                "seconds": round(self.seconds, 3), "cpu_seconds": round(self.cpu_seconds, 3),
                "engine": self.engine,
                "workers": self.workers}

    def format(self) -> str:
        """The summary as text for a terminal."""
        lines = [
            f"files {self.files}  images {self.images}  masks {self.masks}  rows {self.rows}",
            f"{self.seconds:.1f} s, {self.masks_per_second:,.0f} masks/s, "
            f"{self.megabytes_per_second:.1f} MB/s ({self.engine}, {self.workers} "
            f"worker{'s' if self.workers != 1 else ''}; "
            f"{self.masks / self.cpu_seconds if self.cpu_seconds else 0:,.0f} masks per "
            "CPU-second of conversion)",
        ]
        total = sum(self.problems.values())
        lines.append(f"problems {total}" + ("" if total else " (none)"))
        for reason, count in self.problems.items():
            lines.append(f"  {reason:<18} {count}")
        lines.append("mask areas (pixels)")
        top = max(self.area_hist) or 1
        for k, count in enumerate(self.area_hist):
            lines.append(f"  {_area_label(k):>22} {count:>10}  {'#' * round(30 * count / top)}")
        return "\n".join(lines)


def _area_label(k: int) -> str:
    low = AREA_EDGES[k]
    if k + 1 == len(AREA_EDGES):
        return f"{low:,}+"
    high = AREA_EDGES[k + 1] - 1
    return f"{low:,}" if high == low else f"{low:,}-{high:,}"


# ---- listing and shards -------------------------------------------------------------------------


def _walk(root: str) -> Iterator[str]:
    """JSON files under root, depth first, each folder in sorted order (one folder's names in
    memory at a time)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path)
        elif entry.name.endswith(".json"):
            yield entry.path


def iter_inputs(src: str | os.PathLike[str] | list[str]) -> Iterator[tuple[str, str]]:
    """(path, source) of every input file: a folder (walked for *.json), a glob pattern
    (sorted), one file, or a list of paths. `source` is the path relative to the folder, or
    as given."""
    if isinstance(src, list):
        for path in src:
            yield os.fspath(path), os.fspath(path)
        return
    text = os.fspath(src)
    if os.path.isdir(text):
        for path in _walk(text):
            yield path, os.path.relpath(path, text)
    elif glob.has_magic(text):
        for path in sorted(glob.iglob(text, recursive=True)):
            if not os.path.isdir(path):
                yield path, path
    elif os.path.lexists(text):
        yield text, text  # a single file (an unreadable one gets a row of its own)
    else:
        raise FileNotFoundError(f"no input files found at {text!r}: no such file or folder")


def write_listing(inputs: Iterator[tuple[str, str]], folder: Path,
                  files_per_shard: int) -> tuple[int, int]:
    """Writes the listing and the shard offsets; returns (files, shards)."""
    offsets = [0]
    files = 0
    with open(folder / LISTING, "wb") as out:
        for path, source in inputs:
            out.write(os.fsencode(path) + b"\0" + os.fsencode(source) + b"\0")
            files += 1
            if files % files_per_shard == 0:
                offsets.append(out.tell())
        if files % files_per_shard:
            offsets.append(out.tell())
    np.save(folder / SHARDS, np.array(offsets, dtype=np.int64))
    return files, len(offsets) - 1


def shard_files(folder: str, shard: int) -> list[tuple[str, str]]:
    """The (path, source) pairs of one shard, read from the listing."""
    offsets = np.load(os.path.join(folder, SHARDS), mmap_mode="r")
    begin, end = int(offsets[shard]), int(offsets[shard + 1])
    with open(os.path.join(folder, LISTING), "rb") as f:
        f.seek(begin)
        fields = f.read(end - begin).split(b"\0")[:-1]
    return [(os.fsdecode(fields[k]), os.fsdecode(fields[k + 1])) for k in range(0, len(fields), 2)]


def part_name(shard: int) -> str:
    return f"part-{shard:08d}.parquet"


class ShardTask:
    """Converts one shard; picklable, so Ray can ship it to its workers."""

    def __init__(self, folder: str, compression: str) -> None:
        self.folder = folder
        self.compression = compression

    def __call__(self, shard: int) -> dict[str, Any]:
        files = shard_files(self.folder, shard)
        return convert_files(files, os.path.join(self.folder, part_name(shard)), self.compression)

    def ray_row(self, row: dict[str, Any]) -> dict[str, Any]:
        shard = int(row["id"])
        return {"shard": shard, "stats": orjson.dumps(self(shard)).decode()}


# ---- engines ----------------------------------------------------------------------------------


def _run_local(task: ShardTask, shards: int, on_shard: Callable[[dict[str, Any]], None]) -> None:
    for shard in range(shards):
        on_shard(task(shard))


def _run_ray(task: ShardTask, shards: int, on_shard: Callable[[dict[str, Any]], None],
             address: str | None, workers: int) -> int:
    """Runs the shards on Ray Data; starts a local Ray (and stops it after) unless one is
    running or `address` names a cluster. Returns the CPUs Ray had."""
    try:
        import ray
    except ImportError as error:
        raise ImportError("the ray engine needs Ray: pip install 'turborle[dataset]', or use "
                          "engine='local'") from error
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "logging_level": "ERROR"}
        if address:
            ray.init(address=address, **options)
        else:
            # A local Ray of our own: no usage reports sent anywhere from a data job.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(num_cpus=workers, **options)
        started = True
    # Ray Data reports each execution at INFO/WARNING level (its logging is configured when
    # first used, so this comes after); our summary says what matters.
    quiet = {name: logging.getLogger(name).level for name in ("ray", "ray.data")}
    context: Any = None
    try:
        context = ray.data.DataContext.get_current()
        saved = (context.enable_progress_bars, context.print_on_execution_start)
        for name in quiet:
            logging.getLogger(name).setLevel(logging.ERROR)
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # A few shards per block, so each task is worth scheduling but all CPUs stay busy.
        blocks = max(1, min(shards, 8 * cpus))
        dataset = ray.data.range(shards, override_num_blocks=blocks)
        for row in dataset.map(task.ray_row, num_cpus=1).iter_rows():
            on_shard(orjson.loads(row["stats"]))
        return cpus
    finally:
        if context is not None:
            context.enable_progress_bars, context.print_on_execution_start = saved
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
        if started:
            ray.shutdown()


# ---- output ------------------------------------------------------------------------------------


def _check_replaceable(out: Path, what: str) -> None:
    """Refuses to replace anything at `out` but an earlier output of turborle."""
    if not os.path.lexists(out):
        return
    if out.is_dir() and (out / MARKER).is_file():
        return
    if out.is_dir() and not any(out.iterdir()):
        return
    raise FileExistsError(f"{out} exists and is not a {what} written by turborle; remove it or "
                          "choose another path")


def replace_output(tmp: Path, out: Path) -> None:
    """Puts the complete `tmp` at `out`, replacing an earlier output: until this call the
    earlier output is untouched; then two renames swap them."""
    if os.path.lexists(out):
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


class _Progress:
    """tqdm progress over files (on a terminal), with masks/s and MB/s."""

    def __init__(self, files: int, shown: bool | None) -> None:
        self.bar: Any = None
        if shown is None:
            shown = sys.stderr.isatty()
        if shown:
            from tqdm import tqdm

            self.bar = tqdm(total=files, unit="file", dynamic_ncols=True, file=sys.stderr)
        self.start = time.perf_counter()
        self.masks = self.bytes = 0

    def update(self, shard: dict[str, Any]) -> None:
        self.masks += shard["masks"]
        self.bytes += shard["bytes"]
        if self.bar is not None:
            seconds = max(time.perf_counter() - self.start, 1e-9)
            self.bar.set_postfix_str(f"{self.masks / seconds:,.0f} masks/s, "
                                     f"{self.bytes / 1e6 / seconds:.1f} MB/s", refresh=False)
            self.bar.update(shard["files"])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def import_dataset(src: str | os.PathLike[str] | list[str], out: str | os.PathLike[str], *,
                   engine: str = "ray", address: str | None = None, workers: int | None = None,
                   files_per_shard: int = 64, compression: str = "zstd",
                   progress: bool | None = None) -> Summary:
    """Convert per-image JSON mask files (SA-1B style) or COCO instances files to a Parquet
    dataset with one row per mask.

    Parameters
    ----------
    src : folder, glob pattern, file, or list of paths
        A folder is walked for ``*.json`` files (sorted); a glob is expanded and sorted.
    out : path
        The Parquet dataset folder (``part-*.parquet``). It is written beside ``out`` under a
        temporary name and put in place only once complete; an earlier output of this job at
        ``out`` is replaced, anything else there is refused.
    engine : "ray" or "local"
        ``"ray"`` runs the shards on Ray Data: on the cluster at ``address``, on a Ray already
        initialised in this process, or else on a local Ray started (and stopped) here with
        ``workers`` CPUs. ``"local"`` runs them one after another in this process. Both write
        identical rows. On a cluster, ``out`` must be on storage every node sees.
    workers : int, optional
        CPUs of a local Ray (default: every CPU).
    files_per_shard : int
        Input files per task and per part file.
    compression : str
        Parquet compression: "zstd" (level 1; COCO strings shrink about 2x), "lz4",
        "snappy" or "none" (the fastest to write).
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).

    Returns
    -------
    Summary
        Files, images, masks, problems by reason, area histogram, masks/s and MB/s.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if files_per_shard < 1:
        raise ValueError(f"files_per_shard must be positive, got {files_per_shard}")
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {COMPRESSIONS}, got {compression!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be positive, got {workers}")
    out_path = Path(out).absolute()
    _check_replaceable(out_path, "dataset")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        start = time.perf_counter()
        files, shards = write_listing(iter_inputs(src), tmp, files_per_shard)
        if files == 0:
            raise FileNotFoundError(f"no input files found at {src!r}")
        summary = Summary(engine=engine)
        bar = _Progress(files, progress)

        def on_shard(stats: dict[str, Any]) -> None:
            summary.add(stats)
            bar.update(stats)

        task = ShardTask(os.fspath(tmp), compression)
        try:
            if engine == "local":
                _run_local(task, shards, on_shard)
                summary.workers = 1
            else:
                summary.workers = _run_ray(task, shards, on_shard, address,
                                           workers or os.cpu_count() or 1)
        finally:
            bar.close()
        summary.seconds = time.perf_counter() - start
        if summary.files != files:
            raise RuntimeError(f"{files} files were listed but {summary.files} converted")
        os.remove(tmp / LISTING)
        os.remove(tmp / SHARDS)
        (tmp / MARKER).write_bytes(orjson.dumps(
            {"written_by": "turborle dataset import", "summary": summary.as_dict()},
            option=orjson.OPT_INDENT_2))
        _check_replaceable(out_path, "dataset")  # (again: something may have appeared there)
        replace_output(tmp, out_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary
