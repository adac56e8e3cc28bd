"""Does a backend's result agree with python_ref's? One answer, used by the tests
and by the benchmark harness before any timing is shown.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# A parallel backend may sum in another order; it declares itself inexact in the
# registry and its totals are compared with this relative tolerance.
INEXACT_RTOL = 1e-9


def _bits(values: Any) -> np.ndarray:
    """float64 bit patterns with every NaN made the same NaN."""
    array = np.array(values, dtype=np.float64)
    array[np.isnan(array)] = np.nan
    return array.view(np.uint64)


def _first_difference(name: str, got: np.ndarray, want: np.ndarray) -> str | None:
    if got.shape != want.shape:
        return f"{name}: shape {got.shape} != {want.shape}"
    differ = got != want
    if not differ.any():
        return None
    i = int(np.argmax(differ))
    return f"{name}[{i}]: got {got[i]!r}, want {want[i]!r} ({int(differ.sum())} differ)"


def mismatch(kernel: str, got: Any, want: Any, *, exact: bool = True) -> str | None:
    """None when ``got`` agrees with the reference result ``want``, else the
    first difference, described.

    Sums must match bit for bit when ``exact``; minimum and maximum compare as
    values (0.0 == -0.0, NaN == NaN); everything else exactly.
    """
    if kernel == "aggregate":
        names = ("count", "total", "minimum", "maximum")
        if len(got) != 4:
            return f"aggregate returned {len(got)} columns, not 4"
        for name, g, w in zip(names, got, want):
            if name == "count":
                found = _first_difference(name, np.asarray(g, np.int64), np.asarray(w, np.int64))
            elif name == "total" and exact:
                found = _first_difference(name, _bits(g), _bits(w))
            elif name == "total":
                g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
                close = np.isclose(g, w, rtol=INEXACT_RTOL, atol=0.0, equal_nan=True)
                found = None if close.all() else _first_difference(name, g, w)
            else:
                g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
                same = (g == w) | (np.isnan(g) & np.isnan(w))
                found = None if g.shape == w.shape and same.all() else _first_difference(name, g, w)
            if found:
                return found
        return None
    if kernel == "duplicates":
        return _first_difference(kernel, np.asarray(got, np.bool_), np.asarray(want, np.bool_))
    if kernel == "hash_rows":
        return _first_difference(kernel, np.asarray(got, np.uint64), np.asarray(want, np.uint64))
    if kernel == "xxh64":
        return None if got == want else f"xxh64: got {got:#x}, want {want:#x}"
    raise KeyError(kernel)
