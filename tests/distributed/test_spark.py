"""The Spark job gives the pipeline's report, bit for bit: several files, duplicates across
files, one device, many devices, CSV and Parquet, both strategies, bad input named alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hotpath import data
from hotpath.pipeline import Options, run
from hotpath.pipeline.convert import convert
from hotpath.pipeline.errors import BadInput
from hotpath.pipeline.inputs import discover
from hotpath.pipeline.report import Report, mismatch, results_json

sessions = pytest.importorskip(
    "hotpath.distributed.spark.session", reason="the spark extra is not installed"
)
_WHY = sessions.unavailable()
if _WHY:
    pytest.skip(f"Spark cannot run here: {_WHY}", allow_module_level=True)

from hotpath.distributed.spark import job  # noqa: E402

REFERENCE = Options(reader="stdlib", backend="python_ref", cache=None)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = sessions.start("local[2]", partitions=3)
    yield session
    session.stop()


def _folder(root: Path, name: str, rows: int, devices: int, files: int, seed: int) -> Path:
    folder = root / name
    readings = data.with_sparse_ids(data.generate(rows, devices, seed=seed), seed=seed)
    data.write_files(readings, folder, files)
    return folder


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, edge: Path, generated: Path) -> dict:
    root = tmp_path_factory.mktemp("spark")
    found = {
        "edge": edge,
        "generated": generated,
        "one-device": _folder(root, "one", 3_000, 1, 4, seed=3),
        "many-devices": _folder(root, "many", 12_000, 4_000, 3, seed=5),
    }
    found["generated-parquet"] = root / "parquet"
    convert([generated], "parquet", found["generated-parquet"])
    return found


def _same(got: Report, want: Report) -> None:
    assert mismatch(got, want, exact=True) is None
    assert results_json(got) == results_json(want)


@pytest.mark.parametrize("strategy", job.STRATEGIES)
@pytest.mark.parametrize(
    "dataset", ["edge", "generated", "one-device", "many-devices", "generated-parquet"]
)
def test_same_report(spark: Any, datasets: dict, dataset: str, strategy: str) -> None:
    folder = datasets[dataset]
    want = run([folder], "columnar", REFERENCE)
    settings = job.Settings(strategy=strategy, partitions=3, backend="cffi_ext")
    got = job.run(discover([folder]), settings, spark)
    _same(got, want)
    assert got.duplicates_dropped > 0 or dataset == "many-devices"


@pytest.mark.parametrize("backend", ["python_ref", "numpy_impl", "rust_ext"])
def test_any_backend(spark: Any, generated: Path, backend: str) -> None:
    want = run([generated], "columnar", REFERENCE)
    got = job.run(discover([generated]), job.Settings(backend=backend), spark)
    _same(got, want)


def _bad_folder(root: Path, generated: Path) -> Path:
    folder = root / "bad"
    folder.mkdir()
    for k, path in enumerate(sorted(generated.glob("*.csv"))[:3]):
        lines = path.read_text().splitlines(keepends=True)
        if k == 1:  # two bad records in the second file, after good ones
            lines[5] = "12,notatime,0.5\n"
            lines[9] = "4294967296,1,0.5\n"
        (folder / path.name).write_text("".join(lines))
    (folder / "readings-009.csv").write_text("")  # a file with no header: rejected whole
    return folder


def test_bad_input_named_alike(spark: Any, tmp_path: Path, generated: Path) -> None:
    folder = _bad_folder(tmp_path, generated)
    with pytest.raises(BadInput) as want:
        run([folder], "columnar", REFERENCE)
    with pytest.raises(BadInput) as got:
        job.run(discover([folder]), job.Settings(), spark)
    assert str(got.value) == str(want.value)
    assert ":6: timestamp 'notatime' is not an integer" in str(got.value)

    skip = Options(reader="stdlib", backend="python_ref", cache=None, on_bad_row="skip")
    wanted = run([folder], "columnar", skip)
    found = job.run(discover([folder]), job.Settings(on_bad_row="skip"), spark)
    _same(found, wanted)
    assert found.rejects == wanted.rejects and len(found.rejects) == 2
    assert found.files_rejected == wanted.files_rejected != []


def test_format_picks_a_folders_files(tmp_path: Path, generated: Path) -> None:
    from hotpath.distributed.spark.cli import files
    from hotpath.pipeline.errors import PipelineError

    both = tmp_path / "both"
    convert([generated], "parquet", both)
    for path in sorted(generated.glob("*.csv")):
        (both / path.name).write_bytes(path.read_bytes())
    assert [f.suffix for f in files([both], "parquet")] == [".parquet"] * 7
    assert [f.name for f in files([both], "csv")] == sorted(p.name for p in generated.glob("*.csv"))
    with pytest.raises(PipelineError, match="holds readings in"):
        files([both], None)
    with pytest.raises(PipelineError, match=r"not a \.parquet file"):
        files([both / "readings-000.csv"], "parquet")


def test_conf_must_be_key_value(generated: Path) -> None:
    from hotpath.pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="--conf takes KEY=VALUE"):
        job.run(discover([generated]), job.Settings(conf=("spark.archives",)))


# -- tests that start their own session (run last: starting one stops the module's) --------


def test_metrics_from_the_rest_api(tmp_path: Path) -> None:
    """Spark's own figures for a job group: a groupBy shuffles, the tasks are counted."""
    from pyspark.sql import functions as F

    from hotpath.distributed.spark import metrics, tuning

    written = tuning.write_skewed(tmp_path / "skewed", 4_000, devices=20, files=2)
    readings = run([tmp_path / "skewed"], "columnar", REFERENCE)
    hot = [d for d in readings.results()["devices"] if d["device_id"] == tuning.HOT_DEVICE]
    assert len(written) == 2 and hot[0]["count"] > readings.rows_kept * 0.45

    spark = sessions.start("local[2]", partitions=3, ui=True)
    try:
        spark.sparkContext.setJobGroup("test", "a shuffle")
        frame = spark.range(10_000, numPartitions=4).withColumn("k", F.col("id") % 7)
        assert frame.groupBy("k").count().count() == 7
        found = metrics.of_group(spark, "test")
    finally:
        spark.stop()
    assert found.jobs >= 1 and found.stages >= 2 and found.tasks >= 4 + 1
    assert found.shuffle_write_bytes > 0 and found.shuffle_read_bytes > 0


def test_command_writes_the_pipelines_report(tmp_path: Path, generated: Path) -> None:
    """`hotpath spark DIR --json` on 20,000 readings in 7 files, as a user runs it (its own
    session: run last, it replaces the module's); the report is the pipeline's."""
    from hotpath.cli import main

    out = tmp_path / "spark.json"
    assert main(["spark", str(generated), "--json", str(out), "--quiet"]) == 0
    written = json.loads(out.read_text())
    assert written["engine"]["name"] == "spark" and "session" in written["timings"]
    assert written["rows_read"] == 20_000
    want = run([generated], "columnar", REFERENCE).results()
    assert {k: written[k] for k in want} == json.loads(json.dumps(want))
