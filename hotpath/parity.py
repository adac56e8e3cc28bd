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


def _first_difference(
    name: str, got: np.ndarray, want: np.ndarray, differ: np.ndarray | None = None
) -> str | None:
    """The first element where ``differ`` (default: ``got != want``) holds, described."""
    if got.shape != want.shape:
        return f"{name}: shape {got.shape} != {want.shape}"
    if differ is None:
        differ = got != want
    if not differ.any():
        return None
    i = int(np.argmax(differ))
    # .item(): Python's repr (-0.0, 1.25, True), not NumPy's (np.float64(1.25))
    mine, theirs = got[i].item(), want[i].item()
    return f"{name}[{i}]: got {mine!r}, want {theirs!r} ({int(differ.sum())} differ)"


def _float_difference(name: str, got: Any, want: Any, exact: bool) -> str | None:
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if g.shape != w.shape:
        return _first_difference(name, g, w)
    if exact:
        return _first_difference(name, g, w, _bits(g) != _bits(w))
    if name == "total":
        same = np.isclose(g, w, rtol=INEXACT_RTOL, atol=0.0, equal_nan=True)
    else:
        same = (g == w) | (np.isnan(g) & np.isnan(w))
    return _first_difference(name, g, w, ~same)


def mismatch(kernel: str, got: Any, want: Any, *, exact: bool = True) -> str | None:
    """None when ``got`` agrees with the reference result ``want``, else the
    first difference, described.

    Floats compare by their bits, the sign of zero included; a NaN equals any
    NaN in aggregate's columns (the contract promises NaN there, not a payload),
    while hash_rows hashes the payloads. When not ``exact`` (a parallel backend or
    peer, free to reduce in another order), totals compare within
    ``INEXACT_RTOL`` and minimum and maximum as values, so either zero may win a tie.
    """
    if kernel == "aggregate":
        names = ("count", "total", "minimum", "maximum")
        if len(got) != 4:
            return f"aggregate returned {len(got)} columns, not 4"
        for name, g, w in zip(names, got, want):
            if name == "count":
                found = _first_difference(name, np.asarray(g, np.int64), np.asarray(w, np.int64))
            else:
                found = _float_difference(name, g, w, exact)
            if found:
                return found
        return None
    if kernel == "duplicates":
        return _first_difference(kernel, np.asarray(got, np.bool_), np.asarray(want, np.bool_))
    if kernel == "factorize":
        if len(got) != 2:
            return f"factorize returned {len(got)} columns, not 2"
        for name, g, w in zip(("codes", "uniques"), got, want):
            found = _first_difference(name, np.asarray(g, np.int64), np.asarray(w, np.int64))
            if found:
                return found
        return None
    if kernel == "hash_rows":
        return _first_difference(kernel, np.asarray(got, np.uint64), np.asarray(want, np.uint64))
    if kernel == "xxh64":
        return None if got == want else f"xxh64: got {got:#x}, want {want:#x}"
    raise KeyError(kernel)
