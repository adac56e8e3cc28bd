"""Benchmark results as tables: speedups, spread, throughput against the
machine's limit. Works on pytest-benchmark's benchmark dicts (a live session's
or a saved run's ``benchmarks`` list), so the end-of-run summary and
``hotpath report`` show the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

REFERENCE = "python_ref"
BASELINE = "numpy_impl"
LIMIT_GROUP = "machine limit"
# Kernels that read their input once, front to back: their throughput is
# compared with the memory read bandwidth measured in the same run.
STREAMING = ("xxh64", "hash_rows", "aggregate")
# Bytes of input per row each kernel reads.
ROW_BYTES = {"aggregate": 4 + 8, "duplicates": 4 + 8, "hash_rows": 4 + 8 + 8}


def size_label(kernel: str, size: int) -> str:
    if kernel in ("xxh64", "memory read"):
        return f"{size / 2**20:g}MiB"
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % (scale // 10 or 1) == 0:
            return f"{size / scale:g}{unit}"
    return str(size)


def group(kernel: str, size: int) -> str:
    unit = "" if kernel == "xxh64" else " rows"
    return f"{kernel} · {size_label(kernel, size)}{unit}"


def input_bytes(kernel: str, size: int) -> int:
    return size if kernel in ("xxh64", "memory read") else ROW_BYTES[kernel] * size


@dataclass
class Outcome:
    """One case of a run, timed or not."""

    implementation: str
    kind: str  # backend, peer, algorithm, limit
    kernel: str
    size: int
    status: str = ""  # "ok", "mismatch: ...", "skipped: ..."

    def info(self, timed: str) -> dict[str, Any]:
        """What is stored with the benchmark in the saved run."""
        return {
            "implementation": self.implementation,
            "kind": self.kind,
            "kernel": self.kernel,
            "size": self.size,
            "input_bytes": input_bytes(self.kernel, self.size),
            "timed": timed,
        }


@dataclass
class Row:
    group: str
    kernel: str
    size: int
    implementation: str
    kind: str
    median: float  # seconds
    iqr: float
    rounds: int
    parity: str
    timed: str
    vs_reference: float | None = None
    vs_numpy: float | None = None
    gbps: float | None = None
    share_of_limit: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def memory_bandwidth(benchmarks: list[dict[str, Any]]) -> float | None:
    """Bytes per second of the run's memory-read probe, if it ran."""
    for bench in benchmarks:
        if bench.get("group") == LIMIT_GROUP:
            return bench["extra_info"]["input_bytes"] / bench["stats"]["median"]
    return None


def rows(benchmarks: list[dict[str, Any]]) -> list[Row]:
    """One row per timed benchmark, with ratios computed within its group."""
    limit = memory_bandwidth(benchmarks)
    out = []
    for bench in benchmarks:
        info, stats = bench["extra_info"], bench["stats"]
        if "kernel" not in info:
            continue
        out.append(
            Row(
                bench["group"],
                info["kernel"],
                info["size"],
                info["implementation"],
                info["kind"],
                stats["median"],
                stats["iqr"],
                stats["rounds"],
                info.get("parity", "ok"),
                info.get("timed", ""),
                extra=info,
            )
        )
    medians = {(r.group, r.implementation): r.median for r in out}
    for r in out:
        reference = medians.get((r.group, REFERENCE))
        numpy_ = medians.get((r.group, BASELINE))
        r.vs_reference = reference / r.median if reference else None
        r.vs_numpy = numpy_ / r.median if numpy_ else None
        if r.kernel in STREAMING or r.group == LIMIT_GROUP:
            r.gbps = input_bytes(r.kernel, r.size) / r.median / 1e9
            r.share_of_limit = r.gbps * 1e9 / limit if limit else None
    return sorted(out, key=lambda r: (r.group == LIMIT_GROUP, r.group, r.median))


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}×" if value < 100 else f"{value:,.0f}×"


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
            _seconds(r.median),
            f"{r.iqr / r.median:.0%}",
            _ratio(r.vs_reference),
            _ratio(r.vs_numpy),
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


