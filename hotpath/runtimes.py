"""Other Pythons as benchmark rows: python_ref run by ``hotpath.driver`` under
another interpreter or runtime, timed inside it, checked by checksum.

Each :class:`Runtime` says how to start the driver and whether it can run
here. :func:`measure` runs it once over a dataset file and turns its JSON into
rows shaped like pytest-benchmark's (group, extra_info, stats), so the summary
table and ``hotpath report`` treat them like any other row. Adding a runtime
is one entry in :data:`RUNTIMES`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotpath import results

ROOT = Path(__file__).resolve().parent.parent  # python_ref/ and hotpath/ live here
TIMED = "python_ref run by hotpath.driver, timed inside the interpreter"


class RuntimeFailed(RuntimeError):
    """The runtime started but did not produce a report."""


@dataclass(frozen=True)
class Runtime:
    name: str
    kind: str  # "interpreter" or "wasm"
    describe: str
    # argv that runs the driver (its arguments are appended); None when unavailable
    command: Callable[[], list[str] | None]
    why_unavailable: str = ""
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 1800.0

    def available(self) -> str:
        """ "" when it can run here, else why not."""
        return "" if self.command() is not None else self.why_unavailable


def _on_path(program: str, *args: str) -> Callable[[], list[str] | None]:
    def command() -> list[str] | None:
        found = shutil.which(program)
        return [found, *args] if found else None

    return command


RUNTIMES: tuple[Runtime, ...] = (
    Runtime(
        "cpython",
        "interpreter",
        f"this interpreter ({sys.executable})",
        lambda: [sys.executable, "-m", "hotpath.driver"],
    ),
    Runtime(
        "pypy",
        "interpreter",
        "PyPy 3 (Debian's pypy3), tracing JIT",
        _on_path("pypy3", "-m", "hotpath.driver"),
        why_unavailable="pypy3 is not on PATH (apt-get install pypy3)",
    ),
)
BY_NAME = {runtime.name: runtime for runtime in RUNTIMES}


def execute(runtime: Runtime, arguments: Sequence[str]) -> dict[str, Any]:
    """Run the driver under ``runtime``; its JSON report."""
    command = runtime.command()
    if command is None:
        raise RuntimeFailed(runtime.why_unavailable)
    # The driver imports python_ref and hotpath from the source tree, stdlib only.
    env = {**os.environ, **runtime.env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [*command, *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=runtime.timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeFailed(f"{runtime.name} exited {done.returncode}: {done.stderr[-2000:]}")
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as error:
        raise RuntimeFailed(f"{runtime.name} printed no report: {done.stdout[-500:]}") from error


def steady_state(seconds: Sequence[float]) -> list[float]:
    """The calls after warm-up: the second half (at least one call)."""
    return list(seconds[len(seconds) // 2 :]) or list(seconds)


def rows(
    runtime: Runtime,
    report: dict[str, Any],
    expected: dict[str, str],
    sizes: dict[str, int],
) -> list[dict[str, Any]]:
    """The driver's report as benchmark dicts, one per kernel.

    ``expected`` maps kernel -> python_ref's checksum on the same input (computed
    in-process); ``sizes`` maps kernel -> the group's size (rows, or bytes).
    """
    out = []
    for kernel, timing in report["kernels"].items():
        seconds = timing["seconds"]
        steady = steady_state(seconds)
        quartiles = statistics.quantiles(steady, n=4) if len(steady) > 1 else [steady[0]] * 3
        parity = (
            "ok"
            if timing["checksum"] == expected[kernel]
            else f"mismatch: checksum {timing['checksum']} != python_ref's {expected[kernel]}"
        )
        outcome = results.Outcome(runtime.name, runtime.kind, kernel, sizes[kernel], parity)
        out.append(
            {
                "group": results.group(kernel, sizes[kernel]),
                "name": f"{runtime.name}-{kernel}",
                "extra_info": {
                    **outcome.info(TIMED),
                    "parity": parity,
                    "first_call_s": seconds[0],
                    "iterations": len(seconds),
                    "steady_state_from": len(seconds) - len(steady),
                    "interpreter": report["interpreter"],
                    "load_seconds": report["load_seconds"],
                },
                "stats": {
                    "median": statistics.median(steady),
                    "iqr": quartiles[2] - quartiles[0],
                    "min": min(steady),
                    "max": max(steady),
                    "mean": statistics.fmean(steady),
                    "rounds": len(steady),
                },
            }
        )
    return out
