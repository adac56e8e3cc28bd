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


def _span(name: str) -> tuple[int, int]:
    (found,) = [(a, b) for a, b, n in interpreters._function_spans() if n == name]
    return found


def pypy_log(sections: dict[str, list[str]]) -> str:
    """A PYPYLOG=jit-summary,jit-backend-addr,hotpath-kernel:- log as PyPy 7.3.11 writes it
    (recorded from a run of the driver, shortened), with python_ref's current line numbers:
    ``sections`` maps each kernel to the functions whose loops compiled while it ran;
    "<listcomp>" is hash_rows' comprehension, "check_range" an input check in _checks.py."""
    lines = [
        "[7b2554a81e2] {jit-backend-addr",
        "Loop 8 (read_csv;/src/hotpath/csvio.py:36-46~#102 FOR_ITER) has address 0x7f5219"
        "981a7b to 0x7f5219981c40 (bootstrap 0x7f52199819f0)",
        "       gc table: 0x7f5219981950",
        "[7b2554a91e2] jit-backend-addr}",
    ]
    for n, (kernel, functions) in enumerate(sections.items()):
        lines += [f"[7b256906{n}09] {{hotpath-kernel", kernel]
        for i, function in enumerate(functions):
            if function == "check_range":
                where = "/src/python_ref/_checks.py:73-74~#4 FOR_ITER"
            elif function == "<listcomp>":
                end = _span("hash_rows")[1]
                where = f"/src/python_ref/__init__.py:{end}-{end}~#4 FOR_ITER"
            else:
                first, last = _span(function)
                where = f"/src/python_ref/__init__.py:{first}-{last}~#108 FOR_ITER"
            lines += [
                f"[7b2569{n}{i}6ab] {{jit-backend-addr",
                f"Loop {10 * n + i} ({function};{where}) has address 0x7f52199{n}{i}a7b to "
                f"0x7f5219981c40 (bootstrap 0x7f52199819f0)",
                "       function: 0x7f52199819f0",
                f"[7b2569{n}{i}7ab] jit-backend-addr}}",
            ]
        lines.append(f"[7b25b213{n}49] hotpath-kernel}}")
    return "\n".join(lines) + "\n" + PYPY_SUMMARY


ALL_COMPILED = {
    "aggregate": ["check_range", "aggregate"],
    "duplicates": ["duplicates"],
    "hash_rows": ["_rotl", "_xxh64_bytes", "<listcomp>"],
    "xxh64": ["_round", "_xxh64_bytes"],
}
KERNELS_RUN = {
    "kernels": {kernel: {} for kernel in ALL_COMPILED},
    "interpreter": {"pypy_jit_built": True},
}


# -- the steady-state rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "window", "steady"),
    [
        ([9, 5, 3, 1.0, 1.1, 0.9, 1.0, 1.05], 5, True),  # the last 5: no trend
        ([9, 5, 3, 2, 1.5, 1.2, 1.0, 0.9], 5, False),  # still falling
        ([1.0, 1.0, 1.0], 4, False),  # fewer calls than the window
        ([1.0, 5.0, 1.0, 1.0, 1.05, 9.0, 1.0, 1.0, 1.02, 0.98], 10, True),  # outliers: no trend
        ([1.0, 1.04, 0.97, 1.05, 0.95, 1.02, 0.99, 1.03, 0.96, 1.01], 10, True),  # noise, flat
        # 2% faster every call: 18% across the window. The medians of its two halves differ
        # by 9.6%, which the old two-medians rule called steady.
        ([0.98**i for i in range(10)], 10, False),
        ([1.0, 1.0], 0, False),  # rule off
    ],
)
def test_is_steady(seconds: list[float], window: int, steady: bool) -> None:
    assert driver.is_steady(seconds, window, 0.1) is steady


def test_the_benchmarks_rule_calls_a_series_still_speeding_up_unsteady() -> None:
    """With the arguments the benchmark passes: 2% faster every call is not steady (the
    old rule, two 5-call medians within 10%, called it steady), 0.5% a call is."""
    rule = dict(argument.removeprefix("--").split("=") for argument in runtimes.STEADY_ARGUMENTS)
    window, tolerance = int(rule["steady"]), float(rule["tolerance"])
    for calls in range(2 * window, 4 * window):
        assert not driver.is_steady([5.0] + [0.98**i for i in range(calls)], window, tolerance)
        assert driver.is_steady([5.0] + [0.995**i for i in range(calls)], window, tolerance)


