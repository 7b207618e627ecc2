"""Mask datasets at scale (extra ``turborle[dataset]``): per-image JSON files (SA-1B style) or
COCO instances files to a Parquet dataset of one row per mask, on Ray Data or in one process,
and back.

``import_dataset(src, out)`` and ``export_dataset(dataset, dest)`` are what the command line's
``turborle dataset import`` / ``export`` run.
"""

from turborle.datasets._convert import SCHEMA
from turborle.datasets._export import ExportSummary, export_dataset
from turborle.datasets._jobs import Summary, import_dataset

__all__ = ["SCHEMA", "ExportSummary", "Summary", "export_dataset", "import_dataset"]
