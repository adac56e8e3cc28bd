"""``hotpath performance``: the pipeline benchmark's saved runs as ``PERFORMANCE.md`` and charts.

The story of one program made fast: the dataset; the naive "before" (load, analytics,
memory, total); each optimization in the order applied, with what it bought; the end result
against the start; the alternatives at each choice (readers, formats) and the peers; where
the time went (profiles); and what to reach for next. Every number comes from a saved run
(``pytest bench/ --hotpath-pipeline SIZES``), read back here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotpath.reporting import database
from hotpath.reporting.charts import _new_figure, _style
from hotpath.reporting.markdown import markdown_table
from hotpath.reporting.pipeline import (
    BASELINE,
    DEFAULT_COLD,
    DEFAULT_WARM,
    HASHED,
    STAGES,
    Step,
    grouped,
    mebibytes,
    steps,
)
from hotpath.reporting.rows import format_ratio, format_seconds
from hotpath.reporting.saved import ReportError, Run, load_run, saved_runs

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMN_BYTES = 4 + 8 + 8  # device_id, timestamp, kwh per reading


def _runs(storage: Path, paths: Sequence[Path]) -> list[Run]:
    runs = [load_run(Path(p)) for p in paths] if paths else saved_runs(storage)
    chosen = [r for r in runs if steps(r.benchmarks) or database.rungs(r.benchmarks)]
    if not chosen:
        raise ReportError(
            f"no pipeline or database benchmark in {'the given runs' if paths else storage}: "
            "run `pytest bench/ --hotpath-pipeline 1e5` (or --hotpath-database 1e5) first"
        )
    return chosen


def database_section(runs: list[Run]) -> list[str]:
    """The database ladder's section: per size, the newest run that has it."""
    found: dict[int, list[database.Rung]] = {}
    dates: dict[int, str] = {}
    for run in runs:  # oldest first
        by_size: dict[int, list[database.Rung]] = {}
        for rung in database.rungs(run.benchmarks):
            by_size.setdefault(rung.rows, []).append(rung)
        for rows, members in by_size.items():
            found[rows], dates[rows] = members, f"{run.date} (`{run.path.name}`)"
    return database.section([r for members in found.values() for r in members], dates)


def collect(runs: list[Run]) -> tuple[dict[str, list[Step]], dict[str, Run], dict[str, Any]]:
    """Per size, the steps of the newest run that has it, that run, and the newest profiles."""
    groups: dict[str, list[Step]] = {}
    source: dict[str, Run] = {}
    for run in runs:  # oldest first: newer runs replace older ones size by size
        for group, members in grouped(steps(run.benchmarks)).items():
            groups[group], source[group] = members, run
    profiles: dict[str, Any] = {}
    for run in runs:
        profiles = run.data.get("hotpath_pipeline_profiles") or profiles
    ordered = dict(sorted(groups.items(), key=lambda item: item[1][0].rows))
    return ordered, source, profiles


def _by_key(members: list[Step]) -> dict[str, Step]:
    return {m.key: m for m in members}


def _analytics(step: Step) -> float:
    return sum(step.stages.get(s, 0.0) for s in ("dedup", "aggregate", "fingerprint"))


def _ladder_table(members: list[Step]) -> list[str]:
    body = []
    for m in members:
        if m.kind != "ladder":
            continue
        body.append(
            (
                m.label,
                format_seconds(m.median),
                f"{m.iqr / m.median:.0%}",
                format_ratio(m.vs_previous) or "–",
                format_ratio(m.vs_naive) or "–",
                *(format_seconds(m.stages[s]) if s in m.stages else "–" for s in STAGES),
                mebibytes(m.peak_rss),
                "✓" if m.parity == "ok" else f"✗ {m.parity}",
            )
        )
    header = ("step (each adds one change)", "total", "spread", "× previous", "× naive",
              *STAGES, "peak RSS", "parity")  # fmt: skip
    return markdown_table(header, "lrrrrrrrrrl", body)


