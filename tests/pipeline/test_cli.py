"""The commands a user types: generate, pipeline (text and JSON), convert, profiles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hotpath.cli import main
from hotpath.pipeline import Options, run
from hotpath.pipeline.report import results_json


def test_generate_pipeline_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    data = tmp_path / "data"
    assert (
        main(["generate", str(data), "--files", "3", "--readings", "3000", "--devices", "50"]) == 0
    )
    files = sorted(data.glob("*.csv"))
    assert [f.name for f in files] == ["readings-000.csv", "readings-001.csv", "readings-002.csv"]
    out = tmp_path / "report.json"
    assert main(["pipeline", str(data), "--json", str(out), "--cache", str(tmp_path / "c")]) == 0
    shown = capsys.readouterr().out
    assert "3,000 rows read" in shown and "top 5 consumers" in shown
    report = json.loads(out.read_text())
    for key in ("rows_read", "rows_rejected", "duplicates_dropped", "rows_kept", "fleet_total_kwh",
                "fingerprint", "devices", "timings", "memory"):  # fmt: skip
        assert key in report
    assert report["rows_read"] == 3000 and len(report["devices"]) == 50
    assert max(d["device_id"] for d in report["devices"]) > 1000  # sparse ids by default
    assert set(report["timings"]) >= {"load", "dedup", "aggregate", "fingerprint", "total"}
    assert report["memory"]["peak_rss"] > 0


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "npz"])
def test_convert_then_read_binary(fmt: str, generated: Path, tmp_path: Path) -> None:
    out = tmp_path / fmt
    assert main(["convert", str(generated), "--to", fmt, "--out", str(out)]) == 0
    binary = run([out], options=Options(backend="numpy_impl"))
    text = run([generated], options=Options(backend="numpy_impl"))
    assert binary.files != text.files
    binary.files = text.files
    assert results_json(binary) == results_json(text)


def test_a_binary_file_of_the_wrong_shape_is_rejected(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", device_id=np.zeros(3, np.int64))
    report = run([tmp_path], options=Options(on_bad_row="skip"))
    assert report.files_rejected[0]["reason"].startswith("no device_id, timestamp, kwh column")


def test_profiles(generated: Path, tmp_path: Path) -> None:
    prof, text, memory = tmp_path / "run.prof", tmp_path / "run.txt", tmp_path / "memory.txt"
    args = ["pipeline", str(generated), "--no-cache", "--quiet"]
    assert main([*args, "--profile", str(prof), "--memory-profile", str(memory)]) == 0
    import pstats

    assert pstats.Stats(str(prof)).total_calls > 0
    assert memory.read_text().startswith("tracemalloc peak:")
    pytest.importorskip("pyinstrument")
    assert main([*args, "--profile", str(text)]) == 0
    assert "pipeline" in text.read_text()
