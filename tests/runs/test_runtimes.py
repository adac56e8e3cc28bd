"""The interpreter rows' logic: the driver's steady-state rule and --backend, the JIT
verdicts read from PyPy's and GraalPy's logs, availability, and (where pypy3 is
installed) the driver under PyPy."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import python_ref
from hotpath import data
from hotpath.reporting import rows
from hotpath.runs import driver, interpreters, runtimes

# Real lines from a GraalPy 25.0.3 run with --engine.TraceCompilation=true (shortened).
GRAALPY_TRACE = """\
[To redirect Truffle log output to a file use one of the following options:
* '--log.file=<path>' if the option is passed using a guest language launcher.]
[engine] opt done   engine=2  id=1037  <builtin function AbstractFunctionBuiltins.__module__ at 3a14b124> |Tier 1|Time  8375(4822+3553)ms|AST   85|Inlined   0Y   0N|IR    474/   712|CodeSize    3479
[engine] opt deopt  engine=2  id=1037  <builtin function AbstractFunctionBuiltins.__module__ at 3a14b124> |
[engine] opt done   engine=2  id=3599  <bytecode _find_and_load_unlocked at 5fe4848>      |Tier 1|Time 28358(19925+8433)ms|AST  422
[engine] opt done   engine=2  id=4542  <bytecode aggregate at 43d5c0bc><OSR@11>           |Tier 2|Time  1134( 453+681 )ms|AST    7
[engine] opt done   engine=2  id=4600  <bytecode _xxh64_bytes at 1d5c0bc>                 |Tier 2|Time   226(  90+136 )ms|AST   40
[engine] opt failed engine=2  id=4601  <bytecode hash_rows at 1d5c0bd>                    |Tier 2|Time   226(  90+136 )ms|Reason: x
"""  # noqa: E501

PYPY_SUMMARY = """\
[66f6f75eaf6] {jit-summary
Tracing:      \t12\t0.010169
Total # of loops:\t7
Total # of bridges:\t3
Freed # of loops:\t0
[66f6f75eaf7] jit-summary}
"""


# -- the steady-state rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "window", "steady"),
    [
        ([9, 5, 3, 1.0, 1.1, 0.9, 1.0, 1.05], 3, True),  # last 3 vs 3 before: medians 1.0, 1.0
        ([9, 5, 3, 2, 1.5, 1.2, 1.0, 0.9], 3, False),  # still falling: 1.0 vs 1.5
        ([1.0, 1.0, 1.0], 2, False),  # fewer than two windows
        ([1.0, 5.0, 1.0, 1.0, 1.05, 9.0], 3, True),  # one outlier per window: medians agree
        ([1.0, 1.0], 0, False),  # rule off
    ],
)
def test_is_steady(seconds: list[float], window: int, steady: bool) -> None:
    assert driver.is_steady(seconds, window, 0.1) is steady


@pytest.fixture(scope="module")
def dataset(
    tmp_path_factory: pytest.TempPathFactory, dataset_files: Callable[..., tuple]
) -> tuple[data.Readings, Path, Path]:
    return dataset_files(tmp_path_factory.mktemp("runtimes"), 2_000, 30, 5, 17)


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert driver.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_driver_calls_until_steady(dataset: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    _, csv, buffer = dataset
    args = [str(csv), "--buffer", str(buffer), "--kernels", "aggregate", "--iterations", "2"]
    report = _main([*args, "--steady=3", "--tolerance=10", "--budget=30"], capsys)
    timing = report["kernels"]["aggregate"]
    # a tolerance of 1000% is met as soon as there are two windows after the first call
    assert len(timing["seconds"]) == 7 and timing["steady_from"] == 1
    assert report["steady_rule"] == {
        "window": 3,
        "tolerance": 10.0,
        "budget_s": 30.0,
        "warmup_s": 0.0,
    }
    # an exhausted budget ends it: never steady, and the row says so
    report = _main([*args, "--steady=3", "--tolerance=0", "--budget=0"], capsys)
    timing = report["kernels"]["aggregate"]
    assert len(timing["seconds"]) == 2 and timing["steady_from"] is None
    assert runtimes.steadiness(timing, report).startswith("not reached in 2 calls")
    # --warmup: calls starting in the first 0.3 s never count
    report = _main([*args, "--steady=2", "--tolerance=10", "--warmup=0.3", "--budget=30"], capsys)
    timing = report["kernels"]["aggregate"]
    start = timing["steady_from"]
    assert start >= 1 and len(timing["seconds"]) == start + 4
    # the last warm-up call started before 0.3 s, the first counted one after (give or take
    # the loop's own time between calls)
    assert sum(timing["seconds"][: start - 1]) < 0.3 <= sum(timing["seconds"][:start]) + 0.05
    assert report["steady_rule"]["warmup_s"] == 0.3
    # without --steady: exactly --iterations calls, no steady_from
    report = _main(args, capsys)
    assert len(report["kernels"]["aggregate"]["seconds"]) == 2
    assert "steady_from" not in report["kernels"]["aggregate"]


def test_steady_state_slices_from_the_drivers_index() -> None:
    seconds = [9.0, 4.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    assert runtimes.steady_state(seconds, 3) == [1.0] * 4
    assert runtimes.steady_state(seconds) == [1.0] * 4  # second half: 7 // 2 = 3
    assert runtimes.steady_state(seconds, None) == seconds[3:]
    assert runtimes.steady_state([2.0]) == [2.0]


def test_driver_runs_another_backend(dataset: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    """--backend hands NumPy arrays to another backend; same checksums as python_ref."""
    _, csv, buffer = dataset
    base = [str(csv), "--buffer", str(buffer), "--iterations", "1", "--devices", "30"]
    ref = _main(base, capsys)
    other = _main([*base, "--backend=numpy_impl"], capsys)
    assert other["backend"] == "numpy_impl" and other["backend_build"]
    for kernel, timing in ref["kernels"].items():
        assert other["kernels"][kernel]["checksum"] == timing["checksum"], kernel


# -- JIT verdicts -----------------------------------------------------------------------------


def test_graalpy_jit_verdict_from_the_trace() -> None:
    report = {"interpreter": {"truffle_runtime": "GraalVM CE"}}
    jit = interpreters.graalpy_jit(report, GRAALPY_TRACE)
    assert jit["active"] and jit["compilations"] == 4
    assert "python_ref: _xxh64_bytes, aggregate" in jit["evidence"]
    assert "1 failed" in jit["evidence"]


def test_graalpy_jit_verdict_says_when_it_is_off() -> None:
    interpreted = interpreters.graalpy_jit(
        {"interpreter": {"truffle_runtime": "Interpreted"}}, GRAALPY_TRACE
    )
    assert not interpreted["active"] and "interpreter-only" in interpreted["evidence"]
    silent = interpreters.graalpy_jit({"interpreter": {"truffle_runtime": "GraalVM CE"}}, "")
    assert not silent["active"] and "nothing was compiled" in silent["evidence"]


def test_pypy_jit_verdict_from_its_summary() -> None:
    jit = interpreters.pypy_jit({"interpreter": {"pypy_jit_built": True}}, PYPY_SUMMARY)
    assert jit == {"active": True, "compilations": 7, "evidence": "7 loops and 3 bridges compiled"}
    assert not interpreters.pypy_jit({"interpreter": {}}, "")["active"]
    unbuilt = interpreters.pypy_jit({"interpreter": {"pypy_jit_built": False}}, PYPY_SUMMARY)
    assert not unbuilt["active"] and "without its JIT" in unbuilt["evidence"]


def test_rows_carry_the_verdict_into_the_label() -> None:
    report = {
        "interpreter": {"implementation": "GraalVM"},
        "load_seconds": 0.5,
        "startup_seconds": 4.0,
        "jit": {"active": False, "compilations": 0, "evidence": "x"},
        "steady_rule": {"window": 2, "tolerance": 0.1, "budget_s": 60},
        "kernels": {"xxh64": {"seconds": [3.0, 1.0, 1.0], "checksum": "aa", "steady_from": None}},
    }
    (row,) = runtimes.rows(runtimes.BY_NAME["graalpy"], report, {"xxh64": "aa"}, {"xxh64": 64})
    info = row["extra_info"]
    assert info["jit"]["active"] is False and info["startup_seconds"] == 4.0
    assert info["steady"].startswith("not reached in 3 calls (60 s budget)")
    assert rows.runtime_notes(info) == ["first call 3 s", "JIT NOT ACTIVE", "not steady"]
    report["jit"] = {"active": True, "compilations": 12, "evidence": "x"}
    report["kernels"]["xxh64"]["steady_from"] = 1
    (row,) = runtimes.rows(runtimes.BY_NAME["graalpy"], report, {"xxh64": "aa"}, {"xxh64": 64})
    assert rows.runtime_notes(row["extra_info"])[1:] == ["JIT active (12 compilations)"]
    assert row["stats"]["rounds"] == 2


# -- availability -----------------------------------------------------------------------------


def test_every_pypy_backend_runs_or_says_why() -> None:
    for backend in interpreters.PYPY_BACKENDS:
        runtime = runtimes.BY_NAME[f"pypy-{backend}"]
        assert runtime.command() is not None or runtime.available(), backend
    assert "Numba does not run on PyPy" in runtimes.BY_NAME["pypy-numba_impl"].available()


def test_graalpy_launcher_without_jars_says_why(tmp_path: Path) -> None:
    """A copy of the launch script beside no jars: --check fails with the reason."""
    shutil.copy(interpreters.GRAALPY, tmp_path / "graalpy")
    done = subprocess.run(
        ["bash", str(tmp_path / "graalpy"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 127
    assert "not fetched" in done.stderr or "no JDK 25" in done.stderr


# -- PyPy, where installed ----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pypy3") is None, reason="pypy3 not installed")
def test_driver_under_pypy(dataset: tuple) -> None:
    r, csv, buffer = dataset
    report = runtimes.execute(
        runtimes.BY_NAME["pypy"],
        [str(csv), "--buffer", str(buffer), "--iterations", "2", "--devices", "30"],
    )
    assert report["interpreter"]["implementation"] == "PyPy"
    assert report["jit"]["active"], report["jit"]
    assert report["startup_seconds"] >= 0
    ids, stamps, _ = r.as_lists()
    assert report["kernels"]["duplicates"]["checksum"] == driver.checksum(
        "duplicates", python_ref.duplicates(ids, stamps)
    )
    assert report["kernels"]["xxh64"]["checksum"] == driver.checksum(
        "xxh64", python_ref.xxh64(buffer.read_bytes())
    )


@pytest.mark.parametrize("backend", ["cffi_ext", "cython_ext"])
def test_compiled_backend_under_pypy(dataset: tuple, backend: str) -> None:
    runtime = runtimes.BY_NAME[f"pypy-{backend}"]
    if runtime.available():
        pytest.skip(runtime.available())
    r, csv, buffer = dataset
    report = runtimes.execute(
        runtime, [str(csv), "--buffer", str(buffer), "--iterations", "1", "--devices", "30"]
    )
    assert report["interpreter"]["implementation"] == "PyPy" and report["backend"] == backend
    ids, _, kwh = r.as_lists()
    assert report["kernels"]["aggregate"]["checksum"] == driver.checksum(
        "aggregate", python_ref.aggregate(ids, kwh, 30)
    )
