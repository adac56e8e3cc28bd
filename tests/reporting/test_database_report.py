"""The database ladder's saved rows become PERFORMANCE.md's Databases section: each stage's
table with its ratios, the plans beside their times, a scaled rung marked, the targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hotpath.reporting import database
from hotpath.reporting.performance import write_performance


def _bench(database_: str, stage: str, key: str, median: float, **info: Any) -> dict[str, Any]:
    extra = {"kind": "database", "database": database_, "stage": stage, "rung": key,
             "label": info.pop("label", key), "rows": 100_000, "size": 100_000,
             "parity": "ok", **info}  # fmt: skip
    return {
        "group": "database · 100k rows",
        "extra_info": extra,
        "stats": {"median": median, "iqr": median / 10, "rounds": 3},
    }


BENCHMARKS = [
    _bench("sqlite", "load", "load-row-commit", 0.01, label="a commit per row",
           measured_rows=1_000),
    _bench("sqlite", "load", "load-executemany", 0.02, label="executemany"),
    _bench("sqlite", "report", "report-n+1", 2.0, label="N+1", exact=False, bit_exact=True,
           plan="SCAN kept"),
    _bench("sqlite", "report", "report-index", 0.05, label="GROUP BY, index", exact=False,
           bit_exact=False, plan="SCAN kept USING INDEX kept_key"),
    _bench("sqlite", "report", "report-native", 0.04, label="native"),
    _bench("duckdb", "end to end", "parquet", 0.3, label="DuckDB over Parquet", exact=False,
           stages={"load": 0.1}),
    _bench("pipeline", "end to end", "default", 0.1, label="the default"),
]  # fmt: skip


def test_section_tables_plans_and_targets() -> None:
    text = "\n".join(database.section(database.rungs(BENCHMARKS), {100_000: "today"}))
    assert "### 100,000 readings" in text and "#### SQLite" in text
    assert "| a commit per row | 1 s ✱ |" in text  # 0.01 s for 1,000 rows, scaled to 100,000
    assert "| executemany | 20 ms | 10% | 50.0× | 5,000,000 |" in text
    assert "≈ 1e-12" in text and "≈ (bit-exact in this run)" in text
    assert "<details><summary>plan: GROUP BY, index — 50 ms</summary>" in text
    assert "SCAN kept USING INDEX kept_key" in text
    assert (
        "✅ SQLite: batched load ≥ 50× a commit per row: executemany in one transaction 50×" in text
    )
    assert "✅ SQLite: indexed GROUP BY ≥ 20× the N+1 loop: 40×" in text
    assert "native kernels on fetched columns (40 ms, fetch included) beat" in text
    assert "DuckDB over Parquet: 300 ms, 3.00× the pipeline's optimized default" in text


def test_performance_from_a_database_run_alone(tmp_path: Path) -> None:
    run = {"benchmarks": BENCHMARKS, "datetime": "2026-01-01T00:00:00", "machine_info": {}}
    saved = tmp_path / "runs" / "Linux"
    saved.mkdir(parents=True)
    (saved / "0001_run.json").write_text(json.dumps(run))
    written = write_performance(tmp_path / "runs", tmp_path / "out")
    text = written[0].read_text()
    assert "## Databases" in text and "#### End to end" in text
