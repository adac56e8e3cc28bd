"""The executable specification of hotpath's kernels, in pure Python.

Every backend exposes these five functions with exactly these semantics and
raises the same exceptions for the same bad input. This module is also the speed
baseline, so it is plain, idiomatic Python: standard library only, runs unchanged
on CPython 3.9+, PyPy, GraalPy and CPython compiled to WebAssembly.

Meter readings are columnar:

* ``device_id`` -- integers in [0, 2**32),
* ``timestamp`` -- signed 64-bit Unix seconds,
* ``kwh`` -- real numbers, held as IEEE-754 float64; NaN means a missing reading.

Input rules shared by all kernels (checked before any work, in this order):

1. ``n_devices`` (aggregate only) is an integer in [1, sys.maxsize] (it is the
   results' length), else ValueError naming the value (TypeError if it is not
   an integer at all). One too large for memory raises MemoryError.
2. Each column is a one-dimensional iterable (any sequence, buffer, set or
   iterator; a memoryview of any scalar format): a column whose elements are
   themselves sequences, a scalar, or a NumPy masked array (or a masked
   element) raises ValueError; a ``str`` raises TypeError.
3. Each element has the right kind: integers (``int``, ``bool``, NumPy
   integers and bools) for ids and timestamps, real numbers (``numbers.Real``,
   NumPy bools) for kwh; anything else (floats or strings as ids, strings or
   complex numbers as kwh) raises TypeError naming the element's type.
4. Columns passed together have the same length, else ValueError.
5. Values are in range, else ValueError naming the first offending value in row
   order: ids in [0, n_devices) for ``aggregate``, ids in [0, 2**32) and
   timestamps in [-2**63, 2**63) for ``duplicates`` and ``hash_rows``, ids in
   [0, 2**32) for ``factorize``.
6. A seed is an integer in [0, 2**64), else ValueError (TypeError if not an
   integer).

Empty columns are valid and give empty results.
"""

from __future__ import annotations

import math
import struct
from typing import Any, List, Sequence, Tuple

from ._checks import (
    INT64_LIMIT,
    INT64_MIN,
    UINT32_LIMIT,
    check_data,
    check_n_devices,
    check_range,
    check_seed,
    integer_list,
    real_list,
    same_length,
)

__all__ = ["aggregate", "duplicates", "factorize", "hash_rows", "xxh64"]

_MASK64 = (1 << 64) - 1

# XXH64's five primes, from the xxHash specification.
PRIME64_1 = 0x9E3779B185EBCA87
PRIME64_2 = 0xC2B2AE3D27D4EB4F
PRIME64_3 = 0x165667B19E3779F9
PRIME64_4 = 0x85EBCA77C2B2AE63
PRIME64_5 = 0x27D4EB2F165667C5

_ROW = struct.Struct("<Iqd")  # one reading as hash_rows hashes it: 20 bytes
_STRIPE = struct.Struct("<4Q")
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")


# -- the kernels -------------------------------------------------------------


def aggregate(
    device_id: Sequence[int], kwh: Sequence[float], n_devices: int
) -> Tuple[List[int], List[float], List[float], List[float]]:
    """Per-device statistics of the valid (non-NaN) readings.

    Returns ``(count, total, minimum, maximum)``, four lists of length
    ``n_devices`` indexed by device id: the number of non-NaN readings, their
    sum accumulated in input order starting from 0.0 (so every backend gets the
    same bits), and their minimum and maximum under ``<`` and ``>`` (the first
    of equal values wins). A device with no valid reading has count 0, total
    0.0, and minimum and maximum NaN. Infinities are ordinary values (a total
    of inf and -inf is NaN). Results compare by their bits, the sign of zero
    included, except that a NaN result may be any NaN.

    Raises ValueError for ``n_devices`` outside [1, sys.maxsize] or an id
    outside [0, n_devices).
    """
    n_devices = check_n_devices(n_devices)
    ids = integer_list(device_id, "device_id")
    values = real_list(kwh, "kwh")
    same_length(device_id=ids, kwh=values)
    check_range(ids, 0, n_devices, "device id")

    count = [0] * n_devices
    total = [0.0] * n_devices
    minimum = [math.nan] * n_devices
    maximum = [math.nan] * n_devices
    for device, value in zip(ids, values):
        if value != value:  # NaN: a missing reading
            continue
        if count[device] == 0:
            minimum[device] = maximum[device] = value
        elif value < minimum[device]:
            minimum[device] = value
        elif value > maximum[device]:
            maximum[device] = value
        count[device] += 1
        total[device] += value
    return count, total, minimum, maximum


def duplicates(device_id: Sequence[int], timestamp: Sequence[int]) -> List[bool]:
    """Mark repeated readings: one boolean per row.

    Row ``i`` is True when an earlier row has the same ``(device_id,
    timestamp)``, the semantics of ``pandas.DataFrame.duplicated(keep="first")``.

    Raises ValueError for an id outside [0, 2**32) or a timestamp outside the
    signed 64-bit range.
    """
    ids = integer_list(device_id, "device_id")
    stamps = integer_list(timestamp, "timestamp")
    same_length(device_id=ids, timestamp=stamps)
    check_range(ids, 0, UINT32_LIMIT, "device id")
    check_range(stamps, INT64_MIN, INT64_LIMIT, "timestamp")

    seen = set()
    marks = []
    for key in zip(ids, stamps):
        marks.append(key in seen)
        seen.add(key)
    return marks


