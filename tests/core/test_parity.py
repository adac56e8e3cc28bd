"""Every backend against python_ref, on the default dataset and on hand-picked edges."""

from __future__ import annotations

import math
import struct
from functools import cache
from types import ModuleType

import numpy as np
import pytest

import python_ref
from hotpath import backends, data, parity

NAN = math.nan
INF = math.inf
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U32_MAX = 2**32 - 1

# (device_id, timestamp, kwh, n_devices): small datasets that reach the corners.
EDGES = {
    "empty": ([], [], [], 1),
    "one row": ([0], [0], [1.5], 1),
    "all missing": ([0, 1, 0], [1, 2, 3], [NAN, NAN, NAN], 3),
    "all one key": ([2] * 5, [7] * 5, [1.0, 2.0, 3.0, 4.0, 5.0], 3),
    "infinities": ([0, 0, 1, 1], [1, 2, 1, 2], [INF, -INF, INF, 1.0], 2),
    "signed zeros": ([0, 0, 1, 1], [1, 2, 1, 2], [0.0, -0.0, -0.0, 0.0], 2),
    "extreme keys": (
        [U32_MAX, 0, U32_MAX, 0, U32_MAX],
        [I64_MIN, I64_MAX, I64_MIN, I64_MAX, I64_MAX],
        [5e-324, -1.7976931348623157e308, 1.7976931348623157e308, NAN, 0.1],
        None,  # ids need 2**32 devices: aggregate does not apply
    ),
    "nan payloads": (
        [1, 2, 3],
        [0, 0, 0],
        [
            struct.unpack("<d", struct.pack("<Q", bits))[0]
            for bits in (0x7FF8000000000001, 0xFFF8000000000000, 0x7FF0000000000001)
        ],
        4,
    ),
    "sums need order": ([0] * 4, [1, 2, 3, 4], [1e16, 1.0, -1e16, 1.0], 1),
}


def run(module: ModuleType, kernel: str, columns: tuple) -> object:
    ids, stamps, kwh, n_devices = columns
    if kernel == "aggregate":
        return module.aggregate(ids, kwh, n_devices)
    if kernel == "duplicates":
        return module.duplicates(ids, stamps)
    if kernel == "factorize":
        return module.factorize(ids)
    if kernel == "hash_rows":
        return module.hash_rows(ids, stamps, kwh, seed=2**64 - 1)
    if kernel == "xxh64":
        row_bytes = np.asarray(ids, np.uint32).tobytes() + np.asarray(stamps, np.int64).tobytes()
        return module.xxh64(row_bytes + np.asarray(kwh, np.float64).tobytes(), seed=42)
    raise KeyError(kernel)


@cache
def expected(name: str, kernel: str) -> object:
    return run(python_ref, kernel, _datasets()[name])


@cache
def _datasets() -> dict[str, tuple]:
    readings = data.generate()
    return {**EDGES, "default": (*readings.as_lists(), readings.n_devices)}


KERNELS = backends.KERNELS
CASES = [
    (dataset, kernel)
    for dataset in [*EDGES, "default"]
    for kernel in KERNELS
    if not (kernel == "aggregate" and dataset in EDGES and EDGES[dataset][3] is None)
]


@pytest.mark.parametrize(("dataset", "kernel"), CASES)
def test_matches_reference(accelerated: ModuleType, dataset: str, kernel: str) -> None:
    got = run(accelerated, kernel, _datasets()[dataset])
    want = expected(dataset, kernel)
    exact = backends.get(accelerated.__name__).exact
    assert parity.mismatch(kernel, got, want, exact=exact) is None


def test_default_dataset_as_arrays(accelerated: ModuleType, readings: data.Readings) -> None:
    """The benchmark's input form: canonical NumPy arrays, not lists."""
    r = readings
    exact = backends.get(accelerated.__name__).exact
    for kernel, got in (
        ("aggregate", accelerated.aggregate(r.device_id, r.kwh, r.n_devices)),
        ("duplicates", accelerated.duplicates(r.device_id, r.timestamp)),
        ("factorize", accelerated.factorize(r.device_id)),
        ("hash_rows", accelerated.hash_rows(r.device_id, r.timestamp, r.kwh, seed=2**64 - 1)),
    ):
        want = expected("default", kernel)
        assert parity.mismatch(kernel, got, want, exact=exact) is None, kernel


def test_result_types(accelerated: ModuleType, readings: data.Readings) -> None:
    r = readings
    count, total, minimum, maximum = accelerated.aggregate(r.device_id, r.kwh, r.n_devices)
    assert [a.dtype for a in (count, total, minimum, maximum)] == [np.int64] + [np.float64] * 3
    assert all(len(a) == r.n_devices for a in (count, total, minimum, maximum))
    marks = accelerated.duplicates(r.device_id, r.timestamp)
    assert isinstance(marks, np.ndarray) and marks.dtype == np.bool_
    hashes = accelerated.hash_rows(r.device_id, r.timestamp, r.kwh)
    assert isinstance(hashes, np.ndarray) and hashes.dtype == np.uint64
    assert type(accelerated.xxh64(b"abc")) is int
    codes, uniques = accelerated.factorize(r.device_id)
    assert [type(a) for a in (codes, uniques)] == [np.ndarray] * 2
    assert codes.dtype == uniques.dtype == np.uint32
    assert len(codes) == len(r) and len(uniques) == len(np.unique(r.device_id))


@cache
def _large_buffer() -> tuple[np.ndarray, int]:
    buffer = np.random.default_rng(7).integers(0, 256, 3 * 2**20 + 31, np.uint8)
    return buffer, python_ref.xxh64(buffer, 99)


def test_large_buffer_xxh64(accelerated: ModuleType) -> None:
    """Several MiB through every code path of the stripe loop, against python_ref."""
    buffer, want = _large_buffer()
    assert accelerated.xxh64(buffer, 99) == want


def test_mismatch_compares_floats_by_bits() -> None:
    """What parity.mismatch itself promises: bits, except where NaN has no payload."""
    payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
    want = ([1, 0], [0.0, 0.0], [0.0, NAN], [0.0, NAN])
    assert (
        parity.mismatch("aggregate", ([1, 0], [0.0, 0.0], [0.0, payload], [0.0, -NAN]), want)
        is None
    )
    for column in (1, 2, 3):  # total, minimum, maximum: -0.0 is not 0.0
        got = [list(c) for c in want]
        got[column][0] = -0.0
        assert parity.mismatch("aggregate", got, want) is not None
        # Not exact: a parallel reduction may pick either zero, and sums may round apart.
        assert parity.mismatch("aggregate", got, want, exact=False) is None
    assert parity.mismatch("aggregate", want, ([1, 0], [1e-300, 0.0], *want[2:]), exact=False)
    assert parity.mismatch("hash_rows", [2**64 - 1], [2**64 - 2]) is not None
