"""``hotpath report``: saved benchmark runs as ``RESULTS.md`` and two charts.

Every ratio comes from ``hotpath.reporting.rows``: the report and the end-of-run
terminal summary show the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hotpath.records import LIMIT_GROUP, Outcome, size_label
from hotpath.reporting import threads
from hotpath.reporting.charts import (
    implementation_order,
    scaling_figure,
    speedup_figure,
    threads_figure,
)
from hotpath.reporting.markdown import markdown_table
from hotpath.reporting.rows import (
    BASELINE,
    BUSY_CORES,
    BUSY_STEAL,
    ONE_OFF,
    REFERENCE,
    Row,
    busy,
    format_bytes,
    format_ratio,
    format_seconds,
    format_share,
    jit_verdict,
    label,
    ns_per_row,
    one_off_costs,
    parity_mark,
    report_rows,
    sections,
    skipped_groups,
    summary_notes,
    tally,
    untimed_cases,
    untimed_mark,
    vs_runtime,
)
from hotpath.reporting.saved import Run, scaling_kernels, select_runs


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _group_table(rows: list[Row], failed: list[Outcome]) -> list[str]:
    body: list[tuple[object, ...]] = [
        (
            f"`{r.implementation}`",
            r.kind,
            format_seconds(r.median),
            f"{r.iqr / r.median:.0%}",
            format_ratio(r.vs_reference) or "–",
            format_ratio(r.vs_numpy) or "–",
            "–" if r.gbps is None else f"{r.gbps:.2f}",
            format_share(r) or "–",
            f"⚠ {busy(r.extra)}" if busy(r.extra) else "",
            parity_mark(r.implementation, r.kind, r.parity),
        )
        for r in rows
    ]
    # wrong answers and errors: never timed, listed where they would have been
    body += [(f"`{o.implementation}`", o.kind, *["–"] * 7, untimed_mark(o)) for o in failed]
    header = (
        "implementation",
        "kind",
        "median",
        "spread",
        f"vs {REFERENCE}",
        f"vs {BASELINE}",
        "GB/s",
        "of limit",
        "machine",
        "parity",
    )
    return markdown_table(header, "llrrrrrrll", body)


def _instructions_section(found: dict[str, Any] | None) -> list[str]:
    """--hotpath-instructions: callgrind's count per row (per byte for xxh64)."""
    if not found:
        return []
    kernels = ("aggregate", "duplicates", "hash_rows", "xxh64", "factorize")
    body = []
    for name, counts in found["backends"].items():
        if "skipped" in counts:
            body.append((f"`{name}`", *["–"] * len(kernels), counts["skipped"]))
        else:
            body.append((f"`{name}`", *(f"{counts[k]['per_unit']:,.1f}" for k in kernels), ""))
    return [
        "### Instructions per row",
        "",
        f"Counted by valgrind's callgrind for one steady-state call ({found['rows']:,} rows; "
        f"xxh64 per byte of {found['buffer_bytes'] // 1024} KiB): a figure the machine's load "
        "cannot move (`hotpath instructions`; two runs count the same). Fewer instructions is "
        "not always faster -- cache misses and dependency chains cost time, not instructions "
        "-- but a change in them is a change in the code.",
        "",
        *markdown_table(("backend", *kernels, "note"), "l" + "r" * len(kernels) + "l", body),
        "",
    ]


def _load_section(run: Run, rows: list[Row]) -> list[str]:
    """How busy the machine was: the load average around the run, and the rows timed while
    other processes used the CPU (bench/machine_load.py measured each case)."""
    load = run.data.get("hotpath_load") or {}
    hit = [r for r in rows if busy(r.extra)]
    if not load and not hit:
        return []
    lines = ["**The machine's load.** "]
    if load:
        lines[0] += (
            f"Load average {load.get('loadavg_before', '?')} at the start of the run, "
            f"{load.get('loadavg_after', '?')} at its end. "
        )
    if hit:
        lines[0] += (
            f"⚠ {len(hit)} rows were timed while other processes used the CPU (more than "
            f"{BUSY_CORES} cores' worth) or the hypervisor stole more than {BUSY_STEAL:.0%} of "
            "it: their medians, and the ratios built on them, are suspect; the *machine* "
            "column marks them."
        )
    else:
        lines[0] += "No row was timed while other processes used the CPU."
    return [*lines, ""]


