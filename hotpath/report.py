"""``hotpath report``: saved benchmark runs as ``RESULTS.md`` and two charts.

Reads pytest-benchmark's saved runs (``.benchmarks/<machine>/NNNN_*.json``), so
a report can be written long after the run, on any machine. Every ratio comes
from ``hotpath.results.rows``: the report and the end-of-run terminal summary
show the same numbers.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotpath import results
from hotpath.results import BASELINE, LIMIT_GROUP, REFERENCE, STREAMING, Row, markdown_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# A kernel timed at this many sizes makes a run a scaling run: the default run
# has at most two sizes per kernel (xxh64's buffers, duplicates' pairwise size).
SCALING_MIN_SIZES = 3

# One colour per implementation in both charts; peers and the algorithm row
# are hatched so they read as "not ours" even in greyscale.
COLOURS = {
    "python_ref": "#4d4d4d",
    "numpy_impl": "#3b75af",
    "numba_impl": "#ef8636",
    "cffi_ext": "#519e3e",
    "cython_ext": "#c53a32",
    "rust_ext": "#8d69b8",
    "pandas": "#84584e",
    "polars": "#d57dbf",
    "xxhash": "#7f7f7f",
    "pairwise_python": "#bcbd45",
}
SPARE_COLOURS = ("#58bbcc", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5")
HATCHES = {"backend": "", "peer": "///", "algorithm": "xx", "limit": ".."}
KIND_ORDER = {"backend": 0, "peer": 1, "algorithm": 2, "limit": 3}


class ReportError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback."""


@dataclass
class Run:
    """One saved pytest-benchmark run."""

    path: Path
    data: dict[str, Any]

    @property
    def benchmarks(self) -> list[dict[str, Any]]:
        # pytest-benchmark's rows, then those timed inside other interpreters/runtimes
        return self.data["benchmarks"] + self.data.get("hotpath_external", [])

    @cached_property
    def when(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.data["datetime"])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def date(self) -> str:
        if self.when is None:
            return "unknown date"
        zone = f" {self.when.tzname()}" if self.when.tzinfo else ""
        return self.when.strftime("%Y-%m-%d %H:%M") + zone

    @cached_property
    def machine(self) -> dict[str, Any]:
        """bench/conftest.py's static facts, or what pytest-benchmark itself saved."""
        info = self.data.get("machine_info", {})
        if "hotpath" in info:
            return info["hotpath"]
        return {
            "cpu_model": info.get("cpu", {}).get("brand_raw", info.get("processor") or "?"),
            "cores": info.get("cpu", {}).get("count", "?"),
            "python": f"{info.get('python_implementation', '')} {info.get('python_version', '')}",
        }

    @property
    def commit(self) -> str:
        commit = self.data.get("commit_info", {})
        if not commit.get("id"):
            return ""
        return commit["id"][:7] + (" (uncommitted changes)" if commit.get("dirty") else "")

    @cached_property
    def is_scaling(self) -> bool:
        return bool(scaling_kernels(self.benchmarks))

    def machine_line(self) -> str:
        m = self.machine
        return f"{m.get('cpu_model', '?')}, {m.get('cores', '?')} cores, {m.get('python', '?')}"

    def caption(self) -> str:
        """Machine, version and date, for a chart's subtitle."""
        m = self.machine
        parts = [
            f"{m.get('cpu_model', '?')}, {m.get('cores', '?')} cores",
            str(m.get("python", "")),
            f"hotpath {m['hotpath']}" if "hotpath" in m else "",
            f"run {self.date}",
            f"commit {self.commit}" if self.commit else "",
        ]
        return "  ·  ".join(p for p in parts if p)


def scaling_kernels(benchmarks: list[dict[str, Any]]) -> list[str]:
    """Kernels timed at enough sizes to draw a curve."""
    sizes: dict[str, set[int]] = {}
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if "kernel" in info and bench.get("group") != LIMIT_GROUP:
            sizes.setdefault(info["kernel"], set()).add(info["size"])
    return [kernel for kernel, seen in sizes.items() if len(seen) >= SCALING_MIN_SIZES]


def load_run(path: Path) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"no such run: {path}") from None
    except (OSError, ValueError) as error:
        raise ReportError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ReportError(f"{path} is not a saved pytest-benchmark run (no 'benchmarks' list)")
    return Run(path, data)


