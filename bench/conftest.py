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
from hotpath.reporting import rows, summary

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
        "once the medians of their two halves agree within 10%% (the first call never "
        "counts, nor GraalPy's in a kernel's first 45 s; at most 60 s per kernel, GraalPy "
        "150 s; hotpath/runs/runtimes.py)",
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
    if "crafted_case" in metafunc.fixturenames:
        from implementations import CRAFTED, IMPLEMENTATIONS

        rows = int(metafunc.config.getoption("--hotpath-size"))
        crafted = [] if metafunc.config.getoption("--hotpath-scaling") else CRAFTED
        cases = [
            (impl.name, keys, rows)
            for keys in crafted
            for impl in IMPLEMENTATIONS
            if "duplicates" in impl.kernels and impl.kind != "algorithm"
        ]
        ids = [
            f"duplicates-{keys.replace(' ', '-')}-{records.size_label('duplicates', s)}-{n}"
            for n, keys, s in cases
        ]
        metafunc.parametrize("crafted_case", cases, ids=ids)
    if "case" not in metafunc.fixturenames:
        return
    from implementations import IMPLEMENTATIONS

    config = metafunc.config
    rows = int(config.getoption("--hotpath-size"))
    cases = []
    if config.getoption("--hotpath-scaling"):
        for size in SCALING_SIZES:
            for kernel in ("aggregate", "duplicates", "hash_rows", "factorize"):
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
    """Save the external rows with the run, beside pytest-benchmark's own."""
    outcome = yield
    outcome.get_result()["hotpath_external"] = _EXTERNAL
    if _PIPELINE_PROFILES:
        outcome.get_result()["hotpath_pipeline_profiles"] = _PIPELINE_PROFILES


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not _OUTCOMES:
        return
    timed = [bench.as_dict(include_data=False) for bench in session.benchmarks]
    if not timed:  # --benchmark-disable: a parity check only
        agree = sum(o.status == "ok" for o in _OUTCOMES)
        skipped = sum(o.status.startswith("skipped") for o in _OUTCOMES)
        wrong = len(_OUTCOMES) - agree - skipped
        terminalreporter.write_line(
            f"hotpath parity: {agree} cases agree with python_ref, {wrong} disagree, "
            f"{skipped} skipped (benchmarks disabled: nothing timed)"
        )
        for o in _OUTCOMES:
            if o.status != "ok":
                terminalreporter.write_line(f"  {o.implementation} {o.kernel} {o.size}: {o.status}")
        return
    timed += _EXTERNAL
    table = summary.summary_table(timed, _OUTCOMES, machine())
    writer = terminalreporter._tw
    console = Console(file=writer._file, width=max(writer.fullwidth, 140))
    console.print(table)
    for line in rows.summary_notes(timed):
        console.print(line)
    if session.compare and not session.compared_mapping:
        console.print(
            f"[yellow]Nothing to compare yet:[/] no earlier run is saved in {session.storage}. "
            "This run is saved; the next `pytest bench/ --benchmark-compare` compares against it."
        )
