"""The job in pandas: ``read_csv`` per file, ``concat``, ``duplicated(keep="first")``,
``groupby().agg()`` -- the version most Python engineers would write first."""

from __future__ import annotations

from collections.abc import Callable

from hotpath.engines import PeerJob, devices_from, fingerprint
from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.grammar import COLUMNS
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS, pandas_float_options
from hotpath.pipeline.report import Devices


class PandasJob(PeerJob):
    name = "pandas"
    description = "pandas: read_csv + concat -> duplicated() -> groupby().agg()"
    module = "pandas"

    def job(
        self, files: list[str], clock: Stopwatch
    ) -> tuple[int, int, Devices, Callable[[], int]]:
        import pandas as pd

        def load() -> pd.DataFrame:
            parts = [
                pd.read_csv(
                    path,
                    usecols=list(COLUMNS),
                    dtype={"device_id": "uint32", "timestamp": "int64", "kwh": "float64"},
                    keep_default_na=False,
                    na_values=["", *NAN_SPELLINGS],
                    **pandas_float_options(),  # correctly rounded, as float() is
                )
                for path in files
            ]
            return pd.concat(parts, ignore_index=True)

        frame = clock.time("load", load)
        kept = clock.time(
            "dedup", lambda: frame[~frame.duplicated(["device_id", "timestamp"], keep="first")]
        )
        stats = clock.time(
            "aggregate",
            lambda: kept.groupby("device_id", sort=True)["kwh"].agg(["count", "sum", "min", "max"]),
        )
        devices = devices_from(
            stats.index.to_numpy(), *(stats[c].to_numpy() for c in ("count", "sum", "min", "max"))
        )
        return (
            len(frame),
            len(frame) - len(kept),
            devices,
            lambda: fingerprint(
                kept["device_id"].to_numpy(), kept["timestamp"].to_numpy(), kept["kwh"].to_numpy()
            ),
        )


ENGINE = PandasJob()
