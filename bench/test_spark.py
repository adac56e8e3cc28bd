"""The Spark benchmark (group ``spark-<size>``): each step done the ways a Spark user could
(hotpath.distributed.spark.variants) on one cached DataFrame of the pipeline benchmark's
files, after the session has started; the session's start-up is a row of its own.

Off unless asked for: ``pytest bench/test_spark.py --hotpath-spark 1e6`` (or ``1e6,1e7``);
local[2]. Every variant is checked before it is timed, except F.xxhash64 (another hash).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from pipeline_cases import inputs

from hotpath import records
from hotpath.engines import fingerprint
from hotpath.pipeline import Options, run
from hotpath.pipeline.inputs import discover
from hotpath.pipeline.report import Report, mismatch

BACKEND = "cffi_ext"
PARTITIONS = 4
ROUNDS = 2  # after one untimed call that is also the check


def _sizes(config: pytest.Config) -> list[int]:
    return config.getoption("--hotpath-spark")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "spark_rows" in metafunc.fixturenames:
        sizes = _sizes(metafunc.config)
        metafunc.parametrize("spark_rows", sizes, ids=[f"{r:.0e}" for r in sizes], scope="module")
    if "variant" in metafunc.fixturenames:
        from_extra = _variants()
        metafunc.parametrize("variant", from_extra, ids=[f"{v.step}-{v.name}" for v in from_extra])


def _variants() -> list[Any]:
    try:
        from hotpath.distributed.spark.variants import VARIANTS
    except ImportError:
        return []
    return list(VARIANTS)


def _unavailable() -> str:
    try:
        from hotpath.distributed.spark import session
    except ImportError as error:
        return f"the spark extra is not installed: {error}"
    return session.unavailable()


@pytest.fixture(scope="module")
def spark_case(spark_rows: int) -> Iterator[dict[str, Any]]:
    """A session (its start-up timed), the readings read and cached, and what to check."""
    why = _unavailable()
    if why:
        pytest.skip(why)
    from hotpath.distributed.spark import job, session

    warnings.filterwarnings("ignore", "Cannot infer the eval type", UserWarning)
    started = time.perf_counter()
    spark = session.start("local[2]", PARTITIONS)
    startup = time.perf_counter() - started
    files = [str(f) for f in discover([inputs(spark_rows, ".csv")])]
    started = time.perf_counter()
    loaded = job.read(spark, files)
    readings = loaded.readings.cache()
    rows = readings.count()
    load = time.perf_counter() - started
    report = run(files, "columnar", Options(backend=BACKEND, cache=None))
    columns = readings.select("device_id", "timestamp", "kwh").toArrow()
    yield {
        "spark": spark,
        "readings": readings,
        "rows": rows,
        "startup": startup,
        "load": load,
        "report": report,
        "all": {n: columns.column(n).to_numpy() for n in ("device_id", "timestamp", "kwh")},
    }
    spark.stop()


def _check(variant: Any, found: Any, case: dict[str, Any]) -> str:
    """ "" when the variant's result is right, else what is wrong."""
    report: Report = case["report"]
    if variant.check == "":
        return ""
    if variant.check == "kept":
        want = report.rows_read - report.duplicates_dropped
        return "" if found == want else f"kept {found}, want {want}"
    if variant.check == "fingerprint":
        a = case["all"]
        want = fingerprint(a["device_id"], a["timestamp"], a["kwh"])
        return "" if found == want else f"fingerprint {found:016x}, want {want:016x}"
    if variant.check == "exact":
        dropped, devices, printed = found
        got = Report(report.files, report.rows_read, 0, dropped, devices, printed)
        return mismatch(got, report, exact=True) or ""
    # "devices": over every row (duplicates too); totals in Spark's order: within 1e-9
    import pandas as pd

    a = case["all"]
    frame = pd.DataFrame(a).groupby("device_id")["kwh"]
    want = pd.DataFrame({"count": frame.count(), "total": frame.sum(), "minimum": frame.min(),
                         "maximum": frame.max()})  # fmt: skip
    got = found.to_pandas().set_index("device_id").sort_index()
    got["total"] = got["total"].fillna(0.0)
    if not np.array_equal(got["count"].to_numpy(), want["count"].to_numpy()):
        return "per-device counts differ"
    for name in ("minimum", "maximum"):
        if not np.array_equal(got[name].to_numpy(), want[name].to_numpy(), equal_nan=True):
            return f"per-device {name} differ"
    if not all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
               for x, y in zip(got["total"], want["total"])):  # fmt: skip
        return "per-device totals differ beyond 1e-9"
    return ""


def test_spark_startup(benchmark: Any, spark_case: dict[str, Any], spark_rows: int) -> None:
    """The session's start-up and the files' read + cache, measured once, reported apart."""
    benchmark.group = f"spark-{spark_rows:.0e}-startup"
    benchmark.extra_info.update(
        startup_s=spark_case["startup"], read_and_cache_s=spark_case["load"], rows=spark_rows
    )
    benchmark.pedantic(lambda: spark_case["startup"], rounds=1, iterations=1)
    print(f"\nspark session start-up {spark_case['startup']:.1f} s; read + cache "
          f"{spark_case['rows']:,} rows {spark_case['load']:.1f} s")  # fmt: skip


def test_spark(
    benchmark: Any, spark_case: dict[str, Any], spark_rows: int, variant: Any, outcomes: list
) -> None:
    outcome = records.Outcome(f"{variant.step}: {variant.name}", "spark", "spark", spark_rows)
    outcomes.append(outcome)
    benchmark.group = f"spark-{spark_rows:.0e}-{variant.step}"
    benchmark.extra_info.update(
        implementation=variant.name, step=variant.step, kind=variant.kind, check=variant.check
        or "not checked: F.xxhash64 is another hash (seed 42, columns chained)",
        rows=spark_rows, backend=BACKEND, master="local[2]", startup_s=spark_case["startup"],
    )  # fmt: skip

    def call() -> Any:
        return variant.run(spark_case["readings"], BACKEND, PARTITIONS)

    problem = _check(variant, call(), spark_case)  # also the warm-up
    outcome.status = "ok" if not problem else f"mismatch: {problem}"
    if problem:
        pytest.fail(f"{variant.name}: {problem} -- not timed")
    benchmark.pedantic(call, rounds=ROUNDS, iterations=1)
