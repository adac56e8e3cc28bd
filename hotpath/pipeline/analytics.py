"""Dedup, aggregate and fingerprint on columns, through any registered backend's kernels.

The same three steps for every backend: ``duplicates`` marks retransmissions; device ids,
which are sparse, become dense indices (``factorize``) so that ``aggregate`` can index by them
-- never an array sized by the largest id -- with every dropped row sent to one extra index
that is then discarded; ``hash_rows`` fingerprints the kept rows, summed mod 2**64. python_ref
works on lists, the other backends on NumPy arrays; both paths are here, side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from hotpath import backends
from hotpath.pipeline.report import FINGERPRINT_SEED, Devices

# The default backend: the first of these that is available (the fastest first, as measured
# by the benchmark on this project's machines).
PREFERRED = ("cffi_ext", "rust_ext", "cython_ext", "numba_impl", "numpy_impl", "python_ref")
# hash_rows runs over this many rows at a time: its output never costs more than 8 MiB.
FINGERPRINT_CHUNK = 1 << 20
_MASK64 = (1 << 64) - 1


def best_backend() -> str:
    for name in PREFERRED:
        if backends.status(name).available:
            return name
    return backends.REFERENCE


class Stopwatch:
    """Stage timings, wall clock, in the order they ran."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def time(self, stage: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - started
        return result


def analyse(
    device_id: Sequence[int] | np.ndarray,
    timestamp: Sequence[int] | np.ndarray,
    kwh: Sequence[float] | np.ndarray,
    backend: ModuleType,
    clock: Stopwatch,
) -> tuple[int, Devices, int]:
    """(duplicates dropped, per-device results, fingerprint) of the rows, in input order.
    python_ref gets lists, as it is meant to be used; every other backend NumPy arrays."""
    if backend.__name__ == backends.REFERENCE:
        if isinstance(device_id, np.ndarray):  # converting is part of python_ref's cost
            device_id, timestamp, kwh = device_id.tolist(), timestamp.tolist(), kwh.tolist()
        return _lists(device_id, timestamp, kwh, backend, clock)
    columns = (
        np.asarray(device_id, np.uint32),
        np.asarray(timestamp, np.int64),
        np.asarray(kwh, np.float64),
    )
    return _arrays(*columns, backend, clock)


def _arrays(
    ids: np.ndarray, stamps: Any, kwh: Any, backend: ModuleType, clock: Stopwatch
) -> tuple[int, Devices, int]:
    dup = np.asarray(clock.time("dedup", lambda: backend.duplicates(ids, stamps)))
    dropped = int(np.count_nonzero(dup))

    def fingerprint() -> int:
        total = 0
        for start in range(0, len(ids), FINGERPRINT_CHUNK):
            part = slice(start, start + FINGERPRINT_CHUNK)
            hashes = backend.hash_rows(ids[part], stamps[part], kwh[part], FINGERPRINT_SEED)
            # a uint64 sum wraps mod 2**64: the fingerprint's definition
            total += int(np.sum(hashes, where=~dup[part], dtype=np.uint64))
        return total & _MASK64

    def aggregate() -> Devices:
        codes, uniques = backend.factorize(ids)
        codes = np.array(codes, np.uint32)
        uniques = np.asarray(uniques)
        codes[dup] = len(uniques)  # dropped rows go to one extra device, discarded below
        count, total, low, high = backend.aggregate(codes, kwh, len(uniques) + 1)
        order = np.argsort(uniques, kind="stable")
        return Devices(
            uniques[order].astype(np.int64),
            np.asarray(count)[order],
            np.asarray(total)[order],
            np.asarray(low)[order],
            np.asarray(high)[order],
        )

    devices = clock.time("aggregate", aggregate)
    return dropped, devices, clock.time("fingerprint", fingerprint)


def _lists(
    ids: Sequence[int],
    stamps: Sequence[int],
    kwh: Sequence[float],
    backend: ModuleType,
    clock: Stopwatch,
) -> tuple[int, Devices, int]:
    dup = clock.time("dedup", lambda: list(backend.duplicates(ids, stamps)))

    def aggregate() -> Devices:
        codes, uniques = backend.factorize(ids)
        extra = len(uniques)
        codes = [extra if dropped else code for code, dropped in zip(codes, dup)]
        count, total, low, high = backend.aggregate(codes, kwh, extra + 1)
        return Devices.from_lists(list(zip(uniques, count, total, low, high)))

    def fingerprint() -> int:
        kept = [row for row, dropped in zip(zip(ids, stamps, kwh), dup) if not dropped]
        columns = list(zip(*kept)) if kept else [(), (), ()]
        return sum(backend.hash_rows(*columns, seed=FINGERPRINT_SEED)) & _MASK64

    devices = clock.time("aggregate", aggregate)
    return sum(dup), devices, clock.time("fingerprint", fingerprint)
