"""The exact job in Spark, and its engine: the same Report as ``hotpath pipeline``.

Exactness, where Spark gives no order:

* **Input order** is a column: each file is read by one task with hotpath's own reader
  (the same grammar, the same rejects named by file and line), and every row carries
  ``input_order`` = file index << 40 | row within the file -- the pipeline's order.
* **All rows of a device in one task, in input order**: ``repartition(device_id)`` then
  ``sortWithinPartitions(input_order)`` (strategy ``partition``), or
  ``groupBy(device_id).applyInArrow`` sorting each group (strategy ``group``). There the
  pipeline's kernels (any backend) drop duplicates -- the first occurrence is the lowest
  input_order, since a (device, timestamp) key never leaves its device -- and sum each device
  in input order: python_ref's totals, bit for bit.
* **Partials merged only where exact**: counts and dropped rows add, the fingerprint's
  uint64 partial sums add mod 2**64 (they travel as longs, their bits kept); minima, maxima
  and totals are never merged, since each device is whole in one task.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hotpath.distributed.spark import session as sessions
from hotpath.pipeline.errors import BadInput, PipelineError, Reject
from hotpath.pipeline.report import Devices, Report, files_rejected

STRATEGIES = ("partition", "group")


@dataclass
class Loaded:
    """The files read into Spark: the readings (a DataFrame), and the notes, collected."""

    readings: Any  # DataFrame: input_order, device_id, timestamp, kwh
    rows_read: int
    rejects: list[Reject]
    files_rejected: list[Reject]
    frame: Any  # the DataFrame holding readings and notes (cached, or not)


def read(
    spark: Any,
    files: Sequence[str],
    reader: str = "native",
    on_bad_row: str = "error",
    cache: bool = True,
) -> Loaded:
    """Each file read by one task; with on_bad_row "error", the run's first bad record in
    input order (a file's fault first, as the pipeline checks) stops it as BadInput."""
    from pyspark.sql import functions as F

    from hotpath.distributed.spark import tasks

    if len(files) >= tasks.MAX_FILES:
        raise PipelineError(f"at most {tasks.MAX_FILES - 1} files in one run")
    schema = _spark_schema(tasks.LOADED)
    frame = spark.range(len(files), numPartitions=max(1, len(files))).mapInArrow(
        functools.partial(tasks.read_files, [str(f) for f in files], reader), schema
    )
    if cache:
        frame = frame.cache()
    noted = frame.filter(F.col("note").isNotNull()).select("input_order", "note").toArrow()
    by_file: dict[int, list[dict[str, Any]]] = {}
    for order, note in zip(noted.column(0).to_pylist(), noted.column(1).to_pylist()):
        by_file.setdefault(order >> tasks.ORDER_SHIFT, []).append(json.loads(note))
    rows_read, rejects, broken = 0, [], []
    for index, path in enumerate(files):
        found = by_file.get(index, [])
        rows_read += sum(n["rows_read"] for n in found if n["kind"] == "file")
        fault = [_reject(path, n) for n in found if n["kind"] == "file_error"]
        bad = sorted(
            (_reject(path, n) for n in found if n["kind"] == "reject"), key=lambda r: r.line
        )
        if on_bad_row == "error" and (fault or bad):
            raise BadInput((fault or bad)[0])
        broken += fault
        rejects += bad
    readings = frame.filter(F.col("note").isNull()).drop("note")
    return Loaded(readings, rows_read, rejects, broken, frame)


def _reject(path: str, note: dict[str, Any]) -> Reject:
    return Reject(path, note["line"], note["reason"], bytes.fromhex(note["raw"]))


def _spark_schema(schema: Any) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def stats(readings: Any, backend: str, strategy: str, partitions: int) -> Any:
    """Per-device statistics (tasks.STATS) of the readings, as a DataFrame."""
    from hotpath.distributed.spark import tasks

    schema = _spark_schema(tasks.STATS)
    if strategy == "partition":
        whole = readings.repartition(partitions, "device_id").sortWithinPartitions("input_order")
        return whole.mapInArrow(functools.partial(tasks.partition_stats, backend), schema)
    if strategy == "group":
        return readings.groupBy("device_id").applyInArrow(tasks.group_stats_of(backend), schema)
    raise PipelineError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")


def collect(found: Any) -> tuple[int, Devices, int]:
    """(duplicates dropped, devices, fingerprint) from the stats DataFrame: the exact merge."""
    table = found.toArrow()
    column = {name: table.column(name).to_numpy() for name in ("dropped", "fingerprint")}
    dropped = int(column["dropped"].sum())
    partial = column["fingerprint"].astype(np.int64).view(np.uint64)
    fingerprint = int(np.sum(partial, dtype=np.uint64))  # wraps mod 2**64: the definition
    per_device = table.filter(table.column("device_id").is_valid()).sort_by("device_id")
    devices = Devices(
        *(per_device.column(name).to_numpy() for name in
          ("device_id", "count", "total", "minimum", "maximum"))
    )  # fmt: skip
    return dropped, devices, fingerprint


@dataclass(frozen=True)
class Settings:
    """How ``hotpath spark`` runs the job."""

    master: str = sessions.DEFAULT_MASTER
    backend: str = ""  # "" = the fastest available
    reader: str = "native"  # for CSV files; binary files are read by their format's reader
    strategy: str = "partition"
    partitions: int = sessions.DEFAULT_PARTITIONS
    on_bad_row: str = "error"
    ui: bool = False
    conf: tuple[str, ...] = ()  # KEY=VALUE Spark settings


def run(files: Sequence[Path], settings: Settings, spark: Any = None) -> Report:
    """The job over ``files`` (in the pipeline's order). A session given is used and left
    running; else one is started and stopped, its start-up timed apart ("session")."""
    from hotpath.pipeline.analytics import Stopwatch, best_backend

    if settings.strategy not in STRATEGIES:
        raise PipelineError(f"strategy must be one of {', '.join(STRATEGIES)}")
    backend = settings.backend or best_backend()
    clock = Stopwatch()
    started = time.perf_counter()
    own = spark is None
    if own:
        why = sessions.unavailable()
        if why:
            raise PipelineError(f"Spark is unavailable: {why}")
        conf = {}
        for setting in settings.conf:
            key, found, value = setting.partition("=")
            if not found or not key:
                raise PipelineError(f"--conf takes KEY=VALUE, not {setting!r}")
            conf[key.strip()] = value
        spark = clock.time(
            "session",
            lambda: sessions.start(settings.master, settings.partitions, settings.ui, conf),
        )
    names = [str(f) for f in files]
    try:
        loaded = clock.time(
            "load", lambda: read(spark, names, settings.reader, settings.on_bad_row)
        )
        found = stats(loaded.readings, backend, settings.strategy, settings.partitions)
        dropped, devices, fingerprint = clock.time("aggregate", lambda: collect(found))
        loaded.frame.unpersist()
    finally:
        if own:
            stopping = time.perf_counter()
            spark.stop()
            clock.timings["stop"] = time.perf_counter() - stopping
    clock.timings["total"] = time.perf_counter() - started
    return Report(
        files=names,
        rows_read=loaded.rows_read,
        rows_rejected=len(loaded.rejects),
        duplicates_dropped=dropped,
        devices=devices,
        fingerprint=fingerprint,
        files_rejected=files_rejected(loaded.files_rejected),
        engine={
            "name": "spark",
            "master": settings.master,
            "backend": backend,
            "strategy": settings.strategy,
            "partitions": settings.partitions,
            "reader": settings.reader,
        },
        timings=clock.timings,
        rejects=loaded.rejects,
    )
