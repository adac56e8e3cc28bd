"""Bad calls of the raw kernels, run in a child process by test_raw_kernels.py.

A raw kernel that does not check its arguments may crash the interpreter, so
the test never makes these calls in its own process: ``python raw_faults.py
MODULE FIRST`` imports the raw kernels' module and makes the calls from the
FIRST on, printing one JSON line per call before the next begins. If the child
dies, the parent knows which call killed it.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any, Callable, NamedTuple

import numpy as np

from hotpath.hashkey import HashKey

ERRORS = (TypeError, ValueError)


class Fault(NamedTuple):
    call: Callable[[Any], Any]  # given the raw kernels' module
    raises: tuple[type[Exception], ...]
    match: str  # a regular expression the message must contain ("" for any)


def _defaults(kernel: str) -> dict[str, Any]:
    """A good call's arguments: 3 rows, 2 devices."""
    n, nd = 3, 2
    rows = {"device_id": np.zeros(n, np.uint32), "timestamp": np.zeros(n, np.int64)}
    if kernel == "aggregate_into":
        outputs = {name: np.empty(nd) for name in ("total", "minimum", "maximum")}
        return {
            "device_id": rows["device_id"],
            "kwh": np.ones(n),
            "count": np.empty(nd, np.int64),
            **outputs,
        }
    if kernel == "duplicates_into":
        return {**rows, "key": HashKey(1, 2), "out": np.empty(n, np.bool_)}
    if kernel == "factorize_into":
        return {
            "device_id": rows["device_id"],
            "key": HashKey(1, 2),
            "codes": np.empty(n, np.uint32),
            "uniques": np.empty(n, np.uint32),
        }
    if kernel == "hash_rows_into":
        return {**rows, "kwh": np.ones(n), "seed": 0, "out": np.empty(n, np.uint64)}
    return {"data": np.arange(5, dtype=np.uint8), "seed": 0}  # xxh64


def _call(raw: Any, kernel: str, **replace: Any) -> Any:
    """``kernel`` on its defaults with some arguments replaced: by a value, or by a function
    of the default value."""
    args = _defaults(kernel)
    for name, value in replace.items():
        args[name] = value(args[name]) if callable(value) else value
    return getattr(raw, kernel)(**args)


def _aggregate(raw: Any, **replace: Any) -> Any:
    return _call(raw, "aggregate_into", **replace)


def _duplicates(raw: Any, **replace: Any) -> Any:
    return _call(raw, "duplicates_into", **replace)


def _hash_rows(raw: Any, **replace: Any) -> Any:
    return _call(raw, "hash_rows_into", **replace)


def _factorize(raw: Any, **replace: Any) -> Any:
    return _call(raw, "factorize_into", **replace)


def _without_key(raw: Any, kernel: str) -> Any:
    """The kernel called with every argument but the key: it has no default."""
    args = _defaults(kernel)
    del args["key"]
    return getattr(raw, kernel)(**args)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def misaligned(array: np.ndarray) -> np.ndarray:
    """A writable copy of ``array`` whose data starts one byte past an aligned address."""
    buffer = bytearray(array.nbytes + 1)
    copy = np.frombuffer(buffer, array.dtype, count=len(array), offset=1)
    copy[:] = array
    return copy


