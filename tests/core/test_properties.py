"""Property-based differential tests: hypothesis draws inputs, python_ref says
what the answer is, and every backend must agree -- on valid input the same
result, on invalid input the same exception with the same message."""

from __future__ import annotations

import collections
from types import ModuleType
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import python_ref
from hotpath import backends, parity

U32, I64_MIN, I64_MAX = 2**32 - 1, -(2**63), 2**63 - 1

# Both zeros, often: equal values with different bits, where "the first wins" shows.
kwh_values = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([0.0, -0.0])


@st.composite
def readings(draw: st.DrawFn, max_id: int = U32) -> tuple[list[int], list[int], list[float]]:
    n = draw(st.integers(0, 60))
    # A few distinct keys make duplicates likely; wide ranges reach the edges.
    ids = st.integers(0, max_id) | st.sampled_from([0, min(1, max_id), max_id])
    stamps = st.integers(I64_MIN, I64_MAX) | st.sampled_from([I64_MIN, -1, 0, 1, I64_MAX])
    rows = draw(st.lists(st.tuples(ids, stamps, kwh_values), min_size=n, max_size=n))
    if rows and draw(st.booleans()):
        rows += draw(st.lists(st.sampled_from(rows), max_size=20))  # exact repeats
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _holds(info: np.iinfo, values: list[int]) -> bool:
    # Bounds, not np.min_scalar_type: that makes every positive value unsigned, so
    # timestamps spanning both signs would never be drawn as int64.
    return not values or (info.min <= min(values) and max(values) <= info.max)


def as_array(values: list, dtypes: list[str], draw: st.DrawFn) -> Any:
    """The same values in a form the backend must accept: a list or tuple, or an
    array of any dtype that holds them, maybe strided, byte-swapped, read-only
    or seen through a memoryview."""
    fitting = [d for d in dtypes if np.dtype(d).kind == "f" or _holds(np.iinfo(d), values)]
    choice = draw(st.sampled_from(["list", "tuple", *fitting]))
    if choice == "list":
        return values
    if choice == "tuple":
        return tuple(values)
    array = np.array(values, dtype=choice)
    if draw(st.booleans()):
        array = array.astype(array.dtype.newbyteorder())
    if draw(st.booleans()):
        array = np.repeat(array, 2)[::2]
    if draw(st.booleans()):
        array.flags.writeable = False
    return memoryview(array) if draw(st.booleans()) else array


INTS = ["u1", "i2", "u2", "i4", "u4", "i8", "u8"]
FLOATS = ["f8"]  # the only float dtype that holds every float64 value


@given(data=st.data())
def test_duplicates(accelerated: ModuleType, data: st.DataObject) -> None:
    ids, stamps, _ = data.draw(readings())
    got = accelerated.duplicates(as_array(ids, INTS, data.draw), as_array(stamps, INTS, data.draw))
    assert parity.mismatch("duplicates", got, python_ref.duplicates(ids, stamps)) is None


@given(data=st.data())
def test_factorize(accelerated: ModuleType, data: st.DataObject) -> None:
    ids, _, _ = data.draw(readings())
    got = accelerated.factorize(as_array(ids, INTS, data.draw))
    assert parity.mismatch("factorize", got, python_ref.factorize(ids)) is None


@given(data=st.data(), seed=st.integers(0, 2**64 - 1))
def test_hash_rows(accelerated: ModuleType, data: st.DataObject, seed: int) -> None:
    ids, stamps, kwh = data.draw(readings())
    got = accelerated.hash_rows(
        as_array(ids, INTS, data.draw),
        as_array(stamps, INTS, data.draw),
        as_array(kwh, FLOATS, data.draw),
        seed,
    )
    assert parity.mismatch("hash_rows", got, python_ref.hash_rows(ids, stamps, kwh, seed)) is None


@given(data=st.data(), n_devices=st.integers(1, 40))
def test_aggregate(accelerated: ModuleType, data: st.DataObject, n_devices: int) -> None:
    ids, _, kwh = data.draw(readings(max_id=n_devices - 1))
    got = accelerated.aggregate(
        as_array(ids, INTS, data.draw), as_array(kwh, FLOATS, data.draw), n_devices
    )
    want = python_ref.aggregate(ids, kwh, n_devices)
    exact = backends.get(accelerated.__name__).exact
    assert parity.mismatch("aggregate", got, want, exact=exact) is None


@given(payload=st.binary(max_size=300), seed=st.integers(0, 2**64 - 1), offset=st.integers(0, 7))
def test_xxh64(accelerated: ModuleType, payload: bytes, seed: int, offset: int) -> None:
    # An offset start makes the buffer unaligned, as real slices are.
    view = memoryview(bytes(offset) + payload)[offset:]
    assert accelerated.xxh64(view, seed) == python_ref.xxh64(payload, seed)


# Columns of one kind each, valid or not: the backend must fail exactly when,
# and exactly as, python_ref fails.
any_column = st.one_of(
    st.lists(st.integers(-(2**65), 2**65), max_size=5),
    st.lists(st.integers(-3, 6), max_size=5),
    st.lists(st.floats(allow_nan=True), max_size=5),
    st.lists(st.text(max_size=2), min_size=1, max_size=3),
    st.lists(st.none(), min_size=1, max_size=3),
    st.lists(st.complex_numbers(), min_size=1, max_size=3),
    st.lists(st.integers(-(2**64), 2**64), max_size=5).map(tuple),
    st.lists(st.integers(-(2**64), 2**64), max_size=5).map(collections.deque),
    st.sets(st.integers(-3, 2**63), max_size=4),
    st.sampled_from(
        [
            np.zeros((2, 2)),
            np.arange(3, dtype=np.int8),
            np.ones(3, np.float32),
            np.zeros(0),
            np.array(["0", "1"]),
            np.array(["2026-01-01"], "datetime64[s]"),
            np.zeros(2, "i4,f8"),
            np.ma.array([1.0, 2.0], mask=[False, True]),
            np.array([1j]),
        ]
    ),
)


def outcome(call: Any, module: ModuleType) -> Any:
    try:
        return "ok", call(module)
    except (TypeError, ValueError) as error:
        return type(error).__name__, str(error)


@given(
    ids=any_column,
    stamps=any_column,
    kwh=any_column,
    n_devices=st.integers(-1, 6),
    seed=st.integers(-2, 2**64 + 1),
)
def test_same_failures(
    accelerated: ModuleType, ids: Any, stamps: Any, kwh: Any, n_devices: int, seed: int
) -> None:
    calls = {
        "aggregate": lambda m: m.aggregate(ids, kwh, n_devices),
        "duplicates": lambda m: m.duplicates(ids, stamps),
        "hash_rows": lambda m: m.hash_rows(ids, stamps, kwh, seed),
        "factorize": lambda m: m.factorize(ids),
    }
    for kernel, call in calls.items():
        want_kind, want = outcome(call, python_ref)
        got_kind, got = outcome(call, accelerated)
        if want_kind == "ok":
            assert got_kind == "ok", (kernel, got)
            assert parity.mismatch(kernel, got, want) is None, kernel
        else:
            assert (got_kind, got) == (want_kind, want), kernel
