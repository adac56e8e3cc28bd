"""The benchmark: every kernel x every implementation, parity-checked first.

One module, parametrized (in conftest.py) over the registry's backends, the
peers and the algorithm row. Each case computes its answer once -- that call is
also the warm-up, so Numba's compile and cold caches stay out of the timings --
checks it against python_ref's answer on the same input, stores the verdict in
the saved run, and only then is timed. A wrong answer fails the case and is
never timed.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import pytest
from implementations import (
    BY_NAME,
    as_contract,
    buffer,
    crafted_readings,
    memory_read_bandwidth_probe,
    prepare,
    readings,
)

from hotpath import backends, parity, records
from hotpath.runs import driver, runtimes

SLOW_CALL = 1.0  # seconds; slower calls are timed over a few rounds only


@cache
def reference(kernel: str, size: int) -> Any:
    """python_ref's answer, computed once per input (untimed)."""
    impl = BY_NAME[backends.REFERENCE]
    return prepare(impl, kernel, *_inputs(kernel, size))()


def _inputs(kernel: str, size: int) -> tuple[Any, bytes]:
    if kernel == "xxh64":
        return readings(0), buffer(size)
    return readings(size), b""


def test_kernel(benchmark: Any, case: tuple[str, str, int], outcomes: list) -> None:
    name, kernel, size = case
    impl = BY_NAME[name]
    outcome = records.Outcome(name, impl.kind, kernel, size)
    outcomes.append(outcome)
    benchmark.group = records.group(kernel, size)
    benchmark.extra_info.update(outcome.info(impl.timed))

    unavailable = impl.available()
    if unavailable:
        outcome.status = f"skipped: {unavailable}"
        pytest.skip(outcome.status)
    if impl.max_rows and kernel != "xxh64" and size > impl.max_rows:
        outcome.status = f"skipped at this size: {impl.why_limit}"
        pytest.skip(outcome.status)

    the_readings, the_buffer = _inputs(kernel, size)
    call = prepare(impl, kernel, the_readings, the_buffer)
    started = time.perf_counter()
    got = call()
    first_call = time.perf_counter() - started
    mismatch = parity.mismatch(
        kernel,
        as_contract(impl, kernel, got, the_readings.n_devices),
        reference(kernel, size),
        exact=impl.exact,
    )
    outcome.status = "ok" if mismatch is None else f"mismatch: {mismatch}"
    benchmark.extra_info["parity"] = outcome.status
    benchmark.extra_info["first_call_s"] = first_call
    if mismatch:
        pytest.fail(f"{name} {kernel}: {mismatch} -- not timed")

    if first_call > SLOW_CALL:
        benchmark.pedantic(call, rounds=3, iterations=1)
    else:
        benchmark(call)


@cache
def crafted_reference(keys: str, rows: int) -> Any:
    return prepare(BY_NAME[backends.REFERENCE], "duplicates", crafted_readings(keys, rows), b"")()


def test_crafted_duplicates(
    benchmark: Any, crafted_case: tuple[str, str, int], outcomes: list
) -> None:
    """duplicates on keys crafted to collide (hotpath.crafted), in a group of its own beside
    the random keys' group: parity-checked first, like every case."""
    name, keys, size = crafted_case
    impl = BY_NAME[name]
    outcome = records.Outcome(name, impl.kind, "duplicates", size)
    outcomes.append(outcome)
    benchmark.group = records.group("duplicates", size, keys)
    benchmark.extra_info.update({**outcome.info(impl.timed), "keys": keys})
    unavailable = impl.available()
    if unavailable or (impl.max_rows and size > impl.max_rows):
        outcome.status = f"skipped: {unavailable or impl.why_limit}"
        pytest.skip(outcome.status)
    the_readings = crafted_readings(keys, size)
    call = prepare(impl, "duplicates", the_readings, b"")
    started = time.perf_counter()
    got = call()
    first_call = time.perf_counter() - started
    mismatch = parity.mismatch(
        "duplicates", as_contract(impl, "duplicates", got, 1), crafted_reference(keys, size)
    )
    outcome.status = benchmark.extra_info["parity"] = (
        "ok" if mismatch is None else f"mismatch: {mismatch}"
    )
    benchmark.extra_info["first_call_s"] = first_call
    if mismatch:
        pytest.fail(f"{name} duplicates on crafted keys ({keys}): {mismatch} -- not timed")
    if first_call > SLOW_CALL:
        benchmark.pedantic(call, rounds=3, iterations=1)
    else:
        benchmark(call)


def test_memory_bandwidth(benchmark: Any, outcomes: list) -> None:
    """The machine's limit, measured in the same run as the kernels."""
    call, nbytes = memory_read_bandwidth_probe()
    outcome = records.Outcome("numpy sum", "limit", "memory read", nbytes, status="ok")
    outcomes.append(outcome)
    benchmark.group = records.LIMIT_GROUP
    benchmark.extra_info.update(
        outcome.info(
            "np.ndarray.sum over a 512 MiB float64 array: one thread, SIMD, read-only streaming"
        )
    )
    benchmark.pedantic(call, rounds=7, iterations=1, warmup_rounds=1)


RUNTIME_KERNELS = driver.KERNELS


def test_runtime(
    runtime_case: tuple[str, int, int],
    tmp_path_factory: Any,
    outcomes: list,
    external: list,
    request: pytest.FixtureRequest,
) -> None:
    """python_ref under another interpreter or runtime, run by hotpath.runs.driver:
    one process for all kernels, timed inside it, checked by checksum."""
    name, rows, buffer_size = runtime_case
    runtime = runtimes.BY_NAME[name]
    sizes = {kernel: rows for kernel in RUNTIME_KERNELS} | {"xxh64": buffer_size}
    unavailable = runtime.available()
    if unavailable:
        for kernel in RUNTIME_KERNELS:
            outcomes.append(
                records.Outcome(
                    name, runtime.kind, kernel, sizes[kernel], f"skipped: {unavailable}"
                )
            )
        pytest.skip(unavailable)

    folder = tmp_path_factory.mktemp(f"runtime-{name}")
    the_readings = readings(rows)
    the_readings.to_csv(folder / "readings.csv")
    (folder / "buffer.bin").write_bytes(buffer(buffer_size))
    iterations = request.config.getoption("--hotpath-iterations")
    report = runtimes.execute(
        runtime,
        [
            str(folder / "readings.csv"),
            "--buffer",
            str(folder / "buffer.bin"),
            "--iterations",
            str(iterations),
            "--devices",
            str(the_readings.n_devices),
            # --benchmark-disable: a parity check, exactly --hotpath-iterations calls
            *([] if request.config.option.benchmark_disable else runtime.steady_arguments),
        ],
    )
    expected = {
        kernel: driver.checksum(kernel, reference(kernel, sizes[kernel]))
        for kernel in RUNTIME_KERNELS
    }
    found = runtimes.rows(runtime, report, expected, sizes)
    external.extend(found)
    failed = []
    for row in found:
        info = row["extra_info"]
        outcomes.append(
            records.Outcome(name, runtime.kind, info["kernel"], info["size"], info["parity"])
        )
        if info["parity"] != "ok":
            failed.append(f"{info['kernel']}: {info['parity']}")
    jit = report.get("jit")
    if jit is not None and not jit["active"]:  # its timings would not be the JIT's
        failed.append(f"JIT NOT ACTIVE: {jit['evidence']}")
    assert not failed, f"{name}: " + "; ".join(failed)
