"""The job in polars, as its user guide would write it: ``scan_csv`` of each file, the first
row of each (device, timestamp) kept, ``group_by().agg()``. Multi-threaded throughout."""

from __future__ import annotations

from collections.abc import Callable

from hotpath.engines import PeerJob, devices_from, fingerprint
from hotpath.pipeline.analytics import Stopwatch
from hotpath.pipeline.readers.guarded import NAN_SPELLINGS
from hotpath.pipeline.report import Devices


class PolarsJob(PeerJob):
    name = "polars"
    description = "polars: scan_csv -> is_first_distinct -> group_by().agg()"
    module = "polars"

    def job(
        self, files: list[str], clock: Stopwatch
    ) -> tuple[int, int, Devices, Callable[[], int]]:
        import polars as pl

        def load() -> pl.DataFrame:
            # One scan per file (files may order their columns differently, or add others),
            # blank lines dropped: polars reads one as a row of nulls.
            columns = pl.col("device_id", "timestamp", "kwh")
            scans = [
                pl.scan_csv(
                    path,
                    schema_overrides={
                        "device_id": pl.UInt32,
                        "timestamp": pl.Int64,
                        "kwh": pl.Float64,
                    },
                    null_values=["", *NAN_SPELLINGS],  # a missing reading is null to polars
                )
                .select(columns)
                .filter(~pl.all_horizontal(columns.is_null()))
                for path in files
            ]
            return pl.concat(scans).collect()

        frame = clock.time("load", load)
        kept = clock.time(
            "dedup", lambda: frame.filter(pl.struct("device_id", "timestamp").is_first_distinct())
        )
        kwh = pl.col("kwh")
        stats = clock.time(
            "aggregate",
            lambda: (
                kept.group_by("device_id")
                .agg(
                    kwh.count().alias("count"),
                    kwh.sum().alias("total"),
                    kwh.min().alias("minimum"),
                    kwh.max().alias("maximum"),
                )
                .sort("device_id")
            ),
        )
        devices = devices_from(
            *(
                stats[c].fill_null(float("nan")).to_numpy()
                for c in ("device_id", "count", "total", "minimum", "maximum")
            )
        )
        return (
            frame.height,
            frame.height - kept.height,
            devices,
            lambda: fingerprint(
                kept["device_id"].to_numpy(),
                kept["timestamp"].to_numpy(),
                kept["kwh"].fill_null(float("nan")).to_numpy(),
            ),
        )


ENGINE = PolarsJob()