def jit_verdict(jit: dict[str, Any] | None) -> str:
    """A run's JIT check (hotpath.interpreters) in a few words; "" when not checked."""
    if not jit:
        return ""
    if jit["active"]:
        return f"JIT active ({jit['compilations']} compilations)"
    return "JIT NOT ACTIVE"


def runtime_notes(info: dict[str, Any], markup: bool = False) -> list[str]:
    """What a row timed inside another interpreter or runtime says beside its name:
    the first call (warm-up), the JIT verdict, a steady state never reached."""
    notes = [f"first call {_seconds(info['first_call_s'])}"]
    verdict = jit_verdict(info.get("jit"))
    if verdict:
        bad = not info["jit"]["active"]
        notes.append(f"[bold red]{verdict}[/]" if markup and bad else verdict)
    if str(info.get("steady", "")).startswith("not reached"):
        notes.append("[yellow]not steady[/]" if markup else "not steady")
    return notes


def summary_notes(benchmarks: list[dict[str, Any]]) -> list[str]:
    """What each timing covers, once per distinct description."""
    seen: dict[str, list[str]] = {}
    for bench in benchmarks:
        info = bench["extra_info"]
        if "timed" in info:
            names = seen.setdefault(info["timed"], [])
            if info["implementation"] not in names:
                names.append(info["implementation"])
    notes = [f"timed: {', '.join(names)} -- {what}" for what, names in seen.items()]
    for name, costs in one_off_costs(benchmarks).items():
        parts = [f"{label} {_seconds(costs[key])}" for key, label in ONE_OFF if key in costs]
        if costs["kind"] == "wasm" and parts:
            notes.append(f"one-off: {name} -- {', '.join(parts)} (not in the medians)")
    return notes


# One-off costs of a run inside another interpreter or runtime (hotpath.runtimes), as
# saved in its rows' extra_info: (key, label).
ONE_OFF = (
    ("sdk_load_seconds", "SDK load"),
    ("compile_seconds", "module compile"),
    ("instantiate_seconds", "instantiate"),
    # an interpreter's (JVM's) start-up, or for Wasm from entering the module to the
    # driver's first line (the Python runtime's initialisation inside Wasm)
    ("startup_seconds", "start-up"),
    ("load_seconds", "dataset load"),
    ("run_seconds", "whole run"),
)


def one_off_costs(benchmarks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per interpreter or runtime timed inside itself: its one-off costs (the
    ONE_OFF keys it reported), engine, module size and first call per kernel."""
    out: dict[str, dict[str, Any]] = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") not in ("interpreter", "wasm") or "first_call_s" not in info:
            continue
        costs = out.setdefault(info["implementation"], {"kind": info["kind"], "first_call": {}})
        for key in (*(k for k, _ in ONE_OFF), "engine", "module_bytes", "jit"):
            if info.get(key) is not None:
                costs[key] = info[key]
        costs["first_call"][bench["group"]] = info["first_call_s"]
    return out


def vs_runtime(
    benchmarks: list[dict[str, Any]], baseline: str = "cpython"
) -> dict[str, dict[str, float]]:
    """implementation -> group -> its median over ``baseline``'s in the same group
    (above 1 is slower), for rows timed inside other interpreters and runtimes."""
    medians: dict[tuple[str, str], float] = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("kind") in ("interpreter", "wasm") and info.get("parity", "ok") == "ok":
            medians[(info["implementation"], bench["group"])] = bench["stats"]["median"]
    out: dict[str, dict[str, float]] = {}
    for (name, group), median in medians.items():
        base = medians.get((baseline, group))
        if name != baseline and base:
            out.setdefault(name, {})[group] = median / base
    return out


def markdown_table(
    header: Sequence[str], align: str, body: Iterable[Sequence[object]]
) -> list[str]:
    """A Markdown table's lines; ``align`` has one "l" or "r" per column."""

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in body]
    return lines