def _alternatives(members: list[Step], kind: str, against: Step | None) -> list[str]:
    chosen = [m for m in members if m.kind == kind]
    if not chosen:
        return []
    body = [
        (
            m.label,
            format_seconds(m.median),
            f"{m.iqr / m.median:.0%}",
            f"{against.median / m.median:.2f}×" if against else "–",
            format_seconds(m.stages.get("load", math.nan)) if "load" in m.stages else "–",
            mebibytes(m.peak_rss),
            "✓" if m.parity == "ok" else f"✗ {m.parity}",
        )
        for m in sorted(chosen, key=lambda m: m.median)
    ]
    name = against.label if against else "–"
    header = ("", "total", "spread", f"vs {name}", "load", "peak RSS", "parity")
    return markdown_table(header, "lrrrrrl", body)


def _targets(members: list[Step]) -> list[str]:
    """The issue's targets, each with the figure that meets it or not."""
    k = _by_key(members)
    rows = members[0].rows
    lines = []

    def check(label: str, ok: bool, detail: str) -> None:
        lines.append(f"- {'✅' if ok else '❌'} {label}: {detail}")

    cold, warm = k.get(DEFAULT_COLD), k.get(DEFAULT_WARM)
    if cold and BASELINE in k:
        ratio = k[BASELINE].median / cold.median
        check("optimized ≥ 100× naive", ratio >= 100, f"{ratio:,.0f}× (cache off)")
    if cold and HASHED in k:
        ratio = k[HASHED].median / cold.median
        check("optimized ≥ 10× the hash-based pure-Python program", ratio >= 10, f"{ratio:,.1f}×")
    peers = [m for m in members if m.kind == "peer" and m.parity == "ok"]
    if cold and peers:
        best = min(peers, key=lambda m: m.median)
        ratio = best.median / cold.median
        check(
            "optimized ≥ 2× the fastest peer",
            ratio >= 2,
            f"{ratio:.2f}× {best.label} ({format_seconds(best.median)} vs "
            f"{format_seconds(cold.median)})",
        )
    if cold and cold.peak_rss is not None:
        share = cold.peak_rss / (rows * COLUMN_BYTES)
        check(
            "peak RSS above the interpreter's ≤ 2× the three columns' bytes",
            share <= 2,
            f"{mebibytes(cold.peak_rss)} = {share:.2f}× {mebibytes(rows * COLUMN_BYTES)}",
        )
    first = k.get("cache-cold")
    if first and warm:
        ratio = first.median / warm.median
        check("warm cache ≥ 20× a cold one", ratio >= 20, f"{ratio:,.0f}×")
    hashing = warm.cache.get("hash_seconds") if warm else None
    if hashing and cold and "load" in cold.stages:
        check(
            "hashing the files costs far less than parsing them",
            hashing < cold.stages["load"] / 5,
            f"{format_seconds(hashing)} to hash, {format_seconds(cold.stages['load'])} to parse",
        )
    return lines


def _profile_section(profiles: dict[str, Any]) -> list[str]:
    if not profiles:
        return [
            "_No profiles in this run (bench/test_pipeline.py::test_pipeline_profiles)._",
            "",
        ]
    lines = []
    for name, title in (("naive", "the naive program"), ("optimized", "the optimized default")):
        found = profiles.get(name)
        if not found:
            continue
        body = [
            (
                f"`{e['function']}`",
                f"{e['calls']:,}",
                format_seconds(e["own_s"]),
                format_seconds(e["cumulative_s"]),
            )
            for e in found["top"]
        ]
        lines += [
            f"**{title}** ({found['rows']:,} readings; cProfile, top functions by own time):",
            "",
            *markdown_table(("function", "calls", "own", "cumulative"), "lrrr", body),
            "",
        ]
    if profiles.get("naive_lines"):
        lines += [
            "**The naive duplicate scan, line by line** (line_profiler): nearly all the time is "
            "the inner comparison, executed n²/2 times.",
            "",
            "```",
            profiles["naive_lines"].strip(),
            "```",
            "",
        ]
    return lines


