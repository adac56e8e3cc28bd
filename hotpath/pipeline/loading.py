"""The load stage: every file through one reader -- in parallel, from the cache where it can
-- into one set of columns in input order, with the bad-row policy applied."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotpath.pipeline.errors import BadInput, Reject
from hotpath.pipeline.readers.base import Parsed, Reader

ON_BAD_ROW = ("error", "skip")


@dataclass
class Loaded:
    files: list[str]
    device_id: Any  # np.ndarray, or a list on the pure-Python path
    timestamp: Any
    kwh: Any
    rows_read: int
    rejects: list[Reject] = field(default_factory=list)
    files_rejected: list[Reject] = field(default_factory=list)
    cache_hits: int = 0
    cache_misses: int = 0


def check(parsed: Parsed, on_bad_row: str) -> None:
    """Stop on the file's first bad record, unless bad records are skipped."""
    if on_bad_row == "error":
        first = parsed.file_error or (parsed.rejects[0] if parsed.rejects else None)
        if first is not None:
            raise BadInput(first)


def _read_one(
    reader: Reader, cache: Any, path: Path, into: tuple[np.ndarray, ...] | None = None
) -> tuple[Parsed, bool]:
    """One file, from the cache or the reader; into the given columns if there are some."""

    def parse() -> Parsed:
        return reader.read(path) if into is None else reader.read_into(path, *into)

    if cache is None:
        return parse(), False
    return cache.read(path, parse, reader.arrays)


def load(
    files: Sequence[Path],
    reader: Reader,
    *,
    workers: int = 1,
    cache: Any = None,
    on_bad_row: str = "error",
    progress: Callable[[Path], None] | None = None,
) -> Loaded:
    """Read ``files`` in order. With ``workers`` > 1, files are read concurrently: by threads
    when the reader releases the GIL, else by processes (which pay for sending the columns
    back). ``cache`` (see cache.py) serves files it has seen before."""
    if on_bad_row not in ON_BAD_ROW:
        raise ValueError(f"on_bad_row must be one of {ON_BAD_ROW}, not {on_bad_row!r}")
    parsed: list[Parsed] = []
    hits = 0
    room = None
    if hasattr(reader, "read_into") and files:
        room = _Room.reserve(files, reader.capacity)  # type: ignore[attr-defined]
    slices: list[Any] = room.slices if room is not None else [None] * len(files)
    if workers <= 1 or len(files) <= 1:
        results: Any = map(_read_one, [reader] * len(files), [cache] * len(files), files, slices)
        executor = None
    elif reader.releases_gil:
        executor = concurrent.futures.ThreadPoolExecutor(workers)
    else:
        # forkserver: a clean child, not a fork of a process that may hold threads and locks
        context = multiprocessing.get_context("forkserver")
        executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)
    try:
        if executor is not None:
            results = executor.map(
                _read_one, [reader] * len(files), [cache] * len(files), files, slices
            )
        for path, (one, hit) in zip(files, results):
            check(one, on_bad_row)  # in input order: the first bad row of the run stops it
            parsed.append(one)
            hits += hit
            if progress is not None:
                progress(path)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    columns = room.compact(parsed) if room is not None else _join(parsed, reader.arrays)
    return Loaded(
        [str(f) for f in files],
        *columns,
        rows_read=sum(p.rows_read for p in parsed),
        rejects=[r for p in parsed for r in p.rejects],
        files_rejected=[p.file_error for p in parsed if p.file_error is not None],
        cache_hits=hits,
        cache_misses=len(parsed) - hits if cache is not None else 0,
    )


@dataclass
class _Room:
    """Columns for a whole run, for a reader that parses into given columns (the native
    one): each file gets a slice with room for its most rows. Reserving is free -- pages no
    row is written to are never touched -- and it saves joining per-file columns afterwards,
    which would hold every row twice at the peak."""

    columns: tuple[np.ndarray, np.ndarray, np.ndarray]
    starts: list[int]
    slices: list[tuple[np.ndarray, ...]]

    @classmethod
    def reserve(cls, files: Sequence[Path], capacity: Callable[[int], int]) -> _Room:
        sizes = [capacity(path.stat().st_size) for path in files]
        total = sum(sizes)
        columns = (
            np.empty(total, np.uint32),
            np.empty(total, np.int64),
            np.empty(total, np.float64),
        )
        starts = [0]
        for size in sizes:
            starts.append(starts[-1] + size)
        slices = [tuple(c[a:b] for c in columns) for a, b in zip(starts, starts[1:])]
        return cls(columns, starts[:-1], slices)

    def compact(self, parsed: list[Parsed]) -> list[np.ndarray]:
        """Close the gaps between the files' rows, in place, front to back."""
        end = 0
        for one, start in zip(parsed, self.starts):
            rows = one.rows
            for column, got in zip(self.columns, (one.device_id, one.timestamp, one.kwh)):
                from_cache = not np.may_share_memory(got, column)
                if from_cache or start != end:
                    column[end : end + rows] = got  # NumPy copies overlapping ranges right
            end += rows
        return [column[:end] for column in self.columns]


def _join(parsed: list[Parsed], arrays: bool) -> list[Any]:
    """Every file's columns end to end: arrays, or lists on the pure-Python path."""
    names = ("device_id", "timestamp", "kwh")
    if not arrays:
        return [[value for p in parsed for value in getattr(p, n)] for n in names]
    dtypes = (np.uint32, np.int64, np.float64)
    return [
        np.concatenate([np.asarray(getattr(p, n), t) for p in parsed] or [np.empty(0, t)])
        for n, t in zip(names, dtypes)
    ]