def factorize(device_id: Sequence[int]) -> Tuple[List[int], List[int]]:
    """Dense codes for sparse ids: ``(codes, uniques)``.

    ``uniques`` lists each distinct id once, in order of first appearance;
    ``codes[i]`` is the index of ``device_id[i]`` in ``uniques``, so
    ``uniques[codes[i]] == device_id[i]`` and the codes of the first k distinct
    ids are 0..k-1. This is ``pandas.factorize(device_id, sort=False)``. python_ref
    returns two lists of ints; the other backends return two NumPy ``uint32``
    arrays (an id is below 2**32, so there are at most 2**32 distinct ids and every
    code fits), ``uniques`` holding exactly the distinct ids.

    Raises ValueError for an id outside [0, 2**32).
    """
    ids = integer_list(device_id, "device_id")
    check_range(ids, 0, UINT32_LIMIT, "device id")

    index = {}
    codes = []
    for device in ids:
        code = index.get(device)
        if code is None:
            code = index[device] = len(index)
        codes.append(code)
    return codes, list(index)


def _rotl(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK64


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * PRIME64_2) & _MASK64
    return (_rotl(acc, 31) * PRIME64_1) & _MASK64


def _merge(acc: int, lane_acc: int) -> int:
    acc ^= _round(0, lane_acc)
    return (acc * PRIME64_1 + PRIME64_4) & _MASK64


def _xxh64_bytes(data: memoryview, seed: int) -> int:
    """XXH64 over a flat byte view, step by step as the specification reads."""
    length = len(data)
    offset = 0
    if length >= 32:
        v1 = (seed + PRIME64_1 + PRIME64_2) & _MASK64
        v2 = (seed + PRIME64_2) & _MASK64
        v3 = seed
        v4 = (seed - PRIME64_1) & _MASK64
        offset = length - length % 32
        for l1, l2, l3, l4 in _STRIPE.iter_unpack(data[:offset]):
            v1 = _round(v1, l1)
            v2 = _round(v2, l2)
            v3 = _round(v3, l3)
            v4 = _round(v4, l4)
        acc = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _MASK64
        for lane_acc in (v1, v2, v3, v4):
            acc = _merge(acc, lane_acc)
    else:
        acc = (seed + PRIME64_5) & _MASK64
    acc = (acc + length) & _MASK64

    while offset + 8 <= length:
        (lane,) = _U64.unpack_from(data, offset)
        acc ^= _round(0, lane)
        acc = (_rotl(acc, 27) * PRIME64_1 + PRIME64_4) & _MASK64
        offset += 8
    if offset + 4 <= length:
        (lane,) = _U32.unpack_from(data, offset)
        acc ^= (lane * PRIME64_1) & _MASK64
        acc = (_rotl(acc, 23) * PRIME64_2 + PRIME64_3) & _MASK64
        offset += 4
    while offset < length:
        acc ^= (data[offset] * PRIME64_5) & _MASK64
        acc = (_rotl(acc, 11) * PRIME64_1) & _MASK64
        offset += 1

    acc ^= acc >> 33
    acc = (acc * PRIME64_2) & _MASK64
    acc ^= acc >> 29
    acc = (acc * PRIME64_3) & _MASK64
    acc ^= acc >> 32
    return acc


def xxh64(data: Any, seed: int = 0) -> int:
    """XXH64 of a bytes-like object, bit-exact with the xxHash specification.

    ``data`` is anything that exposes the buffer protocol (bytes, bytearray,
    memoryview, array.array, NumPy arrays); its bytes are hashed in C (row-major)
    order, so a strided view hashes like its contiguous copy. ``str`` and other
    non-buffers raise TypeError; a NumPy masked array, whose buffer holds the
    values under its mask, raises ValueError. Returns an int in [0, 2**64).
    """
    seed = check_seed(seed)
    check_data(data)
    view = memoryview(data)  # TypeError for str and other non-buffers
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return _xxh64_bytes(view.cast("B"), seed)


def hash_rows(
    device_id: Sequence[int],
    timestamp: Sequence[int],
    kwh: Sequence[float],
    seed: int = 0,
) -> List[int]:
    """XXH64 fingerprint of every reading.

    Row ``i`` hashes the 20 bytes ``struct.pack("<Iqd", device_id[i],
    timestamp[i], kwh[i])`` with ``seed``; the float's raw bits are hashed, so
    NaN payloads and the sign of zero matter. Returns a list of ints in
    [0, 2**64).

    Raises ValueError for an id outside [0, 2**32), a timestamp outside the
    signed 64-bit range, or a seed outside [0, 2**64).
    """
    seed = check_seed(seed)
    ids = integer_list(device_id, "device_id")
    stamps = integer_list(timestamp, "timestamp")
    values = real_list(kwh, "kwh")
    same_length(device_id=ids, timestamp=stamps, kwh=values)
    check_range(ids, 0, UINT32_LIMIT, "device id")
    check_range(stamps, INT64_MIN, INT64_LIMIT, "timestamp")
    return [_xxh64_bytes(memoryview(_ROW.pack(*row)), seed) for row in zip(ids, stamps, values)]
