"""Input checks that define hotpath's bad-input contract (standard library only).

python_ref runs them on every call. ``hotpath.contract`` runs the same ones
first on every column (:func:`one_dimensional`), and hands any column NumPy
cannot read as plain numbers back to :func:`integer_list` or :func:`real_list`,
so every backend raises the same exception with the same message.
"""

from __future__ import annotations

import numbers
import operator
import struct
import sys
from collections.abc import Iterable, Sequence
from typing import Any, List

UINT32_LIMIT = 1 << 32
INT64_MIN = -(1 << 63)
INT64_LIMIT = 1 << 63
UINT64_LIMIT = 1 << 64


def _is_masked(value: Any) -> bool:
    """A numpy.ma.MaskedArray (or its ``masked`` constant), known by name: this
    module cannot import NumPy."""
    return any(
        cls.__name__ == "MaskedArray" and cls.__module__.startswith("numpy.ma")
        for cls in type(value).__mro__
    )


def _is_numpy_bool(value: Any) -> bool:
    # NumPy's bool is neither an index nor a numbers.Real, yet it is a bool.
    cls = type(value)
    return cls.__module__ == "numpy" and cls.__name__ in ("bool", "bool_")


def one_dimensional(column: Any, name: str) -> None:
    """Raise unless ``column`` can be a column at all: not a string, not masked,
    iterable and one-dimensional."""
    if isinstance(column, str):
        raise TypeError(f"{name} must be a sequence of numbers, not str")
    if _is_masked(column):
        # The mask says which values to ignore; no kernel has that notion, and
        # reading past it would silently use the values underneath.
        raise ValueError(f"{name} must not be a masked array: fill the masked values first")
    if getattr(column, "ndim", 1) != 1 or not isinstance(column, Iterable):
        raise ValueError(f"{name} must be one-dimensional")


def _memoryview_items(view: memoryview, name: str) -> List[Any]:
    try:
        return view.tolist()
    except NotImplementedError:  # byte-order prefixes ('>I', '<d') and half floats ('e')
        pass
    try:
        return [item for (item,) in struct.iter_unpack(view.format, view.tobytes())]
    except (struct.error, ValueError):  # structured records and other non-scalar formats
        raise TypeError(
            f"{name} must hold numbers, found memoryview format {view.format!r}"
        ) from None


def _elements(column: Any, name: str) -> Sequence[Any]:
    """The elements of a column, which must be one-dimensional."""
    one_dimensional(column, name)
    if isinstance(column, memoryview):
        return _memoryview_items(column, name)
    return column if isinstance(column, Sequence) else list(column)


def _wrong_element(item: Any, name: str, kind: str) -> Exception:
    """The error for an element that is not of the column's kind."""
    if isinstance(item, (str, bytes)):
        return TypeError(f"{name} must hold {kind}, found {type(item).__name__}")
    if _is_masked(item):
        return ValueError(f"{name} must not hold masked values: fill them first")
    if getattr(item, "ndim", 0) != 0 or isinstance(item, Iterable):
        return ValueError(f"{name} must be one-dimensional")
    return TypeError(f"{name} must hold {kind}, found {type(item).__name__}")


def integer_list(column: Any, name: str) -> List[int]:
    items = _elements(column, name)
    try:
        return [operator.index(item) for item in items]
    except TypeError:
        pass
    integers = []
    for item in items:
        if _is_numpy_bool(item):
            integers.append(int(item))
        elif _is_integer(item):
            integers.append(operator.index(item))
        else:
            raise _wrong_element(item, name, "integers")
    return integers


def _is_integer(value: Any) -> bool:
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def real_list(column: Any, name: str) -> List[float]:
    items = _elements(column, name)
    for item in items:
        # The exact-type test keeps the common case cheap; the ABC admits
        # ints, NumPy floats and fractions, and rejects str, complex, None.
        if type(item) is not float and not isinstance(item, numbers.Real):
            if not _is_numpy_bool(item):
                raise _wrong_element(item, name, "real numbers")
    return [float(item) for item in items]


def same_length(**columns: Sequence[Any]) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns differ in length: {lengths}")
    return next(iter(lengths.values()))


def check_range(values: Sequence[int], low: int, high: int, what: str) -> None:
    for value in values:
        if not low <= value < high:
            raise ValueError(f"{what} {value} outside [{low}, {high})")


def check_seed(seed: Any) -> int:
    seed = operator.index(seed)
    if not 0 <= seed < UINT64_LIMIT:
        raise ValueError(f"seed {seed} outside [0, 2**64)")
    return seed


def check_n_devices(n_devices: Any) -> int:
    n_devices = operator.index(n_devices)
    # n_devices is the results' length, and no list or array is longer than sys.maxsize.
    if not 1 <= n_devices <= sys.maxsize:
        raise ValueError(f"n_devices {n_devices} outside [1, {sys.maxsize}]")
    return n_devices


def check_data(data: Any) -> None:
    """xxh64's input: a masked array's buffer holds the values under its mask."""
    if _is_masked(data):
        raise ValueError("data must not be a masked array: fill the masked values first")
