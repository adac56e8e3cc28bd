"""The database ladder (hotpath.engines.db_ladder): loading, the per-device report and the
duplicate scan in SQLite and PostgreSQL, rung by rung, against the native kernels on fetched
columns; DuckDB and the engines end to end. Every rung's answer is checked before it is
timed; each query's plan is saved with its time.

Off unless asked for: ``pytest bench/ --hotpath-database 1e5`` (the pipeline benchmark's
datasets: 10 CSV files, 1,000 devices). PostgreSQL: ``HOTPATH_POSTGRES_URL``, else a
throwaway cluster on loopback, else its rungs are skipped with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pipeline_cases import cores, inputs, reference

from hotpath import records
from hotpath.engines import db_ladder, pg_cluster, postgres_db

BUDGET = 10.0  # seconds of timed rounds per rung, at most
MAX_ROUNDS = 7
FOLDER = Path(".benchmarks") / "database"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "rung_case" in metafunc.fixturenames:
        sizes = metafunc.config.getoption("--hotpath-database")
        cases = [(r, rows) for rows in sizes for r in db_ladder.rungs(cores(), FOLDER)]
        ids = [f"{r.id}-{records.size_label('x', rows)}" for r, rows in cases]
        metafunc.parametrize("rung_case", cases, ids=ids)


@cache
def dataset(rows: int) -> db_ladder.Dataset:
    return db_ladder.Dataset.of(inputs(rows, ".csv"), inputs(rows, ".parquet"), reference(rows))


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A server's URL, or "" with the reason in why_postgres."""
    given = postgres_db.ENGINE.available() or ""
    if given:
        _WHY[0] = f"PostgreSQL engine: {given}"
        yield ""
        return
    import os

    url = os.environ.get(postgres_db.ENVIRONMENT, "")
    if url:
        yield url
        return
    why = pg_cluster.unavailable()
    if why:
        _WHY[0] = f"no PostgreSQL server: {why}; or set {postgres_db.ENVIRONMENT}"
        yield ""
        return
    cluster = pg_cluster.Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


_WHY = [""]


@pytest.fixture(scope="session")
def place(postgres: str) -> Iterator[db_ladder.Place]:
    found = db_ladder.Place(FOLDER, postgres)
    db_ladder.POSTGRES[0] = postgres
    yield found
    found.close()


def test_database(
    benchmark: Any, rung_case: tuple[db_ladder.Rung, int], place: db_ladder.Place, outcomes: list
) -> None:
    rung, rows = rung_case
    outcome = records.Outcome(rung.id, "database", "database", rows)
    outcomes.append(outcome)
    benchmark.group = outcome.group
    benchmark.extra_info.update(
        implementation=rung.id, kind="database", database=rung.database, stage=rung.stage,
        rung=rung.key, label=rung.label, why=rung.why, rows=rows, size=rows,
    )  # fmt: skip
    if rung.database == "postgres" and not place.postgres_url:
        outcome.status = f"skipped: {_WHY[0]}"
        pytest.skip(_WHY[0])
    data = dataset(rows)
    where: Any = data
    if rung.stage != "end to end":
        where = place.database(rung.database, data)
    if rung.prepare is not None:
        started = time.perf_counter()
        rung.prepare(where)
        benchmark.extra_info["prepare_s"] = time.perf_counter() - started  # the index build

    results: list[Any] = []

    def setup() -> None:
        if rung.setup is not None:
            rung.setup(where)

    def call() -> Any:
        found = rung.work(where)
        results.append(found)
        return found

    if rung.slow:  # one timed round, which is also the check
        benchmark.pedantic(call, setup=setup, rounds=1, iterations=1)
    else:
        setup()
        started = time.perf_counter()
        call()  # the warm-up, and the answer checked
        first = time.perf_counter() - started
    problem = rung.check(where, results[0])
    outcome.status = "ok" if problem is None else f"mismatch: {problem}"
    benchmark.extra_info["parity"] = outcome.status
    benchmark.extra_info["exact"] = rung.exact
    benchmark.extra_info["bit_exact"] = db_ladder.bit_exact(rung, where, results[0])
    if problem:
        pytest.fail(f"{rung.id}: {problem} -- not timed")
    if not rung.slow:
        rounds = max(1, min(MAX_ROUNDS, int(BUDGET / max(first, 1e-6))))
        benchmark.pedantic(call, setup=setup, rounds=rounds, iterations=1)
    measured = min(rung.sample, rows) if rung.sample else rows
    benchmark.extra_info["measured_rows"] = measured
    if rung.stage == "end to end":
        benchmark.extra_info["stages"] = results[-1].timings
    if rung.plan is not None:
        benchmark.extra_info["plan"] = rung.plan(where)
