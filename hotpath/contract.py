"""The array boundary every non-reference backend shares.

python_ref states the contract. This module makes it hold for backends whose
kernels work on NumPy arrays: it accepts any 1-D sequence, buffer or array,
checks it in the order python_ref does (element kinds, then lengths, then
ranges), raises the same exceptions with the same messages, and hands the
kernels canonical C-contiguous arrays -- ``uint32`` ids, ``int64`` timestamps,
``float64`` kwh, ``uint8`` bytes -- so each technology writes one tight loop per
kernel instead of one per input type. Conversion copies only when the input is
not already canonical (other dtype, strided, byte-swapped).

A backend provides the *raw* kernels (see :class:`RawKernels`) and gets the four
public functions from :func:`bind`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Callable, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

import python_ref
from python_ref._checks import (
    INT64_LIMIT,
    INT64_MIN,
    UINT32_LIMIT,
    check_n_devices,
    check_seed,
    integer_list,
    real_list,
    same_length,
)

ID_DTYPE = np.dtype(np.uint32)
TIMESTAMP_DTYPE = np.dtype(np.int64)
KWH_DTYPE = np.dtype(np.float64)


class RawKernels(Protocol):
    """What a backend implements: kernels on canonical, already-checked arrays.

    Inputs are 1-D C-contiguous and may be read-only; outputs are freshly
    allocated, writable, and sized by the caller. Called directly, a raw
    kernel checks all of this itself and raises (see hotpath.rawchecks).
    """

    def aggregate_into(
        self,
        device_id: npt.NDArray[np.uint32],
        kwh: npt.NDArray[np.float64],
        count: npt.NDArray[np.int64],
        total: npt.NDArray[np.float64],
        minimum: npt.NDArray[np.float64],
        maximum: npt.NDArray[np.float64],
    ) -> int:
        """Fill the outputs (length n_devices); return -1, or the index of the
        first row whose id is >= n_devices."""

    def duplicates_into(
        self,
        device_id: npt.NDArray[np.uint32],
        timestamp: npt.NDArray[np.int64],
        out: npt.NDArray[np.bool_],
    ) -> None: ...

    def xxh64(self, data: npt.NDArray[np.uint8], seed: int) -> int: ...

    def hash_rows_into(
        self,
        device_id: npt.NDArray[np.uint32],
        timestamp: npt.NDArray[np.int64],
        kwh: npt.NDArray[np.float64],
        seed: int,
        out: npt.NDArray[np.uint64],
    ) -> None: ...


class Aggregates(NamedTuple):
    count: npt.NDArray[np.int64]
    total: npt.NDArray[np.float64]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]


class Kernels(NamedTuple):
    """The four public functions of a backend, in contract order."""

    aggregate: Callable[..., Aggregates]
    duplicates: Callable[..., npt.NDArray[np.bool_]]
    xxh64: Callable[..., int]
    hash_rows: Callable[..., npt.NDArray[np.uint64]]


# -- columns -----------------------------------------------------------------


def _column(values: Any, name: str) -> np.ndarray:
    """Any accepted column as a 1-D NumPy array of whatever dtype it has."""
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of numbers, not str")
    if isinstance(values, (bytes, bytearray)):
        return np.frombuffer(values, np.uint8)  # a buffer of small integers
    if not isinstance(values, np.ndarray):
        if isinstance(values, Iterable) and not hasattr(values, "__len__"):
            values = list(values)  # generators and other one-shot iterables
        try:
            values = np.asarray(values)
        except ValueError:  # ragged nesting
            raise ValueError(f"{name} must be one-dimensional") from None
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    return values


def _integers(values: Any, name: str) -> np.ndarray:
    array = _column(values, name)
    kind = array.dtype.kind
    if kind in "iub":
        return array
    if kind == "f" and isinstance(values, (list, tuple)):
        # NumPy turns a list of ints spanning int64 and uint64 into floats.
        array, kind = np.array(values, dtype=object), "O"
    if kind == "O":  # Python objects: check them exactly as python_ref does
        return np.array(integer_list(array, name), dtype=object)
    raise TypeError(f"{name} must hold integers, found {array.dtype}")


def _reals(values: Any, name: str) -> np.ndarray:
    array = _column(values, name)
    kind = array.dtype.kind
    if kind in "fiub":
        return canonical(array, KWH_DTYPE)
    if kind == "O":
        return np.array(real_list(array, name), dtype=KWH_DTYPE)
    raise TypeError(f"{name} must hold real numbers, found {array.dtype}")


def _in_range(array: np.ndarray, low: int, high: int, what: str, dtype: np.dtype) -> np.ndarray:
    """``array`` as ``dtype``, after checking every value lies in [low, high)."""
    if array.dtype.kind in "iub" and array.dtype != np.bool_:
        info = np.iinfo(array.dtype)
        fits = info.min >= low and info.max < high
    else:
        fits = array.dtype == np.bool_ and low <= 0 and high > 1
    if not fits and array.size:
        outside = (array < low) | (array >= high)
        if outside.any():
            value = array[np.argmax(outside)]
            raise ValueError(f"{what} {int(value)} outside [{low}, {high})")
    return canonical(array, dtype)


def canonical(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` as C-contiguous, aligned, native-order ``dtype``; a copy only
    if it is not that already (a slice of a byte buffer can be misaligned)."""
    return np.require(array, dtype, ["C_CONTIGUOUS", "ALIGNED"])


