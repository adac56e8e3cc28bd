"""The secret key of every hash table in hotpath's native kernels, and their keyed hash.

``duplicates`` and ``factorize`` look rows up in open-addressing hash tables. With an
unkeyed hash, anyone who can choose the input (a device choosing its own timestamps) can
make every row land in one probe chain and turn a linear kernel quadratic (issue 12). So
the hash takes a 128-bit key, :data:`KEY`, drawn once per process from the operating
system's random source (``os.urandom``). ``HOTPATH_HASH_SEED=<integer>`` in the
environment, read at import, fixes it instead -- for reproducible runs and tests, as
``PYTHONHASHSEED`` does for Python's own hashes. Results never depend on the key; only
speed may.

:func:`keyed_hash` is the hash, in pure Python: the native kernels (C, and so wasm;
Cython; Rust; Numba) compute exactly this, and each exposes it as ``keyed_hash`` in its
raw module so the tests can hold every one to this mirror. It is folded multiplication,
as in foldhash (hashbrown's default hasher) -- ``fold(a, b)`` is the 128-bit product of
two 64-bit words with its halves XORed together -- keyed in the first round:

    lo = device_id | (timestamp << 32)   (the 96-bit row as 64 + 32 bits)
    hi = timestamp >> 32                 (timestamp as its unsigned 64 bits)
    h  = fold(lo ^ k0, hi ^ k1)
    return (h ^ (h >> 32)) * FINAL (mod 2**64)

The old hashes were invertible mixes of a linear combination such as ``ts + id * P``:
their collisions (equal combinations) hold for any key merely added to them, so keying
them would not have helped. Here the whole 96-bit row enters the keyed multiply
(``(lo, hi)`` determines the row), and the product of two unknown words has no
collisions that hold whatever the key. Someone who knows the key can still craft
collisions -- ``lo == k0`` zeroes the product for every ``hi`` -- which is why the kernels
do not rely on the key alone: see README, "Security and robustness", and the fallback in
cffi_ext/src/hotpath_kernels.c. ``factorize`` hashes ``keyed_hash(id, 0, key)``.

A raw kernel takes the key as an argument of type :class:`HashKey` (never a default), so
it cannot be called without one by accident; hotpath.contract hands it :data:`KEY`.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

__all__ = ["ENV", "KEY", "HashKey", "fold", "from_seed", "keyed_hash"]

ENV = "HOTPATH_HASH_SEED"
MASK64 = (1 << 64) - 1
# The unkeyed last step's multiplier: hex digits of pi (nothing up the sleeve), odd.
FINAL = 0x13198A2E03707345


class HashKey(NamedTuple):
    """128 bits of key, as two words in [0, 2**64). Its repr hides them."""

    k0: int
    k1: int

    def __repr__(self) -> str:
        return "HashKey(<secret>)"


def from_seed(seed: int) -> HashKey:
    """The key ``HOTPATH_HASH_SEED=seed`` gives: BLAKE2b of the seed's decimal digits."""
    digest = hashlib.blake2b(str(seed).encode(), digest_size=16, person=b"hotpath-key").digest()
    return HashKey(int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little"))


def _process_key() -> HashKey:
    text = os.environ.get(ENV, "").strip()
    if text in ("", "random"):
        raw = os.urandom(16)
        return HashKey(int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little"))
    try:
        seed = int(text, 0)
    except ValueError:
        raise ValueError(f"{ENV} must be an integer or 'random', got {text!r}") from None
    if not 0 <= seed <= MASK64:
        raise ValueError(f"{ENV} must be in [0, 2**64), got {seed}")
    return from_seed(seed)


KEY: HashKey = _process_key()


def fold(a: int, b: int) -> int:
    """The 128-bit product of two 64-bit words, its high half XORed into its low half."""
    product = a * b
    return (product ^ (product >> 64)) & MASK64


def keyed_hash(device_id: int, timestamp: int, key: HashKey) -> int:
    """The 64-bit hash of the row ``(device_id, timestamp)`` under ``key`` (see above)."""
    stamp = timestamp & MASK64
    lo = (device_id | (stamp << 32)) & MASK64
    h = fold(lo ^ key.k0, (stamp >> 32) ^ key.k1)
    return ((h ^ (h >> 32)) * FINAL) & MASK64
