"""Concurrent calls on shared inputs give the answers of sequential calls, on every backend.

The native kernels release the GIL and keep their scratch memory per call (wasm_ext shares
one instance behind a lock); nothing may leak between calls running at once. Eight threads
call every function many times, interleaved, on the same input arrays; every answer is
compared, bit for bit, with the one a single thread got before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, Callable

import numpy as np

from hotpath import backends, crafted, data, hashkey, parity

THREADS = 8
ROUNDS = 6  # calls of every function per thread


def _calls(readings: data.Readings) -> dict[str, tuple[str, Callable[[ModuleType], Any]]]:
    """Each call's kernel and the call itself; inputs are built once and shared by all."""
    r = readings
    buffer = np.random.default_rng(3).integers(0, 256, 300_001, np.uint8)
    bad_ids, bad_stamps = crafted.against_known_key(hashkey.KEY, 3000)  # the fallback sort
    ids = np.concatenate([r.device_id, bad_ids])
    stamps = np.concatenate([r.timestamp, bad_stamps, bad_stamps[:500]])[: len(ids)]
    return {
        "aggregate": ("aggregate", lambda m: m.aggregate(r.device_id, r.kwh, r.n_devices)),
        "duplicates": ("duplicates", lambda m: m.duplicates(r.device_id, r.timestamp)),
        "duplicates, crafted": ("duplicates", lambda m: m.duplicates(ids, stamps)),
        "xxh64": ("xxh64", lambda m: m.xxh64(buffer, 12345)),
        "hash_rows": ("hash_rows", lambda m: m.hash_rows(r.device_id, r.timestamp, r.kwh, 9)),
        "factorize": ("factorize", lambda m: m.factorize(r.device_id)),
    }


def test_concurrent_calls_match_sequential(backend: ModuleType) -> None:
    readings = data.generate(20_000 if backend.__name__ != backends.REFERENCE else 2_000)
    calls = _calls(readings)
    sequential = {name: call(backend) for name, (_, call) in calls.items()}
    jobs = [name for _ in range(ROUNDS * THREADS) for name in calls]
    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(lambda name: (name, calls[name][1](backend)), jobs))
    exact = backends.get(backend.__name__).exact
    for name, got in answers:
        kernel = calls[name][0]
        assert parity.mismatch(kernel, got, sequential[name], exact=exact) is None, name
