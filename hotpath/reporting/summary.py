"""The end-of-run terminal summary of ``pytest bench/``: one rich table of every
case, timed or not."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from hotpath.records import Outcome, group
from hotpath.reporting.rows import format_ratio, format_seconds, rows, runtime_notes


def summary_table(
    benchmarks: list[dict[str, Any]], outcomes: list[Outcome], machine: dict[str, Any]
) -> Table:
    """The end-of-run table: timed rows with ratios, then untimed cases with why."""
    table = Table(
        title=f"hotpath {machine.get('hotpath', '')} on {machine.get('cpu_model', '?')}, "
        f"{machine.get('cores', '?')} cores, {machine.get('python', '')}",
        caption="median of the rounds; spread = interquartile range / median; "
        "throughput = input bytes / median; limit = this run's memory read bandwidth",
    )
    for column, justify in (
        ("kernel · size", "left"),
        ("implementation", "left"),
        ("median", "right"),
        ("spread", "right"),
        ("vs python_ref", "right"),
        ("vs numpy_impl", "right"),
        ("GB/s", "right"),
        ("of limit", "right"),
        ("parity", "left"),
    ):
        table.add_column(column, justify=justify)
    previous = None
    for r in rows(benchmarks):
        if previous is not None and r.group != previous:
            table.add_section()
        previous = r.group
        label = r.implementation if r.kind == "backend" else f"{r.implementation} ({r.kind})"
        if "first_call_s" in r.extra and r.kind in ("interpreter", "wasm"):
            # a JIT's or runtime's warm-up, reported apart from the steady-state median;
            # the JIT verdict of the run
            label += "".join(f", {note}" for note in runtime_notes(r.extra, markup=True))
        table.add_row(
            r.group,
            label,
            format_seconds(r.median),
            f"{r.iqr / r.median:.0%}",
            format_ratio(r.vs_reference),
            format_ratio(r.vs_numpy),
            "" if r.gbps is None else f"{r.gbps:.2f}",
            "" if r.share_of_limit is None else f"{r.share_of_limit:.0%}",
            "[green]✓[/]" if r.parity == "ok" else f"[red]✗ {r.parity}[/]",
        )
    untimed = [o for o in outcomes if o.status != "ok"]
    if untimed:
        table.add_section()
    for o in untimed:
        label = o.implementation if o.kind == "backend" else f"{o.implementation} ({o.kind})"
        mark = "[red]✗ not timed[/]" if o.status.startswith("mismatch") else "[yellow]–[/]"
        table.add_row(group(o.kernel, o.size), label, "", "", "", "", "", "", f"{mark} {o.status}")
    return table
