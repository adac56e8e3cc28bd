"""The report's charts: speedup bars per kernel and size, and time per row against size.

matplotlib is imported only when a chart is drawn, on a bare Agg canvas (no pyplot, no GUI).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hotpath.records import LIMIT_GROUP, ROW_BYTES, Outcome, size_label, working_set_bytes
from hotpath.reporting.rows import (
    REFERENCE,
    STREAMING,
    Row,
    applicable_limit,
    dataset_label,
    format_ratio,
    format_seconds,
    grouped,
    limits,
    ns_per_row,
    report_rows,
    untimed_cases,
    untimed_mark,
)
from hotpath.reporting.saved import Run, scaling_kernels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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
HATCHES = {"backend": "", "peer": "///", "pool": "\\\\", "algorithm": "xx", "limit": ".."}
KIND_ORDER = {"backend": 0, "peer": 1, "pool": 2, "algorithm": 3, "limit": 4}


def implementation_order(rows: list[Row]) -> list[str]:
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
    # wrong answers and errors were never timed: listed in their panel, without a bar
    failed = [c for c in untimed_cases(run.benchmarks, run.cases) if not c.skipped]
    panels = [
        (name, members, [c for c in failed if c.group == name])
        for name, members in grouped(rows).items()
        if name != LIMIT_GROUP
        and any(r.implementation == REFERENCE and r.parity == "ok" for r in members)
        and any(r.implementation != REFERENCE for r in members)
    ]
    if not panels:
        return None
    names = implementation_order(rows)
    colours = _colours(names)
    kinds = {r.implementation: r.kind for r in rows}

    # Panels of the O(n^2) algorithm row alone go last: the others keep kernel order.
    panels.sort(
        key=lambda panel: all(
            r.kind == "algorithm" for r in panel[1] if r.implementation != REFERENCE
        )
    )
    speedups = [r.vs_reference for _, members, _ in panels for r in members if r.vs_reference]
    # One x range for every panel, so bar lengths compare across panels.
    limits = (min([*speedups, 1.0]) / 4, max([*speedups, 1.0]) * 4)

    columns = 2 if len(panels) > 1 else 1
    grid_rows = [panels[i : i + columns] for i in range(0, len(panels), columns)]
    bars_per_row = [
        max(sum(r.implementation != REFERENCE for r in m) + len(w) for _, m, w in row)
        for row in grid_rows
    ]
    width = 15.0 if columns == 2 else 8.5
    # The legend wraps into rows that fit the figure: one entry takes about 1.9 inches.
    entries = 1 + len({r.implementation for _, m, _ in panels for r in m if r.vs_reference})
    legend_columns = max(1, min(entries, int(width / 1.9)))
    legend_rows = -(-entries // legend_columns)
    bar_in, pad_in, top_in = 0.3, 0.8, 1.05
    bottom_in = 1.2 + 0.28 * legend_rows
    height = top_in + bottom_in + sum(n * bar_in + pad_in for n in bars_per_row) - pad_in
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
        for j, (name, members, wrong) in enumerate(row):
            ax = figure.add_subplot(spec[i, j])
            _speedup_panel(ax, name, members, wrong, colours, bars_per_row[i], limits)
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
    with_bar = {r.implementation for _, members, _ in panels for r in members if r.vs_reference}
    drawn = [n for n in names if n != REFERENCE and n in with_bar]
    handles = [Patch(label=n, linewidth=1, **_bar_style(kinds[n], colours[n])) for n in drawn]
    handles.append(
        Patch(facecolor="none", edgecolor="black", linestyle="--", label=f"{REFERENCE} (1×)")
    )
    figure.legend(
        handles=handles,
        loc="upper center",
        ncol=legend_columns,
        frameon=False,
        bbox_to_anchor=(0.5, (bottom_in - 0.75) / height),
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
    wrong: list[Outcome],
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
    names = [r.implementation for r in shown] + [c.implementation for c in wrong]
    ax.set_yticks(range(len(names)), names)
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
            format_ratio(s),
            va="center",
            ha="left" if s >= 1 or inside else "right",
            fontsize=8.5,
            weight="bold" if inside else "normal",
        )
    for y, c in enumerate(wrong, start=len(shown)):
        ax.text(1.15, y, _clip(untimed_mark(c)), va="center", fontsize=8.5, color="#b00020")
        ax.get_yticklabels()[y].set_color("#b00020")
    ax.set_title(name, loc="left", fontsize=11.5, weight="bold")
    ax.set_title(
        f"pure Python: {format_seconds(reference.median)}",
        loc="right",
        fontsize=8.5,
        color="#666666",
    )


def _clip(text: str, width: int = 48) -> str:
    """A verdict short enough to stay inside its panel (RESULTS.md has it in full)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def scaling_figure(run: Run) -> Figure | None:
    """ns per row against rows, log-log, one panel per kernel. A flat line is
    linear scaling; the dotted line is what the read bandwidth of the memory level the
    input fits in allows (a step where it outgrows a cache). None
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
    found = limits(run.benchmarks)
    names = implementation_order(rows)
    colours = _colours(names)
    kinds = {r.implementation: r.kind for r in rows}

    height, width = 5.4, max(6.0, 4.9 * len(kernels))
    figure = _new_figure(width, height)
    axes = figure.subplots(1, len(kernels), sharey=True, squeeze=False)[0]
    figure.subplots_adjust(
        left=0.065, right=0.99, top=1 - 1.05 / height, bottom=1.3 / height, wspace=0.08
    )
    limit_drawn = False
    lowest = min((ns_per_row(r) for r in rows if r.parity == "ok"), default=1.0)
    for ax, kernel in zip(axes, kernels):
        _style(ax)
        mine = [r for r in rows if r.kernel == kernel and r.parity == "ok"]
        sizes = sorted({r.size for r in rows if r.kernel == kernel})
        for name in names:
            points = sorted((r.size, ns_per_row(r)) for r in mine if r.implementation == name)
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
        floors = []
        for size in sizes if kernel in STREAMING and kernel in ROW_BYTES else ():
            limit = applicable_limit(found, working_set_bytes(kernel, size))
            if limit is not None:
                floors.append((size, ROW_BYTES[kernel] / limit.bandwidth * 1e9, limit.level))
        if floors:
            xs, ys, _ = zip(*floors)
            ax.plot(xs, ys, color="#888888", linestyle=":", linewidth=1.5, drawstyle="steps-mid")
            for x, y, level in floors:
                ax.text(x, y * 1.08, level, fontsize=7.5, color="#666666", ha="center")
            lowest = min(lowest, *ys)
            limit_drawn = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: size_label("aggregate", round(v))))
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
            Line2D([], [], color="#888888", linestyle=":", linewidth=1.5, label="read limit")
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
        "median of rounds ÷ rows · lower is faster · dotted: bytes per row ÷ this run's read "
        "bandwidth of the level the input fits in (L2, L3, DRAM), the floor for kernels that "
        "stream their input once",
        ha="center",
        va="center",
        fontsize=8,
        color="#777777",
    )
    return figure


def threads_figure(run: Run) -> Figure | None:
    """Speedup over the sequential backend against threads, one panel per kernel, a line per
    parallel variant and size, the dotted diagonal perfect scaling. The x axis has every thread
    count the run timed, so a run on more cores extends it by itself. None when the run has no
    parallel variant timed at two thread counts or more."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator

    from hotpath.reporting import threads

    found = [s for s in threads.scaled(threads.points(run.benchmarks)) if s.speedup is not None]
    counts = threads.thread_counts(found)
    if len(counts) < 2:
        return None
    kernels = sorted({s.kernel for s in found})
    variants = sorted({s.variant for s in found})
    sizes = sorted({s.size for s in found})
    colours = _colours([_technology(v) for v in variants])
    styles = ("-", "--", "-.", ":")
    height, width = 5.0, max(6.0, 4.4 * len(kernels))
    figure = _new_figure(width, height)
    axes = figure.subplots(1, len(kernels), sharey=True, squeeze=False)[0]
    figure.subplots_adjust(
        left=0.07, right=0.99, top=1 - 1.05 / height, bottom=1.3 / height, wspace=0.08
    )
    top = max(counts[-1], max(s.speedup or 0 for s in found)) * 1.1
    for ax, kernel in zip(axes, kernels):
        _style(ax)
        ax.plot(counts, counts, color="#888888", linestyle=":", linewidth=1.2)
        for variant in variants:
            for size_index, size in enumerate(sizes):
                line = sorted(
                    (s.threads, s.speedup)
                    for s in found
                    if (s.kernel, s.variant, s.size) == (kernel, variant, size)
                )
                if not line:
                    continue
                xs, ys = zip(*line)
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    markersize=5,
                    linewidth=2,
                    color=colours[_technology(variant)],
                    linestyle=styles[size_index % len(styles)],
                )
        ax.xaxis.set_major_locator(FixedLocator(counts))
        ax.set_xlim(counts[0] - 0.3, counts[-1] + 0.3)
        ax.set_ylim(0, top)
        ax.grid(color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(kernel, loc="left", fontsize=12, weight="bold")
        ax.set_xlabel("threads", fontsize=10)
    axes[0].set_ylabel("speedup over the sequential backend", fontsize=10)
    _title_block(figure, height, "Scaling by threads (dotted: perfect scaling)", run.caption())
    handles = [
        Line2D([], [], color=colours[_technology(v)], marker="o", linewidth=2, label=v)
        for v in variants
    ]
    handles += [
        Line2D(
            [],
            [],
            color="#555555",
            linewidth=1.5,
            linestyle=styles[i % len(styles)],
            label=f"{size_label('aggregate', size)} rows",
        )
        for i, size in enumerate(sizes)
    ]
    figure.legend(
        handles=handles,
        loc="center",
        ncol=len(handles),
        frameon=False,
        fontsize=9.5,
        bbox_to_anchor=(0.5, 0.45 / height),
    )
    return figure


def _technology(variant: str) -> str:
    """A parallel variant is drawn in its technology's colour: ``rust_ext.parallel`` as
    ``rust_ext``."""
    return variant.split(".")[0]
