"""PyPy and GraalPy for :mod:`hotpath.runs.runtimes`: how to start each, why one
cannot run here, and whether its JIT compiler compiled each kernel's own code.

JIT verdicts read what the run wrote to stderr, asked for by the runtime entry:

- PyPy: ``PYPYLOG=jit-summary,jit-backend-addr,hotpath-kernel:-`` makes PyPy log
  every compiled loop with the function and lines it came from ("Loop 13
  (aggregate;.../python_ref/__init__.py:71-95~#108 FOR_ITER) has address ..."),
  the driver's section around each kernel's calls (``driver.KERNEL_SECTION``),
  in order with those loops (PyPy compiles on the calling thread), and the JIT's
  summary at exit ("Total # of loops: N"). A kernel counts as compiled when a
  loop of one of its own functions (:data:`KERNEL_FUNCTIONS`) was compiled while
  it ran.
- GraalPy: ``--engine.TraceCompilation=true`` logs one "opt done" line per
  Truffle compilation, naming the Python function compiled; the driver also
  records the Truffle runtime's name ("Interpreted" is the fallback runtime
  without a JIT, several times slower than CPython). A kernel counts as compiled
  when one of its own functions was. Truffle compiles in background threads, so
  a helper two kernels share (``_xxh64_bytes``) cannot be told apart by when it
  was compiled. An interpreter-only GraalPy does not even accept the option: the
  run fails and says so.

``.ci/setup-interpreters`` installs both (Debian's ``pypy3``, GraalPy's jars
from Maven Central) and builds the compiled backends that support PyPy into
``.venv-pypy``.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from hotpath.runs.driver import KERNEL_SECTION

ROOT = Path(__file__).resolve().parents[2]
SETUP = ".ci/setup-interpreters"
GRAALPY = ROOT / "graalpy" / "graalpy"
# GraalPy's options before the CPython-style ones: trace every Truffle compilation.
GRAALPY_TRACE = ("--experimental-options", "--engine.TraceCompilation=true")
PYPY_LOG = {"PYPYLOG": f"jit-summary,jit-backend-addr,{KERNEL_SECTION}:-"}
PYPY_VENV = ROOT / ".venv-pypy"
PYTHON_REF = ROOT / "python_ref" / "__init__.py"
# python_ref's functions each kernel's hot path runs: one of them compiled shows the JIT
# reached that kernel's own work, not only start-up code, input checks or another kernel.
_XXH64_HELPERS = ("_xxh64_bytes", "_round", "_merge", "_rotl")
KERNEL_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "aggregate": ("aggregate",),
    "duplicates": ("duplicates",),
    "hash_rows": ("hash_rows", *_XXH64_HELPERS),
    "xxh64": ("xxh64", *_XXH64_HELPERS),
    "factorize": ("factorize",),
}


def _verdict(
    kernels: Iterable[str],
    compiled: dict[str, list[str]],
    compilations: int,
    evidence: str,
    jit_on: bool = True,
) -> dict[str, Any]:
    """The JIT dict the rows carry: ``active`` when every kernel run had one of its own
    functions compiled, ``any`` when anything at all was (a parity-only run's few calls
    may not reach a kernel's threshold), ``kernels``: kernel -> its compiled functions."""
    kernels = list(kernels)
    missing = [kernel for kernel in kernels if not compiled.get(kernel)]
    if kernels:
        listed = [f"{k} ({', '.join(compiled[k])})" for k in kernels if compiled.get(k)]
        evidence += f"; python_ref compiled for: {', '.join(listed) or 'no kernel'}"
        if missing:
            evidence += f"; not compiled: {', '.join(missing)}"
    return {
        "active": jit_on and compilations > 0 and not missing,
        "any": jit_on and compilations > 0,
        "compilations": compilations,
        "kernels": {kernel: compiled.get(kernel, []) for kernel in kernels},
        "evidence": evidence,
    }


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
    """Whether Truffle compiled each kernel's own functions in this run."""
    runtime = report.get("interpreter", {}).get("truffle_runtime", "unknown")
    lines = stderr.splitlines()
    done = [line for line in lines if "opt done" in line]
    failed = sum(1 for line in lines if "opt failed" in line)
    names = {m.group(1) for m in map(_COMPILED_NAME.search, done) if m}
    compiled = {
        kernel: sorted(names & set(functions)) for kernel, functions in KERNEL_FUNCTIONS.items()
    }
    evidence = f"Truffle runtime {runtime!r}, {len(done)} compilations traced"
    if failed:
        evidence += f", {failed} failed"
    if runtime == "Interpreted":
        evidence += ": the interpreter-only fallback, several times slower than CPython"
    elif not done:
        evidence += ": nothing was compiled"
    return _verdict(
        report.get("kernels", {}), compiled, len(done), evidence, runtime != "Interpreted"
    )


# -- PyPy ------------------------------------------------------------------------------------


_PYPY_TOTAL = re.compile(r"^Total # of (loops|bridges):\s*(\d+)", re.MULTILINE)
# jit-backend-addr's "Loop 13 (aggregate;/x/python_ref/__init__.py:71-95~#108 FOR_ITER) has
# address ..." (jit-log-opt writes the same name after "# ")
_PYPY_LOOP = re.compile(r"^(?:# )?Loop \d+ \((?P<name>[^;()]+);(?P<file>.+?):(?P<first>\d+)-\d+~")


@cache
def _function_spans(path: Path = PYTHON_REF) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, name) of python_ref's top-level functions: a loop's first
    line names its function even when PyPy names a comprehension (<listcomp>)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return tuple(
        (node.lineno, node.end_lineno or node.lineno, node.name)
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    )


