"""Bad input gets the same outcome on every backend: python_ref's.

Each case is one fault; python_ref must raise the named exception, with a
message naming the offending value where the contract says so, and every
backend must raise the same exception with the same message.
"""

from __future__ import annotations

import array
import collections
import sys
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pytest

from hotpath import parity

Call = Callable[[ModuleType], Any]
I64 = np.int64
U32_LIMIT, I64_LIMIT = 2**32, 2**63

BAD: dict[str, tuple[Call, type[Exception], str]] = {
    # aggregate
    "n_devices zero": (lambda m: m.aggregate([0], [1.0], 0), ValueError, "0"),
    "n_devices negative": (lambda m: m.aggregate([0], [1.0], -3), ValueError, "-3"),
    "n_devices float": (lambda m: m.aggregate([0], [1.0], 2.0), TypeError, ""),
    "n_devices 2**63": (lambda m: m.aggregate([0], [1.0], 2**63), ValueError, str(2**63)),
    "n_devices 2**64": (lambda m: m.aggregate([0], [1.0], 2**64), ValueError, str(2**64)),
    "id negative": (lambda m: m.aggregate([0, -1], [1.0, 2.0], 4), ValueError, "-1"),
    "id == n_devices": (lambda m: m.aggregate([0, 4], [1.0, 2.0], 4), ValueError, "4"),
    "id too large, uint32 array": (
        lambda m: m.aggregate(np.array([1, 70000], np.uint32), [1.0, 2.0], 10),
        ValueError,
        "70000",
    ),
    "id too large, int8 array": (
        lambda m: m.aggregate(np.array([1, 100], np.int8), [1.0, 2.0], 10),
        ValueError,
        "100",
    ),
    "id beyond uint64": (lambda m: m.aggregate([2**70], [1.0], 4), ValueError, str(2**70)),
    "id of missing reading": (lambda m: m.aggregate([9], [float("nan")], 4), ValueError, "9"),
    "first bad id is named": (lambda m: m.aggregate([0, 7, 8], [1.0] * 3, 4), ValueError, "7"),
    "ids as floats": (lambda m: m.aggregate([0.0, 1.0], [1.0, 2.0], 4), TypeError, ""),
    "ids as float array": (lambda m: m.aggregate(np.zeros(2), [1.0, 2.0], 4), TypeError, ""),
    "ids as strings": (lambda m: m.aggregate(["0"], [1.0], 4), TypeError, ""),
    "ids with None": (lambda m: m.aggregate([0, None], [1.0, 2.0], 4), TypeError, ""),
    "kwh as strings": (lambda m: m.aggregate([0], ["1.0"], 4), TypeError, ""),
    "kwh as complex": (lambda m: m.aggregate([0], [1j], 4), TypeError, ""),
    "kwh with None": (lambda m: m.aggregate([0, 1], [1.0, None], 4), TypeError, ""),
    "kwh as str": (lambda m: m.aggregate([0], "1", 4), TypeError, ""),
    "lengths differ": (lambda m: m.aggregate([0, 1], [1.0], 4), ValueError, ""),
    "ids 2-D": (lambda m: m.aggregate(np.zeros((2, 2), I64), np.zeros(4), 4), ValueError, ""),
    "ids nested lists": (lambda m: m.aggregate([[0], [1]], [1.0, 2.0], 4), ValueError, ""),
    "ids scalar": (lambda m: m.aggregate(3, [1.0], 4), ValueError, ""),
    "ids as NumPy strings": (lambda m: m.aggregate(np.array(["0"]), [1.0], 4), TypeError, "str_"),
    "ids as bytes": (lambda m: m.aggregate([b"0"], [1.0], 4), TypeError, "bytes"),
    "ids as chars": (
        lambda m: m.aggregate(memoryview(b"ab").cast("c"), [1.0, 2.0], 4),
        TypeError,
        "bytes",
    ),
    "ids as records": (
        lambda m: m.aggregate(np.zeros(2, "i4,f8"), [1.0, 2.0], 4),
        TypeError,
        "void",
    ),
    "ids as memoryview of records": (
        lambda m: m.aggregate(memoryview(np.zeros(2, "i4,f8")), [1.0, 2.0], 4),
        TypeError,
        "format",
    ),
    "ids ragged, a str first": (lambda m: m.aggregate([1, "a", [0]], [1.0] * 3, 4), TypeError, ""),
    "ids from a generator": (
        lambda m: m.aggregate((i for i in [0, 1.5]), [1.0, 2.0], 4),
        TypeError,
        "float",
    ),
    "kwh as NumPy strings": (lambda m: m.aggregate([0], np.array(["1"]), 4), TypeError, "str_"),
    "kwh as datetime64": (
        lambda m: m.aggregate([0], np.array(["2026-01-01"], "datetime64[D]"), 4),
        TypeError,
        "datetime64",
    ),
    "kwh masked": (
        lambda m: m.aggregate([0, 0], np.ma.array([1.0, 5.0], mask=[False, True]), 4),
        ValueError,
        "masked",
    ),
    "ids masked, nothing masked": (
        lambda m: m.aggregate(np.ma.array([0, 1]), [1.0, 2.0], 4),
        ValueError,
        "masked",
    ),
    # duplicates
    "dup id negative": (lambda m: m.duplicates([-5], [0]), ValueError, "-5"),
    "dup id 2**32": (lambda m: m.duplicates([0, U32_LIMIT], [0, 0]), ValueError, str(U32_LIMIT)),
    "dup id int64 array 2**32": (
        lambda m: m.duplicates(np.array([U32_LIMIT], I64), [0]),
        ValueError,
        str(U32_LIMIT),
    ),
    "timestamp 2**63": (lambda m: m.duplicates([0], [I64_LIMIT]), ValueError, str(I64_LIMIT)),
    "timestamp uint64 array 2**63": (
        lambda m: m.duplicates([0], np.array([I64_LIMIT], np.uint64)),
        ValueError,
        str(I64_LIMIT),
    ),
    "timestamp below -2**63": (
        lambda m: m.duplicates([0], [-I64_LIMIT - 1]),
        ValueError,
        str(-I64_LIMIT - 1),
    ),
    "timestamps as floats": (lambda m: m.duplicates([0], [1.5]), TypeError, ""),
    "timestamps as datetime64": (
        lambda m: m.duplicates([0], np.array(["2026-01-01"], "datetime64[s]")),
        TypeError,
        "",
    ),
    "ids spanning int64 and uint64": (
        lambda m: m.duplicates([-1, 2**63], [0, 0]),
        ValueError,
        "-1",
    ),
    "dup lengths differ": (lambda m: m.duplicates([0], [0, 1]), ValueError, ""),
    "timestamps as timedelta64": (
        lambda m: m.duplicates([0], np.array([5], "timedelta64[s]")),
        TypeError,
        "timedelta64",
    ),
    "timestamp 2**63 from a generator": (
        lambda m: m.duplicates([0, 0], (t for t in [-1, I64_LIMIT])),
        ValueError,
        str(I64_LIMIT),
    ),
    "timestamp 2**63 in a deque": (
        lambda m: m.duplicates([0, 0], collections.deque([-1, I64_LIMIT])),
        ValueError,
        str(I64_LIMIT),
    ),
    "dup id 2**32 in a set": (
        lambda m: m.duplicates({U32_LIMIT}, [0]),
        ValueError,
        str(U32_LIMIT),
    ),
    "timestamps masked": (
        lambda m: m.duplicates([0], np.ma.array([1], mask=[True])),
        ValueError,
        "masked",
    ),
    "timestamps 2-D": (lambda m: m.duplicates([0, 1], [[0], [1]]), ValueError, ""),
    # factorize
    "factorize id negative": (lambda m: m.factorize([3, -2]), ValueError, "-2"),
    "factorize id 2**32": (lambda m: m.factorize([0, U32_LIMIT]), ValueError, str(U32_LIMIT)),
    "factorize id 2**32 in an int64 array": (
        lambda m: m.factorize(np.array([1, U32_LIMIT + 5], I64)),
        ValueError,
        str(U32_LIMIT + 5),
    ),
    "factorize id 2**64 in a uint64 array": (
        lambda m: m.factorize(np.array([2**64 - 1], np.uint64)),
        ValueError,
        str(2**64 - 1),
    ),
    "factorize ids as floats": (lambda m: m.factorize([1.0]), TypeError, "float"),
    "factorize ids as float array": (lambda m: m.factorize(np.ones(2)), TypeError, ""),
    "factorize ids as strings": (lambda m: m.factorize(["1"]), TypeError, "str"),
    "factorize ids as str": (lambda m: m.factorize("12"), TypeError, ""),
    "factorize ids 2-D": (lambda m: m.factorize(np.zeros((2, 2), I64)), ValueError, ""),
    "factorize ids scalar": (lambda m: m.factorize(7), ValueError, ""),
    "factorize ids masked": (
        lambda m: m.factorize(np.ma.array([1, 2], mask=[False, True])),
        ValueError,
        "masked",
    ),
    # xxh64
    "xxh64 of str": (lambda m: m.xxh64("abc"), TypeError, ""),
    "xxh64 of int": (lambda m: m.xxh64(12), TypeError, ""),
    "xxh64 of list": (lambda m: m.xxh64([1, 2]), TypeError, ""),
    "xxh64 seed negative": (lambda m: m.xxh64(b"a", -1), ValueError, "-1"),
    "xxh64 seed 2**64": (lambda m: m.xxh64(b"a", 2**64), ValueError, str(2**64)),
    "xxh64 seed float": (lambda m: m.xxh64(b"a", 1.0), TypeError, ""),
    "xxh64 of masked array": (lambda m: m.xxh64(np.ma.array([1, 2])), ValueError, "masked"),
    # hash_rows
    "rows seed negative": (lambda m: m.hash_rows([0], [0], [0.0], -1), ValueError, "-1"),
    "rows seed 2**64": (lambda m: m.hash_rows([0], [0], [0.0], 2**64), ValueError, ""),
    "rows id 2**32": (lambda m: m.hash_rows([U32_LIMIT], [0], [0.0]), ValueError, str(U32_LIMIT)),
    "rows timestamp 2**63": (lambda m: m.hash_rows([0], [I64_LIMIT], [0.0]), ValueError, ""),
    "rows kwh strings": (lambda m: m.hash_rows([0], [0], ["x"]), TypeError, ""),
    "rows ids floats": (lambda m: m.hash_rows([0.5], [0], [0.0]), TypeError, ""),
    "rows lengths differ": (lambda m: m.hash_rows([0, 1], [0, 1], [0.0]), ValueError, ""),
    "rows kwh masked": (
        lambda m: m.hash_rows([0], [0], np.ma.array([1.0], mask=[True])),
        ValueError,
        "masked",
    ),
    "rows timestamps masked, nothing masked": (
        lambda m: m.hash_rows([0], np.ma.array([5]), [1.0]),
        ValueError,
        "masked",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input(backend: ModuleType, reference: ModuleType, case: str) -> None:
    call, error, fragment = BAD[case]
    with pytest.raises(error) as expected:
        call(reference)
    assert fragment in str(expected.value)
    with pytest.raises(error) as raised:
        call(backend)
    assert (type(raised.value), str(raised.value)) == (type(expected.value), str(expected.value))


@pytest.mark.parametrize("n_devices", [2**61, sys.maxsize])
def test_n_devices_too_large_for_memory(backend: ModuleType, n_devices: int) -> None:
    """Valid, but no machine has the memory: MemoryError everywhere, raised before
    anything is allocated (the message is the allocator's, not the contract's)."""
    with pytest.raises(MemoryError):
        backend.aggregate([0], [1.0], n_devices)


# -- inputs that look unusual but are valid -----------------------------------

IDS = [3, 0, 2, 3, 1, 0]
STAMPS = [10, 11, 10, 10, 12, 11]
KWH = [0.5, 1.25, float("nan"), 2.0, -1.0, 4.0]


def _forms() -> dict[str, Callable[[], tuple[Any, Any, Any]]]:
    """Each form builds fresh columns on every call (generators are one-shot)."""

    def strided() -> tuple[Any, Any, Any]:
        table = np.zeros((len(IDS), 3), I64)
        table[:, 0], table[:, 1] = IDS, STAMPS
        return table[:, 0], table[:, 1], np.repeat(np.array(KWH), 2)[::2]

    def read_only() -> tuple[Any, Any, Any]:
        columns = tuple(np.array(c) for c in (IDS, STAMPS, KWH))
        for column in columns:
            column.flags.writeable = False
        return columns

    forms: dict[str, Callable[[], tuple[Any, Any, Any]]] = {
        "lists": lambda: (IDS, STAMPS, KWH),
        "tuples": lambda: (tuple(IDS), tuple(STAMPS), tuple(KWH)),
        "strided": strided,
        "reversed views": lambda: (np.array(IDS[::-1])[::-1], np.array(STAMPS[::-1])[::-1], KWH),
        "read-only": read_only,
        "big-endian": lambda: (np.array(IDS, ">i8"), np.array(STAMPS, ">i8"), np.array(KWH, ">f8")),
        "array.array": lambda: (
            array.array("H", IDS),
            array.array("q", STAMPS),
            array.array("d", KWH),
        ),
        "memoryview": lambda: (
            memoryview(array.array("i", IDS)),
            STAMPS,
            memoryview(array.array("d", KWH)),
        ),
        "bytes as uint8": lambda: (bytes(IDS), bytearray(STAMPS), KWH),
        "generators": lambda: (iter(IDS), (s for s in STAMPS), iter(KWH)),
        "float32 kwh": lambda: (IDS, STAMPS, np.array(KWH, np.float32)),
        "integer kwh": lambda: (IDS, STAMPS, [1, 2, 3, 4, 5, 6]),
        "bool ids": lambda: ([True, False] * 3, STAMPS, KWH),
        "NumPy bools": lambda: (np.array([True, False] * 3), STAMPS, np.array([False, True] * 3)),
        "big-endian memoryview": lambda: (
            memoryview(np.array(IDS, ">u4")),
            memoryview(np.array(STAMPS, ">i8")),
            memoryview(np.array(KWH, ">f8")),
        ),
        "half-float memoryview": lambda: (IDS, STAMPS, memoryview(np.array(KWH, np.float16))),
        "deques": lambda: tuple(collections.deque(c) for c in (IDS, STAMPS, KWH)),
        # Any iterable is a column, read in its iteration order.
        "sets": lambda: ({3, 0, 2}, frozenset({10, 11, -12}), {0.5, 1.25, -1.0}),
        "dict views": lambda: (
            dict.fromkeys([3, 0, 2]).keys(),
            {0: 10, 1: 11, 2: 10}.values(),
            {0.5: 0, -1.0: 1, 4.0: 2}.keys(),
        ),
        "dicts": lambda: (
            dict.fromkeys([3, 0, 2]),
            dict.fromkeys([10, 11, 12]),
            {0.5: 0, 4.0: 1, 2.0: 2},
        ),
        "empty float arrays": lambda: (np.zeros(0), np.zeros(0, np.float32), []),
        "empty generators": lambda: (iter([]), iter(()), iter([])),
    }
    for dtype in ("i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8"):
        forms[f"ints {dtype}"] = lambda d=dtype: (np.array(IDS, d), np.array(STAMPS, d), KWH)
    return forms


FORMS = _forms()


def _readable(column: Any) -> Any:
    """The column's values, read without python_ref (which reads these forms itself)."""
    return np.asarray(column) if isinstance(column, memoryview) else column


@pytest.mark.parametrize("kernel", ["aggregate", "duplicates", "hash_rows", "factorize"])
@pytest.mark.parametrize("form", FORMS)
def test_valid_input_forms(
    backend: ModuleType, reference: ModuleType, form: str, kernel: str
) -> None:
    ids, stamps, kwh = FORMS[form]()
    p_ids, p_stamps, p_kwh = (
        [int(v) for v in _readable(c)] if i < 2 else [float(v) for v in _readable(c)]
        for i, c in enumerate(FORMS[form]())
    )
    if kernel == "aggregate":
        got, want = backend.aggregate(ids, kwh, 4), reference.aggregate(p_ids, p_kwh, 4)
    elif kernel == "duplicates":
        got, want = backend.duplicates(ids, stamps), reference.duplicates(p_ids, p_stamps)
    elif kernel == "factorize":
        got, want = backend.factorize(ids), reference.factorize(p_ids)
    else:
        got, want = (
            backend.hash_rows(ids, stamps, kwh, 7),
            reference.hash_rows(p_ids, p_stamps, p_kwh, 7),
        )
    assert parity.mismatch(kernel, got, want) is None


def test_empty_columns(backend: ModuleType) -> None:
    count, total, minimum, maximum = backend.aggregate([], [], 3)
    assert list(count) == [0, 0, 0] and list(total) == [0.0] * 3
    assert all(np.isnan(minimum)) and all(np.isnan(maximum))
    assert len(backend.duplicates([], [])) == 0
    assert len(backend.hash_rows([], [], [])) == 0
    assert backend.xxh64(b"") == 0xEF46DB3751D8E999
    assert len(backend.duplicates(np.empty(0, np.uint32), np.empty(0, np.int64))) == 0
    for ids in ([], np.empty(0, np.uint32)):
        codes, uniques = backend.factorize(ids)
        assert len(codes) == len(uniques) == 0


@pytest.mark.parametrize(
    "buffer",
    [
        b"hotpath",
        bytearray(b"hotpath"),
        memoryview(b"xhotpath")[1:],
        np.frombuffer(b"hotpath", np.uint8),
        np.frombuffer(b"hotpath!", np.uint8).view(np.uint64),
        np.arange(12, dtype=np.int16).reshape(3, 4),
        np.arange(24, dtype=np.int32)[::2],  # strided: hashed in C order, like its copy
        array.array("d", [1.0, 2.0]),
    ],
    ids=lambda b: type(b).__name__,
)
def test_xxh64_buffers(backend: ModuleType, reference: ModuleType, buffer: Any) -> None:
    assert backend.xxh64(buffer, 5) == reference.xxh64(buffer, 5)
    assert backend.xxh64(buffer, 5) == reference.xxh64(memoryview(buffer).tobytes(), 5)
