"""What every raw kernel checks before its loop, when it is called directly.

hotpath.contract only ever hands raw kernels canonical arrays, but a raw kernel
can be called on its own, and then bad arguments must raise a Python exception,
never make a compiled loop read or write out of bounds. One rule for every
backend's raw kernels (see hotpath.contract.RawKernels):

- every array argument is a NumPy array of exactly the kernel's dtype, 1-D,
  C-contiguous and aligned: TypeError otherwise;
- outputs are writable, and the arrays that share a length have the same
  length: ValueError otherwise;
- no output shares memory with an input or with another output: ValueError.
  A kernel reads its inputs while it writes its outputs, and compiled code may
  assume they are apart (C's const pointers, Rust's & and &mut slices), so an
  overlap is a wrong answer at best and undefined behaviour in Rust. Inputs
  may overlap each other: they are only read;
- a seed is an integer in [0, 2**64): TypeError or ValueError;
- the kernels with hash tables (duplicates_into, factorize_into) take the hash key as a
  required argument, a :class:`hotpath.hashkey.HashKey` (TypeError for anything else, a
  plain tuple included), so none runs on a key it was not given.

The backends whose raw kernels are Python functions (numpy_impl, numba_impl,
cffi_ext, wasm_ext) call the function of this module named after the kernel;
cython_ext and rust_ext make the same checks in their compiled code. Each check
runs once per call, so the loops behind it stay free of checks.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from hotpath.hashkey import HashKey

__all__ = [
    "aggregate_into",
    "duplicates_into",
    "factorize_into",
    "hash_key",
    "hash_rows_into",
    "seed",
    "xxh64",
]

U8, U32, I64, U64, F64, BOOL = (
    np.dtype(name) for name in ("uint8", "uint32", "int64", "uint64", "float64", "bool")
)
SEED_LIMIT = 1 << 64
_may_share_memory = np.may_share_memory  # ~0.2 us a call: up to 14 pairs per call


def _array(kernel: str, name: str, value: Any, dtype: np.dtype, output: bool = False) -> int:
    """len(value), once it is known to be a 1-D, C-contiguous, aligned ``dtype`` array
    (and writable, if it is an output). NumPy calls any empty array aligned."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{kernel}: {name} must be a NumPy array, got {type(value).__name__}")
    flags = value.flags
    if value.dtype != dtype or value.ndim != 1 or not flags.c_contiguous:
        layout = "" if flags.c_contiguous else " (not C-contiguous)"
        raise TypeError(
            f"{kernel}: {name} must be a 1-D C-contiguous {dtype} array, "
            f"got {value.dtype} with shape {value.shape}{layout}"
        )
    if not flags.aligned:  # C and Rust may load and store it as a whole: undefined behaviour
        raise TypeError(
            f"{kernel}: {name} is misaligned: its data must start at a multiple of "
            f"{dtype.alignment} bytes"
        )
    if output and not flags.writeable:
        raise ValueError(f"{kernel}: {name} is read-only")
    return len(value)


def _lengths(kernel: str, *named: tuple[str, int]) -> None:
    """ValueError unless every ``(name, length)`` has the first one's length."""
    (first, expected), *others = named
    for name, length in others:
        if length != expected:
            raise ValueError(
                f"{kernel}: lengths differ: {name} has length {length}, expected {expected} "
                f"(the length of {first})"
            )


def _disjoint(
    kernel: str,
    outputs: tuple[tuple[str, np.ndarray], ...],
    inputs: tuple[tuple[str, np.ndarray], ...],
) -> None:
    """ValueError if an output shares a byte with an input or another output. The arrays are
    1-D and C-contiguous by now, so NumPy's extent test is exact, whatever their bases."""
    for i, (name, output) in enumerate(outputs):
        for others in (inputs, outputs[:i]):
            for other, array in others:
                if _may_share_memory(output, array):
                    raise ValueError(f"{kernel}: {name} overlaps {other} in memory")


def seed(value: Any) -> int:
    """``value`` as an int in [0, 2**64): TypeError for a non-integer, ValueError outside."""
    value = operator.index(value)
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"seed {value} outside [0, 2**64)")
    return value


def hash_key(kernel: str, value: Any) -> tuple[int, int]:
    """``(k0, k1)`` of ``value``, once it is known to be a HashKey of two words in [0, 2**64)."""
    if type(value) is not HashKey:
        raise TypeError(
            f"{kernel}: key must be a hotpath.hashkey.HashKey, got {type(value).__name__}"
        )
    k0, k1 = value
    if not (type(k0) is int and type(k1) is int and 0 <= k0 < SEED_LIMIT and 0 <= k1 < SEED_LIMIT):
        raise ValueError(f"{kernel}: key words must be ints in [0, 2**64)")
    return k0, k1


def aggregate_into(
    device_id: Any, kwh: Any, count: Any, total: Any, minimum: Any, maximum: Any
) -> None:
    k = "aggregate_into"
    _lengths(
        k,
        ("device_id", _array(k, "device_id", device_id, U32)),
        ("kwh", _array(k, "kwh", kwh, F64)),
    )
    _lengths(
        k,
        ("count", _array(k, "count", count, I64, output=True)),
        ("total", _array(k, "total", total, F64, output=True)),
        ("minimum", _array(k, "minimum", minimum, F64, output=True)),
        ("maximum", _array(k, "maximum", maximum, F64, output=True)),
    )
    _disjoint(
        k,
        (("count", count), ("total", total), ("minimum", minimum), ("maximum", maximum)),
        (("device_id", device_id), ("kwh", kwh)),
    )


def duplicates_into(device_id: Any, timestamp: Any, key: Any, out: Any) -> tuple[int, int]:
    """The key's words, once every argument is checked."""
    k = "duplicates_into"
    _lengths(
        k,
        ("device_id", _array(k, "device_id", device_id, U32)),
        ("timestamp", _array(k, "timestamp", timestamp, I64)),
        ("out", _array(k, "out", out, BOOL, output=True)),
    )
    _disjoint(k, (("out", out),), (("device_id", device_id), ("timestamp", timestamp)))
    return hash_key(k, key)


def factorize_into(device_id: Any, key: Any, codes: Any, uniques: Any) -> tuple[int, int]:
    """The key's words, once every argument is checked: codes and uniques are as long as
    device_id (uniques has room for every row being distinct)."""
    k = "factorize_into"
    _lengths(
        k,
        ("device_id", _array(k, "device_id", device_id, U32)),
        ("codes", _array(k, "codes", codes, U32, output=True)),
        ("uniques", _array(k, "uniques", uniques, U32, output=True)),
    )
    _disjoint(k, (("codes", codes), ("uniques", uniques)), (("device_id", device_id),))
    return hash_key(k, key)


def xxh64(data: Any, seed_value: Any) -> int:
    """The seed as an int, once ``data`` and the seed are checked."""
    _array("xxh64", "data", data, U8)
    return seed(seed_value)


def hash_rows_into(device_id: Any, timestamp: Any, kwh: Any, seed_value: Any, out: Any) -> int:
    """The seed as an int, once every argument is checked."""
    k = "hash_rows_into"
    _lengths(
        k,
        ("device_id", _array(k, "device_id", device_id, U32)),
        ("timestamp", _array(k, "timestamp", timestamp, I64)),
        ("kwh", _array(k, "kwh", kwh, F64)),
        ("out", _array(k, "out", out, U64, output=True)),
    )
    _disjoint(
        k, (("out", out),), (("device_id", device_id), ("timestamp", timestamp), ("kwh", kwh))
    )
    return seed(seed_value)
