"""The pipeline's engines: how the work is done, from the naive "before" to the peers.

Every engine reads the same files and returns the same :class:`Report` (its ``results()``
identical across engines: the parity tests prove it). Adding an engine: a module with an
``ENGINE`` object (see :class:`Engine`) and one line in ``ENGINES``. The in-process ladder
lives in ``hotpath.pipeline``; other systems doing the same job (polars, DuckDB, pandas, the
databases, Spark, Dask) in ``hotpath.engines``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from hotpath.pipeline.report import Report

# name -> module holding ENGINE; imported when first used
ENGINES = {
    "naive": "hotpath.pipeline.naive",
    "objects": "hotpath.pipeline.objects",
    "columnar": "hotpath.pipeline.columnar",
    "polars": "hotpath.engines.polars_job",
    "duckdb": "hotpath.engines.duckdb_job",
    "pandas": "hotpath.engines.pandas_job",
}
DEFAULT = "columnar"


@dataclass(frozen=True)
class Options:
    """How to run. Each engine uses the options that apply to it (``Engine.uses``)."""

    reader: str = "native"
    backend: str = ""  # "" = the fastest available (hotpath.pipeline.columnar.best_backend)
    workers: int = 1
    cache: Path | None = None  # a cache folder, or None: no cache
    cache_results: bool = True  # with a cache: also keep whole results, keyed by every file
    on_bad_row: str = "error"  # or "skip"
    progress: Callable[[Path], None] | None = None


class Engine(Protocol):
    name: str
    description: str
    uses: tuple[str, ...]  # which Options fields it honours
    # bit-exact with python_ref's order of summation; else totals agree within report.TOTAL_RTOL
    exact: bool

    def available(self) -> str:
        """ "" when it can run here, else why not."""

    def run(self, files: Sequence[Path], options: Options) -> Report: ...


@cache
def get(name: str) -> Engine:
    if name not in ENGINES:
        raise KeyError(f"no engine named {name!r}; choose from {', '.join(ENGINES)}")
    return importlib.import_module(ENGINES[name]).ENGINE
