"""The Dask engines against the reference, on files made to catch a distributed engine out:
duplicates across files whose values differ (so which is first matters), one device (all of it
in one partition), many devices, sums whose value depends on their order; bad input named by
file and line as the pipeline names it; the command line with a cluster of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hotpath import data
from hotpath.pipeline import Options, PipelineError, engines, run
from hotpath.pipeline.errors import BadInput
from hotpath.pipeline.report import Report, mismatch, results_json

# on the session's cluster; skips, with the reason, without the dask extra
on_cluster = pytest.mark.usefixtures("dask_client")

REFERENCE = ("columnar", Options(reader="stdlib", backend="python_ref", workers=1))


def _reference(folder: Path) -> Report:
    return run([folder], *REFERENCE)


def _retransmissions_differ(readings: data.Readings) -> data.Readings:
    """Every repeat of a (device, timestamp) carries another value than the first: a run
    that keeps the wrong one gets other totals, minima or maxima."""
    seen: set[tuple[int, int]] = set()
    kwh = readings.kwh.copy()
    for k, key in enumerate(zip(readings.device_id.tolist(), readings.timestamp.tolist())):
        if key in seen:
            kwh[k] = 1000.0 + k
        seen.add(key)
    readings.kwh[:] = kwh
    return readings


def _folder(tmp_path: Path, rows: int, devices: int, files: int) -> Path:
    readings = data.with_sparse_ids(data.generate(rows, devices, duplicate_share=0.05), seed=3)
    folder = tmp_path / f"{rows}-{devices}-{files}"
    data.write_files(_retransmissions_differ(readings), folder, files)
    return folder


@on_cluster
@pytest.mark.parametrize(
    ("rows", "devices", "files"),
    [(6_000, 1, 5), (30_000, 5_000, 9), (20_000, 40, 1), (3, 2, 3)],
    ids=["one-device", "many-devices", "one-file", "tiny"],
)
@pytest.mark.parametrize("variant", ["dask", "dask:builtins"])
def test_same_report_as_the_pipeline(
    tmp_path: Path, rows: int, devices: int, files: int, variant: str
) -> None:
    folder = _folder(tmp_path, rows, devices, files)
    want = _reference(folder)
    assert want.duplicates_dropped > 0 or rows < 10
    got = run([folder], variant, Options())
    # the native variant bit for bit; the built-ins' totals within report.TOTAL_RTOL
    assert mismatch(got, want, exact=engines.get(variant).exact) is None
    if variant == "dask":
        assert results_json(got) == results_json(want)


@on_cluster
def test_sums_in_input_order(tmp_path: Path) -> None:
    """One device's readings whose sum depends on the order -- 1e16 + 1 - 1e16 + 1 is 1.0 in
    input order, 0.0 by pandas' compensated grouped sum -- spread over files read in
    parallel and shuffled: the native variant still gives python_ref's 1.0."""
    values = [1e16, 1.0, -1e16, 1.0]
    for k, value in enumerate(values):
        (tmp_path / f"part-{k}.csv").write_text(f"device_id,timestamp,kwh\n9,{k},{value!r}\n")
    got = run([tmp_path], "dask", Options())
    assert got.devices.total.tolist() == [1.0]
    assert results_json(got) == results_json(_reference(tmp_path))


@on_cluster
def test_bad_input_named_by_file_and_line(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 2_000, 10, 3)
    second = sorted(folder.iterdir())[1]
    lines = second.read_text().splitlines()
    lines[5] = "12,not-a-time,0.5"
    second.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadInput) as pipeline:
        run([folder], "columnar", Options())
    for variant in ("dask", "dask:builtins"):
        with pytest.raises(BadInput) as dask:
            run([folder], variant, Options())
        assert str(dask.value) == str(pipeline.value)
        assert str(dask.value).startswith(f"{second}:6: ")
    # skipping: the same rejects and the same report as the pipeline's
    skipping = Options(on_bad_row="skip")
    want, got = run([folder], "columnar", skipping), run([folder], "dask", skipping)
    assert results_json(got) == results_json(want)
    assert got.rejects == want.rejects and got.rows_rejected == 1
    with pytest.raises(PipelineError, match="cannot skip bad rows"):
        run([folder], "dask:builtins", skipping)