def saved_runs(storage: Path) -> list[Run]:
    """Every run under ``storage``, oldest first. Ordered by the run's own
    timestamp: file times change on copy or checkout, the recorded one does not."""
    found = [load_run(path) for path in sorted(storage.glob("*/*.json"))]
    return sorted(
        found,
        key=lambda run: (run.when.timestamp() if run.when else -math.inf, run.path.stat().st_mtime),
    )


def select_runs(storage: Path, paths: Sequence[Path] = ()) -> tuple[Run, Run | None]:
    """The run to report and the scaling run to chart, if any.

    Given files are used as they are: at most one ordinary run and one scaling
    run. Otherwise the newest ordinary run in ``storage`` is reported (a scaling
    run has no python_ref to compare with), with the newest scaling run."""
    runs = [load_run(Path(p)) for p in paths] if paths else saved_runs(storage)
    if not runs:
        raise ReportError(f"no saved runs in {storage}: run `pytest bench/` first")
    ordinary = [run for run in runs if not run.is_scaling]
    scaling = [run for run in runs if run.is_scaling]
    if paths and (len(ordinary) > 1 or len(scaling) > 1):
        raise ReportError("give at most one ordinary run and one scaling run")
    return (ordinary or scaling)[-1], (scaling[-1] if scaling else None)


# -- numbers ---------------------------------------------------------------------------------


def report_rows(benchmarks: list[dict[str, Any]]) -> list[Row]:
    """``results.rows``, minus every figure a wrong answer would lend credit to,
    ordered by kernel then size (not by the group's text: "10M" < "1M")."""
    out = results.rows(benchmarks)
    bad_baseline = {r.group for r in out if r.implementation == BASELINE and r.parity != "ok"}
    for r in out:
        if r.parity != "ok":
            r.vs_reference = r.vs_numpy = r.gbps = r.share_of_limit = None
        elif r.group in bad_baseline:
            r.vs_numpy = None
    return sorted(out, key=lambda r: (r.group == LIMIT_GROUP, r.kernel, r.size, r.median))


