"""Other Pythons as benchmark rows: python_ref run by ``hotpath.runs.driver`` under
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotpath import pools, records
from hotpath.runs import interpreters, py2wasm

ROOT = Path(__file__).resolve().parents[2]  # python_ref/ and hotpath/ live here
TIMED = "python_ref run by hotpath.runs.driver, timed inside the interpreter"
TIMED_BACKEND = (
    "the backend's kernels on NumPy arrays (converted once, untimed) run by hotpath.runs.driver "
    "--backend, timed inside the interpreter"
)
TIMED_PY2WASM = (
    "python_ref and hotpath.runs.driver compiled to WebAssembly by py2wasm, timed inside the "
    "runtime (module compile and instantiation are one-off costs, reported apart)"
)
# One-off costs a runner may report beside the driver's timings; kept with the rows.
ONE_OFF = (
    "engine",
    "sdk_load_seconds",
    "compile_seconds",
    "instantiate_seconds",
    "run_seconds",
    "module_bytes",
    "built_by",
)


# The driver's steady-state rule (hotpath.runs.driver --steady): after the minimum number of
# calls, keep calling until the last 10 show no trend: their Theil-Sen slope moves the time
# by at most 10% of their median across the 10 calls (the first call never counts); at most
# 60 s per kernel. The steady state is then those last 10 calls. (The "=" form passes the
# py2wasm runner's argument rewriting.)
STEADY_ARGUMENTS = ("--steady=10", "--tolerance=0.1", "--budget=60")
# GraalPy on a stock JDK compiles with jargraal, itself Java bytecode that HotSpot has to
# compile first; on a small machine a kernel's last-tier code arrives tens of seconds after
# its first-tier code, whose plateau would pass the rule. So its calls in a kernel's first
# 45 s never count (at most 150 s per kernel).
GRAALPY_STEADY_ARGUMENTS = (*STEADY_ARGUMENTS, "--warmup=45", "--budget=150")

# What an interpreter's run reports beyond the timings (hotpath.runs.driver, execute()).
INTERPRETER_INFO = ("jit", "startup_seconds", "backend", "backend_build")


class RuntimeFailed(RuntimeError):
    """The runtime started but did not produce a report."""


@dataclass(frozen=True)
class Runtime:
    name: str
    kind: str  # "interpreter" or "wasm"
    describe: str
    # argv that runs the driver (its arguments are appended); None when unavailable
    command: Callable[[], list[str] | None]
    why_unavailable: str | Callable[[], str] = ""  # a callable when the reason varies
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 1800.0
    timed: str = TIMED  # what a row's timing covers
    # (report, stderr) -> {"active": bool, "compilations": int, "evidence": str}: whether
    # the run's JIT compiler was active; None for runtimes without one
    jit_check: Callable[[dict[str, Any], str], dict[str, Any]] | None = None
    # the driver's arguments for a timed run: how it finds the steady state
    steady_arguments: tuple[str, ...] = STEADY_ARGUMENTS

    def available(self) -> str:
        """ "" when it can run here, else why not."""
        if self.command() is not None:
            return ""
        why = self.why_unavailable
        return why() if callable(why) else why


def _on_path(program: str, *args: str) -> Callable[[], list[str] | None]:
    def command() -> list[str] | None:
        found = shutil.which(program)
        return [found, *args] if found else None

    return command


def _free_threaded_command() -> list[str] | None:
    found = pools.free_threaded()
    return [found, "-X", "gil=0", "-m", "hotpath.runs.driver", "--threads=0"] if found else None


RUNTIMES: tuple[Runtime, ...] = (
    Runtime(
        "cpython",
        "interpreter",
        f"this interpreter ({sys.executable})",
        lambda: [sys.executable, "-m", "hotpath.runs.driver"],
    ),
    # python_ref split over a thread pool (hotpath.pools) on a free-threaded CPython: the
    # same threads that the GIL serializes in the "thread pool (python_ref)" row run at once.
    Runtime(
        "cpython-free-threaded",
        "interpreter",
        "free-threaded CPython (python3.14t or python3.13t), python_ref's aggregate, "
        "duplicates and hash_rows split over a ThreadPoolExecutor (hotpath.pools)",
        _free_threaded_command,
        why_unavailable=pools.why_no_free_threaded,
    ),
    Runtime(
        "pypy",
        "interpreter",
        "PyPy 3 (Debian's pypy3), tracing JIT",
        _on_path("pypy3", "-m", "hotpath.runs.driver"),
        why_unavailable=f"pypy3 is not on PATH (run {interpreters.SETUP})",
        env=interpreters.PYPY_LOG,
        jit_check=interpreters.pypy_jit,
    ),
    Runtime(
        "graalpy",
        "interpreter",
        "GraalPy 25.0 on JDK 25 with the Graal JIT (graalpy/graalpy)",
        interpreters.graalpy_command,
        why_unavailable=interpreters.graalpy_missing,
        jit_check=interpreters.graalpy_jit,
        steady_arguments=GRAALPY_STEADY_ARGUMENTS,
    ),
    # The registry's backends built for PyPy (in .venv-pypy), or why they cannot be.
    *(
        Runtime(
            f"pypy-{backend}",
            "interpreter",
            f"{backend} built for PyPy, run by hotpath.runs.driver --backend under PyPy",
            interpreters.pypy_backend_command(backend),
            why_unavailable=lambda backend=backend: interpreters.pypy_backend_missing(backend),
            timed=TIMED_BACKEND,  # compiled kernels: PyPy's JIT is not what is timed
        )
        for backend in interpreters.PYPY_BACKENDS
    ),
    *(
        Runtime(
            f"py2wasm-{engine}",
            "wasm",
            f"python_ref compiled by py2wasm, run by {describe}",
            lambda engine=engine: py2wasm.command(engine),
            why_unavailable=lambda engine=engine: py2wasm.why_unavailable(engine),
            timed=TIMED_PY2WASM,
        )
        for engine, describe in (
            ("wasmtime", "wasmtime embedded (the wasmtime package), compilation cache on"),
            ("node", "Node's built-in WASI (V8)"),
            # @wasmer/sdk's guest runs on V8: Wasmer's API, not its compilers
            ("wasmer-sdk", "Wasmer's API on V8: its JavaScript SDK (@wasmer/sdk) under Node"),
            ("wasmer", "Wasmer's native runtime, Cranelift: PyPI's wasmer-sdk, in-process"),
            (
                "wasmer-cranelift",
                "Wasmer's native runtime, Cranelift: hotpath-wasmer-runner, folders mapped",
            ),
            (
                "wasmer-singlepass",
                "Wasmer's native runtime, Singlepass: hotpath-wasmer-runner, folders mapped",
            ),
            ("wasmer-cli", "the native Wasmer CLI, when a wasmer binary is on PATH"),
        )
    ),
)
BY_NAME = {runtime.name: runtime for runtime in RUNTIMES}


def execute(runtime: Runtime, arguments: Sequence[str]) -> dict[str, Any]:
    """Run the driver under ``runtime``; its JSON report."""
    command = runtime.command()
    if command is None:
        raise RuntimeFailed(runtime.available())
    # The driver imports python_ref and hotpath from the source tree, stdlib only.
    env = {**os.environ, **runtime.env}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    launched = time.time()
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
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError) as error:
        raise RuntimeFailed(f"{runtime.name} printed no report: {done.stdout[-500:]}") from error
    if runtime.kind == "interpreter":
        report.setdefault("run_seconds", time.time() - launched)  # the whole process
        if "started_at" in report:
            # from launch to the driver's first line: the interpreter's (JVM's) start-up
            report["startup_seconds"] = max(0.0, report["started_at"] - launched)
    if runtime.jit_check is not None:
        report["jit"] = runtime.jit_check(report, done.stderr)
    return report


def steady_state(seconds: Sequence[float], steady_from: int | None = None) -> list[float]:
    """The calls after warm-up: from ``steady_from`` (where the driver found the
    steady state), else the second half (at least one call)."""
    start = len(seconds) // 2 if steady_from is None else steady_from
    return list(seconds[start:]) or list(seconds)


def steadiness(timing: dict[str, Any], report: dict[str, Any]) -> str:
    """How the steady state was chosen, for the row's extra_info."""
    calls = len(timing["seconds"])
    rule = report.get("steady_rule")
    if rule is None:
        return f"second half of {calls} calls"
    if timing.get("steady_from") is None:
        return f"not reached in {calls} calls ({rule['budget_s']:g} s budget): second half used"
    reached = (
        f"reached after {calls} calls (Theil-Sen slope of the last {rule['window']} calls "
        f"within {rule['tolerance']:.0%} of their median across them"
    )
    if rule.get("warmup_s"):
        return f"{reached}, after {rule['warmup_s']:g} s of warm-up)"
    return f"{reached})"


