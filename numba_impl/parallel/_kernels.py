"""Raw parallel Numba kernels (hotpath.contract.RawKernels), bit-exact with numba_impl's.

- ``aggregate``: worker ``w`` of ``W`` owns the contiguous devices ``[w*D/W, (w+1)*D/W)`` and
  reads every row in input order, keeping only its own devices' rows, so each device's total
  is the sequential sum: no float is merged from two workers. The keep test is branch-free (a
  block of row numbers is compacted, then summed), since with interleaved devices a branch
  would mispredict every other row. Every worker checks every id, so each stops at the same
  first bad row.
- ``duplicates``: a stable scatter of the rows' keys by the top bits of the keyed hash
  (hotpath.hashkey) into partitions, row order kept inside each; then numba_impl's sequential
  kernel on each partition -- its keyed, probe-bounded table with the sort fallback, in a
  cache-sized table. Equal rows share a hash and so a partition, which decides "first" in row
  order. Rows crafted to collide share one partition, and only that one is sorted.
- ``hash_rows``: contiguous row ranges.
- ``factorize`` and ``xxh64``: the sequential kernels (codes in first-appearance order depend on
  every earlier row; one XXH64 stream is sequential by definition).

The thread count is ``hotpath.threads.count()``, read at every call and capped at
``numba.config.NUMBA_NUM_THREADS`` (Numba's pool is sized once, at start). Fewer than
``MIN_ROWS`` rows, or one thread, run the sequential kernel. Calls from several Python threads
take turns (a lock): Numba's workqueue threading layer, its fallback where neither OpenMP nor
TBB is found, is not thread-safe, and each call already uses every thread it is given.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba import njit, prange

from hotpath import rawchecks, threads
from hotpath.hashkey import HashKey
from numba_impl import _kernels as sequential

MIN_ROWS = 1 << 14  # below this, waking the pool costs more than it saves
_BLOCK = 2048  # rows a compaction block holds: a few KiB, in L1

BUILD_INFO = f"{sequential.BUILD_INFO}, parallel=True"

_pjit = njit(cache=True, nogil=True, boundscheck=False, parallel=True)
_lock = threading.Lock()

factorize_into = sequential.factorize_into
xxh64 = sequential.xxh64
keyed_hash = sequential.keyed_hash


def _threads() -> int:
    """The thread count in force, capped at Numba's pool, and set for this call."""
    count = min(threads.count(), numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(count)
    return count


@_pjit
def _aggregate_into(device_id, kwh, count, total, minimum, maximum, workers):
    n_devices = len(count)
    n = len(device_id)
    bad = np.full(workers, -1, np.int64)
    for w in prange(workers):
        lo = w * n_devices // workers
        span = (w + 1) * n_devices // workers - lo
        for d in range(lo, lo + span):
            count[d] = 0
            total[d] = 0.0
            minimum[d] = np.inf
            maximum[d] = -np.inf
        kept = np.empty(_BLOCK, np.int64)
        for start in range(0, n, _BLOCK):
            end = min(start + _BLOCK, n)
            k = 0
            for i in range(start, end):
                d = np.int64(device_id[i])
                if d >= n_devices:
                    bad[w] = i
                    break
                kept[k] = i  # always written; kept only for an own device
                k += np.int64((d >= lo) & (d < lo + span))
            if bad[w] >= 0:
                break
            for j in range(k):
                i = kept[j]
                x = kwh[i]
                if x != x:  # NaN: a missing reading
                    continue
                d = np.int64(device_id[i])
                count[d] += 1
                total[d] += x  # this device's rows, in input order: the sequential sum
                if x < minimum[d]:
                    minimum[d] = x
                if x > maximum[d]:
                    maximum[d] = x
        for d in range(lo, lo + span):
            if count[d] == 0:
                minimum[d] = np.nan
                maximum[d] = np.nan
    for w in range(workers):
        if bad[w] >= 0:
            return bad[w]
    return -1


@_pjit
def _duplicates_into(device_id, timestamp, k0, k1, out, workers, partition_bits):
    # Every pass streams: (1) each chunk notes its rows' partitions and counts them; (2) each
    # chunk copies its keys to their partition's place (partition-major, chunk-minor: each
    # partition in row order); (3) the sequential kernel on each partition; (4) each chunk
    # reads its rows' marks back, partition by partition in the same order.
    n = len(device_id)
    partitions = 1 << partition_bits
    shift = np.uint64(64 - partition_bits)
    chunk = (n + workers - 1) // workers
    part = np.empty(n, np.int32)
    counts = np.zeros((workers, partitions), np.int64)
    for c in prange(workers):
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            p = np.int32(sequential._keyed_hash(device_id[i], timestamp[i], k0, k1) >> shift)
            part[i] = p
            counts[c, p] += 1
    begin = np.empty((workers, partitions), np.int64)
    starts = np.empty(partitions + 1, np.int64)
    at = 0
    for p in range(partitions):
        starts[p] = at
        for c in range(workers):
            begin[c, p] = at
            at += counts[c, p]
    starts[partitions] = at
    ids = np.empty(n, np.uint32)
    stamps = np.empty(n, np.int64)
    for c in prange(workers):
        cursor = begin[c].copy()
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            j = cursor[part[i]]
            ids[j] = device_id[i]
            stamps[j] = timestamp[i]
            cursor[part[i]] = j + 1
    marks = np.empty(n, np.bool_)
    probes = 0
    fallbacks = 0
    for p in prange(partitions):
        a, b = starts[p], starts[p + 1]
        found, sorted_ = sequential._duplicates_into(ids[a:b], stamps[a:b], k0, k1, marks[a:b])
        probes += found
        fallbacks += sorted_
    for c in prange(workers):
        cursor = begin[c].copy()
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            j = cursor[part[i]]
            out[i] = marks[j]
            cursor[part[i]] = j + 1
    return probes, fallbacks


@_pjit
def _hash_rows_into(device_id, timestamp, kwh, seed, out, pieces):
    n = len(out)
    chunk = (n + pieces - 1) // pieces
    for c in prange(pieces):
        a = c * chunk
        b = min(n, a + chunk)
        if a < b:
            sequential._hash_rows_into(device_id[a:b], timestamp[a:b], kwh[a:b], seed, out[a:b])


def aggregate_into(
    device_id: np.ndarray,
    kwh: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    minimum: np.ndarray,
    maximum: np.ndarray,
) -> int:
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    with _lock:
        workers = min(_threads(), len(count))
        if workers <= 1 or len(device_id) < MIN_ROWS:
            return int(sequential._aggregate_into(device_id, kwh, count, total, minimum, maximum))
        return int(_aggregate_into(device_id, kwh, count, total, minimum, maximum, workers))


def duplicates_into(
    device_id: np.ndarray, timestamp: np.ndarray, key: HashKey, out: np.ndarray
) -> tuple[int, int]:
    k0, k1 = rawchecks.duplicates_into(device_id, timestamp, key, out)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    n = len(device_id)
    with _lock:
        workers = _threads()
        if workers <= 1 or n < MIN_ROWS:
            probes, fallbacks = sequential._duplicates_into(device_id, timestamp, k0, k1, out)
        else:
            # ~2**15 rows a partition (a cache-sized table), at least 4 per thread for balance
            partitions = min(max(n >> 15, 4 * workers), 4096)
            bits = (partitions - 1).bit_length()
            probes, fallbacks = _duplicates_into(device_id, timestamp, k0, k1, out, workers, bits)
    return int(probes), int(fallbacks)


def hash_rows_into(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, seed: int, out: np.ndarray
) -> None:
    seed = np.uint64(rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out))
    with _lock:
        workers = _threads()
        if workers <= 1 or len(out) < MIN_ROWS:
            sequential._hash_rows_into(device_id, timestamp, kwh, seed, out)
        else:
            _hash_rows_into(device_id, timestamp, kwh, seed, out, 4 * workers)
