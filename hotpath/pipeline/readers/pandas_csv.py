"""pandas' ``read_csv``: its C parser (``pandas``) or Arrow's (``pandas-pyarrow``).

Before pandas 3, its default float parser is faster but not correctly rounded (it can differ
from ``float()`` in the last bit): there the reader asks for ``float_precision="round_trip"``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS, Guarded, pandas_float_options


class PandasReader(Guarded):
    def __init__(self, name: str) -> None:
        self.name = name
        self.engine = "pyarrow" if name == "pandas-pyarrow" else "c"
        # Arrow's parser fails on a record with too few fields; pandas' own pads it.
        self.pads_short_records = self.engine == "c"

    def available(self) -> str:
        needed = ["pandas"] + (["pyarrow"] if self.engine == "pyarrow" else [])
        missing = [m for m in needed if importlib.util.find_spec(m) is None]
        return f"{' and '.join(missing)} not installed" if missing else ""

    def _columns(self, path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import pandas as pd

        options = pandas_float_options() if self.engine == "c" else {}
        frame = pd.read_csv(
            path,
            engine=self.engine,
            usecols=list(COLUMNS),
            # Told "int64", pandas casts "1.0" and even "1.5" to an integer without a word;
            # inferred, such a column comes out as floats, which the checks then refuse.
            dtype={"kwh": "float64"},
            keep_default_na=False,
            na_values=["", *NAN_SPELLINGS],  # only kwh can be missing: elsewhere it fails
            encoding="utf-8",
            **options,
        )
        kwh = frame["kwh"].to_numpy()
        if self.engine == "pyarrow":
            # Arrow infers a column of whole numbers as integers and pandas then casts them:
            # "-0" becomes 0.0. Only a column without a single fraction can have lost that.
            present = kwh[~np.isnan(kwh)]
            if len(present) and (present == np.trunc(present)).all():
                raise ValueError("kwh holds whole numbers only: read as integers, then cast")
        return frame["device_id"].to_numpy(), frame["timestamp"].to_numpy(), kwh


def reader(name: str) -> PandasReader:
    return PandasReader(name)
