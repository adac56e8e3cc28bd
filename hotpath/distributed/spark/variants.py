"""Each step of the job done the ways a Spark user could: the built-ins, hotpath's kernels
per partition through Arrow, and what users fall into -- a row-at-a-time Python UDF and a
pandas UDF. The benchmark (bench/test_spark.py) times them on one cached DataFrame of
readings (input_order, device_id, timestamp, kwh).

Each variant returns a small result, so that all of its work is done (Spark is lazy) and
nothing large is collected. ``check`` says what it is checked against: "fingerprint" (the
sum mod 2**64 of hash_rows over all rows), "kept" (rows kept by the exact first-occurrence
rule), "devices" (per-device count, minimum, maximum; totals are summed in Spark's order),
or "" -- F.xxhash64 is Spark's own hash (seed 42, the columns chained: another function), so
it is timed as hash_rows' speed peer, never compared.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # a pandas UDF's type hints name it: PySpark resolves them

from hotpath.distributed.spark import tasks

MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Variant:
    step: str  # aggregate, dedup, hash
    name: str
    kind: str  # built-in, arrow (hotpath's kernels), row-udf, pandas-udf
    check: str
    run: Callable[[Any, str, int], Any]  # (readings, backend, partitions) -> result


def _schema(arrow: Any) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow)


def _value() -> Any:
    """kwh with a missing reading (NaN) as null: SQL's aggregates skip nulls, not NaN."""
    from pyspark.sql import functions as F

    return F.when(~F.isnan("kwh"), F.col("kwh"))


def _devices(frame: Any, value: Any) -> Any:
    from pyspark.sql import functions as F

    return (
        frame.groupBy("device_id")
        .agg(F.count(value).alias("count"), F.sum(value).alias("total"),
             F.min(value).alias("minimum"), F.max(value).alias("maximum"))
        .toArrow()
    )  # fmt: skip


def builtin_aggregate(readings: Any, backend: str, partitions: int) -> Any:
    return _devices(readings, _value())


def arrow_partials(readings: Any, backend: str, partitions: int) -> Any:
    """hotpath's factorize + aggregate per batch (mapInArrow), partials merged by Spark."""
    from pyspark.sql import functions as F

    partials = readings.mapInArrow(
        functools.partial(tasks.partial_aggregates, backend), _schema(tasks.PARTIALS)
    )
    return (
        partials.groupBy("device_id")
        .agg(F.sum("count").alias("count"), F.sum("total").alias("total"),
             F.min("minimum").alias("minimum"), F.max("maximum").alias("maximum"))
        .toArrow()
    )  # fmt: skip


def exact_partition(readings: Any, backend: str, partitions: int) -> Any:
    """The job's way (dedup, aggregate, fingerprint exact): whole devices in input order."""
    from hotpath.distributed.spark import job

    return job.collect(job.stats(readings, backend, "partition", partitions))


def exact_group(readings: Any, backend: str, partitions: int) -> Any:
    from hotpath.distributed.spark import job

    return job.collect(job.stats(readings, backend, "group", partitions))


def row_udf_aggregate(readings: Any, backend: str, partitions: int) -> Any:
    """What users fall into: a Python function per row (here cleaning the value)."""
    from pyspark.sql import functions as F

    clean = F.udf(tasks.missing_as_null, "double")
    return _devices(readings, clean(F.col("kwh")))


def pandas_udf_aggregate(readings: Any, backend: str, partitions: int) -> Any:
    from pyspark.sql import functions as F

    clean = F.pandas_udf(_clean_series, "double")
    return _devices(readings, clean(F.col("kwh")))


def _clean_series(kwh: pd.Series) -> pd.Series:
    return kwh.where(kwh.notna(), None)


def builtin_drop_duplicates(readings: Any, backend: str, partitions: int) -> Any:
    """Spark's dropDuplicates: keeps an arbitrary one of each key's rows (so only the
    number kept is checked)."""
    return readings.dropDuplicates(["device_id", "timestamp"]).count()


