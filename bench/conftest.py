"""pytest-benchmark set-up for hotpath: dataset sizes, saved runs, machine
info, and the summary table at the end of the run."""

from __future__ import annotations

import platform
import shutil
import subprocess
from functools import cache
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import hotpath
from hotpath import backends, data, records
from hotpath.reporting import database, pipeline, rows, summary

XXH64_SIZES = (2**20, 64 * 2**20)
SCALING_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
SCALING_IMPLEMENTATIONS = ("numpy_impl", "numba_impl", "cffi_ext", "cython_ext", "rust_ext")
PAIRWISE_SIZE = 5_000  # the O(n^2) row and python_ref against it


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hotpath")
    group.addoption(
        "--hotpath-size",
        type=float,
        default=float(data.DEFAULT_READINGS),
        help="readings in the dataset for aggregate, duplicates and hash_rows "
        "(default 1e5; the targets are quoted at 1e6)",
    )
    group.addoption(
        "--hotpath-iterations",
        type=int,
        default=10,
        help="at least this many calls per kernel inside each other interpreter or runtime "
        "(the first is its warm-up), then more until the steady state: the last 10 calls, "
        "once they show no trend (Theil-Sen slope within 10%% of their median across them; "
        "the first call never counts, nor GraalPy's in a kernel's first 45 s; at most 60 s "
        "per kernel, GraalPy 150 s; hotpath/runs/runtimes.py)",
    )
    group.addoption(
        "--hotpath-pipeline",
        type=lambda text: [int(float(s)) for s in text.split(",")],
        default=[],
        metavar="SIZES",
        help="also run the pipeline benchmark (bench/test_pipeline.py) at these readings, "
        "e.g. 1e5 or 1e5,1e7 (10 files each; the naive program only up to 1e5)",
    )
    group.addoption(
        "--hotpath-database",
        type=lambda text: [int(float(s)) for s in text.split(",")],
        default=[],
        metavar="SIZES",
        help="also run the database ladder (bench/test_database.py) at these readings, e.g. "
        "1e5: SQLite, PostgreSQL (HOTPATH_POSTGRES_URL, else a throwaway cluster on loopback, "
        "else skipped with the reason) and DuckDB",
    )
    group.addoption(
        "--hotpath-scaling",
        action="store_true",
        help="instead of the default run, time the compiled backends at "
        + ", ".join(f"{s:.0e}" for s in SCALING_SIZES)
        + " readings",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Save every timed run so a plain --benchmark-compare compares with the last one.
    from pytest_benchmark.utils import get_tag

    option = config.option
    if not option.benchmark_disable and not option.benchmark_save and not option.benchmark_autosave:
        option.benchmark_autosave = get_tag()  # what --benchmark-autosave stores: commit + date


def _tool_version(*command: str) -> str:
    if not shutil.which(command[0]):
        return "not found"
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else ""


@cache
def machine() -> dict[str, Any]:
    """What a reader needs to reproduce or compare a run. Static facts only:
    pytest-benchmark compares this dict between runs and warns when it differs."""
    import cpuinfo  # py-cpuinfo, pytest-benchmark's own dependency
    import numba

    return {
        "cpu_model": cpuinfo.get_cpu_info().get("brand_raw", platform.processor()),
        "cores": __import__("os").cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "toolchains": {
            "gcc": _tool_version("gcc", "--version"),
            "rustc": _tool_version("rustc", "--version"),
            "cython": _tool_version("cython", "--version"),
            "numba": numba.__version__,
            "llvm (llvmlite)": ".".join(map(str, numba.llvmlite.binding.llvm_version_info)),
        },
        "hotpath": hotpath.__version__,
        "backends": {
            s.backend.name: s.version or f"unavailable: {s.reason}" for s in backends.statuses()
        },
    }


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    machine_info["hotpath"] = machine()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "runtime_case" in metafunc.fixturenames:
        from hotpath.runs.runtimes import RUNTIMES

        scaling = metafunc.config.getoption("--hotpath-scaling")
        rows = int(metafunc.config.getoption("--hotpath-size"))
        cases = [] if scaling else [(r.name, rows, XXH64_SIZES[0]) for r in RUNTIMES]
        metafunc.parametrize("runtime_case", cases, ids=[c[0] for c in cases])
    if "case" not in metafunc.fixturenames:
        return
    from implementations import IMPLEMENTATIONS

    config = metafunc.config
    rows = int(config.getoption("--hotpath-size"))
    cases = []
    if config.getoption("--hotpath-scaling"):
        for size in SCALING_SIZES:
            for kernel in ("aggregate", "duplicates", "hash_rows"):
                cases += [(name, kernel, size) for name in SCALING_IMPLEMENTATIONS]
    else:
        for impl in IMPLEMENTATIONS:
            for kernel in impl.kernels:
                if kernel == "xxh64":
                    cases += [(impl.name, kernel, size) for size in XXH64_SIZES]
                elif impl.kind == "algorithm":
                    cases.append((impl.name, kernel, PAIRWISE_SIZE))
                else:
                    cases.append((impl.name, kernel, rows))
        cases.append((backends.REFERENCE, "duplicates", PAIRWISE_SIZE))  # against the O(n^2) row
    metafunc.parametrize(
        "case", cases, ids=[f"{k}-{records.size_label(k, s)}-{n}" for n, k, s in cases]
    )


@pytest.fixture(scope="session")
def outcomes() -> list[records.Outcome]:
    """Every case's verdict, timed or not, for the summary."""
    return _OUTCOMES


_OUTCOMES: list[records.Outcome] = []
_EXTERNAL: list[dict[str, Any]] = []  # rows timed inside other interpreters and runtimes


@pytest.fixture(scope="session")
def external() -> list[dict[str, Any]]:
    return _EXTERNAL


_PIPELINE_PROFILES: dict[str, Any] = {}  # bench/test_pipeline.py's profiles, saved with the run


@pytest.fixture(scope="session")
def pipeline_profiles() -> dict[str, Any]:
    return _PIPELINE_PROFILES


@pytest.hookimpl(hookwrapper=True)
def pytest_benchmark_generate_json(
    config: pytest.Config,
    benchmarks: Any,
    include_data: bool,
    machine_info: dict,
    commit_info: dict,
) -> Any:
    """Save the external rows with the run, beside pytest-benchmark's own, and every
    case with its verdict: pytest-benchmark saves only what was timed, and a wrong
    answer or a skip is never timed."""
    outcome = yield
    saved = outcome.get_result()
    saved["hotpath_external"] = _EXTERNAL
    saved["hotpath_cases"] = [o.as_dict() for o in _OUTCOMES]
    if _PIPELINE_PROFILES:
        saved["hotpath_pipeline_profiles"] = _PIPELINE_PROFILES


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not _OUTCOMES:
        return
    timed = [bench.as_dict(include_data=False) for bench in session.benchmarks]
    writer = terminalreporter._tw
    console = Console(file=writer._file, width=max(writer.fullwidth, 140))
    if not timed and not _EXTERNAL:  # --benchmark-disable: a parity check only
        console.print(
            f"hotpath parity: {rows.tally(_OUTCOMES)} (benchmarks disabled: nothing timed)",
            markup=False,
        )
        for o in _OUTCOMES:
            if o.status != "ok":
                console.print(f"  {o.implementation} {o.group}: {o.status}", markup=False)
        return
    timed += _EXTERNAL
    pipeline_steps = pipeline.steps(timed)
    database_rungs = database.rungs(timed)
    apart = ("pipeline", "database")  # tables of their own
    kernels = [b for b in timed if b["extra_info"].get("kind") not in apart]
    cases = [o for o in _OUTCOMES if o.kind not in apart]
    if kernels or cases:
        console.print(summary.summary_table(kernels, cases, machine()))
        for line in summary.untimed_lines(kernels, cases):
            console.print(line)
        for line in rows.summary_notes(kernels):
            console.print(line, markup=False)
    if pipeline_steps:  # bench/test_pipeline.py: a table of its own
        console.print(pipeline.terminal_table(pipeline_steps))
    if database_rungs:  # bench/test_database.py
        console.print(database.terminal_table(database_rungs))
    if session.compare and not session.compared_mapping:
        console.print(
            f"[yellow]Nothing to compare yet:[/] no earlier run is saved in {session.storage}. "
            "This run is saved; the next `pytest bench/ --benchmark-compare` compares against it."
        )
