"""polars' ``read_csv``, multi-threaded inside one file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS, Guarded


class PolarsReader(Guarded):
    name = "polars"
    pads_short_records = True  # missing fields at the end of a record become nulls

    def available(self) -> str:
        return "" if importlib.util.find_spec("polars") else "polars not installed"

    def _columns(self, path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import polars as pl

        frame = pl.read_csv(
            data,
            columns=list(COLUMNS),
            schema_overrides={"device_id": pl.Int64, "timestamp": pl.Int64, "kwh": pl.Float64},
            null_values=["", *NAN_SPELLINGS],
        )
        if frame["device_id"].null_count() or frame["timestamp"].null_count():
            raise ValueError("a missing device id or timestamp")
        kwh = frame["kwh"].fill_null(float("nan"))
        return frame["device_id"].to_numpy(), frame["timestamp"].to_numpy(), kwh.to_numpy()


def reader(name: str) -> PolarsReader:
    return PolarsReader()
