"""Python's own parallel tools over the kernels, exact: what a user would write without hotpath's
parallel variants, as benchmark rows (``bench/implementations.py``) and for the free-threaded
CPython row (``hotpath.runs.driver --threads``).

Each kernel is split the way the compiled parallel variants split it, so that the answer stays
python_ref's, bit for bit:

- ``aggregate``: worker p owns the devices ``d`` with ``d * parts // n_devices == p`` and
  aggregates only their rows, in input order: every device's total is one worker's sequential
  sum. The parts' outputs are concatenated, never added.
- ``duplicates``: rows go to the worker of their key's partition (a hash of ``(id, ts)``),
  in input order, so equal keys meet in one worker, which decides "first occurrence" in row
  order. The marks are scattered back to their rows.
- ``hash_rows``: contiguous ranges of rows; the results are concatenated.

``xxh64`` (one stream) and ``factorize`` (codes in first-appearance order over the whole
input: merging chunk-local codes is as much per-row Python work as the kernel) are not split.

Three tools (:func:`split`):

- a process pool (``concurrent.futures.ProcessPoolExecutor``, kept across calls as a user
  would): each call pickles its parts' columns to the workers and their results back. The
  ``transfer`` kernel sends the very same arguments and returns nothing but their length, so a
  benchmark row shows the copying cost apart;
- a thread pool over python_ref: the GIL serializes the Python bytecode (about 1x), except on
  a free-threaded CPython (3.13t/3.14t), where the same code runs in parallel;
- a thread pool over a compiled backend that releases the GIL (cffi_ext): its calls overlap.

Standard library only at import (the free-threaded interpreter has no NumPy); the NumPy path
imports it when it is used. Python 3.9 syntax, as hotpath.runs.driver.
"""

from __future__ import annotations

import shutil
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from types import ModuleType
from typing import Any, Callable, List, Sequence, Tuple

import python_ref

SPLIT = ("aggregate", "duplicates", "hash_rows")
# The free-threaded interpreters a row looks for, newest first.
FREE_THREADED = ("python3.14t", "python3.13t")


def free_threaded() -> str | None:
    """The path of a free-threaded CPython on PATH, or None."""
    for name in FREE_THREADED:
        found = shutil.which(name)
        if found:
            return found
    return None


def why_no_free_threaded() -> str:
    return (
        f"no free-threaded CPython on PATH ({' or '.join(FREE_THREADED)}); this machine's "
        "package sources have none (e.g. `uv python install 3.14t`)"
    )


# -- the parts: the same functions run in a process, a thread, or a free-threaded thread ----