def test_theil_sen_slope_ignores_outliers() -> None:
    assert driver.theil_sen_slope([1.0, 2.0, 3.0, 4.0]) == 1.0
    assert driver.theil_sen_slope([1.0, 2.0, 100.0, 4.0, 5.0]) == 1.0


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
    report = _main([*args, "--steady=3", "--tolerance=1e6", "--budget=30"], capsys)
    timing = report["kernels"]["aggregate"]
    # a tolerance of 10^8 % is met as soon as there is one window after the first call
    assert len(timing["seconds"]) == 4 and timing["steady_from"] == 1
    assert len(timing["checksums"]) == 4  # every call's
    assert report["steady_rule"] == {
        "window": 3,
        "tolerance": 1e6,
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
    assert start >= 1 and len(timing["seconds"]) == start + 2
    # the last warm-up call started before 0.3 s, the first counted one after (give or take
    # the loop's own time between calls, checksums included)
    assert sum(timing["seconds"][: start - 1]) < 0.3 <= sum(timing["seconds"][:start]) + 0.1
    assert report["steady_rule"]["warmup_s"] == 0.3
    # without --steady: exactly --iterations calls, no steady_from
    report = _main(args, capsys)
    assert len(report["kernels"]["aggregate"]["seconds"]) == 2
    assert "steady_from" not in report["kernels"]["aggregate"]


def test_driver_refuses_a_one_call_window(dataset: tuple) -> None:
    with pytest.raises(SystemExit):
        driver.main([str(dataset[1]), "--kernels", "aggregate", "--steady=1"])


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
        assert other["kernels"][kernel]["checksums"] == timing["checksums"], kernel


# -- JIT verdicts -----------------------------------------------------------------------------


def _graalpy(runtime: str, *kernels: str) -> dict:
    return {
        "interpreter": {"truffle_runtime": runtime},
        "kernels": {kernel: {} for kernel in kernels},
    }


def test_graalpy_jit_verdict_from_the_trace() -> None:
    jit = interpreters.graalpy_jit(_graalpy("GraalVM CE", "aggregate", "xxh64"), GRAALPY_TRACE)
    assert jit["active"] and jit["compilations"] == 4
    assert jit["kernels"] == {"aggregate": ["aggregate"], "xxh64": ["_xxh64_bytes"]}
    assert (
        "python_ref compiled for: aggregate (aggregate), xxh64 (_xxh64_bytes)" in (jit["evidence"])
    )
    assert "1 failed" in jit["evidence"]


def test_graalpy_jit_needs_each_kernels_own_functions() -> None:
    """Compilations elsewhere (start-up code, another kernel, a failed one) are not this
    kernel's: before, any "opt done" line made the JIT active."""
    jit = interpreters.graalpy_jit(_graalpy("GraalVM CE", "aggregate", "duplicates"), GRAALPY_TRACE)
    assert not jit["active"] and jit["any"]
    assert jit["kernels"]["duplicates"] == [] and "not compiled: duplicates" in jit["evidence"]
    start_up = "\n".join(GRAALPY_TRACE.splitlines()[:5])  # the built-in and importlib ones
    jit = interpreters.graalpy_jit(_graalpy("GraalVM CE", "aggregate"), start_up)
    assert not jit["active"] and jit["compilations"] == 2


def test_graalpy_jit_verdict_says_when_it_is_off() -> None:
    interpreted = interpreters.graalpy_jit(_graalpy("Interpreted", "aggregate"), GRAALPY_TRACE)
    assert not interpreted["active"] and not interpreted["any"]
    assert "interpreter-only" in interpreted["evidence"]
    silent = interpreters.graalpy_jit(_graalpy("GraalVM CE", "aggregate"), "")
    assert not silent["active"] and "nothing was compiled" in silent["evidence"]


def test_pypy_jit_verdict_from_its_log() -> None:
    jit = interpreters.pypy_jit(KERNELS_RUN, pypy_log(ALL_COMPILED))
    assert jit["active"] and jit["compilations"] == 7
    assert jit["kernels"] == {
        "aggregate": ["aggregate"],  # not check_range: an input check, not the kernel's loop
        "duplicates": ["duplicates"],
        "hash_rows": ["_rotl", "_xxh64_bytes", "hash_rows"],  # the comprehension is hash_rows'
        "xxh64": ["_round", "_xxh64_bytes"],
    }
    assert jit["evidence"].startswith("7 loops and 3 bridges compiled; python_ref compiled for")


def test_pypy_jit_needs_each_kernels_own_loops_compiled_while_it_ran() -> None:
    # Before, "Total # of loops: 7" anywhere was enough.
    assert not interpreters.pypy_jit(KERNELS_RUN, PYPY_SUMMARY)["active"]
    # xxh64 ran after hash_rows had compiled _xxh64_bytes: that loop is not xxh64's
    log = pypy_log({**ALL_COMPILED, "xxh64": ["check_range"]})
    jit = interpreters.pypy_jit(KERNELS_RUN, log)
    assert not jit["active"] and jit["any"] and jit["kernels"]["xxh64"] == []
    assert jit["evidence"].endswith("not compiled: xxh64")
    assert not interpreters.pypy_jit({"interpreter": {}}, "")["active"]
    unbuilt = {**KERNELS_RUN, "interpreter": {"pypy_jit_built": False}}
    jit = interpreters.pypy_jit(unbuilt, pypy_log(ALL_COMPILED))
    assert not jit["active"] and not jit["any"] and "without its JIT" in jit["evidence"]


def test_pypy_log_without_kernel_sections_counts_loops_by_function() -> None:
    log = "\n".join(
        line for line in pypy_log(ALL_COMPILED).splitlines() if "hotpath-kernel" not in line
    )
    log = "\n".join(line for line in log.splitlines() if line not in ALL_COMPILED)
    assert interpreters.pypy_compiled(log)["xxh64"] == ["_rotl", "_round", "_xxh64_bytes"]


def test_rows_carry_the_verdict_into_the_label() -> None:
    report = {
        "interpreter": {"implementation": "GraalVM"},
        "load_seconds": 0.5,
        "startup_seconds": 4.0,
        "jit": {
            "active": False,
            "any": True,
            "compilations": 3,
            "kernels": {"xxh64": []},
            "evidence": "x",
        },
        "steady_rule": {"window": 2, "tolerance": 0.1, "budget_s": 60},
        "kernels": {
            "xxh64": {"seconds": [3.0, 1.0, 1.0], "checksums": ["aa"] * 3, "steady_from": None}
        },
    }
    (row,) = runtimes.rows(runtimes.BY_NAME["graalpy"], report, {"xxh64": "aa"}, {"xxh64": 64})
    info = row["extra_info"]
    assert info["jit"]["active"] is False and info["startup_seconds"] == 4.0
    assert info["steady"].startswith("not reached in 3 calls (60 s budget)")
    assert rows.runtime_notes(info) == ["first call 3 s", "JIT NOT ACTIVE for it", "not steady"]
    report["jit"] = {
        "active": True,
        "any": True,
        "compilations": 12,
        "kernels": {"xxh64": ["_round", "_xxh64_bytes"]},
        "evidence": "x",
    }
    report["kernels"]["xxh64"]["steady_from"] = 1
    (row,) = runtimes.rows(runtimes.BY_NAME["graalpy"], report, {"xxh64": "aa"}, {"xxh64": 64})
    assert rows.runtime_notes(row["extra_info"])[1:] == ["JIT compiled _round, _xxh64_bytes"]
    assert rows.jit_verdict(report["jit"]) == "JIT active (12 compilations)"
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
def test_driver_under_pypy(dataset: tuple, tmp_path: Path) -> None:
    r, csv, _ = dataset
    buffer = tmp_path / "buffer.bin"
    buffer.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: 32,768 stripes a call
    report = runtimes.execute(
        runtimes.BY_NAME["pypy"],
        [str(csv), "--buffer", str(buffer), "--iterations", "2", "--devices", "30"],
    )
    assert report["interpreter"]["implementation"] == "PyPy"
    assert report["startup_seconds"] >= 0
    jit = report["jit"]
    # every kernel's own loop passes PyPy's threshold (1039 iterations) while it runs: 2,000
    # rows twice, 32,768 stripes twice
    assert jit["active"], jit
    assert "aggregate" in jit["kernels"]["aggregate"]
    assert "duplicates" in jit["kernels"]["duplicates"]
    assert "hash_rows" in jit["kernels"]["hash_rows"]
    assert "_xxh64_bytes" in jit["kernels"]["xxh64"]
    for kernel, compiled in jit["kernels"].items():
        assert set(compiled) <= set(interpreters.KERNEL_FUNCTIONS[kernel]), kernel
    ids, stamps, _ = r.as_lists()
    assert (
        report["kernels"]["duplicates"]["checksums"]
        == [driver.checksum("duplicates", python_ref.duplicates(ids, stamps))] * 2
    )
    assert (
        report["kernels"]["xxh64"]["checksums"]
        == [driver.checksum("xxh64", python_ref.xxh64(buffer.read_bytes()))] * 2
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
    assert report["kernels"]["aggregate"]["checksums"] == [
        driver.checksum("aggregate", python_ref.aggregate(ids, kwh, 30))
    ]
