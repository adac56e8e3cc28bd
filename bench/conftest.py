"""pytest-benchmark set-up for hotpath: dataset sizes, saved runs, machine
info, and the summary table at the end of the run."""

from __future__ import annotations

import platform
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import machine_load
import numpy as np
import pytest
from rich.console import Console

import hotpath
from hotpath import backends, data, records, threads
from hotpath.reporting import database, pipeline, rows, summary
from hotpath.reporting import threads as by_threads

XXH64_SIZES = (2**20, 64 * 2**20)
SCALING_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
SCALING_IMPLEMENTATIONS = ("numpy_impl", "numba_impl", "cffi_ext", "cython_ext", "rust_ext")
PAIRWISE_SIZE = 5_000  # the O(n^2) row and python_ref against it
# --hotpath-threads: the kernels a parallel variant may parallelize (xxh64 is one stream)
THREAD_KERNELS = ("aggregate", "duplicates", "hash_rows", "factorize")


def _counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise ValueError(f"expected thread counts >= 1, e.g. 1,2,4; got {text!r}")
    return counts


def _sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",")]


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
        "--hotpath-spark",
        type=lambda text: [int(float(s)) for s in text.split(",")],
        default=[],
        metavar="SIZES",
        help="also run the Spark benchmark (bench/test_spark.py, local[2]) at these readings, "
        "e.g. 1e6 or 1e6,1e7: built-ins, hotpath's kernels through Arrow, row and pandas UDFs "
        "(needs the spark extra and a JDK; skipped with the reason otherwise)",
    )
    group.addoption(
        "--hotpath-instructions",
        action="store_true",
        help="also count each kernel's instructions per row under callgrind, one child per "
        "backend (hotpath.runs.instructions; about 10 s a compiled backend, 2 min python_ref)",
    )
    group.addoption(
        "--hotpath-blocks",
        type=int,
        default=3,
        help="time each kernel case in this many short blocks spread over the run (default 3; "
        "1 times each case in one go): drift during the run then falls on every "
        "implementation alike; the blocks' rounds are merged into one row",
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
        "--hotpath-dask",
        type=lambda text: [int(float(s)) for s in text.split(",")],
        default=[],
        metavar="SIZES",
        help="also run the Dask group (bench/test_dask.py) at these readings, e.g. 1e6 or "
        "1e6,1e7: built-ins against map_partitions with the native kernels on a LocalCluster "
        "of 2 workers, timed on the running cluster, its start-up timed apart",
    )
    group.addoption(
        "--hotpath-threads",
        type=_counts,
        nargs="?",
        const=sorted({1, threads.available()}),
        default=None,
        metavar="COUNTS",
        help="also time every parallel variant (hotpath.backends.parallel()) at these thread "
        "counts, e.g. 1,2,4 (alone: 1 and the cores available), beside its sequential "
        "backend, at --hotpath-threads-at rows; each case parity-checked; speedup and "
        "efficiency in the summary and RESULTS.md",
    )
    group.addoption(
        "--hotpath-threads-at",
        type=_sizes,
        default=None,
        metavar="SIZES",
        help="readings for --hotpath-threads, e.g. 1e6,1e7 (default: --hotpath-size)",
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
    # Every round is saved, not only the statistics: `hotpath compare` bootstraps its
    # confidence intervals from them, and a case timed in blocks is merged from them.
    option.benchmark_save_data = True
    _LOAD["loadavg_before"] = machine_load.sample().loadavg


def blocks(config: pytest.Config) -> int:
    """Blocks each kernel case is timed in (1 when nothing is timed)."""
    if config.option.benchmark_disable:
        return 1
    return max(1, config.getoption("--hotpath-blocks"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fair ordering: block 1 of every kernel case, then block 2 of every case, and so on, so
    drift over the run (a neighbour's job, thermal state) lands on every implementation
    alike instead of on whichever ran at that moment."""
    if blocks(config) == 1:
        return

    def block(item: pytest.Item) -> int:
        spec = getattr(item, "callspec", None)
        case = spec.params.get("case") if spec is not None else None
        return case[3] if case is not None else 0

    items.sort(key=block)  # stable: within a block, the usual order


def _tool_version(*command: str) -> str:
    if not shutil.which(command[0]):
        return "not found"
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else ""


def _built_with(backend: str, tool: str) -> str:
    """``tool``'s version as ``backend``'s BUILD_INFO names it (e.g. "Cython 3.3.1")."""
    found = backends.status(backend)
    for part in found.version.split(","):
        if part.strip().startswith(tool):
            return part.strip()
    return f"unknown ({backend} unavailable: {found.reason})" if found.reason else "unknown"


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
            # the Cython that built cython_ext (pip's isolated build environment had it, not
            # necessarily this one), as the backend itself reports it
            "cython": _built_with("cython_ext", "Cython"),
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
            if "duplicates" in impl.kernels and impl.kind not in ("algorithm", "pool")
        ]
        ids = [
            f"duplicates-{keys.replace(' ', '-')}-{records.size_label('duplicates', s)}-{n}"
            for n, keys, s in cases
        ]
        metafunc.parametrize("crafted_case", cases, ids=ids)
    if "threads_case" in metafunc.fixturenames:
        cases = thread_cases(metafunc.config)
        ids = [
            f"{k}-{records.size_label(k, s)}-{n}-" + (f"{t}t" if t else "sequential")
            for n, k, s, t in cases
        ]
        metafunc.parametrize("threads_case", cases, ids=ids)
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
    count = blocks(config)
    cases = [(*c, block) for block in range(1, count + 1) for c in cases]
    ids = [
        f"{k}-{records.size_label(k, s)}-{n}" + (f"-b{b}" if count > 1 else "")
        for n, k, s, b in cases
    ]
    metafunc.parametrize("case", cases, ids=ids)


def thread_cases(config: pytest.Config) -> list[tuple[str, str, int, int]]:
    """--hotpath-threads: (backend, kernel, rows, threads) for every parallel variant at every
    thread count, and its sequential backend once (threads 0) beside it."""
    counts = config.getoption("--hotpath-threads")
    if not counts:
        return []
    sizes = config.getoption("--hotpath-threads-at") or [int(config.getoption("--hotpath-size"))]
    cases: list[tuple[str, str, int, int]] = []
    for size in sizes:
        for kernel in THREAD_KERNELS:
            for variant in backends.parallel():
                if (variant.parallel_of, kernel, size, 0) not in cases:
                    cases.append((variant.parallel_of, kernel, size, 0))
                cases += [(variant.name, kernel, size, count) for count in counts]
    return cases


@pytest.fixture(scope="session")
def outcomes() -> list[records.Outcome]:
    """Every case's verdict, timed or not, for the summary."""
    return _OUTCOMES


_OUTCOMES: list[records.Outcome] = []
# the machine's load at the start and the end of the session (each case has its own)
_LOAD: dict[str, Any] = {}
_EXTERNAL: list[dict[str, Any]] = []  # rows timed inside other interpreters and runtimes


@pytest.fixture(scope="session")
def external() -> list[dict[str, Any]]:
    return _EXTERNAL


_PIPELINE_PROFILES: dict[str, Any] = {}  # bench/test_pipeline.py's profiles, saved with the run
_INSTRUCTIONS: dict[str, Any] = {}  # --hotpath-instructions: counts per backend and kernel


@pytest.fixture(scope="session")
def instruction_counts() -> dict[str, Any]:
    return _INSTRUCTIONS


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
    _LOAD["loadavg_after"] = machine_load.sample().loadavg
    saved["hotpath_load"] = _LOAD
    if _PIPELINE_PROFILES:
        saved["hotpath_pipeline_profiles"] = _PIPELINE_PROFILES
    if _INSTRUCTIONS:
        saved["hotpath_instructions"] = _INSTRUCTIONS


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's own tables
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or not _OUTCOMES:
        return
    timed = rows.merge_blocks([bench.as_dict(include_data=True) for bench in session.benchmarks])
    writer = terminalreporter._tw
    console = Console(file=writer._file, width=max(writer.fullwidth, 100))
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
    apart = ("pipeline", "database", "dask", by_threads.KIND)  # tables of their own
    kernels = [b for b in timed if b["extra_info"].get("kind") not in apart]
    cases = [o for o in _OUTCOMES if o.kind not in apart]
    if kernels or cases:
        console.print(summary.summary_table(kernels, cases, machine()))
        for line in summary.untimed_lines(kernels, cases) + summary.load_lines(kernels):
            console.print(line)
        for line in rows.summary_notes(kernels):
            console.print(line, markup=False)
    scaled = by_threads.scaled(by_threads.points(timed))
    if scaled:  # --hotpath-threads
        console.print(by_threads.terminal_table(scaled))
    if pipeline_steps:  # bench/test_pipeline.py: a table of its own
        console.print(pipeline.terminal_table(pipeline_steps))
    if database_rungs:  # bench/test_database.py
        console.print(database.terminal_table(database_rungs))
    dask_rows = [b for b in timed if b["extra_info"].get("kind") == "dask"]
    if dask_rows:  # bench/test_dask.py
        from dask_table import terminal_table

        console.print(terminal_table(dask_rows))
    if _INSTRUCTIONS:
        from hotpath.runs import instructions

        console.print(instructions.table(_INSTRUCTIONS))
    if session.compare and session.compared_mapping:  # our comparison, with intervals
        from hotpath.reporting import compare
        from hotpath.reporting.saved import load_run

        # pytest-benchmark's choice of run, named relative to its storage folder
        path = Path(session.storage.path) / next(iter(session.compared_mapping))
        changes = compare.compare(load_run(path).benchmarks, timed)
        console.print(compare.table(changes, f"against {path.name}"))
        console.print(compare.summary(changes))
    if session.compare and not session.compared_mapping:
        console.print(
            f"[yellow]Nothing to compare yet:[/] no earlier run is saved in {session.storage}. "
            "This run is saved; the next `pytest bench/ --benchmark-compare` compares against it."
        )
