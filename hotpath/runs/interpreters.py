"""PyPy and GraalPy for :mod:`hotpath.runs.runtimes`: how to start each, why one
cannot run here, and whether its JIT compiler was active in a run.

JIT verdicts read what the run wrote to stderr, asked for by the runtime entry:

- PyPy: ``PYPYLOG=jit-summary:-`` makes PyPy print its JIT's summary at exit
  ("Total # of loops: N", "Total # of bridges: M"): compiled traces.
- GraalPy: ``--engine.TraceCompilation=true`` logs one "opt done" line per
  Truffle compilation, naming the Python function compiled; the driver also
  records the Truffle runtime's name ("Interpreted" is the fallback runtime
  without a JIT, several times slower than CPython). An interpreter-only
  GraalPy does not even accept the option: the run fails and says so.

``.ci/setup-interpreters`` installs both (Debian's ``pypy3``, GraalPy's jars
from Maven Central) and builds the compiled backends that support PyPy into
``.venv-pypy``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SETUP = ".ci/setup-interpreters"
GRAALPY = ROOT / "graalpy" / "graalpy"
# GraalPy's options before the CPython-style ones: trace every Truffle compilation.
GRAALPY_TRACE = ("--experimental-options", "--engine.TraceCompilation=true")
PYPY_LOG = {"PYPYLOG": "jit-summary:-"}
PYPY_VENV = ROOT / ".venv-pypy"
# python_ref's functions that do a kernel's work: seen compiled, they show the
# JIT reached the hot path itself, not only the start-up code.
KERNEL_FUNCTIONS = (
    "aggregate",
    "duplicates",
    "factorize",
    "hash_rows",
    "xxh64",
    "_xxh64_bytes",
    "_round",
    "_merge",
    "_rotl",
)
# The registry's backends under PyPy: those that cannot run there, and why.
PYPY_BACKENDS = ("numpy_impl", "numba_impl", "cffi_ext", "cython_ext", "rust_ext")
PYPY_NEVER = {"numba_impl": "Numba does not run on PyPy (it supports CPython only)"}
# cargo's words: "the configured Python interpreter version (3.9) is lower than PyO3's
# minimum supported version (3.11)"
PYPY_NOT_BUILT = {
    "rust_ext": "not built for PyPy 3.9: rust_ext's PyO3 0.30 supports PyPy >= 3.11 only",
}


# -- GraalPy ---------------------------------------------------------------------------------


@cache
def graalpy_missing() -> str:
    """ "" when graalpy/graalpy can start GraalPy here, else why not."""
    try:
        done = subprocess.run(
            ["bash", str(GRAALPY), "--check"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"graalpy/graalpy --check failed: {error}"
    if done.returncode != 0:
        return (done.stderr.strip() or done.stdout.strip() or "graalpy/graalpy --check failed") + (
            f" (set up: {SETUP})"
        )
    return ""


def graalpy_command() -> list[str] | None:
    if graalpy_missing():
        return None
    return ["bash", str(GRAALPY), *GRAALPY_TRACE, "-m", "hotpath.runs.driver"]


# "[engine] opt done   engine=1  id=4541  <bytecode f at 43d5c0bc>  |Tier 2|Time ..."
_COMPILED_NAME = re.compile(r"<(?:bytecode|builtin function) ([\w.]+)")


def graalpy_jit(report: dict[str, Any], stderr: str) -> dict[str, Any]:
    """Whether Truffle compiled anything in this run, and which kernels."""
    runtime = report.get("interpreter", {}).get("truffle_runtime", "unknown")
    lines = stderr.splitlines()
    done = [line for line in lines if "opt done" in line]
    failed = sum(1 for line in lines if "opt failed" in line)
    names = {m.group(1) for m in map(_COMPILED_NAME.search, done) if m}
    kernels = sorted(names & set(KERNEL_FUNCTIONS))
    active = runtime != "Interpreted" and bool(done)
    evidence = f"Truffle runtime {runtime!r}, {len(done)} compilations traced"
    if kernels:
        evidence += f" (python_ref: {', '.join(kernels)})"
    if failed:
        evidence += f", {failed} failed"
    if not active:
        evidence += (
            ": the interpreter-only fallback, several times slower than CPython"
            if runtime == "Interpreted"
            else ": nothing was compiled"
        )
    return {"active": active, "compilations": len(done), "evidence": evidence}


# -- PyPy ------------------------------------------------------------------------------------


_PYPY_TOTAL = re.compile(r"^Total # of (loops|bridges):\s*(\d+)", re.MULTILINE)


def pypy_jit(report: dict[str, Any], stderr: str) -> dict[str, Any]:
    """Whether PyPy's JIT compiled traces in this run (its jit-summary)."""
    totals = {kind: int(count) for kind, count in _PYPY_TOTAL.findall(stderr)}
    built = report.get("interpreter", {}).get("pypy_jit_built", True)
    loops = totals.get("loops", 0)
    active = built and loops > 0
    if not totals:
        evidence = "no jit-summary in PyPy's log (PYPYLOG=jit-summary:- printed nothing)"
    else:
        evidence = f"{loops} loops and {totals.get('bridges', 0)} bridges compiled"
    if not built:
        evidence = "PyPy built without its JIT; " + evidence
    return {"active": active, "compilations": loops, "evidence": evidence}


def pypy_venv_python() -> Path:
    return PYPY_VENV / "bin" / "python"


@cache
def pypy_backend_missing(backend: str) -> str:
    """ "" when ``backend`` imports under the PyPy venv, else why not."""
    if backend in PYPY_NEVER:
        return PYPY_NEVER[backend]
    python = pypy_venv_python()
    if not python.exists():
        return f"no PyPy environment with the backends ({PYPY_VENV.name}): run {SETUP}"
    try:
        done = subprocess.run(
            [str(python), "-c", f"import {backend}"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{backend} did not import under PyPy: {error}"
    if done.returncode == 0:
        return ""
    if backend in PYPY_NOT_BUILT:
        return PYPY_NOT_BUILT[backend]
    last = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
    return f"{backend} does not import under PyPy ({last[0]}); rebuild: {SETUP}"


def pypy_backend_command(backend: str) -> Callable[[], list[str] | None]:
    def command() -> list[str] | None:
        if pypy_backend_missing(backend):
            return None
        return [str(pypy_venv_python()), "-m", "hotpath.runs.driver", f"--backend={backend}"]

    return command
