"""The pipeline benchmark: every step of the ladder, every reader and format, the peers --
end to end on the same files, parity-checked, then timed; each step's memory measured in a
fresh process; profiles of the naive and the optimized program.

Off unless asked for: ``pytest bench/ --hotpath-pipeline 1e5`` (or ``1e5,1e7``).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pipeline_cases import NAIVE_MAX, cores, inputs, reference

from hotpath import records
from hotpath.pipeline import engines, readers, run
from hotpath.pipeline.ladder import Step, steps
from hotpath.pipeline.report import STAGES, Report, mismatch

BUDGET = 20.0  # seconds of timed rounds per step, at most
MAX_ROUNDS = 15
PROFILE_ROWS = 5_000  # the naive program's profiles: its pairwise scan dominates at any size


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    sizes = metafunc.config.getoption("--hotpath-pipeline")
    if "step_case" in metafunc.fixturenames:
        cache = Path(".benchmarks") / "pipeline-cache"
        cases = [(step, rows) for rows in sizes for step in steps(cores(), cache)]
        metafunc.parametrize(
            "step_case", cases, ids=[f"{s.key}-{records.size_label('x', r)}" for s, r in cases]
        )
    if "profile_rows" in metafunc.fixturenames:
        metafunc.parametrize("profile_rows", sizes[-1:], ids=lambda r: f"{r}")


def _unavailable(step: Step) -> str:
    why = engines.get(step.engine).available()
    if not why and step.engine == "columnar" and step.suffix == ".csv":
        why = readers.get(step.options.reader).available()
    if not why and step.options.backend:
        from hotpath import backends

        why = backends.status(step.options.backend).reason
    return why


def _memory(step: Step, folder: Path) -> dict[str, Any]:
    """The step's run in a fresh process: its peak memory (hotpath.pipeline.measure)."""
    o = step.options
    if step.cold:
        shutil.rmtree(o.cache, ignore_errors=True)
    command = [sys.executable, "-m", "hotpath.pipeline.measure", str(folder), "--engine",
               step.engine, "--reader", o.reader, "--workers", str(o.workers)]  # fmt: skip
    if o.backend:
        command += ["--backend", o.backend]
    if step.engine == "naive":  # tracemalloc would slow its pairwise scan tenfold
        command.append("--no-trace")
    if o.cache is not None:
        command += ["--cache", str(o.cache)] + ([] if o.cache_results else ["--no-cache-results"])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _stages(reports: list[Report]) -> dict[str, float]:
    names = [s for s in (*STAGES, "total", "cpu") if all(s in r.timings for r in reports)]
    return {s: statistics.median(r.timings[s] for r in reports) for s in names}


def test_pipeline(benchmark: Any, step_case: tuple[Step, int], outcomes: list) -> None:
    step, rows = step_case
    outcome = records.Outcome(step.key, "pipeline", "pipeline", rows)
    outcomes.append(outcome)
    benchmark.group = outcome.group
    benchmark.extra_info.update(
        implementation=step.key, kind="pipeline", step=step.label, step_kind=step.kind,
        engine=step.engine, options={k: str(v) for k, v in step.options.__dict__.items()
                                     if k != "progress"},
        why=step.why, rows=rows, size=rows,
    )  # fmt: skip
    why = _unavailable(step)
    if not why and step.engine == "naive" and rows > NAIVE_MAX:
        why = f"the pairwise scan is O(n²): skipped above {NAIVE_MAX:,} readings"
    if why:
        outcome.status = f"skipped: {why}"
        pytest.skip(why)
    folder = inputs(rows, step.suffix)
    want = reference(rows)
    reports: list[Report] = []

    options = step.options

    def call() -> Report:
        if step.cold:  # an empty cache for every run: what a first run costs
            shutil.rmtree(options.cache, ignore_errors=True)
        report = run([folder], step.engine, options)
        reports.append(report)
        return report

    if step.engine == "naive":  # minutes a run: one round, which is also the parity check
        benchmark.pedantic(call, rounds=1, iterations=1)
        got = reports[0]
    else:
        got = call()  # the warm-up: compiles Numba, fills the cache for the cached steps
        reports.clear()
    if step.suffix != ".csv":
        got = replace(got, files=want.files)  # another format, the same readings
    problem = mismatch(got, want, exact=engines.get(step.engine).exact)
    outcome.status = "ok" if problem is None else f"mismatch: {problem}"
    benchmark.extra_info["parity"] = outcome.status
    if problem:
        pytest.fail(f"{step.key}: {problem} -- not timed")
    if step.engine != "naive":
        first = got.timings["total"]
        rounds = max(1, min(MAX_ROUNDS, int(BUDGET / max(first, 1e-6))))
        benchmark.pedantic(call, rounds=rounds, iterations=1)
    benchmark.extra_info["stages"] = _stages(reports)
    benchmark.extra_info["cache"] = reports[-1].cache
    benchmark.extra_info["memory"] = _memory(step, folder)


def test_pipeline_profiles(profile_rows: int, tmp_path: Path, pipeline_profiles: dict) -> None:
    """Where the time goes, before and after: cProfile's top functions of the naive program
    (at PROFILE_ROWS readings) and of the optimized default (full size, cache off), and
    line_profiler's line-by-line account of the naive duplicate scan."""
    import pstats

    from pipeline_cases import dataset

    from hotpath import data

    small = tmp_path / "small"
    data.write_files(data.with_sparse_ids(data.generate(PROFILE_ROWS, 100)), small, 2)
    found: dict[str, Any] = {}
    for name, folder, engine in (
        ("naive", small, "naive"),
        ("optimized", dataset(profile_rows) / "csv", "columnar"),
    ):
        stats_file = tmp_path / f"{name}.prof"
        command = [sys.executable, "-m", "hotpath.pipeline.measure", str(folder), "--engine",
                   engine, "--workers", str(cores()), "--profile", str(stats_file)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        text = _top_functions(pstats.Stats(str(stats_file)))
        found[name] = {"rows": PROFILE_ROWS if name == "naive" else profile_rows, "top": text}
    found["naive_lines"] = _line_profile(small)
    pipeline_profiles.update(found)


def _top_functions(stats: Any, top: int = 12) -> list[dict[str, Any]]:
    entries = []
    for (file, line, function), (_, calls, own, cumulative, _) in stats.stats.items():
        entries.append({"function": f"{Path(file).name}:{line}({function})", "calls": calls,
                        "own_s": own, "cumulative_s": cumulative})  # fmt: skip
    entries.sort(key=lambda e: -e["own_s"])
    return entries[:top]


def _line_profile(folder: Path) -> str:
    line_profiler = pytest.importorskip("line_profiler")
    from hotpath.pipeline import naive
    from hotpath.pipeline.naive import read_readings

    readings = read_readings(sorted(folder.glob("*.csv")), "error").readings
    profiler = line_profiler.LineProfiler(naive.drop_duplicates)
    profiler.runcall(naive.drop_duplicates, readings)
    import io

    out = io.StringIO()
    profiler.print_stats(stream=out, stripzeros=True)
    return out.getvalue()