def builtin_first_by_window(readings: Any, backend: str, partitions: int) -> Any:
    """The exact rule in built-ins: row_number() over the key ordered by input_order = 1."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy("device_id", "timestamp").orderBy("input_order")
    return readings.withColumn("n", F.row_number().over(window)).filter("n = 1").count()


def arrow_duplicates(readings: Any, backend: str, partitions: int) -> Any:
    """hotpath's duplicates per partition of whole devices, sorted by input_order."""
    from pyspark.sql import functions as F

    whole = readings.repartition(partitions, "device_id").sortWithinPartitions("input_order")
    kept = whole.mapInArrow(functools.partial(tasks.partition_kept, backend), _schema(tasks.KEPT))
    return kept.agg(F.sum("kept")).first()[0]


def builtin_xxhash64(readings: Any, backend: str, partitions: int) -> Any:
    """Spark's F.xxhash64, folded with bit_xor (F.sum of longs overflows under ANSI mode;
    count() would not compute the hash at all)."""
    from pyspark.sql import functions as F

    return readings.agg(F.bit_xor(F.xxhash64("device_id", "timestamp", "kwh"))).first()[0]


def _wrapped_sum(frame: Any, column: str) -> int:
    """The longs' exact sum (as decimals: no overflow), mod 2**64."""
    from pyspark.sql import functions as F

    total = frame.agg(F.sum(F.col(column).cast("decimal(38,0)"))).first()[0]
    return int(total or 0) & MASK64


def arrow_hash_rows(readings: Any, backend: str, partitions: int) -> Any:
    found = readings.select("device_id", "timestamp", "kwh").mapInArrow(
        functools.partial(tasks.partial_fingerprints, backend), _schema(tasks.FINGERPRINTS)
    )
    return _wrapped_sum(found, "fingerprint")


def row_udf_hash(readings: Any, backend: str, partitions: int) -> Any:
    from pyspark.sql import functions as F

    hashed = F.udf(tasks.row_hash, "long")
    return _wrapped_sum(readings.select(hashed("device_id", "timestamp", "kwh").alias("h")), "h")


def pandas_udf_hash(readings: Any, backend: str, partitions: int) -> Any:
    """A pandas UDF calling hotpath's hash_rows on each batch's Series."""
    from pyspark.sql import functions as F

    hashed = F.pandas_udf(_hash_series_of(backend), "long")
    return _wrapped_sum(readings.select(hashed("device_id", "timestamp", "kwh").alias("h")), "h")


def _hash_series_of(backend: str) -> Callable[[pd.Series, pd.Series, pd.Series], pd.Series]:
    """A closure, not a partial: PySpark infers the UDF's kind from its type hints."""

    def hash_series(device_id: pd.Series, timestamp: pd.Series, kwh: pd.Series) -> pd.Series:
        from hotpath import backends

        hashes = backends.load(backend).hash_rows(
            device_id.to_numpy(np.int64).astype(np.uint32),
            timestamp.to_numpy(np.int64),
            kwh.to_numpy(np.float64),
            0,
        )
        return pd.Series(np.asarray(hashes, np.uint64).view(np.int64))

    return hash_series


VARIANTS = (
    Variant("aggregate", "built-in groupBy.agg", "built-in", "devices", builtin_aggregate),
    Variant("aggregate", "mapInArrow partials", "arrow", "devices", arrow_partials),
    Variant("aggregate", "exact: repartition + mapInArrow", "arrow", "exact", exact_partition),
    Variant("aggregate", "exact: groupBy.applyInArrow", "arrow", "exact", exact_group),
    Variant("aggregate", "row UDF + groupBy.agg", "row-udf", "devices", row_udf_aggregate),
    Variant("aggregate", "pandas UDF + groupBy.agg", "pandas-udf", "devices",
            pandas_udf_aggregate),
    Variant("dedup", "built-in dropDuplicates", "built-in", "kept", builtin_drop_duplicates),
    Variant("dedup", "built-in row_number window", "built-in", "kept", builtin_first_by_window),
    Variant("dedup", "mapInArrow duplicates", "arrow", "kept", arrow_duplicates),
    Variant("hash", "built-in F.xxhash64", "built-in", "", builtin_xxhash64),
    Variant("hash", "mapInArrow hash_rows", "arrow", "fingerprint", arrow_hash_rows),
    Variant("hash", "row UDF xxhash", "row-udf", "fingerprint", row_udf_hash),
    Variant("hash", "pandas UDF hash_rows", "pandas-udf", "fingerprint", pandas_udf_hash),
)  # fmt: skip