def _machine_section(run: Run) -> list[str]:
    m = run.machine
    lines = [
        "## Machine",
        "",
        f"- **CPU:** {m.get('cpu_model', '?')}, {m.get('cores', '?')} cores",
        f"- **Python:** {m.get('python', '?')}" + (f", NumPy {m['numpy']}" if "numpy" in m else ""),
    ]
    if m.get("toolchains"):
        tools = ", ".join(f"{name} `{version}`" for name, version in m["toolchains"].items())
        lines.append(f"- **Toolchains:** {tools}")
    if m.get("backends"):
        lines += [
            "",
            *markdown_table(
                ("backend", "built with"), "ll", [(f"`{k}`", v) for k, v in m["backends"].items()]
            ),
        ]
    return lines


HOW_TO_READ = (
    "Each time is the **median** of the rounds pytest-benchmark ran; **spread** is the "
    "interquartile range divided by the median (how noisy that median is). Speedups are "
    f"ratios of medians within one run and one kernel·size group: **vs {REFERENCE}** is the "
    f"pure-Python reference's median over this row's, **vs {BASELINE}** the same against "
    "NumPy; above 1× is faster. **✓** means the row's result was checked against "
    f"{REFERENCE} on the same input before any timing counted; **reference** marks "
    f"{REFERENCE}'s own rows, the answers the others are checked against (not a check of "
    "itself); a row marked ✗ gets no speedup. Every case of the run is listed: one that gave "
    "a wrong answer or failed appears in its group as *✗ not timed* (it is never timed), "
    "and skipped cases, with the reason, are under *Skipped*. **GB/s** is input bytes over "
    "the median, for kernels that read their input once front to back. **of limit** "
    "compares it with the read bandwidth of the memory level the row's working set (its "
    "input and per-row output, nominal bytes) fits in: the smallest cache level whose "
    "capacity holds it (L2, L3: one core's caches as Linux reports them), else DRAM. "
    "Rounds run back to back, so an input that fits in a cache is read from it after the "
    "first round, and comparing it with DRAM's bandwidth would overstate the share. Each "
    "level's bandwidth is measured in the same run (the *machine limit* rows): one thread "
    "summing an int64 array with NumPy, half the cache's capacity for a cache level, 512 MiB "
    "(and at least 4× the largest cache) for DRAM. A run without cache sizes shows no *of "
    "limit*. What one timed call covers differs by row (prepared inputs, checks included or "
    "not): see *What each timing covers*."
)


def _scaling_section(run: Run, main: Run) -> list[str]:
    rows = [r for r in report_rows(run.benchmarks) if r.group != LIMIT_GROUP]
    lines = ["## Scaling", ""]
    if run is not main:
        lines += [
            f"From the scaling run of {run.date} (`{_display(run.path)}`) on {run.machine_line()}.",
            "",
        ]
    lines += [
        "Median time per call at each dataset size, and that time divided by the rows "
        "(flat ns/row = linear scaling; a higher value at small sizes is fixed per-call cost).",
        "",
        "![Time per row against dataset size](scaling.png)",
        "",
    ]
    for kernel in scaling_kernels(run.benchmarks):
        mine = [r for r in rows if r.kernel == kernel]
        sizes = sorted({r.size for r in mine})
        names = implementation_order(mine)
        cells = {(r.implementation, r.size): r for r in mine}
        body = []
        for name in names:
            row: list[object] = [f"`{name}`"]
            for size in sizes:
                r = cells.get((name, size))
                if r is None:
                    row.append("–")
                elif r.parity != "ok":
                    row.append(f"✗ {r.parity}")
                else:
                    row.append(f"{format_seconds(r.median)} ({ns_per_row(r):.3g} ns/row)")
            body.append(row)
        header = ["implementation", *(f"{size_label(kernel, s)} rows" for s in sizes)]
        lines += [f"### {kernel}", "", *markdown_table(header, "l" + "r" * len(sizes), body), ""]
    return lines


