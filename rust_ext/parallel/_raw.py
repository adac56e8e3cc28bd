"""The parallel variant's raw kernels (hotpath.contract.RawKernels): rust_ext._kernels.parallel,
given the thread count in force at every call (hotpath.threads.count()).

hotpath.rawchecks checks every call first, as the sequential raw kernels do, so a bad call
raises the same exception and message (PyO3's argument extraction would raise its own).
``factorize_into`` and ``xxh64`` are the sequential kernels themselves: codes in
first-appearance order depend on the whole prefix of the rows, and one XXH64 stream is
sequential by definition.
"""

from __future__ import annotations

import numpy as np

from hotpath import rawchecks, threads
from hotpath.hashkey import HashKey
from rust_ext import _kernels

_parallel = _kernels.parallel

BUILD_INFO = _parallel.BUILD_INFO

factorize_into = _kernels.factorize_into
xxh64 = _kernels.xxh64
keyed_hash = _kernels.keyed_hash


def aggregate_into(
    device_id: np.ndarray,
    kwh: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    minimum: np.ndarray,
    maximum: np.ndarray,
) -> int:
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    return _parallel.aggregate_into(device_id, kwh, count, total, minimum, maximum, threads.count())


def duplicates_into(
    device_id: np.ndarray, timestamp: np.ndarray, key: HashKey, out: np.ndarray
) -> tuple[int, int]:
    rawchecks.duplicates_into(device_id, timestamp, key, out)
    return _parallel.duplicates_into(device_id, timestamp, key, out, threads.count())


def hash_rows_into(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, seed: int, out: np.ndarray
) -> None:
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    _parallel.hash_rows_into(device_id, timestamp, kwh, seed, out, threads.count())
