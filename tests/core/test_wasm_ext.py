"""What only the wasm_ext backend has: staged calls, linear-memory limits, traps, threads.

The contract itself (parity, oracles, bad input) is checked for wasm_ext by the
suite's registry-parametrized tests like every other backend's.
"""

from __future__ import annotations

import threading
from types import ModuleType

import numpy as np
import pytest
from conftest import load_backend

import cffi_ext
from hotpath import data, parity


@pytest.fixture(scope="module")
def wasm() -> ModuleType:
    return load_backend("wasm_ext")  # skipped, with the reason, without the toolchain


@pytest.fixture(scope="module")
def small() -> data.Readings:
    return data.generate(5_000, 50)


def _raw_arguments(kernel: str, r: data.Readings) -> tuple:
    return {
        "aggregate": (r.device_id, r.kwh, r.n_devices),
        "duplicates": (r.device_id, r.timestamp),
        "hash_rows": (r.device_id, r.timestamp, r.kwh, 2**64 - 1),
        "xxh64": (r.kwh.view(np.uint8), 2**63),
    }[kernel]


@pytest.mark.parametrize("kernel", ["aggregate", "duplicates", "hash_rows", "xxh64"])
def test_staged_call_matches_public_function(
    wasm: ModuleType, small: data.Readings, kernel: str
) -> None:
    args = _raw_arguments(kernel, small)
    expected = getattr(cffi_ext, kernel)(*args)
    with wasm.stage(kernel, *args) as staged:
        for _ in range(2):  # a staged call can be run again
            got = staged.run().result()
            assert parity.mismatch(kernel, got, expected, exact=True) is None


def test_repeated_calls_reuse_linear_memory(wasm: ModuleType, small: data.Readings) -> None:
    from wasm_ext import _raw

    wasm.hash_rows(small.device_id, small.timestamp, small.kwh)
    wasm.duplicates(small.device_id, small.timestamp)
    instance = _raw._instance()
    size = instance.memory.data_len(instance.store)
    for _ in range(20):
        wasm.hash_rows(small.device_id, small.timestamp, small.kwh)
        wasm.duplicates(small.device_id, small.timestamp)
    assert instance.memory.data_len(instance.store) == size


def test_input_beyond_wasm32_memory_is_memory_error(wasm: ModuleType) -> None:
    # 4 outputs x 8 bytes x 2**27 devices = 4 GiB: more than wasm32 can address
    with pytest.raises(MemoryError, match="wasm32"):
        wasm.stage("aggregate", np.zeros(1, np.uint32), np.ones(1), 2**27)
    assert wasm.xxh64(b"still works") == cffi_ext.xxh64(b"still works")


def test_a_huge_batch_does_not_pin_its_memory(
    wasm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasm_ext import _raw

    monkeypatch.setattr(_raw, "RELEASE_ABOVE", 2**22)  # instead of 1 GiB
    before = _raw._instance()
    big = np.zeros(2**22 + 1, np.uint8)
    assert wasm.xxh64(big) == cffi_ext.xxh64(big)
    assert _raw._instance() is not before  # dropped: the next call starts small


def test_a_trap_is_an_error_and_the_instance_is_replaced(wasm: ModuleType) -> None:
    from wasm_ext import _raw

    with _raw._LOCK:
        instance = _raw._instance()
        # Only a direct call with a pointer past the end of memory can trap.
        with pytest.raises(RuntimeError, match="trapped"):
            instance.call("hp_xxh64", 0xFFFF_FF00, 1024, 0)
    assert _raw._instance() is not instance
    assert wasm.xxh64(b"abc", 1) == cffi_ext.xxh64(b"abc", 1)


def test_raw_kernels_check_what_the_module_relies_on(wasm: ModuleType) -> None:
    from wasm_ext import _raw

    with pytest.raises(TypeError, match="uint32"):
        _raw.duplicates_into(np.zeros(2, np.int64), np.zeros(2, np.int64), np.empty(2, bool))
    with pytest.raises(ValueError, match="lengths differ"):
        _raw.duplicates_into(np.zeros(2, np.uint32), np.zeros(3, np.int64), np.empty(2, bool))
    with pytest.raises(ValueError, match="out has length 3"):
        _raw.duplicates_into(np.zeros(2, np.uint32), np.zeros(2, np.int64), np.empty(3, bool))
    with pytest.raises(ValueError, match="seed"):
        _raw.xxh64(np.zeros(2, np.uint8), 2**64)


def test_threads_share_the_instance_safely(wasm: ModuleType) -> None:
    rows = data.generate(20_000, 100)
    expected = cffi_ext.hash_rows(rows.device_id, rows.timestamp, rows.kwh)
    failures: list[str] = []

    def work() -> None:
        for _ in range(10):
            got = wasm.hash_rows(rows.device_id, rows.timestamp, rows.kwh)
            if not np.array_equal(got, expected):
                failures.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def test_build_info_names_clang_and_wasmtime(wasm: ModuleType) -> None:
    assert "clang" in wasm.BUILD_INFO and "wasmtime" in wasm.BUILD_INFO
