"""No backend leaks memory, on valid input or on input it refuses (HOTPATH_BIG_TESTS=1).

Every public function of every backend is called 10**5 times on small inputs, cycling through
valid calls, a duplicates call whose crafted keys take the fallback sort (its own scratch
memory), and calls that raise (the contract's checks and the kernels' own: an id beyond
n_devices is found inside the native loop). After a warm-up that lets allocators and caches
reach their steady size, the process's resident memory may grow by at most GROWTH_BOUND over
the 10**5 calls: a leak of GROWTH_BOUND / 10**5 (~21) bytes a call or more fails, and a leaked
result array, exception or traceback is far more. Python-level growth is checked too: the
number of objects the garbage collector tracks may not grow (a leaked reference keeps them).
"""

from __future__ import annotations

import gc
import os
import sys
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

from hotpath import backends, crafted, hashkey

BIG = os.environ.get("HOTPATH_BIG_TESTS") == "1"
CALLS = 100_000
WARM_UP = 5_000
GROWTH_BOUND = 2 * 2**20  # bytes of resident memory over CALLS calls
OBJECT_BOUND = 100  # gc-tracked objects: the loop's own few, not one per call

pytestmark = [
    pytest.mark.skipif(not BIG, reason="10**5 calls of every function: HOTPATH_BIG_TESTS=1"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm"),
]

IDS = np.array([3, 1, 3, 0, 2, 1, 3, 3], np.uint32)
STAMPS = np.array([10, 11, 10, 12, 13, 11, 14, 10], np.int64)
KWH = np.array([0.5, 1.25, float("nan"), 2.0, -1.0, 0.0, 3.5, 1e300])
BUFFER = bytes(range(77))
BAD_IDS, BAD_STAMPS = crafted.against_known_key(hashkey.KEY, 300)  # past the probe bound


def _raises(call: Callable[[], Any], error: type[Exception]) -> None:
    try:
        call()
    except error:
        return
    raise AssertionError(f"{call} did not raise {error.__name__}")


def _variants(m: ModuleType) -> dict[str, list[Callable[[], Any]]]:
    """Per function, the calls it cycles through: valid ones first, then refused ones."""
    return {
        "aggregate": [
            lambda: m.aggregate(IDS, KWH, 4),
            lambda: m.aggregate(IDS.tolist(), KWH.tolist(), 5),
            lambda: _raises(lambda: m.aggregate(IDS, KWH, 3), ValueError),  # id 3 >= 3
            lambda: _raises(lambda: m.aggregate(IDS, KWH[:3], 4), ValueError),
        ],
        "duplicates": [
            lambda: m.duplicates(IDS, STAMPS),
            lambda: m.duplicates(BAD_IDS, BAD_STAMPS),  # the fallback sort
            lambda: _raises(lambda: m.duplicates(IDS, STAMPS[:2]), ValueError),
            lambda: _raises(lambda: m.duplicates(IDS, ["x"] * 8), TypeError),
        ],
        "xxh64": [
            lambda: m.xxh64(BUFFER, 7),
            lambda: m.xxh64(memoryview(BUFFER)[3:], 2**64 - 1),
            lambda: _raises(lambda: m.xxh64(BUFFER, -1), ValueError),
            lambda: _raises(lambda: m.xxh64("text", 0), TypeError),
        ],
        "hash_rows": [
            lambda: m.hash_rows(IDS, STAMPS, KWH, 3),
            lambda: _raises(lambda: m.hash_rows([2**32], [0], [0.0]), ValueError),
            lambda: _raises(lambda: m.hash_rows(IDS, STAMPS, KWH[:1]), ValueError),
        ],
        "factorize": [
            lambda: m.factorize(IDS),
            lambda: m.factorize(IDS.tolist()),
            lambda: _raises(lambda: m.factorize([1, -1]), ValueError),
        ],
    }


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("kernel", backends.KERNELS)
def test_memory_stays_flat(backend: ModuleType, kernel: str) -> None:
    calls = _variants(backend)[kernel]
    rounds = CALLS // len(calls)
    for i in range(WARM_UP):
        calls[i % len(calls)]()
    gc.collect()
    before, objects = _resident(), len(gc.get_objects())
    for _ in range(rounds):
        for call in calls:
            call()
    gc.collect()
    grown, more = _resident() - before, len(gc.get_objects()) - objects
    made = rounds * len(calls)
    assert more <= OBJECT_BOUND, f"{more} more objects after {made} calls"
    assert grown <= GROWTH_BOUND, f"resident memory grew {grown} bytes in {made} calls"
