"""Scaling by threads (bench --hotpath-threads): speedups, efficiency, the end-of-run table,
the RESULTS.md section and the chart, on synthetic saved runs (no timings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_report import bench, saved_run, write

from hotpath import records
from hotpath.cli import main
from hotpath.reporting import charts, saved, threads


def thread_bench(
    name: str, parallel_of: str, kernel: str, size: int, count: int, median: float,
    parity: str = "ok",
) -> dict[str, Any]:  # fmt: skip
    found = bench(name, "threads", kernel, size, median, parity)
    found["group"] = f"{records.group(kernel, size)} · threads"
    found["extra_info"].update(threads=count, parallel_of=parallel_of)
    return found


RUN = [
    thread_bench("rust_ext", "", "aggregate", 10**6, 0, 8e-3),
    thread_bench("rust_ext.parallel", "rust_ext", "aggregate", 10**6, 1, 8e-3),
    thread_bench("rust_ext.parallel", "rust_ext", "aggregate", 10**6, 2, 5e-3),
    thread_bench("rust_ext.parallel", "rust_ext", "aggregate", 10**6, 4, 2.5e-3),
    thread_bench("numba_impl", "", "aggregate", 10**6, 0, 10e-3),
    thread_bench("numba_impl.parallel", "numba_impl", "aggregate", 10**6, 2, 1e-3, "mismatch: x"),
    thread_bench("cffi_ext.parallel", "cffi_ext", "hash_rows", 10**7, 2, 1e-3),  # no sequential
]


def test_speedup_and_efficiency_are_against_the_own_sequential_backend() -> None:
    found = {(s.variant, s.kernel, s.threads): s for s in threads.scaled(threads.points(RUN))}
    two = found["rust_ext.parallel", "aggregate", 2]
    assert two.speedup == pytest.approx(1.6) and two.efficiency == pytest.approx(0.8)
    four = found["rust_ext.parallel", "aggregate", 4]
    assert four.speedup == pytest.approx(3.2) and four.efficiency == pytest.approx(0.8)
    assert found["rust_ext.parallel", "aggregate", 1].efficiency == pytest.approx(1.0)
    # a wrong answer lends no credit; a missing sequential row gives no ratio
    assert found["numba_impl.parallel", "aggregate", 2].speedup is None
    assert found["cffi_ext.parallel", "hash_rows", 2].sequential_median is None
    assert found["cffi_ext.parallel", "hash_rows", 2].efficiency is None
    assert ("rust_ext", "aggregate", 0) not in found  # sequential rows are the baseline only
    assert threads.thread_counts(list(found.values())) == [1, 2, 4]


def test_thread_rows_stay_out_of_the_kernel_tables() -> None:
    from hotpath.reporting.rows import rows

    assert rows([*RUN, bench("rust_ext", "backend", "aggregate", 10**6, 0.008)]) != []
    assert [r.implementation for r in rows(RUN)] == []


def test_terminal_table_fits_100_columns() -> None:
    console = Console(width=100, record=True)
    console.print(threads.terminal_table(threads.scaled(threads.points(RUN))))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "1.60× (80%)" in text and "3.20× (80%)" in text and "✗" in text
    row = next(line for line in text.splitlines() if "cffi_ext.parallel" in line)
    assert "–" in row  # its sequential backend was not timed


def test_results_md_section_and_chart(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    write(
        storage,
        "0001_abc.json",
        saved_run("2026-01-02T03:04:05+00:00", [*RUN, bench("python_ref", "backend",
                                                            "aggregate", 1000, 1e-3)]),
    )  # fmt: skip
    out = tmp_path / "out"
    assert main(["report", "--storage", str(storage), "--out", str(out)]) == 0
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    section = text.split("## Scaling by threads\n", 1)[1]
    assert "![Speedup by threads per parallel variant](threads.png)" in section
    assert "--hotpath-threads 1,2,4" in section
    line = next(s for s in section.splitlines() if "`rust_ext.parallel`" in s)
    assert "5 ms, 1.60× (80%)" in line and "2.5 ms, 3.20× (80%)" in line
    assert "✗ wrong answer" in next(s for s in section.splitlines() if "numba_impl.p" in s)
    assert (out / "threads.png").stat().st_size > 10_000


def test_chart_extends_with_the_thread_counts(tmp_path: Path) -> None:
    run = saved.Run(tmp_path / "run.json", saved_run("2026-01-02T03:04:05+00:00", RUN))
    figure = charts.threads_figure(run)
    assert figure is not None
    ax = figure.axes[0]
    assert [round(t) for t in ax.get_xticks()] == [1, 2, 4]
    many = [*RUN, thread_bench("rust_ext.parallel", "rust_ext", "aggregate", 10**6, 16, 0.0007)]
    ax = charts.threads_figure(saved.Run(run.path, saved_run(run.data["datetime"], many))).axes[0]
    assert [round(t) for t in ax.get_xticks()] == [1, 2, 4, 16]
    one = [b for b in RUN if b["extra_info"]["threads"] in (0, 2)]
    assert charts.threads_figure(saved.Run(run.path, saved_run(run.data["datetime"], one))) is None


def test_timed_thread_cases_are_not_listed_as_untimed() -> None:
    """A thread case's Outcome is named for its thread count; its timed row must match it."""
    from hotpath.reporting.rows import untimed_cases

    cases = [
        records.Outcome(records.thread_case("rust_ext.parallel", 2), "threads", "aggregate", 10**6),
        records.Outcome(records.thread_case("rust_ext", 0), "threads", "aggregate", 10**6),
        records.Outcome(records.thread_case("rust_ext.parallel", 8), "threads", "aggregate", 10**6),
    ]
    untimed = untimed_cases(RUN, cases)
    assert [c.implementation for c in untimed] == ["rust_ext.parallel @8 threads"]
