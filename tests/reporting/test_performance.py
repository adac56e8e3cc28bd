"""PERFORMANCE.md from a saved pipeline benchmark run: the ladder in order, speedups, the
targets judged, alternatives, profiles; and the terminal table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from hotpath.cli import main
from hotpath.reporting import pipeline
from hotpath.reporting.rows import statistics_of

ROWS = 100_000
GROUP = "pipeline · 100k readings"


def step(key: str, label: str, kind: str, median: float, **extra: Any) -> dict[str, Any]:
    stages = {"load": median * 0.6, "dedup": median * 0.2, "aggregate": median * 0.1,
              "fingerprint": median * 0.1, "total": median}  # fmt: skip
    return {
        "group": GROUP,
        "name": f"test_pipeline[{key}]",
        "stats": statistics_of([median * 0.99, median, median * 1.01]),
        "extra_info": {
            "implementation": key,
            "kind": "pipeline",
            "step": label,
            "step_kind": kind,
            "rows": ROWS,
            "size": ROWS,
            "parity": "ok",
            "why": f"why {key}",
            "stages": stages,
            "memory": {"peak_rss_above_baseline": 3_000_000, "tracemalloc_overhead": 0},
            **extra,
        },
    }


RUN = {
    "datetime": "2026-12-01T12:00:00+00:00",
    "machine_info": {"hotpath": {"cpu_model": "Test CPU", "cores": 2, "python": "CPython 3.11"}},
    "benchmarks": [
        step("naive", "the naive program", "ladder", 300.0),
        step("algorithm", "hash-based duplicate scan", "ladder", 0.5),
        step("compiled", "compiled kernels", "ladder", 0.02),
        step("parallel", "files read in parallel", "ladder", 0.01),
        step("cache-cold", "cache: first run", "ladder", 0.012),
        step(
            "cache-result",
            "cache: the whole result",
            "ladder",
            0.0004,
            cache={"hash_seconds": 0.0003},
        ),
        step("reader-pandas", "reader pandas", "reader", 0.05),
        step("peer-duckdb", "peer: duckdb", "peer", 0.04),
    ],
    "hotpath_pipeline_profiles": {
        "naive": {
            "rows": 5000,
            "top": [
                {
                    "function": "naive.py:80(drop_duplicates)",
                    "calls": 1,
                    "own_s": 2.0,
                    "cumulative_s": 2.1,
                }
            ],
        },
        "naive_lines": "Line #  Hits  Time\n   85  12497500  if earlier.device_id == ...",
    },
}


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    (folder / "0001_run.json").write_text(json.dumps(RUN))
    return tmp_path / "storage"


def test_performance_md(storage: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["performance", "--storage", str(storage), "--out", str(out)]) == 0
    text = (out / "PERFORMANCE.md").read_text()
    assert (out / "pipeline-ladder.png").exists() and (out / "pipeline-memory.png").exists()
    ladder = text.split("### The ladder", 1)[1].split("###", 1)[0]
    labels = ("the naive program", "hash-based duplicate", "compiled kernels", "files read in")
    order = [ladder.index(label) for label in labels]
    assert order == sorted(order)  # in the order applied
    assert "| 600× | 600× |" in ladder  # hash-based: 300 s / 0.5 s, over previous and naive
    assert "✅ optimized ≥ 100× naive: 30,000× (cache off)" in text
    assert "✅ optimized ≥ 10× the hash-based pure-Python program: 50.0×" in text
    assert "✅ optimized ≥ 2× the fastest peer: 4.00× peer: duckdb" in text
    assert "✅ warm cache ≥ 20× a cold one: 30×" in text
    assert "### Readers" in text and "### Peers, end to end" in text
    assert "naive.py:80(drop_duplicates)" in text and "12497500" in text


def test_no_pipeline_run_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "s" / "m"
    folder.mkdir(parents=True)
    (folder / "0001.json").write_text(json.dumps({"benchmarks": []}))
    assert main(["performance", "--storage", str(tmp_path / "s"), "--out", str(tmp_path)]) == 1
    assert "--hotpath-pipeline" in capsys.readouterr().err


def test_terminal_table() -> None:
    found = pipeline.steps(RUN["benchmarks"])
    console = Console(record=True, width=160)
    console.print(pipeline.terminal_table(found))
    text = console.export_text()
    naive = next(line for line in text.splitlines() if "the naive program" in line)
    assert "300 s" in naive and "✓" in naive
    parallel = next(found for found in found if found.key == "parallel")
    assert parallel.vs_naive == pytest.approx(30_000) and parallel.vs_previous == pytest.approx(2)
