"""The array boundary every non-reference backend shares.

python_ref states the contract. This module makes it hold for backends whose
kernels work on NumPy arrays: it accepts any 1-D sequence, buffer or array,
checks it in the order python_ref does (element kinds, then lengths, then
ranges), raises the same exceptions with the same messages, and hands the
kernels canonical C-contiguous arrays -- ``uint32`` ids, ``int64`` timestamps,
``float64`` kwh, ``uint8`` bytes -- so each technology writes one tight loop per
kernel instead of one per input type. Conversion copies only when the input is
not already canonical (other dtype, strided, byte-swapped).

The messages are python_ref's because the checks are: every column first
passes python_ref's :func:`~python_ref._checks.one_dimensional`, and a column
NumPy does not read as plain numbers (strings, dates, records, ragged nesting,
sets, ints beyond 64 bits) goes to python_ref's own element checks, which raise
its error or return the values.

A backend provides the *raw* kernels (see :class:`RawKernels`) and gets the five
public functions from :func:`bind`. The kernels built on hash tables (``duplicates``,
``factorize``) take the process's secret hash key, :data:`hotpath.hashkey.KEY`, as an
argument: this module hands it over, and counts what their tables report (:func:`bind`'s
``stats``).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

import python_ref
from hotpath import hashkey
from hotpath.hashkey import HashKey
from python_ref._checks import (
    INT64_LIMIT,
    INT64_MIN,
    UINT32_LIMIT,
    check_data,
    check_n_devices,
    check_seed,
    integer_list,
    one_dimensional,
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
        key: HashKey,
        out: npt.NDArray[np.bool_],
    ) -> tuple[int, int]:
        """Fill ``out``; return the hash tables' ``(probes, fallbacks)`` (see TableStats)."""

    def factorize_into(
        self,
        device_id: npt.NDArray[np.uint32],
        key: HashKey,
        codes: npt.NDArray[np.uint32],
        uniques: npt.NDArray[np.uint32],
    ) -> tuple[int, int, int]:
        """Fill ``codes`` and the first k entries of ``uniques`` (both as long as
        device_id); return ``(k, probes, fallbacks)``."""

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


class Factorized(NamedTuple):
    codes: npt.NDArray[np.uint32]
    uniques: npt.NDArray[np.uint32]


class TableStats:
    """What a backend's hash tables did, summed over calls, per kernel: ``calls``, ``rows``,
    ``probes`` (occupied slots passed over before a row found its slot: ~0.2-0.5 per row on
    random keys) and ``fallbacks`` (tables or partitions whose probing went past the bound and
    that were sorted instead). A diagnostic for tests and benchmarks: never part of a result."""

    KERNELS = ("duplicates", "factorize")

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the kernels release the GIL: calls may overlap
        self._totals = {kernel: [0, 0, 0, 0] for kernel in self.KERNELS}

    def add(self, kernel: str, rows: int, probes: int, fallbacks: int) -> None:
        with self._lock:
            totals = self._totals[kernel]
            totals[0] += 1
            totals[1] += rows
            totals[2] += probes
            totals[3] += fallbacks

    def __call__(self) -> dict[str, dict[str, int]]:
        """A snapshot: ``{"duplicates": {"calls": ..., "rows": ..., "probes": ...,
        "fallbacks": ...}, "factorize": {...}}``."""
        with self._lock:
            return {
                kernel: dict(zip(("calls", "rows", "probes", "fallbacks"), totals))
                for kernel, totals in self._totals.items()
            }


class Kernels(NamedTuple):
    """The five public functions of a backend, in contract order, and its table statistics."""

    aggregate: Callable[..., Aggregates]
    duplicates: Callable[..., npt.NDArray[np.bool_]]
    xxh64: Callable[..., int]
    hash_rows: Callable[..., npt.NDArray[np.uint64]]
    factorize: Callable[..., Factorized]
    stats: TableStats


# -- columns -----------------------------------------------------------------


def _column(values: Any, name: str) -> tuple[Any, np.ndarray | None]:
    """The column, checked by python_ref's first rule, and NumPy's reading of it
    as a 1-D array of whatever dtype, or None where NumPy reads no such array."""
    if type(values) is np.ndarray and values.ndim == 1:  # the common case: no subclass, no mask
        return values, values
    one_dimensional(values, name)
    if isinstance(values, np.ndarray):
        return values, values
    if isinstance(values, (bytes, bytearray)):
        return values, np.frombuffer(values, np.uint8)  # a buffer of small integers
    try:
        array = np.asarray(values)
        if array.ndim == 0:  # a set, dict view or generator: one object to NumPy
            values = list(values)  # as python_ref lists it
            array = np.asarray(values)
    except (TypeError, ValueError):  # ragged nesting, objects NumPy cannot hold
        return values, None
    return values, array if array.ndim == 1 else None


def _integers(values: Any, name: str) -> np.ndarray:
    values, array = _column(values, name)
    if array is not None and array.dtype.kind in "iub":
        return array
    # The rest is python_ref's to judge: its check raises its own error, or
    # returns the ints (Python ints beyond 64 bits, or spanning int64 and uint64,
    # which NumPy reads as objects or floats; an empty float array).
    return np.array(integer_list(values, name), dtype=object)


def _reals(values: Any, name: str) -> np.ndarray:
    values, array = _column(values, name)
    if array is not None and array.dtype.kind in "fiub":
        return canonical(array, KWH_DTYPE)
    return np.array(real_list(values, name), dtype=KWH_DTYPE)


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
    check_data(data)
    view = memoryview(data)  # TypeError for str and other non-buffers
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return np.frombuffer(view.cast("B"), np.uint8)


# -- binding raw kernels to the public contract ------------------------------


def bind(raw: RawKernels) -> Kernels:
    """The five public functions, checked and converted, over ``raw``'s kernels, and the
    :class:`TableStats` of their hash tables.

    Docstrings are python_ref's: the contract is the same.
    """
    stats = TableStats()

    def aggregate(device_id: Any, kwh: Any, n_devices: int) -> Aggregates:
        n_devices = check_n_devices(n_devices)
        ids = _integers(device_id, "device_id")
        values = _reals(kwh, "kwh")
        same_length(device_id=ids, kwh=values)
        ids = device_ids(ids, n_devices)
        try:
            result = Aggregates(
                np.empty(n_devices, np.int64),
                np.empty(n_devices, KWH_DTYPE),
                np.empty(n_devices, KWH_DTYPE),
                np.empty(n_devices, KWH_DTYPE),
            )
        except ValueError as error:  # "array is too big": python_ref's lists say MemoryError
            raise MemoryError(str(error)) from None
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
        probes, fallbacks = raw.duplicates_into(ids, stamps, hashkey.KEY, out)
        stats.add("duplicates", len(ids), probes, fallbacks)
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

    def factorize(device_id: Any) -> Factorized:
        ids = device_ids(_integers(device_id, "device_id"))
        n = len(ids)
        codes, uniques = np.empty(n, ID_DTYPE), np.empty(n, ID_DTYPE)  # room for n distinct
        found, probes, fallbacks = raw.factorize_into(ids, hashkey.KEY, codes, uniques)
        stats.add("factorize", n, probes, fallbacks)
        return Factorized(codes, uniques if found == n else uniques[:found].copy())

    functions = (aggregate, duplicates, xxh64, hash_rows, factorize)
    for function in functions:
        function.__doc__ = getattr(python_ref, function.__name__).__doc__
    return Kernels(*functions, stats)
