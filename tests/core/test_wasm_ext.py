"""What only the wasm_ext backend has: staged calls, linear-memory limits, traps, threads.

The contract itself (parity, oracles, bad input) is checked for wasm_ext by the
suite's registry-parametrized tests like every other backend's.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Callable

import numpy as np
import pytest
from conftest import load_backend

import python_ref
from hotpath import data, hashkey, parity

# Tests that need more than a GiB of memory and seconds run only when asked (.ci/run asks).
BIG = os.environ.get("HOTPATH_BIG_TESTS") == "1"


@pytest.fixture(scope="module")
def wasm() -> ModuleType:
    return load_backend("wasm_ext")  # skipped, with the reason, without the toolchain


@pytest.fixture(scope="module")
def small() -> data.Readings:
    return data.generate(5_000, 50)


def _raw_arguments(kernel: str, r: data.Readings) -> tuple:
    return {
        "aggregate": (r.device_id, r.kwh, r.n_devices),
        "duplicates": (r.device_id, r.timestamp, hashkey.KEY),
        "factorize": (r.device_id, hashkey.KEY),
        "hash_rows": (r.device_id, r.timestamp, r.kwh, 2**64 - 1),
        "xxh64": (r.kwh.view(np.uint8), 2**63),
    }[kernel]


@pytest.mark.parametrize("kernel", ["aggregate", "duplicates", "factorize", "hash_rows", "xxh64"])
def test_staged_call_matches_public_function(
    wasm: ModuleType, small: data.Readings, kernel: str
) -> None:
    args = _raw_arguments(kernel, small)
    # python_ref, not cffi_ext: that is built from the same C source, so a bug there
    # would be in both answers. python_ref takes no hash key.
    expected = getattr(python_ref, kernel)(*(a for a in args if a is not hashkey.KEY))
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


def test_a_staged_table_kernel_needs_its_key(wasm: ModuleType, small: data.Readings) -> None:
    with pytest.raises(TypeError, match=r"duplicates takes \(device_id, timestamp, key\)"):
        wasm.stage("duplicates", small.device_id, small.timestamp)
    with pytest.raises(TypeError, match="HashKey"):
        wasm.stage("factorize", small.device_id, (1, 2))


def test_input_beyond_wasm32_memory_is_memory_error(wasm: ModuleType) -> None:
    # 4 outputs x 8 bytes x 2**27 devices = 4 GiB: more than wasm32 can address
    with pytest.raises(MemoryError, match="wasm32"):
        wasm.stage("aggregate", np.zeros(1, np.uint32), np.ones(1), 2**27)
    assert wasm.xxh64(b"still works") == python_ref.xxh64(b"still works")


def test_a_huge_batch_does_not_pin_its_memory(
    wasm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasm_ext import _raw

    monkeypatch.setattr(_raw, "RELEASE_ABOVE", 2**22)  # instead of 1 GiB
    before = _raw._instance()
    big = np.zeros(2**22 + 1, np.uint8)
    assert wasm.xxh64(big) == python_ref.xxh64(big)
    assert _raw._instance() is not before  # dropped: the next call starts small


def test_a_trap_is_an_error_and_the_instance_is_replaced(wasm: ModuleType) -> None:
    from wasm_ext import _raw

    with _raw._LOCK:
        instance = _raw._instance()
        # Only a direct call with a pointer past the end of memory can trap.
        with pytest.raises(RuntimeError, match="trapped"):
            instance.call("hp_xxh64", 0xFFFF_FF00, 1024, 0)
    assert _raw._instance() is not instance
    assert wasm.xxh64(b"abc", 1) == python_ref.xxh64(b"abc", 1)


def test_exports_are_called_through_the_fast_path(wasm: ModuleType) -> None:
    # _raw calls each export through the C API with its type read once (wasmtime-py's
    # Func.__call__ costs ~60 us a call); it must be in use, and agree with the public path.
    from wasm_ext import _raw

    with _raw._LOCK:
        instance = _raw._instance()
        assert all(hasattr(f, "__wrapped__") for f in instance.functions.values()), (
            "this wasmtime-py lacks the internals _raw._caller uses: every call is ~60 us slower"
        )
        data = np.frombuffer(b"the fast path" * 3, np.uint8)
        address = instance.reusable_block(data.nbytes)
        instance.view()[address : address + data.nbytes] = data
        public = instance.functions["hp_xxh64"].__wrapped__
        for seed in (0, 1, 2**63 - 1, -1, -(2**63)):  # i64: the seed as Wasm passes it
            fast = instance.call("hp_xxh64", address, data.nbytes, seed)
            assert fast == public(instance.store, address, data.nbytes, seed)
            assert fast & _raw.U64_MASK == python_ref.xxh64(data, seed & _raw.U64_MASK)
        with pytest.raises(TypeError, match="expected 3 arguments"):
            instance.call("hp_xxh64", address, data.nbytes)


def test_raw_kernels_check_what_the_module_relies_on(wasm: ModuleType) -> None:
    from wasm_ext import _raw

    key = hashkey.KEY
    with pytest.raises(TypeError, match="uint32"):
        _raw.duplicates_into(np.zeros(2, np.int64), np.zeros(2, np.int64), key, np.empty(2, bool))
    with pytest.raises(ValueError, match="lengths differ"):
        _raw.duplicates_into(np.zeros(2, np.uint32), np.zeros(3, np.int64), key, np.empty(2, bool))
    with pytest.raises(ValueError, match="out has length 3"):
        _raw.duplicates_into(np.zeros(2, np.uint32), np.zeros(2, np.int64), key, np.empty(3, bool))
    with pytest.raises(ValueError, match="seed"):
        _raw.xxh64(np.zeros(2, np.uint8), 2**64)


def test_threads_share_the_instance_safely(wasm: ModuleType) -> None:
    rows = data.generate(20_000, 100)
    expected = python_ref.hash_rows(rows.device_id, rows.timestamp, rows.kwh)
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


def _scratch_function(build: str) -> tuple[Callable[[int, int], int], int]:
    """hp_duplicates_scratch of one build of the C kernels, and that build's size_t bits."""
    if build == "native":
        from cffi_ext._kernels import ffi, lib

        return lib.hp_duplicates_scratch, 8 * ffi.sizeof("size_t")
    load_backend("wasm_ext")
    import wasmtime
    from wasm_ext import _raw

    store = wasmtime.Store(_raw._ENGINE)  # an instance of its own: _raw's is left alone
    function = wasmtime.Instance(store, _raw._MODULE, []).exports(store)["hp_duplicates_scratch"]
    return (lambda n, max_part: function(store, n, max_part) & 0xFFFF_FFFF), 32


