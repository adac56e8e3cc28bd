"""The benchmark: every kernel x every implementation, parity-checked first.

One module, parametrized (in conftest.py) over the registry's backends, the
peers and the algorithm row. Each case computes its answer once -- that call is
also the warm-up, so Numba's compile and cold caches stay out of the timings --
checks it against python_ref's answer on the same input, and only then is
timed. A wrong answer fails the case and is never timed. Every case's verdict
(ok, mismatch, error, skipped with the reason) is saved with the run
(conftest.py), so none of them disappears from the summary or the report.
"""

from __future__ import annotations

import math
import time
from functools import cache
from pathlib import Path
from typing import Any

import machine_load
import pytest
from implementations import (
    BY_NAME,
    LimitProbe,
    as_contract,
    buffer,
    crafted_readings,
    limit_probes,
    memory_read_bandwidth_probe,
    prepare,
    readings,
    transfer_rows,
)

from hotpath import backends, parity, pools, records, threads
from hotpath.runs import driver, runtimes

# seconds; slower calls are timed over a few rounds only. Judged on a warm call: the first
# includes one-off costs (Numba's compile: over 1 s for a kernel that then takes 0.1 ms).
SLOW_CALL = 1.0
SLOW_ROUNDS = 3  # rounds of a slow call, in all blocks together
MIN_ROUND = 20e-6  # seconds: a round shorter than this repeats the call (iterations)
MAX_ROUNDS = 100_000


@cache
def reference(kernel: str, size: int) -> Any:
    """python_ref's answer, computed once per input (untimed)."""
    impl = BY_NAME[backends.REFERENCE]
    return prepare(impl, kernel, *_inputs(kernel, size))()


def _inputs(kernel: str, size: int) -> tuple[Any, bytes]:
    if kernel == "xxh64":
        return readings(0), buffer(size)
    return readings(size), b""


def test_kernel(
    benchmark: Any, case: tuple[str, str, int, int], outcomes: list, request: pytest.FixtureRequest
) -> None:
    name, kernel, size, block = case
    blocks = request.config.getoption("--hotpath-blocks") if block else 1
    impl = BY_NAME[name]
    outcome = records.Outcome(name, impl.kind, kernel, size)
    earlier = [o for o in outcomes if o.key() == outcome.key() and o.kind == impl.kind]
    if earlier:  # a later block of the same case: one verdict per case
        outcome = earlier[0]
        if outcome.status != "ok":  # wrong, crashed or skipped in its first block: so be it
            pytest.skip(f"block {block}: {outcome.status}")
        outcome.status = ""
    else:
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
    if earlier:  # checked in the first block: warm up (unless a call takes seconds), time
        benchmark.extra_info["parity"] = outcome.status = "ok"
        try:
            call = prepare(impl, kernel, the_readings, the_buffer)
            warm_call = _WARM[outcome.key()]
            if warm_call <= SLOW_CALL:
                call()
            _time(benchmark, call, warm_call, block, blocks, request.config)
        except Exception as error:
            outcome.status = _error(error, "while timing")
            raise
        return
    try:
        call = prepare(impl, kernel, the_readings, the_buffer)
        started = time.perf_counter()
        got = call()
        first_call = time.perf_counter() - started
        if impl.cost_of:  # no kernel answer: the rows its workers received
            expected = transfer_rows(kernel, size, pools.workers())
            mismatch = None if got == expected else f"sent {got} rows, expected {expected}"
        else:
            mismatch = parity.mismatch(
                kernel,
                as_contract(impl, kernel, got, the_readings.n_devices),
                reference(kernel, size),
                exact=impl.exact,
            )
    except Exception as error:  # saved with the run as this case's verdict, then raised
        outcome.status = _error(error)
        raise
    outcome.status = "ok" if mismatch is None else f"mismatch: {mismatch}"
    benchmark.extra_info["parity"] = outcome.status
    benchmark.extra_info["first_call_s"] = first_call
    if mismatch:
        pytest.fail(f"{name} {kernel}: {mismatch} -- not timed")

    try:
        # The rounds are decided on a warm call: the first includes one-off costs.
        started = time.perf_counter()
        call()
        warm_call = time.perf_counter() - started
        benchmark.extra_info["second_call_s"] = _WARM[outcome.key()] = warm_call
        _time(benchmark, call, warm_call, block, blocks, request.config)
    except Exception as error:
        outcome.status = _error(error, "while timing")
        raise