LAYOUT: dict[str, Fault] = {
    # dtypes: ids as int64 made numba index its outputs with -(1 << 40)
    "aggregate, ids int64": Fault(
        lambda raw: _aggregate(raw, device_id=np.array([-(1 << 40)] * 3, np.int64)), ERRORS, ""
    ),
    "aggregate, kwh float32": Fault(
        lambda raw: _aggregate(raw, kwh=np.ones(3, np.float32)), ERRORS, ""
    ),
    "duplicates, timestamp uint32": Fault(
        lambda raw: _duplicates(raw, timestamp=np.zeros(3, np.uint32)), ERRORS, ""
    ),
    "hash_rows, out int32": Fault(
        lambda raw: _hash_rows(raw, out=np.empty(3, np.int32)), ERRORS, ""
    ),
    "xxh64, data uint16": Fault(lambda raw: raw.xxh64(np.zeros(4, np.uint16), 0), ERRORS, ""),
    # shapes and strides
    "aggregate, ids 2-D": Fault(
        lambda raw: _aggregate(raw, device_id=np.zeros((3, 1), np.uint32)), ERRORS, ""
    ),
    "duplicates, ids strided": Fault(
        lambda raw: _duplicates(raw, device_id=np.zeros(6, np.uint32)[::2]), ERRORS, ""
    ),
    "hash_rows, kwh strided": Fault(lambda raw: _hash_rows(raw, kwh=np.ones(6)[::2]), ERRORS, ""),
    "xxh64, data 2-D": Fault(lambda raw: raw.xxh64(np.zeros((2, 2), np.uint8), 0), ERRORS, ""),
    "xxh64, data not an array": Fault(lambda raw: raw.xxh64([1, 2, 3], 0), ERRORS, ""),
    # lengths: each of these read or wrote past an array in numba
    "aggregate, kwh shorter": Fault(lambda raw: _aggregate(raw, kwh=np.ones(1)), (ValueError,), ""),
    "aggregate, total shorter": Fault(
        lambda raw: _aggregate(raw, total=np.empty(1)), (ValueError,), ""
    ),
    "duplicates, timestamp shorter": Fault(
        lambda raw: _duplicates(
            raw,
            device_id=np.zeros(1 << 20, np.uint32),
            timestamp=np.zeros(1, np.int64),
            out=np.empty(1, np.bool_),
        ),
        (ValueError,),
        "",
    ),
    "duplicates, out longer": Fault(
        lambda raw: _duplicates(raw, out=np.empty(1 << 20, np.bool_)), (ValueError,), ""
    ),
    "hash_rows, out longer": Fault(
        lambda raw: _hash_rows(
            raw,
            device_id=np.zeros(1, np.uint32),
            timestamp=np.zeros(1, np.int64),
            kwh=np.ones(1),
            out=np.empty(3, np.uint64),
        ),
        (ValueError,),
        "",
    ),
    "hash_rows, timestamp shorter": Fault(
        lambda raw: _hash_rows(raw, timestamp=np.zeros(1, np.int64)), (ValueError,), ""
    ),
    # outputs
    "duplicates, out read-only": Fault(
        lambda raw: _duplicates(raw, out=_read_only(np.empty(3, np.bool_))), ERRORS, ""
    ),
    "hash_rows, out read-only": Fault(
        lambda raw: _hash_rows(raw, out=_read_only(np.empty(3, np.uint64))), ERRORS, ""
    ),
    # factorize
    "factorize, ids int64": Fault(
        lambda raw: _factorize(raw, device_id=np.zeros(3, np.int64)), ERRORS, ""
    ),
    "factorize, codes int64": Fault(
        lambda raw: _factorize(raw, codes=np.empty(3, np.int64)), ERRORS, ""
    ),
    "factorize, ids strided": Fault(
        lambda raw: _factorize(raw, device_id=np.zeros(6, np.uint32)[::2]), ERRORS, ""
    ),
    "factorize, uniques shorter": Fault(
        lambda raw: _factorize(
            raw, device_id=np.zeros(1 << 20, np.uint32), codes=np.empty(1 << 20, np.uint32)
        ),
        (ValueError,),
        "",
    ),
    "factorize, codes longer": Fault(
        lambda raw: _factorize(raw, codes=np.empty(1 << 20, np.uint32)), (ValueError,), ""
    ),
    "factorize, uniques read-only": Fault(
        lambda raw: _factorize(raw, uniques=_read_only(np.empty(3, np.uint32))), ERRORS, ""
    ),
    # hash keys: required, and a HashKey (a tuple of the right words is refused too)
    "duplicates, no key": Fault(lambda raw: _without_key(raw, "duplicates_into"), (TypeError,), ""),
    "factorize, no key": Fault(lambda raw: _without_key(raw, "factorize_into"), (TypeError,), ""),
    "duplicates, key a tuple": Fault(
        lambda raw: _duplicates(raw, key=(1, 2)), (TypeError,), "HashKey"
    ),
    "duplicates, key None": Fault(lambda raw: _duplicates(raw, key=None), (TypeError,), "HashKey"),
    "factorize, key an int": Fault(lambda raw: _factorize(raw, key=12), (TypeError,), "HashKey"),
    "factorize, key word 2**64": Fault(
        lambda raw: _factorize(raw, key=HashKey(1 << 64, 0)), (ValueError,), "key"
    ),
    "duplicates, key word negative": Fault(
        lambda raw: _duplicates(raw, key=HashKey(0, -1)), (ValueError,), "key"
    ),
    # seeds
    "xxh64, seed 2**64": Fault(
        lambda raw: raw.xxh64(np.zeros(4, np.uint8), 1 << 64), (*ERRORS, OverflowError), ""
    ),
    "hash_rows, seed -1": Fault(lambda raw: _hash_rows(raw, seed=-1), (*ERRORS, OverflowError), ""),
}

