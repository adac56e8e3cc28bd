"""Readings in a binary format, as ``hotpath convert`` writes them: Parquet, Arrow IPC (a
Feather v2 file) or NumPy's ``.npz``. The columns are stored typed, so there is nothing to
parse and nothing to reject -- what leaving text behind buys. A file without the three
columns of the right types is rejected whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hotpath.pipeline.errors import Reject
from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.readers.base import Parsed, empty_arrays

DTYPES = {"device_id": np.uint32, "timestamp": np.int64, "kwh": np.float64}


class BinaryReader:
    releases_gil = True  # pyarrow and NumPy's file reads release it
    arrays = True

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        self.name = suffix.lstrip(".")

    def available(self) -> str:
        if self.suffix == ".npz":
            return ""
        import importlib.util

        return "" if importlib.util.find_spec("pyarrow") else "pyarrow not installed"

    def _columns(self, path: Path) -> dict[str, np.ndarray]:
        if self.suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in COLUMNS if name in archive}
        if self.suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            import pyarrow.feather as feather

            table = feather.read_table(path, memory_map=True)
        return {n: table[n].to_numpy() for n in COLUMNS if n in table.column_names}

    def read(self, path: Path) -> Parsed:
        where = str(path)
        try:
            columns = self._columns(path)
        except Exception as error:  # a damaged or foreign file: reject it, name it
            return self._rejected(where, f"cannot read it as {self.name}: {error}")
        wrong = [n for n in COLUMNS if n not in columns or columns[n].dtype != DTYPES[n]]
        if wrong:
            return self._rejected(where, f"no {', '.join(wrong)} column of the right type")
        rows = len(columns["device_id"])
        if any(len(columns[n]) != rows for n in COLUMNS):
            return self._rejected(where, "columns of different lengths")
        return Parsed(where, *(columns[n] for n in COLUMNS), rows)

    @staticmethod
    def _rejected(where: str, reason: str) -> Parsed:
        return Parsed(where, *empty_arrays(), 0, [], Reject(where, 1, reason, b""))


def reader(suffix: str) -> BinaryReader:
    return BinaryReader(suffix)
