"""What the pipeline benchmark runs on: datasets generated once and kept, the reference
report of each, and the steps (hotpath.pipeline.ladder) with the sizes they run at."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from hotpath import data
from hotpath.pipeline import Options, run
from hotpath.pipeline.convert import convert
from hotpath.pipeline.report import Report

FILES = 10
DEVICES = 1_000
# The naive program's pairwise scan grows with the square of the rows: 100,000 take minutes.
NAIVE_MAX = 100_000
# python_ref is the reference up to here; above, NumPy's kernels (an implementation apart from
# the compiled ones, fuzzed against python_ref) after the native reader (fuzzed against the
# standard library's).
PURE_PYTHON_REFERENCE_MAX = 2_000_000
STORE = Path(".benchmarks") / "pipeline-data"


def dataset(rows: int) -> Path:
    """FILES CSV files of ``rows`` readings from DEVICES devices with sparse ids, and the same
    converted to each binary format beside them; made once, kept under .benchmarks/."""
    folder = STORE / f"{rows}-readings-{FILES}-files"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        readings = data.with_sparse_ids(data.generate(rows, DEVICES))
        data.write_files(readings, folder / "csv", FILES)
        for fmt in ("parquet", "arrow", "npz"):
            convert([folder / "csv"], fmt, folder / fmt)
        done.touch()
    return folder


def inputs(rows: int, suffix: str) -> Path:
    return dataset(rows) / (suffix.lstrip(".") if suffix != ".csv" else "csv")


@cache
def reference(rows: int) -> Report:
    folder = inputs(rows, ".csv")
    if rows <= PURE_PYTHON_REFERENCE_MAX:
        return run([folder], "columnar", Options(reader="stdlib", backend="python_ref"))
    return run([folder], "columnar", Options(reader="native", backend="numpy_impl"))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