def _panels(groups: dict[str, list[Step]], keep: Callable[[Step], bool]) -> dict[str, list[Step]]:
    """Per size, the steps a chart shows; sizes without any left out."""
    found = {g: [m for m in ms if keep(m)] for g, ms in groups.items()}
    return {g: ms for g, ms in found.items() if ms}


def _panel_figure(panels: dict[str, list[Step]], bar_in: float) -> tuple[Figure, Any]:
    """One panel a size, stacked, each as tall as its bars."""
    height = 0.9 + sum(bar_in * len(ms) + 0.7 for ms in panels.values())
    figure = _new_figure(9.5, height)
    return figure, figure.subplots(len(panels), 1, squeeze=False)[:, 0]


def ladder_figure(groups: dict[str, list[Step]]) -> Figure | None:
    """Per size: each ladder step's total time (log scale), labelled with its speedup."""
    ladders = _panels(groups, lambda m: m.kind == "ladder")
    if not ladders:
        return None
    figure, axes = _panel_figure(ladders, 0.34)
    for ax, (group, members) in zip(axes, ladders.items()):
        names = [m.label for m in members][::-1]
        values = [m.median for m in members][::-1]
        ax.barh(names, values, color="#519e3e")
        ax.set_xscale("log")
        ax.set_title(group, loc="left", fontsize=10)
        for y, m in enumerate(members[::-1]):
            note = f" {format_seconds(m.median)}"
            if m.vs_previous:
                note += f"  ({format_ratio(m.vs_previous)} the step before)"
            ax.text(m.median, y, note, va="center", fontsize=7.5)
        ax.set_xlabel("median wall time of one run, log scale", fontsize=8)
        _style(ax)
        ax.set_xlim(min(values) / 2, max(values) * 30)
    figure.suptitle("The pipeline, one optimization at a time", fontsize=13, weight="bold")
    figure.tight_layout()
    return figure


def memory_figure(groups: dict[str, list[Step]]) -> Figure | None:
    """Per size: peak resident memory above the interpreter's, per step and peer."""
    shown = _panels(groups, lambda m: m.peak_rss is not None)
    if not shown:
        return None
    figure, axes = _panel_figure(shown, 0.28)
    for ax, (group, members) in zip(axes, shown.items()):
        rows = members[0].rows
        names = [m.label for m in members][::-1]
        values = [m.peak_rss / 2**20 for m in members][::-1]
        colours = ["#519e3e" if m.kind == "ladder" else "#aaaaaa" for m in members][::-1]
        ax.barh(names, values, color=colours)
        ax.axvline(rows * COLUMN_BYTES / 2**20, color="#c53a32", linestyle=":", linewidth=1)
        ax.set_title(f"{group} (dotted: the three columns' bytes)", loc="left", fontsize=10)
        ax.set_xlabel("peak RSS above the interpreter's after imports, MiB", fontsize=8)
        _style(ax)
    figure.suptitle("Memory per step and peer", fontsize=13, weight="bold")
    figure.tight_layout()
    return figure


RECOMMENDATIONS = """\
- **Fix the algorithm first.** The pairwise duplicate scan is the whole cost of the naive
  program; a set makes it linear. No compiler buys that.
- **Then stop making objects.** Columns (lists, then arrays) instead of an object per reading,
  and the work moves from the interpreter into loops over memory.
- **Then the reader.** Once the analytics are compiled, parsing text is most of what is left
  (Amdahl): the load stage dominates every compiled row. A native parser, several files at once,
  or leaving text for a binary format (Parquet, Arrow IPC, `.npz`) is where the next factor is.
- **Cache what does not change.** Files that arrive once and are read many times should be
  parsed once: a content-addressed cache turns a re-run into hashing the files.
- **When to move on.** Past what one machine's memory holds (the columns take 20 bytes a
  reading, about 2× that at the peak), or when many processes need the same readings, a
  database or an engine that partitions by device (Spark, Dask; see the engines) is the next
  step -- and exactness then has to be designed in (order columns, partitioning by key), as it
  is here.
"""


