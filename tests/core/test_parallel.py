"""Every parallel variant gives the same bits whatever its thread count.

A parallel backend is also just another backend: the registry puts it through the whole
parity, oracle, property and bad-input suite. Here it runs with 1, 2 and 3 threads on inputs
where the partitioning matters -- many devices, few, one, every row a duplicate, rows shorter
than the thread count -- and must match python_ref (and so itself) bit for bit each time.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

import numpy as np
import pytest
from conftest import load_backend

import python_ref
from hotpath import backends, data, parity, threads

THREAD_COUNTS = (1, 2, 3)


def _readings(name: str) -> data.Readings:
    if name == "many devices":
        return data.generate(60_000, 20_000, seed=3)
    if name == "few devices":
        return data.generate(60_000, 3, seed=4)
    if name == "one device":
        return data.generate(40_000, 1, seed=5)
    if name == "all duplicated":
        base = data.generate(15_000, 50, seed=6)
        twice = lambda column: np.concatenate([column, column])  # noqa: E731
        return data.Readings(
            twice(base.device_id), twice(base.timestamp), twice(base.kwh)[::-1].copy(), 50
        )
    if name == "sparse ids":
        return data.with_sparse_ids(data.generate(30_000, 500, seed=7), seed=7)
    if name == "fewer rows than threads":
        return data.generate(2, 2, seed=8)
    raise KeyError(name)


DATASETS = (
    "many devices",
    "few devices",
    "one device",
    "all duplicated",
    "sparse ids",
    "fewer rows than threads",
)


SPARSE_DEVICES = 1 << 20


def _aggregate_ids(r: data.Readings) -> tuple[np.ndarray, int]:
    """The ids aggregate sees and its n_devices: sparse ids (up to 2**32) folded into a million
    devices, most of them empty -- one output per possible id would take 32 GiB."""
    ids = (
        r.device_id
        if len(r.device_id) == 0 or r.device_id.max() < SPARSE_DEVICES
        else (r.device_id % SPARSE_DEVICES)
    )
    return ids, int(ids.max()) + 1 if len(ids) else 1


@cache
def _expected(dataset: str) -> dict[str, object]:
    r = _readings(dataset)
    ids, n_devices = _aggregate_ids(r)
    return {
        "aggregate": python_ref.aggregate(ids.tolist(), r.kwh.tolist(), n_devices),
        "duplicates": python_ref.duplicates(r.device_id.tolist(), r.timestamp.tolist()),
        "hash_rows": python_ref.hash_rows(
            r.device_id.tolist(), r.timestamp.tolist(), r.kwh.tolist(), 7
        ),
        "factorize": python_ref.factorize(r.device_id.tolist()),
    }


def _call(module: ModuleType, kernel: str, r: data.Readings) -> object:
    if kernel == "aggregate":
        ids, n_devices = _aggregate_ids(r)
        return module.aggregate(ids, r.kwh, n_devices)
    if kernel == "duplicates":
        return module.duplicates(r.device_id, r.timestamp)
    if kernel == "hash_rows":
        return module.hash_rows(r.device_id, r.timestamp, r.kwh, 7)
    return module.factorize(r.device_id)


@pytest.fixture(params=[backend.name for backend in backends.parallel()])
def parallel_backend(request: pytest.FixtureRequest) -> ModuleType:
    return load_backend(request.param)


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("kernel", ("aggregate", "duplicates", "hash_rows", "factorize"))
def test_same_bits_for_every_thread_count(
    parallel_backend: ModuleType, kernel: str, dataset: str
) -> None:
    r = _readings(dataset)
    for count in THREAD_COUNTS:
        with threads.using(count):
            got = _call(parallel_backend, kernel, r)
        problem = parity.mismatch(kernel, got, _expected(dataset)[kernel])
        assert problem is None, f"{count} threads, {dataset}: {problem}"


def test_every_parallel_variant_names_a_registered_sequential_backend() -> None:
    for backend in backends.parallel():
        sequential = backends.get(backend.parallel_of)
        assert not sequential.parallel, backend.name
        assert backend.name.startswith(f"{sequential.name}."), (
            f"{backend.name} lives outside its technology's folder {sequential.name}/"
        )


def test_thread_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(threads.ENV, "0")
    with pytest.raises(ValueError, match="HOTPATH_THREADS='0'"):
        threads.count()
    monkeypatch.setenv(threads.ENV, "two")
    with pytest.raises(ValueError, match="positive whole number"):
        threads.count()
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.count() == 3
    monkeypatch.delenv(threads.ENV)
    assert threads.count() == threads.available() >= 1
