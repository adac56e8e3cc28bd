"""Saved benchmark runs: pytest-benchmark's JSON files (``.benchmarks/<machine>/NNNN_*.json``),
read back so a report can be written long after the run, on any machine."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from hotpath.records import LIMIT_GROUP, Outcome

# A kernel timed at this many sizes makes a run a scaling run: the default run
# has at most two sizes per kernel (xxh64's buffers, duplicates' pairwise size).
SCALING_MIN_SIZES = 3


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

    @property
    def cases(self) -> list[Outcome]:
        """Every kernel case of the run with its verdict, timed or not (runs saved before
        hotpath_cases existed: none). The pipeline's steps are ``pipeline_cases``; the
        database ladder's rungs are neither."""
        return [o for o in self._all_cases() if o.kind not in ("pipeline", "database")]

    @property
    def pipeline_cases(self) -> list[Outcome]:
        return [o for o in self._all_cases() if o.kind == "pipeline"]

    def _all_cases(self) -> list[Outcome]:
        return [Outcome.from_dict(c) for c in self.data.get("hotpath_cases", [])]

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
    def has_kernels(self) -> bool:
        """Whether the run timed kernels (not only the pipeline or the databases)."""
        kinds = {b.get("extra_info", {}).get("kind") for b in self.benchmarks}
        return bool(kinds - {"pipeline", "database", None})

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
    if not paths:  # runs of the pipeline or database benchmarks alone are PERFORMANCE.md's
        runs = [run for run in runs if run.has_kernels] or runs
    ordinary = [run for run in runs if not run.is_scaling]
    scaling = [run for run in runs if run.is_scaling]
    if paths and (len(ordinary) > 1 or len(scaling) > 1):
        raise ReportError("give at most one ordinary run and one scaling run")
    return (ordinary or scaling)[-1], (scaling[-1] if scaling else None)