def _allocation(n: int, max_part: int, bits: int) -> int:
    """What hp_duplicates allocates, in exact integers: n entries, then room for n staged entries
    or a table of the smallest power of two >= 4 * max_part (at least 16) slots, whichever is
    larger, of 8 bytes each; 0 if that overflows size_t."""
    slots = n + max(n, 16, 1 << (4 * max_part - 1).bit_length())
    return 8 * slots if 8 * slots < 1 << bits else 0


@pytest.mark.parametrize("build", ["native", "wasm32"])
def test_duplicates_refuses_exactly_the_sizes_that_overflow(build: str) -> None:
    scratch, bits = _scratch_function(build)
    top = (1 << bits) - 1
    slots = top // 8  # the most uint64_t slots size_t can count the bytes of
    cases = [
        (1 << (bits - 7), 1 << (bits - 17)),  # 2**25 rows in wasm32, as hashing spreads them
        (1 << (bits - 7), 1 << (bits - 7)),  # ... or all in one partition: still fits
        (1 << (bits - 6), 1 << (bits - 6)),  # the most rows that fit whatever the keys
        ((1 << (bits - 6)) + 1, (1 << (bits - 6)) + 1),  # its table doubles: too big
        (slots // 2, 1),  # the most rows: every byte of size_t's range, staged twice
        (slots // 2 + 1, 1),
        (slots - 16, 1),
        (slots, 0),
        (top, 0),
        (1, top),  # a table too big to count, without overflowing on the way
        (1, 1 << (bits - 5)),
        (1, 1 << (bits - 6)),
        (1000, 1),
        (3, 2),  # a table larger than the staged entries
    ]
    for n, max_part in cases:
        assert scratch(n, max_part) == _allocation(n, max_part, bits), (n, max_part)
    # The old guard refused every n above SIZE_MAX / 128: 2**25 rows in wasm32.
    assert scratch(1 << (bits - 7), 1 << (bits - 7))


@pytest.mark.skipif(not BIG, reason="1.5 GiB and seconds: HOTPATH_BIG_TESTS=1 runs it")
def test_duplicates_of_2_25_rows(wasm: ModuleType) -> None:
    n = 1 << 25  # refused (MemoryError) while the size guard was 1.8x too strict
    stamps = np.arange(n, dtype=np.int64) // 2  # every key twice, the second a duplicate
    got = wasm.duplicates(np.zeros(n, np.uint32), stamps)
    assert np.array_equal(got, np.arange(n) % 2 == 1)