def grouped(rows: list[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    return groups


def _ratio(value: float | None) -> str:
    # results._ratio prints 0.0x below 0.05; the O(n^2) row needs its digits.
    if value is not None and value < 0.1:
        return f"{value:.2g}×"
    return results._ratio(value)


def _ns_per_row(r: Row) -> float:
    return r.median / r.size * 1e9


def dataset_label(rows: list[Row]) -> str:
    """The row count most of the run's tables use, e.g. "a 100k-row dataset"."""
    sizes = Counter(r.size for r in rows if r.kernel in results.ROW_BYTES)
    if not sizes:
        return ""
    return f"a {results.size_label('aggregate', sizes.most_common(1)[0][0])}-row dataset"


# -- Markdown --------------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _parity(r: Row) -> str:
    return "✓" if r.parity == "ok" else f"✗ {r.parity}"


def _group_table(rows: list[Row]) -> list[str]:
    body = [
        (
            f"`{r.implementation}`",
            r.kind,
            results._seconds(r.median),
            f"{r.iqr / r.median:.0%}",
            _ratio(r.vs_reference) or "–",
            _ratio(r.vs_numpy) or "–",
            "–" if r.gbps is None else f"{r.gbps:.2f}",
            "–" if r.share_of_limit is None else f"{r.share_of_limit:.0%}",
            _parity(r),
        )
        for r in rows
    ]
    header = (
        "implementation",
        "kind",
        "median",
        "spread",
        f"vs {REFERENCE}",
        f"vs {BASELINE}",
        "GB/s",
        "of limit",
        "parity",
    )
    return markdown_table(header, "llrrrrrrl", body)


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
    f"{REFERENCE} on the same input before any timing counted; a row marked ✗ gets no "
    "speedup. **GB/s** is input bytes over the median, for kernels that read their input "
    "once front to back; **of limit** compares it with the memory read bandwidth measured "
    "in the same run (the *machine limit* row). What one timed call covers differs by row "
    "(prepared inputs, checks included or not): see *What each timing covers*."
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
        names = _order(mine)
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
                    row.append(f"{results._seconds(r.median)} ({_ns_per_row(r):.3g} ns/row)")
            body.append(row)
        header = ["implementation", *(f"{results.size_label(kernel, s)} rows" for s in sizes)]
        lines += [f"### {kernel}", "", *markdown_table(header, "l" + "r" * len(sizes), body), ""]
    return lines


def _runtimes_section(benchmarks: list[dict[str, Any]]) -> list[str]:
    """Other interpreters and runtimes (hotpath.runtimes): each one's steady-state
    time against the same driver under CPython, and its one-off costs."""
    costs = results.one_off_costs(benchmarks)
    if not costs:
        return []
    ratios = results.vs_runtime(benchmarks, "cpython")
    order = {r.group: (r.kernel, r.size) for r in report_rows(benchmarks)}
    groups = sorted({g for c in costs.values() for g in c["first_call"]}, key=order.__getitem__)
    lines = [
        "### Other interpreters and runtimes",
        "",
        "`hotpath.driver` runs python_ref's kernels inside each one and times every call there; "
        "checksums are checked against python_ref. Steady state: the median of the last 10 "
        "calls, made once the medians of their two halves agree within 10% (at least "
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
    header = ("runtime", *(label for _, label in results.ONE_OFF), "module", "engine")
    body = []
    for name, c in costs.items():
        body.append(
            (
                f"`{name}`",
                *(results._seconds(c[key]) if key in c else "–" for key, _ in results.ONE_OFF),
                f"{c['module_bytes'] / 2**20:.1f} MiB" if "module_bytes" in c else "–",
                c.get("engine", "–"),
            )
        )
    lines += [*markdown_table(header, "l" + "r" * (len(header) - 2) + "l", body), ""]
    first = [
        (
            f"`{name}`",
            *(
                results._seconds(c["first_call"][g]) if g in c["first_call"] else "–"
                for g in groups
            ),
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
        lines += ["JIT compilers, verified in the run itself (not assumed):", ""]
        lines += [
            f"- `{name}`: {results.jit_verdict(jit)}: {jit['evidence']}"
            + ("" if jit["active"] else " -- **these timings are not the JIT's**")
            for name, jit in jits
        ]
        lines.append("")
    return lines


def markdown(main: Run, scaling: Run | None, speedup_chart: bool, wheels: bool = False) -> str:
    rows = report_rows(main.benchmarks)
    groups = grouped(rows)
    limit = groups.pop(LIMIT_GROUP, [])
    lines = [
        "# hotpath benchmark results",
        "",
        f"Run of **{main.date}** on {main.machine_line()}"
        + (f", commit `{main.commit}`" if main.commit else "")
        + f". Source: `{_display(main.path)}`. Written by `hotpath report`.",
        "",
        *_machine_section(main),
        "",
        "## How to read this",
        "",
        HOW_TO_READ,
        "",
    ]
    if speedup_chart:
        lines += ["![Speedup over pure Python per implementation](speedup.png)", ""]
    else:
        lines += [f"_No speedup chart: this run has no `{REFERENCE}` rows to compare with._", ""]
    if wheels:  # `hotpath wheels` wrote its report next to this one
        lines += [
            "What each backend costs to ship (clean build time, wheel size, tags, runtime "
            "dependencies, cold import time) is in [WHEELS.md](WHEELS.md), beside these speedups.",
            "",
        ]
    lines += ["## Results", ""]
    for name, members in groups.items():
        lines += [f"### {name}", "", *_group_table(members), ""]
    if limit:
        lines += [
            f"### {LIMIT_GROUP}",
            "",
            "The memory read bandwidth of this machine, measured in the same run: "
            "the ceiling for the GB/s columns above.",
            "",
            *markdown_table(
                ("probe", "median", "spread", "GB/s", "of limit"),
                "lrrrr",
                [
                    (
                        f"`{r.implementation}`",
                        results._seconds(r.median),
                        f"{r.iqr / r.median:.0%}",
                        f"{r.gbps:.2f}" if r.gbps else "–",
                        f"{r.share_of_limit:.0%}" if r.share_of_limit else "–",
                    )
                    for r in limit
                ],
            ),
            "",
        ]
    lines += _runtimes_section(main.benchmarks)
    # one-off costs have their own table (_runtimes_section)
    notes = [n for n in results.summary_notes(main.benchmarks) if not n.startswith("one-off:")]
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
    return "\n".join(lines).rstrip() + "\n"


# -- charts ----------------------------------------------------------------------------------


def _order(rows: list[Row]) -> list[str]:
    """Implementations in a fixed order: backends, peers, algorithm; known names first."""
    known = list(COLOURS)
    first = {
        r.implementation: (KIND_ORDER.get(r.kind, 9), i) for i, r in reversed(list(enumerate(rows)))
    }
    return sorted(
        first, key=lambda n: (first[n][0], known.index(n) if n in known else 99, first[n][1])
    )


def _colours(names: Sequence[str]) -> dict[str, str]:
    spare = iter(SPARE_COLOURS * (len(names) // len(SPARE_COLOURS) + 1))
    return {n: COLOURS[n] if n in COLOURS else next(spare) for n in names}


def _lighten(colour: str, amount: float = 0.55) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return tuple(c + (1 - c) * amount for c in to_rgb(colour))  # type: ignore[return-value]


def _bar_style(kind: str, colour: str) -> dict[str, Any]:
    if kind == "backend":
        return {"facecolor": colour, "edgecolor": colour}
    return {"facecolor": _lighten(colour), "edgecolor": colour, "hatch": HATCHES.get(kind, "//")}


def _new_figure(width: float, height: float) -> Figure:
    # A bare Figure on the Agg canvas: no pyplot, no GUI, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=150, facecolor="white")
    FigureCanvasAgg(figure)
    return figure


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9, length=3)


def _times_label(value: float, _: object = None) -> str:
    return f"{value:,.{max(0, -math.floor(math.log10(value)))}f}×"


def _title_block(figure: Figure, height: float, title: str, caption: str) -> None:
    """Title and machine caption at fixed distances from the top, in inches."""
    figure.text(0.012, 1 - 0.32 / height, title, fontsize=15, weight="bold", va="center")
    figure.text(0.012, 1 - 0.62 / height, caption, fontsize=9.5, color="#555555", va="center")


def speedup_figure(run: Run) -> Figure | None:
    """Horizontal bars from 1× (pure Python) to each implementation's speedup, one
    panel per kernel·size group, log scale. None when the run has no python_ref
    rows to compare with (a scaling run)."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    rows = report_rows(run.benchmarks)
    panels = [
        (name, members)
        for name, members in grouped(rows).items()
        if name != LIMIT_GROUP
        and any(r.implementation == REFERENCE and r.parity == "ok" for r in members)
        and any(r.implementation != REFERENCE for r in members)
    ]
    if not panels:
        return None
    names = _order(rows)
    colours = _colours(names)
    kinds = {r.implementation: r.kind for r in rows}

    # Panels of the O(n^2) algorithm row alone go last: the others keep kernel order.
    panels.sort(
        key=lambda panel: all(
            r.kind == "algorithm" for r in panel[1] if r.implementation != REFERENCE
        )
    )
    speedups = [r.vs_reference for _, members in panels for r in members if r.vs_reference]
    # One x range for every panel, so bar lengths compare across panels.
    limits = (min([*speedups, 1.0]) / 4, max([*speedups, 1.0]) * 4)

    columns = 2 if len(panels) > 1 else 1
    grid_rows = [panels[i : i + columns] for i in range(0, len(panels), columns)]
    bars_per_row = [
        max(sum(r.implementation != REFERENCE for r in m) for _, m in row) for row in grid_rows
    ]
    bar_in, pad_in, top_in, bottom_in = 0.3, 0.8, 1.05, 1.45
    height = top_in + bottom_in + sum(n * bar_in + pad_in for n in bars_per_row) - pad_in
    width = 15.0 if columns == 2 else 8.5
    figure = _new_figure(width, height)
    spec = figure.add_gridspec(
        len(grid_rows),
        columns,
        height_ratios=[n * bar_in for n in bars_per_row],
        left=0.1 if columns == 2 else 0.18,
        right=0.985,
        top=1 - top_in / height,
        bottom=bottom_in / height,
        wspace=0.27,
        hspace=pad_in / (sum(bars_per_row) * bar_in / len(grid_rows)),
    )
    for i, row in enumerate(grid_rows):
        for j, (name, members) in enumerate(row):
            ax = figure.add_subplot(spec[i, j])
            _speedup_panel(ax, name, members, colours, bars_per_row[i], limits)
            ax.xaxis.set_major_locator(LogLocator(base=10, numticks=30))
            ax.xaxis.set_major_formatter(FuncFormatter(_times_label))
            ax.xaxis.set_minor_formatter(NullFormatter())
    dataset = dataset_label(rows)
    _title_block(
        figure,
        height,
        "Speedup over pure Python" + (f" on {dataset}" if dataset else "") + " (higher is faster)",
        run.caption(),
    )
    figure.text(
        0.5,
        (bottom_in - 0.55) / height,
        "speedup over pure Python (×, log scale)",
        ha="center",
        va="center",
        fontsize=11,
    )
    with_bar = {r.implementation for _, members in panels for r in members if r.vs_reference}
    drawn = [n for n in names if n != REFERENCE and n in with_bar]
    handles = [Patch(label=n, linewidth=1, **_bar_style(kinds[n], colours[n])) for n in drawn]
    handles.append(
        Patch(facecolor="none", edgecolor="black", linestyle="--", label=f"{REFERENCE} (1×)")
    )
    figure.legend(
        handles=handles,
        loc="center",
        ncol=len(handles),
        frameon=False,
        bbox_to_anchor=(0.5, (bottom_in - 0.9) / height),
        fontsize=9.5,
        handlelength=2.2,
        handleheight=1.1,
        columnspacing=1.4,
    )
    figure.text(
        0.5,
        0.2 / height,
        "median of rounds · bars start at 1× (pure Python) · solid = hotpath backends, "
        "hatched = peers and the O(n²) algorithm row · shaded = slower than pure Python · "
        f"every bar's result was checked against {REFERENCE} before timing",
        ha="center",
        va="center",
        fontsize=8,
        color="#777777",
    )
    return figure


def _speedup_panel(
    ax: Axes,
    name: str,
    members: list[Row],
    colours: dict[str, str],
    slots: int,
    limits: tuple[float, float],
) -> None:
    reference = next(r for r in members if r.implementation == REFERENCE)
    shown = [r for r in members if r.implementation != REFERENCE]
    # Fastest on top; wrong answers last, without a bar.
    shown.sort(key=lambda r: (r.vs_reference is None, -(r.vs_reference or 0)))
    _style(ax)
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    ax.set_ylim(slots - 0.4, -0.6)  # same bar thickness in every panel of a row
    ax.set_yticks(range(len(shown)), [r.implementation for r in shown])
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.axvspan(limits[0], 1, color="#fdf3f1", zorder=0)  # slower than pure Python
    ax.axvline(1, color="black", linestyle="--", linewidth=1)
    for y, r in enumerate(shown):
        if r.vs_reference is None:
            ax.text(
                1.15, y, f"✗ {r.parity} — no speedup", va="center", fontsize=8.5, color="#b00020"
            )
            ax.get_yticklabels()[y].set_color("#b00020")
            continue
        s = r.vs_reference
        ax.barh(
            y,
            s - 1,
            left=1,
            height=0.72,
            linewidth=1,
            **_bar_style(r.kind, colours[r.implementation]),
        )
        # Outside the bar's end, except inside a long bar left of 1x (no room there).
        inside = s < 0.05
        ax.text(
            s * 1.12 if s >= 1 or inside else s / 1.12,
            y,
            _ratio(s),
            va="center",
            ha="left" if s >= 1 or inside else "right",
            fontsize=8.5,
            weight="bold" if inside else "normal",
        )
    ax.set_title(name, loc="left", fontsize=11.5, weight="bold")
    ax.set_title(
        f"pure Python: {results._seconds(reference.median)}",
        loc="right",
        fontsize=8.5,
        color="#666666",
    )


def scaling_figure(run: Run) -> Figure | None:
    """ns per row against rows, log-log, one panel per kernel. A flat line is
    linear scaling; the dotted line is what the memory bandwidth allows. None
    when no kernel was timed at enough sizes."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
    )

    kernels = scaling_kernels(run.benchmarks)
    if not kernels:
        return None
    rows = [r for r in report_rows(run.benchmarks) if r.group != LIMIT_GROUP]
    bandwidth = results.memory_bandwidth(run.benchmarks)
    names = _order(rows)
    colours = _colours(names)
    kinds = {r.implementation: r.kind for r in rows}

    height, width = 5.4, max(6.0, 4.9 * len(kernels))
    figure = _new_figure(width, height)
    axes = figure.subplots(1, len(kernels), sharey=True, squeeze=False)[0]
    figure.subplots_adjust(
        left=0.065, right=0.99, top=1 - 1.05 / height, bottom=1.3 / height, wspace=0.08
    )
    limit_drawn = False
    lowest = min((_ns_per_row(r) for r in rows if r.parity == "ok"), default=1.0)
    for ax, kernel in zip(axes, kernels):
        _style(ax)
        mine = [r for r in rows if r.kernel == kernel and r.parity == "ok"]
        sizes = sorted({r.size for r in rows if r.kernel == kernel})
        for name in names:
            points = sorted((r.size, _ns_per_row(r)) for r in mine if r.implementation == name)
            if not points:
                continue
            xs, ys = zip(*points)
            ax.plot(
                xs,
                ys,
                marker="o",
                markersize=5,
                linewidth=2,
                color=colours[name],
                linestyle="-" if kinds[name] == "backend" else "--",
            )
        if bandwidth and kernel in STREAMING and kernel in results.ROW_BYTES:
            floor = results.ROW_BYTES[kernel] / bandwidth * 1e9
            ax.axhline(floor, color="#888888", linestyle=":", linewidth=1.5)
            ax.text(
                sizes[0],
                floor * 1.08,
                f"memory read limit ({bandwidth / 1e9:.1f} GB/s)",
                fontsize=8,
                color="#666666",
                va="bottom",
            )
            lowest = min(lowest, floor)
            limit_drawn = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: results.size_label("aggregate", round(v)))
        )
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(sizes[0] / 1.6, sizes[-1] * 1.6)
        ax.grid(which="major", color="#dddddd", linewidth=0.8)
        ax.grid(which="minor", axis="y", color="#f0f0f0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_title(kernel, loc="left", fontsize=12, weight="bold")
        ax.set_xlabel("dataset size (rows, log scale)", fontsize=10)
    axes[0].set_ylabel("time per row (ns, log scale; lower is faster)", fontsize=10)
    axes[0].set_ylim(bottom=lowest / 1.6)
    axes[0].yaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes[0].yaxis.set_minor_formatter(NullFormatter())
    _title_block(
        figure, height, "Time per row against dataset size (flat = linear scaling)", run.caption()
    )
    handles = [
        Line2D(
            [],
            [],
            color=colours[n],
            marker="o",
            linewidth=2,
            label=n,
            linestyle="-" if kinds[n] == "backend" else "--",
        )
        for n in names
    ]
    if limit_drawn:
        handles.append(
            Line2D([], [], color="#888888", linestyle=":", linewidth=1.5, label="memory read limit")
        )
    figure.legend(
        handles=handles,
        loc="center",
        ncol=len(handles),
        frameon=False,
        fontsize=9.5,
        bbox_to_anchor=(0.5, 0.5 / height),
    )
    figure.text(
        0.5,
        0.17 / height,
        "median of rounds ÷ rows · lower is faster · dotted: bytes per row ÷ this run's "
        "memory read bandwidth, the floor for kernels that stream their input once",
        ha="center",
        va="center",
        fontsize=8,
        color="#777777",
    )
    return figure


def write_report(storage: Path, out: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """Write RESULTS.md and the charts into ``out``; the paths written."""
    main, scaling = select_runs(storage, paths)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("speedup.png", "scaling.png"):  # a chart this report does not link
        (out / stale).unlink(missing_ok=True)
    written = []
    speedup = speedup_figure(main)
    if speedup is not None:
        speedup.savefig(out / "speedup.png")
        written.append(out / "speedup.png")
    curves = scaling_figure(scaling) if scaling is not None else None
    if curves is not None:
        curves.savefig(out / "scaling.png")
        written.append(out / "scaling.png")
    markdown_text = markdown(
        main, scaling if curves else None, speedup is not None, (out / "WHEELS.md").exists()
    )
    (out / "RESULTS.md").write_text(markdown_text, encoding="utf-8")
    return [out / "RESULTS.md", *written]
