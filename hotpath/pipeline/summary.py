"""What ``hotpath pipeline`` shows a person: a progress bar while large inputs are read, then
a short summary -- what was read, dropped and rejected, the fleet's total, the top
consumers, where the time went."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hotpath.pipeline.report import STAGES, Report

# Inputs smaller than this are read before a bar would be worth drawing.
PROGRESS_FROM_BYTES = 64 * 2**20


@contextmanager
def progress_bar(paths: Sequence[Path], enabled: bool) -> Iterator[Callable[[Path], None] | None]:
    """A callback that advances a bar by one file's bytes, or None when no bar is drawn
    (small input, --quiet, or stderr not a terminal)."""
    from hotpath.pipeline.inputs import discover

    if not enabled or not sys.stderr.isatty():
        yield None
        return
    try:
        files = discover(paths)
    except Exception:  # the run itself reports it
        yield None
        return
    total = sum(f.stat().st_size for f in files)
    if total < PROGRESS_FROM_BYTES:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(f"reading {len(files)} files", total=total)
        yield lambda path: progress.advance(task, path.stat().st_size)


def _seconds(value: float) -> str:
    return f"{value * 1e3:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def print_summary(report: Report, top: int, rejects: Path | None, json_path: Path | None) -> None:
    console = Console()
    results = report.results()
    engine = ", ".join(f"{k} {v}" for k, v in report.engine.items() if k != "name")
    console.print(
        f"[bold]hotpath pipeline[/] · engine {report.engine.get('name', '?')}"
        + (f" ({engine})" if engine else "")
    )
    console.print(
        f"{len(report.files)} files · {report.rows_read:,} rows read · "
        f"{report.duplicates_dropped:,} duplicates dropped · "
        f"{report.rows_rejected:,} rejected · {report.rows_kept:,} kept · "
        f"{len(report.devices):,} devices"
    )
    console.print(
        f"fleet total [bold]{report.fleet_total_kwh:,.3f} kWh[/] · fingerprint "
        f"{results['fingerprint']}"
    )
    for broken in report.files_rejected:
        console.print(
            f"[red]file rejected[/] {broken['file']}:{broken['line']}: {broken['reason']}"
        )
    if rejects is not None:
        console.print(f"[yellow]{report.rows_rejected:,} rejected records written to {rejects}[/]")
    if top > 0 and len(report.devices):
        d = report.devices
        order = sorted(range(len(d)), key=lambda i: -d.total[i])[:top]
        table = Table(title=f"top {len(order)} consumers", title_justify="left")
        for column in ("device", "readings", "total kWh", "mean kWh", "min", "max"):
            table.add_column(column, justify="right")
        for i in order:
            count = int(d.count[i])
            table.add_row(
                str(d.device_id[i]),
                f"{count:,}",
                f"{d.total[i]:,.3f}",
                f"{d.total[i] / count:.4f}" if count else "–",
                f"{d.minimum[i]:.3f}",
                f"{d.maximum[i]:.3f}",
            )
        console.print(table)
    timings = report.timings
    # a cluster's start-up and shut-down (the distributed engines) around the stages
    shown = ("startup", *STAGES, "shutdown")
    stages = " · ".join(f"{s} {_seconds(timings[s])}" for s in shown if s in timings)
    line = f"time {_seconds(timings.get('total', 0.0))} ({stages})"
    if report.cache:
        c = report.cache
        line += f" · cache {c.get('hits', 0)} hits, {c.get('misses', 0)} misses"
        if c.get("result") == "hit":
            line += ", result unchanged"
    console.print(line)
    if json_path is not None:
        console.print(f"report written to {json_path}")
