"""The classic PySpark tuning steps, measured by Spark's own metrics (``metrics``).

One job, two queries over the same readings: per-device statistics, and per-household
totals (a join of the readings with a small device -> household table). It starts the way
a first attempt often looks -- a row-at-a-time Python UDF cleaning the values, the readings
read again for each query, the rows repartitioned by a skewed key, a shuffle join of the
small table, adaptive query execution off with Spark's 200 shuffle partitions -- and the
steps are applied one after the other, each measured on its own job group:

1. built-ins instead of the row UDF (``F.when(~F.isnan(kwh), kwh)``: no Python at all);
2. caching the DataFrame that both queries read (read once);
3. repartitioning without the skewed key (round robin: even tasks; the aggregations combine
   map-side, so they never needed the rows co-located);
4. a broadcast join of the small table (the readings are not shuffled for the join);
5. AQE on (coalesces the 200 shuffle partitions into a few, and re-plans joins).

The last is the optimized job. The dataset is skewed on purpose (``write_skewed``): one
device sends a given share of all readings. Sums here are Spark's (a multi-threaded order),
not the exact report; this is about the engine's costs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hotpath import data
from hotpath.distributed.spark import metrics, tasks

STEPS = (
    ("baseline", "row UDF, no cache, repartition by device_id, shuffle join, AQE off"),
    ("built-ins", "F.when(~isnan) instead of the row UDF"),
    ("cache", "the readings cached, read once for both queries"),
    ("repartition", "round-robin repartition instead of by the skewed device_id"),
    ("broadcast", "broadcast join of the device -> household table"),
    ("aqe", "adaptive query execution on (the optimized job)"),
)
HOT_DEVICE = 4_000_000_000
HOUSEHOLDS = 100


def write_skewed(folder: Path, rows: int, devices: int = 1_000, hot_share: float = 0.5,
                 files: int = 10, seed: int = 11) -> list[Path]:  # fmt: skip
    """Readings in ``files`` CSV files where one device (id HOT_DEVICE) sends ``hot_share``
    of them, interleaved in time with the rest of the fleet."""
    hot_rows = int(rows * hot_share)
    hot = data.generate(hot_rows, 1, seed=seed)
    rest = data.with_sparse_ids(data.generate(rows - hot_rows, devices - 1, seed=seed), seed=seed)
    ids = np.concatenate([np.full(hot_rows, HOT_DEVICE, np.uint32), rest.device_id])
    stamps = np.concatenate([hot.timestamp, rest.timestamp])
    kwh = np.concatenate([hot.kwh, rest.kwh])
    order = np.argsort(stamps, kind="stable")
    merged = data.Readings(ids[order], stamps[order], kwh[order], devices)
    return data.write_files(merged, folder, files)


@dataclass
class Step:
    name: str
    what: str
    seconds: float
    measured: metrics.Measured


def households(spark: Any, files: Sequence[str]) -> tuple[Any, int]:
    """The small table, made once on the driver: each device's household (its id mod
    HOUSEHOLDS), as a local DataFrame that Spark may broadcast."""
    from hotpath.distributed.spark import job

    loaded = job.read(spark, files, cache=False)
    ids = sorted(r[0] for r in loaded.readings.select("device_id").distinct().collect())
    table = [(i, i % HOUSEHOLDS) for i in ids]
    return spark.createDataFrame(table, "device_id long, household long"), loaded.rows_read


def _job(spark: Any, files: Sequence[str], applied: set[str], partitions: int, table: Any) -> Any:
    from pyspark.sql import functions as F

    from hotpath.distributed.spark import job

    spark.conf.set("spark.sql.adaptive.enabled", "true" if "aqe" in applied else "false")
    spark.conf.set("spark.sql.shuffle.partitions", "200")  # Spark's default
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")  # broadcast only when asked
    loaded = job.read(spark, files, cache="cache" in applied)
    readings = loaded.readings
    if "repartition" in applied:
        readings = readings.repartition(partitions)
    else:
        readings = readings.repartition(partitions, "device_id")
    if "built-ins" in applied:
        value = F.when(~F.isnan("kwh"), F.col("kwh"))
    else:
        value = F.udf(tasks.missing_as_null, "double")(F.col("kwh"))
    readings = readings.withColumn("value", value)
    if "cache" in applied:
        readings = readings.cache()
    households = F.broadcast(table) if "broadcast" in applied else table
    per_device = readings.groupBy("device_id").agg(
        F.count("value"), F.sum("value"), F.min("value"), F.max("value")
    )
    per_household = readings.join(households, "device_id").groupBy("household").agg(F.sum("value"))
    found = (per_device.toArrow(), per_household.toArrow())
    readings.unpersist()
    loaded.frame.unpersist()
    return found


def measure(spark: Any, files: Sequence[str], partitions: int = 4) -> tuple[int, list[Step]]:
    """(rows read, every step), the steps cumulative, each timed (wall clock) and measured
    (Spark's metrics). An untimed run of the optimized job first starts the Python workers
    and the JIT."""
    applied_all = {name for name, _ in STEPS[1:]}
    spark.sparkContext.setJobGroup("warm-up", "warm-up")
    table, rows = households(spark, files)
    reference = _job(spark, files, applied_all, partitions, table)
    found: list[Step] = []
    applied: set[str] = set()
    for name, what in STEPS:
        if name != "baseline":
            applied.add(name)
        group = f"tuning-{name}"
        spark.sparkContext.setJobGroup(group, what)
        started = time.perf_counter()
        result = _job(spark, files, set(applied), partitions, table)
        seconds = time.perf_counter() - started
        _same(result, reference, name)
        found.append(Step(name, what, seconds, metrics.of_group(spark, group)))
    return rows, found


def _same(got: Any, want: Any, name: str) -> None:
    """Every step answers the same: counts, minima, maxima exactly; sums within 1e-9."""
    for mine, theirs in zip(got, want):
        key = mine.column_names[0]
        a, b = mine.sort_by(key), theirs.sort_by(key)
        for column in range(a.num_columns):
            x = a.column(column).to_numpy(zero_copy_only=False)
            y = b.column(column).to_numpy(zero_copy_only=False)
            if x.dtype.kind == "f":
                ok = np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
            else:
                ok = np.array_equal(x, y)
            if not ok:
                raise AssertionError(f"tuning step {name} changed {a.column_names[column]}")


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def markdown(steps: list[Step], rows: int, hot_share: float, master: str) -> str:
    """The table of steps: time and Spark's metrics, each against the baseline."""
    base = steps[0]
    lines = [
        f"Readings: {rows:,} in 10 CSV files, one device sending {hot_share:.0%} of them; "
        f"{master}; one run each after an untimed warm-up; metrics from Spark's status REST "
        "API (stages that ran; skipped stages aside).",
        "",
        "| step (cumulative) | wall s | × baseline | stages | tasks | slowest task s | "
        "shuffle write MiB | shuffle read MiB | spill MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in steps:
        m = s.measured
        lines.append(
            f"| {s.name}: {s.what} | {s.seconds:.1f} | {base.seconds / s.seconds:.2f} | "
            f"{m.stages} | {m.tasks} | {m.slowest_task_seconds:.1f} | "
            f"{_mib(m.shuffle_write_bytes)} | {_mib(m.shuffle_read_bytes)} | "
            f"{_mib(m.spill_bytes)} |"
        )
    return "\n".join(lines) + "\n"
