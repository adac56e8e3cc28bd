"""The optimizations a Python engineer would try, one at a time, from the naive program to
hotpath's default -- and the alternatives at each choice (readers, file formats) and the
peers. The benchmark times every step; PERFORMANCE.md tells them in this order."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from hotpath.pipeline.analytics import best_backend
from hotpath.pipeline.engines import Options


@dataclass(frozen=True)
class Step:
    key: str  # short, stable: the benchmark case's id
    label: str  # what changed, for a reader
    engine: str
    options: Options = field(default_factory=Options)
    kind: str = "ladder"  # ladder, reader, format, peer
    why: str = ""
    cached: bool = False  # needs a cache folder, warmed by a first run
    cold: bool = False  # every run starts with an empty cache folder (and fills it)
    suffix: str = ".csv"  # the input format


def steps(workers: int, cache: Path) -> list[Step]:
    """Every step, for a machine with ``workers`` cores and a cache in ``cache``."""
    best = best_backend()
    compiled = Options(reader="native", backend=best)
    parallel = replace(compiled, workers=workers)
    ladder = [
        Step("naive", "the naive program", "naive",
             why="csv module, an object per reading, every row compared with every earlier "
                 "one, dicts"),
        Step("algorithm", "hash-based duplicate scan", "objects",
             why="a set of the keys seen instead of the pairwise scan: O(n) instead of O(n²)"),
        Step("columns", "columns and python_ref's kernels", "columnar",
             Options(reader="stdlib", backend="python_ref"),
             why="three lists instead of an object per reading; the kernels' pure-Python "
                 "reference"),
        Step("reader", "a faster reader: native", "columnar",
             Options(reader="native", backend="python_ref"),
             why="hotpath's CSV parser in Rust instead of the csv module"),
        Step("numpy", "NumPy kernels", "columnar", Options(reader="native", backend="numpy_impl"),
             why="vectorized NumPy on arrays instead of Python loops on lists"),
        Step("compiled", f"compiled kernels: {best}", "columnar", compiled,
             why="one tight compiled loop per kernel"),
        Step("parallel", f"files read in parallel: {workers} threads", "columnar", parallel,
             why="the native reader releases the GIL, so threads parse files at once"),
        Step("cache-cold", "cache: first run (empty)", "columnar",
             replace(parallel, cache=cache / "cold"),
             cold=True, why="the default on new files: parse, then store each file and the "
                            "result -- what the cache costs"),
        Step("cache-files", "cache: parsed files", "columnar",
             replace(parallel, cache=cache, cache_results=False), cached=True,
             why="unchanged files (by XXH64 of their bytes) are loaded, not parsed"),
        Step("cache-result", "cache: the whole result (the default)", "columnar",
             replace(parallel, cache=cache), cached=True,
             why="every file unchanged: the report is known, only the files are hashed"),
    ]  # fmt: skip
    readers_ = [
        Step(
            f"reader-{name}",
            f"reader {name}",
            "columnar",
            replace(compiled, reader=name),
            kind="reader",
        )
        for name in ("stdlib", "pandas", "pandas-pyarrow", "pyarrow", "polars", "native")
    ]
    formats = [
        Step(
            f"format-{s.lstrip('.')}",
            f"{s.lstrip('.')} files",
            "columnar",
            compiled,
            kind="format",
            suffix=s,
        )
        for s in (".parquet", ".arrow", ".npz")
    ]
    peers = [
        Step(f"peer-{name}", f"peer: {name}", name, kind="peer")
        for name in ("polars", "duckdb", "pandas")
    ]
    return ladder + readers_ + formats + peers
