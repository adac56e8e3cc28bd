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
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from hotpath import rawchecks
from hotpath.hashkey import HashKey

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


# -- the keyed hash and the worst-case bound (cffi_ext/src/hotpath_kernels.c explains both;
# hotpath.hashkey.keyed_hash is the pure-Python mirror) ----------------------------------------

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
FINAL = np.uint64(0x13198A2E03707345)
RUN_LIMIT = 128  # a row passing more occupied slots than this gives the table up
_RADIX_BITS = 11  # the fallback sort: 9 digits of 11 bits over (ts: 64 bits, id: 32 bits)
_RADIX_SIZE = 1 << _RADIX_BITS
_DIGITS = 9


@intrinsic
def _fold(typingctx, a, b):
    """The 128-bit product of two uint64s with its halves XORed. Numba has no 128-bit integer
    type, but LLVM does: written in IR, it is one 64 x 64 -> 128-bit multiply (four 32-bit
    products in Python-level Numba made duplicates 2.5x slower)."""
    signature = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, sig, args):
        wide, word = ir.IntType(128), ir.IntType(64)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        high = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), word)
        return builder.xor(builder.trunc(product, word), high)

    return signature, codegen


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading ``array[index]`` for writing (LLVM's prefetch: a hint that
    never faults). Numba has no prefetch of its own; without it every probe of a table larger
    than the caches waits for its own cache miss."""

    def codegen(context, builder, sig, args):
        array_type, index_type = sig.args
        array = context.make_array(array_type)(context, builder, args[0])
        index = context.cast(builder, args[1], index_type, types.intp)
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, array, [index], wraparound=False, boundscheck=False
        )
        i32 = ir.IntType(32)
        if getattr(pointer.type, "is_opaque", False):
            name = "llvm.prefetch.p0"
        else:  # LLVM of typed pointers
            pointer, name = (
                builder.bitcast(pointer, ir.IntType(8).as_pointer()),
                "llvm.prefetch.p0i8",
            )
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]), name
        )
        # write, keep in all cache levels, data cache
        builder.call(
            function, [pointer, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)]
        )
        return context.get_dummy_value()

    return types.void(array, index), codegen


_AHEAD = 16  # rows of look-ahead (a power of two): their slots load while this row probes


@_jit
def _keyed_hash(device, stamp, k0, k1):
    t = np.uint64(stamp)
    h = _fold((np.uint64(device) | (t << _S32)) ^ k0, (t >> _S32) ^ k1)
    return (h ^ (h >> _S32)) * FINAL


@_jit
def _digit(ts, device, d):
    if d < 6:
        return int((ts >> np.uint64(_RADIX_BITS * d)) & np.uint64(_RADIX_SIZE - 1))
    return int((np.uint64(device) >> np.uint64(_RADIX_BITS * (d - 6))) & np.uint64(_RADIX_SIZE - 1))


@_jit
def _radix_sort(ts, ids, rows):
    """(ts, ids, rows) sorted by (id, ts), stably (LSD radix): equal keys end up adjacent, in
    their original order. Only the digits in which some records differ are counted and passed
    over."""
    m = len(ts)
    ts_or, ts_and = np.uint64(0), ~np.uint64(0)
    id_or, id_and = np.uint32(0), ~np.uint32(0)
    for i in range(m):
        ts_or |= ts[i]
        ts_and &= ts[i]
        id_or |= ids[i]
        id_and &= ids[i]
    active = [d for d in range(_DIGITS) if _digit(ts_or ^ ts_and, id_or ^ id_and, d) != 0]
    hist = np.zeros((_DIGITS, _RADIX_SIZE), np.int64)
    for i in range(m):
        for d in active:
            hist[d, _digit(ts[i], ids[i], d)] += 1
    ts2, ids2, rows2 = np.empty_like(ts), np.empty_like(ids), np.empty_like(rows)
    for d in active:
        total = 0
        for b in range(_RADIX_SIZE):
            count = hist[d, b]
            hist[d, b] = total
            total += count
        for i in range(m):
            b = _digit(ts[i], ids[i], d)
            j = hist[d, b]
            hist[d, b] = j + 1
            ts2[j], ids2[j], rows2[j] = ts[i], ids[i], rows[i]
        ts, ts2 = ts2, ts
        ids, ids2 = ids2, ids
        rows, rows2 = rows2, rows
    return ts, ids, rows


@_jit
def _dedup_sorted(device_id, timestamp, out):
    ts, ids, rows = _radix_sort(
        timestamp.view(np.uint64).copy(), device_id.copy(), np.arange(len(device_id))
    )
    for k in range(len(ts)):
        out[rows[k]] = k > 0 and ids[k] == ids[k - 1] and ts[k] == ts[k - 1]


@_jit
def _duplicates_into(device_id, timestamp, k0, k1, out):
    n = len(device_id)
    capacity = 16
    while capacity < 2 * n:
        capacity *= 2
    mask = np.uint64(capacity - 1)
    # Open addressing with linear probing; a slot holds the timestamp and the
    # device id plus one (0 marks an empty slot), so no key needs a sentinel.
    stamps = np.empty(capacity, np.int64)
    tags = np.zeros(capacity, np.uint64)
    budget = 4 * n + 1024
    probes = 0
    gave_up = False
    # The hashes of the next _AHEAD rows wait in a ring, their slots prefetched.
    ring = np.empty(_AHEAD, np.uint64)
    for i in range(min(n, _AHEAD)):
        ring[i] = _keyed_hash(device_id[i], timestamp[i], k0, k1)
        _prefetch(tags, ring[i] & mask)
    for i in range(n):
        stamp = timestamp[i]
        tag = np.uint64(device_id[i]) + np.uint64(1)
        slot = ring[i % _AHEAD] & mask
        if i + _AHEAD < n:
            ahead = _keyed_hash(device_id[i + _AHEAD], timestamp[i + _AHEAD], k0, k1)
            ring[i % _AHEAD] = ahead
            _prefetch(tags, ahead & mask)
        run = 0
        while True:
            if tags[slot] == _EMPTY:
                tags[slot] = tag
                stamps[slot] = stamp
                out[i] = False
                break
            if tags[slot] == tag and stamps[slot] == stamp:
                out[i] = True
                break
            run += 1
            if run > RUN_LIMIT:
                gave_up = True
                break
            slot = (slot + np.uint64(1)) & mask
        probes += run
        if gave_up or probes > budget:
            gave_up = True
            break
    if gave_up:  # past the bound: every mark again, from a sort
        _dedup_sorted(device_id, timestamp, out)
    return probes, 1 if gave_up else 0


@_jit
def _factorize_sorted(device_id, codes, uniques):
    _, ids, rows = _radix_sort(
        np.zeros(len(device_id), np.uint64), device_id.copy(), np.arange(len(device_id))
    )
    lead = np.empty(len(device_id), np.int64)  # lead[row]: the first row with row's id
    first = 0
    for k in range(len(ids)):
        if k == 0 or ids[k] != ids[k - 1]:
            first = rows[k]
        lead[rows[k]] = first
    found = 0
    for i in range(len(device_id)):
        if lead[i] == i:  # a first appearance: the next code
            uniques[found] = device_id[i]
            codes[i] = found
            found += 1
        else:
            codes[i] = codes[lead[i]]
    return found


@_jit
def _factorize_table(uniques, found, capacity, k0, k1):
    """(table, probes, gave_up): a table of ``capacity`` slots holding the codes of
    uniques[:found]; gave_up once one id passes the run limit."""
    table = np.zeros(capacity, np.uint64)
    mask = np.uint64(capacity - 1)
    probes = 0
    for code in range(found):
        slot = _keyed_hash(uniques[code], np.int64(0), k0, k1) & mask
        run = 0
        while table[slot] != _EMPTY:  # the ids are distinct: only a free slot ends the chain
            run += 1
            if run > RUN_LIMIT:
                return table, probes + run, True
            slot = (slot + np.uint64(1)) & mask
        probes += run
        table[slot] = (np.uint64(uniques[code]) << _S32) | np.uint64(code + 1)
    return table, probes, False


@_jit
def _factorize_into(device_id, k0, k1, codes, uniques):
    # One table of ids; a slot is id << 32 | (code + 1), 0 when empty. code + 1 fits in 32 bits
    # for n < 2**32 rows; larger inputs take the sort. The table starts at 16 slots and doubles,
    # rebuilt from uniques, whenever the ids pass an eighth of it (never beyond the smallest
    # power of two >= 2n): its size, and what is zeroed, follows the ids, not the rows. Load
    # 1/8 rather than 1/2: with few ids, half the lookups would probe twice and mispredict.
    n = len(device_id)
    if n == 0:
        return 0, 0, 0
    probes = 0
    if n < (1 << 32):
        max_capacity = 16
        while max_capacity < 2 * n:
            max_capacity *= 2
        table = np.zeros(16, np.uint64)
        mask = np.uint64(15)
        budget = 4 * n + 1024
        found = 0
        gave_up = False
        for i in range(n):
            device = device_id[i]
            slot = _keyed_hash(device, np.int64(0), k0, k1) & mask
            run = 0
            while True:
                entry = table[slot]
                if entry == _EMPTY:
                    table[slot] = (np.uint64(device) << _S32) | np.uint64(found + 1)
                    uniques[found] = device
                    codes[i] = found
                    found += 1
                    break
                if np.uint32(entry >> _S32) == device:
                    codes[i] = np.uint32(entry & _M32) - np.uint32(1)
                    break
                run += 1
                if run > RUN_LIMIT:
                    gave_up = True
                    break
                slot = (slot + np.uint64(1)) & mask
            probes += run
            if not gave_up and 8 * found > len(table) and len(table) < max_capacity:
                table, more, gave_up = _factorize_table(uniques, found, 2 * len(table), k0, k1)
                probes += more
                mask = np.uint64(len(table) - 1)
            if gave_up or probes > budget:
                gave_up = True
                break
        if not gave_up:
            return found, probes, 0
    return _factorize_sorted(device_id, codes, uniques), probes, 1


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


def duplicates_into(
    device_id: np.ndarray, timestamp: np.ndarray, key: HashKey, out: np.ndarray
) -> tuple[int, int]:
    k0, k1 = rawchecks.duplicates_into(device_id, timestamp, key, out)
    probes, fallbacks = _duplicates_into(device_id, timestamp, np.uint64(k0), np.uint64(k1), out)
    return int(probes), int(fallbacks)


def factorize_into(
    device_id: np.ndarray, key: HashKey, codes: np.ndarray, uniques: np.ndarray
) -> tuple[int, int, int]:
    k0, k1 = rawchecks.factorize_into(device_id, key, codes, uniques)
    found, probes, fallbacks = _factorize_into(
        device_id, np.uint64(k0), np.uint64(k1), codes, uniques
    )
    return int(found), int(probes), int(fallbacks)


def keyed_hash(device_id: int, timestamp: int, key: HashKey) -> int:
    """The 64-bit hash this module's tables use (hotpath.hashkey.keyed_hash mirrors it)."""
    k0, k1 = rawchecks.hash_key("keyed_hash", key)
    h = _keyed_hash(np.uint32(device_id), np.int64(timestamp), np.uint64(k0), np.uint64(k1))
    return int(h)


# Numba types a Python int by its value (int64, or an error past 2**63), so the
# seed crosses as an explicit uint64.
def xxh64(data: np.ndarray, seed: int) -> int:
    return int(_xxh64(data, np.uint64(rawchecks.xxh64(data, seed))))


def hash_rows_into(
    device_id: np.ndarray, timestamp: np.ndarray, kwh: np.ndarray, seed: int, out: np.ndarray
) -> None:
    seed = rawchecks.hash_rows_into(device_id, timestamp, kwh, seed, out)
    _hash_rows_into(device_id, timestamp, kwh, np.uint64(seed), out)
