"""Fixtures shared by the suite: every registered backend, and the reference data."""

from __future__ import annotations

import os

# The hash tables' key, fixed for reproducible runs (as PYTHONHASHSEED fixes Python's): set
# before anything imports hotpath.hashkey. Results never depend on it; the crafted-key tests
# craft against whichever key is in force. HOTPATH_HASH_SEED=random draws one per run.
os.environ.setdefault("HOTPATH_HASH_SEED", "20260101")

from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from hotpath import backends, data

# Native code and Numba compile on first use: no per-example deadline. CI runs
# fewer examples; HYPOTHESIS_PROFILE=thorough runs many more.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    # the backend fixture is a module: sharing it across examples is safe
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PARITY_SIZE = 100_000  # the default dataset


def selected(names: Iterable[str]) -> list[str]:
    """The backends among ``names`` that the backend-parametrized tests run on: all of them,
    or those HOTPATH_TEST_BACKENDS lists (comma-separated). The sanitizer and valgrind runs
    (.ci/sanitize, .ci/memcheck) build only some backends and test only those; the reference
    is loaded for comparisons whatever this says."""
    given = os.environ.get("HOTPATH_TEST_BACKENDS", "").strip()
    if not given:
        return list(names)
    wanted = {name.strip() for name in given.split(",") if name.strip()}
    unknown = wanted - set(backends.NAMES)
    if unknown:
        raise pytest.UsageError(f"HOTPATH_TEST_BACKENDS names no backend {sorted(unknown)}")
    return [name for name in names if name in wanted]


def pytest_report_header() -> str:
    return f"HOTPATH_HASH_SEED={os.environ['HOTPATH_HASH_SEED']} (the hash tables' key)"


def load_backend(name: str) -> ModuleType:
    found = backends.status(name)
    if not found.available:
        message = f"backend {name} is unavailable: {found.reason}"
        if found.backend.optional:  # its toolchain is not part of the base set-up
            pytest.skip(message)
        pytest.fail(message)
    return found.module


@pytest.fixture(params=selected(backends.NAMES))
def backend(request: pytest.FixtureRequest) -> ModuleType:
    """Every registered backend, the reference included."""
    return load_backend(request.param)


@pytest.fixture(params=selected(name for name in backends.NAMES if name != backends.REFERENCE))
def accelerated(request: pytest.FixtureRequest) -> ModuleType:
    """Every backend except the reference it is compared with."""
    return load_backend(request.param)


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    return load_backend(backends.REFERENCE)


@pytest.fixture(scope="session")
def readings() -> data.Readings:
    return data.generate(PARITY_SIZE)


def _dataset_files(
    folder: Path, rows: int, devices: int, seed: int, buffer_repeats: int
) -> tuple[data.Readings, Path, Path]:
    readings = data.generate(rows, devices, seed=seed)
    readings.to_csv(folder / "readings.csv")
    (folder / "buffer.bin").write_bytes(bytes(range(256)) * buffer_repeats)
    return readings, folder / "readings.csv", folder / "buffer.bin"


@pytest.fixture(scope="session")
def dataset_files() -> Callable[..., tuple[data.Readings, Path, Path]]:
    """Writes a readings CSV and an xxh64 buffer file, as the cross-interpreter driver reads
    them: ``dataset_files(folder, rows, devices, seed, buffer_repeats)``."""
    return _dataset_files


# -- the pipeline's datasets (tests/pipeline) ---------------------------------------------

EDGE = Path(__file__).parent / "pipeline" / "edge"


@pytest.fixture(scope="session")
def edge() -> Path:
    """Hand-made files: quoting, CRLF, a BOM, a blank line, ids at 0 and 2**32-1, timestamps
    at both ends of int64, NaN spelled three ways, signed zeros, duplicates within and across
    files whose values differ (so which one is first matters)."""
    return EDGE


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 readings of 300 devices with sparse ids, in 7 files."""
    folder = tmp_path_factory.mktemp("generated")
    readings = data.with_sparse_ids(data.generate(20_000, 300, seed=7), seed=7)
    data.write_files(readings, folder, 7)
    return folder


# -- the databases (tests/pipeline: the sqlite and postgres engines) ------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server's URL: HOTPATH_POSTGRES_URL's, else a throwaway cluster started on
    loopback for the session (hotpath.engines.pg_cluster); skips, with the reason, when
    neither can be had."""
    from hotpath.engines import pg_cluster, postgres_db

    why = postgres_db.ENGINE.available()
    if why:
        pytest.skip(f"PostgreSQL engine: {why}")
    given = os.environ.get(postgres_db.ENVIRONMENT)
    if given:
        yield given
        return
    why = pg_cluster.unavailable()
    if why:
        pytest.skip(f"no PostgreSQL server: {why}; or set {postgres_db.ENVIRONMENT}")
    cluster = pg_cluster.Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def locate_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """The engine name to run: a database engine gets its place -- a file in the test's
    folder for sqlite, the session's server for postgres (skipping without one)."""

    def locate(engine: str) -> str:
        if engine == "sqlite":
            return f"sqlite:{tmp_path / 'database' / 'readings.sqlite'}"
        if engine == "postgres":
            return request.getfixturevalue("postgres_url")
        if engine.startswith("dask"):
            request.getfixturevalue("dask_client")  # the engine runs on the session's cluster
        return engine

    return locate


# -- the distributed engines (tests/distributed, and the dask engines in tests/pipeline) -----


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """One LocalCluster of 2 worker processes for the session, as its default client (the
    dask engines use it instead of starting their own); skips, with the reason, without the
    dask extra."""
    from hotpath.distributed import dask_job

    why = dask_job.ENGINE.available()
    if why:
        pytest.skip(why)
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=dask_job.WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster) as client:
        yield client