# Every array argument whose dtype has an alignment, of every kernel, one at a time.
MISALIGNED: dict[str, Fault] = {
    f"{kernel}, {name} misaligned": Fault(
        lambda raw, kernel=kernel, name=name: _call(raw, kernel, **{name: misaligned}),
        (TypeError,),
        "align",
    )
    for kernel in ("aggregate_into", "duplicates_into", "factorize_into", "hash_rows_into", "xxh64")
    for name, value in _defaults(kernel).items()
    if isinstance(value, np.ndarray) and value.dtype.alignment > 1
}


def _overlapping(
    first: Any, second: Any, counts: tuple[int, int] = (3, 3), offset: int = 0
) -> list[np.ndarray]:
    """Two writable arrays over the same bytes, of counts[0] and counts[1] elements, the second
    starting ``offset`` bytes in, each through a base object of its own (so checks of a shared
    base, NumPy's or rust-numpy's, cannot see it; only the addresses tell)."""
    first, second = np.dtype(first), np.dtype(second)
    memory = bytearray(max(first.itemsize * counts[0], offset + second.itemsize * counts[1]))
    return [
        np.frombuffer(memoryview(memory), first, count=counts[0]),
        np.frombuffer(memoryview(memory), second, count=counts[1], offset=offset),
    ]


def _overlap(kernel: str, names: tuple[str, str], dtypes: tuple[str, str], **how: Any) -> Fault:
    def call(raw: Any) -> Any:
        arrays = _overlapping(*dtypes, **how)
        return _call(raw, kernel, **dict(zip(names, arrays)))

    return Fault(call, ERRORS, "overlap|borrowed")


# An output sharing memory with an input or with another output: C reads it through a const
# pointer while writing it (a wrong answer at best), Rust holds a & and a &mut slice over it
# (undefined behaviour), Wasm copies it out over its own input.
OVERLAPS: dict[str, Fault] = {
    "hash_rows_into, out over kwh": _overlap("hash_rows_into", ("kwh", "out"), ("f8", "u8")),
    "hash_rows_into, out over timestamp, 8 bytes in": _overlap(
        "hash_rows_into", ("timestamp", "out"), ("i8", "u8"), offset=8
    ),
    "hash_rows_into, out over device_id": _overlap(
        "hash_rows_into", ("device_id", "out"), ("u4", "u8")
    ),
    "duplicates_into, out over device_id": _overlap(
        "duplicates_into", ("device_id", "out"), ("u4", "?"), offset=4
    ),
    "duplicates_into, out over timestamp": _overlap(
        "duplicates_into", ("timestamp", "out"), ("i8", "?")
    ),
    "aggregate_into, total over kwh": _overlap(
        "aggregate_into", ("kwh", "total"), ("f8", "f8"), counts=(3, 2), offset=8
    ),
    "aggregate_into, count over device_id": _overlap(
        "aggregate_into", ("device_id", "count"), ("u4", "i8"), counts=(3, 2)
    ),
    "aggregate_into, minimum over maximum": _overlap(
        "aggregate_into", ("maximum", "minimum"), ("f8", "f8"), counts=(2, 2), offset=8
    ),
    "factorize_into, codes over device_id": _overlap(
        "factorize_into", ("device_id", "codes"), ("u4", "u4"), offset=4
    ),
    "factorize_into, uniques over codes": _overlap(
        "factorize_into", ("codes", "uniques"), ("u4", "u4"), offset=8
    ),
    "aggregate_into, count a view of total": Fault(
        lambda raw: (lambda t: _aggregate(raw, total=t, count=t.view(np.int64)))(np.empty(2)),
        ERRORS,
        "overlap|borrowed",
    ),
}

FAULTS: dict[str, Fault] = {**LAYOUT, **MISALIGNED, **OVERLAPS}


def main(module: str, first: int) -> None:
    raw = importlib.import_module(module)
    for name in list(FAULTS)[first:]:
        fault = FAULTS[name]
        try:
            fault.call(raw)
        except Exception as error:
            outcome = {"raised": type(error).__name__, "message": str(error)}
        else:
            outcome = {"raised": None, "message": ""}
        print(json.dumps({"fault": name, **outcome}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
