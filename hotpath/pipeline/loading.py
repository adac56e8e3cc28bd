"""The load stage: every file through one reader -- in parallel, from the cache where it can
-- into one set of columns in input order, with the bad-row policy applied.

Memory is the design constraint (the optimized path must stay within twice the columns'
bytes at its peak). So files are read at most ``workers`` ahead of where the columns are
filled; each file's rows are copied into the run's columns as soon as every file before it
is in, and its own arrays dropped. The run's columns are reserved for the most rows the files
can hold -- a reservation costs nothing until written, because untouched pages are never
resident -- and filled front to back. A reader that parses into given arrays (the native
one) parses into buffers that each worker reuses from file to file: memory already paged in,
so the parse never waits on the kernel for fresh pages.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import queue
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hotpath.pipeline.errors import BadInput, Reject
from hotpath.pipeline.readers.base import Parsed, Reader, rows_at_most

ON_BAD_ROW = ("error", "skip")
DTYPES = (np.uint32, np.int64, np.float64)
NAMES = ("device_id", "timestamp", "kwh")


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


class Columns:
    """The run's three columns, filled front to back."""

    def __init__(self, capacity: int) -> None:
        self.arrays = [np.empty(capacity, t) for t in DTYPES]
        self.end = 0

    def append(self, parsed: Parsed) -> None:
        rows = parsed.rows
        if self.end + rows > len(self.arrays[0]):  # an estimate fell short: grow
            grown = [np.empty(2 * (self.end + rows), t) for t in DTYPES]
            for new, old in zip(grown, self.arrays):
                new[: self.end] = old[: self.end]
            self.arrays = grown
        for column, name in zip(self.arrays, NAMES):
            column[self.end : self.end + rows] = getattr(parsed, name)
        self.end += rows

    def result(self) -> list[np.ndarray]:
        return [column[: self.end] for column in self.arrays]


class Buffers:
    """Parse buffers, one set per file in flight, reused: pages already resident."""

    def __init__(self) -> None:
        self._free: queue.SimpleQueue[list[np.ndarray]] = queue.SimpleQueue()

    def take(self, rows: int) -> list[np.ndarray]:
        try:
            found = self._free.get_nowait()
        except queue.Empty:
            found = [np.empty(0, t) for t in DTYPES]
        if len(found[0]) < rows:
            found = [np.empty(rows, t) for t in DTYPES]
        return found

    def give(self, arrays: list[np.ndarray]) -> None:
        self._free.put(arrays)


def _read_one(
    reader: Reader, cache: Any, path: Path, buffers: Buffers | None
) -> tuple[Parsed, bool, list[np.ndarray] | None]:
    """One file, from the cache or the reader: (parsed, a cache hit, the buffers it used)."""
    taken = None
    if buffers is not None:
        taken = buffers.take(rows_at_most(path.stat().st_size))

    def parse() -> Parsed:
        if taken is None:
            return reader.read(path)
        return reader.read_into(path, *taken)  # type: ignore[attr-defined]

    if cache is None:
        return parse(), False, taken
    parsed, hit = cache.read(path, parse, reader.arrays)
    return parsed, hit, taken


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
    workers = max(1, min(workers, len(files)))
    buffers = Buffers() if hasattr(reader, "read_into") else None
    if workers == 1:
        executor: concurrent.futures.Executor | None = None
    elif reader.releases_gil:
        executor = concurrent.futures.ThreadPoolExecutor(workers)
    else:
        # forkserver: a clean child, not a fork of a process that may hold threads and locks
        context = multiprocessing.get_context("forkserver")
        executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)
        buffers = None

    def submit(path: Path) -> Any:
        if executor is None:
            return _read_one(reader, cache, path, buffers)
        return executor.submit(_read_one, reader, cache, path, buffers)

    columns: Columns | None = None
    lists: list[list[Any]] = [[], [], []]
    if reader.arrays:
        columns = Columns(sum(rows_at_most(path.stat().st_size) for path in files))
    rows_read, hits = 0, 0
    rejects: list[Reject] = []
    broken: list[Reject] = []
    ahead: deque[Any] = deque()
    try:
        for path in files[:workers]:
            ahead.append(submit(path))
        for k, path in enumerate(files):
            found = ahead.popleft()
            parsed, hit, taken = found if executor is None else found.result()
            check(parsed, on_bad_row)  # in input order: the first bad row of the run stops it
            if columns is not None:
                columns.append(parsed)
            else:
                for column, name in zip(lists, NAMES):
                    column.extend(getattr(parsed, name))
            if taken is not None and buffers is not None:
                buffers.give(taken)  # copied out: the next file may parse into them
            rows_read += parsed.rows_read
            rejects += parsed.rejects
            if parsed.file_error is not None:
                broken.append(parsed.file_error)
            hits += hit
            if k + workers < len(files):  # at most `workers` files read ahead
                ahead.append(submit(files[k + workers]))
            if progress is not None:
                progress(path)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    result = columns.result() if columns is not None else lists
    return Loaded(
        [str(f) for f in files],
        *result,
        rows_read=rows_read,
        rejects=rejects,
        files_rejected=broken,
        cache_hits=hits,
        cache_misses=len(files) - hits if cache is not None else 0,
    )