# A case's warm call in its first block: the later blocks size their rounds by it.
_WARM: dict[tuple[str, str, int], float] = {}


def _time(
    benchmark: Any, call: Any, warm_call: float, block: int, blocks: int, config: pytest.Config
) -> None:
    """Time one block of a case, with the machine's load around it saved."""
    rounds, iterations = _rounds(warm_call, blocks, config)
    benchmark.extra_info.update(block=block, blocks=blocks)
    before = machine_load.sample()
    benchmark.pedantic(call, rounds=rounds, iterations=iterations)
    benchmark.extra_info["load"] = machine_load.between(before, machine_load.sample())


def _rounds(seconds: float, blocks: int, config: pytest.Config) -> tuple[int, int]:
    """Rounds and iterations for one block: the block's share of pytest-benchmark's time
    budget (--benchmark-max-time), each round at least MIN_ROUND long (the timer's own cost
    then stays small), at least pytest-benchmark's --benchmark-min-rounds in all; a call
    over SLOW_CALL gets SLOW_ROUNDS spread over the blocks."""
    if seconds > SLOW_CALL:
        return max(1, -(-SLOW_ROUNDS // blocks)), 1
    iterations = max(1, math.ceil(MIN_ROUND / max(seconds, 1e-9)))
    budget = float(config.option.benchmark_max_time) / blocks
    minimum = -(-int(config.option.benchmark_min_rounds) // blocks)
    rounds = int(budget / (max(seconds, 1e-9) * iterations))
    return max(minimum, min(rounds, MAX_ROUNDS)), iterations


def _error(error: BaseException, when: str = "") -> str:
    words = f"error{' ' + when if when else ''}: {type(error).__name__}: {error}"
    return words if len(words) <= 300 else words[:297] + "..."


@cache
def crafted_reference(keys: str, rows: int) -> Any:
    return prepare(BY_NAME[backends.REFERENCE], "duplicates", crafted_readings(keys, rows), b"")()


def test_crafted_duplicates(
    benchmark: Any,
    crafted_case: tuple[str, str, int],
    outcomes: list,
    request: pytest.FixtureRequest,
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
    _time(benchmark, call, first_call, 1, 1, request.config)


@pytest.mark.parametrize("probe", limit_probes(), ids=lambda probe: probe.level)
def test_memory_bandwidth(benchmark: Any, probe: LimitProbe, outcomes: list) -> None:
    """The machine's limits, measured in the same run as the kernels: each cache level's
    read bandwidth and DRAM's; a row is compared with the level its working set fits in."""
    call, nbytes = memory_read_bandwidth_probe(probe.nbytes)
    outcome = records.Outcome("numpy sum", "limit", "memory read", nbytes, status="ok")
    outcomes.append(outcome)
    benchmark.group = records.LIMIT_GROUP
    where = (
        f"{records.size_label('memory read', nbytes)} int64 array, half of {probe.level} "
        f"({records.size_label('memory read', probe.cache_bytes)}), resident across rounds"
        if probe.cache_bytes
        else f"{records.size_label('memory read', nbytes)} int64 array, beyond every cache"
    )
    benchmark.extra_info.update(
        outcome.info(f"np.ndarray.sum over a {where}: one thread, SIMD, read-only"),
        level=probe.level,
        cache_bytes=probe.cache_bytes,
    )
    if probe.cache_bytes:
        benchmark(call)  # microseconds a call: pytest-benchmark's calibrated rounds
    else:
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
    try:
        report = _execute(runtime, folder, the_readings.n_devices, iterations, request)
    except Exception as error:  # every kernel's case is saved with why, then it fails
        for kernel in RUNTIME_KERNELS:
            outcomes.append(
                records.Outcome(name, runtime.kind, kernel, sizes[kernel], _error(error))
            )
        raise
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
    # Timed: every kernel's own code must have been compiled, else its timings would not be
    # the JIT's. A parity check's few calls may not reach a kernel's threshold (GraalPy's
    # background compiler): there, something must have been compiled at all.
    timed = not request.config.option.benchmark_disable
    if jit is not None and not jit["active" if timed else "any"]:
        failed.append(f"JIT NOT ACTIVE: {jit['evidence']}")
    assert not failed, f"{name}: " + "; ".join(failed)


def _execute(
    runtime: runtimes.Runtime,
    folder: Path,
    n_devices: int,
    iterations: int,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    return runtimes.execute(
        runtime,
        [
            str(folder / "readings.csv"),
            "--buffer",
            str(folder / "buffer.bin"),
            "--iterations",
            str(iterations),
            "--devices",
            str(n_devices),
            # --benchmark-disable: a parity check, exactly --hotpath-iterations calls
            *([] if request.config.option.benchmark_disable else runtime.steady_arguments),
        ],
    )


def test_instructions(request: pytest.FixtureRequest, instruction_counts: dict) -> None:
    """--hotpath-instructions: every backend's instructions per row under callgrind, saved
    with the run (a figure that does not move with the machine's load)."""
    if not request.config.getoption("--hotpath-instructions"):
        pytest.skip("instruction counts not asked for (--hotpath-instructions)")
    from hotpath.runs import instructions

    why = instructions.available()
    if why:
        pytest.skip(why)
    instruction_counts.update(instructions.count_all(backends.NAMES))


# Above python_ref's limit the thread cases are checked against numpy_impl, exact and written
# independently of every compiled backend.
THREADS_REFERENCE_ROWS = BY_NAME[backends.REFERENCE].max_rows or 0


@cache
def threads_reference(kernel: str, size: int) -> tuple[str, Any]:
    """(who answered, the answer) a thread case is checked against."""
    name = backends.REFERENCE if size <= THREADS_REFERENCE_ROWS else "numpy_impl"
    impl = BY_NAME[name]
    got = prepare(impl, kernel, readings(size), b"")()
    return name, as_contract(impl, kernel, got, readings(size).n_devices)


def test_threads(
    benchmark: Any,
    threads_case: tuple[str, str, int, int],
    outcomes: list,
    request: pytest.FixtureRequest,
) -> None:
    """--hotpath-threads: a parallel variant at one thread count, or (threads 0) its
    sequential backend, parity-checked first, then timed (hotpath.reporting.threads)."""
    name, kernel, size, count = threads_case
    impl = BY_NAME[name]
    backend = backends.get(name)
    shown = records.thread_case(name, count)
    outcome = records.Outcome(shown, "threads", kernel, size)
    outcomes.append(outcome)
    benchmark.group = f"{records.group(kernel, size)} · threads"
    benchmark.extra_info.update(
        {
            **outcome.info(impl.timed),
            "implementation": name,
            "threads": count,
            "parallel_of": backend.parallel_of,
        }
    )
    unavailable = impl.available()
    if unavailable:
        outcome.status = f"skipped: {unavailable}"
        pytest.skip(outcome.status)
    with threads.using(count or 1):  # a sequential backend ignores it
        try:
            call = prepare(impl, kernel, readings(size), b"")
            started = time.perf_counter()
            got = call()
            first_call = time.perf_counter() - started
            checked_against, want = threads_reference(kernel, size)
            mismatch = parity.mismatch(
                kernel, as_contract(impl, kernel, got, readings(size).n_devices), want
            )
        except Exception as error:
            outcome.status = _error(error)
            raise
        outcome.status = benchmark.extra_info["parity"] = (
            "ok" if mismatch is None else f"mismatch: {mismatch}"
        )
        benchmark.extra_info.update(first_call_s=first_call, checked_against=checked_against)
        if mismatch:
            pytest.fail(f"{shown} {kernel}: {mismatch} (against {checked_against}) -- not timed")
        started = time.perf_counter()
        call()
        _time(benchmark, call, time.perf_counter() - started, 1, 1, request.config)