def _runtimes_section(benchmarks: list[dict[str, Any]]) -> list[str]:
    """Other interpreters and runtimes (hotpath.runs.runtimes): each one's steady-state
    time against the same driver under CPython, and its one-off costs."""
    costs = one_off_costs(benchmarks)
    if not costs:
        return []
    ratios = vs_runtime(benchmarks, "cpython")
    order = {r.group: (r.kernel, r.size) for r in report_rows(benchmarks)}
    groups = sorted({g for c in costs.values() for g in c["first_call"]}, key=order.__getitem__)
    lines = [
        "### Other interpreters and runtimes",
        "",
        "`hotpath.runs.driver` runs python_ref's kernels inside each one and times every call "
        "there; every call's checksum is checked against python_ref's. Steady state: the "
        "median of the last 10 calls, made once they show no trend (their Theil–Sen slope "
        "moves the time by at most 10% of their median across the 10 calls; at least "
        "`--hotpath-iterations` calls; the first call never counts, nor for GraalPy any call "
        "in a kernel's first 45 s; without that after 60 s per kernel, GraalPy 150 s: the "
        "second half of the calls, marked not steady), divided by the same driver's under "
        "CPython (`cpython`); above 1× is slower.",
        "",
    ]
    if ratios:
        body = [
            (
                f"`{name}`",
                *(f"{ratios[name][g]:.2f}×" if g in ratios[name] else "–" for g in groups),
            )
            for name in costs
            if name in ratios
        ]
        lines += [*markdown_table(("runtime", *groups), "l" + "r" * len(groups), body), ""]
    lines += [
        "One-off costs, outside the medians: loading the runtime's SDK, compiling (or loading "
        "from cache) and instantiating the module, start-up (an interpreter's from launch; in "
        "Wasm, from entering the module to the driver's first line: Python's initialisation "
        "inside it), reading the dataset, the whole program; then each kernel's first call "
        "(warm-up included).",
        "",
    ]
    header = ("runtime", *(label for _, label in ONE_OFF), "module", "engine")
    body = []
    for name, c in costs.items():
        body.append(
            (
                f"`{name}`",
                *(format_seconds(c[key]) if key in c else "–" for key, _ in ONE_OFF),
                f"{c['module_bytes'] / 2**20:.1f} MiB" if "module_bytes" in c else "–",
                c.get("engine", "–"),
            )
        )
    lines += [*markdown_table(header, "l" + "r" * (len(header) - 2) + "l", body), ""]
    first = [
        (
            f"`{name}`",
            *(format_seconds(c["first_call"][g]) if g in c["first_call"] else "–" for g in groups),
        )
        for name, c in costs.items()
    ]
    lines += [
        "First call per kernel:",
        "",
        *markdown_table(("runtime", *groups), "l" + "r" * len(groups), first),
        "",
    ]
    jits = [(name, c["jit"]) for name, c in costs.items() if c.get("jit")]
    if jits:
        lines += [
            "JIT compilers, verified in the run itself (not assumed): each kernel's own "
            "python_ref functions must be among the compilations (PyPy: compiled while that "
            "kernel ran).",
            "",
        ]
        lines += [
            f"- `{name}`: {jit_verdict(jit)}: {jit['evidence']}"
            + ("" if jit["active"] else " -- **these timings are not the JIT's**")
            for name, jit in jits
        ]
        lines.append("")
    return lines


def _no_chart(cases: list[Outcome]) -> str:
    mine = [c for c in cases if c.implementation == REFERENCE and c.kind == "backend"]
    if mine and all(c.failed for c in mine):
        return (
            f"_No speedup chart: `{REFERENCE}`'s own cases were not timed (a wrong answer or "
            "an error, listed below), so there is nothing to compare with._"
        )
    return f"_No speedup chart: this run has no `{REFERENCE}` rows to compare with._"


def _warning(cases: list[Outcome], rows: list[Row]) -> list[str]:
    """Wrong answers first, before any figure: a saved run counts its cases; an older
    run only its timed rows."""
    wrong = sum(c.failed for c in cases if c.kind != "limit") if cases else 0
    wrong = wrong or sum(r.parity != "ok" for r in rows)
    if not wrong:
        return []
    return [f"**{wrong} of this run's cases gave a wrong answer or failed: marked ✗ below.**", ""]


def _skipped(untimed: list[Outcome]) -> list[str]:
    """Every skipped case with its reason, one line per implementation and reason."""
    skips = skipped_groups(untimed)
    if not skips:
        return []
    lines = ["### Skipped", ""]
    for name, kind, groups, reason in skips:
        shown = label(f"`{name}`", kind)
        lines.append(f"- {shown}: {', '.join(groups)}: {reason}")
    return [*lines, ""]