def _python_ref_function(file: str, first_line: int) -> str | None:
    if not file.replace("\\", "/").endswith("python_ref/__init__.py"):
        return None
    for start, end, name in _function_spans():
        if start <= first_line <= end:
            return name
    return None


def pypy_compiled(stderr: str) -> dict[str, list[str]]:
    """kernel -> its own python_ref functions with a loop PyPy compiled while it ran
    (between the driver's KERNEL_SECTION markers). Without markers (an older driver),
    a loop counts for every kernel whose functions include it."""
    lines = stderr.splitlines()
    marked = any(line.endswith("{" + KERNEL_SECTION) for line in lines)
    found: dict[str, set[str]] = {}
    current: str | None = None
    for i, line in enumerate(lines):
        if line.endswith("{" + KERNEL_SECTION):
            current = lines[i + 1].strip() if i + 1 < len(lines) else None
            continue
        if line.endswith(KERNEL_SECTION + "}"):
            current = None
            continue
        loop = _PYPY_LOOP.match(line)
        if not loop:
            continue
        function = _python_ref_function(loop["file"], int(loop["first"]))
        running = [current] if marked else list(KERNEL_FUNCTIONS)
        for kernel in running:
            if kernel is not None and function in KERNEL_FUNCTIONS.get(kernel, ()):
                found.setdefault(kernel, set()).add(function)
    return {kernel: sorted(functions) for kernel, functions in found.items()}


def pypy_jit(report: dict[str, Any], stderr: str) -> dict[str, Any]:
    """Whether PyPy's JIT compiled each kernel's own loops in this run."""
    totals = {kind: int(count) for kind, count in _PYPY_TOTAL.findall(stderr)}
    built = report.get("interpreter", {}).get("pypy_jit_built", True)
    loops = totals.get("loops", 0)
    if not totals:
        evidence = f"no jit-summary in PyPy's log (PYPYLOG={PYPY_LOG['PYPYLOG']} printed nothing)"
    else:
        evidence = f"{loops} loops and {totals.get('bridges', 0)} bridges compiled"
    if not built:
        evidence = "PyPy built without its JIT; " + evidence
    return _verdict(report.get("kernels", {}), pypy_compiled(stderr), loops, evidence, built)


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
