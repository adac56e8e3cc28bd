"""Benchmark results as rows: speedups, spread, throughput against the machine's
limit. Works on pytest-benchmark's benchmark dicts (a live session's or a saved
run's ``benchmarks`` list), so the end-of-run summary (``summary``) and
``hotpath report`` (``report``) show the same numbers.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hotpath.records import (
    LIMIT_GROUP,
    ROW_BYTES,
    Outcome,
    case_name,
    input_bytes,
    size_label,
    working_set_bytes,
)

REFERENCE = "python_ref"
BASELINE = "numpy_impl"
# Kernels that read their input once, front to back: their throughput is
# compared with the memory read bandwidth measured in the same run.
STREAMING = ("xxh64", "hash_rows", "aggregate")


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
    limit_level: str | None = None  # the memory level share_of_limit is of
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Limit:
    """One memory level's read bandwidth, measured in the run (the machine limit rows)."""

    level: str  # "L2", "L3", "DRAM"
    capacity: int | None  # bytes; None for DRAM
    bandwidth: float  # bytes per second


def limits(benchmarks: list[dict[str, Any]]) -> list[Limit]:
    """The run's probes, smallest cache first, DRAM last. A run saved before the cache
    probes existed has one probe, DRAM's."""
    found = []
    for bench in benchmarks:
        if bench.get("group") == LIMIT_GROUP:
            info = bench["extra_info"]
            bandwidth = info["input_bytes"] / bench["stats"]["median"]
            found.append(Limit(info.get("level", "DRAM"), info.get("cache_bytes"), bandwidth))
    return sorted(found, key=lambda limit: (limit.capacity is None, limit.capacity or 0))


def applicable_limit(found: list[Limit], working_set: int) -> Limit | None:
    """The limit a row's throughput is compared with: the smallest cache level whose
    capacity holds its working set (rounds run back to back, so such an input is read
    from that cache, or a faster one, after the first round), else DRAM. None when the run
    measured no cache level: nothing then says which level served a small input."""
    caches = [limit for limit in found if limit.capacity]
    if not caches:
        return None
    for limit in caches:
        if working_set <= limit.capacity:
            return limit
    return next((limit for limit in found if limit.capacity is None), None)


def memory_bandwidth(benchmarks: list[dict[str, Any]]) -> float | None:
    """Bytes per second of the run's DRAM probe, if it ran."""
    dram = [limit for limit in limits(benchmarks) if limit.capacity is None]
    return dram[0].bandwidth if dram else None


def round_seconds(bench: dict[str, Any]) -> list[float] | None:
    """A benchmark's rounds, in seconds per call (pytest-benchmark saves them with
    --benchmark-save-data, which the harness turns on); None for runs saved without them."""
    data = bench.get("stats", {}).get("data")
    return list(data) if data else None


