"""Raw NumPy kernels on canonical arrays (see hotpath.contract.RawKernels).

Called directly, each checks its arguments first (hotpath.rawchecks), as every
backend's raw kernels do.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotpath import rawchecks
from hotpath.hashkey import HashKey

PRIME64_1 = np.uint64(0x9E3779B185EBCA87)
PRIME64_2 = np.uint64(0xC2B2AE3D27D4EB4F)
PRIME64_3 = np.uint64(0x165667B19E3779F9)
PRIME64_4 = np.uint64(0x85EBCA77C2B2AE63)
PRIME64_5 = np.uint64(0x27D4EB2F165667C5)
_ROW_BYTES = np.uint64(20)

U64 = npt.NDArray[np.uint64]


def _rotl(x: U64, bits: int) -> U64:
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


def _round(acc: U64, lane: U64) -> U64:
    return _rotl(acc + lane * PRIME64_2, 31) * PRIME64_1


def _avalanche(h: U64) -> U64:
    h = h ^ (h >> np.uint64(33))
    h = h * PRIME64_2
    h = h ^ (h >> np.uint64(29))
    h = h * PRIME64_3
    return h ^ (h >> np.uint64(32))


def aggregate_into(
    device_id: npt.NDArray[np.uint32],
    kwh: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64],
    total: npt.NDArray[np.float64],
    minimum: npt.NDArray[np.float64],
    maximum: npt.NDArray[np.float64],
) -> int:
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    n_devices = len(count)
    if device_id.size and device_id.max() >= n_devices:
        return int(np.argmax(device_id >= n_devices))
    valid = ~np.isnan(kwh)
    ids, values = device_id[valid], kwh[valid]
    count[:] = np.bincount(ids, minlength=n_devices)
    # bincount adds the weights one by one in row order: the same bits as a loop.
    total[:] = np.bincount(ids, weights=values, minlength=n_devices)
    minimum.fill(np.inf)
    maximum.fill(-np.inf)
    np.minimum.at(minimum, ids, values)
    np.maximum.at(maximum, ids, values)
    _first_zero_wins(ids, values, minimum, maximum)
    empty = count == 0
    minimum[empty] = maximum[empty] = np.nan
    return -1


def _first_zero_wins(
    ids: npt.NDArray[np.uint32],
    values: npt.NDArray[np.float64],
    minimum: npt.NDArray[np.float64],
    maximum: npt.NDArray[np.float64],
) -> None:
    """Where a device's minimum or maximum is zero, give it the sign of that
    device's first zero: the contract keeps the first of equal values, and
    0.0 == -0.0 is the only tie that differs in bits (NaN is already out).
    ``np.minimum.at`` and ``np.maximum.at`` keep whichever zero they met last."""
    zero = np.flatnonzero(values == 0)
    if not zero.size:
        return
    first = np.full(len(minimum), len(values), np.intp)
    np.minimum.at(first, ids[zero], zero)  # each device's first zero row
    devices = np.flatnonzero(first < len(values))
    first_zero = values[first[devices]]
    for extreme in (minimum, maximum):
        tied = extreme[devices] == 0
        extreme[devices[tied]] = first_zero[tied]


def duplicates_into(
    device_id: npt.NDArray[np.uint32],
    timestamp: npt.NDArray[np.int64],
    key: HashKey,
    out: npt.NDArray[np.bool_],
) -> tuple[int, int]:
    rawchecks.duplicates_into(device_id, timestamp, key, out)
    # A stable sort by (device, timestamp) puts each key's first row first in
    # its run; every later row of the run is a duplicate. No hash table, so the
    # key is unused and no input can slow it down: O(n log n) always.
    order = np.lexsort((timestamp, device_id))
    ids, stamps = device_id[order], timestamp[order]
    repeated = np.zeros(len(order), np.bool_)
    np.logical_and(ids[1:] == ids[:-1], stamps[1:] == stamps[:-1], out=repeated[1:])
    out[order] = repeated
    return 0, 0


_ROW_LIMIT = 1 << 32  # rows whose index fits beside the id in one uint64 sort key


def factorize_into(
    device_id: npt.NDArray[np.uint32],
    key: HashKey,
    codes: npt.NDArray[np.uint32],
    uniques: npt.NDArray[np.uint32],
) -> tuple[int, int, int]:
    rawchecks.factorize_into(device_id, key, codes, uniques)
    n = len(device_id)
    if n == 0:
        return 0, 0, 0
    # Sort (id << 32 | row) as plain uint64s: ids ascending, each id's rows in input order,
    # so every run's first entry is that id's first appearance. One sort of a primitive
    # type (NumPy's SIMD quicksort) instead of np.unique's stable argsort: ~4x faster.
    if n < _ROW_LIMIT:
        packed = (device_id.astype(np.uint64) << np.uint64(32)) | np.arange(n, dtype=np.uint64)
        packed.sort()
        ids = (packed >> np.uint64(32)).astype(np.uint32)
        rows = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    else:  # too many rows to pack: a stable argsort keeps each id's rows in order
        rows = np.argsort(device_id, kind="stable")
        ids = device_id[rows]
    starts = np.empty(n, np.bool_)
    starts[0] = True
    np.not_equal(ids[1:], ids[:-1], out=starts[1:])
    run = np.cumsum(starts) - 1  # each sorted entry's run (its id's rank by value)
    firsts = rows[starts]  # each id's first row, ids ascending
    order = np.argsort(firsts)  # ids by first appearance (the firsts are distinct)
    rank = np.empty(len(order), np.uint32)
    rank[order] = np.arange(len(order), dtype=np.uint32)
    codes[rows] = rank[run]
    found = len(order)
    uniques[:found] = ids[starts][order]
    return found, 0, 0


def xxh64(data: npt.NDArray[np.uint8], seed: int) -> int:
    seed = rawchecks.xxh64(data, seed)
    length = len(data)
    body = length - length % 32
    with np.errstate(over="ignore"):
        seed64 = np.uint64(seed)
        if body:
            lanes = np.array([seed, seed, seed, seed], np.uint64)
            lanes += np.array([PRIME64_1 + PRIME64_2, PRIME64_2, 0, -PRIME64_1], np.uint64)
            stripes = data[:body].view("<u8").reshape(-1, 4)
            # Each stripe depends on the previous one: NumPy can only vectorize
            # across the four lanes, so this loop runs once per 32 bytes.
            for stripe in stripes:
                lanes = _round(lanes, stripe)
            v1, v2, v3, v4 = lanes
            h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
            for v in lanes:
                h = (h ^ _round(np.uint64(0), v)) * PRIME64_1 + PRIME64_4
        else:
            h = seed64 + PRIME64_5
        h = h + np.uint64(length)
        tail = data[body:]
        words = len(tail) // 8
        for lane in tail[: words * 8].view("<u8"):
            h = _rotl(h ^ _round(np.uint64(0), lane), 27) * PRIME64_1 + PRIME64_4
        rest = tail[words * 8 :]
        if len(rest) >= 4:
            h = _rotl(h ^ (np.uint64(rest[:4].view("<u4")[0]) * PRIME64_1), 23)
            h = h * PRIME64_2 + PRIME64_3
            rest = rest[4:]
        for byte in rest:
            h = _rotl(h ^ (np.uint64(byte) * PRIME64_5), 11) * PRIME64_1
        return int(_avalanche(h))


def hash_rows_into(
    device_id: npt.NDArray[np.uint32],
    timestamp: npt.NDArray[np.int64],
    kwh: npt.NDArray[np.float64],
    seed: int,
    out: npt.NDArray[np.uint64],
) -> None:
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    # Rows are independent, so XXH64 of the 20-byte "<Iqd" row vectorizes over
    # rows: two 8-byte words, one 4-byte word, then the avalanche.
    ts = timestamp.view(np.uint64)
    bits = kwh.view(np.uint64)
    word0 = device_id.astype(np.uint64) | (ts << np.uint64(32))
    word1 = (ts >> np.uint64(32)) | (bits << np.uint64(32))
    tail = bits >> np.uint64(32)
    zero = np.uint64(0)
    with np.errstate(over="ignore"):
        h = np.full(len(out), np.uint64(seed) + PRIME64_5 + _ROW_BYTES, np.uint64)
        for word in (word0, word1):
            h ^= _round(zero, word)
            h = _rotl(h, 27) * PRIME64_1 + PRIME64_4
        h ^= tail * PRIME64_1
        h = _rotl(h, 23) * PRIME64_2 + PRIME64_3
        out[:] = _avalanche(h)


BUILD_INFO = f"NumPy {np.__version__}"