def device_ids(array: np.ndarray, high: int = UINT32_LIMIT) -> npt.NDArray[np.uint32]:
    """Checked ids as uint32. A uint32 input is passed through unchecked when
    ``high`` is below 2**32: the kernel checks it in its own loop."""
    if array.dtype == ID_DTYPE:
        return canonical(array, ID_DTYPE)
    return _in_range(array, 0, high, "device id", ID_DTYPE)


def timestamps(array: np.ndarray) -> npt.NDArray[np.int64]:
    return _in_range(array, INT64_MIN, INT64_LIMIT, "timestamp", TIMESTAMP_DTYPE)


def as_bytes(data: Any) -> npt.NDArray[np.uint8]:
    """The bytes of any buffer, in C order, as a flat uint8 array (no copy when
    the buffer is already contiguous)."""
    view = memoryview(data)  # TypeError for str and other non-buffers
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return np.frombuffer(view.cast("B"), np.uint8)


# -- binding raw kernels to the public contract ------------------------------


def bind(raw: RawKernels) -> Kernels:
    """The four public functions, checked and converted, over ``raw``'s kernels.

    Docstrings are python_ref's: the contract is the same.
    """

    def aggregate(device_id: Any, kwh: Any, n_devices: int) -> Aggregates:
        n_devices = check_n_devices(n_devices)
        ids = _integers(device_id, "device_id")
        values = _reals(kwh, "kwh")
        same_length(device_id=ids, kwh=values)
        ids = device_ids(ids, n_devices)
        result = Aggregates(
            np.empty(n_devices, np.int64),
            np.empty(n_devices, KWH_DTYPE),
            np.empty(n_devices, KWH_DTYPE),
            np.empty(n_devices, KWH_DTYPE),
        )
        bad = raw.aggregate_into(ids, values, *result)
        if bad >= 0:
            raise ValueError(f"device id {int(ids[bad])} outside [0, {n_devices})")
        return result

    def duplicates(device_id: Any, timestamp: Any) -> npt.NDArray[np.bool_]:
        ids = _integers(device_id, "device_id")
        stamps = _integers(timestamp, "timestamp")
        same_length(device_id=ids, timestamp=stamps)
        ids, stamps = device_ids(ids), timestamps(stamps)
        out = np.empty(len(ids), np.bool_)
        raw.duplicates_into(ids, stamps, out)
        return out

    def xxh64(data: Any, seed: int = 0) -> int:
        seed = check_seed(seed)
        return int(raw.xxh64(as_bytes(data), seed))

    def hash_rows(
        device_id: Any, timestamp: Any, kwh: Any, seed: int = 0
    ) -> npt.NDArray[np.uint64]:
        seed = check_seed(seed)
        ids = _integers(device_id, "device_id")
        stamps = _integers(timestamp, "timestamp")
        values = _reals(kwh, "kwh")
        same_length(device_id=ids, timestamp=stamps, kwh=values)
        ids, stamps = device_ids(ids), timestamps(stamps)
        out = np.empty(len(ids), np.uint64)
        raw.hash_rows_into(ids, stamps, values, seed, out)
        return out

    kernels = Kernels(aggregate, duplicates, xxh64, hash_rows)
    for function in kernels:
        function.__doc__ = getattr(python_ref, function.__name__).__doc__
    return kernels
