"""Hostile inputs for the hash tables: keys crafted to collide, for the tests and the benchmark.

Three attacks, each a pair of columns ``(device_id, timestamp)`` or an id column:

- :func:`against_old_hashes`: issue 12's attack on the unkeyed hashes the native
  ``duplicates`` kernels used before keyed hashing (ids 0..n-1, timestamps solved so that
  every row's hash is the same). Against today's keyed hash they are ordinary keys.
- :func:`against_known_key`: rows that collide in :func:`hotpath.hashkey.keyed_hash` under a
  key the attacker knows (``lo == k0`` zeroes the keyed product: one device, any number of
  timestamps), so every row lands in one probe chain of every backend's table. Only the
  probe bound keeps a call linear then.
- :func:`ids_against_known_key`: distinct ids whose factorize slots collide under a known key,
  found by brute force (factorize hashes 32 bits, too few for the zero-product trick).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotpath.hashkey import FINAL, HashKey

__all__ = [
    "OLD_HASHES",
    "against_known_key",
    "against_old_hashes",
    "ids_against_known_key",
    "keyed_hashes",
]

_P1 = 0x9E3779B185EBCA87  # XXH64's primes, as the old C and Numba hashes used them
_P2 = 0xC2B2AE3D27D4EB4F
_GOLDEN = 0x9E3779B97F4A7C15  # the old Cython and Rust hashes' multiplier
_TARGET = 0x0123456789ABCDEF  # what every crafted row's old hash input becomes
_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)


def _inverse(odd: int) -> int:
    return pow(odd, -1, 1 << 64)


def _old_cffi(ids: np.ndarray) -> np.ndarray:  # x = ts + id * P2, then a bijective mix
    return np.uint64(_TARGET) - ids * np.uint64(_P2)


def _old_cython(ids: np.ndarray) -> np.ndarray:  # k = ts * GOLDEN + id, then fmix64
    return (np.uint64(_TARGET) - ids) * np.uint64(_inverse(_GOLDEN))


def _old_rust(ids: np.ndarray) -> np.ndarray:  # x = ts * GOLDEN ^ id, then a folded multiply
    return (np.uint64(_TARGET) ^ ids) * np.uint64(_inverse(_GOLDEN))


def _old_numba(ids: np.ndarray) -> np.ndarray:  # h = (ts ^ id << 32) * P1 ^ id * P2
    return ((np.uint64(_TARGET) ^ (ids * np.uint64(_P2))) * np.uint64(_inverse(_P1))) ^ (
        ids << _S32
    )


# Each native backend's old duplicates hash, solved for the timestamp (wasm_ext ran cffi_ext's C).
OLD_HASHES = {
    "cffi_ext": _old_cffi,
    "wasm_ext": _old_cffi,
    "cython_ext": _old_cython,
    "rust_ext": _old_rust,
    "numba_impl": _old_numba,
}


def against_old_hashes(
    backend: str, n: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """``n`` distinct rows, ids 0..n-1, that all had one hash in ``backend``'s old, unkeyed
    duplicates table (issue 12's attack)."""
    ids = np.arange(n, dtype=np.uint64)
    return ids.astype(np.uint32), OLD_HASHES[backend](ids).view(np.int64)


def against_known_key(
    key: HashKey, n: int, first: int = 0
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """``n`` distinct rows with one and the same keyed hash under ``key``: the id and the low
    half of the timestamp spell ``k0`` (so the keyed product is 0), the timestamp's high half
    counts from ``first``. One device choosing its timestamps can send them."""
    ids = np.full(n, key.k0 & 0xFFFFFFFF, np.uint32)
    high = np.arange(first, first + n, dtype=np.uint64) << _S32
    return ids, (np.uint64(key.k0 >> 32) | high).view(np.int64)


def _fold(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """hotpath.hashkey.fold on uint64 arrays (wrapping modulo 2**64), from four 32-bit
    products."""
    a0, a1, b0, b1 = a & _M32, a >> _S32, b & _M32, b >> _S32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    return ((mid << _S32) | (p00 & _M32)) ^ (p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32))


def keyed_hashes(device_id: np.ndarray, timestamp: np.ndarray, key: HashKey) -> np.ndarray:
    """:func:`hotpath.hashkey.keyed_hash` of every row, vectorized (uint64)."""
    ids = np.asarray(device_id).astype(np.uint64)
    stamps = np.broadcast_to(np.asarray(timestamp, np.int64), ids.shape).view(np.uint64)
    h = _fold((ids | (stamps << _S32)) ^ np.uint64(key.k0), (stamps >> _S32) ^ np.uint64(key.k1))
    return (h ^ (h >> _S32)) * np.uint64(FINAL)


def ids_against_known_key(key: HashKey, count: int, bits: int) -> npt.NDArray[np.uint32]:
    """``count`` distinct ids whose factorize hashes (``keyed_hash(id, 0, key)``) agree in
    their low ``bits`` bits, the slot of a table of ``2**bits`` slots: about
    ``count * 2**bits`` hashes of brute force."""
    mask = np.uint64((1 << bits) - 1)
    found: list[np.ndarray] = []
    target = None
    start, chunk = 0, 1 << 20
    while sum(len(f) for f in found) < count:
        if start >= 1 << 32:
            raise ValueError(f"fewer than {count} ids share a {bits}-bit slot")
        ids = np.arange(start, min(start + chunk, 1 << 32), dtype=np.uint64)
        slots = keyed_hashes(ids, np.zeros(1, np.int64), key) & mask
        if target is None:
            target = slots[0]
        found.append(ids[slots == target])
        start += chunk
    return np.concatenate(found)[:count].astype(np.uint32)