def markdown(
    main: Run,
    scaling: Run | None,
    speedup_chart: bool,
    wheels: bool = False,
    threads_chart: bool = False,
) -> str:
    rows = report_rows(main.benchmarks)
    cases = main.cases
    untimed = untimed_cases(main.benchmarks, cases)
    failed = [c for c in untimed if not c.skipped]
    limit = [r for r in rows if r.group == LIMIT_GROUP]
    lines = [
        "# hotpath benchmark results",
        "",
        f"Run of **{main.date}** on {main.machine_line()}"
        + (f", commit `{main.commit}`" if main.commit else "")
        + f". Source: `{_display(main.path)}`. Written by `hotpath report`.",
        "",
        *_warning(cases, rows),
        *_machine_section(main),
        "",
        "## How to read this",
        "",
        HOW_TO_READ,
        "",
        *_load_section(main, rows),
    ]
    if speedup_chart:
        lines += ["![Speedup over pure Python per implementation](speedup.png)", ""]
    else:
        lines += [_no_chart(cases), ""]
    if wheels:  # `hotpath wheels` wrote its report next to this one
        lines += [
            "What each backend costs to ship (clean build time, wheel size, tags, runtime "
            "dependencies, cold import time) is in [WHEELS.md](WHEELS.md), beside these speedups.",
            "",
        ]
    lines += ["## Results", ""]
    if cases:
        lines += [f"**Parity:** {tally(cases)}.", ""]
    for name, members, wrong in sections(rows, failed):
        if name != LIMIT_GROUP:
            lines += [f"### {name}", "", *_group_table(members, wrong), ""]
    if limit:
        lines += [
            f"### {LIMIT_GROUP}",
            "",
            "The read bandwidth of each memory level of this machine, measured in the same "
            "run: the ceilings for the *of limit* column above.",
            "",
            *markdown_table(
                ("level", "capacity", "probe array", "median", "spread", "GB/s"),
                "lrrrrr",
                [
                    (
                        r.extra.get("level", "DRAM"),
                        format_bytes(r.extra["cache_bytes"]) if r.extra.get("cache_bytes") else "–",
                        format_bytes(r.size),
                        format_seconds(r.median),
                        f"{r.iqr / r.median:.0%}",
                        f"{r.gbps:.2f}" if r.gbps else "–",
                    )
                    for r in limit
                ],
            ),
            "",
        ]
    lines += _skipped(untimed)
    lines += _runtimes_section(main.benchmarks)
    lines += _instructions_section(main.data.get("hotpath_instructions"))
    # one-off costs have their own table (_runtimes_section)
    notes = [n for n in summary_notes(main.benchmarks) if not n.startswith("one-off:")]
    if notes:
        lines += ["### What each timing covers", ""]
        for note in notes:  # "timed: a, b -- what a call covers"
            names, dashes, what = note.removeprefix("timed: ").partition(" -- ")
            if dashes:
                lines.append(f"- {', '.join(f'`{n}`' for n in names.split(', '))}: {what}")
            else:
                lines.append(f"- {note}")
        lines.append("")
    if scaling is not None:
        lines += _scaling_section(scaling, main)
    by_threads = threads.scaled(threads.points(main.benchmarks))
    if by_threads:
        lines += threads.section(by_threads, threads_chart)
    return "\n".join(lines).rstrip() + "\n"


def write_report(storage: Path, out: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """Write RESULTS.md and the charts into ``out``; the paths written."""
    main, scaling = select_runs(storage, paths)
    out.mkdir(parents=True, exist_ok=True)
    # A chart this run cannot draw (no scaling run, say) is left as it is, never deleted:
    # RESULTS.md links only the charts drawn now.
    written = []
    speedup = speedup_figure(main)
    if speedup is not None:
        speedup.savefig(out / "speedup.png")
        written.append(out / "speedup.png")
    curves = scaling_figure(scaling) if scaling is not None else None
    if curves is not None:
        curves.savefig(out / "scaling.png")
        written.append(out / "scaling.png")
    by_threads = threads_figure(main)
    if by_threads is not None:
        by_threads.savefig(out / "threads.png")
        written.append(out / "threads.png")
    markdown_text = markdown(
        main,
        scaling if curves else None,
        speedup is not None,
        (out / "WHEELS.md").exists(),
        threads_chart=by_threads is not None,
    )
    (out / "RESULTS.md").write_text(markdown_text, encoding="utf-8")
    return [out / "RESULTS.md", *written]
