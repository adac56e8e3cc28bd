"""Every backend's raw kernels raise what hotpath.rawchecks raises -- the same exception type
and message -- for each kind of bad argument, one at a time.

tests/core/test_raw_kernels.py makes sure no bad call crashes (any TypeError or ValueError will
do there); this holds the backends to the rule itself. The differential fuzzer
(fuzz/differential.py, raw mode) found cython_ext raising ValueError for a strided array and
OverflowError for a negative seed, and rust_ext TypeError for a read-only or overlapping
output and OverflowError for a seed outside [0, 2**64): regressions of those.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import numpy as np
import pytest
from conftest import load_backend

from hotpath import backends, rawchecks
from hotpath.hashkey import HashKey

WITH_RAW = [backend.name for backend in backends.BACKENDS if backend.raw]
KEY = HashKey(1, 2)


def _rows(n: int = 4) -> dict[str, np.ndarray]:
    return {
        "ids": np.arange(n, dtype=np.uint32) % 2,
        "ts": np.zeros(n, np.int64),
        "kwh": np.ones(n),
        "out_u64": np.zeros(n, np.uint64),
        "out_bool": np.zeros(n, np.bool_),
        "u32": np.zeros(n, np.uint32),
    }


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# (kernel, arguments): each call has exactly one fault.
CALLS: dict[str, Callable[[], tuple[str, tuple[Any, ...]]]] = {
    "xxh64 of a strided array": lambda: ("xxh64", (np.zeros(8, np.uint8)[::2], 0)),
    "xxh64 of a 2-D array": lambda: ("xxh64", (np.zeros((2, 2), np.uint8), 0)),
    "xxh64 of int32": lambda: ("xxh64", (np.zeros(4, np.int32), 0)),
    "xxh64 with seed -1": lambda: ("xxh64", (np.zeros(4, np.uint8), -1)),
    "xxh64 with seed 2**64": lambda: ("xxh64", (np.zeros(4, np.uint8), 2**64)),
    "xxh64 with a float seed": lambda: ("xxh64", (np.zeros(4, np.uint8), 1.5)),
    "hash_rows_into with seed -1": lambda: (
        "hash_rows_into",
        ((r := _rows())["ids"], r["ts"], r["kwh"], -1, r["out_u64"]),
    ),
    "hash_rows_into into a read-only out": lambda: (
        "hash_rows_into",
        ((r := _rows())["ids"], r["ts"], r["kwh"], 0, _read_only(r["out_u64"])),
    ),
    "hash_rows_into, out over timestamp": lambda: (
        "hash_rows_into",
        ((r := _rows())["ids"], r["ts"], r["kwh"], 0, r["ts"].view(np.uint64)),
    ),
    "duplicates_into into a read-only out": lambda: (
        "duplicates_into",
        ((r := _rows())["ids"], r["ts"], KEY, _read_only(r["out_bool"])),
    ),
    "duplicates_into, out over device_id": lambda: (
        "duplicates_into",
        ((r := _rows())["ids"], r["ts"], KEY, r["ids"].view(np.bool_)[:4]),
    ),
    "duplicates_into with strided ids": lambda: (
        "duplicates_into",
        (np.zeros(8, np.uint32)[::2], (r := _rows())["ts"], KEY, r["out_bool"]),
    ),
    "factorize_into, codes over device_id": lambda: (
        "factorize_into",
        ((r := _rows())["ids"], KEY, r["ids"], r["u32"]),
    ),
    "factorize_into into read-only uniques": lambda: (
        "factorize_into",
        ((r := _rows())["ids"], KEY, r["u32"], _read_only(np.zeros(4, np.uint32))),
    ),
    "factorize_into with int64 ids": lambda: (
        "factorize_into",
        (np.zeros(4, np.int64), KEY, np.zeros(4, np.uint32), np.zeros(4, np.uint32)),
    ),
    "aggregate_into, total over kwh": lambda: (
        "aggregate_into",
        (
            (r := _rows())["ids"],
            r["kwh"],
            np.zeros(2, np.int64),
            r["kwh"][:2],
            np.zeros(2),
            np.zeros(2),
        ),
    ),
    "aggregate_into into a read-only minimum": lambda: (
        "aggregate_into",
        (
            (r := _rows())["ids"],
            r["kwh"],
            np.zeros(2, np.int64),
            np.zeros(2),
            _read_only(np.zeros(2)),
            np.zeros(2),
        ),
    ),
    "aggregate_into with a list of ids": lambda: (
        "aggregate_into",
        ([0, 1, 0, 1], np.ones(4), np.zeros(2, np.int64), np.zeros(2), np.zeros(2), np.zeros(2)),
    ),
}


@pytest.mark.parametrize("name", WITH_RAW)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_raw_kernel_raises_what_rawchecks_raises(name: str, call: str) -> None:
    load_backend(name)  # skips an optional backend that is not built
    raw = importlib.import_module(backends.get(name).raw)
    kernel, args = CALLS[call]()
    with pytest.raises((TypeError, ValueError)) as want:
        getattr(rawchecks, kernel)(*args)
    kernel, args = CALLS[call]()  # fresh arrays
    with pytest.raises(type(want.value)) as got:
        getattr(raw, kernel)(*args)
    assert type(got.value) is type(want.value)  # not a subclass (OverflowError is not one)
    assert str(got.value) == str(want.value)
