"""The pipeline benchmark's results as rows: each step's median, spread, stages, memory and
its speedups -- over the naive program and over the step before it on the ladder -- from
pytest-benchmark's records (bench/test_pipeline.py), for the terminal and PERFORMANCE.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from hotpath.reporting.rows import format_ratio, format_seconds

STAGES = ("load", "dedup", "aggregate", "fingerprint")
BASELINE = "naive"
HASHED = "algorithm"  # the hash-based pure-Python program
DEFAULT_COLD = "parallel"  # the default configuration, nothing cached
DEFAULT_WARM = "cache-result"


@dataclass
class Step:
    group: str
    rows: int
    key: str
    label: str
    kind: str  # ladder, reader, format, peer
    median: float
    iqr: float
    rounds: int
    parity: str
    why: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    vs_naive: float | None = None
    vs_previous: float | None = None

    @property
    def peak_rss(self) -> int | None:
        """Peak resident memory above the interpreter's after imports, less what tracemalloc
        itself held during the measurement."""
        m = self.memory
        if "peak_rss_above_baseline" not in m:
            return None
        return max(0, m["peak_rss_above_baseline"] - m.get("tracemalloc_overhead", 0))


def steps(benchmarks: list[dict[str, Any]]) -> list[Step]:
    out = []
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") != "pipeline" or "stats" not in bench:
            continue
        s = bench["stats"]
        out.append(
            Step(
                bench["group"], info["rows"], info["implementation"], info["step"],
                info.get("step_kind", "ladder"), s["median"], s["iqr"], s["rounds"],
                info.get("parity", "ok"), info.get("why", ""), info.get("stages", {}),
                info.get("memory", {}), info.get("cache", {}),
            )
        )  # fmt: skip
    by_group: dict[str, list[Step]] = {}
    for step in out:
        by_group.setdefault(step.group, []).append(step)
    for members in by_group.values():
        naive = next((m.median for m in members if m.key == BASELINE), None)
        previous = None
        for m in members:
            m.vs_naive = naive / m.median if naive else None
            if m.kind == "ladder":
                m.vs_previous = previous / m.median if previous else None
                previous = m.median
    return out


def grouped(found: list[Step]) -> dict[str, list[Step]]:
    groups: dict[str, list[Step]] = {}
    for step in sorted(found, key=lambda s: s.rows):
        groups.setdefault(step.group, []).append(step)
    return groups


def mebibytes(n: int | None) -> str:
    return "–" if n is None else f"{n / 2**20:,.1f} MiB"


def terminal_table(found: list[Step]) -> Table:
    table = Table(title="hotpath pipeline: end to end, every step parity-checked")
    columns = ["size", "step", "median", "spread", "× naive", "× previous", *STAGES,
               "peak RSS", "parity"]  # fmt: skip
    for c in columns:
        table.add_column(c, justify="left" if c in ("size", "step", "parity") else "right")
    for group, members in grouped(found).items():
        table.add_section()
        for m in members:
            table.add_row(
                group.removeprefix("pipeline · "),
                m.label if m.kind == "ladder" else f"[dim]{m.label}[/]",
                format_seconds(m.median),
                f"{m.iqr / m.median:.0%}",
                format_ratio(m.vs_naive),
                format_ratio(m.vs_previous),
                *(format_seconds(m.stages[s]) if s in m.stages else "" for s in STAGES),
                mebibytes(m.peak_rss),
                "[green]✓[/]" if m.parity == "ok" else f"[red]✗ {m.parity}[/]",
            )
    return table