def _owner_bounds(n_devices: int, parts: int) -> List[int]:
    """Device d belongs to part d * parts // n_devices: part p holds [bounds[p], bounds[p+1])."""
    return [-(-p * n_devices // parts) for p in range(parts + 1)]


def aggregate_part(ids: Sequence[int], kwh: Sequence[float], lo: int, hi: int) -> Tuple[list, ...]:
    """python_ref.aggregate of the devices [lo, hi) alone, their rows in input order."""
    own_ids = []
    own_kwh = []
    for d, x in zip(ids, kwh):
        if lo <= d < hi:
            own_ids.append(d - lo)
            own_kwh.append(x)
    return python_ref.aggregate(own_ids, own_kwh, hi - lo)


def duplicates_part(ids: Sequence[int], stamps: Sequence[int], part: int, parts: int):
    """(the rows of key partition ``part``, python_ref.duplicates of those rows)."""
    # any function of the key works (equal keys meet); the tuple's hash is C-fast and, for
    # ints, the same in every process
    rows = [i for i, key in enumerate(zip(ids, stamps)) if hash(key) % parts == part]
    return rows, python_ref.duplicates([ids[i] for i in rows], [stamps[i] for i in rows])


def hash_rows_part(ids: Sequence[int], stamps: Sequence[int], kwh: Sequence[float], seed: int):
    return python_ref.hash_rows(ids, stamps, kwh, seed)


def transfer(*columns: Any) -> int:
    """The process pool's copying cost alone: the same arguments, no work."""
    return len(columns[0]) if columns else 0


class Split:
    """The three split kernels of python_ref over an executor of ``workers`` workers.

    The inputs are checked by python_ref first where a split could change which error comes
    first (an id outside [0, n_devices)): invalid input is answered by python_ref itself.
    """

    def __init__(self, executor: Executor, workers: int) -> None:
        self.executor = executor
        self.workers = workers

    def aggregate(self, ids: Sequence[int], kwh: Sequence[float], n_devices: int):
        if (
            len(ids) < 2 * self.workers
            or n_devices < 2
            or len(ids) != len(kwh)
            or min(ids) < 0
            or max(ids) >= n_devices
        ):
            return python_ref.aggregate(ids, kwh, n_devices)
        parts = min(self.workers, n_devices)
        bounds = _owner_bounds(n_devices, parts)
        futures = [
            self.executor.submit(aggregate_part, ids, kwh, bounds[p], bounds[p + 1])
            for p in range(parts)
        ]
        count: list = []
        total: list = []
        minimum: list = []
        maximum: list = []
        for future in futures:  # concatenated in device order: no float is ever combined
            c, t, lo, hi = future.result()
            count += c
            total += t
            minimum += lo
            maximum += hi
        return count, total, minimum, maximum

    def duplicates(self, ids: Sequence[int], stamps: Sequence[int]) -> List[bool]:
        if len(ids) < 2 * self.workers or len(ids) != len(stamps):
            return python_ref.duplicates(ids, stamps)
        futures = [
            self.executor.submit(duplicates_part, ids, stamps, p, self.workers)
            for p in range(self.workers)
        ]
        marks = [False] * len(ids)
        for future in futures:
            rows, part_marks = future.result()
            for i, mark in zip(rows, part_marks):
                marks[i] = mark
        return marks

    def hash_rows(
        self, ids: Sequence[int], stamps: Sequence[int], kwh: Sequence[float], seed: int = 0
    ) -> List[int]:
        n = len(ids)
        if n < 2 * self.workers or not (n == len(stamps) == len(kwh)):
            return python_ref.hash_rows(ids, stamps, kwh, seed)
        cuts = [n * p // self.workers for p in range(self.workers + 1)]
        futures = [
            self.executor.submit(hash_rows_part, *(c[a:b] for c in (ids, stamps, kwh)), seed)
            for a, b in zip(cuts, cuts[1:])
        ]
        out: List[int] = []
        for future in futures:
            out += future.result()
        return out

    def transfer(self, kernel: str, *columns: Sequence[Any]) -> int:
        """What ``kernel``'s call sends to the workers, sent, with nothing computed."""
        n = len(columns[0])
        if kernel == "hash_rows":
            cuts = [n * p // self.workers for p in range(self.workers + 1)]
            futures = [
                self.executor.submit(transfer, *(c[a:b] for c in columns))
                for a, b in zip(cuts, cuts[1:])
            ]
        else:  # aggregate and duplicates send every worker the whole columns
            futures = [self.executor.submit(transfer, *columns) for _ in range(self.workers)]
        return sum(future.result() for future in futures)


def process_pool(workers: int) -> Tuple[Split, Callable[[], None]]:
    """python_ref split over a process pool started now (its start-up is not any call's), and
    the function that shuts it down."""
    executor = ProcessPoolExecutor(workers)
    # start the workers now: the first call would otherwise pay their start-up
    list(executor.map(transfer, [[0]] * workers))
    return Split(executor, workers), executor.shutdown


def thread_pool(workers: int) -> Tuple[Split, Callable[[], None]]:
    """python_ref split over a thread pool (the GIL's ~1x, or free-threaded parallelism)."""
    executor = ThreadPoolExecutor(workers)
    return Split(executor, workers), executor.shutdown


# -- a thread pool over a compiled backend that releases the GIL ---------------------------


class CompiledSplit:
    """The three split kernels of a compiled backend (its NumPy arrays in, its results out)
    over a thread pool: the backend releases the GIL, so the parts' calls overlap. The parts
    are cut as :class:`Split` cuts them, in NumPy."""

    def __init__(self, module: ModuleType, executor: ThreadPoolExecutor, workers: int) -> None:
        self.module = module
        self.executor = executor
        self.workers = workers

    def aggregate(self, ids: Any, kwh: Any, n_devices: int):
        import numpy as np

        ids, kwh = np.asarray(ids), np.asarray(kwh)
        if (
            len(ids) < 2 * self.workers
            or n_devices < 2
            or ids.dtype != np.uint32
            or len(ids) != len(kwh)
            or int(ids.max()) >= n_devices
        ):
            return self.module.aggregate(ids, kwh, n_devices)
        parts = min(self.workers, n_devices)
        bounds = _owner_bounds(n_devices, parts)

        def part(p: int):
            lo, hi = bounds[p], bounds[p + 1]
            own = (ids >= lo) & (ids < hi)  # NumPy releases the GIL here too
            return self.module.aggregate(ids[own] - np.uint32(lo), kwh[own], hi - lo)

        results = list(self.executor.map(part, range(parts)))
        return tuple(np.concatenate([r[k] for r in results]) for k in range(4))

    def duplicates(self, ids: Any, stamps: Any):
        import numpy as np

        ids, stamps = np.asarray(ids), np.asarray(stamps)
        if len(ids) < 2 * self.workers or ids.dtype != np.uint32 or stamps.dtype != np.int64:
            return self.module.duplicates(ids, stamps)
        mixed = (ids.astype(np.uint64) * np.uint64(0x9E3779B1)) ^ stamps.view(np.uint64)
        owner = (mixed * np.uint64(0x85EBCA77C2B2AE63) >> np.uint64(17)) % np.uint64(self.workers)
        out = np.empty(len(ids), np.bool_)

        def part(p: int) -> None:
            rows = np.flatnonzero(owner == p)  # ascending: the rows keep their order
            out[rows] = self.module.duplicates(ids[rows], stamps[rows])

        list(self.executor.map(part, range(self.workers)))
        return out

    def hash_rows(self, ids: Any, stamps: Any, kwh: Any, seed: int = 0):
        import numpy as np

        n = len(ids)
        if n < 2 * self.workers:
            return self.module.hash_rows(ids, stamps, kwh, seed)
        cuts = [n * p // self.workers for p in range(self.workers + 1)]
        out = np.empty(n, np.uint64)

        def part(p: int) -> None:
            a, b = cuts[p], cuts[p + 1]
            out[a:b] = self.module.hash_rows(ids[a:b], stamps[a:b], kwh[a:b], seed)

        list(self.executor.map(part, range(self.workers)))
        return out


def compiled_thread_pool(
    module: ModuleType, workers: int
) -> Tuple[CompiledSplit, Callable[[], None]]:
    executor = ThreadPoolExecutor(workers)
    return CompiledSplit(module, executor, workers), executor.shutdown


def workers() -> int:
    """The workers a pool row uses: hotpath.threads' setting (HOTPATH_THREADS, else the cores
    this process may use)."""
    from hotpath import threads  # stdlib only

    return threads.count()


__all__ = [
    "FREE_THREADED",
    "SPLIT",
    "CompiledSplit",
    "Split",
    "compiled_thread_pool",
    "free_threaded",
    "process_pool",
    "thread_pool",
    "why_no_free_threaded",
    "workers",
]
