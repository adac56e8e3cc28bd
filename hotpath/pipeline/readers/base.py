"""What a reader is and what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hotpath.pipeline.errors import Reject


@dataclass
class Parsed:
    """One file, read: the accepted rows as three columns, in file order, and what was
    rejected. ``rows_read`` counts every data record (blank lines aside), rejected ones too."""

    path: str
    device_id: Sequence[int] | np.ndarray
    timestamp: Sequence[int] | np.ndarray
    kwh: Sequence[float] | np.ndarray
    rows_read: int
    rejects: list[Reject] = field(default_factory=list)
    # A fault of the whole file (no header, say): then every record of it is in ``rejects``.
    file_error: Reject | None = None
    # Why the reference reader read it instead of the one asked for (readers/guarded.py).
    fallback: str = ""

    @property
    def rows(self) -> int:
        return len(self.device_id)


class Reader(Protocol):
    name: str
    # Whether reading releases the GIL, so threads read files in parallel (else processes).
    releases_gil: bool
    # Whether the columns come back as NumPy arrays (else lists: the pure-Python path).
    arrays: bool

    def available(self) -> str:
        """ "" when it can run here, else why not."""

    def read(self, path: Path) -> Parsed: ...


def rows_at_most(size: int) -> int:
    """Rows a readings file of ``size`` bytes can hold: a CSV record takes four bytes or more
    ("0,0," and a line break), a row of the binary formats twenty (Parquet compresses: the
    loader grows its columns if a file holds more)."""
    return size // 4 + 1


def empty_arrays() -> tuple[Any, Any, Any]:
    return np.empty(0, np.uint32), np.empty(0, np.int64), np.empty(0, np.float64)