def markdown(
    groups: dict[str, list[Step]],
    source: dict[str, Run],
    profiles: dict[str, Any],
    databases: Sequence[str] = (),
) -> str:
    if not groups:  # only the database ladder was run
        return "\n".join(["# hotpath pipeline", "", *databases]).rstrip() + "\n"
    any_run = next(iter(source.values()))
    lines = [
        "# hotpath pipeline: the energy monitor, made fast one step at a time",
        "",
        f"Written by `hotpath performance` from saved runs of `pytest bench/ --hotpath-pipeline` "
        f"on {any_run.machine_line()}. Every row's report was checked against the reference "
        "before it was timed (✓); medians of the rounds, spread = interquartile range / median; "
        "memory is each step's peak resident memory above the interpreter's after imports, "
        "measured in a fresh process per step (tracemalloc's own bookkeeping subtracted).",
        "",
        "![Total time per step](pipeline-ladder.png)",
        "",
    ]
    for group, members in groups.items():
        k = _by_key(members)
        rows = members[0].rows
        run = source[group]
        lines += [
            f"## {rows:,} readings",
            "",
            f"Run of {run.date} (`{run.path.name}`): {rows:,} readings of 1,000 devices with "
            f"sparse ids in 10 CSV files (about {rows * 23 / 1e6:,.0f} MB); the three columns "
            f"take {mebibytes(rows * COLUMN_BYTES)}.",
            "",
        ]
        naive = k.get(BASELINE)
        if naive:
            lines += [
                f"**The baseline** (the naive program, one round): load "
                f"{format_seconds(naive.stages.get('load', math.nan))}, analytics "
                f"{format_seconds(_analytics(naive))} (the pairwise scan: "
                f"{format_seconds(naive.stages.get('dedup', math.nan))}), peak memory "
                f"{mebibytes(naive.peak_rss)}, total {format_seconds(naive.median)}.",
                "",
            ]
        else:
            lines += [
                "_The naive program is not run at this size (its pairwise scan is O(n²))._",
                "",
            ]
        lines += ["### The ladder", "", *_ladder_table(members), ""]
        for m in members:
            if m.kind == "ladder" and m.why:
                lines.append(f"- **{m.label}**: {m.why}.")
        lines.append("")
        cold = k.get(DEFAULT_COLD)
        start = naive or next((m for m in members if m.kind == "ladder"), None)
        if cold and start and start is not cold:
            memory = (
                f"; memory {mebibytes(start.peak_rss)} → {mebibytes(cold.peak_rss)}"
                if start.peak_rss is not None and cold.peak_rss is not None
                else ""
            )
            lines += [
                f"**End to end:** {start.label} {format_seconds(start.median)} → "
                f"{cold.label} {format_seconds(cold.median)}: "
                f"{start.median / cold.median:,.0f}× faster{memory}.",
                "",
            ]
        lines += ["**Targets:**", "", *_targets(members), ""]
        for kind, title in (("reader", "Readers"), ("format", "Binary formats"),
                            ("peer", "Peers, end to end")):  # fmt: skip
            table = _alternatives(members, kind, cold)
            if table:
                lines += [f"### {title}", "", *table, ""]
    lines += ["## Where the time goes", "", *_profile_section(profiles)]
    lines += ["![Peak memory per step](pipeline-memory.png)", ""]
    lines += [*databases]
    lines += ["## Recommendations", "", RECOMMENDATIONS]
    return "\n".join(lines).rstrip() + "\n"


def write_performance(storage: Path, out: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """Write PERFORMANCE.md and its charts into ``out``; the paths written."""
    runs = _runs(storage, paths)
    groups, source, profiles = collect(runs)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in (
        ("pipeline-ladder.png", ladder_figure(groups)),
        ("pipeline-memory.png", memory_figure(groups)),
    ):
        if figure is not None:
            figure.savefig(out / name)
            written.append(out / name)
    text = markdown(groups, source, profiles, database_section(runs))
    (out / "PERFORMANCE.md").write_text(text, encoding="utf-8")
    return [out / "PERFORMANCE.md", *written]
