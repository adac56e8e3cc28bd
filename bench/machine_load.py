"""How busy the machine was while a case was timed, from /proc (Linux).

A timing is only as good as the machine was quiet. Around each timed case the harness reads
the system-wide CPU counters and this process's own CPU time; the difference is what *other*
processes used (in cores), and the steal counter says how much the hypervisor took away. Both
are saved with the case; the summary and the report warn beside the rows timed while the
machine was busy. Where /proc is unavailable every figure is None and nothing is claimed.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAT = Path("/proc/stat")
LOADAVG = Path("/proc/loadavg")


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds, monotonic
    busy: int | None  # clock ticks every CPU spent running anything (steal excluded)
    steal: int | None  # ticks the hypervisor ran something else on our virtual CPUs
    total: int | None  # all ticks
    own: float  # CPU seconds of this process and its finished children
    loadavg: float | None  # 1-minute load average


def _own_cpu() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def sample(stat: Path = STAT, loadavg: Path = LOADAVG) -> Sample:
    busy = steal = total = None
    try:
        fields = stat.read_text().splitlines()[0].split()  # "cpu  user nice system idle ..."
        ticks = [int(v) for v in fields[1:]]
        user, nice, system, idle, iowait, irq, softirq, stolen = (ticks + [0] * 8)[:8]
        busy, steal = user + nice + system + irq + softirq, stolen
        total = busy + idle + iowait + stolen
    except (OSError, ValueError, IndexError):
        pass
    try:
        average: float | None = float(loadavg.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        average = None
    return Sample(time.monotonic(), busy, steal, total, _own_cpu(), average)


def between(before: Sample, after: Sample) -> dict[str, Any]:
    """What the machine did between two samples: ``others`` (cores' worth of CPU other
    processes used), ``steal`` (share of CPU time stolen), the load averages at both ends."""
    wall = after.wall - before.wall
    others = steal = None
    if None not in (before.busy, after.busy) and wall > 0:
        ticks = os.sysconf("SC_CLK_TCK")
        everyone = (after.busy - before.busy) / ticks  # type: ignore[operator]
        others = max(0.0, (everyone - (after.own - before.own)) / wall)
        total = after.total - before.total  # type: ignore[operator]
        steal = (after.steal - before.steal) / total if total else 0.0  # type: ignore[operator]
    return {
        "seconds": wall,
        "others_cores": others,
        "steal": steal,
        "loadavg_before": before.loadavg,
        "loadavg_after": after.loadavg,
    }
