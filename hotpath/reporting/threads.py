"""Scaling by threads: the parallel variants against their own sequential backends.

``pytest bench/ --hotpath-threads 1,2`` (bench/conftest.py) times every parallel variant
(hotpath.backends.parallel()) at each thread count, and its sequential backend beside it, at
the same rows; each case is parity-checked first. Those benchmarks have ``kind == "threads"``
and ``threads`` in their extra info (0 for the sequential backend). This module turns them into
speedups over the sequential backend and parallel efficiency (speedup / threads), for the
end-of-run table, RESULTS.md and the chart (hotpath.reporting.charts.threads_figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.table import Table

from hotpath.records import size_label
from hotpath.reporting.markdown import markdown_table
from hotpath.reporting.rows import format_seconds

KIND = "threads"
SEQUENTIAL = 0  # the ``threads`` of a sequential backend's row


@dataclass(frozen=True)
class Point:
    """One timed case: ``implementation`` at ``threads`` threads (0: the sequential backend)."""

    implementation: str
    parallel_of: str  # "" for a sequential backend
    kernel: str
    size: int
    threads: int
    median: float
    parity: str


@dataclass(frozen=True)
class Scaled:
    """A parallel variant at one thread count, against its sequential backend in the same run."""

    variant: str
    sequential: str
    kernel: str
    size: int
    threads: int
    median: float
    sequential_median: float | None  # None: the sequential row is missing or wrong
    parity: str

    @property
    def speedup(self) -> float | None:
        if self.parity != "ok" or not self.sequential_median:
            return None
        return self.sequential_median / self.median

    @property
    def efficiency(self) -> float | None:
        """Speedup / threads: 1.0 is perfect scaling."""
        speedup = self.speedup
        return None if speedup is None else speedup / self.threads


def points(benchmarks: Sequence[dict[str, Any]]) -> list[Point]:
    out = []
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") != KIND or "stats" not in bench:
            continue
        out.append(
            Point(
                info["implementation"],
                info.get("parallel_of", ""),
                info["kernel"],
                info["size"],
                int(info["threads"]),
                bench["stats"]["median"],
                info.get("parity", "ok"),
            )
        )
    return out


def scaled(found: Sequence[Point]) -> list[Scaled]:
    """Every parallel variant's point with its sequential backend's median, ordered by kernel,
    size, variant and threads."""
    sequential = {
        (p.implementation, p.kernel, p.size): p.median
        for p in found
        if p.threads == SEQUENTIAL and p.parity == "ok"
    }
    out = [
        Scaled(
            p.implementation,
            p.parallel_of,
            p.kernel,
            p.size,
            p.threads,
            p.median,
            sequential.get((p.parallel_of, p.kernel, p.size)),
            p.parity,
        )
        for p in found
        if p.threads != SEQUENTIAL
    ]
    return sorted(out, key=lambda s: (s.kernel, s.size, s.variant, s.threads))


def thread_counts(found: Sequence[Scaled]) -> list[int]:
    return sorted({s.threads for s in found})


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _group(s: Scaled) -> str:
    return f"{s.kernel} · {size_label(s.kernel, s.size)}"


def terminal_table(found: Sequence[Scaled]) -> Table:
    """The end-of-run table: one row per variant, kernel and size; per thread count the
    speedup over the sequential backend and the efficiency. Fits 100 columns up to four
    thread counts (more wrap their cells)."""
    counts = thread_counts(found)
    table = Table(
        title="Scaling by threads: speedup over the sequential backend (efficiency)",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        caption_justify="left",
        caption="efficiency: speedup / threads (100% is perfect scaling) · ✗: wrong answer, "
        "not timed · –: the sequential row is missing",
    )
    table.add_column("kernel · size", no_wrap=True, min_width=16)
    table.add_column("variant", overflow="fold", min_width=12, max_width=20)
    table.add_column("sequential", justify="right", no_wrap=True, min_width=9)
    for t in counts:
        table.add_column(f"{t} thread{'s' if t > 1 else ''}", justify="right", min_width=12)
    for (group, variant), members in _by_row(found).items():
        by_threads = {s.threads: s for s in members}
        first = members[0]
        cells = []
        for t in counts:
            s = by_threads.get(t)
            if s is None:
                cells.append("")
            elif s.parity != "ok":
                cells.append("[red]✗[/]")
            else:
                cells.append(f"{_ratio(s.speedup)} ({_share(s.efficiency)})")
        seq = first.sequential_median
        table.add_row(group, variant, format_seconds(seq) if seq else "–", *cells)
    return table


def _by_row(found: Sequence[Scaled]) -> dict[tuple[str, str], list[Scaled]]:
    rows: dict[tuple[str, str], list[Scaled]] = {}
    for s in found:
        rows.setdefault((_group(s), s.variant), []).append(s)
    return rows


def section(found: Sequence[Scaled], chart: bool) -> list[str]:
    """RESULTS.md's "Scaling by threads" section: the chart, then the table of medians,
    speedups and efficiencies."""
    counts = thread_counts(found)
    lines = [
        "## Scaling by threads",
        "",
        "Each parallel variant against its own sequential backend, timed in the same run on "
        "the same input, each case parity-checked first (`pytest bench/ --hotpath-threads "
        f"{','.join(map(str, counts))}`). Speedup: the sequential backend's median over the "
        "variant's; efficiency: speedup / threads (100% is perfect scaling). `xxh64` is one "
        "sequential stream by definition and is not listed.",
        "",
    ]
    if chart:
        lines += ["![Speedup by threads per parallel variant](threads.png)", ""]
    header = ["kernel · size", "variant", "sequential"]
    header += [f"{t} thread{'s' if t > 1 else ''}" for t in counts]
    body = []
    for (group, variant), members in _by_row(found).items():
        by_threads = {s.threads: s for s in members}
        seq = members[0].sequential_median
        cells = [group, f"`{variant}`", format_seconds(seq) if seq else "–"]
        for t in counts:
            s = by_threads.get(t)
            if s is None:
                cells.append("")
            elif s.parity != "ok":
                cells.append("✗ wrong answer")
            else:
                cells.append(
                    f"{format_seconds(s.median)}, {_ratio(s.speedup)} ({_share(s.efficiency)})"
                )
        body.append(cells)
    lines += markdown_table(header, "llr" + "r" * len(counts), body)
    return [*lines, ""]
