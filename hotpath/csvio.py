"""Meter readings as CSV, with the standard library only.

The format: a header ``device_id,timestamp,kwh``, one reading per line, kwh
written with ``repr`` so every float survives the round trip exactly, and a
missing reading (NaN) written as an empty field. No NumPy here: the PyPy,
GraalPy and WebAssembly drivers read datasets through this module.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from os import PathLike
from typing import List, Tuple, Union

HEADER = ("device_id", "timestamp", "kwh")
Columns = Tuple[List[int], List[int], List[float]]


def write_csv(
    path: Union[str, PathLike],
    device_id: Iterable[int],
    timestamp: Iterable[int],
    kwh: Iterable[float],
) -> None:
    with open(path, "w", newline="", encoding="ascii") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(
            (int(d), int(t), "" if math.isnan(k) else repr(float(k)))
            for d, t, k in zip(device_id, timestamp, kwh)
        )


def read_csv(path: Union[str, PathLike]) -> Columns:
    """The three columns of a readings file, as lists."""
    ids: List[int] = []
    stamps: List[int] = []
    values: List[float] = []
    with open(path, newline="", encoding="ascii") as file:
        reader = csv.reader(file)
        header = tuple(next(reader, ()))
        if header != HEADER:
            raise ValueError(f"{path}: expected header {','.join(HEADER)}, got {header}")
        for line, row in enumerate(reader, start=2):
            try:
                device, stamp, value = row
                ids.append(int(device))
                stamps.append(int(stamp))
                values.append(float(value) if value else math.nan)
            except ValueError as error:
                raise ValueError(f"{path}:{line}: {error}") from None
    return ids, stamps, values
