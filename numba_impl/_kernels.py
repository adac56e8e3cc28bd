"""Raw Numba kernels on canonical arrays (see hotpath.contract.RawKernels).

Plain Python loops compiled by LLVM at first call, without bounds checks:
each raw kernel below is a Python function that checks its arguments once
(dtypes, layout, lengths: hotpath.rawchecks) and then enters the compiled
loop, so a direct call with bad arrays raises instead of reading or writing
out of bounds. ``cache=True`` keeps the machine code on disk, so only
the first process pays the compile time; ``nogil=True`` lets other threads run
meanwhile. Integer arithmetic on uint64 wraps modulo 2**64, as XXH64 needs.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit

from hotpath import rawchecks

PRIME64_1 = np.uint64(0x9E3779B185EBCA87)
PRIME64_2 = np.uint64(0xC2B2AE3D27D4EB4F)
PRIME64_3 = np.uint64(0x165667B19E3779F9)
PRIME64_4 = np.uint64(0x85EBCA77C2B2AE63)
PRIME64_5 = np.uint64(0x27D4EB2F165667C5)
_EMPTY = np.uint64(0)  # slot tag of an unused hash-table slot

BUILD_INFO = f"Numba {numba.__version__}, llvmlite {numba.llvmlite.__version__}"

_jit = njit(cache=True, nogil=True, boundscheck=False)


@_jit
def _rotl(x, bits):
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


@_jit
def _round(acc, lane):
    return _rotl(acc + lane * PRIME64_2, 31) * PRIME64_1


@_jit
def _merge(acc, lane_acc):
    return (acc ^ _round(np.uint64(0), lane_acc)) * PRIME64_1 + PRIME64_4


@_jit
def _avalanche(h):
    h ^= h >> np.uint64(33)
    h *= PRIME64_2
    h ^= h >> np.uint64(29)
    h *= PRIME64_3
    return h ^ (h >> np.uint64(32))


@_jit
def _read64(data, i):
    # Byte loads joined little-endian; LLVM folds them into one 64-bit load.
    v = np.uint64(0)
    for k in range(8):
        v |= np.uint64(data[i + k]) << np.uint64(8 * k)
    return v


@_jit
def _read32(data, i):
    v = np.uint64(0)
    for k in range(4):
        v |= np.uint64(data[i + k]) << np.uint64(8 * k)
    return v


@_jit
def _aggregate_into(device_id, kwh, count, total, minimum, maximum):
    n_devices = len(count)
    for d in range(n_devices):
        count[d] = 0
        total[d] = 0.0
        minimum[d] = np.inf
        maximum[d] = -np.inf
    for i in range(len(device_id)):
        d = device_id[i]
        if d >= n_devices:
            return i
        x = kwh[i]
        if x != x:  # NaN: a missing reading
            continue
        count[d] += 1
        total[d] += x
        if x < minimum[d]:
            minimum[d] = x
        if x > maximum[d]:
            maximum[d] = x
    for d in range(n_devices):
        if count[d] == 0:
            minimum[d] = np.nan
            maximum[d] = np.nan
    return -1


@_jit
def _slot_of(device, stamp, mask):
    h = (np.uint64(stamp) ^ (np.uint64(device) << np.uint64(32))) * PRIME64_1
    h ^= np.uint64(device) * PRIME64_2
    h ^= h >> np.uint64(29)
    return h & mask


@_jit
def _duplicates_into(device_id, timestamp, out):
    n = len(device_id)
    capacity = 16
    while capacity < 2 * n:
        capacity *= 2
    mask = np.uint64(capacity - 1)
    # Open addressing with linear probing; a slot holds the timestamp and the
    # device id plus one (0 marks an empty slot), so no key needs a sentinel.
    stamps = np.empty(capacity, np.int64)
    tags = np.zeros(capacity, np.uint64)
    for i in range(n):
        stamp = timestamp[i]
        tag = np.uint64(device_id[i]) + np.uint64(1)
        slot = _slot_of(device_id[i], stamp, mask)
        while True:
            if tags[slot] == _EMPTY:
                tags[slot] = tag
                stamps[slot] = stamp
                out[i] = False
                break
            if tags[slot] == tag and stamps[slot] == stamp:
                out[i] = True
                break
            slot = (slot + np.uint64(1)) & mask


@_jit
def _xxh64(data, seed):
    length = len(data)
    i = 0
    if length >= 32:
        v1 = seed + PRIME64_1 + PRIME64_2
        v2 = seed + PRIME64_2
        v3 = seed
        v4 = seed - PRIME64_1
        while i + 32 <= length:
            v1 = _round(v1, _read64(data, i))
            v2 = _round(v2, _read64(data, i + 8))
            v3 = _round(v3, _read64(data, i + 16))
            v4 = _round(v4, _read64(data, i + 24))
            i += 32
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + PRIME64_5
    h += np.uint64(length)
    while i + 8 <= length:
        h ^= _round(np.uint64(0), _read64(data, i))
        h = _rotl(h, 27) * PRIME64_1 + PRIME64_4
        i += 8
    if i + 4 <= length:
        h ^= _read32(data, i) * PRIME64_1
        h = _rotl(h, 23) * PRIME64_2 + PRIME64_3
        i += 4
    while i < length:
        h ^= np.uint64(data[i]) * PRIME64_5
        h = _rotl(h, 11) * PRIME64_1
        i += 1
    return _avalanche(h)


@_jit
def _hash_rows_into(device_id, timestamp, kwh, seed, out):
    start = seed + PRIME64_5 + np.uint64(20)
    bits = kwh.view(np.uint64)
    for i in range(len(out)):
        ts = np.uint64(timestamp[i])
        # The row "<Iqd" as two 8-byte words and a 4-byte tail.
        word0 = np.uint64(device_id[i]) | (ts << np.uint64(32))
        word1 = (ts >> np.uint64(32)) | (bits[i] << np.uint64(32))
        h = start ^ _round(np.uint64(0), word0)
        h = _rotl(h, 27) * PRIME64_1 + PRIME64_4
        h ^= _round(np.uint64(0), word1)
        h = _rotl(h, 27) * PRIME64_1 + PRIME64_4
        h ^= (bits[i] >> np.uint64(32)) * PRIME64_1
        h = _rotl(h, 23) * PRIME64_2 + PRIME64_3
        out[i] = _avalanche(h)


def aggregate_into(
    device_id: np.ndarray,
    kwh: np.ndarray,
    count: np.ndarray,
    total: np.ndarray,
    minimum: np.ndarray,
    maximum: np.ndarray,
) -> int:
    rawchecks.aggregate_into(device_id, kwh, count, total, minimum, maximum)
    return int(_aggregate_into(device_id, kwh, count, total, minimum, maximum))


def duplicates_into(device_id: np.ndarray, timestamp: np.ndarray, out: np.ndarray) -> None:
    rawchecks.duplicates_into(device_id, timestamp, out)
    _duplicates_into(device_id, timestamp, out)


# Numba types a Python int by its value (int64, or an error past 2**63), so the
# seed crosses as an explicit uint64.
def xxh64(data: np.ndarray, seed: int) -> int:
    return int(_xxh64(data, np.uint64(rawchecks.xxh64(data, seed))))


def hash_rows_into(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, seed: int, out: np.ndarray
) -> None:
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    _hash_rows_into(device_id, timestamp, kwh, np.uint64(seed), out)
