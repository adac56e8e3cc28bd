"""Every engine, reader and backend gives the same report: one parity test over the
registries, on generated data and on the hand-made edge files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from hotpath import backends
from hotpath.pipeline import Options, engines, readers, run
from hotpath.pipeline.report import Report, mismatch, results_json

# (engine, options) for every way the job can be done; the reference is the first.
REFERENCE = ("columnar", Options(reader="stdlib", backend="python_ref"))
LADDER = [
    ("naive", Options()),
    ("objects", Options()),
    *[("columnar", Options(reader=name, backend="cffi_ext")) for name in readers.READERS],
    *[("columnar", Options(reader="native", backend=name)) for name in backends.NAMES],
    ("columnar", Options(reader="native", workers=3)),
    ("columnar", Options(reader="stdlib", backend="numpy_impl", workers=2)),  # processes
]
PEERS = [(name, Options()) for name in ("polars", "duckdb", "pandas")]
# on a cluster (the dask_client fixture, through locate_engine): exact, and the built-ins
DISTRIBUTED = [
    ("dask", Options()),
    ("dask", Options(reader="stdlib", backend="python_ref")),
    ("dask:builtins", Options()),
]
# the readings in a database: each run gets its own place (the locate_engine fixture)
DATABASES = [("sqlite", Options()), ("sqlite", Options(reader="stdlib")), ("postgres", Options())]


def _id(case: tuple[str, Options]) -> str:
    name, o = case
    return "-".join(str(x) for x in (name, o.reader, o.backend or "best", o.workers))


@cache
def _reference(folder: str) -> Report:
    return run([folder], *REFERENCE)


def _run(engine: str, options: Options, folder: Path) -> Report:
    found = engines.get(engine).available() or (
        engine == "columnar" and readers.get(options.reader).available()
    )
    if options.backend:
        status = backends.status(options.backend)
        if not status.available:
            if status.backend.optional:
                pytest.skip(status.reason)
            pytest.fail(status.reason)
    if found:
        pytest.skip(str(found))
    return run([folder], engine, options)


@pytest.mark.parametrize("case", LADDER + PEERS + DATABASES + DISTRIBUTED, ids=_id)
@pytest.mark.parametrize("dataset", ["edge", "generated"])
def test_same_report(
    case: tuple[str, Options],
    dataset: str,
    request: pytest.FixtureRequest,
    locate_engine: Callable[[str], str],
) -> None:
    folder = request.getfixturevalue(dataset)
    engine, options = case
    got = _run(locate_engine(engine), options, folder)
    exact = engines.get(engine).exact
    assert mismatch(got, _reference(str(folder)), exact=exact) is None
    assert got.rows_read == got.rows_kept + got.duplicates_dropped + got.rows_rejected


def test_edge_files_by_hand(edge: Path) -> None:
    """The edge files' report, worked out by hand from the files (independent of any
    engine): every rule of the contract shows up once."""
    report = _reference(str(edge))
    assert (report.rows_read, report.duplicates_dropped, report.rows_rejected) == (18, 6, 0)
    devices = {d["device_id"]: d for d in report.results()["devices"]}
    assert sorted(devices) == [0, 7, 12, 2**32 - 1]
    assert devices[2**32 - 1] | {} == {
        "device_id": 2**32 - 1, "count": 2, "total_kwh": 3.5, "mean_kwh": 1.75,
        "min_kwh": 0.5, "max_kwh": 3.0,
    }  # fmt: skip
    # the first of the duplicates wins: 0.25, not 9.5 from the last file
    assert (devices[0]["count"], devices[0]["total_kwh"], devices[0]["max_kwh"]) == (1, 0.25, 0.25)
    # signed zeros: -0.0 comes before 0.0, so it is the minimum (the first of equals wins)
    assert math.copysign(1.0, devices[7]["min_kwh"]) == -1.0
    assert (devices[7]["count"], devices[7]["total_kwh"], devices[7]["max_kwh"]) == (
        3,
        0.001,
        0.001,
    )
    assert (devices[12]["count"], devices[12]["total_kwh"]) == (2, 0.625)
    assert report.fleet_total_kwh == math.fsum([3.5, 0.25, 0.001, 0.625])


def test_report_json_round_trips(generated: Path, tmp_path: Path) -> None:
    report = _reference(str(generated))
    text = report.to_json()
    parsed = json.loads(text)
    assert parsed["rows_kept"] == report.rows_kept
    assert len(parsed["fingerprint"]) == 16
    assert Report.from_stored(report.stored()).results() == report.results()
    assert results_json(Report.from_stored(json.loads(json.dumps(report.stored())))) == (
        results_json(report)
    )
