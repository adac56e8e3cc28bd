"""The Dask group: the pipeline's job on a LocalCluster of 2 worker processes, Dask's
built-ins (read_csv -> drop_duplicates -> groupby().agg) against map_partitions with the
native kernels (hotpath/distributed/dask_job.py), on the pipeline benchmark's files. Each
report is checked against the pipeline's before it is timed; the rounds are timed on a
running cluster, and the cluster's start-up (and shut-down) is timed apart, as a row of its
own.

Off unless asked for: ``pytest bench/ --hotpath-dask 1e6`` (or ``1e6,1e7``). Skipped, with
the reason, without the dask extra (``pip install -e ".[dask]"``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pipeline_cases import inputs, reference

from hotpath import records
from hotpath.pipeline import Options, engines, run
from hotpath.pipeline.report import Report, mismatch

BUDGET = 20.0  # seconds of timed rounds per case, at most
MAX_ROUNDS = 7
# (key, engine, options, what it is)
CASES = [
    ("dask-builtins", "dask:builtins", Options(), "read_csv -> drop_duplicates -> groupby().agg"),
    ("dask-native", "dask", Options(), "hotpath reader per file -> shuffle -> map_partitions"),
    ("dask-native-numpy", "dask", Options(backend="numpy_impl"), "the same, numpy_impl kernels"),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    sizes = metafunc.config.getoption("--hotpath-dask")
    if "dask_case" in metafunc.fixturenames:
        cases = [(*c, rows) for rows in sizes for c in CASES]
        ids = [f"{c[0]}-{records.size_label('x', c[-1])}" for c in cases]
        metafunc.parametrize("dask_case", cases, ids=ids)
    if "startup_rows" in metafunc.fixturenames:
        metafunc.parametrize("startup_rows", sizes[:1], ids=lambda r: "startup")


def _why() -> str:
    return engines.get("dask").available()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A running LocalCluster for the timed rounds (the engine uses this process's client)."""
    why = _why()
    if why:
        pytest.skip(why)
    from distributed import Client, LocalCluster

    from hotpath.distributed.dask_job import WORKERS

    with (
        LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as running,
        Client(running) as client,
    ):
        yield client


def _info(benchmark: Any, key: str, rows: int, label: str, engine: str) -> records.Outcome:
    outcome = records.Outcome(key, "dask", "dask", rows)
    benchmark.group = outcome.group
    benchmark.extra_info.update(
        implementation=key, kind="dask", label=label, engine=engine, rows=rows, size=rows
    )
    return outcome


def test_cluster_startup(benchmark: Any, startup_rows: int, outcomes: list) -> None:
    """A LocalCluster of 2 worker processes started, a client connected, both closed: what
    every ``--engine dask`` run without a cluster of its own pays before any work."""
    outcome = _info(benchmark, "dask-startup", startup_rows, "LocalCluster(2) up and down", "")
    outcomes.append(outcome)
    why = _why()
    if why:
        outcome.status = f"skipped: {why}"
        pytest.skip(why)
    from distributed import Client, LocalCluster

    from hotpath.distributed.dask_job import WORKERS

    def cycle() -> None:
        with (
            LocalCluster(
                n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
            ) as running,
            Client(running) as client,
        ):
            client.wait_for_workers(WORKERS)

    benchmark.pedantic(cycle, rounds=3, iterations=1)
    outcome.status = "ok"


def test_dask(benchmark: Any, dask_case: tuple[Any, ...], cluster: Any, outcomes: list) -> None:
    key, engine, options, label, rows = dask_case
    outcome = _info(benchmark, key, rows, label, engine)
    outcomes.append(outcome)
    backend = options.backend
    if backend:
        from hotpath import backends

        why = backends.status(backend).reason
        if why:
            outcome.status = f"skipped: {why}"
            pytest.skip(why)
    folder = inputs(rows, ".csv")
    want = reference(rows)
    reports: list[Report] = []

    def call() -> Report:
        report = run([folder], engine, options)
        reports.append(report)
        return report

    started = time.perf_counter()
    got = call()  # the warm-up (workers import the backend), and the answer checked
    first = time.perf_counter() - started
    reports.clear()
    problem = mismatch(got, want, exact=engines.get(engine).exact)
    outcome.status = "ok" if problem is None else f"mismatch: {problem}"
    benchmark.extra_info["parity"] = outcome.status
    if problem:
        pytest.fail(f"{key}: {problem} -- not timed")
    benchmark.extra_info["exact"] = engines.get(engine).exact
    rounds = max(1, min(MAX_ROUNDS, int(BUDGET / max(first, 1e-6))))
    benchmark.pedantic(call, rounds=rounds, iterations=1)
    names = {s for r in reports for s in r.timings}
    benchmark.extra_info["stages"] = {
        s: statistics.median(r.timings[s] for r in reports)
        for s in sorted(names)
        if all(s in r.timings for r in reports)
    }
