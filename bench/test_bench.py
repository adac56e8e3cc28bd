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
    memory_read_bandwidth_probe,
    prepare,
    readings,
)

from hotpath import backends, parity, results

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
    outcome = results.Outcome(name, impl.kind, kernel, size)
    outcomes.append(outcome)
    benchmark.group = results.group(kernel, size)
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


def test_memory_bandwidth(benchmark: Any, outcomes: list) -> None:
    """The machine's limit, measured in the same run as the kernels."""
    call, nbytes = memory_read_bandwidth_probe()
    outcome = results.Outcome("numpy sum", "limit", "memory read", nbytes, status="ok")
    outcomes.append(outcome)
    benchmark.group = results.LIMIT_GROUP
    benchmark.extra_info.update(
        outcome.info(
            "np.ndarray.sum over a 512 MiB float64 array: one thread, SIMD, read-only streaming"
        )
    )
    benchmark.pedantic(call, rounds=7, iterations=1, warmup_rounds=1)
