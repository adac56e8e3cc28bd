"""The database ladder's results (bench/test_database.py) as tables: for the terminal, and
the "Databases" section of PERFORMANCE.md -- each rung's time, its ratio to the rung it
improves on, whether its sums are bit-exact, and each query's plan beside its time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from hotpath.reporting.markdown import markdown_table
from hotpath.reporting.rows import format_ratio, format_seconds

TITLES = {"sqlite": "SQLite", "postgres": "PostgreSQL", "duckdb": "DuckDB", "pipeline": "pipeline"}
# Each stage's rungs are compared with its "before".
BEFORE = {"load": "load-row-commit", "report": "report-n+1", "dedup": "dedup-window"}
STAGE_TITLES = {
    "load": "Loading the readings",
    "report": "The per-device report (count, total, min, max over the kept rows)",
    "dedup": "Finding the duplicates",
}
TARGET_LOAD, TARGET_QUERY = 50, 20


@dataclass
class Rung:
    group: str
    rows: int
    database: str
    stage: str
    key: str
    label: str
    why: str
    median: float  # seconds for the whole dataset (scaled up when a sample was timed)
    iqr: float
    rounds: int
    parity: str
    exact: bool
    bit_exact: bool
    measured_rows: int
    plan: str = ""
    prepare_s: float | None = None
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def scaled(self) -> bool:
        return self.measured_rows < self.rows

    @property
    def sums(self) -> str:
        if self.stage not in ("report", "end to end"):
            return "exact"
        if self.exact:
            return "exact"
        return "≈ (bit-exact in this run)" if self.bit_exact else "≈ 1e-12"


def rungs(benchmarks: Sequence[dict[str, Any]]) -> list[Rung]:
    out = []
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") != "database" or "stats" not in bench:
            continue
        s = bench["stats"]
        measured = info.get("measured_rows", info["rows"])
        scale = info["rows"] / measured if measured else 1.0
        out.append(
            Rung(
                bench["group"], info["rows"], info["database"], info["stage"], info["rung"],
                info["label"], info.get("why", ""), s["median"] * scale, s["iqr"] * scale,
                s["rounds"], info.get("parity", "ok"), info.get("exact", True),
                info.get("bit_exact", True), measured, info.get("plan", ""),
                info.get("prepare_s"), info.get("stages", {}),
            )
        )  # fmt: skip
    return out


def _parity(r: Rung) -> str:
    return "✓" if r.parity == "ok" else f"✗ {r.parity}"


def _time(r: Rung) -> str:
    return format_seconds(r.median) + (" ✱" if r.scaled else "")


def _by(found: list[Rung]) -> dict[int, dict[str, list[Rung]]]:
    out: dict[int, dict[str, list[Rung]]] = {}
    for r in sorted(found, key=lambda r: r.rows):
        out.setdefault(r.rows, {}).setdefault(r.database, []).append(r)
    return out


def _find(members: list[Rung], key: str) -> Rung | None:
    return next((m for m in members if m.key == key), None)


def _stage_table(members: list[Rung], stage: str) -> list[str]:
    chosen = [m for m in members if m.stage == stage]
    if not chosen:
        return []
    before = _find(members, BEFORE[stage])
    body = []
    for m in chosen:
        ratio = before.median / m.median if before else None
        cells = [m.label, _time(m), f"{m.iqr / m.median:.0%}", format_ratio(ratio) or "–"]
        if stage == "load":
            cells.append(f"{m.rows / m.median:,.0f}")
        if stage == "report":
            cells.append(m.sums)
        if stage in ("report", "dedup"):
            cells.append(format_seconds(m.prepare_s) if m.prepare_s else "–")
        cells.append(_parity(m))
        body.append(cells)
    header = ["rung", "time", "spread", f"× {before.label if before else '–'}"]
    if stage == "load":
        header.append("rows/s")
    if stage == "report":
        header.append("sums")
    if stage in ("report", "dedup"):
        header.append("set-up, untimed")
    header.append("parity")
    return markdown_table(header, "l" + "r" * (len(header) - 2) + "l", body)


def _plans(members: list[Rung], stage: str) -> list[str]:
    lines = []
    for m in members:
        if m.stage == stage and m.plan:
            lines += [
                f"<details><summary>plan: {m.label} — {_time(m)}</summary>",
                "",
                "```",
                m.plan.strip(),
                "```",
                "",
                "</details>",
                "",
            ]
    return lines


def _targets(by_database: dict[str, list[Rung]]) -> list[str]:
    lines = []

    def check(label: str, ok: bool, detail: str) -> None:
        lines.append(f"- {'✅' if ok else '❌'} {label}: {detail}")

    for name in ("sqlite", "postgres"):
        members = by_database.get(name, [])
        k = {m.key: m for m in members}
        title = TITLES[name]
        row, many, bulk = (k.get(f"load-{s}") for s in ("row-commit", "executemany", "bulk"))
        if row and many:
            ratio = row.median / many.median
            bulk_note = f"; the bulk path {row.median / bulk.median:,.0f}×" if bulk else ""
            check(
                f"{title}: batched load ≥ {TARGET_LOAD}× a commit per row",
                ratio >= TARGET_LOAD,
                f"executemany in one transaction {ratio:,.0f}×{bulk_note}",
            )
        loop, index, cover = (k.get(f"report-{s}") for s in ("n+1", "index", "covering"))
        if loop and index:
            ratio = loop.median / index.median
            cover_note = (
                f"; with the covering index {loop.median / cover.median:,.0f}×" if cover else ""
            )
            check(
                f"{title}: indexed GROUP BY ≥ {TARGET_QUERY}× the N+1 loop",
                ratio >= TARGET_QUERY,
                f"{ratio:,.0f}×{cover_note}",
            )
        native = k.get("report-native")
        sql_rungs = [k[s] for s in ("report-group-by", "report-index", "report-covering",
                                    "report-exact-sql") if s in k]  # fmt: skip
        if native and sql_rungs:
            fastest = min(sql_rungs, key=lambda m: m.median)
            exact = k.get("report-exact-sql")
            verdict = "beat" if native.median < fastest.median else "do not beat"
            lines.append(
                f"- {title}: the native kernels on fetched columns "
                f"({format_seconds(native.median)}, fetch included) {verdict} the fastest SQL "
                f"aggregation ({fastest.label}, "
                f"{format_seconds(fastest.median)}: {fastest.median / native.median:.2f}×)"
                + (f"; exact SQL takes {format_seconds(exact.median)}" if exact else "")
                + "."
            )
        kernel = k.get("dedup-native")
        sql_dedup = [m for m in members if m.stage == "dedup" and m.key != "dedup-native"]
        if kernel and sql_dedup:
            fastest = min(sql_dedup, key=lambda m: m.median)
            lines.append(
                f"- {title}: the duplicates kernel on fetched columns "
                f"({format_seconds(kernel.median)}) against the fastest SQL "
                f"({fastest.label}, {format_seconds(fastest.median)}): "
                f"{fastest.median / kernel.median:.2f}×."
            )
    ends = {(m.database, m.key): m for ms in by_database.values() for m in ms}
    default = ends.get(("pipeline", "default"))
    for key in ("csv", "parquet"):
        duck = ends.get(("duckdb", key))
        if duck and default:
            lines.append(
                f"- DuckDB over {key.upper() if key == 'csv' else 'Parquet'}: "
                f"{format_seconds(duck.median)}, {duck.median / default.median:.2f}× the "
                f"pipeline's optimized default ({format_seconds(default.median)})."
            )
    return lines


def _end_to_end(members: list[Rung]) -> list[str]:
    default = _find(members, "default")
    stages = ("load", "dedup", "aggregate", "fingerprint")
    body = []
    for m in sorted(members, key=lambda m: m.median):
        body.append(
            (
                m.label, _time(m), f"{m.iqr / m.median:.0%}",
                f"{m.median / default.median:.2f}×" if default else "–",
                *(format_seconds(m.stages[s]) if s in m.stages else "–" for s in stages),
                m.sums, _parity(m),
            )
        )  # fmt: skip
    header = ("", "total", "spread", "time / the default", *stages, "sums", "parity")
    return markdown_table(header, "lrrrrrrrll", body)


def section(found: list[Rung], dates: dict[int, str]) -> list[str]:
    """PERFORMANCE.md's "Databases" section, one part per size."""
    if not found:
        return []
    lines = [
        "## Databases: the readings in SQLite and PostgreSQL, and DuckDB",
        "",
        "Written from saved runs of `pytest bench/ --hotpath-database SIZES` "
        "(bench/test_database.py, hotpath/engines/db_ladder.py). Each rung is checked before it "
        "is timed: a load by reading the table back bit for bit, a report against the "
        "reference's devices -- exactly, or within 10⁻¹² relative where the SQL sums in the "
        "order its plan scans a group (`sums`: ≈) -- a dedup by the kept rows' count and "
        "row_order sum. Set-up: building the indexes the rung needs (the first rung of a stage "
        "also loads the table). Medians of the rounds; ✱: timed on the first "
        "rows only and scaled to the dataset (a commit per row waits for the disk each time). "
        "Each query's plan is under its table: SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's "
        "`EXPLAIN ANALYZE` (its timings are of that one extra run), DuckDB's `EXPLAIN`. "
        "PostgreSQL is a local server on loopback with its default settings (fsync on, "
        "work_mem 4 MB).",
        "",
    ]
    for rows, by_database in _by(found).items():
        lines += [f"### {rows:,} readings", "", f"Run of {dates.get(rows, '?')}.", ""]
        for name in ("sqlite", "postgres"):
            members = by_database.get(name)
            if not members:
                continue
            lines += [f"#### {TITLES[name]}", ""]
            for stage in ("load", "report", "dedup"):
                table = _stage_table(members, stage)
                if not table:
                    continue
                lines += [f"**{STAGE_TITLES[stage]}**", "", *table, ""]
                lines += [f"- **{m.label}**: {m.why}." for m in members if m.stage == stage]
                lines += ["", *_plans(members, stage)]
        ends = [m for ms in by_database.values() for m in ms if m.stage == "end to end"]
        if ends:
            lines += ["#### End to end: files in, report out", "", *_end_to_end(ends), ""]
            lines += [f"- **{m.label}**: {m.why}." for m in ends]
            lines += ["", *_plans(ends, "end to end")]
        lines += ["**Targets and findings:**", "", *_targets(by_database), ""]
    return lines


def terminal_table(found: list[Rung]) -> Table:
    table = Table(title="hotpath databases: every rung parity-checked")
    for c in ("size", "database", "stage", "rung", "time", "spread", "sums", "parity"):
        table.add_column(c, justify="right" if c in ("time", "spread") else "left")
    for rows, by_database in _by(found).items():
        table.add_section()
        for name, members in by_database.items():
            for m in members:
                table.add_row(
                    f"{rows:,}", TITLES.get(name, name), m.stage, m.label, _time(m),
                    f"{m.iqr / m.median:.0%}", m.sums,
                    "[green]✓[/]" if m.parity == "ok" else f"[red]✗ {m.parity}[/]",
                )  # fmt: skip
    return table