def parity(checksums: Sequence[str], expected: str) -> str:
    """Every call's answer against python_ref's: "ok", or the first wrong call."""
    wrong = [i for i, found in enumerate(checksums) if found != expected]
    if not checksums:
        return "mismatch: no call reported a checksum"
    if not wrong:
        return "ok"
    first = wrong[0]
    return (
        f"mismatch: call {first} of {len(checksums)}: checksum {checksums[first]} != "
        f"python_ref's {expected} ({len(wrong)} of {len(checksums)} calls differ)"
    )


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
        steady = steady_state(seconds, timing.get("steady_from"))
        quartiles = statistics.quantiles(steady, n=4) if len(steady) > 1 else [steady[0]] * 3
        verdict = parity(timing["checksums"], expected[kernel])
        outcome = records.Outcome(runtime.name, runtime.kind, kernel, sizes[kernel], verdict)
        out.append(
            {
                "group": records.group(kernel, sizes[kernel]),
                "name": f"{runtime.name}-{kernel}",
                "extra_info": {
                    **outcome.info(runtime.timed),
                    "parity": verdict,
                    "first_call_s": seconds[0],
                    "iterations": len(seconds),
                    "steady_state_from": len(seconds) - len(steady),
                    "steady": steadiness(timing, report),
                    "interpreter": report["interpreter"],
                    "load_seconds": report["load_seconds"],
                    **{key: report[key] for key in ONE_OFF if report.get(key) is not None},
                    **{key: report[key] for key in INTERPRETER_INFO if key in report},
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
