"""The end-of-run terminal summary of ``pytest bench/``: one rich table of every
case, timed or not, and the skipped cases with their reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from hotpath.records import Outcome
from hotpath.reporting.rows import (
    format_ratio,
    format_seconds,
    format_share,
    label,
    parity_mark,
    rows,
    runtime_notes,
    sections,
    skipped_groups,
    tally,
    untimed_cases,
    untimed_mark,
)


def _parity_cell(implementation: str, kind: str, parity: str) -> str:
    mark = escape(parity_mark(implementation, kind, parity))
    if mark.startswith("✗"):
        return f"[red]{mark}[/]"
    return f"[green]{mark}[/]" if mark == "✓" else mark


def summary_table(
    benchmarks: list[dict[str, Any]], outcomes: Sequence[Outcome], machine: dict[str, Any]
) -> Table:
    """The end-of-run table: timed rows with ratios, and in each group the cases that
    gave a wrong answer or failed, never timed. Skips are in :func:`untimed_lines`."""
    table = Table(
        title=f"hotpath {machine.get('hotpath', '')} on {machine.get('cpu_model', '?')}, "
        f"{machine.get('cores', '?')} cores, {machine.get('python', '')}",
        caption="median of the rounds; spread = interquartile range / median; "
        "throughput = input bytes / median; of limit: against this run's read bandwidth of "
        "the smallest cache level holding the row's working set, else DRAM's",
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
    failed = [o for o in untimed_cases(benchmarks, outcomes) if not o.skipped]
    for i, (group, timed, untimed) in enumerate(sections(rows(benchmarks), failed)):
        if i:
            table.add_section()
        for r in timed:
            name = label(r.implementation, r.kind)
            if r.kind == "limit":  # one probe per memory level
                name = f"{r.implementation}, {r.extra.get('level', 'DRAM')} (limit)"
            if "first_call_s" in r.extra and r.kind in ("interpreter", "wasm"):
                # a JIT's or runtime's warm-up, reported apart from the steady-state median;
                # the JIT verdict of the run
                name += "".join(f", {note}" for note in runtime_notes(r.extra, markup=True))
            table.add_row(
                group,
                name,
                format_seconds(r.median),
                f"{r.iqr / r.median:.0%}",
                format_ratio(r.vs_reference),
                format_ratio(r.vs_numpy),
                "" if r.gbps is None else f"{r.gbps:.2f}",
                format_share(r),
                _parity_cell(r.implementation, r.kind, r.parity),
            )
        for o in untimed:
            name = label(o.implementation, o.kind)
            mark = f"[red]{escape(untimed_mark(o))}[/]"
            table.add_row(group, name, "", "", "", "", "", "", mark)
    return table


def untimed_lines(benchmarks: list[dict[str, Any]], outcomes: Sequence[Outcome]) -> list[str]:
    """After the table: the verdicts counted, and every skipped case with its reason
    (one line per implementation and reason)."""
    failed = any(o.failed for o in outcomes if o.kind != "limit")
    colour = "red" if failed else "green"
    lines = [f"[{colour}]hotpath parity: {tally(outcomes)}[/]"]
    for name, kind, groups, reason in skipped_groups(untimed_cases(benchmarks, outcomes)):
        lines.append(
            f"[yellow]skipped[/] {escape(label(name, kind))}: {', '.join(groups)}: {escape(reason)}"
        )
    return lines
