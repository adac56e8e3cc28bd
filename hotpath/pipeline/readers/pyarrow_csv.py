"""pyarrow's CSV reader (``pyarrow.csv.read_csv``), multi-threaded inside one file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS, Guarded


class PyarrowReader(Guarded):
    name = "pyarrow"

    def available(self) -> str:
        return "" if importlib.util.find_spec("pyarrow") else "pyarrow not installed"

    def _columns(self, path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import pyarrow as pa
        import pyarrow.csv as pv

        table = pv.read_csv(
            path,
            convert_options=pv.ConvertOptions(
                include_columns=list(COLUMNS),
                column_types={
                    "device_id": pa.int64(),
                    "timestamp": pa.int64(),
                    "kwh": pa.float64(),
                },
                null_values=["", *NAN_SPELLINGS],
                strings_can_be_null=False,
            ),
        )
        ids, stamps = (table[n].to_numpy() for n in ("device_id", "timestamp"))
        # a null kwh is a missing reading; nulls elsewhere fail the checks (as floats)
        kwh = table["kwh"].to_numpy(zero_copy_only=False)
        return ids, stamps, kwh


def reader(name: str) -> PyarrowReader:
    return PyarrowReader()
