"""hotpath.pools: Python's own parallel tools give python_ref's bits, sums included, at any
worker count, on inputs where the split matters."""

from __future__ import annotations

import numpy as np
import pytest

import python_ref
from hotpath import data, parity, pools

DATASETS = {
    "many devices": lambda: data.generate(6_000, 2_000, seed=1),
    "few devices": lambda: data.generate(6_000, 3, seed=2),
    "one device": lambda: data.generate(3_000, 1, seed=3),
}


def _all_duplicated() -> data.Readings:
    base = data.generate(2_000, 20, seed=4)
    twice = lambda column: np.concatenate([column, column])  # noqa: E731
    return data.Readings(twice(base.device_id), twice(base.timestamp), twice(base.kwh), 20)


DATASETS["all duplicated"] = _all_duplicated


def _check(split, r: data.Readings, lists: bool) -> None:
    ids, stamps, kwh = r.as_lists() if lists else (r.device_id, r.timestamp, r.kwh)
    py_ids, py_stamps, py_kwh = r.as_lists()
    got = split.aggregate(ids, kwh, r.n_devices)
    want = python_ref.aggregate(py_ids, py_kwh, r.n_devices)
    assert parity.mismatch("aggregate", got, want) is None
    got = split.duplicates(ids, stamps)
    assert parity.mismatch("duplicates", got, python_ref.duplicates(py_ids, py_stamps)) is None
    got = split.hash_rows(ids, stamps, kwh, 5)
    assert (
        parity.mismatch("hash_rows", got, python_ref.hash_rows(py_ids, py_stamps, py_kwh, 5))
        is None
    )


@pytest.mark.parametrize("workers", (1, 2, 3))
def test_thread_pools_are_exact(workers: int) -> None:
    import cffi_ext

    for make in DATASETS.values():
        r = make()
        for split, stop, lists in (
            (*pools.thread_pool(workers), True),
            (*pools.compiled_thread_pool(cffi_ext, workers), False),
        ):
            try:
                _check(split, r, lists)
            finally:
                stop()


def test_process_pool_is_exact_and_reports_its_transfer() -> None:
    split, stop = pools.process_pool(2)
    try:
        for make in DATASETS.values():
            _check(split, make(), True)
        ids, stamps, kwh = data.generate(1_000, 10, seed=5).as_lists()
        assert split.transfer("aggregate", ids, kwh) == 2_000  # the whole columns to each
        assert split.transfer("hash_rows", ids, stamps, kwh) == 1_000  # one range each
    finally:
        stop()


def test_bad_input_gets_python_refs_error() -> None:
    split, stop = pools.thread_pool(2)
    try:
        ids = [*range(100), 7, 300, 5, 400]
        with pytest.raises(ValueError, match=r"device id 300 outside \[0, 100\)"):
            split.aggregate(ids, [1.0] * len(ids), 100)
    finally:
        stop()


def test_free_threaded_row_says_why_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert pools.free_threaded() is None
    assert "python3.14t" in pools.why_no_free_threaded()


def test_the_drivers_thread_pool_gives_python_refs_answers(tmp_path) -> None:
    """hotpath.runs.driver --threads (the free-threaded row's mode), here under the GIL."""
    from hotpath.runs import driver

    path = tmp_path / "readings.csv"
    data.generate(3_000, 40, seed=6).to_csv(path)
    kernels = ["aggregate", "duplicates", "hash_rows"]
    plain = driver.run(str(path), None, 1, kernels)
    pooled = driver.run(str(path), None, 1, kernels, threads=3)
    assert pooled["threads"] == 3
    for kernel in kernels:
        assert pooled["kernels"][kernel]["checksums"] == plain["kernels"][kernel]["checksums"]
