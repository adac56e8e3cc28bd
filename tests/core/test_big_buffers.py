"""xxh64 of a buffer larger than 4 GiB matches the ``xxhash`` package, on every backend whose
code can take one (HOTPATH_BIG_TESTS=1: ~1 s of hashing per backend).

The buffer is an anonymous private memory map of 4 GiB + 17 bytes: pages never written read
as the kernel's shared zero page, so it costs a few pages of memory, not 4 GiB. A few bytes
are set at its start, on both sides of the 4 GiB boundary (where a 32-bit length or offset
would wrap) and in the 17-byte tail that takes the spec's 8-, 4- and 1-byte steps.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from types import ModuleType

import numpy as np
import pytest

from hotpath import backends

BIG = os.environ.get("HOTPATH_BIG_TESTS") == "1"
SIZE = 2**32 + 17
SEED = 2**63 + 12345

# Too slow on 4 GiB to be worth the minutes: pure-Python loops over every 32-byte stripe.
TOO_SLOW = {
    backends.REFERENCE: "pure Python: about an hour for 4 GiB",
    "numpy_impl": "NumPy loops over stripes in Python: about an hour for 4 GiB",
}

pytestmark = pytest.mark.skipif(not BIG, reason="4 GiB of hashing: HOTPATH_BIG_TESTS=1 runs it")


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[mmap.mmap, int, int]]:
    xxhash = pytest.importorskip("xxhash", reason="the xxhash package is the oracle here")
    try:
        buffer = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, OverflowError) as error:  # a 32-bit host, or no address space
        pytest.skip(f"cannot map {SIZE} bytes: {error}")
    for at, value in [
        (0, 1),
        (5, 0xFF),
        (2**31, 7),
        (2**32 - 1, 0x80),
        (2**32, 3),
        (2**32 + 3, 0x5A),
        (SIZE - 9, 0x11),
        (SIZE - 1, 0xEE),
    ]:
        buffer[at] = value
    whole = xxhash.xxh64_intdigest(buffer, SEED)
    from_1 = xxhash.xxh64_intdigest(memoryview(buffer)[1:], 0)  # every stripe load misaligned
    yield buffer, whole, from_1
    buffer.close()


def test_xxh64_beyond_4_gib(backend: ModuleType, big: tuple[mmap.mmap, int, int]) -> None:
    name = backend.__name__
    if name in TOO_SLOW:
        pytest.skip(TOO_SLOW[name])
    buffer, want, want_from_1 = big
    if name == "wasm_ext":  # wasm32's linear memory holds at most 4 GiB in all
        with pytest.raises(MemoryError):
            backend.xxh64(buffer, SEED)
        return
    assert backend.xxh64(buffer, SEED) == want
    assert backend.xxh64(np.frombuffer(buffer, np.uint8)[1:], 0) == want_from_1
