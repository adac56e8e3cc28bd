"""The energy monitor end to end: many CSV files -> dedup -> aggregate -> fingerprint -> report.

``run(paths, engine=..., options=...)`` is the API under ``hotpath pipeline``: it finds the
files (:mod:`~hotpath.pipeline.inputs`), lets an engine (:mod:`~hotpath.pipeline.engines`) do
the work and returns its :class:`~hotpath.pipeline.report.Report`, with the whole run's wall
and CPU time and peak memory added. The building blocks: the input rules (``grammar``), the
readers (``readers/``), the load stage (``loading``) and its cache (``cache``), the kernels'
part (``analytics``), and the engines of the ladder (``naive``, ``objects``, ``columnar``).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path

from hotpath.pipeline import engines
from hotpath.pipeline.engines import Options
from hotpath.pipeline.errors import PipelineError
from hotpath.pipeline.inputs import discover
from hotpath.pipeline.report import Report

__all__ = ["Options", "PipelineError", "Report", "current_rss", "peak_rss", "reset_peak_rss", "run"]


def current_rss() -> int:
    """This process's resident memory now, in bytes (Linux /proc; 0 where unknown)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes: Linux's VmHWM, which belongs to
    this program's memory alone. (getrusage's ru_maxrss is no good in a child: it carries the
    parent's peak across fork and exec.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> bool:
    """Make the peak resident memory the current one (Linux >= 4.0), so that a peak measured
    afterwards is the peak of what follows; False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(
    paths: Sequence[str | Path], engine: str = engines.DEFAULT, options: Options | None = None
) -> Report:
    """Run the pipeline over ``paths`` (files, or folders of readings files)."""
    options = options or Options()
    chosen = engines.get(engine)
    why = chosen.available()
    if why:
        raise PipelineError(f"engine {engine} is unavailable: {why}")
    if options.on_bad_row == "skip" and "on_bad_row" not in chosen.uses:
        raise PipelineError(
            f"engine {engine} cannot skip bad rows (it has no record-level reader): "
            "use --on-bad-row error, or an engine of the ladder (columnar, objects, naive)"
        )
    files = discover(paths)
    rss_before, cpu_before = current_rss(), cpu_seconds()
    started = time.perf_counter()
    report = chosen.run(files, options)
    report.timings["total"] = time.perf_counter() - started
    report.timings["cpu"] = cpu_seconds() - cpu_before
    report.memory.update(rss_at_start=rss_before, peak_rss=peak_rss())
    return report
