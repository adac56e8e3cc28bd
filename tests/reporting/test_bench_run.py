"""A real, small timed run of bench/ with a deliberately wrong backend: the wrong answer
must fail the run and still be saved, summarised and reported, as must a skipped case."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hotpath.cli import main

ROOT = Path(__file__).resolve().parents[2]

# Loaded with -p before bench/conftest.py: numpy_impl's aggregate gets one total wrong, and
# its duplicates crashes.
WRONG_PLUGIN = """
import numpy_impl

_right = numpy_impl.aggregate


def _wrong(device_id, kwh, n_devices):
    count, total, minimum, maximum = _right(device_id, kwh, n_devices)
    total = total.copy()
    total[0] += 1.0
    return count, total, minimum, maximum


def _crash(device_id, timestamp):
    raise RuntimeError("boom")


numpy_impl.aggregate = _wrong
numpy_impl.duplicates = _crash
"""


@pytest.fixture(scope="module")
def wrong_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path_factory.mktemp("wrong")
    (folder / "wrong_numpy_impl.py").write_text(WRONG_PLUGIN, encoding="utf-8")
    storage = folder / "storage"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "bench/",
            "-p",
            "wrong_numpy_impl",
            "-p",
            "no:cacheprovider",
            "--hotpath-size",
            "2000",
            # python_ref and numpy_impl on aggregate, numpy_impl on duplicates, the machine
            # limit, and a runtime that is always skipped (Numba does not run on PyPy)
            "-k",
            "(aggregate and (python_ref or numpy_impl)) or duplicates-2k-numpy_impl or memory "
            "or pypy-numba_impl",
            f"--benchmark-storage=file://{storage}",
            "--benchmark-max-time=0.02",
            "--benchmark-min-rounds=3",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done, storage


def _saved(storage: Path) -> dict:
    (path,) = storage.glob("*/*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_wrong_answer_fails_the_run(wrong_run: tuple) -> None:
    done, _ = wrong_run
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "numpy_impl aggregate: total[0]" in done.stdout


def test_every_case_is_saved_with_its_verdict(wrong_run: tuple) -> None:
    _, storage = wrong_run
    cases = {(c["implementation"], c["kernel"]): c for c in _saved(storage)["hotpath_cases"]}
    assert cases[("numpy_impl", "aggregate")]["status"].startswith("mismatch: total[0]")
    assert cases[("python_ref", "aggregate")]["status"] == "ok"
    assert cases[("numpy_impl", "duplicates")]["status"] == "error: RuntimeError: boom"
    skipped = cases[("pypy-numba_impl", "aggregate")]
    assert skipped["status"] == "skipped: Numba does not run on PyPy (it supports CPython only)"
    assert skipped["group"] == "aggregate · 2k rows" and skipped["kind"] == "interpreter"
    # the wrong answer was never timed
    timed = {b["extra_info"]["implementation"] for b in _saved(storage)["benchmarks"]}
    assert "numpy_impl" not in timed and "python_ref" in timed


def test_the_terminal_summary_shows_the_mismatch_and_the_skip(wrong_run: tuple) -> None:
    out = wrong_run[0].stdout
    # the table's cells wrap: read it as one line of words, borders dropped
    summary = re.sub(r"[\s│]+", " ", out[out.index("hotpath 0.") :])
    # a group is named at its first row: its untimed cases come after it, before the next
    aggregate = summary.split("aggregate · 2k rows", 1)[1].split(" · 2k rows", 1)[0]
    assert "numpy_impl ✗ not timed" in aggregate
    duplicates = summary.split("duplicates · 2k rows", 1)[1].split(" · 2k rows", 1)[0]
    assert "numpy_impl ✗ not timed" in duplicates
    # and why, in full, under the table
    assert "✗ numpy_impl aggregate · 2k rows: mismatch: total[0]: got 1.26, want 0.26" in summary
    assert "✗ numpy_impl duplicates · 2k rows: error: RuntimeError: boom" in summary
    assert " reference " in summary
    assert "skipped pypy-numba_impl (interpreter): aggregate · 2k rows" in summary
    assert "Numba does not run on PyPy" in summary
    assert "`make setup` installs what the skipped rows need" in summary  # and how to get them
    assert "2 gave a wrong answer or failed" in summary


def test_the_report_shows_the_mismatch_and_the_skip(wrong_run: tuple, tmp_path: Path) -> None:
    _, storage = wrong_run
    assert main(["report", "--storage", str(storage), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    section = text.split("### aggregate · 2k rows\n", 1)[1].split("\n### ", 1)[0]
    numpy_row = next(line for line in section.splitlines() if line.startswith("| `numpy_impl`"))
    assert "✗ not timed: mismatch: total[0]" in numpy_row
    ref_row = next(line for line in section.splitlines() if line.startswith("| `python_ref`"))
    assert ref_row.rstrip(" |").endswith("reference")
    assert "`pypy-numba_impl`" in text and "Numba does not run on PyPy" in text
    assert "2 gave a wrong answer or failed" in text
    assert "✗ not timed: error: RuntimeError: boom" in text