@on_cluster
def test_parquet_through_the_native_variant(tmp_path: Path) -> None:
    from hotpath.pipeline.convert import convert

    folder = _folder(tmp_path, 5_000, 30, 3)
    convert([folder], "parquet", tmp_path / "parquet")
    got = run([tmp_path / "parquet"], "dask", Options())
    want = _reference(folder)
    assert got.fingerprint == want.fingerprint
    assert results_json(got) == results_json(replace(want, files=got.files))
    mixed = [sorted(folder.iterdir())[0], sorted((tmp_path / "parquet").iterdir())[1]]
    with pytest.raises(PipelineError, match="one format per run"):
        run(mixed, "dask", Options())


def test_engine_names() -> None:
    native = engines.get("dask")
    assert (native.variant, native.address, native.exact) == ("native", "", True)
    builtins = engines.get("dask:builtins")
    assert (builtins.variant, builtins.exact) == ("builtins", False)
    remote = engines.get("dask:tcp://10.0.0.5:8786")
    assert (remote.variant, remote.address) == ("native", "tcp://10.0.0.5:8786")
    both = engines.get("dask:builtins,tls://scheduler:8786")
    assert (both.variant, both.address) == ("builtins", "tls://scheduler:8786")
    assert engines.split("postgres://u@h/db") == ("postgres", "postgres://u@h/db")
    with pytest.raises(KeyError, match="dask variant"):
        engines.get("dask:fastest")


def test_scheduler_option() -> None:
    """``--scheduler ADDRESS`` is ``--engine dask:ADDRESS``, for the dask engines only."""
    from hotpath.pipeline.cli import _engine

    assert _engine("dask", None) == "dask"
    assert _engine("dask", "tcp://h:8786") == "dask:tcp://h:8786"
    assert _engine("dask:builtins", "tcp://h:8786") == "dask:builtins,tcp://h:8786"
    assert engines.get(_engine("dask:builtins", "tcp://h:8786")).address == "tcp://h:8786"
    with pytest.raises(PipelineError, match="for the dask engines"):
        _engine("columnar", "tcp://h:8786")
    with pytest.raises(PipelineError, match="two schedulers"):
        _engine("dask:tcp://a:1", "tcp://h:8786")


def test_command_line_starts_its_own_cluster(tmp_path: Path) -> None:
    """``hotpath pipeline DIR --engine dask --json r.json`` in a fresh process: a LocalCluster
    of its own, started and stopped, its start-up timed apart."""
    why = engines.get("dask").available()
    if why:
        pytest.skip(why)
    folder = _folder(tmp_path, 4_000, 20, 2)
    out = tmp_path / "r.json"
    command = [sys.executable, "-m", "hotpath", "pipeline", str(folder), "--engine", "dask",
               "--json", str(out), "--quiet"]  # fmt: skip
    subprocess.run(command, check=True, timeout=300)
    written = json.loads(out.read_text())
    want = json.loads(json.dumps(_reference(folder).results()))
    assert {k: written[k] for k in want} == want
    assert written["engine"]["workers"] == 2 and written["timings"]["startup"] > 0
    assert np.isfinite(written["timings"]["aggregate"])


def test_unavailable_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dask the engine says what to install, and the pipeline refuses to start."""
    import importlib.util

    real = importlib.util.find_spec

    def missing(name: str, *args: object) -> object:
        if name.split(".")[0] in ("dask", "distributed"):
            raise ModuleNotFoundError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", missing)
    why = engines.get("dask:builtins").available()
    assert why == 'dask.dataframe is not installed (pip install -e ".[dask]")'
    with pytest.raises(PipelineError, match=r"engine dask is unavailable: dask.dataframe is not"):
        run([Path("nowhere")], "dask", Options())