def merge_blocks(benchmarks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One benchmark per case: a kernel case timed in blocks (bench/conftest.py
    --hotpath-blocks) becomes one, its statistics recomputed from every block's rounds and
    each block's median kept as ``block_medians`` (the drift between them shows)."""
    merged: dict[tuple, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if info.get("blocks", 1) <= 1 or "stats" not in bench:
            out.append(bench)
            continue
        key = (bench.get("group"), info.get("implementation"), info.get("kind"))
        if key not in merged:
            first = {**bench, "extra_info": {**info, "block_medians": []}, "stats": {}}
            first["_rounds"] = []
            merged[key] = first
            out.append(first)
        target = merged[key]
        target["extra_info"]["block_medians"].append(bench["stats"]["median"])
        load = info.get("load") or {}
        worst = target["extra_info"].get("load") or {}
        if (load.get("others_cores") or 0) > (worst.get("others_cores") or 0):
            target["extra_info"]["load"] = load  # the busiest block speaks for the case
        target["_rounds"].append(round_seconds(bench) or [bench["stats"]["median"]])
    for target in merged.values():
        data = [value for block in target.pop("_rounds") for value in block]
        target["stats"] = statistics_of(data)
    return out


def statistics_of(data: list[float]) -> dict[str, Any]:
    """pytest-benchmark's statistics of a list of rounds (the ones the reports use)."""
    ordered = sorted(data)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {
        "min": ordered[0],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
        "median": statistics.median(ordered),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "rounds": len(ordered),
        "data": ordered,
    }


def rows(benchmarks: list[dict[str, Any]]) -> list[Row]:
    """One row per timed case, with ratios computed within its group."""
    benchmarks = merge_blocks(benchmarks)
    found = limits(benchmarks)
    out = []
    for bench in benchmarks:
        info, stats = bench["extra_info"], bench["stats"]
        if "kernel" not in info or info.get("kind") == "threads":  # reporting.threads' own
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
        if r.kernel in STREAMING:
            limit = applicable_limit(found, working_set_bytes(r.kernel, r.size))
            if limit is not None:
                r.share_of_limit = r.gbps * 1e9 / limit.bandwidth
                r.limit_level = limit.level
    return sorted(out, key=lambda r: (r.group == LIMIT_GROUP, r.group, r.median))


# A row was timed on a busy machine when other processes used this much CPU meanwhile (in
# cores' worth), or the hypervisor stole this share of it (bench/machine_load.py measures).
BUSY_CORES = 0.25
BUSY_STEAL = 0.05


def busy(info: dict[str, Any]) -> str:
    """Why a row's timing is suspect ("others used 0.9 cores", "12% stolen"), or ""."""
    load = info.get("load") or {}
    reasons = []
    others, steal = load.get("others_cores"), load.get("steal")
    if others is not None and others > BUSY_CORES:
        reasons.append(f"others used {others:.1f} cores")
    if steal is not None and steal > BUSY_STEAL:
        reasons.append(f"{steal:.0%} of the CPU stolen")
    return ", ".join(reasons)


def format_share(r: Row) -> str:
    """ "85% of L3": the row's throughput against the limit that applies to it."""
    return "" if r.share_of_limit is None else f"{r.share_of_limit:.0%} of {r.limit_level}"


def parity_mark(implementation: str, kind: str, parity: str) -> str:
    """A timed row's parity cell. python_ref's own rows are what every other row is
    checked against: "reference", not a check of itself. The limit probes compute nothing
    to check."""
    if kind == "limit":
        return ""
    if parity != "ok":
        return f"✗ {parity}"
    return "reference" if implementation == REFERENCE and kind == "backend" else "✓"


def label(implementation: str, kind: str) -> str:
    return implementation if kind == "backend" else f"{implementation} ({kind})"


def untimed_cases(benchmarks: list[dict[str, Any]], cases: Sequence[Outcome]) -> list[Outcome]:
    """The run's cases that have no timed row: wrong answers and errors (never timed),
    and skips. A case timed despite a wrong answer (an interpreter's checksum) is its row."""
    timed = {
        (case_name(info), info.get("kernel"), info.get("size"))
        for info in (bench.get("extra_info", {}) for bench in benchmarks)
    }
    return [c for c in cases if c.key() not in timed]


def untimed_mark(case: Outcome) -> str:
    if case.skipped:
        return case.status
    return f"✗ not timed: {case.status or 'error: the case did not finish'}"


def tally(cases: Sequence[Outcome]) -> str:
    """The run's verdicts in one line, e.g. "40 agree with python_ref, 7 python_ref
    itself (the reference), 1 gave a wrong answer or failed, 10 skipped"."""
    counts: Counter[str] = Counter()
    for c in cases:
        if c.kind == "limit":
            continue
        if c.skipped:
            counts["skipped"] += 1
        elif c.failed:
            counts["failed"] += 1
        elif c.implementation == REFERENCE and c.kind == "backend":
            counts["reference"] += 1
        else:
            counts["agree"] += 1
    parts = [
        f"{counts['agree']} agree with {REFERENCE}",
        f"{counts['reference']} {REFERENCE} itself (the reference)",
        f"{counts['failed']} gave a wrong answer or failed",
        f"{counts['skipped']} skipped",
    ]
    return ", ".join(parts)


def skipped_groups(cases: Sequence[Outcome]) -> list[tuple[str, str, list[str], str]]:
    """Skipped cases, one entry per implementation and reason: (implementation, kind,
    the groups skipped, the reason), in the run's order."""
    found: dict[tuple[str, str, str], list[str]] = {}
    for c in cases:
        if c.skipped:
            reason = c.status.removeprefix("skipped: ")
            found.setdefault((c.implementation, c.kind, reason), []).append(c.group)
    return [(name, kind, groups, reason) for (name, kind, reason), groups in found.items()]


def sections(
    rows: list[Row], failed: Sequence[Outcome]
) -> list[tuple[str, list[Row], list[Outcome]]]:
    """Each group's timed rows and its untimed failed cases, by kernel then size (not by
    the group's text: "10M" < "1M"), the machine limit last."""
    order: dict[str, tuple[bool, str, int]] = {}
    for item in [*rows, *failed]:
        order.setdefault(item.group, (item.group == LIMIT_GROUP, item.kernel, item.size))
    return [
        (name, [r for r in rows if r.group == name], [c for c in failed if c.group == name])
        for name in sorted(order, key=order.__getitem__)
    ]


def format_seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def format_bytes(value: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value / scale:g} {unit}"
    return f"{value} B"


def format_ratio(value: float | None) -> str:
    if value is None:
        return ""
    if value < 0.1:  # the O(n^2) row's ratios need their digits
        return f"{value:.2g}×"
    return f"{value:,.1f}×" if value < 100 else f"{value:,.0f}×"


def jit_verdict(jit: dict[str, Any] | None, kernel: str | None = None) -> str:
    """A run's JIT check (hotpath.runs.interpreters) in a few words; "" when not checked.
    With ``kernel``: whether that kernel's own functions were compiled."""
    if not jit:
        return ""
    if kernel is not None and "kernels" in jit:
        compiled = jit["kernels"].get(kernel) or []
        return f"JIT compiled {', '.join(compiled)}" if compiled else "JIT NOT ACTIVE for it"
    if jit["active"]:
        return f"JIT active ({jit['compilations']} compilations)"
    return "JIT NOT ACTIVE"


def runtime_notes(info: dict[str, Any], markup: bool = False) -> list[str]:
    """What a row timed inside another interpreter or runtime says beside its name:
    the first call (warm-up), the JIT verdict for its kernel, a steady state never reached."""
    notes = [f"first call {format_seconds(info['first_call_s'])}"]
    verdict = jit_verdict(info.get("jit"), info.get("kernel"))
    if verdict:
        bad = verdict.startswith("JIT NOT")
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
        parts = [f"{label} {format_seconds(costs[key])}" for key, label in ONE_OFF if key in costs]
        if costs["kind"] == "wasm" and parts:
            notes.append(f"one-off: {name} -- {', '.join(parts)} (not in the medians)")
    return notes


# One-off costs of a run inside another interpreter or runtime (hotpath.runs.runtimes), as
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


def report_rows(benchmarks: list[dict[str, Any]]) -> list[Row]:
    """``rows``, minus every figure a wrong answer would lend credit to,
    ordered by kernel then size (not by the group's text: "10M" < "1M")."""
    out = rows(benchmarks)
    bad_baseline = {r.group for r in out if r.implementation == BASELINE and r.parity != "ok"}
    for r in out:
        if r.parity != "ok":
            r.vs_reference = r.vs_numpy = r.gbps = r.share_of_limit = r.limit_level = None
        elif r.group in bad_baseline:
            r.vs_numpy = None
    return sorted(out, key=lambda r: (r.group == LIMIT_GROUP, r.kernel, r.size, r.median))


def grouped(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    return groups


def ns_per_row(r: Row) -> float:
    return r.median / r.size * 1e9


def dataset_label(rows: list[Row]) -> str:
    """The row count most of the run's tables use, e.g. "a 100k-row dataset"."""
    sizes = Counter(r.size for r in rows if r.kernel in ROW_BYTES)
    if not sizes:
        return ""
    return f"a {size_label('aggregate', sizes.most_common(1)[0][0])}-row dataset"
