"""``turborle dataset import SRC OUT`` and ``turborle dataset export OUT DIR`` (or ``--coco
FILE``): mask datasets to and from Parquet (see ``turborle.datasets``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Adds the ``dataset`` command, with ``import`` and ``export``, to ``subparsers``."""
    parser = subparsers.add_parser(
        "dataset", help="mask datasets (SA-1B / COCO JSON) to and from Parquet, on Ray Data",
        description="Convert per-image JSON mask files (SA-1B style) or COCO instances files "
                    "to a Parquet dataset with one row per mask, and back.")
    commands = parser.add_subparsers(dest="dataset_command", metavar="{import,export}",
                                     required=True)
    imp = commands.add_parser(
        "import", help="JSON files -> Parquet dataset",
        description="Validate every mask, recompute area and box, and write one row per mask "
                    "(problems included, nothing dropped). OUT is replaced only when complete.")
    imp.add_argument("src", metavar="SRC", help="a folder (walked for *.json), a glob, or a file")
    imp.add_argument("out", metavar="OUT", help="the Parquet dataset folder to write")
    imp.add_argument("--engine", choices=["ray", "local"], default="ray",
                     help="ray: Ray Data (a local Ray unless --address); local: one process")
    imp.add_argument("--address", help="a Ray cluster to join (e.g. ray://head:10001 or auto)")
    imp.add_argument("--workers", type=_positive, help="CPUs of the local Ray (default: all)")
    imp.add_argument("--files-per-shard", type=_positive, default=64,
                     help="input files per task and per part file (default 64)")
    imp.add_argument("--compression", choices=["zstd", "lz4", "snappy", "none"], default="zstd",
                     help="Parquet compression (default zstd; none writes fastest)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(handler=_import, extra="dataset")
    exp = commands.add_parser(
        "export", help="Parquet dataset -> per-image JSON files (or one COCO file)",
        description="Write the masks back with counts byte-identical to the imported files.")
    exp.add_argument("dataset", metavar="OUT", help="a dataset written by 'dataset import'")
    exp.add_argument("dest", metavar="DIR", nargs="?",
                     help="folder for one SA-1B-style file per image")
    exp.add_argument("--coco", metavar="FILE", help="write one COCO file instead of DIR")
    exp.set_defaults(handler=_export, extra="dataset")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _import(args: argparse.Namespace) -> int:
    from turborle.datasets import import_dataset

    if args.address and args.engine != "ray":
        print("turborle dataset import: --address needs --engine ray", file=sys.stderr)
        return 2
    try:
        summary = import_dataset(args.src, args.out, engine=args.engine, address=args.address,
                                 workers=args.workers, files_per_shard=args.files_per_shard,
                                 compression=args.compression,
                                 progress=False if args.no_progress else None)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"turborle dataset import: {error}", file=sys.stderr)
        return 1
    print(summary.format())
    return 0


def _export(args: argparse.Namespace) -> int:
    from turborle.datasets import export_dataset

    if (args.dest is None) == (args.coco is None):
        print("turborle dataset export: give DIR or --coco FILE (one of them)", file=sys.stderr)
        return 2
    try:
        summary = export_dataset(args.dataset, args.dest, coco=args.coco)
    except (FileNotFoundError, FileExistsError, IsADirectoryError, ValueError) as error:
        print(f"turborle dataset export: {error}", file=sys.stderr)
        return 1
    print(summary.format())
    return 0
